/**
 * How the runs panel lists runs when there are hundreds: the sort order, names cut in the middle
 * (the distinguishing suffix stays), torch's `add_hparams` sub-runs folded into their parent, and
 * the panel's own layout (width, collapsed), all kept in this browser's localStorage.
 */
import type { StorageLike } from '../core/colors';
import { persistedStore } from '../core/settings';
import type { Store } from '../core/store';
import type { RawRunTable } from './runColumns';

// ---- sort ------------------------------------------------------------------------------------

/** 'time': the server's order (first event time, then name); 'name' / 'name-desc': A→Z / Z→A. */
export type NameOrder = 'time' | 'name' | 'name-desc';

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** `runs` in `order`; names compare with their numbers as numbers (`seed2` before `seed10`). */
export function orderRuns(runs: readonly string[], order: NameOrder): string[] {
  if (order === 'time') return [...runs];
  const sign = order === 'name' ? 1 : -1;
  return [...runs].sort((a, b) => sign * collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}

// ---- middle truncation -----------------------------------------------------------------------

/**
 * A run name split for middle truncation: the head shrinks behind an ellipsis, the tail (the
 * last path segment when short, else the last 12 characters) always shows, as runs that differ
 * only at the end (`…/seed_3`, `…/20240101-120000`) are told apart by their end.
 */
export function splitName(run: string): { head: string; tail: string } {
  if (run.length <= 14) return { head: run, tail: '' };
  const slash = run.lastIndexOf('/');
  const segment = slash >= 0 ? run.length - slash : 0;
  const tailLength = segment >= 5 && segment <= 22 ? segment : Math.min(12, run.length);
  return { head: run.slice(0, run.length - tailLength), tail: run.slice(run.length - tailLength) };
}

// ---- add_hparams sub-runs ----------------------------------------------------------------------

/** torch's `add_hparams` names its sub-run by `str(time.time())`. */
const TIMESTAMP = /^\d{9,}(?:\.\d+)?$/;

/**
 * The hparams-only sub-runs torch's `add_hparams` creates (`<run>/<time.time()>`, holding one
 * hparams session): child → parent, for a child that is a session of `table` and whose parent
 * is one of `runs`.
 */
export function hparamsSubruns(runs: readonly string[], table: RawRunTable | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!table) return out;
  const known = new Set(runs);
  for (const session of table.sessions) {
    const slash = session.run.lastIndexOf('/');
    if (slash <= 0 || !known.has(session.run)) continue;
    const parent = session.run.slice(0, slash);
    if (TIMESTAMP.test(session.run.slice(slash + 1)) && known.has(parent)) out.set(session.run, parent);
  }
  return out;
}

/**
 * `table` with each sub-run's session moved to its parent (its hparams and metrics show in the
 * parent's columns), unless the parent holds a session of its own.
 */
export function attachSubruns(table: RawRunTable, subruns: ReadonlyMap<string, string>): RawRunTable {
  if (subruns.size === 0) return table;
  const own = new Set(table.sessions.map((s) => s.run));
  return {
    ...table,
    sessions: table.sessions.map((session) => {
      const parent = subruns.get(session.run);
      return parent !== undefined && !own.has(parent) ? { ...session, run: parent } : session;
    }),
  };
}

// ---- panel layout ------------------------------------------------------------------------------

export interface RunsPanelLayout {
  /** The width the user dragged the panel to, in CSS pixels (null: the stylesheet's). */
  width: number | null;
  collapsed: boolean;
  order: NameOrder;
}

export const MIN_WIDTH = 180;
export const MAX_WIDTH = 720;

export function clampWidth(width: number): number {
  return Math.round(Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, width)));
}

export function parseLayout(text: string | null): RunsPanelLayout {
  const layout: RunsPanelLayout = { width: null, collapsed: false, order: 'time' };
  if (!text) return layout;
  try {
    const raw = JSON.parse(text) as Record<string, unknown>;
    if (typeof raw.width === 'number' && Number.isFinite(raw.width)) layout.width = clampWidth(raw.width);
    layout.collapsed = raw.collapsed === true;
    if (raw.order === 'name' || raw.order === 'name-desc') layout.order = raw.order;
  } catch {
    // malformed: the defaults
  }
  return layout;
}

const KEY = 'lumiboard.runsPanel';
let layoutStore: Store<RunsPanelLayout> | null = null;

export function runsPanelLayout(): Store<RunsPanelLayout> {
  layoutStore ??= persistedStore(KEY, (storage: StorageLike | null) => {
    try {
      return parseLayout(storage?.getItem(KEY) ?? null);
    } catch {
      return parseLayout(null);
    }
  });
  return layoutStore;
}

/**
 * Dashboards whose canvas wants the width and which pick their run in a menu of their own: the
 * panel starts collapsed to a rail there (one click opens it).
 */
export const CANVAS_DASHBOARDS: ReadonlySet<string> = new Set(['projector', 'profile']);
