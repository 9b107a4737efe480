// Seeded generators for the dataset. SeededRandom seeds its xoshiro state from the two 32-bit
// halves of the seed separately, and its first outputs depend on the high half alone, so seeds
// that differ only in their low bits (identity i and i+1 of a split, photo k and k+1 of an
// identity) would start with the same draws. Hashing (seed, stream) first spreads every
// difference over both halves.
import { SeededRandom } from '../diffusion/random';

const TWO_POW_32 = 4294967296;

function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A 53-bit hash of (seed, stream) with both 32-bit halves depending on every input bit. */
export function hashSeed(seed: number, stream: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32);
  const a = mix32(lo ^ mix32(hi ^ Math.imul(stream, 0x9e3779b9)));
  const b = mix32(hi ^ mix32(a ^ 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35));
  return (b & 0x1fffff) * TWO_POW_32 + mix32(a ^ b);
}

/** Random streams of the dataset: one per purpose, so adding draws to one never shifts another. */
export const STREAM = { identity: 1, photo: 2, style: 16 } as const;

export function datasetRng(seed: number, stream: number): SeededRandom {
  return new SeededRandom(hashSeed(seed, stream));
}

export { mix32 };
