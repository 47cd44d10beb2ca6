/**
 * Health flags (`GET data/health`) as the app uses them: the payload checked and typed, each
 * run's worst level and count (the runs panel's badge), the flags of one chart card and where
 * their markers stand on its x axis, and the Health view's filter and sort. Pure: no DOM.
 */
import type { XAxis } from '../core/api';
import { escapeRegex } from '../core/regex';

export type Level = 'error' | 'warning' | 'info';

/** Worst first. */
export const LEVELS: readonly Level[] = ['error', 'warning', 'info'];

/** The kind of an alert written by `lumiboard.alert()` (tag `alerts`, a text summary). */
export const ALERT_KIND = 'alert';

export interface HealthFlag {
  run: string;
  tag: string;
  kind: string;
  level: Level;
  /** The first step of the episode; null when the server gave none. */
  step: number | null;
  wall_time: number | null;
  /** The value that raised it ("NaN", a number ...), as the server sent it. */
  value: string | number | null;
  message: string;
}

export interface HealthReport {
  flags: HealthFlag[];
  computedAt: number | null;
}

export const NO_HEALTH: HealthReport = { flags: [], computedAt: null };

function isLevel(value: unknown): value is Level {
  return value === 'error' || value === 'warning' || value === 'info';
}

function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * The route's JSON as a report. Lenient: an entry without a run or a kind is left out, an
 * unknown level reads as "info", a missing message is made from the kind and tag: one odd flag
 * from a newer server must not take the app down.
 */
export function parseHealth(raw: unknown): HealthReport {
  if (!raw || typeof raw !== 'object') return NO_HEALTH;
  const body = raw as { flags?: unknown; computed_at?: unknown };
  const flags: HealthFlag[] = [];
  for (const item of Array.isArray(body.flags) ? body.flags : []) {
    if (!item || typeof item !== 'object') continue;
    const f = item as Record<string, unknown>;
    if (typeof f.run !== 'string' || typeof f.kind !== 'string' || f.kind === '') continue;
    const tag = typeof f.tag === 'string' ? f.tag : '';
    const value = typeof f.value === 'string' || typeof f.value === 'number' ? f.value : null;
    flags.push({
      run: f.run,
      tag,
      kind: f.kind,
      level: isLevel(f.level) ? f.level : 'info',
      step: finiteOrNull(f.step),
      wall_time: finiteOrNull(f.wall_time),
      value,
      message: typeof f.message === 'string' && f.message !== '' ? f.message : `${f.kind} on ${tag}`,
    });
  }
  return { flags, computedAt: finiteOrNull(body.computed_at) };
}

/** Short names of the kinds the server reports (a badge's text); others show as they are. */
export const KIND_LABELS: Record<string, string> = {
  nonfinite: 'NaN/Inf',
  divergence: 'diverging',
  spike: 'spike',
  exploding_gradients: 'exploding gradients',
  vanishing_gradients: 'vanishing gradients',
  alert: 'alert',
};

export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind.replace(/_/g, ' ');
}

/** A card badge's text: the kind of its one flag, or how many flags. */
export function badgeText(summary: FlagSummary): string {
  const kinds = new Set(summary.flags.map((f) => f.kind));
  if (kinds.size === 1) {
    const label = kindLabel(summary.flags[0]!.kind);
    return summary.count === 1 ? label : `${label} ×${summary.count}`;
  }
  return `${summary.count} flags`;
}

/** 0 for the worst level. */
export function levelRank(level: Level): number {
  return LEVELS.indexOf(level);
}

/** The worst of `levels`; null when there is none. */
export function worstLevel(levels: Iterable<Level>): Level | null {
  let worst: Level | null = null;
  for (const level of levels) {
    if (worst === null || levelRank(level) < levelRank(worst)) worst = level;
  }
  return worst;
}

/** What a badge shows of a set of flags: the worst level, how many, and the hover text. */
export interface FlagSummary {
  worst: Level;
  count: number;
  byLevel: Record<Level, number>;
  flags: HealthFlag[];
}

