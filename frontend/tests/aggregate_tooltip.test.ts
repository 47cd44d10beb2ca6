import { describe, expect, it } from 'vitest';

import type { SeriesColumns } from '../src/core/api';
import { aggregate, groupSummary } from '../src/charts/aggregate';
import { buildModel, type ModelOptions, type RunData } from '../src/dashboards/scalars/model';

function run(name: string, steps: number[], values: number[]): RunData {
  const columns: SeriesColumns = {
    total: steps.length,
    step: Float64Array.from(steps),
    wall_time: Float64Array.from(steps, (s) => 1000 + s * 2),
    value: Float64Array.from(values),
  };
  return { run: name, columns, start: 1000 };
}

const options: ModelOptions = {
  xAxis: 'step',
  smoothing: 0,
  logY: false,
  ignoreOutliers: false,
  groupBy: { kind: 'regex', regex: /(.*)_seed\d/ },
  band: 'std',
  showMembers: true,
  color: () => '#4e79a7',
  groupColor: () => '#f28e2b',
  xLimits: [null, null],
  yLimits: [null, null],
};

// Three seeds; seed3 stops at step 1, so at step 2 only two of the three contribute.
const runs = [
  run('a_seed1', [0, 1, 2], [1, 2, 3]),
  run('a_seed2', [0, 1, 2], [3, 4, 5]),
  run('a_seed3', [0, 1], [2, 6]),
];

describe('groupSummary', () => {
  const agg = aggregate(runs.map((r) => ({ x: r.columns.step, y: r.columns.value })));

  it('gives the mean, ±std and how many runs contribute at that x', () => {
    // step 1: values 2, 4, 6 -> mean 4, population std sqrt(8/3) = 1.633
    expect(groupSummary(agg, 1, 'std', 3)).toBe('mean 4 ± 1.633 · 3 of 3 runs');
    // step 2: values 3, 5 -> mean 4, std 1
    expect(groupSummary(agg, 2, 'std', 3)).toBe('mean 4 ± 1 · 2 of 3 runs');
  });

  it('gives min–max when the band is min/max', () => {
    expect(groupSummary(agg, 1, 'minmax', 3)).toBe('mean 4 · min 2 – max 6 · 3 of 3 runs');
  });

  it('falls back to ±std without a band, and says when no run contributes', () => {
    expect(groupSummary(agg, 0, 'none', 3)).toBe('mean 2 ± 0.8165 · 3 of 3 runs');
    const empty = aggregate([{ x: [5], y: [NaN] }]);
    expect(groupSummary(empty, 0, 'std', 1)).toBe('0 of 1 run');
  });

  it('is the first line under a group in the tooltip', () => {
    const model = buildModel(runs, options);
    const group = model.hover.find((h) => h.name.startsWith('a '))!;
    expect(group.notes!(2)[0]).toBe('mean 4 ± 1 · 2 of 3 runs');
    const minmax = buildModel(runs, { ...options, band: 'minmax' });
    expect(minmax.hover[0]!.notes!(1)[0]).toBe('mean 4 · min 2 – max 6 · 3 of 3 runs');
  });

  it('draws band and member lines more opaque in the dark theme', () => {
    const alpha = (dark: boolean, prefix: string) =>
      buildModel(runs, { ...options, dark }).lines.find((l) => l.key.startsWith(prefix))!.alpha;
    expect(alpha(true, 'band:')).toBeGreaterThan(alpha(false, 'band:'));
    expect(alpha(true, 'member:')).toBeGreaterThan(alpha(false, 'member:'));
  });
});
