import type { GradRule } from '../types';
import { reducedAxes, reducedCount, unreduce } from './reduce';

export const ReduceMean: GradRule = {
  opType: 'ReduceMean',
  differentiable: [0],
  gradFunc: (ctx) => [() => {
    const ax = reducedAxes(ctx, 18);
    if (ax.noop) return ctx.dy()!;
    return unreduce(ctx, ax, ctx.e.div(ctx.dy()!, reducedCount(ctx, ax)));
  }],
};
