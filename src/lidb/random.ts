// Seeded random numbers for the aux bases and LiDB initialization. Only integer operations and
// sums of exactly representable numbers are used — no Math.log/cos, whose last bit may differ
// between JS engines — so the aux bases a pack ships can be regenerated bit for bit anywhere.

import { splitmix32, subSeed, Uint32Source, type SeededRandomState } from '../diffusion/random';

/** What LiDB init and rank relaxation need from a random source. */
export interface NormalRng {
  /** a standard normal sample (mean 0, variance 1) */
  normal(): number;
}

/**
 * xoshiro128** (SeededRandom's generator) seeded through splitmix32 from a hash of (seed, stream),
 * with Irwin–Hall normals instead of SeededRandom's Box–Muller: the committed aux bases were
 * generated with this stream, so changing the seeding or the normal changes every aux file.
 */
export class LidbRng extends Uint32Source implements NormalRng {
  /** xoshiro128** state as int32s: SeededRandom's steps on the same bits, kept out of object fields (which box them) */
  private readonly s = new Int32Array(4);

  constructor(seed: number, stream = '') {
    super();
    const counter = { value: hashName(seed, stream) };
    for (let i = 0; i < 4; i++) this.s[i] = splitmix32(counter);
  }

  nextUint32(): number {
    const s = this.s;
    let s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
    s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
    return result;
  }

  /**
   * Uint32Source.normal's value, computed in one pass over local state: a pack's aux bases
   * draw ~15 M of them (SD1.5), 6 s through nextUint32 one call at a time. The 12 draws sum
   * exactly as integers (< 2^36), so dividing once gives the same float64 as adding 12 quotients.
   */
  normal(): number {
    const s = this.s;
    let s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
    let sum = 0;
    for (let i = 0; i < 12; i++) {
      sum += Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
    }
    s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
    return sum / 4294967296 - 6;
  }

  /** the generator's state, as SeededRandom.fromState takes it */
  state(): SeededRandomState {
    return { s: [this.s[0] >>> 0, this.s[1] >>> 0, this.s[2] >>> 0, this.s[3] >>> 0], spare: null };
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** FNV-1a over the UTF-16 code units of `name` (subSeed), mixed with the seed's high half. */
export function hashName(seed: number, name: string): number {
  // seeds above 2^32 still matter
  return (subSeed(seed, name) ^ (Math.floor(seed / 4294967296) >>> 0)) >>> 0;
}
