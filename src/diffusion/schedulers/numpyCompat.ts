/**
 * The few numpy primitives diffusers uses to lay out timesteps and sigmas,
 * reproduced with numpy's exact floating-point recipe. Timesteps are integers
 * after rounding, so an off-by-one-ulp linspace or a round-half-up instead of
 * numpy's round-half-even would shift whole timesteps, not just ulps.
 */

/** np.linspace(start, stop, num) (endpoint=True): start + i*step, last value pinned to stop. */
export function linspace(start: number, stop: number, num: number): number[] {
  if (!Number.isInteger(num) || num < 0) throw new RangeError(`num must be a non-negative integer, got ${num}`);
  if (num === 0) return [];
  if (num === 1) return [start];
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  const out = new Array<number>(num);
  for (let i = 0; i < num; i++) out[i] = (step === 0 ? (i / div) * delta : i * step) + start;
  out[num - 1] = stop;
  return out;
}

/**
 * np.arange(start, stop, step) for float steps. numpy fills element i as
 * start + i*(buffer[1] - buffer[0]), i.e. with the step re-derived from the
 * first two elements, and sizes the array with ceil((stop - start) / step).
 */
export function arange(start: number, stop: number, step: number): number[] {
  if (step === 0 || !Number.isFinite(step)) throw new RangeError(`invalid arange step ${step}`);
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Array<number>(length);
  if (length === 0) return out;
  out[0] = start;
  if (length === 1) return out;
  const delta = start + step - start;
  for (let i = 1; i < length; i++) out[i] = start + i * delta;
  return out;
}

/** np.round: ties go to the even neighbour (499.5 -> 500, 498.5 -> 498). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** np.interp(x, arange(fp.length), fp): piecewise-linear lookup on an integer grid, clamped at both ends. */
export function interpOnIndexGrid(x: number, fp: ArrayLike<number>): number {
  const last = fp.length - 1;
  if (x <= 0) return fp[0];
  if (x >= last) return fp[last];
  const j = Math.floor(x);
  const slope = fp[j + 1] - fp[j];
  return slope * (x - j) + fp[j];
}
