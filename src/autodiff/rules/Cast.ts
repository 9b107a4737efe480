import type { GradRule } from '../types';

// The gradient goes back through the cast into the input's own float type.
export const Cast: GradRule = {
  opType: 'Cast',
  gradFunc: (ctx) => [() => {
    const from = ctx.dtype(ctx.in[0]);
    return from === ctx.dtype(ctx.out[0]) ? ctx.dy()! : ctx.e.cast(ctx.dy()!, from);
  }],
};
