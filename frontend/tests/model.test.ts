import { describe, expect, it } from 'vitest';

import type { SeriesColumns } from '../src/core/api';
import { buildModel, drawable, stepRange, type ModelOptions, type RunData } from '../src/dashboards/scalars/model';

function run(name: string, steps: number[], values: number[], t0 = 1000): RunData {
  const columns: SeriesColumns = {
    total: steps.length,
    step: Float64Array.from(steps),
    wall_time: Float64Array.from(steps, (s) => t0 + s * 2),
    value: Float64Array.from(values),
  };
  return { run: name, columns, start: t0 };
}

const options: ModelOptions = {
  xAxis: 'step',
  smoothing: 0,
  logY: false,
  ignoreOutliers: false,
  groupBy: { kind: 'none' },
  band: 'std',
  showMembers: false,
  color: () => '#4e79a7',
  groupColor: () => '#f28e2b',
  xLimits: [null, null],
  yLimits: [null, null],
};

describe('buildModel', () => {
  const runs = [run('a_seed1', [0, 1, 2], [1, 2, 3]), run('a_seed2', [0, 1, 2], [3, 4, 5])];

  it('draws one line per run without smoothing, two (faded raw + smoothed) with', () => {
    expect(buildModel(runs, options).lines.map((l) => l.key)).toEqual(['run:a_seed1', 'run:a_seed2']);
    const smoothed = buildModel(runs, { ...options, smoothing: 0.6 });
    expect(smoothed.lines.map((l) => [l.key, l.alpha < 1])).toEqual([
      ['raw:a_seed1', true], ['run:a_seed1', false], ['raw:a_seed2', true], ['run:a_seed2', false],
    ]);
    expect(smoothed.hover).toHaveLength(2);
  });

  it('fits the ranges to the data, padded in y', () => {
    const m = buildModel(runs, options);
    expect(m.xRange).toEqual([0, 2]);
    expect(m.yRange[0]).toBeCloseTo(0.8, 12);
    expect(m.yRange[1]).toBeCloseTo(5.2, 12);
    expect(m.pointsShown).toBe(6);
  });

  it('follows the zoom: y fits the points inside the x range', () => {
    const m = buildModel(runs, { ...options, xLimits: [0, 0.5] });
    expect(m.xRange).toEqual([0, 0.5]);
    expect(m.yRange[0]).toBeCloseTo(0.9, 12);
    expect(m.yRange[1]).toBeCloseTo(3.1, 12);
  });

  it('aggregates a group into a band and a mean line', () => {
    const m = buildModel(runs, { ...options, groupBy: { kind: 'regex', regex: /(.*)_seed\d/ } });
    expect(m.lines.map((l) => l.key)).toEqual(['band:a', 'mean:a']);
    expect(Array.from(m.lines[1]!.y as Float64Array)).toEqual([2, 3, 4]);
    expect(m.hover[0]!.name).toBe('a (2 runs)');
  });

  it('uses relative time from each series start', () => {
    const m = buildModel([run('r', [0, 10], [1, 2], 500)], { ...options, xAxis: 'relative' });
    expect(Array.from(m.lines[0]!.x)).toEqual([0, 20]);
  });

  it('drops non-positive values on a log axis', () => {
    expect(drawable(Float64Array.from([1, 0, -1, NaN, 2]), true)).toEqual([1, null, null, null, 2]);
    const clean = Float64Array.from([1, 2]);
    expect(drawable(clean, true)).toBe(clean);
  });
});

describe('stepRange', () => {
  const runs = [run('a', [0, 10, 20, 30], [0, 0, 0, 0], 100)];
  it('rounds a step zoom outward', () => {
    expect(stepRange(runs, 'step', [1.5, 7.2])).toEqual([1, 8]);
    expect(stepRange(runs, 'step', [null, null])).toBeNull();
  });
  it('maps a time zoom to the steps inside it', () => {
    // wall_time = 100 + 2 * step
    expect(stepRange(runs, 'wall_time', [115, 161])).toEqual([10, 30]);
    expect(stepRange(runs, 'relative', [15, 41])).toEqual([10, 20]);
  });
});
