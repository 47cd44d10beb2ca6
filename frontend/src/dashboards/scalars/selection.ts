/**
 * The step selection's shared state: its settings (kept in this browser's localStorage, like the
 * other Settings), and the selection all cards share when "Link by step" is on.
 */
import { persistedStore } from '../../core/settings';
import type { StorageLike } from '../../core/colors';
import { Store } from '../../core/store';
import type { StepSelection } from './dataTable';

export interface SelectionSettings {
  /** One selection for every card (TensorBoard's "Link by step"). */
  linkByStep: boolean;
  /** A second click selects the other end of a range (shift-click always does). */
  rangeSelection: boolean;
  /** The most runs the tooltip lists, nearest first per its sort. */
  tooltipLimit: number;
}

export const DEFAULT_SELECTION_SETTINGS: SelectionSettings = {
  linkByStep: false,
  rangeSelection: false,
  tooltipLimit: 10,
};

export const TOOLTIP_LIMIT_RANGE = { min: 1, max: 100 } as const;

const KEY = 'lumiboard.scalars.selection';

export function loadSelectionSettings(storage: StorageLike | null): SelectionSettings {
  const out = { ...DEFAULT_SELECTION_SETTINGS };
  try {
    const raw: unknown = JSON.parse(storage?.getItem(KEY) ?? '{}');
    if (!raw || typeof raw !== 'object') return out;
    const r = raw as Record<string, unknown>;
    if (typeof r.linkByStep === 'boolean') out.linkByStep = r.linkByStep;
    if (typeof r.rangeSelection === 'boolean') out.rangeSelection = r.rangeSelection;
    if (
      typeof r.tooltipLimit === 'number' &&
      r.tooltipLimit >= TOOLTIP_LIMIT_RANGE.min &&
      r.tooltipLimit <= TOOLTIP_LIMIT_RANGE.max
    ) {
      out.tooltipLimit = Math.round(r.tooltipLimit);
    }
  } catch {
    // unreadable: the defaults
  }
  return out;
}

let settingsStore: Store<SelectionSettings> | null = null;

/** The settings store, created (and persisted on change) on first use. */
export function selectionSettings(): Store<SelectionSettings> {
  settingsStore ??= persistedStore(KEY, loadSelectionSettings);
  return settingsStore;
}

/** The selection shared by all cards while "Link by step" is on. */
export const linkedSelection = new Store<{ selection: StepSelection | null }>({ selection: null });
