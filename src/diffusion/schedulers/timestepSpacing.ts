/**
 * Where a sampler's timesteps sit on the training grid, for each `timestepSpacing` (diffusers'
 * names; Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed",
 * Table 2). The schedulers differ only in the options below, as their diffusers originals do.
 */

import { arange, linspace, roundHalfEven } from './numpyCompat';
import type { TimestepSpacing } from './types';

export interface SpacingOptions {
  /** T, the number of training timesteps */
  numTrainTimesteps: number;
  /** added to every 'leading' timestep (SD1.5 uses 1, giving 1..981 at 50 steps) */
  stepsOffset: number;
  /** one past the largest timestep a run may start from (default T; DPM-Solver clips a cosine schedule's end) */
  timestepLimit?: number;
  /** lay out one point more and drop the one nearest t = 0, so the stride stays even (DPM-Solver) */
  dropLast?: boolean;
  /** round 'linspace' timesteps to integers; Euler keeps them fractional */
  roundLinspace: boolean;
}

/** The inference timesteps in sampling order (descending). */
export function spacedTimesteps(spacing: TimestepSpacing, numInferenceSteps: number, opts: SpacingOptions): number[] {
  const T = opts.numTrainTimesteps;
  const limit = opts.timestepLimit ?? T;
  const points = numInferenceSteps + (opts.dropLast ? 1 : 0);
  switch (spacing) {
    case 'linspace': {
      const ts = linspace(0, limit - 1, points);
      return (opts.roundLinspace ? ts.map(roundHalfEven) : ts).reverse().slice(0, numInferenceSteps);
    }
    case 'leading': {
      // an integer stride from 0, shifted by stepsOffset
      const stride = Math.floor(limit / points);
      return Array.from({ length: points }, (_, i) => i * stride)
        .reverse()
        .slice(0, numInferenceSteps)
        .map((t) => t + opts.stepsOffset);
    }
    case 'trailing':
      // stride back from T, so that the first step starts at pure noise (t = T-1)
      return arange(limit, 0, -T / numInferenceSteps).map((t) => roundHalfEven(t) - 1);
    default:
      throw new Error(`unsupported timestepSpacing: ${String(spacing)}`);
  }
}
