import { describe, expect, it } from 'vitest';

import {
  BASIS_POINTS,
  buildDistributionGeometry,
  nearestPoint,
  parseDistributions,
  type RawDistribution,
} from '../src/dashboards/distributions/model';

const BOX = { left: 0, top: 0, right: 100, bottom: 100 };

function raw(step: number, centre: number, wall = 10 + step): RawDistribution {
  const offsets = [-3, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 3];
  return [wall, step, BASIS_POINTS.map((bp, i) => [bp, centre + offsets[i]!])];
}

describe('parseDistributions', () => {
  it('reads the nine values by basis point, strings as non-finite numbers', () => {
    const d = parseDistributions([raw(0, 0), [1, 2, [[0, 'NaN'], [10000, 'Infinity']]]]);
    expect([...d.step]).toEqual([0, 2]);
    expect(d.values[4]![0]).toBe(0);
    expect(d.values[0]![1]).toBeNaN();
    expect(d.values[8]![1]).toBe(Infinity);
    expect(d.values[4]![1]).toBeNaN();
  });
});

describe('buildDistributionGeometry', () => {
  const dist = parseDistributions([raw(0, 0), raw(1, 1), raw(2, 2)]);

  it('draws four nested bands outside-in and the median', () => {
    const g = buildDistributionGeometry(dist, 'step', BOX)!;
    expect(g.bands.map((b) => b.name)).toEqual(['minmax', '1.5', '1.0', '0.5']);
    expect(g.drawn).toEqual([0, 1, 2]);
    // Upper edge left to right, lower edge back: 6 points per band.
    for (const band of g.bands) expect(band.d.split('L')).toHaveLength(6);
    const median = g.median.slice(1).split('L').map((p) => p.split(',').map(Number));
    expect(median.map(([x]) => x)).toEqual([0, 50, 100]);
    // Values rise: y falls.
    expect(median[0]![1]!).toBeGreaterThan(median[2]![1]!);
    expect(g.valueRange[0]).toBeLessThan(-3);
    expect(g.valueRange[1]).toBeGreaterThan(5);
  });

  it('leaves out points with a non-finite value', () => {
    const odd = parseDistributions([raw(0, 0), [11, 1, [[0, 'NaN']]], raw(2, 2)]);
    const g = buildDistributionGeometry(odd, 'step', BOX)!;
    expect(g.drawn).toEqual([0, 2]);
    expect(g.skipped).toBe(1);
    expect(buildDistributionGeometry(parseDistributions([]), 'step', BOX)).toBeNull();
  });

  it('gives a single point some width', () => {
    const g = buildDistributionGeometry(parseDistributions([raw(7, 0)]), 'step', BOX)!;
    expect(g.median).toBe('M46,50L54,50');
  });

  it('follows the time axis and finds the nearest point', () => {
    const g = buildDistributionGeometry(parseDistributions([raw(0, 0, 100), raw(1, 1, 130)]), 'relative', BOX)!;
    expect(g.timeRange).toEqual([0, 30]);
    expect(nearestPoint(g, 20)).toBe(0);
    expect(nearestPoint(g, 80)).toBe(1);
  });
});
