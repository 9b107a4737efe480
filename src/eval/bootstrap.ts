// Percentile bootstrap of a mean: the evaluation's unit of resampling is the held-out identity
// (its images share one selfie and one personalization, so they are not independent draws).
import { SeededRandom } from '../diffusion/random';

export interface BootstrapOptions {
  resamples?: number;
  /** central coverage, e.g. 0.95 */
  level?: number;
  seed?: number;
}

export const BOOTSTRAP_DEFAULTS = { resamples: 2000, level: 0.95, seed: 0 } as const;

export const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

/** [lo, hi]: the (1−level)/2 and (1+level)/2 quantiles of the means of `resamples` resamples with replacement. */
export function bootstrapMeanCI(values: readonly number[], opts: BootstrapOptions = {}): [number, number] {
  const resamples = opts.resamples ?? BOOTSTRAP_DEFAULTS.resamples;
  const level = opts.level ?? BOOTSTRAP_DEFAULTS.level;
  if (!values.length) throw new Error('a bootstrap interval needs at least one value');
  if (!Number.isInteger(resamples) || resamples < 10) throw new Error(`resamples must be an integer ≥ 10, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new Error(`level must be in (0, 1), got ${level}`);
  const rng = new SeededRandom(opts.seed ?? BOOTSTRAP_DEFAULTS.seed);
  const n = values.length;
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += values[Math.min(n - 1, Math.floor(rng.random() * n))];
    means[r] = s / n;
  }
  means.sort();
  const lo = means[Math.max(0, Math.floor(((1 - level) / 2) * resamples))];
  const hi = means[Math.min(resamples - 1, Math.ceil(((1 + level) / 2) * resamples) - 1)];
  return [lo, hi];
}
