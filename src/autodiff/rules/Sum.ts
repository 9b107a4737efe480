import type { GradRule } from '../types';

export const Sum: GradRule = {
  opType: 'Sum',
  gradFunc: (ctx) => ctx.in.map((x) => () => ctx.e.sumToShape(ctx.dy()!, ctx.out[0], x)),
};
