/**
 * Our re-implementation of the deterministic fixtures of diffusers'
 * SchedulerCommonTest (tests/schedulers/test_schedulers.py), so that the
 * expected numbers of diffusers' full-loop tests apply to our schedulers.
 * Values are rounded to float32 at the same points where torch rounds them.
 */

const BATCH = 4;
const CHANNELS = 3;
const HEIGHT = 8;
const WIDTH = 8;
export const DUMMY_NUM_ELEMS = BATCH * CHANNELS * HEIGHT * WIDTH;

/**
 * `dummy_sample_deter` (descending = false) / `dummy_noise_deter`
 * (descending = true): arange(768), optionally flipped, reshaped to
 * (C, H, W, B), divided by 768 and permuted to (B, C, H, W).
 */
function deterministicTensor(descending: boolean): Float32Array {
  const out = new Float32Array(DUMMY_NUM_ELEMS);
  for (let b = 0; b < BATCH; b++) {
    for (let c = 0; c < CHANNELS; c++) {
      for (let h = 0; h < HEIGHT; h++) {
        for (let w = 0; w < WIDTH; w++) {
          const source = ((c * HEIGHT + h) * WIDTH + w) * BATCH + b;
          const value = descending ? DUMMY_NUM_ELEMS - 1 - source : source;
          out[((b * CHANNELS + c) * HEIGHT + h) * WIDTH + w] = value / DUMMY_NUM_ELEMS;
        }
      }
    }
  }
  return out;
}

export function dummySampleDeter(): Float32Array {
  return deterministicTensor(false);
}

export function dummyNoiseDeter(): Float32Array {
  return deterministicTensor(true);
}

/** `dummy_model`: sample * t / (t + 1), evaluated in float32 like torch. */
export function dummyModel(sample: Float32Array, t: number): Float32Array {
  const t32 = Math.fround(t);
  const denominator = Math.fround(t32 + 1);
  return sample.map((x) => Math.fround(x * t32) / denominator);
}

/** torch.sum(torch.abs(x)) and torch.mean(torch.abs(x)). */
export function absSumAndMean(x: Float32Array): { sum: number; mean: number } {
  let sum = 0;
  for (const v of x) sum += Math.abs(v);
  return { sum, mean: sum / x.length };
}
