import type { ShapeOnlyRule } from '../../types';

// [rank of x, number of non-zeros]: the count is known only at run time.
export const NonZero: ShapeOnlyRule = {
  opType: 'NonZero',
  noGradient: 'integer or boolean output',
  inferShape: (ctx) => {
    const x = ctx.inputShape(0);
    return ctx.oneOutput('int64', [x ? x.length : null, null]);
  },
};
