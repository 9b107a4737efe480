import type { ShapeOnlyRule } from '../../types';

// The depth is a run-time value, so only the dtype (that of `values`) is inferred.
export const OneHot: ShapeOnlyRule = {
  opType: 'OneHot',
  noGradient: 'differentiable, no rule',
  inferShape: (ctx) => ctx.oneOutput(ctx.inputDtype(2), null),
};
