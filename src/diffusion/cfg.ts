/**
 * Classifier-free guidance (Ho & Salimans 2022):
 * eps = eps_uncond + s * (eps_cond - eps_uncond).
 * s = 1 returns the conditional prediction; s = 0 the unconditional one.
 */

export function combineGuidance(uncond: Float32Array, cond: Float32Array, scale: number): Float32Array {
  if (uncond.length !== cond.length) {
    throw new RangeError(`uncond has ${uncond.length} values but cond has ${cond.length}`);
  }
  const out = new Float32Array(cond.length);
  for (let i = 0; i < out.length; i++) out[i] = uncond[i] + scale * (cond[i] - uncond[i]);
  return out;
}

/**
 * Guidance over one model call on a doubled batch laid out as
 * [uncond_0 .. uncond_{B-1}, cond_0 .. cond_{B-1}] (diffusers' order, so the
 * prompt embeddings are concatenated as [negative, positive]). Returns the
 * guided batch of B items.
 */
export function combineBatchedGuidance(batchedOutput: Float32Array, scale: number): Float32Array {
  if (batchedOutput.length % 2 !== 0) {
    throw new RangeError(`a doubled batch needs an even number of values, got ${batchedOutput.length}`);
  }
  const half = batchedOutput.length / 2;
  return combineGuidance(batchedOutput.subarray(0, half), batchedOutput.subarray(half), scale);
}
