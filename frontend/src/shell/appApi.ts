/** Builds the app's state: URL-backed view, persisted settings and colours, loaded data, theme. */
import { createClient } from '../core/api';
import { RunColors } from '../core/colors';
import type { AppData, DashboardApi } from '../core/dashboard';
import { debounce } from '../core/frame';
import {
  browserStorage,
  loadSettings,
  loadViewDefaults,
  saveSettings,
  saveViewDefaults,
} from '../core/settings';
import { DEFAULT_VIEW, isDeepLink, parseView, serializeView, type DarkMode } from '../core/state';
import { Store } from '../core/store';
import { invalidateChartTheme } from '../charts/theme';
import { snapshotClient } from '../snapshot/client';
import { snapshotData } from '../snapshot/data';

function prefersDark(): MediaQueryList | null {
  return typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
}

function resolveDark(mode: DarkMode): boolean {
  if (mode === 'auto') return prefersDark()?.matches ?? false;
  return mode === 'dark';
}

function applyTheme(dark: boolean): void {
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
  invalidateChartTheme();
}

export function createAppApi(): DashboardApi {
  const storage = browserStorage();

  const settings = new Store(loadSettings(storage));
  settings.subscribe((s) => saveSettings(storage, s));

  const params = new URLSearchParams(location.search);
  // A deep link reproduces its view exactly; a plain URL opens the view last used here.
  const defaults = isDeepLink(params) ? DEFAULT_VIEW : loadViewDefaults(storage);
  const view = new Store(parseView(params, defaults));

  const writeUrl = debounce(() => {
    const state = view.get();
    const query = serializeView(state, new URLSearchParams(location.search));
    const url = `${location.pathname}${query ? `?${query}` : ''}${location.hash}`;
    if (url !== `${location.pathname}${location.search}${location.hash}`) {
      history.replaceState(history.state, '', url);
    }
    saveViewDefaults(storage, state);
  }, 150);
  view.subscribe(() => writeUrl());
  // The server redirects a page opened with ?token= to the URL without it; should one arrive
  // anyway, it leaves the address bar (and every link copied from it) at once.
  if (params.has('token')) writeUrl();
  window.addEventListener('popstate', () => {
    view.set(parseView(new URLSearchParams(location.search), DEFAULT_VIEW));
  });

  const theme = new Store({ dark: resolveDark(view.get().darkMode) });
  applyTheme(theme.get().dark);
  const updateTheme = () => theme.set({ dark: resolveDark(view.get().darkMode) });
  view.subscribe((state, previous) => {
    if (state.darkMode !== previous.darkMode) updateTheme();
  });
  prefersDark()?.addEventListener('change', updateTheme);
  theme.subscribe(({ dark }) => applyTheme(dark));

  const data = new Store<AppData>({
    runs: [],
    environment: null,
    listing: null,
    status: null,
    loaded: false,
    generation: 0,
    reloading: false,
    error: null,
  });

  // A snapshot page answers every request from the data inlined into it.
  const snapshot = snapshotData();
  const client = snapshot ? snapshotClient(snapshot) : createClient();
  return { client, view, settings, colors: new RunColors(storage), data, theme };
}
