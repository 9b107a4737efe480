import type { GradRule } from '../types';
import { lazy } from '../types';
import { normalizeStats, normalizedInputGrad } from './normalize';

// Opset 17: Y = x̂·scale + B over axes [axis, rank). Only Y may carry a gradient.
export const LayerNormalization: GradRule = {
  opType: 'LayerNormalization',
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
