import { describe, expect, it } from 'vitest';

import { EXPERIMENT_GROUP_PATTERN, aggregate, bandEdges, groupKey, unionX } from '../src/charts/aggregate';
import { colorKey } from '../src/core/colors';
import { compileRegex, parseFilter } from '../src/core/regex';
import { decodeGroupBy, encodeGroupBy } from '../src/core/state';

const arr = (a: ArrayLike<number>) => Array.from(a);

describe('aggregate', () => {
  it('mean, population std, min and max at shared steps', () => {
    const agg = aggregate([
      { x: [0, 1, 2], y: [1, 2, 3] },
      { x: [0, 1, 2], y: [3, 4, 5] },
      { x: [0, 1, 2], y: [2, 3, 10] },
    ]);
    expect(arr(agg.x)).toEqual([0, 1, 2]);
    expect(arr(agg.mean)).toEqual([2, 3, 6]);
    expect(agg.std[0]).toBeCloseTo(Math.sqrt(2 / 3), 12);
    expect(agg.std[2]).toBeCloseTo(Math.sqrt(((3 - 6) ** 2 + (5 - 6) ** 2 + (10 - 6) ** 2) / 3), 12);
    expect(arr(agg.min)).toEqual([1, 2, 3]);
    expect(arr(agg.max)).toEqual([3, 4, 10]);
    expect(arr(agg.count)).toEqual([3, 3, 3]);
  });

  it('evaluates on the union of steps, interpolating linearly between a run\'s points', () => {
    const agg = aggregate([
      { x: [0, 10], y: [0, 10] },
      { x: [0, 5, 10], y: [2, 2, 2] },
    ]);
    expect(arr(agg.x)).toEqual([0, 5, 10]);
    expect(arr(agg.mean)).toEqual([1, 3.5, 6]); // run 1 at x=5 is 5 (interpolated)
  });

  it('never extrapolates: a run counts only inside its own x range', () => {
    const agg = aggregate([
      { x: [0, 1, 2, 3], y: [1, 1, 1, 1] },
      { x: [0, 1], y: [3, 3] },
    ]);
    expect(arr(agg.count)).toEqual([2, 2, 1, 1]);
    expect(arr(agg.mean)).toEqual([2, 2, 1, 1]);
    expect(arr(agg.std)).toEqual([1, 1, 0, 0]);
  });

  it('skips non-finite values, and marks points without contributors as NaN', () => {
    const agg = aggregate([
      { x: [0, 1, 2], y: [1, NaN, 3] },
      { x: [0, 1, 2], y: [3, 5, Infinity] },
    ]);
    expect(arr(agg.mean)).toEqual([2, 5, 3]);
    const none = aggregate([{ x: [0], y: [NaN] }]);
    expect(none.mean[0]).toBeNaN();
    expect(none.count[0]).toBe(0);
  });

  it('a single member has its own line and a zero band', () => {
    const agg = aggregate([{ x: [1, 2], y: [5, 6] }]);
    expect(arr(agg.mean)).toEqual([5, 6]);
    expect(arr(agg.std)).toEqual([0, 0]);
  });

  it('handles repeated steps and empty members', () => {
    expect(arr(unionX([{ x: [0, 1, 1, 2], y: [0, 0, 0, 0] }, { x: [], y: [] }]))).toEqual([0, 1, 2]);
    const agg = aggregate([{ x: [0, 1, 1, 2], y: [0, 1, 3, 3] }, { x: [], y: [] }]);
    expect(agg.mean[2]).toBe(3); // at a repeated step the last value holds
  });

  it('gives band edges for ±std and min–max', () => {
    const agg = aggregate([
      { x: [0], y: [1] },
      { x: [0], y: [3] },
    ]);
    expect(arr(bandEdges(agg, 'std').lo)).toEqual([1]);
    expect(arr(bandEdges(agg, 'std').hi)).toEqual([3]);
    expect(arr(bandEdges(agg, 'minmax').hi)).toEqual([3]);
  });
});

describe('groupKey', () => {
  it('uses the regex capture groups, or the whole match', () => {
    const regex = { kind: 'regex' as const, regex: /(.*)_seed\d+/i };
    expect(groupKey('adam_lr0.1_seed3', regex)).toBe('adam_lr0.1');
    expect(groupKey('baseline', regex)).toBeNull();
    expect(groupKey('x/adam', { kind: 'regex', regex: /adam|sgd/ })).toBe('adam');
    expect(groupKey('a1b2', { kind: 'regex', regex: /(a\d)(b\d)/ })).toBe('a1/b2');
  });

  it('uses a part of the name', () => {
    expect(groupKey('exp/seed1/train', { kind: 'part', separator: '/', index: 0 })).toBe('exp');
    expect(groupKey('exp/seed1/train', { kind: 'part', separator: '/', index: -1 })).toBe('train');
    expect(groupKey('exp', { kind: 'part', separator: '/', index: 2 })).toBeNull();
    expect(groupKey('a', { kind: 'none' })).toBeNull();
  });
});

describe('the Experiment group preset', () => {
  // Compiled as the Scalars dashboard compiles a group regex.
  const compiled = parseFilter(EXPERIMENT_GROUP_PATTERN);
  const experiment = { kind: 'regex' as const, regex: compiled.regex! };

  it('is a regex the dashboard accepts (no backtracking risk)', () => {
    expect(compiled.error).toBeNull();
    expect(compileRegex(EXPERIMENT_GROUP_PATTERN)).toBeInstanceOf(RegExp);
  });

  it("groups Keras's train/validation and Lightning's version_N siblings by their parent", () => {
    expect(groupKey('fit/train', experiment)).toBe('fit');
    expect(groupKey('fit/validation', experiment)).toBe('fit');
    expect(groupKey('logs/2024/fit/validation', experiment)).toBe('logs/2024/fit');
    expect(groupKey('lightning_logs/version_0', experiment)).toBe('lightning_logs');
    expect(groupKey('lightning_logs/version_12', experiment)).toBe('lightning_logs');
    expect(groupKey('lightning_logs/version_3/train', experiment)).toBe('lightning_logs');
    // At the top of the log directory: the log directory itself.
    expect(groupKey('train', experiment)).toBe('.');
    expect(groupKey('validation', experiment)).toBe('.');
    expect(groupKey('version_2', experiment)).toBe('.');
  });

  it("gives an experiment's runs one colour in the runs list (colour by regex)", () => {
    const regex = compileRegex(EXPERIMENT_GROUP_PATTERN) as RegExp;
    expect(colorKey('fit/train', regex)).toBe(colorKey('fit/validation', regex));
    expect(colorKey('lightning_logs/version_0', regex)).toBe(colorKey('lightning_logs/version_1', regex));
    expect(colorKey('fit/train', regex)).not.toBe(colorKey('other/train', regex));
    expect(colorKey('baseline', regex)).toBe('baseline');
  });

  it('survives the URL (a shared link keeps the preset)', () => {
    const groupBy = { kind: 'regex' as const, pattern: EXPERIMENT_GROUP_PATTERN };
    expect(decodeGroupBy(encodeGroupBy(groupBy))).toEqual(groupBy);
  });

  it('leaves other runs single', () => {
    for (const run of ['baseline', 'fit/training', 'my_train', 'version_x', 'a/version_1/test', 'fit/train/extra', '.']) {
      expect(groupKey(run, experiment)).toBeNull();
    }
  });
});
