/** What the app shell hands each dashboard: `mount(el, api)` gets a DashboardApi. */
import type { Client, Environment, PluginsListing, Status } from './api';
import type { RunColors } from './colors';
import type { Settings } from './settings';
import type { ViewState } from './state';
import type { Store } from './store';

/** Data the shell loads and reloads for every dashboard. */
export interface AppData {
  runs: string[];
  environment: Environment | null;
  listing: PluginsListing | null;
  status: Status | null;
  /** The first load (runs, listing, status, environment) is done. */
  loaded: boolean;
  /** Bumped by each successful reload after the first: dashboards refetch what they show. */
  generation: number;
  reloading: boolean;
  /** The last reload's error, shown in the header; null when the server answers. */
  error: string | null;
}

export interface DashboardApi {
  client: Client;
  view: Store<ViewState>;
  settings: Store<Settings>;
  colors: RunColors;
  data: Store<AppData>;
  theme: Store<{ dark: boolean }>;
}

/** A dashboard renders into `el` and returns the function that removes it. */
export type Mount = (el: HTMLElement, api: DashboardApi) => () => void;
