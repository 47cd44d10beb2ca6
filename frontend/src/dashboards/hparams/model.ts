/**
 * The HParams table as the dashboard holds it (from `data/plugin/hparams/table`), and the pure
 * logic over it: column filters, sorting, paging, the axis scales of the parallel coordinates
 * (linear, log, quantile) and brushing (a drag on an axis becomes that column's filter).
 */

import { compileRegex } from '../../core/regex';

export type Value = number | string | boolean | null;
export type Status = 'unknown' | 'success' | 'failure' | 'running';
export const STATUSES: readonly Status[] = ['unknown', 'success', 'failure', 'running'];

export interface Column {
  /** `h:<name>` for an hparam, `m:<group>/<tag>` for a metric (unique across both). */
  id: string;
  kind: 'hparam' | 'metric';
  label: string;
  description: string;
  type: 'number' | 'string' | 'bool';
  /** Declared or observed values of a discrete domain; null for an interval or none. */
  discrete: Value[] | null;
  /** Metrics: the run below the session holding it, and its scalar tag. */
  group: string;
  tag: string;
}

export interface MetricPoint {
  value: number;
  step: number;
  wallTime: number;
  min: number;
  max: number;
}

export interface Row {
  run: string;
  group: string;
  status: Status;
  /** Aligned with `Table.columns`; metrics hold their last value (NaN kept). */
  values: Value[];
  points: (MetricPoint | null)[];
}

export interface Table {
  declared: boolean;
  columns: Column[];
  rows: Row[];
}

// ---- the server's JSON ---------------------------------------------------------------------

interface RawHParam {
  name: string;
  displayName: string;
  description: string;
  type: string;
  domain: { interval?: [unknown, unknown]; discrete?: Value[] } | null;
}
interface RawMetric {
  group: string;
  tag: string;
  displayName: string;
  description: string;
}
interface RawPoint {
  value: unknown;
  step: number;
  wallTime: unknown;
  min: unknown;
  max: unknown;
}
export interface RawTable {
  declared: boolean;
  hparams: RawHParam[];
  metrics: RawMetric[];
  sessions: {
    run: string;
    group: string;
    status: string;
    hparams: Value[];
    metrics: (RawPoint | null)[];
  }[];
}

/** A JSON number, or TensorBoard's strings for the non-finite ones. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return NaN;
}

export function metricLabel(group: string, tag: string): string {
  return group ? `${group}/${tag}` : tag;
}

export function parseTable(raw: RawTable): Table {
  const columns: Column[] = [
    ...raw.hparams.map((h): Column => ({
      id: `h:${h.name}`,
      kind: 'hparam',
      label: h.displayName || h.name,
      description: h.description,
      type: h.type === 'string' || h.type === 'bool' ? h.type : 'number',
      discrete: h.domain?.discrete ?? null,
      group: '',
      tag: '',
    })),
    ...raw.metrics.map((m): Column => ({
      id: `m:${metricLabel(m.group, m.tag)}`,
      kind: 'metric',
      label: m.displayName || metricLabel(m.group, m.tag),
      description: m.description,
      type: 'number',
      discrete: null,
      group: m.group,
      tag: m.tag,
    })),
  ];
  const hparamCount = raw.hparams.length;
  const rows = raw.sessions.map((s): Row => {
    const points = s.metrics.map((p) =>
      p
        ? { value: toNumber(p.value), step: p.step, wallTime: toNumber(p.wallTime), min: toNumber(p.min), max: toNumber(p.max) }
        : null,
    );
    const values: Value[] = [...s.hparams];
    for (let i = 0; i < hparamCount; i++) {
      const column = columns[i]!;
      const v = values[i];
      if (column.type === 'number' && typeof v === 'string') values[i] = toNumber(v);
    }
    for (const p of points) values.push(p ? p.value : null);
    const status = (STATUSES as readonly string[]).includes(s.status) ? (s.status as Status) : 'unknown';
    return { run: s.run, group: s.group, status, values, points };
  });
  return { declared: raw.declared, columns, rows };
}

/** The run holding a session's metric of `group` (TensorBoard's `session/group`). */
export function metricRun(session: string, group: string): string {
  if (!group) return session;
  return session === '.' ? group : `${session}/${group}`;
}

// ---- values ----------------------------------------------------------------------------------

