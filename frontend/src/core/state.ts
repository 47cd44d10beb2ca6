/**
 * The view's state and its deep link. Every key that differs from its default is written to the
 * URL's query (TensorBoard's names where it has one: `tagFilter`, `runFilter`, `smoothing`,
 * `pinnedCards`, `darkMode`), so a copied URL opens the same view. Query keys the app does not
 * own are kept as they are, except the auth `token`: a URL the app writes never carries it (the
 * server's cookie holds it; a shared link must not). The HParams dashboard's keys (`hpView`,
 * `hpSort`, ...: every key `hp` + a capital letter) are carried here as raw pairs and decoded by
 * that dashboard.
 */
import { isSmoother, type Smoother } from '../charts/smoothing';
import type { XAxis } from './api';
import { ALL_RUNS, type RunSelection } from './selection';

export type DarkMode = 'auto' | 'light' | 'dark';

/** How runs are grouped for aggregation (mean line with a band). */
export type GroupBy =
  | { kind: 'none' }
  /** The regex's capture groups (or whole match) name the group; other runs stay single. */
  | { kind: 'regex'; pattern: string }
  /** Part `index` of the name split by `separator` (negative counts from the end). */
  | { kind: 'part'; separator: string; index: number };

export type Band = 'std' | 'minmax' | 'none';

/** Raw query pairs, in order (a key may repeat). */
export type QueryPairs = readonly (readonly [string, string])[];

/** Whether a query key belongs to the HParams dashboard: `hp` followed by a capital letter. */
export function isHParamsKey(key: string): boolean {
  return /^hp[A-Z]/.test(key);
}

export interface ViewState {
  /** The active dashboard (a plugin name); '' picks the first one with data. */
  tab: string;
  tagFilter: string;
  runFilter: string;
  smoothing: number;
  /** How lines are smoothed (`charts/smoothing.ts`); 'ema' is TensorBoard's. */
  smoother: Smoother;
  selection: RunSelection;
  /** Tags of the pinned cards, in pin order. */
  pinned: string[];
  xAxis: XAxis;
  darkMode: DarkMode;
  ignoreOutliers: boolean;
  groupBy: GroupBy;
  band: Band;
  /** With aggregation on, also draw the member runs (faded). */
  showMembers: boolean;
  /** Tags whose card has a log-scale y axis. */
  logY: string[];
  /** Tags whose card spans the full row. */
  wide: string[];
  /** The HParams dashboard's query keys (see `isHParamsKey`), as written in the URL. */
  hparams: QueryPairs;
}

export const DEFAULT_VIEW: ViewState = {
  tab: '',
  tagFilter: '',
  runFilter: '',
  smoothing: 0.6,
  smoother: 'ema',
  selection: ALL_RUNS,
  pinned: [],
  xAxis: 'step',
  darkMode: 'auto',
  ignoreOutliers: false,
  groupBy: { kind: 'none' },
  band: 'std',
  showMembers: false,
  logY: [],
  wide: [],
  hparams: [],
};

/** The query keys this module owns. */
export const VIEW_KEYS = [
  'tab', 'tagFilter', 'runFilter', 'smoothing', 'smoother', 'runs', 'hideRuns', 'pinnedCards', 'xAxis',
  'darkMode', 'ignoreOutliers', 'groupBy', 'band', 'members', 'logY', 'wide',
] as const;

export const MAX_SMOOTHING = 0.999;

export function clampSmoothing(value: number): number {
  if (!Number.isFinite(value)) return DEFAULT_VIEW.smoothing;
  return Math.min(MAX_SMOOTHING, Math.max(0, value));
}

export function encodeGroupBy(groupBy: GroupBy): string {
  switch (groupBy.kind) {
    case 'none':
      return '';
    case 'regex':
      return `regex:${groupBy.pattern}`;
    case 'part':
      // The separator goes last: it may itself hold a ':'.
      return `part:${groupBy.index}:${groupBy.separator}`;
  }
}

export function decodeGroupBy(text: string | null): GroupBy {
  if (!text) return { kind: 'none' };
  if (text.startsWith('regex:')) return { kind: 'regex', pattern: text.slice(6) };
  const part = /^part:(-?\d+):(.+)$/s.exec(text);
  if (part) return { kind: 'part', index: Number(part[1]), separator: part[2]! };
  return { kind: 'none' };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function parsePinned(text: string | null): string[] {
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return [];
    const tags: string[] = [];
    for (const card of parsed) {
      // TensorBoard's form: [{"plugin": "scalars", "tag": "loss"}].
      if (card && typeof card === 'object' && typeof card.tag === 'string') {
        if (!('plugin' in card) || card.plugin === 'scalars') tags.push(card.tag);
      } else if (typeof card === 'string') {
        tags.push(card);
      }
    }
    return [...new Set(tags)];
  } catch {
    return [];
  }
}

function parseXAxis(text: string | null, fallback: XAxis): XAxis {
  if (text === 'step' || text === 'relative' || text === 'wall_time') return text;
  if (text === 'wall') return 'wall_time';
  return fallback;
}

function parseBool(text: string | null, fallback: boolean): boolean {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  return fallback;
}

/** Whether the query carries any view key: a deep link, whose missing keys mean "default". */
export function isDeepLink(params: URLSearchParams): boolean {
  return VIEW_KEYS.some((key) => params.has(key)) || [...params.keys()].some(isHParamsKey);
}

