import { describe, expect, it } from 'vitest';

import { smooth, smoothSeries, windowPoints } from '../src/charts/smoothing';

/**
 * TensorBoard's `classicSmoothing` (tensorboard/webapp/widgets/line_chart_v2/data_transformer.ts),
 * transcribed point for point as the reference our typed-array version must equal.
 */
function tensorboardSmoothing(ys: number[], weight: number): number[] {
  const w = Math.min(Math.max(weight, 0), 1);
  if (!ys.length) return [];
  const result: number[] = [];
  let last = ys.length > 0 ? 0 : NaN;
  let numAccum = 0;
  const isConstant = ys.every((v) => v == ys[0]);
  for (const nextVal of ys) {
    if (isConstant || !Number.isFinite(nextVal)) {
      result.push(nextVal);
    } else {
      last = last * w + (1 - w) * nextVal;
      numAccum++;
      let debiasWeight = 1;
      if (w !== 1) debiasWeight = 1 - Math.pow(w, numAccum);
      result.push(last / debiasWeight);
    }
  }
  return result;
}

function random(seed: number, n: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 10 - 5;
  });
}

describe('smooth (TensorBoard debiased EMA)', () => {
  it.each([0, 0.3, 0.6, 0.9, 0.99, 0.999, 1])('equals TensorBoard for weight %s', (w) => {
    const ys = random(7, 500);
    const ours = Array.from(smooth(Float64Array.from(ys), w));
    const theirs = tensorboardSmoothing(ys, w);
    expect(ours).toHaveLength(theirs.length);
    ours.forEach((v, i) => expect(v).toBeCloseTo(theirs[i]!, 12));
  });

  it('debiases: the first smoothed point is the first value', () => {
    expect(smooth([4, 8], 0.6)[0]).toBe(4);
    // second: last = (0.4*4)*0.6 + 0.4*8 = 4.16; debias 1 - 0.36 = 0.64 -> 6.5
    expect(smooth([4, 8], 0.6)[1]).toBeCloseTo(6.5, 12);
  });

  it('weight 0 returns the values unchanged', () => {
    const ys = random(3, 50);
    expect(Array.from(smooth(ys, 0))).toEqual(ys.map((y) => y / 1));
  });

  it('leaves a constant series unsmoothed (tensorflow/tensorboard#786)', () => {
    const out = smooth([0.1, 0.1, 0.1, 0.1], 0.9);
    expect(Array.from(out)).toEqual([0.1, 0.1, 0.1, 0.1]);
  });

  it('passes non-finite points through without advancing n', () => {
    const ys = [1, NaN, 3, Infinity, -Infinity, 5];
    const out = Array.from(smooth(ys, 0.5));
    expect(out[1]).toBeNaN();
    expect(out[3]).toBe(Infinity);
    expect(out[4]).toBe(-Infinity);
    // Equal to smoothing the finite values alone.
    const finite = Array.from(smooth([1, 3, 5], 0.5));
    expect([out[0], out[2], out[5]]).toEqual(finite);
    expect(out).toEqual(tensorboardSmoothing(ys, 0.5));
  });

  it('a NaN first value is never "constant"', () => {
    const out = Array.from(smooth([NaN, NaN], 0.6));
    expect(out).toEqual([NaN, NaN]);
    expect(Array.from(smooth([NaN, 2, 2], 0.6))).toEqual(tensorboardSmoothing([NaN, 2, 2], 0.6));
  });

  it('clamps the weight to [0, 1]', () => {
    const ys = random(11, 20);
    expect(Array.from(smooth(ys, -3))).toEqual(Array.from(smooth(ys, 0)));
    expect(Array.from(smooth(ys, 7))).toEqual(Array.from(smooth(ys, 1)));
  });

  it('handles empty and single-point series', () => {
    expect(smooth([], 0.6)).toHaveLength(0);
    expect(Array.from(smooth([42], 0.6))).toEqual([42]);
  });
});

