// Train, validation and held-out identities come from disjoint seed ranges by construction:
//
//   identity seed = tag(split) · 2^50 + worldSeed · 2^32 + index
//
// with tag train = 1, val = 2, heldout = 3, worldSeed in [0, 2^18) and index in [0, 2^32).
// The map is injective, so no two (split, worldSeed, index) triples share a seed, and
// `splitOfSeed` reads the split back from any seed. All seeds stay below 2^53 (safe integers).
// Photo seeds are derived from the identity seed and the photo number.
import { mix32 } from './rng';

export const SPLITS = ['train', 'val', 'heldout'] as const;
export type Split = (typeof SPLITS)[number];

const TAG: Record<Split, number> = { train: 1, val: 2, heldout: 3 };
const TAG_UNIT = 1125899906842624; // 2^50, spelled out: `**` is only approximately specified
const WORLD_UNIT = 4294967296; // 2^32
export const MAX_WORLD_SEED = 262143; // 2^18 − 1
export const MAX_IDENTITY_INDEX = 4294967295;
export const MAX_PHOTOS_PER_IDENTITY = 65536;

export function isSplit(s: string): s is Split {
  return (SPLITS as readonly string[]).includes(s);
}

function checkInt(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${name} must be an integer in 0…${max}, got ${v}`);
}

export function identitySeed(split: Split, index: number, worldSeed = 0): number {
  if (!isSplit(split)) throw new RangeError(`unknown split '${split}' (splits: ${SPLITS.join(', ')})`);
  checkInt('identity index', index, MAX_IDENTITY_INDEX);
  checkInt('world seed', worldSeed, MAX_WORLD_SEED);
  return TAG[split] * TAG_UNIT + worldSeed * WORLD_UNIT + index;
}

/** The (split, worldSeed, index) an identity seed was made from; throws for seeds no split makes. */
export function splitOfSeed(seed: number): { split: Split; worldSeed: number; index: number } {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`not an identity seed: ${seed}`);
  const tag = Math.floor(seed / TAG_UNIT);
  const split = SPLITS.find((s) => TAG[s] === tag);
  if (!split) throw new RangeError(`seed ${seed} belongs to no split (tag ${tag})`);
  const rest = seed - tag * TAG_UNIT;
  return { split, worldSeed: Math.floor(rest / WORLD_UNIT), index: rest % WORLD_UNIT };
}

/** Seeds of identities start … start+count−1 of a split. */
export function identitySeeds(split: Split, count: number, worldSeed = 0, start = 0): number[] {
  checkInt('identity count', count, MAX_IDENTITY_INDEX + 1);
  if (start + count - 1 > MAX_IDENTITY_INDEX) throw new RangeError(`identities ${start}…${start + count - 1} exceed index ${MAX_IDENTITY_INDEX}`);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(identitySeed(split, start + i, worldSeed));
  return out;
}

/** Throws if any seed occurs in both collections (e.g. a held-out identity that is also trained on). */
export function assertDisjoint(a: Iterable<number>, b: Iterable<number>, labels: [string, string] = ['a', 'b']): void {
  const seen = new Set(a);
  for (const s of b) {
    if (seen.has(s)) {
      const where = (() => {
        try {
          const o = splitOfSeed(s);
          return ` (${o.split} #${o.index}, world ${o.worldSeed})`;
        } catch {
          return '';
        }
      })();
      throw new Error(`identity seed ${s}${where} is in both ${labels[0]} and ${labels[1]}`);
    }
  }
}

/**
 * Seed of photo `photo` of an identity: a 32-bit hash of the identity seed, times 2^16, plus the
 * photo number. Photos of one identity never share a seed; two identities share pose and
 * lighting only on a 32-bit hash collision, which does no harm.
 */
export function photoSeed(identitySeedValue: number, photo: number): number {
  checkInt('photo number', photo, MAX_PHOTOS_PER_IDENTITY - 1);
  const hi = Math.floor(identitySeedValue / WORLD_UNIT);
  const h = mix32(mix32(identitySeedValue >>> 0) ^ mix32(hi ^ 0x5f3759df));
  return h * MAX_PHOTOS_PER_IDENTITY + photo;
}
