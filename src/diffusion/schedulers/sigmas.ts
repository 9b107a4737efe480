/**
 * The k-diffusion view of a discrete schedule (Karras et al. 2022): a sample
 * at timestep t is x_0 + sigma_t * eps with sigma_t = sqrt((1 - ab_t) / ab_t),
 * i.e. the DDPM x_t divided by sqrt(ab_t).
 */

import { linspace } from './numpyCompat';

/** sigma_t for every training timestep, ascending with t. */
export function sigmasFromAlphasCumprod(alphasCumprod: ArrayLike<number>): Float64Array {
  const out = new Float64Array(alphasCumprod.length);
  for (let t = 0; t < out.length; t++) out[t] = Math.sqrt((1 - alphasCumprod[t]) / alphasCumprod[t]);
  return out;
}

/**
 * Fractional training timestep whose sigma is `sigma`, by linear interpolation
 * in log-sigma between the two bracketing training timesteps (diffusers'
 * `_sigma_to_t`). `logSigmas` must be ascending.
 */
export function sigmaToTimestep(sigma: number, logSigmas: ArrayLike<number>): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // Index of the last training sigma <= sigma (0 if none), kept one short of the
  // end so that there is always an upper neighbour.
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const high = low + 1;
  const w = Math.min(1, Math.max(0, (logSigmas[low] - logSigma) / (logSigmas[low] - logSigmas[high])));
  return (1 - w) * low + w * high;
}

/**
 * Karras et al. (2022, eq. 5) noise levels: uniform in sigma^(1/rho) from
 * sigmaMax down to sigmaMin, rho = 7 as in the paper.
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7): number[] {
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  return linspace(0, 1, n).map((ramp) => (maxInvRho + ramp * (minInvRho - maxInvRho)) ** rho);
}