/** A value is missing when absent or a NaN (nothing to place on an axis). */
export function isMissing(value: Value): boolean {
  return value === null || (typeof value === 'number' && Number.isNaN(value));
}

/** A stable key of a value, for discrete filters (1 and "1" differ). */
export function valueKey(value: Value): string {
  return typeof value === 'number' ? `n:${value}` : JSON.stringify(value);
}

export function formatValue(value: Value): string {
  if (value === null) return '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return value;
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '-∞';
  if (Number.isInteger(value) && Math.abs(value) < 1e9) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3).replace(/\.?0+e/, 'e');
  return String(Number(value.toPrecision(5)));
}

/** An axis label: at most `digits` significant digits (0.9828, not 0.98277; 1.2e-5; 35k stays 35000). */
export function formatTick(value: number, digits = 4): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '-∞';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs < 1e-3 || abs >= 1e6) return value.toExponential(Math.max(0, digits - 2)).replace(/\.?0+e/, 'e');
  return String(Number(value.toPrecision(digits)));
}

/** Round tick values (1, 2 or 5 × 10^k apart) inside [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return Number.isFinite(lo) ? [lo] : [];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  const step = (unit >= 7.07 ? 10 : unit >= 3.16 ? 5 : unit >= 1.41 ? 2 : 1) * power;
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** A column is categorical (point axis, value checkboxes) unless it holds free numbers. */
export function isCategorical(column: Column): boolean {
  return column.type !== 'number' || column.discrete !== null;
}

/** The distinct values of a categorical column: its domain, then any other seen, sorted. */
export function categories(column: Column, rows: readonly Row[], index: number): Value[] {
  const seen = new Map<string, Value>();
  for (const v of column.discrete ?? []) seen.set(valueKey(v), v);
  for (const row of rows) {
    const v = row.values[index] ?? null;
    if (!isMissing(v) && !seen.has(valueKey(v))) seen.set(valueKey(v), v);
  }
  return [...seen.values()].sort(compareValues);
}

