/**
 * The app's health state: the last report from `data/health` (shared by the runs panel, the
 * chart cards and the Health view) and the Health view's filter and sort, which outlive the
 * view (a badge in the runs panel opens it already filtered to its run).
 */
import { Store } from '../core/store';
import { DEFAULT_SORT, NO_FILTER, NO_HEALTH, type FlagFilter, type FlagSort, type HealthReport } from './model';

export interface HealthState {
  report: HealthReport;
  /** The first answer (or failure) arrived. */
  loaded: boolean;
  /** The server has no `data/health` route (404, an older server): no flags, no notice. */
  unsupported: boolean;
  /** The last request's failure; the last report stays shown. */
  error: string | null;
}

export const INITIAL_HEALTH: HealthState = { report: NO_HEALTH, loaded: false, unsupported: false, error: null };

let health: Store<HealthState> | null = null;

/** The app's one health store. */
export function healthStore(): Store<HealthState> {
  return (health ??= new Store<HealthState>(INITIAL_HEALTH));
}

export interface HealthViewState {
  filter: FlagFilter;
  sort: FlagSort;
}

let view: Store<HealthViewState> | null = null;

/** The Health view's filter and sort. */
export function healthView(): Store<HealthViewState> {
  return (view ??= new Store<HealthViewState>({ filter: NO_FILTER, sort: DEFAULT_SORT }));
}