/** The view a query describes; keys it lacks come from `defaults`. */
export function parseView(params: URLSearchParams, defaults: ViewState = DEFAULT_VIEW): ViewState {
  const get = (key: string) => params.get(key);
  let selection = defaults.selection;
  if (params.has('runs')) {
    selection = { mode: 'only', runs: params.getAll('runs').filter((run) => run !== '').sort() };
  } else if (params.has('hideRuns')) {
    selection = { mode: 'all', runs: params.getAll('hideRuns').filter((run) => run !== '').sort() };
  }
  const smoothingText = get('smoothing');
  const dark = get('darkMode');
  const band = get('band');
  const hparams = [...params.entries()].filter(([key]) => isHParamsKey(key));
  return {
    tab: get('tab') ?? defaults.tab,
    tagFilter: get('tagFilter') ?? defaults.tagFilter,
    runFilter: get('runFilter') ?? defaults.runFilter,
    smoothing:
      smoothingText !== null && smoothingText !== ''
        ? clampSmoothing(Number(smoothingText))
        : defaults.smoothing,
    smoother: isSmoother(get('smoother')) ? (get('smoother') as Smoother) : defaults.smoother,
    selection,
    pinned: params.has('pinnedCards') ? parsePinned(get('pinnedCards')) : defaults.pinned,
    xAxis: parseXAxis(get('xAxis'), defaults.xAxis),
    darkMode: dark === 'true' ? 'dark' : dark === 'false' ? 'light' : defaults.darkMode,
    ignoreOutliers: parseBool(get('ignoreOutliers'), defaults.ignoreOutliers),
    groupBy: params.has('groupBy') ? decodeGroupBy(get('groupBy')) : defaults.groupBy,
    band: band === 'std' || band === 'minmax' || band === 'none' ? band : defaults.band,
    showMembers: parseBool(get('members'), defaults.showMembers),
    logY: params.has('logY') ? params.getAll('logY').filter(Boolean) : defaults.logY,
    wide: params.has('wide') ? params.getAll('wide').filter(Boolean) : defaults.wide,
    hparams: hparams.length ? hparams : defaults.hparams,
  };
}

/**
 * `base` (the current query) with the view's keys replaced: only the values that differ from
 * DEFAULT_VIEW are written, so an untouched view has a clean URL.
 */
export function serializeView(view: ViewState, base: URLSearchParams = new URLSearchParams()): string {
  const params = new URLSearchParams(base);
  params.delete('token');
  for (const key of VIEW_KEYS) params.delete(key);
  for (const key of new Set(params.keys())) if (isHParamsKey(key)) params.delete(key);
  const d = DEFAULT_VIEW;
  if (view.tab !== d.tab) params.set('tab', view.tab);
  if (view.tagFilter !== d.tagFilter) params.set('tagFilter', view.tagFilter);
  if (view.runFilter !== d.runFilter) params.set('runFilter', view.runFilter);
  if (view.smoothing !== d.smoothing) params.set('smoothing', String(view.smoothing));
  if (view.smoother !== d.smoother) params.set('smoother', view.smoother);
  if (view.selection.mode === 'only') {
    if (view.selection.runs.length === 0) params.set('runs', '');
    for (const run of view.selection.runs) params.append('runs', run);
  } else {
    for (const run of view.selection.runs) params.append('hideRuns', run);
  }
  if (view.pinned.length) {
    params.set(
      'pinnedCards',
      JSON.stringify(view.pinned.map((tag) => ({ plugin: 'scalars', tag }))),
    );
  }
  if (view.xAxis !== d.xAxis) params.set('xAxis', view.xAxis);
  if (view.darkMode !== 'auto') params.set('darkMode', String(view.darkMode === 'dark'));
  if (view.ignoreOutliers !== d.ignoreOutliers) {
    params.set('ignoreOutliers', String(view.ignoreOutliers));
  }
  if (view.groupBy.kind !== 'none') params.set('groupBy', encodeGroupBy(view.groupBy));
  if (view.band !== d.band) params.set('band', view.band);
  if (view.showMembers !== d.showMembers) params.set('members', String(view.showMembers));
  for (const tag of view.logY) params.append('logY', tag);
  for (const tag of view.wide) params.append('wide', tag);
  for (const [key, value] of view.hparams) if (isHParamsKey(key)) params.append(key, value);
  return params.toString();
}

/** Whether two views are the same (for skipping no-op URL writes). */
export function sameView(a: ViewState, b: ViewState): boolean {
  return (
    a.tab === b.tab &&
    a.tagFilter === b.tagFilter &&
    a.runFilter === b.runFilter &&
    a.smoothing === b.smoothing &&
    a.smoother === b.smoother &&
    a.selection.mode === b.selection.mode &&
    sameList(a.selection.runs, b.selection.runs) &&
    sameList(a.pinned, b.pinned) &&
    a.xAxis === b.xAxis &&
    a.darkMode === b.darkMode &&
    a.ignoreOutliers === b.ignoreOutliers &&
    encodeGroupBy(a.groupBy) === encodeGroupBy(b.groupBy) &&
    a.band === b.band &&
    a.showMembers === b.showMembers &&
    sameList(a.logY, b.logY) &&
    sameList(a.wide, b.wide) &&
    samePairs(a.hparams, b.hparams)
  );
}

export function samePairs(a: QueryPairs, b: QueryPairs): boolean {
  return a.length === b.length && a.every(([key, value], i) => key === b[i]![0] && value === b[i]![1]);
}

/** `list` with `item` added (at the end) or removed. */
export function toggleIn(list: readonly string[], item: string, on: boolean): string[] {
  const without = list.filter((x) => x !== item);
  return on ? [...without, item] : without;
}
