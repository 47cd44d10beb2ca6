/**
 * The header: dashboard tabs (those that do not fit, and inactive ones, in a menu), loading
 * progress, reload, theme.
 */
import { Fragment, type JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

import type { DashboardApi } from '../core/dashboard';
import { formatBytes } from '../core/format';
import type { DarkMode } from '../core/state';
import { useStore } from '../core/store';
import { ChevronIcon, ReloadIcon } from '../components/icons';
import { fitTabs } from './tabFit';
import { isSnapshot } from '../snapshot/data';
import { healthStore } from '../health/store';

/** Room kept for the menu button at the end of the tabs. */
const MENU_WIDTH = 120;
/** The longest the tabs wait for the first health answer before they are laid out without it. */
const HEALTH_WAIT_MS = 3000;

/**
 * Whether the set of tabs is known: the plugins listing and the first health answer (the Health
 * tab sits right after Scalars, so drawing the tabs before it would move every later tab).
 */
function useTabsKnown(api: DashboardApi): boolean {
  const listed = useStore(api.data, (d) => d.listing !== null);
  const health = useStore(healthStore(), (h) => h.loaded || h.unsupported);
  const [waited, setWaited] = useState(false);
  useEffect(() => {
    if (!listed || health) return undefined;
    const timer = setTimeout(() => setWaited(true), HEALTH_WAIT_MS);
    return () => clearTimeout(timer);
  }, [listed, health]);
  return listed && (health || waited);
}

export interface HeaderProps {
  api: DashboardApi;
  plugins: string[];
  current: string;
  onReload(): void;
}

function Progress({ api }: { api: DashboardApi }): JSX.Element | null {
  const status = useStore(api.data, (d) => d.status);
  if (!status?.loading) return null;
  const fraction =
    status.bytes_total > 0
      ? status.bytes_done / status.bytes_total
      : status.runs_total > 0
        ? status.runs_done / status.runs_total
        : 0;
  const percent = Math.round(Math.min(1, fraction) * 100);
  return (
    <div class="progress" data-testid="loading-progress" title="Reading the log directory">
      <span class="progress__text">
        Loading {status.runs_done}/{status.runs_total} runs
        {status.bytes_total > 0 ? ` · ${formatBytes(status.bytes_done)} of ${formatBytes(status.bytes_total)}` : ''}
      </span>
      <span class="progress__bar">
        <span class="progress__fill" style={{ width: `${percent}%` }} />
      </span>
    </div>
  );
}

export function Header({ api, plugins, current, onReload }: HeaderProps): JSX.Element {
  const listing = useStore(api.data, (d) => d.listing);
  const environment = useStore(api.data, (d) => d.environment);
  const reloading = useStore(api.data, (d) => d.reloading);
  const error = useStore(api.data, (d) => d.error);
  const autoReload = useStore(api.settings, (s) => s.autoReload);
  const darkMode = useStore(api.view, (v) => v.darkMode);

  // Until the set of tabs is known the strip stays empty (it keeps its place in the header).
  const known = useTabsKnown(api);
  const active = known ? plugins.filter((name) => listing?.[name]?.enabled) : [];
  const inactive = known ? plugins.filter((name) => !listing?.[name]?.enabled) : [];
  const label = (name: string) => listing?.[name]?.tab_name || name;
  const select = (name: string) => api.view.set({ tab: name });

  // Tabs that do not fit go to the menu. Each tab's width is measured when it is drawn and
  // kept (the labels do not change), so the fit is recomputed without drawing them all again.
  const navRef = useRef<HTMLElement>(null);
  const widths = useRef(new Map<string, number>());
  const [available, setAvailable] = useState(Number.POSITIVE_INFINITY);
  useLayoutEffect(() => {
    const nav = navRef.current;
    if (!nav) return undefined;
    const measure = () => {
      for (const el of nav.querySelectorAll<HTMLElement>('[data-tab]')) {
        widths.current.set(el.dataset.tab!, el.offsetWidth);
      }
      setAvailable(nav.clientWidth);
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(nav);
    return () => observer.disconnect();
  }, []);
  useLayoutEffect(() => {
    for (const el of navRef.current?.querySelectorAll<HTMLElement>('[data-tab]') ?? []) {
      widths.current.set(el.dataset.tab!, el.offsetWidth);
    }
  });
  const all = fitTabs(active, widths.current, available, current);
  const { shown, hidden } =
    all.hidden.length === 0 && !inactive.length
      ? all
      : fitTabs(active, widths.current, Math.max(0, available - MENU_WIDTH), current);
  const inMenu = [...hidden, ...inactive];

  return (
    <header class="header">
      <div class="brand">
        <span class="brand__logo" aria-hidden="true" />
        <h1 class="brand__name">lumiboard</h1>
        {environment?.window_title ? (
          <span class="brand__title" data-testid="window-title">{environment.window_title}</span>
        ) : null}
      </div>
      <nav class="tabs" aria-label="Dashboards" ref={navRef}>
        {shown.map((name) => (
          <button
            type="button"
            class={`tab ${name === current ? 'tab--active' : ''}`}
            aria-current={name === current ? 'page' : undefined}
            data-testid={`tab-${name}`}
            data-tab={name}
            key={name}
            onClick={() => select(name)}
          >
            {label(name)}
          </button>
        ))}
        {inMenu.length ? (
          <details class="menu inactive" data-testid="inactive-menu">
            <summary class={`tab ${inactive.includes(current) ? 'tab--active' : ''}`}>
              {inactive.includes(current) ? label(current) : hidden.length ? 'More' : 'Inactive'} <ChevronIcon />
            </summary>
            <div class="menu__list">
              {inMenu.map((name, i) => (
                <Fragment key={name}>
                  {i === hidden.length && hidden.length ? <div class="menu__heading">Inactive</div> : null}
                  <button
                    type="button"
                    class="menu__item"
                    data-testid={`tab-${name}`}
                    onClick={(e) => {
                      select(name);
                      (e.currentTarget.closest('details') as HTMLDetailsElement).open = false;
                    }}
                  >
                    {label(name)}
                  </button>
                </Fragment>
              ))}
            </div>
          </details>
        ) : null}
      </nav>
      <Progress api={api} />
      {error ? (
        <span class="header__error" role="status" data-testid="reload-error" title={error}>
          {error}
        </span>
      ) : null}
      {/* A snapshot never changes: nothing to reload. */}
      {isSnapshot() ? null : (
        <>
          <button
            type="button"
            class={`icon-button header__button ${reloading ? 'spinning' : ''}`}
            title="Reload data"
            aria-label="Reload data"
            data-testid="reload-button"
            onClick={onReload}
          >
            <ReloadIcon />
          </button>
          <label class="header__toggle" title="Reload data periodically">
            <input
              type="checkbox"
              checked={autoReload}
              data-testid="auto-reload"
              onChange={(e) => api.settings.set({ autoReload: e.currentTarget.checked })}
            />
            Auto-reload
          </label>
        </>
      )}
      <label class="header__theme">
        <span class="visually-hidden">Theme</span>
        <select
          value={darkMode}
          data-testid="dark-mode"
          aria-label="Theme"
          onChange={(e) => api.view.set({ darkMode: e.currentTarget.value as DarkMode })}
        >
          <option value="auto">Browser default</option>
          <option value="light">Light</option>
          <option value="dark">Dark</option>
        </select>
      </label>
    </header>
  );
}
