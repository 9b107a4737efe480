import { describe, expect, it } from 'vitest';
import { combineBatchedGuidance, combineGuidance } from '../../../src/diffusion/cfg';

describe('classifier-free guidance', () => {
  const uncond = Float32Array.from([0, 1, -1]);
  const cond = Float32Array.from([1, 1, 1]);

  it('extrapolates from uncond towards cond by the scale', () => {
    expect(Array.from(combineGuidance(uncond, cond, 7.5))).toEqual([7.5, 1, 14]);
  });

  it('gives cond at scale 1 and uncond at scale 0', () => {
    expect(combineGuidance(uncond, cond, 1)).toEqual(cond);
    expect(combineGuidance(uncond, cond, 0)).toEqual(uncond);
  });

  it('splits a doubled batch as [uncond..., cond...]', () => {
    const batched = Float32Array.from([0, 1, -1, 1, 1, 1]);
    expect(combineBatchedGuidance(batched, 7.5)).toEqual(combineGuidance(uncond, cond, 7.5));
    expect(() => combineBatchedGuidance(new Float32Array(3), 2)).toThrow(RangeError);
    expect(() => combineGuidance(uncond, new Float32Array(2), 2)).toThrow(RangeError);
  });
});
