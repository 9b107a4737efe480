import type { GradRule, ShapeFunc } from '../types';

/** Ops that only reinterpret x's shape: dx is dy with x's shape back. */
export function reshapeRule(opType: string, inferShape: ShapeFunc): GradRule {
  return { opType, inferShape, differentiable: [0], gradFunc: (ctx) => [() => ctx.e.reshapeLike(ctx.dy()!, ctx.in[0], ctx.dims(ctx.out[0]))] };
}
