import { describe, expect, test } from 'vitest';
import { extrapolateMs, formatLoss, formatTimeLeft, lossTrend } from '../../../src/app/format';

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

describe('lossTrend', () => {
  test('exponential moving average, starting at the first loss', () => {
    expect(lossTrend([1, 0, 0], 0.5)).toEqual([1, 0.5, 0.25]);
  });
  test('a non-finite loss repeats the trend instead of poisoning it', () => {
    const t = lossTrend([1, Number.NaN, 0], 0.5);
    expect(t).toEqual([1, 1, 0.5]);
    expect(lossTrend([Number.POSITIVE_INFINITY, 2], 0.5)[0]).toBeNaN();
  });
});
