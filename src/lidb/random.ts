// Seeded random numbers for the aux bases and LiDB initialization. Only integer operations and
// sums of exactly representable numbers are used — no Math.log/cos, whose last bit may differ
// between JS engines — so the aux bases a pack ships can be regenerated bit for bit anywhere.

import { SeededRandom, splitmix32, subSeed, Uint32Source } from '../diffusion/random';

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
  private readonly source: SeededRandom;

  constructor(seed: number, stream = '') {
    super();
    const counter = { value: hashName(seed, stream) };
    const s0 = splitmix32(counter);
    const s1 = splitmix32(counter);
    const s2 = splitmix32(counter);
    const s3 = splitmix32(counter);
    this.source = SeededRandom.fromState({ s: [s0, s1, s2, s3], spare: null });
  }

  nextUint32(): number {
    return this.source.nextUint32();
  }
}

/** FNV-1a over the UTF-16 code units of `name` (subSeed), mixed with the seed's high half. */
export function hashName(seed: number, name: string): number {
  // seeds above 2^32 still matter
  return (subSeed(seed, name) ^ (Math.floor(seed / 4294967296) >>> 0)) >>> 0;
}
