// Seeded random numbers for the aux bases and LiDB initialization. Only integer operations and
// sums of exactly representable numbers are used — no Math.log/cos, whose last bit may differ
// between JS engines — so the aux bases a pack ships can be regenerated bit for bit anywhere.

/** What LiDB init and rank relaxation need from a random source. */
export interface NormalRng {
  /** a standard normal sample (mean 0, variance 1) */
  normal(): number;
}

/** xoshiro128**: 128-bit state, 32-bit output, passes BigCrush; seeded through splitmix32. */
export class LidbRng implements NormalRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, stream = '') {
    let x = hashName(seed, stream);
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** uniform in [0, 1), a multiple of 2^-32 */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * Irwin–Hall: the sum of 12 uniforms minus 6 has mean 0 and variance 1 and is close to normal.
   * Each uniform has 32 fractional bits, so the sum is exact in float64 and the same everywhere.
   */
  normal(): number {
    let s = 0;
    for (let i = 0; i < 12; i++) s += this.uniform();
    return s - 6;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** FNV-1a over the UTF-16 code units of `name`, mixed with the seed. */
export function hashName(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  h ^= Math.floor(seed / 4294967296) >>> 0; // seeds above 2^32 still matter
  return h >>> 0;
}
