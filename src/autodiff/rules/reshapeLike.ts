import type { GradRule } from '../types';

/** Ops that only reinterpret x's shape: dx is dy with x's shape back. */
export function reshapeRule(opType: string): GradRule {
  return { opType, differentiable: [0], gradFunc: (ctx) => [() => ctx.e.reshapeLike(ctx.dy()!, ctx.in[0], ctx.dims(ctx.out[0]))] };
}
