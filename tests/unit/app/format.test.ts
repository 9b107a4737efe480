import { describe, expect, test } from 'vitest';
import { extrapolateMs, formatLoss, formatTimeLeft, smoothLoss } from '../../../src/app/format';

describe('formatTimeLeft', () => {
  test.each([
    [undefined, undefined],
    [Number.NaN, undefined],
    [-5, undefined],
    [400, 'less than a second left'],
    [1000, 'about 1 s left'],
    [1001, 'about 2 s left'],
    [59_000, 'about 59 s left'],
    [90_000, 'about 2 min left'],
    [3_600_000 + 25 * 60_000, 'about 1 h 25 min left'],
  ])('%s ms → %s', (ms, text) => {
    expect(formatTimeLeft(ms)).toBe(text);
  });
});

describe('extrapolateMs', () => {
  test('average pace times the steps left', () => {
    expect(extrapolateMs(6000, 3, 10)).toBe(14_000);
  });
  test('nothing done yet: unknown; all done: zero', () => {
    expect(extrapolateMs(6000, 0, 10)).toBeUndefined();
    expect(extrapolateMs(undefined, 3, 10)).toBeUndefined();
    expect(extrapolateMs(6000, 10, 10)).toBe(0);
  });
});

describe('formatLoss', () => {
  test('four significant digits, exponent for tiny or huge values', () => {
    expect(formatLoss(0.123456)).toBe('0.1235');
    expect(formatLoss(1.5)).toBe('1.500');
    expect(formatLoss(0.00001234)).toBe('1.23e-5');
    expect(formatLoss(123456)).toBe('1.23e+5');
    expect(formatLoss(0)).toBe('0.000');
    expect(formatLoss(Number.NaN)).toBe('NaN');
  });
});

describe('smoothLoss', () => {
  test('a normalised exponentially weighted mean: the first point is itself, then weights decay', () => {
    const { mean } = smoothLoss([1, 0, 0], 0.5);
    expect(mean[0]).toBe(1);
    expect(mean[1]).toBeCloseTo(0.5 / 1.5, 12);
    expect(mean[2]).toBeCloseTo(0.25 / 1.75, 12);
  });
  test('the band is the weighted standard deviation around the mean', () => {
    const { mean, low, high } = smoothLoss([2, 4], 1);
    expect(mean).toEqual([2, 3]);
    expect(low).toEqual([2, 2]);
    expect(high).toEqual([2, 4]);
  });
  test('noise around a flat level gives a flat mean inside its band, whatever the first draw', () => {
    // a low first draw must not make a flat run look like it climbs
    const losses = [0.05, 0.4, 0.2, 0.35, 0.1, 0.3, 0.15, 0.25, 0.2, 0.3, 0.1, 0.25];
    const { mean, low, high } = smoothLoss(losses);
    const later = mean.slice(4);
    expect(Math.max(...later) - Math.min(...later)).toBeLessThan(0.06);
    for (let i = 0; i < losses.length; i++) expect(low[i]).toBeLessThanOrEqual(high[i]);
  });
  test('a non-finite loss is skipped instead of poisoning the mean', () => {
    const t = smoothLoss([1, Number.NaN, 0], 0.5);
    expect(t.mean[1]).toBe(1);
    expect(t.mean[2]).toBeCloseTo(0.5 / 1.5, 12);
    expect(smoothLoss([Number.POSITIVE_INFINITY, 2], 0.5).mean[0]).toBeNaN();
  });
});
