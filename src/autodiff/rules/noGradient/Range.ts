import type { ShapeOnlyRule } from '../../types';
import { MAX_TRACKED } from '../../shapeTable';

export const Range: ShapeOnlyRule = {
  opType: 'Range',
  noGradient: 'differentiable, no rule',
  inferShape: (ctx) => {
    const start = ctx.inputInts(0), limit = ctx.inputInts(1), delta = ctx.inputInts(2);
    if (!start || !limit || !delta) return ctx.oneOutput(ctx.inputDtype(0), [null]);
    const n = Math.max(0, Math.ceil((limit[0] - start[0]) / delta[0]));
    return ctx.oneOutput(ctx.inputDtype(0), [n], n <= MAX_TRACKED ? Array.from({ length: n }, (_, i) => start[0] + i * delta[0]) : null);
  },
};
