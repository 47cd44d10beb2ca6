import { describe, expect, it } from 'vitest';

import {
  brushFilter,
  categoryScale,
  filterRows,
  filterSpan,
  metricRun,
  numericScale,
  pageOf,
  parseTable,
  quantileScale,
  sortRows,
  valueKey,
  type RawTable,
} from '../src/dashboards/hparams/model';
import { formatG3, latexCell, latexEscape, sheetOf, toCsv, toJson, toLatex } from '../src/dashboards/hparams/download';

const RAW: RawTable = {
  declared: true,
  hparams: [
    { name: 'lr', displayName: '', description: '', type: 'number', domain: { interval: [0.001, 1] } },
    { name: 'opt', displayName: '', description: '', type: 'string', domain: { discrete: ['adam', 'sgd'] } },
    { name: 'wide', displayName: '', description: '', type: 'bool', domain: { discrete: [false, true] } },
  ],
  metrics: [{ group: 'validation', tag: 'acc', displayName: 'Accuracy', description: '' }],
  sessions: [
    { run: 'a', group: 'a', status: 'success', hparams: [0.1, 'adam', true], metrics: [{ value: 0.9, step: 3, wallTime: 1, min: 0.1, max: 0.9 }] },
    { run: 'b', group: 'b', status: 'failure', hparams: [0.01, 'sgd', false], metrics: [{ value: 'NaN', step: 3, wallTime: 1, min: 'NaN', max: 'NaN' }] },
    { run: 'c', group: 'c', status: 'running', hparams: [1, 'adam', false], metrics: [null] },
    { run: 'd', group: 'd', status: 'success', hparams: ['NaN', 'sgd', true], metrics: [{ value: 0.5, step: 1, wallTime: 1, min: 0.5, max: 0.5 }] },
  ],
};
const ALL = ['unknown', 'success', 'failure', 'running'] as const;

describe('parseTable', () => {
  const table = parseTable(RAW);
  it('makes columns of hparams then metrics', () => {
    expect(table.columns.map((c) => c.id)).toEqual(['h:lr', 'h:opt', 'h:wide', 'm:validation/acc']);
    expect(table.columns[3]!.label).toBe('Accuracy');
    expect(table.columns[1]!.discrete).toEqual(['adam', 'sgd']);
  });
  it('turns the non-finite strings into numbers', () => {
    expect(table.rows[1]!.values[3]).toBeNaN();
    expect(table.rows[3]!.values[0]).toBeNaN();
    expect(table.rows[2]!.values[3]).toBeNull();
  });
});

describe('filters and sorting', () => {
  const table = parseTable(RAW);
  const runs = (rows: { run: string }[]) => rows.map((r) => r.run);
  it('keeps discrete values', () => {
    const rows = filterRows(table, { filters: { 'h:opt': { kind: 'discrete', keep: [valueKey('adam')] } }, statuses: ALL, sort: null });
    expect(runs(rows)).toEqual(['a', 'c']);
    const flags = filterRows(table, { filters: { 'h:wide': { kind: 'discrete', keep: [valueKey(true)] } }, statuses: ALL, sort: null });
    expect(runs(flags)).toEqual(['a', 'd']);
  });
  it('keeps an interval (missing and NaN fail it)', () => {
    const rows = filterRows(table, { filters: { 'm:validation/acc': { kind: 'interval', min: 0.4, max: null } }, statuses: ALL, sort: null });
    expect(runs(rows)).toEqual(['a', 'd']);
  });
  it('matches a regex, ignoring an invalid one', () => {
    expect(runs(filterRows(table, { filters: { 'h:opt': { kind: 'regex', pattern: '^s' } }, statuses: ALL, sort: null }))).toEqual(['b', 'd']);
    expect(filterRows(table, { filters: { 'h:opt': { kind: 'regex', pattern: '(' } }, statuses: ALL, sort: null })).toHaveLength(4);
  });
  it('filters by status', () => {
    expect(runs(filterRows(table, { filters: {}, statuses: ['success'], sort: null }))).toEqual(['a', 'd']);
  });
  it('sorts with missing values last either way', () => {
    const asc = sortRows(table, table.rows, { column: 'm:validation/acc', desc: false });
    expect(runs(asc)).toEqual(['d', 'a', 'b', 'c']);
    const desc = sortRows(table, table.rows, { column: 'm:validation/acc', desc: true });
    expect(runs(desc)).toEqual(['a', 'd', 'b', 'c']);
    expect(runs(sortRows(table, table.rows, { column: 'run', desc: true }))).toEqual(['d', 'c', 'b', 'a']);
    expect(runs(sortRows(table, table.rows, { column: 'h:opt', desc: false }))).toEqual(['a', 'c', 'b', 'd']);
  });
  it('pages', () => {
    expect(pageOf([1, 2, 3, 4, 5], 2, 3)).toEqual({ items: [5], pages: 3, page: 3 });
    expect(pageOf([1, 2, 3], 2, 9).page).toBe(2);
    expect(pageOf([], 10, 1)).toEqual({ items: [], pages: 1, page: 1 });
  });
  it('finds the metric run', () => {
    expect(metricRun('t0', '')).toBe('t0');
    expect(metricRun('t0', 'validation')).toBe('t0/validation');
    expect(metricRun('.', 'eval')).toBe('eval');
  });
});

