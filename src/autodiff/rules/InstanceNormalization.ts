import type { GradRule } from '../types';
import { lazy } from '../types';
import { normalizeStats, normalizedInputGrad } from './normalize';
import { sameShape } from './shapeCommon';

// x [N, C, D...], scale and B [C]: each (n, c) slice normalized over its spatial axes.
export const InstanceNormalization: GradRule = {
  opType: 'InstanceNormalization',
  inferShape: sameShape,
  gradFunc: (ctx) => {
    const { e } = ctx;
    const x = ctx.in[0];
    const r = ctx.rank(x);
    const spatial = Array.from({ length: r - 2 }, (_, i) => i + 2);
    const perChannel = (v: string) => e.unsqueeze(v, spatial.map((_, i) => i + 1));
    const n = normalizeStats(e, ctx.x(0), spatial, ctx.attr<number>('epsilon', 1e-5), x);
    const dy = () => ctx.dy()!;
    const ghat = lazy(() => e.mul(dy(), perChannel(ctx.x(1))));
    return [
      () => normalizedInputGrad(e, n, ghat(), spatial),
      () => e.reduceSum(e.mul(dy(), n.xhat()), [0, ...spatial], false),
      () => e.reduceSum(dy(), [0, ...spatial], false),
    ];
  },
};