/** Numbers before strings, false before true; used for sorting. */
export function compareValues(a: Value, b: Value): number {
  const rank = (v: Value) => (typeof v === 'number' ? 0 : typeof v === 'boolean' ? 1 : 2);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

// ---- filters, sort, paging -----------------------------------------------------------------

export type ColumnFilter =
  /** Keys (valueKey) of the values to keep. */
  | { kind: 'discrete'; keep: string[] }
  /** A closed interval; null bounds are open. Missing values fail it. */
  | { kind: 'interval'; min: number | null; max: number | null }
  /** A regular expression searched in the value's text (invalid: matches everything). */
  | { kind: 'regex'; pattern: string };

export interface Sort {
  column: string;
  desc: boolean;
}

export interface Query {
  filters: Record<string, ColumnFilter>;
  statuses: readonly Status[];
  sort: Sort | null;
}

export function passes(filter: ColumnFilter, value: Value): boolean {
  return valueTest(filter)(value);
}

/** `filter` as a test of one value; a regex is compiled (and screened) here, once per filter. */
function valueTest(filter: ColumnFilter): (value: Value) => boolean {
  switch (filter.kind) {
    case 'discrete':
      return (value) => !isMissing(value) && filter.keep.includes(valueKey(value));
    case 'interval':
      return (value) => {
        if (typeof value !== 'number' || Number.isNaN(value)) return false;
        return (filter.min === null || value >= filter.min) && (filter.max === null || value <= filter.max);
      };
    case 'regex': {
      if (!filter.pattern) return () => true;
      // Invalid, or one that could freeze the tab (filters travel in links): no filter.
      const regex = compileRegex(filter.pattern);
      if (!(regex instanceof RegExp)) return () => true;
      return (value) => !isMissing(value) && regex.test(formatValue(value));
    }
  }
}

/** The rows passing every column filter and the status filter. */
export function filterRows(table: Table, query: Query): Row[] {
  const active = table.columns
    .map((column, index) => ({ index, filter: query.filters[column.id] }))
    .filter((f): f is { index: number; filter: ColumnFilter } => f.filter !== undefined)
    .map(({ index, filter }) => ({ index, test: valueTest(filter) }));
  return table.rows.filter(
    (row) =>
      query.statuses.includes(row.status) &&
      active.every(({ index, test }) => test(row.values[index] ?? null)),
  );
}

/** Rows sorted by one column (missing values last either way), then by run. */
export function sortRows(table: Table, rows: readonly Row[], sort: Sort | null): Row[] {
  const index = sort ? table.columns.findIndex((c) => c.id === sort.column) : -1;
  const byRun = (a: Row, b: Row) => (a.run < b.run ? -1 : a.run > b.run ? 1 : 0);
  if (!sort || index < 0) {
    const sign = sort?.desc && sort.column === 'run' ? -1 : 1;
    return [...rows].sort((a, b) => sign * byRun(a, b));
  }
  const sign = sort.desc ? -1 : 1;
  return [...rows].sort((a, b) => {
    const va = a.values[index] ?? null;
    const vb = b.values[index] ?? null;
    const ma = isMissing(va);
    const mb = isMissing(vb);
    if (ma || mb) return ma && mb ? byRun(a, b) : ma ? 1 : -1;
    return sign * compareValues(va, vb) || byRun(a, b);
  });
}

export function pageOf<T>(items: readonly T[], pageSize: number, page: number): { items: T[]; pages: number; page: number } {
  const pages = Math.max(1, Math.ceil(items.length / pageSize));
  const current = Math.min(Math.max(1, page), pages);
  return { items: items.slice((current - 1) * pageSize, current * pageSize), pages, page: current };
}

// ---- scales ----------------------------------------------------------------------------------

export type ScaleKind = 'linear' | 'log' | 'quantile';

/** Value <-> unit position (0 = bottom of an axis, 1 = top). */
export interface Scale {
  toUnit(value: Value): number | null;
  fromUnit(unit: number): number;
  /** Tick values to label. */
  ticks: number[];
}

/** A numeric scale fitted to `values` (non-finite ones ignored; non-positive ones off a log axis). */
export function numericScale(values: readonly number[], kind: ScaleKind): Scale {
  const finite = values.filter((v) => Number.isFinite(v) && (kind !== 'log' || v > 0)).sort((a, b) => a - b);
  if (finite.length === 0) return { toUnit: () => null, fromUnit: () => NaN, ticks: [] };
  const lo = finite[0]!;
  const hi = finite[finite.length - 1]!;
  if (kind === 'quantile') return quantileScale(finite);
  const fwd = kind === 'log' ? Math.log10 : (v: number) => v;
  const inv = kind === 'log' ? (u: number) => 10 ** u : (u: number) => u;
  const a = fwd(lo);
  const b = fwd(hi);
  const span = b - a;
  return {
    toUnit(value) {
      if (typeof value !== 'number' || !Number.isFinite(value) || (kind === 'log' && value <= 0)) return null;
      return span === 0 ? 0.5 : (fwd(value) - a) / span;
    },
    fromUnit: (unit) => (span === 0 ? lo : inv(a + unit * span)),
    ticks: span === 0 ? [lo] : kind === 'log' ? logTicks(lo, hi) : withEnds(niceTicks(lo, hi, 4), lo, hi),
  };
}

/** Round ticks, and the ends (the data's min and max) unless a round tick sits close to one. */
function withEnds(ticks: number[], lo: number, hi: number): number[] {
  const near = (v: number) => ticks.some((t) => Math.abs(t - v) < (hi - lo) * 0.08);
  return [...(near(lo) ? [] : [lo]), ...ticks, ...(near(hi) ? [] : [hi])];
}

/** Powers of ten inside [lo, hi] (with the ends), or even steps in log space where there are too few. */
function logTicks(lo: number, hi: number): number[] {
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  const powers: number[] = [];
  for (let k = Math.ceil(a - 1e-9); k <= Math.floor(b + 1e-9); k++) powers.push(10 ** k);
  if (powers.length >= 2) {
    const near = (v: number) => powers.some((t) => Math.abs(Math.log10(t) - Math.log10(v)) < (b - a) * 0.08);
    return [...(near(lo) ? [] : [lo]), ...powers, ...(near(hi) ? [] : [hi])];
  }
  return [0, 0.25, 0.5, 0.75, 1].map((u) => 10 ** (a + u * (b - a)));
}

/** Even spacing by rank: each distinct value at its mean rank; between values, linear. */
export function quantileScale(sorted: readonly number[]): Scale {
  const distinct: number[] = [];
  const ranks: number[] = [];
  const n = sorted.length;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && sorted[j + 1] === sorted[i]) j++;
    distinct.push(sorted[i]!);
    ranks.push(n === 1 ? 0.5 : (i + j) / 2 / (n - 1));
    i = j + 1;
  }
  if (distinct.length === 1) ranks[0] = 0.5;
  const toUnit = (value: Value): number | null => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return null;
    if (value <= distinct[0]!) return ranks[0]!;
    const last = distinct.length - 1;
    if (value >= distinct[last]!) return ranks[last]!;
    let k = 0;
    while (distinct[k + 1]! < value) k++;
    const t = (value - distinct[k]!) / (distinct[k + 1]! - distinct[k]!);
    return ranks[k]! + t * (ranks[k + 1]! - ranks[k]!);
  };
  const fromUnit = (unit: number): number => {
    if (unit <= ranks[0]!) return distinct[0]!;
    const last = distinct.length - 1;
    if (unit >= ranks[last]!) return distinct[last]!;
    let k = 0;
    while (ranks[k + 1]! < unit) k++;
    const t = (unit - ranks[k]!) / (ranks[k + 1]! - ranks[k]!);
    return distinct[k]! + t * (distinct[k + 1]! - distinct[k]!);
  };
  const ticks = [0, 0.5, 1].map(fromUnit).filter((v, i, all) => all.indexOf(v) === i);
  return { toUnit, fromUnit, ticks };
}

