import { describe, expect, it } from 'vitest';

import {
  BIN_COUNT,
  buildGeometry,
  hoverAt,
  parseHistograms,
  rebin,
  ridgeFill,
  valueRange,
  type Histogram,
  type RawHistogram,
} from '../src/dashboards/histograms/model';
import { niceTicks, toNumber } from '../src/dashboards/histograms/svg';

function histogram(step: number, rows: [number, number, number][], wallTime = 100 + step): Histogram {
  return parseHistograms([[wallTime, step, rows]])[0]!;
}

const BOX = { left: 0, top: 0, right: 300, bottom: 200 };

describe('parseHistograms', () => {
  it("reads TensorBoard's JSON, non-finite strings included", () => {
    const raw: RawHistogram[] = [[1.5, 3, [[0, 1, 2], ['-Infinity', 'NaN', 'Infinity']]]];
    const [h] = parseHistograms(raw);
    expect(h!.step).toBe(3);
    expect(h!.wallTime).toBe(1.5);
    expect([...h!.left]).toEqual([0, -Infinity]);
    expect(Number.isNaN(h!.right[1]!)).toBe(true);
    expect(h!.count[1]).toBe(Infinity);
    expect(toNumber(null)).toBeNaN();
  });
});

describe('rebin', () => {
  it('spreads each bucket over the bins it overlaps, keeping the total', () => {
    const h = histogram(0, [[0, 1, 10], [1, 3, 20]]);
    const bins = rebin(h, 0, 3, 3);
    expect([...bins]).toEqual([10, 10, 10]);
    const fine = rebin(h, 0, 3, 30);
    expect(fine.reduce((a, b) => a + b, 0)).toBeCloseTo(30);
    expect(fine[0]).toBeCloseTo(1);
    expect(fine[29]).toBeCloseTo(1);
  });

  it('splits a bucket straddling a bin edge in proportion', () => {
    const bins = rebin(histogram(0, [[0.5, 1.5, 4]]), 0, 2, 2);
    expect([...bins]).toEqual([2, 2]);
  });

  it('keeps zero-width buckets and skips non-finite ones', () => {
    const h = histogram(0, [[1, 1, 5], [0, NaN, 3], [0, 2, Infinity], [2, 2, 1]]);
    const bins = rebin(h, 0, 2, 4);
    expect([...bins]).toEqual([0, 0, 5, 1]);
  });

  it('uses one range for a whole series (min left, max right)', () => {
    const a = histogram(0, [[0, 1, 1]]);
    const b = histogram(1, [[2, 4, 1], [4, 5, 0]]);
    expect(valueRange([a, b])).toEqual([0, 5]);
    expect(valueRange([histogram(0, [[3, 3, 10]])])).toEqual([2.7, 3.3]);
    expect(valueRange([histogram(0, [[NaN, 1, 1]])])).toBeNull();
  });
});

describe('buildGeometry', () => {
  const shifted = [0, 1, 2].map((step) => histogram(step, [[step, step + 1, 10], [step + 1, step + 2, 30]]));

  it('offset: later steps lower (in front), curves centred on their data', () => {
    const g = buildGeometry([{ run: 'a', histograms: shifted }], 'offset', 'step', BOX)!;
    expect(g.curves.map((c) => c.step)).toEqual([0, 1, 2]);
    const [c0, c1, c2] = g.curves;
    expect(c0!.baseline).toBeLessThan(c1!.baseline);
    expect(c2!.baseline).toBe(BOX.bottom);
    expect(c0!.meanX).toBeLessThan(c1!.meanX);
    expect(c1!.meanX).toBeLessThan(c2!.meanX);
    expect(c2!.newest).toBe(true);
    expect(c0!.d.startsWith('M0,')).toBe(true);
    expect(c0!.d.endsWith('Z')).toBe(true);
    // The tallest bin of all reaches the ridge height, no higher than the plot's top.
    const top = Math.min(...g.curves.flatMap((c) => [...c.ys]));
    expect(top).toBeGreaterThanOrEqual(BOX.top);
  });

  it('overlay: one baseline, the largest count at the top', () => {
    const g = buildGeometry([{ run: 'a', histograms: shifted }], 'overlay', 'step', BOX)!;
    expect(new Set(g.curves.map((c) => c.baseline))).toEqual(new Set([BOX.bottom]));
    expect(Math.min(...g.curves.flatMap((c) => [...c.ys]))).toBeCloseTo(BOX.top);
  });

  it('relative time counts from each run’s first point', () => {
    const late = [0, 1].map((step) => histogram(step, [[0, 1, 1]], 1000 + 10 * step));
    const g = buildGeometry(
      [{ run: 'a', histograms: shifted }, { run: 'b', histograms: late }],
      'offset',
      'relative',
      BOX,
    )!;
    expect(g.curves.filter((c) => c.run === 'b').map((c) => c.time)).toEqual([0, 10]);
    expect(g.timeRange).toEqual([0, 10]);
  });

  it('returns null when nothing is drawable', () => {
    expect(buildGeometry([{ run: 'a', histograms: [histogram(0, [])] }], 'offset', 'step', BOX)).toBeNull();
  });
});

