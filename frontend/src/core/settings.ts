/**
 * Settings kept per browser in localStorage (TensorBoard keeps its Settings pane there too), and
 * the last-used view, which a plain URL (no deep-link keys) opens with.
 */
import { isSmoother } from '../charts/smoothing';
import type { StorageLike } from './colors';
import { Store } from './store';
import {
  DEFAULT_VIEW,
  clampSmoothing,
  decodeGroupBy,
  encodeGroupBy,
  type ViewState,
} from './state';

export type TooltipSort = 'alphabetical' | 'ascending' | 'descending' | 'nearest' | 'nearest-y';

export const TOOLTIP_SORTS: { value: TooltipSort; label: string }[] = [
  { value: 'alphabetical', label: 'Alphabetical' },
  { value: 'ascending', label: 'Ascending' },
  { value: 'descending', label: 'Descending' },
  { value: 'nearest', label: 'Nearest pixel' },
  { value: 'nearest-y', label: 'Nearest Y' },
];

export interface Settings {
  /** Cards per page in each group (TensorBoard's "Pagination Limit"). */
  pageSize: number;
  /** Minimum card width in pixels (TensorBoard: 335–735 in steps of 50). */
  cardWidth: number;
  tooltipSort: TooltipSort;
  autoReload: boolean;
  /** Seconds between reloads; null follows the server's --reload_interval. */
  reloadPeriod: number | null;
  settingsOpen: boolean;
}

export const DEFAULT_SETTINGS: Settings = {
  pageSize: 12,
  // 385: two cards fit beside the runs panel at 1440 px even with the Settings pane open.
  cardWidth: 385,
  tooltipSort: 'nearest',
  autoReload: true,
  reloadPeriod: null,
  // Closed on first load so that the cards get the width (two per row at 1440 px); once the user
  // opens it, the saved settings keep it open.
  settingsOpen: false,
};

export const MIN_RELOAD_SECONDS = 2;
export const CARD_WIDTH_RANGE = { min: 335, max: 735, step: 50 } as const;

const SETTINGS_KEY = 'lumiboard.settings';
const VIEW_KEY = 'lumiboard.view';

function read(storage: StorageLike | null, key: string): Record<string, unknown> {
  if (!storage) return {};
  try {
    const parsed: unknown = JSON.parse(storage.getItem(key) ?? '{}');
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function write(storage: StorageLike | null, key: string, value: unknown): void {
  try {
    storage?.setItem(key, JSON.stringify(value));
  } catch {
    // storage full or disabled: settings still apply for this session
  }
}

export function loadSettings(storage: StorageLike | null): Settings {
  const raw = read(storage, SETTINGS_KEY);
  const s = { ...DEFAULT_SETTINGS };
  if (typeof raw.pageSize === 'number' && raw.pageSize >= 1 && raw.pageSize <= 100) {
    s.pageSize = Math.round(raw.pageSize);
  }
  if (typeof raw.cardWidth === 'number') {
    const { min, max } = CARD_WIDTH_RANGE;
    s.cardWidth = Math.min(max, Math.max(min, raw.cardWidth));
  }
  if (TOOLTIP_SORTS.some((sort) => sort.value === raw.tooltipSort)) {
    s.tooltipSort = raw.tooltipSort as TooltipSort;
  }
  if (typeof raw.autoReload === 'boolean') s.autoReload = raw.autoReload;
  if (typeof raw.reloadPeriod === 'number' && raw.reloadPeriod >= MIN_RELOAD_SECONDS) {
    s.reloadPeriod = raw.reloadPeriod;
  }
  if (typeof raw.settingsOpen === 'boolean') s.settingsOpen = raw.settingsOpen;
  return s;
}

export function saveSettings(storage: StorageLike | null, settings: Settings): void {
  write(storage, SETTINGS_KEY, settings);
}

/** The view a URL without deep-link keys opens with: the last one used in this browser. */
export function loadViewDefaults(storage: StorageLike | null): ViewState {
  const raw = read(storage, VIEW_KEY);
  const view = { ...DEFAULT_VIEW };
  if (typeof raw.smoothing === 'number') view.smoothing = clampSmoothing(raw.smoothing);
  if (raw.xAxis === 'step' || raw.xAxis === 'relative' || raw.xAxis === 'wall_time') {
    view.xAxis = raw.xAxis;
  }
  if (raw.darkMode === 'auto' || raw.darkMode === 'light' || raw.darkMode === 'dark') {
    view.darkMode = raw.darkMode;
  }
  if (typeof raw.ignoreOutliers === 'boolean') view.ignoreOutliers = raw.ignoreOutliers;
  if (isSmoother(raw.smoother)) view.smoother = raw.smoother;
  if (Array.isArray(raw.pinned)) view.pinned = raw.pinned.filter((t) => typeof t === 'string');
  if (typeof raw.groupBy === 'string') view.groupBy = decodeGroupBy(raw.groupBy);
  if (raw.band === 'std' || raw.band === 'minmax' || raw.band === 'none') view.band = raw.band;
  if (typeof raw.showMembers === 'boolean') view.showMembers = raw.showMembers;
  return view;
}

export function saveViewDefaults(storage: StorageLike | null, view: ViewState): void {
  write(storage, VIEW_KEY, {
    smoothing: view.smoothing,
    smoother: view.smoother,
    xAxis: view.xAxis,
    darkMode: view.darkMode,
    ignoreOutliers: view.ignoreOutliers,
    pinned: view.pinned,
    groupBy: encodeGroupBy(view.groupBy),
    band: view.band,
    showMembers: view.showMembers,
  });
}

/** localStorage, or null where it is unavailable (private modes, sandboxed frames). */
export function browserStorage(): StorageLike | null {
  try {
    const storage = globalThis.localStorage;
    storage.getItem(SETTINGS_KEY);
    return storage;
  } catch {
    return null;
  }
}

/**
 * A store kept in this browser under `key`: `load` reads it once (from the storage, null where
 * there is none), and every change is written back as JSON.
 */
export function persistedStore<T extends object>(key: string, load: (storage: StorageLike | null) => T): Store<T> {
  const storage = browserStorage();
  const store = new Store(load(storage));
  store.subscribe((state) => {
    try {
      storage?.setItem(key, JSON.stringify(state));
    } catch {
      // storage full or disabled: it still applies for this session
    }
  });
  return store;
}
