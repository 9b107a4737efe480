import { describe, expect, it } from 'vitest';
import { bootstrapMeanCI, mean } from '../../../src/eval/bootstrap';
import { aggregate, shardIdentities } from '../../../src/eval/results';
import { DEFAULT_EVAL, type EvalSettings, type IdentityResult } from '../../../src/eval/evaluate';

// deterministic, roughly uniform values on [0, 1)
const values = (n: number, salt = 0) => Array.from({ length: n }, (_, k) => ((k * 7919 + salt * 104729) % 1000) / 1000);

describe('bootstrapMeanCI', () => {
  it('is a function of the values and the seed', () => {
    const v = values(50);
    expect(bootstrapMeanCI(v, { seed: 3 })).toEqual(bootstrapMeanCI(v, { seed: 3 }));
    expect(bootstrapMeanCI(v, { seed: 3 })).not.toEqual(bootstrapMeanCI(v, { seed: 4 }));
  });

  it('brackets the mean, and has the width the normal approximation predicts for a large sample', () => {
    const v = values(400);
    const m = mean(v);
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1));
    const [lo, hi] = bootstrapMeanCI(v, { resamples: 4000 });
    expect(lo).toBeLessThan(m);
    expect(hi).toBeGreaterThan(m);
    const expected = 2 * 1.96 * sd / Math.sqrt(v.length);
    expect((hi - lo) / expected).toBeGreaterThan(0.85);
    expect((hi - lo) / expected).toBeLessThan(1.15);
    // and it is roughly centred
    expect(Math.abs((lo + hi) / 2 - m)).toBeLessThan(0.15 * expected);
  });

  it('shrinks with more identities and collapses for constant values', () => {
    const width = (n: number) => { const [lo, hi] = bootstrapMeanCI(values(n)); return hi - lo; };
    expect(width(200)).toBeLessThan(width(20));
    expect(bootstrapMeanCI([0.3, 0.3, 0.3])).toEqual([0.3, 0.3]);
  });

  it('refuses no values and bad options', () => {
    expect(() => bootstrapMeanCI([])).toThrow(/at least one value/);
    expect(() => bootstrapMeanCI([1], { level: 1 })).toThrow(/level/);
    expect(() => bootstrapMeanCI([1], { resamples: 2 })).toThrow(/resamples/);
  });
});

describe('aggregate and shards', () => {
  const settings: EvalSettings = { ...DEFAULT_EVAL, ids: 5, seed: 1, methods: ['base', 'only-hyper'] };
  const result = (i: number): IdentityResult => ({
    identity: i,
    methods: { base: { identity: i / 10, style: 0.5, similarity: 0, seconds: 0 }, 'only-hyper': { identity: i / 5, style: 0.4, similarity: 0.1, seconds: 1 } },
    renders: { identity: 0.9, style: 1, similarity: 0.5 },
  });

  it('shards partition the identities', () => {
    const parts = [0, 1, 2].map((index) => shardIdentities(5, { index, count: 3 }));
    expect(parts).toEqual([[0, 3], [1, 4], [2]]);
    expect(parts.flat().sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('means over identities with intervals, whatever order the identities come in', () => {
    const all = [0, 1, 2, 3, 4].map(result);
    const a = aggregate(all, settings);
    expect(a.methods.base.identity).toBeCloseTo(0.2, 12);
    expect(a.methods['only-hyper'].seconds).toBe(1);
    expect(a.methods.base.styleCI).toEqual([0.5, 0.5]);
    expect(a.methods.base.identityCI[0]).toBeLessThan(0.2);
    expect(aggregate([...all].reverse(), settings)).toEqual(a);
  });

  it('refuses missing or repeated identities and missing methods', () => {
    expect(() => aggregate([0, 1, 2, 3].map(result), settings)).toThrow(/1 of 5 identities have no result yet \(first: 4\)/);
    expect(() => aggregate([0, 1, 2, 3, 3].map(result), settings)).toThrow(/identity 3 occurs twice/);
    const noMethod = [0, 1, 2, 3, 4].map(result);
    delete (noMethod[2].methods as Record<string, unknown>)['only-hyper'];
    expect(() => aggregate(noMethod, settings)).toThrow(/identity 2 has no result for method 'only-hyper'/);
  });
});
