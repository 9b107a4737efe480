// Shared by LayerNormalization and InstanceNormalization: recompute the statistics (cheaper
// than keeping them) and apply dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ĝ = dy·scale.
import type { Emitter } from '../emitter';
import { lazy } from '../types';

export interface Normalized { xhat: () => string; rstd: () => string }

export function normalizeStats(e: Emitter, x: string, axes: number[], eps: number, like: string): Normalized {
  const dt = e.dtypeOf(like);
  const stats = lazy(() => {
    const xc = e.sub(x, e.reduceMean(x, axes, true));
    const v = e.reduceMean(e.mul(xc, xc), axes, true);
    const rstd = e.op1('Reciprocal', [e.op1('Sqrt', [e.add(v, e.scalar(eps, dt))])]);
    return { xc, rstd };
  });
  const xhat = lazy(() => e.mul(stats().xc, stats().rstd));
  return { xhat, rstd: () => stats().rstd };
}

export function normalizedInputGrad(e: Emitter, n: Normalized, ghat: string, axes: number[]): string {
  const xhat = n.xhat();
  const m1 = e.reduceMean(ghat, axes, true);
  const m2 = e.reduceMean(e.mul(ghat, xhat), axes, true);
  return e.mul(n.rstd(), e.sub(e.sub(ghat, m1), e.mul(xhat, m2)));
}