export function summarize(flags: readonly HealthFlag[]): FlagSummary | null {
  const worst = worstLevel(flags.map((f) => f.level));
  if (worst === null) return null;
  const byLevel: Record<Level, number> = { error: 0, warning: 0, info: 0 };
  for (const flag of flags) byLevel[flag.level]++;
  return { worst, count: flags.length, byLevel, flags: sortFlags(flags, DEFAULT_SORT) };
}

/** Each run's flags, summarized (the runs panel's badges). */
export function healthByRun(flags: readonly HealthFlag[]): Map<string, FlagSummary> {
  const grouped = new Map<string, HealthFlag[]>();
  for (const flag of flags) {
    let list = grouped.get(flag.run);
    if (!list) grouped.set(flag.run, (list = []));
    list.push(flag);
  }
  const out = new Map<string, FlagSummary>();
  for (const [run, list] of grouped) out.set(run, summarize(list)!);
  return out;
}

/** At most this many flags are listed in a badge's hover text; the rest are counted. */
export const TITLE_LINES = 12;

/** One flag as a line of hover text: "ERROR loss, step 50: loss is NaN from step 50". */
export function flagLine(flag: HealthFlag, withRun = false): string {
  const where = [withRun ? flag.run : '', flag.kind === ALERT_KIND ? 'alert' : flag.tag]
    .filter(Boolean)
    .join(' · ');
  const step = flag.step === null ? '' : `, step ${flag.step}`;
  return `${flag.level.toUpperCase()} ${where}${step}: ${flag.message}`;
}

/** A badge's hover text: a count line, then the flags worst first. */
export function summaryTitle(summary: FlagSummary, withRun = false): string {
  const counts = LEVELS.filter((l) => summary.byLevel[l] > 0)
    .map((l) => {
      const n = summary.byLevel[l];
      return `${n} ${l}${n === 1 || l === 'info' ? '' : 's'}`;
    })
    .join(', ');
  const lines = summary.flags.slice(0, TITLE_LINES).map((f) => flagLine(f, withRun));
  const more = summary.flags.length - lines.length;
  return [`Health: ${counts}`, ...lines, ...(more > 0 ? [`… and ${more} more`] : [])].join('\n');
}

/**
 * The flags a chart card shows in its badge: those on its tag, of the runs it draws. Alerts are
 * not about one tag: they are markers on every card of their run (`cardMarkers`), not badges.
 */
export function cardFlags(flags: readonly HealthFlag[], tag: string, runs: readonly string[]): HealthFlag[] {
  if (flags.length === 0) return [];
  const shown = new Set(runs);
  return flags.filter((f) => f.kind !== ALERT_KIND && f.tag === tag && shown.has(f.run));
}

/** A marker on a chart: a flag on the card's tag (a line) or an alert of its run (a top tick). */
export interface FlagMarker {
  x: number;
  level: Level;
  style: 'line' | 'tick';
  /** The hover text. */
  label: string;
  flag: HealthFlag;
}

/**
 * Where a flag stands on the x axis: its step, its wall time, or its wall time since the series'
 * `start` (the relative axis's zero); null when the flag lacks that coordinate.
 */
export function markerX(flag: HealthFlag, xAxis: XAxis, start: number): number | null {
  if (xAxis === 'step') return flag.step;
  if (flag.wall_time === null) return null;
  return xAxis === 'wall_time' ? flag.wall_time : flag.wall_time - start;
}

/**
 * The markers of one card: a dashed line per flag on `tag` and a tick at the top edge per alert,
 * for each drawn run (`runs`, with its series start). One marker per x and level: several runs
 * flagged at the same step share one line, whose hover text names them all. Sorted by x.
 */
