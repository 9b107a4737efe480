/**
 * Seeded Gaussian noise that is bit-identical in every JS engine.
 *
 * Uniforms come from xoshiro128** (Blackman & Vigna) seeded through
 * splitmix32; normals from the Box-Muller transform. Math.log/sin/cos are
 * only "implementation-approximated" by the ECMAScript spec and differ in the
 * last ulp between engines, so Box-Muller here uses `portableLog` and
 * `portableSinCos`, built only from + - * / which IEEE 754 rounds identically
 * everywhere (Math.sqrt is correctly rounded too). The same seed therefore
 * gives the same latents in Chrome, Firefox, Safari and Node.
 */

const TWO_POW_32 = 4294967296;
const LN2 = 0.6931471805599453;
const SQRT2 = 1.4142135623730951;
const HALF_PI = 1.5707963267948966;

/** Natural log for finite x > 0 via x = m * 2^e and the atanh series of ln m. */
export function portableLog(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`portableLog needs a finite positive number, got ${x}`);
  let m = x;
  let e = 0;
  // Scaling by 2 is exact, so m and e represent x exactly.
  while (m >= 2) {
    m /= 2;
    e++;
  }
  while (m < 1) {
    m *= 2;
    e--;
  }
  if (m > SQRT2) {
    m /= 2;
    e++;
  }
  // m in [1/sqrt2, sqrt2] => |s| <= 0.172, so 13 odd terms reach double precision.
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let series = 0;
  for (let k = 25; k >= 1; k -= 2) series = 1 / k + s2 * series;
  return e * LN2 + 2 * s * series;
}

/** [sin(2*pi*u), cos(2*pi*u)] for u in [0, 1), by quadrant and Taylor series. */
export function portableSinCos(u: number): [number, number] {
  const quarterTurns = u * 4; // exact for u from 32-bit uniforms
  const quadrant = Math.floor(quarterTurns);
  const theta = (quarterTurns - quadrant) * HALF_PI; // in [0, pi/2)
  const t2 = theta * theta;
  // Taylor series to x^23 / x^22: truncation error < 1e-17 on [0, pi/2).
  let sin = 0;
  let cos = 0;
  for (let k = 23; k >= 3; k -= 2) sin = 1 - (t2 / (k * (k - 1))) * sin;
  sin *= theta;
  for (let k = 22; k >= 2; k -= 2) cos = 1 - (t2 / (k * (k - 1))) * cos;
  switch (quadrant & 3) {
    case 0:
      return [sin, cos];
    case 1:
      return [cos, -sin];
    case 2:
      return [-sin, -cos];
    default:
      return [-cos, sin];
  }
}

/** splitmix32 step: seeds xoshiro states here and in LidbRng (src/lidb/random.ts). */
export function splitmix32(state: { value: number }): number {
  state.value = (state.value + 0x9e3779b9) | 0;
  let z = state.value;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export interface SeededRandomState {
  s: [number, number, number, number];
  /** Second Box-Muller output not yet handed out, if any. */
  spare: number | null;
}

/** Streaming generator: successive `randn` calls continue one sequence. */
export class SeededRandom {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  /** Any integer seed in [0, 2^53). Distinct seeds give distinct generator states. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    // One splitmix32 stream per 32-bit half of the seed. xoshiro128**'s first output is a
    // function of s1 alone, so s1 must depend on both halves: otherwise every seed below
    // 2^32 would start with the same draw. A splitmix32 output is a bijection of its
    // counter, so s0 tells seeds with different low halves apart and s1 (for equal low
    // halves) those with different high halves.
    const lowStream = { value: seed >>> 0 };
    const highStream = { value: Math.floor(seed / TWO_POW_32) ^ 0x5bd1e995 };
    this.s0 = splitmix32(lowStream);
    this.s1 = (splitmix32(lowStream) ^ splitmix32(highStream)) >>> 0;
    this.s2 = splitmix32(lowStream);
    this.s3 = (splitmix32(lowStream) ^ splitmix32(highStream)) >>> 0;
    // xoshiro's all-zero state is a fixed point; splitmix32 makes it practically impossible, but be sure.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  static fromState(state: SeededRandomState): SeededRandom {
    const rng = new SeededRandom(0);
    [rng.s0, rng.s1, rng.s2, rng.s3] = state.s.map((x) => x >>> 0) as SeededRandomState['s'];
    rng.spare = state.spare;
    return rng;
  }

  /** Snapshot for checkpointing a run; `fromState` resumes the exact sequence. */
  getState(): SeededRandomState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spare: this.spare };
  }

  /** xoshiro128**: next 32-bit output as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1) with 32-bit resolution. */
  random(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** One standard normal draw. */
  nextNormal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    // u1 in (0, 1] keeps the log finite; u2 in [0, 1) is the angle in turns.
    const u1 = (this.nextUint32() + 1) / TWO_POW_32;
    const u2 = this.random();
    const radius = Math.sqrt(-2 * portableLog(u1));
    const [sin, cos] = portableSinCos(u2);
    this.spare = radius * sin;
    return radius * cos;
  }

  /** `count` standard normals; splitting one request into several gives the same values. */
  randn(count: number): Float32Array {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.nextNormal();
    return out;
  }
}

/** `size` standard normals from a fresh generator seeded with `seed`. */
export function randn(size: number, seed: number): Float32Array {
  return new SeededRandom(seed).randn(size);
}

/** Uniforms and normals from any 32-bit generator, by integer steps and exact sums only. */
export abstract class Uint32Source {
  abstract nextUint32(): number;

  /** uniform in [0, 1), a multiple of 2^-32 */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * Approximately standard normal: the Irwin–Hall sum of 12 uniforms minus 6 (mean 0, variance 1,
   * bounded by ±6, so no outlier weight can blow up an activation). Each uniform has 32 fractional
   * bits, so the sum is exact in float64 and the same everywhere.
   */
  normal(): number {
    let s = 0;
    for (let i = 0; i < 12; i++) s += this.uniform();
    return s - 6;
  }
}

/** Derives independent per-graph seeds from a pack seed and a name (FNV-1a over the name). */
export function subSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
