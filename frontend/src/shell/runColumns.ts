/**
 * Hparam and metric columns for the runs panel (TensorBoard 2.17's runs table shows hparam
 * columns; W&B and Aim show config and summary metrics beside each run).
 *
 * The values come from the HParams plugin's `/table`: a session's hparams belong to its run and
 * to every run below it (`trial_3/validation` shows trial_3's learning rate); a metric belongs to
 * the run that holds it (the session's run, or its `group` sub-run).
 */

export type CellValue = string | number | boolean | null;

export interface RunColumn {
  /** `h:<name>` or `m:<group>/<tag>`. */
  id: string;
  label: string;
  kind: 'hparam' | 'metric';
  numeric: boolean;
}

export interface RunColumns {
  columns: RunColumn[];
  /** Per run, the value of each column (aligned with `columns`). */
  values: Map<string, CellValue[]>;
}

/** The parts of `/data/plugin/hparams/table` this module reads. */
export interface RawRunTable {
  hparams: { name: string; displayName: string; type: string }[];
  metrics: { group: string; tag: string; displayName: string }[];
  sessions: {
    run: string;
    hparams: CellValue[];
    metrics: ({ value: unknown } | null)[];
  }[];
}

export const NO_COLUMNS: RunColumns = { columns: [], values: new Map() };

function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return null;
}

function metricId(group: string, tag: string): string {
  return group ? `${group}/${tag}` : tag;
}

/** The columns and each run's values; `runs` are the app's runs. */
export function runColumns(raw: RawRunTable, runs: readonly string[]): RunColumns {
  const columns: RunColumn[] = [
    ...raw.hparams.map((h) => ({
      id: `h:${h.name}`,
      label: h.displayName || h.name,
      kind: 'hparam' as const,
      numeric: h.type !== 'string' && h.type !== 'bool',
    })),
    ...raw.metrics.map((m) => ({
      id: `m:${metricId(m.group, m.tag)}`,
      label: m.displayName || metricId(m.group, m.tag),
      kind: 'metric' as const,
      numeric: true,
    })),
  ];
  // The longest session name that is the run or a parent of it ("." is every run's parent).
  const sessions = [...raw.sessions].sort((a, b) => b.run.length - a.run.length);
  const below = (run: string, session: string) =>
    run === session || session === '.' || run.startsWith(`${session}/`);
  const values = new Map<string, CellValue[]>();
  const hparamCount = raw.hparams.length;
  for (const run of runs) {
    const session = sessions.find((s) => below(run, s.run));
    if (!session) continue;
    const row: CellValue[] = raw.hparams.map((_, i) => session.hparams[i] ?? null);
    raw.metrics.forEach((m, i) => {
      const holder = !m.group ? session.run : session.run === '.' ? m.group : `${session.run}/${m.group}`;
      const point = session.metrics[i];
      row[hparamCount + i] = holder === run && point ? toNumber(point.value) : null;
    });
    values.set(run, row);
  }
  return { columns, values };
}

// ---- filters ---------------------------------------------------------------------------------

export type CellTest = (value: CellValue) => boolean;

const COMPARISON = /^(<=|>=|==|!=|<|>|=)\s*(.*)$/;
const RANGE = /^(.*?)\s*\.\.\s*(.*)$/;

/**
 * Equal up to float32 precision: metric values come from float32 summaries, so the 0.1 a cell
 * shows is 0.10000000149 underneath, and typing what is shown must find it.
 */