describe('hoverAt', () => {
  const hs = [0, 1, 2].map((step) => histogram(step, [[0, 3, 30]]));

  it('offset: the ridge whose baseline is just below the pointer', () => {
    const g = buildGeometry([{ run: 'a', histograms: hs }], 'offset', 'step', BOX)!;
    const middle = g.curves[1]!;
    const hover = hoverAt(g, BOX, 150, middle.baseline - 5, 'offset')!;
    expect(hover.curve.step).toBe(1);
    expect(hover.bin).toBe(15);
    expect(hover.left).toBeCloseTo(1.5);
    expect(hover.right).toBeCloseTo(1.6);
    expect(hover.count).toBeCloseTo(1);
    expect(hoverAt(g, BOX, 150, BOX.bottom + 20, 'offset')!.curve.step).toBe(2);
    expect(hoverAt(g, BOX, -1, 50, 'offset')).toBeNull();
  });

  it('overlay: the curve nearest the pointer at that bin', () => {
    const tall = histogram(5, [[0, 3, 90]]);
    const g = buildGeometry([{ run: 'a', histograms: [...hs, tall] }], 'overlay', 'step', BOX)!;
    expect(hoverAt(g, BOX, 100, BOX.top + 1, 'overlay')!.curve.step).toBe(5);
    expect(hoverAt(g, BOX, 100, BOX.bottom - 60, 'overlay')!.curve.step).toBe(2);
  });
});

describe('niceTicks', () => {
  it('gives round steps inside the range', () => {
    expect(niceTicks(0, 9, 4)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(-0.3, 0.3, 3)).toEqual([-0.2, 0, 0.2]);
    expect(niceTicks(5, 5)).toEqual([5]);
    expect(niceTicks(NaN, 1)).toEqual([]);
  });
});

describe('filled ridges and shared ranges', () => {
  it('shades a ridge by its age: later steps take more of the run colour', () => {
    expect(ridgeFill('#ff0000', 0)).toBe('color-mix(in srgb, #ff0000 25%, var(--panel))');
    expect(ridgeFill('#ff0000', 1)).toBe('color-mix(in srgb, #ff0000 85%, var(--panel))');
    const share = (age: number) => Number(/ (\d+)%/.exec(ridgeFill('#123456', age))![1]);
    expect(share(0.5)).toBeGreaterThan(share(0.2));
  });

  it('draws on a shared value range when one is given (Compare runs rows line up)', () => {
    const h = parseHistograms([[1, 0, [[0, 1, 5]]]]);
    const box = { left: 0, top: 0, right: 100, bottom: 100 };
    const own = buildGeometry([{ run: 'a', histograms: h }], 'offset', 'step', box)!;
    const shared = buildGeometry([{ run: 'a', histograms: h }], 'offset', 'step', box, BIN_COUNT, [-1, 1])!;
    expect(own.range).toEqual([0, 1]);
    expect(shared.range).toEqual([-1, 1]);
    expect(shared.x(0)).toBeCloseTo(50);
  });
});
