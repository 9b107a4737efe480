// Small words-and-numbers helpers for progress lines.

/** "about 40 s left", "about 3 min left": coarse on purpose, an estimate should not look precise. */
export function formatTimeLeft(ms: number | undefined): string | undefined {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return undefined;
  const s = ms / 1000;
  if (s < 1) return 'less than a second left';
  if (s < 60) return `about ${Math.ceil(s)} s left`;
  const min = s / 60;
  if (min < 60) return `about ${Math.round(min)} min left`;
  const h = Math.floor(min / 60);
  const rest = Math.round(min - h * 60);
  return `about ${h} h ${rest} min left`;
}

/** Time left from the time so far: the steps still to run at the average pace so far. */
export function extrapolateMs(elapsedMs: number | undefined, done: number, total: number): number | undefined {
  if (elapsedMs === undefined || done <= 0 || total <= done) return done >= total && total > 0 ? 0 : undefined;
  return (elapsedMs / done) * (total - done);
}

export function formatLoss(loss: number): string {
  if (!Number.isFinite(loss)) return String(loss);
  const a = Math.abs(loss);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? loss.toExponential(2) : loss.toPrecision(4);
}

export function formatDate(ms: number, locale?: string): string {
  return new Date(ms).toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}

export interface SmoothedLoss {
  /** exponentially weighted mean of the losses so far (NaN before the first finite one) */
  mean: number[];
  /** mean ± one weighted standard deviation: where most single steps land */
  low: number[];
  high: number[];
}

/**
 * Each step's loss is noisy (a random timestep and noise draw), so the chart shows what tells
 * whether the fine-tune is learning: an exponentially weighted mean with its spread. Weights are
 * normalised (Σ smoothingⁱ·lossₜ₋ᵢ / Σ smoothingⁱ), so the first steps are plain averages rather
 * than a line anchored to whatever the first draw happened to be. A non-finite loss is skipped.
 */
export function smoothLoss(losses: readonly number[], smoothing = 0.8): SmoothedLoss {
  const out: SmoothedLoss = { mean: [], low: [], high: [] };
  let w = 0;
  let wx = 0;
  let wxx = 0;
  for (const l of losses) {
    if (Number.isFinite(l)) {
      w = smoothing * w + 1;
      wx = smoothing * wx + l;
      wxx = smoothing * wxx + l * l;
    }
    const mean = w > 0 ? wx / w : Number.NaN;
    const sd = w > 0 ? Math.sqrt(Math.max(0, wxx / w - mean * mean)) : Number.NaN;
    out.mean.push(mean);
    out.low.push(mean - sd);
    out.high.push(mean + sd);
  }
  return out;
}