export function cardMarkers(
  flags: readonly HealthFlag[],
  tag: string,
  runs: readonly { run: string; start: number }[],
  xAxis: XAxis,
): FlagMarker[] {
  if (flags.length === 0 || runs.length === 0) return [];
  const starts = new Map(runs.map((r) => [r.run, r.start]));
  const merged = new Map<string, FlagMarker>();
  for (const flag of flags) {
    const start = starts.get(flag.run);
    if (start === undefined) continue;
    const alert = flag.kind === ALERT_KIND;
    if (!alert && flag.tag !== tag) continue;
    const x = markerX(flag, xAxis, start);
    if (x === null) continue;
    const style = alert ? 'tick' : 'line';
    const key = `${style}|${x}|${flag.level}`;
    const line = flagLine(flag, true);
    const old = merged.get(key);
    if (old) old.label = `${old.label}\n${line}`;
    else merged.set(key, { x, level: flag.level, style, label: line, flag });
  }
  return [...merged.values()].sort((a, b) => a.x - b.x || levelRank(b.level) - levelRank(a.level));
}

// --- the Health view: filter and sort --------------------------------------------------------

export type SortKey = 'level' | 'run' | 'tag' | 'kind' | 'step' | 'message' | 'wall_time';

export interface FlagSort {
  key: SortKey;
  descending: boolean;
}

/** Worst first, then by run, tag and step. */
export const DEFAULT_SORT: FlagSort = { key: 'level', descending: false };

export interface FlagFilter {
  /** '' for any. */
  level: Level | '';
  kind: string;
  run: string;
  tag: string;
}

export const NO_FILTER: FlagFilter = { level: '', kind: '', run: '', tag: '' };

export function filterFlags(flags: readonly HealthFlag[], filter: FlagFilter): HealthFlag[] {
  return flags.filter(
    (f) =>
      (filter.level === '' || f.level === filter.level) &&
      (filter.kind === '' || f.kind === filter.kind) &&
      (filter.run === '' || f.run === filter.run) &&
      (filter.tag === '' || f.tag === filter.tag),
  );
}

const collator = new Intl.Collator(undefined, { numeric: true });

function compareBy(key: SortKey, a: HealthFlag, b: HealthFlag): number {
  switch (key) {
    case 'level':
      return levelRank(a.level) - levelRank(b.level);
    case 'step':
    case 'wall_time': {
      const x = a[key];
      const y = b[key];
      // Missing values last, whichever the direction.
      if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
      return x - y;
    }
    default:
      return collator.compare(a[key], b[key]);
  }
}

/** `flags` sorted by `sort.key`; ties by level, run, tag, step (always ascending). */
export function sortFlags(flags: readonly HealthFlag[], sort: FlagSort): HealthFlag[] {
  const sign = sort.descending ? -1 : 1;
  const ties: SortKey[] = ['level', 'run', 'tag', 'step', 'kind'];
  return [...flags].sort((a, b) => {
    const first = compareBy(sort.key, a, b);
    const missing = (sort.key === 'step' || sort.key === 'wall_time') && (a[sort.key] === null || b[sort.key] === null);
    if (first !== 0) return missing ? first : sign * first;
    for (const key of ties) {
      const c = compareBy(key, a, b);
      if (c !== 0) return c;
    }
    return 0;
  });
}

/** A header click: this key ascending, again descending (level starts with the worst). */
export function nextSort(sort: FlagSort, key: SortKey): FlagSort {
  return sort.key === key ? { key, descending: !sort.descending } : { key, descending: false };
}

/** The distinct values of `key`, sorted (the filter menus). */
export function distinct(flags: readonly HealthFlag[], key: 'run' | 'kind' | 'tag'): string[] {
  return [...new Set(flags.map((f) => f[key]))].sort(collator.compare);
}

/** Where a flag's chart is: Scalars filtered to its tag, or Text's `alerts` for an alert. */
export function chartLink(flag: HealthFlag): { tab: string; tagFilter: string; card: string } {
  const alert = flag.kind === ALERT_KIND;
  return {
    tab: alert ? 'text' : 'scalars',
    tagFilter: `^${escapeRegex(flag.tag)}$`,
    card: alert ? 'text-card' : 'scalar-card',
  };
}

/** A stable key of a flag (a table row). */
export function flagKey(flag: HealthFlag): string {
  return `${flag.run}\u0000${flag.tag}\u0000${flag.kind}\u0000${flag.step ?? ''}\u0000${flag.level}`;
}
