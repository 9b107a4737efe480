// The noise of a denoising-loss sample: a timestep t uniform over the schedule's integer
// timesteps [0, T) and ε ~ N(0, I) the latent's size, both from one seeded stream so a fine-tune
// is reproducible from its seed.
import { SeededRandom } from '../diffusion/random';

export interface NoiseDraw {
  t: number;
  noise: Float32Array;
}

export function drawNoise(rng: SeededRandom, numTrainTimesteps: number, size: number): NoiseDraw {
  // 32-bit uniforms: floor(u·T) is off from uniform by at most T/2^32 per timestep
  const t = Math.min(numTrainTimesteps - 1, Math.floor(rng.random() * numTrainTimesteps));
  return { t, noise: rng.randn(size) };
}

/**
 * The seed of the held-out draws the tests and the learning-rate sweep measure with. Any fixed
 * seed works; this one is only required to differ from the fine-tune seeds people use (small
 * integers), so no held-out (t, ε) is also a training draw.
 */
export const HELD_OUT_SEED = 0x68656c64; // "held"

/** `count` draws from their own fixed stream, for a loss averaged over many (t, ε). */
export function heldOutDraws(count: number, numTrainTimesteps: number, size: number, seed = HELD_OUT_SEED): NoiseDraw[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: count }, () => drawNoise(rng, numTrainTimesteps, size));
}