describe('scales', () => {
  it('linear and log', () => {
    const linear = numericScale([0, 5, 10, NaN], 'linear');
    expect(linear.toUnit(5)).toBeCloseTo(0.5);
    expect(linear.fromUnit(0.25)).toBeCloseTo(2.5);
    expect(linear.toUnit(NaN)).toBeNull();
    const log = numericScale([0.001, 0.01, 0.1, 1, -1], 'log');
    expect(log.toUnit(0.01)).toBeCloseTo(1 / 3);
    expect(log.fromUnit(2 / 3)).toBeCloseTo(0.1);
    expect(log.toUnit(-1)).toBeNull();
    expect(numericScale([3, 3], 'linear').toUnit(3)).toBe(0.5);
  });
  it('quantile spaces values by rank', () => {
    const q = quantileScale([1, 2, 100, 1000]);
    expect(q.toUnit(1)).toBe(0);
    expect(q.toUnit(2)).toBeCloseTo(1 / 3);
    expect(q.toUnit(100)).toBeCloseTo(2 / 3);
    expect(q.toUnit(1000)).toBe(1);
    expect(q.toUnit(51)).toBeCloseTo(0.5);
    expect(q.fromUnit(0.5)).toBeCloseTo(51);
    const ties = quantileScale([1, 1, 2]);
    expect(ties.toUnit(1)).toBeCloseTo(0.25);
    expect(quantileScale([7]).toUnit(7)).toBe(0.5);
  });
  it('brushes become filters, and filters become brush spans', () => {
    const linear = numericScale([0, 10], 'linear');
    expect(brushFilter(linear, 0.8, 0.2)).toEqual({ kind: 'interval', min: 2, max: 8 });
    expect(filterSpan(linear, { kind: 'interval', min: 2, max: null })).toEqual([0.2, 1]);
    const cats = categoryScale(['adam', 'rms', 'sgd']);
    const picked = brushFilter(cats, 0.4, 1);
    expect(picked).toEqual({ kind: 'discrete', keep: [valueKey('rms'), valueKey('sgd')] });
    expect(filterSpan(cats, picked)).toEqual([0.5, 1]);
  });
});

describe('downloads', () => {
  const table = parseTable(RAW);
  const columns = table.columns.map((column, index) => ({ column, index })).filter((c) => c.column.id !== 'h:wide');
  const sheet = sheetOf(columns, [
    ...table.rows,
    { run: 'x,"y"\n', group: '', status: 'unknown', values: [0.5, 'a_b %&$#{}', null, -Infinity], points: [] },
  ]);
  it('writes quoted CSV', () => {
    const csv = toCsv(sheet);
    expect(csv.split('\r\n')[0]).toBe('run,lr,opt,Accuracy');
    expect(csv).toContain('b,0.01,sgd,NaN\r\n');
    expect(csv).toContain('"x,""y""\n",0.5,a_b %&$#{},-Infinity\r\n');
  });
  it('writes JSON in TensorBoard shape', () => {
    const data = JSON.parse(toJson(sheet));
    expect(data.header).toEqual(['run', 'lr', 'opt', 'Accuracy']);
    expect(data.rows[1]).toEqual(['b', 0.01, 'sgd', 'NaN']);
    expect(data.rows[2][3]).toBeNull();
  });
  it('escapes LaTeX', () => {
    expect(latexEscape('a_b %&$#{}')).toBe('a\\_b \\%\\&\\$\\#\\{\\}');
    expect(latexCell(0.000015)).toBe('$1.5\\cdot 10^{-5}$');
    expect(latexCell(1234567)).toBe('$1.23\\cdot 10^{6}$');
    expect(latexCell(0.333333)).toBe('$0.333$');
    expect(latexCell(6)).toBe('$6$');
    expect(latexCell(NaN)).toBe('$\\mathrm{NaN}$');
    expect(latexCell(null)).toBe('-');
    expect(formatG3(0.01)).toBe('0.01');
    expect(formatG3(999.6)).toBe('1e+3');
    const tex = toLatex(sheet);
    expect(tex.startsWith('\\begin{table}[tbp]\n\\begin{tabular}{llll}\nrun & lr & opt & Accuracy \\\\ \\hline\n')).toBe(true);
    expect(tex).toContain('a\\_b \\%\\&\\$\\#\\{\\}');
  });
});
