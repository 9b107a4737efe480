/**
 * Discrete-time noise schedules (DDPM, Ho et al. 2020) and the forward
 * process q(x_t | x_0) used by training.
 *
 * Everything here is computed in float64. diffusers builds the same arrays
 * with float32 torch ops, so its values differ from ours in the last float32
 * ulps; the scheduler tests show this stays far inside diffusers' own
 * tolerances.
 */

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';

/** beta_t for t = 0..T-1. `start`/`end` are ignored by 'squaredcos_cap_v2'. */
export function betas(kind: BetaSchedule, start: number, end: number, T: number): Float64Array {
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`T must be a positive integer, got ${T}`);
  switch (kind) {
    case 'linear':
      return linspace64(start, end, T);
    case 'scaled_linear': {
      // Latent-diffusion (SD) schedule: linear in sqrt(beta).
      const roots = linspace64(Math.sqrt(start), Math.sqrt(end), T);
      return roots.map((r) => r * r);
    }
    case 'squaredcos_cap_v2':
      return cosineBetas(T);
    default:
      throw new Error(`unknown beta schedule: ${String(kind)}`);
  }
}

/** alpha_t = 1 - beta_t */
export function alphas(betaValues: ArrayLike<number>): Float64Array {
  const out = new Float64Array(betaValues.length);
  for (let t = 0; t < out.length; t++) out[t] = 1 - betaValues[t];
  return out;
}

/** alpha-bar_t = prod_{s<=t} alpha_s, computed from the betas. */
export function alphasCumprod(betaValues: ArrayLike<number>): Float64Array {
  const out = new Float64Array(betaValues.length);
  let product = 1;
  for (let t = 0; t < out.length; t++) {
    product *= 1 - betaValues[t];
    out[t] = product;
  }
  return out;
}

/** Shorthand for the common case: alpha-bar straight from the schedule parameters. */
export function alphasCumprodFor(kind: BetaSchedule, start: number, end: number, T: number): Float64Array {
  return alphasCumprod(betas(kind, start, end, T));
}

/**
 * Forward diffusion x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps.
 *
 * `t` is one timestep for the whole tensor or one per batch item; with
 * per-item timesteps the tensor is split into `t.length` equal contiguous
 * chunks (NCHW batch-major layout).
 */
export function addNoise(
  x0: Float32Array,
  eps: Float32Array,
  t: number | ArrayLike<number>,
  alphasCumprodValues: ArrayLike<number>,
): Float32Array {
  return mixPerBatch(x0, eps, t, alphasCumprodValues, (ab) => [Math.sqrt(ab), Math.sqrt(1 - ab)]);
}

/**
 * v-prediction target v = sqrt(ab_t) eps - sqrt(1 - ab_t) x_0
 * (Salimans & Ho 2022), for training v-parameterised models.
 */
export function velocity(
  x0: Float32Array,
  eps: Float32Array,
  t: number | ArrayLike<number>,
  alphasCumprodValues: ArrayLike<number>,
): Float32Array {
  return mixPerBatch(x0, eps, t, alphasCumprodValues, (ab) => [-Math.sqrt(1 - ab), Math.sqrt(ab)]);
}

function mixPerBatch(
  x0: Float32Array,
  eps: Float32Array,
  t: number | ArrayLike<number>,
  alphasCumprodValues: ArrayLike<number>,
  coefficients: (alphaBar: number) => [number, number],
): Float32Array {
  if (x0.length !== eps.length) throw new RangeError(`x0 has ${x0.length} values but eps has ${eps.length}`);
  const perItem = typeof t === 'number' ? [t] : Array.from(t);
  if (perItem.length === 0 || x0.length % perItem.length !== 0) {
    throw new RangeError(`cannot split ${x0.length} values into ${perItem.length} batch items`);
  }
  const chunk = x0.length / perItem.length;
  const out = new Float32Array(x0.length);
  for (let b = 0; b < perItem.length; b++) {
    const ab = alphaBarAt(alphasCumprodValues, perItem[b]);
    const [cx, ce] = coefficients(ab);
    for (let i = b * chunk, end = i + chunk; i < end; i++) out[i] = cx * x0[i] + ce * eps[i];
  }
  return out;
}

function alphaBarAt(alphasCumprodValues: ArrayLike<number>, t: number): number {
  if (!Number.isInteger(t) || t < 0 || t >= alphasCumprodValues.length) {
    throw new RangeError(`timestep ${t} is outside 0..${alphasCumprodValues.length - 1}`);
  }
  return alphasCumprodValues[t];
}

function linspace64(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = start + step * i;
  out[n - 1] = end;
  return out;
}

/**
 * Improved-DDPM cosine schedule (Nichol & Dhariwal 2021, eq. 17) discretised
 * as betas; beta is capped at 0.999 because alpha-bar reaches 0 at t = T.
 */
function cosineBetas(T: number, maxBeta = 0.999): Float64Array {
  const alphaBar = (u: number) => Math.cos(((u + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) out[i] = Math.min(1 - alphaBar((i + 1) / T) / alphaBar(i / T), maxBeta);
  return out;
}
