/** The app shell: header, runs panel, the active dashboard; loads and reloads the data. */
import type { JSX } from 'preact';
import { useCallback, useEffect, useRef } from 'preact/hooks';

import { ApiError, pluginUrl } from '../core/api';
import type { DashboardApi } from '../core/dashboard';
import { MIN_RELOAD_SECONDS } from '../core/settings';
import { useStore } from '../core/store';
import { DASHBOARDS, orderPlugins } from '../dashboards';
import { startHealthPolling } from '../health/api';
import { DashboardHost } from './DashboardHost';
import { Header } from './Header';
import { RunsPanel } from './RunsPanel';
import { ServerBanner } from './ServerBanner';
import { pageTitle } from './serverNotices';
import { withProfiledRuns } from './runSources';
import { withTimeSeriesTab } from '../dashboards/timeseries/model';
import { NotInSnapshot, SnapshotBanner } from '../snapshot/Banner';
import { isSnapshot } from '../snapshot/data';

function message(error: unknown): string {
  if (error instanceof ApiError) return error.status === 0 ? 'Cannot reach the server' : error.message;
  return error instanceof Error ? error.message : String(error);
}

/** The reload period in seconds: the user's, else the server's, never under 2 s. */
function reloadPeriod(api: DashboardApi): number {
  const own = api.settings.get().reloadPeriod;
  const server = api.data.get().environment?.reload_interval;
  const period = own ?? (server && server > 0 ? server : 30);
  return Math.max(MIN_RELOAD_SECONDS, period);
}

export function App({ api }: { api: DashboardApi }): JSX.Element {
  const { data, settings, view } = api;
  const inFlight = useRef(false);

  const reload = useCallback(async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    data.set({ reloading: true });
    try {
      // The loading progress does not hold up the rest.
      void api.client.status().then(
        (status) => data.set({ status }),
        () => undefined,
      );
      const [runs, listing, environment] = await Promise.all([
        api.client.runs(),
        api.client.pluginsListing(),
        data.get().environment ? Promise.resolve(data.get().environment) : api.client.environment(),
      ]);
      // Profiled runs have no event file: without them a profile-only log directory lists no run.
      const profiled = listing.profile?.enabled
        ? await api.client.getJson<{ runs: Record<string, unknown> }>(pluginUrl('profile', 'runs')).then(
            (payload) => Object.keys(payload.runs ?? {}),
            () => [],
          )
        : [];
      const allRuns = withProfiledRuns(runs, profiled);
      api.colors.setRuns(allRuns);
      data.set((d) => ({
        runs: allRuns,
        // The Time Series view has no server plugin: enabled when its three plugins have data.
        listing: withTimeSeriesTab(listing),
        environment,
        // Dashboards mount at once and fetch in parallel with this first load: no refetch for it.
        generation: d.loaded ? d.generation + 1 : d.generation,
        loaded: true,
        error: null,
      }));
    } catch (error) {
      data.set({ error: message(error) });
    } finally {
      inFlight.current = false;
      data.set({ reloading: false });
    }
  }, [api, data]);

  useEffect(() => {
    void reload();
  }, [reload]);
  // Health flags: fetched with every reload; they enable the Health tab.
  useEffect(() => startHealthPolling(api), [api]);

  const environment = useStore(data, (d) => d.environment);
  useEffect(() => {
    document.title = pageTitle(environment);
  }, [environment]);

  // Auto-reload: new points appear while training writes, without a page reload.
  const autoReload = useStore(settings, (s) => s.autoReload);
  const ownPeriod = useStore(settings, (s) => s.reloadPeriod);
  useEffect(() => {
    if (!autoReload || isSnapshot()) return undefined; // a snapshot never changes
    const timer = setInterval(() => {
      if (!document.hidden) void reload();
    }, reloadPeriod(api) * 1000);
    const onVisible = () => {
      if (!document.hidden) void reload();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [api, autoReload, ownPeriod, environment, reload]);

  // While the server is still reading the log directory: poll its progress every second, and
  // reload whenever more runs are done, so charts fill in as data arrives.
  const status = useStore(data, (d) => d.status);
  useEffect(() => {
    if (!status?.loading) return undefined;
    const timer = setTimeout(async () => {
      try {
        const next = await api.client.status();
        if (next.runs_done !== status.runs_done || !next.loading) void reload();
        else data.set({ status: next });
      } catch (error) {
        data.set({ error: message(error) });
      }
    }, 1000);
    return () => clearTimeout(timer);
  }, [api, data, reload, status]);

  const listing = useStore(data, (d) => d.listing);
  const tab = useStore(view, (v) => v.tab);
  const names = orderPlugins(Object.keys(listing ?? {}));
  const active = names.filter((name) => listing?.[name]?.enabled);
  const current = tab && names.includes(tab) ? tab : (active[0] ?? names[0] ?? 'scalars');
  const loaded = useStore(data, (d) => d.loaded);
  const error = useStore(data, (d) => d.error);

  let main: JSX.Element;
  if (DASHBOARDS[current]) {
    // Mounted before the first load ends, so that its own requests run in parallel with it.
    main = <DashboardHost key={current} plugin={current} api={api} />;
  } else {
    const name = listing?.[current]?.tab_name ?? current;
    main = isSnapshot() ? (
      <NotInSnapshot name={name} />
    ) : (
      <div class="empty" data-testid="dashboard-unavailable">
        <h2>The {name} dashboard is not in this build yet</h2>
        <p class="empty__lead">
          {listing?.[current]?.enabled
            ? `The server has ${name.toLowerCase()} data: `
            : `No ${name.toLowerCase()} data was found either. `}
          its HTTP API answers under <code>data/plugin/{current}/</code>, in TensorBoard's shapes.
        </p>
      </div>
    );
  }

  return (
    <div class="app">
      {/* Keyboard users skip the header and the runs panel (the first thing a Tab reaches). */}
      <a class="skip-link" href="#dashboard" data-testid="skip-link">
        Skip to the dashboard
      </a>
      <Header api={api} plugins={names} current={current} onReload={reload} />
      <SnapshotBanner />
      <ServerBanner api={api} />
      <div class="body">
        <RunsPanel api={api} plugin={current} />
        <main class="main" id="dashboard" tabIndex={-1} data-testid="dashboard" data-plugin={current}>
          {!loaded && error ? (
            <div class="notice notice--error" data-testid="load-error">
              {error}. Retrying…
            </div>
          ) : null}
          {main}
        </main>
      </div>
    </div>
  );
}