/** A point scale over categories: evenly spread, in order. */
export function categoryScale(values: readonly Value[]): Scale & { categories: readonly Value[] } {
  const keys = values.map(valueKey);
  const n = values.length;
  const at = (i: number) => (n === 1 ? 0.5 : i / (n - 1));
  return {
    categories: values,
    toUnit(value) {
      const i = keys.indexOf(valueKey(value));
      return i < 0 ? null : at(i);
    },
    fromUnit: (unit) => unit,
    ticks: [],
  };
}

/** The filter a brush from unit `u0` to `u1` sets on a column. */
export function brushFilter(
  scale: Scale & { categories?: readonly Value[] },
  u0: number,
  u1: number,
): ColumnFilter {
  const lo = Math.max(0, Math.min(u0, u1));
  const hi = Math.min(1, Math.max(u0, u1));
  if (scale.categories) {
    const keep = scale.categories.filter((v) => {
      const u = scale.toUnit(v);
      return u !== null && u >= lo - 1e-9 && u <= hi + 1e-9;
    });
    return { kind: 'discrete', keep: keep.map(valueKey) };
  }
  return { kind: 'interval', min: scale.fromUnit(lo), max: scale.fromUnit(hi) };
}

/** The unit span a filter covers on an axis (to draw the brush), or null if none applies. */
export function filterSpan(
  scale: Scale & { categories?: readonly Value[] },
  filter: ColumnFilter | undefined,
): [number, number] | null {
  if (!filter) return null;
  if (filter.kind === 'interval') {
    const lo = filter.min === null ? 0 : scale.toUnit(Math.max(filter.min, scale.fromUnit(0)));
    const hi = filter.max === null ? 1 : scale.toUnit(Math.min(filter.max, scale.fromUnit(1)));
    if (lo === null || hi === null) return null;
    return [Math.min(lo, hi), Math.max(lo, hi)];
  }
  if (filter.kind === 'discrete' && scale.categories) {
    const units = scale.categories
      .filter((v) => filter.keep.includes(valueKey(v)))
      .map((v) => scale.toUnit(v))
      .filter((u): u is number => u !== null);
    if (!units.length) return null;
    return [Math.min(...units), Math.max(...units)];
  }
  return null;
}

// ---- colour ----------------------------------------------------------------------------------

/** Viridis-like ramp from dark blue (0) to yellow (1). */
const RAMP = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];

export function rampColor(unit: number): string {
  const u = Math.min(1, Math.max(0, unit)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(u));
  const t = u - i;
  const a = parseInt(RAMP[i]!.slice(1), 16);
  const b = parseInt(RAMP[i + 1]!.slice(1), 16);
  const mix = (shift: number) => Math.round(((a >> shift) & 255) * (1 - t) + ((b >> shift) & 255) * t);
  return `rgb(${mix(16)}, ${mix(8)}, ${mix(0)})`;
}
