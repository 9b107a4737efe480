import type { ShapeOnlyRule } from '../../types';
import { normalizeAxis } from '../shapeCommon';

// The values and their int64 indices: x's shape with k along the axis.
export const TopK: ShapeOnlyRule = {
  opType: 'TopK',
  noGradient: 'differentiable, no rule',
  inferShape: (ctx) => {
    const x = ctx.inputShape(0), k = ctx.inputInts(1);
    if (!x) return { outputs: [{ dtype: ctx.inputDtype(0), shape: null }, { dtype: 'int64', shape: null }] };
    const a = normalizeAxis(ctx.attr<number>('axis', -1), x.length);
    const shape = x.map((d, i) => (i === a ? (k ? k[0] : null) : d));
    return { outputs: [{ dtype: ctx.inputDtype(0), shape }, { dtype: 'int64', shape }] };
  },
};
