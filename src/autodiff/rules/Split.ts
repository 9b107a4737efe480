import type { GradRule } from '../types';

// dx = the outputs' gradients concatenated, zeros standing in for unused outputs.
export const Split: GradRule = {
  opType: 'Split',
  differentiable: [0],
  gradFunc: (ctx) => [() => {
    const r = ctx.rank(ctx.in[0]);
    const axis = ctx.attr<number>('axis', 0);
    return ctx.e.concat(ctx.out.map((_, j) => ctx.dyOrZeros(j)), axis < 0 ? axis + r : axis);
  }],
};
