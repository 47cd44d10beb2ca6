import { describe, expect, it } from 'vitest';

import {
  DEFAULT_PREFS,
  formatCell,
  listRuns,
  parseCellFilter,
  parsePrefs,
  runColumns,
  sortRuns,
  type RawRunTable,
} from '../src/shell/runColumns';

const RAW: RawRunTable = {
  hparams: [
    { name: 'lr', displayName: '', type: 'float' },
    { name: 'optimizer', displayName: 'Optimizer', type: 'string' },
  ],
  metrics: [
    { group: '', tag: 'loss', displayName: '' },
    { group: 'validation', tag: 'accuracy', displayName: '' },
  ],
  sessions: [
    { run: 'sweep/a', hparams: [0.1, 'adam'], metrics: [{ value: 0.5 }, { value: 0.9 }] },
    { run: 'sweep/b', hparams: [0.001, 'sgd'], metrics: [{ value: 'NaN' }, null] },
    { run: 'sweep/c', hparams: [0.01, 'adam'], metrics: [{ value: 0.2 }, { value: 0.95 }] },
  ],
};
const RUNS = ['sweep/a', 'sweep/a/validation', 'sweep/b', 'sweep/c', 'sweep/c/validation', 'other', 'sweep/ab'];

describe('runColumns', () => {
  const cols = runColumns(RAW, RUNS);

  it('makes a column per hparam and metric', () => {
    expect(cols.columns.map((c) => c.id)).toEqual(['h:lr', 'h:optimizer', 'm:loss', 'm:validation/accuracy']);
    expect(cols.columns.map((c) => c.label)).toEqual(['lr', 'Optimizer', 'loss', 'validation/accuracy']);
    expect(cols.columns.map((c) => c.numeric)).toEqual([true, false, true, true]);
  });

  it("gives a session's hparams to its runs, and a metric to the run holding it", () => {
    expect(cols.values.get('sweep/a')).toEqual([0.1, 'adam', 0.5, null]);
    expect(cols.values.get('sweep/a/validation')).toEqual([0.1, 'adam', null, 0.9]);
    expect(cols.values.get('sweep/b')?.[2]).toBeNaN();
    // A run that only shares a prefix of the name is not below the session.
    expect(cols.values.has('sweep/ab')).toBe(false);
    expect(cols.values.has('other')).toBe(false);
  });

  it('treats a session at the log directory root (".") as every run\'s parent', () => {
    const root: RawRunTable = { ...RAW, sessions: [{ run: '.', hparams: [0.5, 'sgd'], metrics: [{ value: 1 }, { value: 2 }] }] };
    const c = runColumns(root, ['.', 'train', 'validation']);
    expect(c.values.get('.')).toEqual([0.5, 'sgd', 1, null]);
    expect(c.values.get('train')).toEqual([0.5, 'sgd', null, null]);
    expect(c.values.get('validation')).toEqual([0.5, 'sgd', null, 2]);
  });

  it('takes the deepest session when sessions nest', () => {
    const nested: RawRunTable = {
      ...RAW,
      metrics: [],
      sessions: [
        { run: 'x', hparams: [1, 'p'], metrics: [] },
        { run: 'x/inner', hparams: [2, 'q'], metrics: [] },
      ],
    };
    const c = runColumns(nested, ['x', 'x/inner', 'x/inner/deep']);
    expect(c.values.get('x')).toEqual([1, 'p']);
    expect(c.values.get('x/inner/deep')).toEqual([2, 'q']);
  });
});

