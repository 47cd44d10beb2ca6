/**
 * The dashboard's deep link: its query state (view, sort, filters, hidden columns, statuses,
 * colouring, paging, axis scales) as `hp*` query keys, so a reloaded or shared URL opens the same
 * view. Only what differs from the defaults is written:
 *
 *   hpView=parallel|scatter        hpSort=<column> | -<column> (descending)
 *   hpHide=<column> (repeated)     hpFilter=<JSON> (repeated, one per filtered column)
 *   hpStatus=success,failure       hpColor=<column>   hpPageSize=100   hpPage=2   hpGrey=true
 *   hpScale=log:<column> (repeated)
 *
 * A filter is a JSON array led by the column: `["h:opt",["adam","sgd"]]` keeps those values,
 * `["h:lr",0.001,null]` is min/max (null: open), `["h:name","^a"]` is a regex.
 */
import type { QueryPairs } from '../../core/state';
import { STATUSES, valueKey, type ColumnFilter, type ScaleKind, type Sort, type Status, type Value } from './model';
import type { QueryState } from './QueryPane';

export type Tab = 'table' | 'parallel' | 'scatter';
export const TABS_IDS: readonly Tab[] = ['table', 'parallel', 'scatter'];

export interface HParamsUrlState {
  tab: Tab;
  query: QueryState;
  /** Axis scale per numeric column (linear when absent). */
  kinds: Readonly<Record<string, ScaleKind>>;
}

export const DEFAULT_QUERY: QueryState = {
  hidden: new Set(),
  filters: {},
  statuses: STATUSES,
  sort: null,
  pageSize: 50,
  page: 1,
  colorBy: 'run',
  deselected: 'hide',
};

export const DEFAULT_HPARAMS: HParamsUrlState = { tab: 'table', query: DEFAULT_QUERY, kinds: {} };

/** A discrete filter's kept key (`valueKey`) as a JSON value: the value itself where JSON can hold it. */
function keyToJson(key: string): unknown {
  if (key.startsWith('n:')) {
    const n = Number(key.slice(2));
    return Number.isFinite(n) ? n : { n: key.slice(2) };
  }
  try {
    return JSON.parse(key) as unknown;
  } catch {
    return key;
  }
}

function jsonToKey(item: unknown): string | null {
  if (typeof item === 'number') return Number.isFinite(item) ? valueKey(item) : null;
  if (typeof item === 'string' || typeof item === 'boolean') return valueKey(item as Value);
  if (item && typeof item === 'object' && typeof (item as { n?: unknown }).n === 'string') {
    return `n:${(item as { n: string }).n}`;
  }
  return null;
}

export function encodeFilter(column: string, filter: ColumnFilter): string {
  switch (filter.kind) {
    case 'discrete':
      return JSON.stringify([column, filter.keep.map(keyToJson)]);
    case 'interval':
      return JSON.stringify([column, filter.min, filter.max]);
    case 'regex':
      return JSON.stringify([column, filter.pattern]);
  }
}

const bound = (v: unknown): number | null | undefined =>
  v === null ? null : typeof v === 'number' && Number.isFinite(v) ? v : undefined;

export function decodeFilter(text: string): [string, ColumnFilter] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || typeof parsed[0] !== 'string') return null;
  const column = parsed[0];
  if (parsed.length === 2 && Array.isArray(parsed[1])) {
    const keep = parsed[1].map(jsonToKey).filter((k): k is string => k !== null);
    return [column, { kind: 'discrete', keep }];
  }
  if (parsed.length === 2 && typeof parsed[1] === 'string') return [column, { kind: 'regex', pattern: parsed[1] }];
  if (parsed.length === 3) {
    const min = bound(parsed[1]);
    const max = bound(parsed[2]);
    if (min === undefined || max === undefined) return null;
    return [column, { kind: 'interval', min, max }];
  }
  return null;
}

export function encodeSort(sort: Sort): string {
  return `${sort.desc ? '-' : ''}${sort.column}`;
}

export function decodeSort(text: string): Sort | null {
  const desc = text.startsWith('-');
  const column = desc ? text.slice(1) : text;
  return column ? { column, desc } : null;
}

/** The state as `hp*` query pairs; the defaults write nothing. */
export function encodeHParams(state: HParamsUrlState): [string, string][] {
  const q = state.query;
  const d = DEFAULT_QUERY;
  const pairs: [string, string][] = [];
  if (state.tab !== 'table') pairs.push(['hpView', state.tab]);
  if (q.sort) pairs.push(['hpSort', encodeSort(q.sort)]);
  for (const column of q.hidden) pairs.push(['hpHide', column]);
  for (const [column, filter] of Object.entries(q.filters)) pairs.push(['hpFilter', encodeFilter(column, filter)]);
  const statuses = STATUSES.filter((s) => q.statuses.includes(s));
  if (statuses.length !== STATUSES.length) pairs.push(['hpStatus', statuses.join(',')]);
  if (q.colorBy !== d.colorBy) pairs.push(['hpColor', q.colorBy]);
  if (q.pageSize !== d.pageSize) pairs.push(['hpPageSize', String(q.pageSize)]);
  if (q.page !== d.page) pairs.push(['hpPage', String(q.page)]);
  if (q.deselected !== d.deselected) pairs.push(['hpGrey', 'true']);
  for (const [column, kind] of Object.entries(state.kinds)) {
    if (kind !== 'linear') pairs.push(['hpScale', `${kind}:${column}`]);
  }
  return pairs;
}

function positiveInt(text: string): number | null {
  return /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : null;
}

/** The state the pairs describe; missing or malformed keys take their defaults. */
export function decodeHParams(pairs: QueryPairs): HParamsUrlState {
  let tab: Tab = 'table';
  const query: QueryState = { ...DEFAULT_QUERY, hidden: new Set(), filters: {} };
  const hidden = new Set<string>();
  const filters: Record<string, ColumnFilter> = {};
  const kinds: Record<string, ScaleKind> = {};
  for (const [key, value] of pairs) {
    switch (key) {
      case 'hpView':
        if ((TABS_IDS as readonly string[]).includes(value)) tab = value as Tab;
        break;
      case 'hpSort':
        query.sort = decodeSort(value);
        break;
      case 'hpHide':
        if (value) hidden.add(value);
        break;
      case 'hpFilter': {
        const filter = decodeFilter(value);
        if (filter) filters[filter[0]] = filter[1];
        break;
      }
      case 'hpStatus': {
        const kept = value.split(',');
        query.statuses = STATUSES.filter((s: Status) => kept.includes(s));
        break;
      }
      case 'hpColor':
        if (value) query.colorBy = value;
        break;
      case 'hpPageSize':
        query.pageSize = positiveInt(value) ?? query.pageSize;
        break;
      case 'hpPage':
        query.page = positiveInt(value) ?? query.page;
        break;
      case 'hpGrey':
        query.deselected = value === 'true' || value === '1' ? 'grey' : 'hide';
        break;
      case 'hpScale': {
        const colon = value.indexOf(':');
        const kind = value.slice(0, colon);
        if (colon > 0 && (kind === 'log' || kind === 'quantile' || kind === 'linear')) {
          kinds[value.slice(colon + 1)] = kind;
        }
        break;
      }
    }
  }
  query.hidden = hidden;
  query.filters = filters;
  return { tab, query, kinds };
}
