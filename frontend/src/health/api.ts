/**
 * `GET data/health`, fetched when the app starts and again after each of the shell's reloads
 * (`data.generation`: the same cadence as every dashboard's data), and the "Health" tab it
 * enables. A server without the route (404) means no flags; any other failure keeps the last
 * report and is shown as a notice in the Health view, never thrown.
 */
import { ApiError, type Client, type PluginInfo, type PluginsListing } from '../core/api';
import type { AppData, DashboardApi } from '../core/dashboard';
import type { Store } from '../core/store';
import { NO_HEALTH, parseHealth, type HealthReport } from './model';
import { healthStore, type HealthState } from './store';

export const HEALTH_URL = 'data/health';

/** The Health view's name in the dashboards' registry and in `?tab=`. */
export const HEALTH_TAB = 'health';

export async function fetchHealth(
  client: Client,
  signal?: AbortSignal,
): Promise<{ report: HealthReport; unsupported: boolean }> {
  let raw: unknown;
  try {
    raw = await client.getJson<unknown>(HEALTH_URL, signal);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { report: NO_HEALTH, unsupported: true };
    throw error;
  }
  return { report: parseHealth(raw), unsupported: false };
}

function sameReport(a: HealthReport, b: HealthReport): boolean {
  return a.flags.length === b.flags.length && JSON.stringify(a.flags) === JSON.stringify(b.flags);
}

/**
 * `listing` with the Health tab: enabled when there is a flag (like a plugin with data),
 * otherwise listed among the inactive dashboards. The server's plugins listing does not carry
 * it: the flags come from their own route.
 */
export function withHealthTab(listing: PluginsListing, enabled: boolean): PluginsListing {
  const entry: PluginInfo = {
    enabled,
    tab_name: 'Health',
    disable_reload: false,
    remove_dom: false,
    loading_mechanism: { type: 'NONE' },
  };
  return { ...listing, [HEALTH_TAB]: entry };
}

function needsTab(data: AppData, enabled: boolean): boolean {
  const entry = data.listing?.[HEALTH_TAB];
  return data.listing !== null && (entry === undefined || entry.enabled !== enabled);
}

function describe(error: unknown): string {
  if (error instanceof ApiError) return error.status === 0 ? 'cannot reach the server' : error.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Keeps `store` (default: the app's) filled from the server and the Health tab in
 * `api.data.listing`; returns the function that stops it. One request at a time: a reload while
 * one is in flight fetches once more when it ends. After a 404 it asks no more: the server has
 * no such route, and each request would only log another failed load in the console.
 */
export function startHealthPolling(api: DashboardApi, store: Store<HealthState> = healthStore()): () => void {
  let stopped = false;
  let inFlight: AbortController | null = null;
  let again = false;

  const poll = async (): Promise<void> => {
    if (store.get().unsupported) return;
    if (inFlight) {
      again = true;
      return;
    }
    const controller = (inFlight = new AbortController());
    try {
      const { report, unsupported } = await fetchHealth(api.client, controller.signal);
      if (!stopped) {
        store.set((s) => ({
          report: sameReport(s.report, report) ? s.report : report,
          unsupported,
          loaded: true,
          error: null,
        }));
      }
    } catch (error) {
      if (!stopped && !controller.signal.aborted) store.set({ loaded: true, error: describe(error) });
    } finally {
      inFlight = null;
      if (again && !stopped) {
        again = false;
        void poll();
      }
    }
  };

  const syncTab = () => {
    const enabled = store.get().report.flags.length > 0;
    const data = api.data.get();
    if (needsTab(data, enabled)) api.data.set({ listing: withHealthTab(data.listing!, enabled) });
  };

  const offData = api.data.subscribe((data, previous) => {
    if (data.generation !== previous.generation) void poll();
    if (data.listing !== previous.listing) syncTab();
  });
  const offStore = store.subscribe((state, previous) => {
    if (state.report !== previous.report) syncTab();
  });
  syncTab();
  void poll();
  return () => {
    stopped = true;
    inFlight?.abort();
    offData();
    offStore();
  };
}
