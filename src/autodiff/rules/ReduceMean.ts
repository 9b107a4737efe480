import type { GradRule } from '../types';
import { reducedShape, reducedAxes, reducedCount, unreduce } from './reduce';

export const ReduceMean: GradRule = {
  opType: 'ReduceMean',
  inferShape: reducedShape(),
  differentiable: [0],
  gradFunc: (ctx) => [() => {
    const ax = reducedAxes(ctx, 18);
    if (ax.noop) return ctx.dy()!;
    return unreduce(ctx, ax, ctx.e.div(ctx.dy()!, reducedCount(ctx, ax)));
  }],
};
