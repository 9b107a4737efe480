import type { ShapeOnlyRule } from '../../types';
import { normalizeAxis } from '../shapeCommon';

// The contents are x's dims (symbols included): what the rest of shape arithmetic starts from.
export const Shape: ShapeOnlyRule = {
  opType: 'Shape',
  noGradient: 'integer or boolean output',
  inferShape: (ctx) => {
    const s = ctx.inputShape(0);
    if (!s) return ctx.oneOutput('int64', null);
    const clampAxis = (a: number) => Math.max(0, Math.min(s.length, normalizeAxis(a, s.length)));
    const start = clampAxis(ctx.attr<number>('start', 0)), end = clampAxis(ctx.attr<number>('end', s.length));
    const dims = s.slice(start, Math.max(start, end));
    return ctx.oneOutput('int64', [dims.length], dims);
  },
};
