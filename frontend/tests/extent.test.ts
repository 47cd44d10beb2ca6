import { describe, expect, it } from 'vitest';

import { padRange, valueRange } from '../src/charts/extent';

describe('valueRange', () => {
  it('is [min, max] of the finite values', () => {
    expect(valueRange([3, NaN, -1, Infinity, 2], false)).toEqual([-1, 3]);
    expect(valueRange([NaN], false)).toBeNull();
    expect(valueRange([], true)).toBeNull();
  });

  it("ignores outliers as TensorBoard: sorted values at ceil((n-1)*0.05) and floor((n-1)*0.95)", () => {
    const values = Array.from({ length: 101 }, (_, i) => i); // 0..100
    values[0] = -1e9;
    values[100] = 1e9;
    expect(valueRange(values, true)).toEqual([5, 95]);
    const twenty = Array.from({ length: 20 }, (_, i) => 19 - i);
    // n = 20: indices ceil(0.95) = 1 and floor(18.05) = 18
    expect(valueRange(twenty, true)).toEqual([1, 18]);
  });

  it('keeps everything for two values or fewer', () => {
    expect(valueRange([5, 1], true)).toEqual([1, 5]);
  });
});

describe('padRange', () => {
  it('pads by 5 %', () => {
    expect(padRange([0, 10], false)).toEqual([-0.5, 10.5]);
  });

  it('gives a flat line room, as TensorBoard', () => {
    expect(padRange([3, 3], false)).toEqual([0, 6]);
    expect(padRange([-2, -2], false)).toEqual([-4, 0]);
    expect(padRange([0, 0], false)).toEqual([-1, 1]);
  });

  it('pads in log space on a log axis', () => {
    const [lo, hi] = padRange([1, 100], true);
    expect(Math.log10(lo)).toBeCloseTo(-0.1, 12);
    expect(Math.log10(hi)).toBeCloseTo(2.1, 12);
  });
});