describe('other smoothers', () => {
  const xs = Float64Array.from({ length: 9 }, (_, i) => i);
  const ys = Float64Array.from([1, 3, 2, 6, 4, 8, 5, 9, 7]);

  it('sizes windows as an EMA of the same weight averages', () => {
    expect([0, 0.5, 0.6, 0.9, 0.99, 0.999, 5].map(windowPoints)).toEqual([1, 2, 3, 10, 100, 1000, 1000]);
  });

  it('running average: the mean of the last k points', () => {
    const out = smoothSeries(xs, ys, 'running', 0.6); // k = 3
    expect(out[0]).toBe(1);
    expect(out[1]).toBe(2);
    expect(out[2]).toBe(2);
    expect(out[8]).toBeCloseTo((5 + 9 + 7) / 3, 12);
  });

  it('centred moving average: the mean around each point, shrunk symmetrically at the ends', () => {
    const out = smoothSeries(xs, ys, 'centered', 0.6); // k = 3: one point on each side
    expect(out[0]).toBe(1); // no neighbour on the left: the point itself
    expect(out[1]).toBe(2); // (1 + 3 + 2) / 3
    expect(out[4]).toBeCloseTo((6 + 4 + 8) / 3, 12);
    expect(out[8]).toBe(7);
    // A linear trend is not pulled back at the newest point (no lag), whatever the window.
    const x = Float64Array.from({ length: 40 }, (_, i) => i);
    const line = Float64Array.from(x, (v) => 3 * v - 2);
    for (const w of [0.6, 0.9, 0.99]) {
      const smoothed = smoothSeries(x, line, 'centered', w);
      for (let i = 0; i < 40; i++) expect(smoothed[i]).toBeCloseTo(line[i]!, 9);
    }
  });

  it('window means survive a huge value leaving the window', () => {
    const spiky = Float64Array.from([1, 2, 1e20, 4, 5, 6, 7, 8]);
    const x = Float64Array.from(spiky, (_, i) => i);
    const running = smoothSeries(x, spiky, 'running', 0.6); // k = 3
    expect(running[5]).toBeCloseTo(5, 9);
    expect(running[7]).toBeCloseTo(7, 9);
    const centred = smoothSeries(x, spiky, 'centered', 0.6);
    expect(centred[5]).toBeCloseTo(6, 9);
  });

  it('passes non-finite points through and leaves them out of the means', () => {
    const withNaN = Float64Array.from([1, NaN, 3, Infinity, 5]);
    const out = smoothSeries(Float64Array.from([0, 1, 2, 3, 4]), withNaN, 'running', 0.5); // k = 2
    expect(Number.isNaN(out[1]!)).toBe(true);
    expect(out[3]).toBe(Infinity);
    expect([out[0], out[2], out[4]]).toEqual([1, 2, 4]);
  });

  it('returns a constant series as it is', () => {
    const flat = new Float64Array(50).fill(0.1);
    for (const method of ['twema', 'running', 'centered', 'gaussian'] as const) {
      expect(Array.from(smoothSeries(Float64Array.from(flat, (_, i) => i), flat, method, 0.9))).toEqual(Array.from(flat));
    }
  });

  it('time-weighted EMA equals the EMA on evenly spaced points', () => {
    const even = smoothSeries(xs, ys, 'twema', 0.6);
    const ema = smooth(ys, 0.6);
    for (let i = 0; i < ys.length; i++) expect(even[i]).toBeCloseTo(ema[i]!, 12);
  });

  it('time-weighted EMA: a long gap forgets more than a short one', () => {
    // Two series that are the same except that the last point comes after a long gap in one.
    const y = Float64Array.from([0, 0, 0, 0, 10]);
    const near = smoothSeries(Float64Array.from([0, 1, 2, 3, 4]), y, 'twema', 0.9);
    const far = smoothSeries(Float64Array.from([0, 1, 2, 3, 40]), y, 'twema', 0.9);
    expect(far[4]!).toBeGreaterThan(near[4]!);
  });

  it('gaussian: symmetric, smooths a spike and keeps the mean of a linear trend', () => {
    const x = Float64Array.from({ length: 41 }, (_, i) => i);
    const spike = new Float64Array(41);
    spike[20] = 10;
    const out = smoothSeries(x, spike, 'gaussian', 0.8); // k = 5, sigma = 2.5 points
    expect(out[20]!).toBeLessThan(2);
    expect(out[18]).toBeCloseTo(out[22]!, 12);
    const line = Float64Array.from(x, (v) => 2 * v + 1);
    const smoothLine = smoothSeries(x, line, 'gaussian', 0.8);
    // A local line: a trend stays on itself, at the ends too (no lag at the newest point).
    for (let i = 0; i < 41; i++) expect(smoothLine[i]).toBeCloseTo(2 * i + 1, 6);
  });

  it('gaussian: wide windows stay fast (strided) and still smooth', () => {
    const n = 8000;
    const x = Float64Array.from({ length: n }, (_, i) => i);
    const noisy = Float64Array.from(x, (v, i) => v / 1000 + (i % 2 ? 1 : -1));
    const started = performance.now();
    const out = smoothSeries(x, noisy, 'gaussian', 0.999); // a 1,000-point window
    expect(performance.now() - started).toBeLessThan(2000);
    for (const i of [100, 4000, 7900]) expect(Math.abs(out[i]! - i / 1000)).toBeLessThan(0.05);
  });
});
