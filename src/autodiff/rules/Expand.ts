import type { GradRule } from '../types';

export const Expand: GradRule = {
  opType: 'Expand',
  differentiable: [0],
  gradFunc: (ctx) => [() => ctx.e.sumToShape(ctx.dy()!, ctx.out[0], ctx.in[0])],
};