function near(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * A column filter from its text; null when the text is empty, an Error message when it cannot
 * be read. Numeric columns: `0.01` (equal), `>0.01`, `<=3`, `!=0`, `1e-4..1e-2` (inclusive).
 * Other columns, and numbers written as words: a case-insensitive substring (`adam`).
 */
export function parseCellFilter(text: string, numeric: boolean): CellTest | string | null {
  const trimmed = text.trim();
  if (!trimmed) return null;
  if (numeric) {
    const range = RANGE.exec(trimmed);
    if (range) {
      const low = range[1]!.trim() === '' ? NaN : Number(range[1]);
      const high = range[2]!.trim() === '' ? NaN : Number(range[2]);
      if (Number.isNaN(low) || Number.isNaN(high)) return `not a range of numbers: ${trimmed}`;
      return (v) =>
        typeof v === 'number' && (v >= low || near(v, low)) && (v <= high || near(v, high));
    }
    const comparison = COMPARISON.exec(trimmed);
    if (comparison) {
      const text = comparison[2]!.trim();
      const bound = text === '' ? NaN : Number(text);
      if (Number.isNaN(bound)) return text === '' ? `a number is missing after ${comparison[1]}` : `not a number: ${text}`;
      const op = comparison[1];
      return (v) => {
        if (typeof v !== 'number' || Number.isNaN(v)) return op === '!=';
        const same = near(v, bound);
        if (op === '<') return v < bound && !same;
        if (op === '<=') return v <= bound || same;
        if (op === '>') return v > bound && !same;
        if (op === '>=') return v >= bound || same;
        if (op === '!=') return !same;
        return same;
      };
    }
    const exact = Number(trimmed);
    if (!Number.isNaN(exact)) return (v) => typeof v === 'number' && near(v, exact);
  }
  const needle = trimmed.toLowerCase();
  return (v) => v !== null && String(v).toLowerCase().includes(needle);
}

// ---- sorting ---------------------------------------------------------------------------------

export interface RunSort {
  /** A column id, or '' for the server's order (first event time, then name). */
  column: string;
  descending: boolean;
}

/** `runs` sorted by a column; runs without a value (or NaN) last in both directions. */
export function sortRuns(runs: readonly string[], columns: RunColumns, sort: RunSort): string[] {
  const index = columns.columns.findIndex((c) => c.id === sort.column);
  if (index < 0) return [...runs];
  const sign = sort.descending ? -1 : 1;
  const key = (run: string): CellValue => {
    const v = columns.values.get(run)?.[index] ?? null;
    return typeof v === 'number' && Number.isNaN(v) ? null : v;
  };
  const order = new Map(runs.map((run, i) => [run, i]));
  return [...runs].sort((a, b) => {
    const va = key(a);
    const vb = key(b);
    if (va === null || vb === null) {
      if (va === vb) return (order.get(a) ?? 0) - (order.get(b) ?? 0);
      return va === null ? 1 : -1;
    }
    let c: number;
    if (typeof va === 'number' && typeof vb === 'number') c = va - vb;
    else c = String(va).localeCompare(String(vb), undefined, { numeric: true });
    return c !== 0 ? sign * c : (order.get(a) ?? 0) - (order.get(b) ?? 0);
  });
}

/** A cell as text: numbers with up to 4 significant digits, missing as an empty cell. */
export function formatCell(value: CellValue): string {
  if (value === null) return '';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
    return Number(value.toPrecision(4)).toString();
  }
  return String(value);
}

// ---- what the user chose (kept in the browser) -------------------------------------------------

export interface RunColumnsPrefs {
  /** Column ids shown, in order. */
  shown: string[];
  sort: RunSort;
  /** Column id -> filter text. */
  filters: Record<string, string>;
}

export const DEFAULT_PREFS: RunColumnsPrefs = { shown: [], sort: { column: '', descending: false }, filters: {} };

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** Prefs read back from storage text; anything unreadable falls back to the defaults. */
export function parsePrefs(text: string | null): RunColumnsPrefs {
  if (!text) return DEFAULT_PREFS;
  try {
    const raw: unknown = JSON.parse(text);
    if (typeof raw !== 'object' || raw === null) return DEFAULT_PREFS;
    const r = raw as Record<string, unknown>;
    const sort = (typeof r.sort === 'object' && r.sort !== null ? r.sort : {}) as Record<string, unknown>;
    const filters: Record<string, string> = {};
    if (typeof r.filters === 'object' && r.filters !== null) {
      for (const [k, v] of Object.entries(r.filters)) if (typeof v === 'string') filters[k] = v;
    }
    return {
      shown: isStringArray(r.shown) ? r.shown : [],
      sort: {
        column: typeof sort.column === 'string' ? sort.column : '',
        descending: sort.descending === true,
      },
      filters,
    };
  } catch {
    return DEFAULT_PREFS;
  }
}

/**
 * The runs a panel lists: `runs` whose shown columns pass their filters, sorted. A filter on a
 * column that is not shown does not apply (hiding a column drops its filter from view, so it
 * must not keep hiding runs). Returns the listed runs and each shown column's filter error.
 */
export function listRuns(
  runs: readonly string[],
  columns: RunColumns,
  prefs: RunColumnsPrefs,
): { runs: string[]; errors: Record<string, string>; filtered: boolean } {
  const errors: Record<string, string> = {};
  const tests: [number, CellTest][] = [];
  for (const id of prefs.shown) {
    const index = columns.columns.findIndex((c) => c.id === id);
    const text = prefs.filters[id];
    if (index < 0 || !text) continue;
    const test = parseCellFilter(text, columns.columns[index].numeric);
    if (typeof test === 'string') errors[id] = test;
    else if (test) tests.push([index, test]);
  }
  const kept = tests.length
    ? runs.filter((run) => {
        const row = columns.values.get(run);
        return tests.every(([i, test]) => test(row?.[i] ?? null));
      })
    : [...runs];
  // A sort on a column that is not shown does not apply either (no header left to undo it).
  const sort = prefs.shown.includes(prefs.sort.column) ? prefs.sort : { column: '', descending: false };
  return { runs: sortRuns(kept, columns, sort), errors, filtered: tests.length > 0 };
}
