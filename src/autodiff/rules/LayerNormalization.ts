import type { GradRule } from '../types';
import { lazy } from '../types';
import { normalizeStats, normalizedInputGrad } from './normalize';
import type { ShapeFunc } from '../types';
import { normalizeAxis } from './shapeCommon';

// Y, then Mean and InvStdDev: x's shape with the normalized axes kept as 1, in stash_type.
const inferShape: ShapeFunc = (ctx) => {
  const s = ctx.inputShape(0);
  const axis = ctx.attr<number>('axis', -1);
  const stat = s ? s.map((d, i) => (i >= normalizeAxis(axis, s.length) ? 1 : d)) : null;
  const statType = ctx.attr<number>('stash_type', 1) === 1 ? 'float32' : ctx.inputDtype(0);
  return { outputs: [{ dtype: ctx.inputDtype(0), shape: s }, { dtype: statType, shape: stat }, { dtype: statType, shape: stat }] };
};

// Opset 17: Y = x̂·scale + B over axes [axis, rank). Only Y may carry a gradient.
export const LayerNormalization: GradRule = {
  opType: 'LayerNormalization',
  inferShape: inferShape,
  gradFunc: (ctx) => {
    const { e } = ctx;
    if (ctx.dy(1) || ctx.dy(2)) ctx.fail('gradients through the Mean/InvStdDev outputs are not supported');
    const x = ctx.in[0];
    const r = ctx.rank(x);
    const axis = ctx.attr<number>('axis', -1);
    const a = axis < 0 ? axis + r : axis;
    const axes = Array.from({ length: r - a }, (_, i) => a + i);
    const n = normalizeStats(e, ctx.x(0), axes, ctx.attr<number>('epsilon', 1e-5), x);
    const dy = () => ctx.dy()!;
    const ghat = lazy(() => e.mul(dy(), ctx.x(1)));
    return [
      () => normalizedInputGrad(e, n, ghat(), axes),
      () => e.sumToShape(e.mul(dy(), n.xhat()), ctx.out[0], ctx.in[1]),
      ctx.in[2] ? () => e.sumToShape(dy(), ctx.out[0], ctx.in[2]) : null,
    ];
  },
};
