import { describe, expect, it } from 'vitest';
import { addNoise, alphas, alphasCumprod, alphasCumprodFor, betas, velocity } from '../../../src/diffusion/schedule';

describe('beta schedules', () => {
  it('linear runs from start to end inclusive', () => {
    const b = betas('linear', 0.0001, 0.02, 1000);
    expect(b).toBeInstanceOf(Float64Array);
    expect(b[0]).toBe(0.0001);
    expect(b[999]).toBe(0.02);
    expect(b[500] - b[499]).toBeCloseTo((0.02 - 0.0001) / 999, 15);
  });

  it('scaled_linear reproduces the SD1.5 schedule (alpha-bar_999 = 0.0046601, sigma_max = 14.6146)', () => {
    const ab = alphasCumprodFor('scaled_linear', 0.00085, 0.012, 1000);
    expect(ab[0]).toBeCloseTo(0.99915, 12);
    // np.cumprod(1 - np.linspace(0.00085**0.5, 0.012**0.5, 1000)**2)[-1] in float64
    expect(ab[999]).toBeCloseTo(0.004660098513077238, 12);
    expect(Math.sqrt((1 - ab[999]) / ab[999])).toBeCloseTo(14.614641, 5);
  });

  it('squaredcos_cap_v2 follows the cosine alpha-bar and caps beta at 0.999', () => {
    const b = betas('squaredcos_cap_v2', 0, 0, 1000);
    expect(b[999]).toBe(0.999);
    const ab = alphasCumprod(b);
    const cosineAlphaBar = (u: number) => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2 / Math.cos((0.008 / 1.008) * (Math.PI / 2)) ** 2;
    expect(ab[499]).toBeCloseTo(cosineAlphaBar(0.5), 10);
    for (let t = 1; t < 1000; t++) expect(b[t]).toBeGreaterThanOrEqual(b[t - 1]);
  });

  it('alphas and alphasCumprod are 1 - beta and its running product', () => {
    const b = [0.1, 0.2, 0.5];
    expect(Array.from(alphas(b))).toEqual([0.9, 0.8, 0.5]);
    const ab = alphasCumprod(b);
    expect(ab[2]).toBeCloseTo(0.9 * 0.8 * 0.5, 15);
  });

  it('rejects unknown kinds and bad lengths', () => {
    expect(() => betas('quadratic' as 'linear', 0, 1, 10)).toThrow(/unknown/);
    expect(() => betas('linear', 0, 1, 0)).toThrow(RangeError);
  });
});

describe('forward process', () => {
  const ab = alphasCumprodFor('scaled_linear', 0.00085, 0.012, 1000);
  const x0 = Float32Array.from([0.5, -1, 0.25, 2]);
  const eps = Float32Array.from([1, 0.5, -2, 0]);

  it('addNoise computes sqrt(ab) x0 + sqrt(1 - ab) eps', () => {
    const xt = addNoise(x0, eps, 500, ab);
    for (let i = 0; i < 4; i++) expect(xt[i]).toBeCloseTo(Math.sqrt(ab[500]) * x0[i] + Math.sqrt(1 - ab[500]) * eps[i], 6);
  });

  it('applies one timestep per batch item on contiguous chunks', () => {
    const xt = addNoise(x0, eps, [0, 999], ab);
    expect(xt.subarray(0, 2)).toEqual(addNoise(x0, eps, 0, ab).subarray(0, 2));
    expect(xt.subarray(2, 4)).toEqual(addNoise(x0, eps, 999, ab).subarray(2, 4));
    expect(() => addNoise(x0, eps, [0, 1, 2], ab)).toThrow(RangeError);
    expect(() => addNoise(x0, eps, 1000, ab)).toThrow(RangeError);
  });

  it('velocity satisfies x0 = sqrt(ab) x_t - sqrt(1 - ab) v', () => {
    const t = 321;
    const xt = addNoise(x0, eps, t, ab);
    const v = velocity(x0, eps, t, ab);
    for (let i = 0; i < 4; i++) {
      expect(Math.sqrt(ab[t]) * xt[i] - Math.sqrt(1 - ab[t]) * v[i]).toBeCloseTo(x0[i], 5);
    }
  });
});
