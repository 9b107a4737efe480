import type { GradRule } from '../types';
import { toInput } from './common';

export const Add: GradRule = {
  opType: 'Add',
  gradFunc: (ctx) => [() => toInput(ctx, ctx.dy()!, 0), () => toInput(ctx, ctx.dy()!, 1)],
};
