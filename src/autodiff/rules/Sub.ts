import type { GradRule } from '../types';
import { toInput } from './common';

export const Sub: GradRule = {
  opType: 'Sub',
  gradFunc: (ctx) => [() => toInput(ctx, ctx.dy()!, 0), () => ctx.e.neg(toInput(ctx, ctx.dy()!, 1))],
};
