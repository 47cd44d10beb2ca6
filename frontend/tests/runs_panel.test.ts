import { describe, expect, it } from 'vitest';

import {
  attachSubruns,
  clampWidth,
  hparamsSubruns,
  orderRuns,
  parseLayout,
  splitName,
} from '../src/shell/runList';
import { runColumns, type RawRunTable } from '../src/shell/runColumns';

describe('run order', () => {
  const runs = ['b/seed10', 'a', 'b/seed2', 'B/seed1'];
  it('keeps the server order for "time"', () => {
    expect(orderRuns(runs, 'time')).toEqual(runs);
  });
  it('sorts A→Z and Z→A with numbers as numbers', () => {
    expect(orderRuns(runs, 'name')).toEqual(['a', 'B/seed1', 'b/seed2', 'b/seed10']);
    expect(orderRuns(runs, 'name-desc')).toEqual(['b/seed10', 'b/seed2', 'B/seed1', 'a']);
  });
});

describe('middle truncation', () => {
  it('keeps short names whole', () => {
    expect(splitName('train')).toEqual({ head: 'train', tail: '' });
  });
  it('keeps the last path segment when short', () => {
    const run = 'sweep/lr_0.001_bs_64_dropout_0.1/seed_3';
    const { head, tail } = splitName(run);
    expect(tail).toBe('/seed_3');
    expect(head + tail).toBe(run);
  });
  it('keeps the last 12 characters otherwise', () => {
    const run = 'lr_0.001_batch_64_dropout_0.1_seed_3';
    expect(splitName(run).tail).toBe('pout_0.1_seed_3'.slice(-12));
    expect(splitName(run).head + splitName(run).tail).toBe(run);
  });
});

const TABLE: RawRunTable = {
  hparams: [{ name: 'lr', displayName: '', type: 'float' }],
  metrics: [{ group: '', tag: 'hparam/acc', displayName: '' }],
  sessions: [
    { run: 'exp1/1712345678.123456', hparams: [0.1], metrics: [{ value: 0.9 }] },
    { run: 'exp2/1712345679.5', hparams: [0.01], metrics: [{ value: 0.8 }] },
    { run: 'other/2024', hparams: [1], metrics: [null] },
  ],
};

describe('add_hparams sub-runs', () => {
  const runs = ['exp1', 'exp1/1712345678.123456', 'exp2', 'exp2/1712345679.5', 'other', 'other/2024'];
  it('are found by their timestamp name, their session and their parent run', () => {
    const sub = hparamsSubruns(runs, TABLE);
    expect([...sub]).toEqual([
      ['exp1/1712345678.123456', 'exp1'],
      ['exp2/1712345679.5', 'exp2'],
    ]);
    expect(hparamsSubruns(runs, null).size).toBe(0);
    // Without its parent among the runs, a sub-run stays a run of its own.
    expect(hparamsSubruns(['exp1/1712345678.123456'], TABLE).size).toBe(0);
  });
  it("show their hparams and metrics in the parent's columns", () => {
    const sub = hparamsSubruns(runs, TABLE);
    const shown = runs.filter((run) => !sub.has(run));
    const columns = runColumns(attachSubruns(TABLE, sub), shown);
    expect(columns.values.get('exp1')).toEqual([0.1, 0.9]);
    expect(columns.values.get('exp2')).toEqual([0.01, 0.8]);
    // Before: the parent had no values at all.
    expect(runColumns(TABLE, shown).values.get('exp1')).toBeUndefined();
  });
});

describe('panel layout', () => {
  it('reads what it stored, clamped, and defaults on garbage', () => {
    expect(parseLayout(null)).toEqual({ width: null, collapsed: false, order: 'time' });
    expect(parseLayout('{"width": 5000, "collapsed": true, "order": "name"}')).toEqual({
      width: 720,
      collapsed: true,
      order: 'name',
    });
    expect(parseLayout('{"width": "x", "order": "bogus"}')).toEqual({ width: null, collapsed: false, order: 'time' });
    expect(parseLayout('not json').collapsed).toBe(false);
    expect(clampWidth(10)).toBe(180);
  });
});