describe('parseCellFilter', () => {
  const test = (text: string, numeric: boolean) => {
    const t = parseCellFilter(text, numeric);
    if (typeof t !== 'function') throw new Error(String(t));
    return t;
  };

  it('reads comparisons, ranges and equality on numbers', () => {
    expect([0.001, 0.01, 0.1].map(test('>0.005', true))).toEqual([false, true, true]);
    expect([0.001, 0.01, 0.1].map(test('<= 0.01', true))).toEqual([true, true, false]);
    expect([0.001, 0.01, 0.1].map(test('1e-3..0.01', true))).toEqual([true, true, false]);
    expect([0.001, 0.01].map(test('0.01', true))).toEqual([false, true]);
    expect([0.001, 0.01, null].map(test('!=0.01', true))).toEqual([true, false, true]);
    expect(test('>0', true)(null)).toBe(false);
    expect(test('>0', true)(NaN)).toBe(false);
  });

  it('matches text case-insensitively', () => {
    expect(['Adam', 'sgd', null].map(test('ADA', false))).toEqual([true, false, false]);
    expect([true, false].map(test('true', false))).toEqual([true, false]);
  });

  it('finds float32 values by the digits shown, and reads every operator', () => {
    const f32 = Math.fround(0.1); // 0.10000000149...
    expect(test('0.1', true)(f32)).toBe(true);
    expect(test('<=0.1', true)(f32)).toBe(true);
    expect(test('<0.1', true)(f32)).toBe(false);
    expect(test('0.05..0.1', true)(f32)).toBe(true);
    expect(test('==5', true)(5)).toBe(true);
    expect(test('-2..-1', true)(-1.5)).toBe(true);
    expect(test('>-0.5', true)(-0.25)).toBe(true);
    expect(parseCellFilter('1..', true)).toBe('not a range of numbers: 1..');
    expect(parseCellFilter('..5', true)).toBe('not a range of numbers: ..5');
    expect(parseCellFilter('>', true)).toBe('a number is missing after >');
  });

  it('says what is wrong, and nothing for empty text', () => {
    expect(parseCellFilter('  ', true)).toBeNull();
    expect(parseCellFilter('>abc', true)).toBe('not a number: abc');
    expect(parseCellFilter('a..2', true)).toBe('not a range of numbers: a..2');
  });
});

describe('sorting and listing', () => {
  const cols = runColumns(RAW, RUNS);

  it('sorts by a column, runs without a value last either way', () => {
    const runs = ['sweep/a', 'other', 'sweep/b', 'sweep/c'];
    expect(sortRuns(runs, cols, { column: 'h:lr', descending: false })).toEqual(['sweep/b', 'sweep/c', 'sweep/a', 'other']);
    expect(sortRuns(runs, cols, { column: 'h:lr', descending: true })).toEqual(['sweep/a', 'sweep/c', 'sweep/b', 'other']);
    // NaN counts as missing.
    expect(sortRuns(runs, cols, { column: 'm:loss', descending: false })).toEqual(['sweep/c', 'sweep/a', 'other', 'sweep/b']);
    expect(sortRuns(runs, cols, { column: 'h:optimizer', descending: false })).toEqual([
      'sweep/a',
      'sweep/c',
      'sweep/b',
      'other',
    ]);
    expect(sortRuns(runs, cols, { column: '', descending: false })).toEqual(runs);
  });

  it('filters on shown columns only and reports bad filters', () => {
    const prefs = { shown: ['h:lr'], sort: { column: 'h:lr', descending: true }, filters: { 'h:lr': '>=0.01', 'h:optimizer': 'sgd' } };
    expect(listRuns(RUNS, cols, prefs)).toEqual({
      runs: ['sweep/a', 'sweep/a/validation', 'sweep/c', 'sweep/c/validation'],
      errors: {},
      filtered: true,
    });
    const bad = { ...prefs, filters: { 'h:lr': '>x' } };
    const listed = listRuns(RUNS, cols, bad);
    expect(listed.errors).toEqual({ 'h:lr': 'not a number: x' });
    expect(listed.runs).toHaveLength(RUNS.length);
    expect(listed.filtered).toBe(false);
    // A sort on a column no longer shown does not apply.
    const hidden = { shown: [], sort: { column: 'h:lr', descending: true }, filters: {} };
    expect(listRuns(RUNS, cols, hidden).runs).toEqual(RUNS);
  });
});

describe('prefs and formatting', () => {
  it('reads stored prefs defensively', () => {
    expect(parsePrefs(null)).toEqual(DEFAULT_PREFS);
    expect(parsePrefs('{bad json')).toEqual(DEFAULT_PREFS);
    expect(parsePrefs('[1]')).toEqual(DEFAULT_PREFS);
    expect(parsePrefs('{"shown":["h:lr",3],"sort":{"column":"h:lr","descending":true},"filters":{"h:lr":">1","x":2}}')).toEqual({
      shown: [],
      sort: { column: 'h:lr', descending: true },
      filters: { 'h:lr': '>1' },
    });
  });

  it('formats cells', () => {
    expect(formatCell(null)).toBe('');
    expect(formatCell(0.000123456)).toBe('0.0001235');
    expect(formatCell(32)).toBe('32');
    expect(formatCell(NaN)).toBe('NaN');
    expect(formatCell('adam')).toBe('adam');
    expect(formatCell(true)).toBe('true');
  });
});
