import { describe, expect, it } from 'vitest';

import { aggregate, groupKey, RANK_GROUP_PATTERN, slowest, spread } from '../src/charts/aggregate';
import type { SeriesColumns } from '../src/core/api';
import { parseFilter } from '../src/core/regex';
import { buildModel, type ModelOptions, type RunData } from '../src/dashboards/scalars/model';

const arr = (a: ArrayLike<number>) => Array.from(a);

describe('the "Group ranks" preset', () => {
  const compiled = parseFilter(RANK_GROUP_PATTERN);
  const groupBy = { kind: 'regex' as const, regex: compiled.regex! };

  it('is a regex the guard accepts', () => {
    expect(compiled.error).toBeNull();
  });

  it('groups a job rank_<k> runs by job, add_scalars sub-runs by job and sub-run', () => {
    expect(groupKey('ddp/train/rank_0', groupBy)).toBe('ddp/train');
    expect(groupKey('ddp/train/rank_12', groupBy)).toBe('ddp/train');
    expect(groupKey('ddp/train/rank_1/loss_val', groupBy)).toBe('ddp/train/loss_val');
    // At the top of the log directory: the log directory itself.
    expect(groupKey('rank_3', groupBy)).toBe('.');
    expect(groupKey('rank_3/loss_val', groupBy)).toBe('loss_val');
    expect(groupKey('ddp/job', groupBy)).toBeNull();
    expect(groupKey('ddp/frank_1', groupBy)).toBeNull();
    expect(groupKey('ddp/rank_x', groupBy)).toBeNull();
  });
});

describe('spread', () => {
  const members = [
    { x: [0, 1, 2, 3], y: [1, 1, 1, 1] },
    { x: [0, 1, 2, 3], y: [1.2, 1.2, 1.2, 1.2] },
    { x: [0, 1, 2], y: [1, 3, 0] }, // diverges, then ends early
  ];

  it('names the member farthest from the mean at each x, with its signed distance', () => {
    const agg = aggregate(members);
    const s = spread(members, agg);
    expect(arr(s.farthest)).toEqual([1, 2, 2, -1]); // x=3: two members left, both equally far
    expect(s.delta[1]).toBeCloseTo(3 - 5.2 / 3, 12);
    expect(s.delta[2]).toBeCloseTo(0 - 2.2 / 3, 12);
    expect(arr(s.lastX)).toEqual([3, 3, 2]);
  });

  it('interpolates members between their points, as aggregate() does', () => {
    const two = [
      { x: [0, 2], y: [0, 2] },
      { x: [0, 1, 2], y: [0, 1, 2] },
      { x: [0, 1, 2], y: [0, 4, 2] },
    ];
    const s = spread(two, aggregate(two));
    expect(arr(s.farthest)).toEqual([0, 2, 0]); // x=0 and x=2: all equal, the first one wins
    expect(s.delta[1]).toBeCloseTo(4 - 2, 12);
  });
});

describe('slowest', () => {
  it('is the member with the fewest steps per second, when clearly slower', () => {
    const fast = { x: [0, 100], y: [0, 10] };
    const slow = { x: [0, 100], y: [0, 20] };
    expect(slowest([fast, fast, slow])).toEqual({ index: 2, rate: 5, meanRate: 25 / 3 });
    expect(slowest([fast, { x: [0, 100], y: [0, 10.1] }])).toBeNull(); // 1% apart: not a straggler
    expect(slowest([fast, { x: [5], y: [1] }])).toBeNull(); // one rate only
    // Points written in a burst: far apart in rate, but no second lost.
    expect(slowest([{ x: [0, 100], y: [0, 0.001] }, { x: [0, 100], y: [0, 0.002] }])).toBeNull();
  });
});

function rankRun(name: string, values: number[], secondsPerStep = 1): RunData {
  const columns: SeriesColumns = {
    total: values.length,
    step: Float64Array.from(values, (_, i) => i),
    wall_time: Float64Array.from(values, (_, i) => 1000 + i * secondsPerStep),
    value: Float64Array.from(values),
  };
  return { run: name, columns, start: 1000 };
}

describe('a rank group in the chart model', () => {
  const options: ModelOptions = {
    xAxis: 'step',
    smoothing: 0,
    logY: false,
    ignoreOutliers: false,
    groupBy: { kind: 'regex', regex: parseFilter(RANK_GROUP_PATTERN).regex! },
    band: 'minmax',
    showMembers: false,
    color: () => '#4e79a7',
    groupColor: () => '#f28e2b',
    xLimits: [null, null],
    yLimits: [null, null],
  };
  const runs = [
    rankRun('job/rank_0', [1, 0.8, 0.6, 0.5]),
    rankRun('job/rank_1', [1, 0.82, 0.61, 0.52]),
    rankRun('job/rank_2', [1, 1.4, 2.1], 2),
  ];

  it('draws the min–max band and the mean, and its tooltip notes say who stands out', () => {
    const m = buildModel(runs, options);
    expect(m.lines.map((l) => l.key)).toEqual(['band:job', 'mean:job']);
    expect(arr(m.lines[0]!.band!.hi)).toEqual([1, 1.4, 2.1, 0.52]);
    const hover = m.hover[0]!;
    expect(hover.name).toBe('job (3 runs)');
    // The first line is the group's summary (tests/aggregate_tooltip.test.ts); then who stands out.
    expect(hover.notes!(2).slice(1)).toEqual([
      `farthest from mean: rank_2 (+${Number((2.1 - (0.6 + 0.61 + 2.1) / 3).toPrecision(5))})`,
      'slowest: rank_2 (0.5 vs 0.83 steps/s)',
    ]);
    expect(hover.notes!(3).slice(1)).toEqual([
      'ended before here: rank_2 (last step 2)',
      'slowest: rank_2 (0.5 vs 0.83 steps/s)',
    ]);
  });

  it('adds no notes to a group of one', () => {
    const m = buildModel([runs[0]!], options);
    expect(m.hover[0]!.notes).toBeUndefined();
  });
});
