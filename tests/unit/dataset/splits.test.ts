import { describe, expect, it } from 'vitest';
import {
  assertDisjoint, identitySeed, identitySeeds, MAX_WORLD_SEED, photoSeed, sampleIdentity, splitOfSeed, SPLITS, type Split,
} from '../../../src/dataset';
import { hashSeed } from '../../../src/dataset/rng';

describe('identity seeds and splits', () => {
  it('reads the split, world and index back from a seed', () => {
    for (const split of SPLITS) {
      for (const [index, world] of [[0, 0], [1, 0], [123456, 7], [4294967295, MAX_WORLD_SEED]]) {
        const seed = identitySeed(split, index, world);
        expect(Number.isSafeInteger(seed)).toBe(true);
        expect(splitOfSeed(seed)).toEqual({ split, worldSeed: world, index });
      }
    }
    expect(() => splitOfSeed(12345)).toThrow(/no split/);
  });

  it('never gives a held-out or validation identity to training (200,000 identities each, two worlds)', () => {
    for (const world of [0, 41]) {
      const seeds = Object.fromEntries(SPLITS.map((s) => [s, identitySeeds(s, 200_000, world)])) as Record<Split, number[]>;
      assertDisjoint(seeds.train, seeds.heldout, ['train', 'heldout']);
      assertDisjoint(seeds.train, seeds.val, ['train', 'val']);
      assertDisjoint(seeds.val, seeds.heldout, ['val', 'heldout']);
      for (const s of SPLITS) expect(new Set(seeds[s]).size).toBe(200_000);
    }
    // across worlds too: world 1's training set does not contain world 0's held-out identities
    assertDisjoint(identitySeeds('train', 50_000, 1), identitySeeds('heldout', 50_000, 0));
  });

  it('assertDisjoint names the shared seed', () => {
    const shared = identitySeed('heldout', 17);
    expect(() => assertDisjoint([1, 2, shared], [shared], ['train', 'heldout'])).toThrow(/heldout #17.*both train and heldout/);
  });

  it('slices of a split (--start) concatenate to the whole split', () => {
    expect([...identitySeeds('train', 5, 3, 0), ...identitySeeds('train', 5, 3, 5)]).toEqual(identitySeeds('train', 10, 3));
  });

  it('rejects out-of-range indices and worlds', () => {
    expect(() => identitySeed('train', -1)).toThrow(RangeError);
    expect(() => identitySeed('train', 1.5)).toThrow(RangeError);
    expect(() => identitySeed('train', 0, MAX_WORLD_SEED + 1)).toThrow(RangeError);
    expect(() => identitySeed('test' as Split, 0)).toThrow(/unknown split/);
  });

  it('gives the same index different people in different splits', () => {
    const a = sampleIdentity(identitySeed('train', 3));
    const b = sampleIdentity(identitySeed('heldout', 3));
    expect({ ...a, seed: 0 }).not.toEqual({ ...b, seed: 0 });
  });

  it('gives every photo of an identity its own seed, and neighbouring identities different first draws', () => {
    const id = identitySeed('train', 9);
    const photos = Array.from({ length: 100 }, (_, k) => photoSeed(id, k));
    expect(new Set(photos).size).toBe(100);
    expect(photos.every(Number.isSafeInteger)).toBe(true);
    // consecutive seeds hash to generator seeds whose high halves differ too
    const highs = new Set(Array.from({ length: 50 }, (_, i) => Math.floor(hashSeed(identitySeed('train', i), 1) / 4294967296)));
    expect(highs.size).toBeGreaterThan(45);
  });

  it('draws presentation, hair and glasses independently of the index (no split-wide first draw)', () => {
    const ids = Array.from({ length: 200 }, (_, i) => sampleIdentity(identitySeed('train', i)));
    const women = ids.filter((d) => d.presentation === 'woman').length;
    expect(women).toBeGreaterThan(70);
    expect(women).toBeLessThan(130);
  });
});
