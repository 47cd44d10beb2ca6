/**
 * The runs panel: regex filter, select all / none, a checkbox and a colour per run;
 * double-click a run to show only it. With hparams in the log directory, hparam and metric
 * columns can be shown beside the runs, sorted and filtered (RunColumnsBar). Scales to hundreds of
 * runs (runList.ts): sorted by time, name or any column, names cut in the middle, one tab stop
 * for the whole list (arrow keys move between rows), torch's `add_hparams` sub-runs folded into
 * their parent. The panel is resizable and collapsible, and starts as a rail on the canvas
 * dashboards (Projector, Profile).
 */
import type { JSX } from 'preact';
import { useCallback, useMemo, useState } from 'preact/hooks';

import { FilterInput } from '../components/FilterInput';
import { ExternalIcon } from '../components/icons';
import { pluginUrl } from '../core/api';
import type { DashboardApi } from '../core/dashboard';
import { filterRuns } from '../core/runs';
import { isSelected, selectAll, setSelected, solo } from '../core/selection';
import { useStore } from '../core/store';
import { useJson } from '../core/useJson';
import { RunHealthBadge } from '../health/Badges';
import { healthByRun } from '../health/model';
import { openHealth } from '../health/navigate';
import { healthStore } from '../health/store';
import { ColorByInput, ColumnsHead, ColumnsMenu } from './RunColumnsBar';
import { formatCell, listRuns, NO_COLUMNS, runColumns, type RawRunTable } from './runColumns';
import { runColumnsPrefs } from './runColumnsStore';
import { usePanelResize, useRovingRows } from './runsPanelControls';
import {
  attachSubruns,
  CANVAS_DASHBOARDS,
  hparamsSubruns,
  MAX_WIDTH,
  MIN_WIDTH,
  orderRuns,
  runsPanelLayout,
  splitName,
  type NameOrder,
} from './runList';
import { mlflowLink } from './runLinks';
import { useNarrow } from '../responsive';

/** The run's name, cut in the middle: the head shrinks behind an ellipsis, the tail stays. */
function RunName({ run }: { run: string }): JSX.Element {
  const { head, tail } = splitName(run);
  return (
    <>
      <span class="run__name-head">{head}</span>
      {tail ? <span class="run__name-tail">{tail}</span> : null}
    </>
  );
}

export function RunsPanel({ api, plugin = '' }: { api: DashboardApi; plugin?: string }): JSX.Element {
  const layout = useStore(runsPanelLayout(), (l) => l);
  // On a canvas dashboard, and on a narrow screen, the panel is a rail until opened there (for
  // this visit of the tab).
  const narrow = useNarrow();
  const onCanvas = CANVAS_DASHBOARDS.has(plugin) || narrow;
  const [openOn, setOpenOn] = useState<string | null>(null);
  const collapsed = onCanvas ? openOn !== plugin : layout.collapsed;
  const toggleCollapsed = () => {
    if (onCanvas) setOpenOn(openOn === plugin ? null : plugin);
    else runsPanelLayout().set({ collapsed: !layout.collapsed });
  };
  if (collapsed) {
    return (
      <aside class="runs runs--collapsed" aria-label="Runs" data-testid="runs-panel" data-collapsed="true">
        <button
          type="button"
          class="runs__collapse"
          data-testid="runs-panel-toggle"
          aria-expanded="false"
          title="Show the runs panel"
          onClick={toggleCollapsed}
        >
          <span aria-hidden="true">»</span>
          <span class="runs__rail-label">Runs</span>
        </button>
      </aside>
    );
  }
  return <RunsPanelOpen api={api} width={layout.width} order={layout.order} onCollapse={toggleCollapsed} />;
}

function RunsPanelOpen({
  api,
  width,
  order,
  onCollapse,
}: {
  api: DashboardApi;
  width: number | null;
  order: NameOrder;
  onCollapse: () => void;
}): JSX.Element {
  const allRuns = useStore(api.data, (d) => d.runs);
  const runFilter = useStore(api.view, (v) => v.runFilter);
  const links = useStore(api.data, (d) => d.status?.links);
  const selection = useStore(api.view, (v) => v.selection);
  useStore(api.colors.store, (c) => c.version);

  const hparamsOn = useStore(api.data, (d) => d.listing?.hparams?.enabled === true);
  const table = useJson<RawRunTable>(api, hparamsOn ? pluginUrl('hparams', 'table') : null);
  // torch's add_hparams sub-runs are no rows of their own: their values show on the parent.
  const subruns = useMemo(() => hparamsSubruns(allRuns, table.data ?? null), [allRuns, table.data]);
  const children = useMemo(() => {
    const out = new Map<string, string[]>();
    for (const [child, parent] of subruns) out.set(parent, [...(out.get(parent) ?? []), child]);
    return out;
  }, [subruns]);
  const runs = useMemo(
    () => (subruns.size ? allRuns.filter((run) => !subruns.has(run)) : allRuns),
    [allRuns, subruns],
  );
  const columns = useMemo(
    () => (table.data ? runColumns(attachSubruns(table.data, subruns), runs) : NO_COLUMNS),
    [table.data, runs, subruns],
  );
  const prefs = useStore(runColumnsPrefs(), (p) => p);
  const shownColumns = prefs.shown
    .map((id) => columns.columns.findIndex((c) => c.id === id))
    .filter((i) => i >= 0);
  const listed = useMemo(
    () => listRuns(orderRuns(filterRuns(runs, runFilter), order), columns, prefs),
    [runs, runFilter, columns, prefs, order],
  );
  const visible = listed.runs;
  const columnFiltered = listed.filtered;
  const selectedCount = runs.filter((run) => isSelected(selection, run)).length;
  const visibleSelected = visible.filter((run) => isSelected(selection, run)).length;
  const onFilter = useCallback((text: string) => api.view.set({ runFilter: text }), [api]);
  const healthFlags = useStore(healthStore(), (h) => h.report.flags);
  const health = useMemo(() => healthByRun(healthFlags), [healthFlags]);
  const onHealth = useCallback((run: string) => openHealth(api, { run }), [api]);
  const withChildren = (list: string[]) => list.flatMap((run) => [run, ...(children.get(run) ?? [])]);
  const setAll = (on: boolean) =>
    api.view.set({ selection: selectAll(selection, withChildren(visible), allRuns, on) });

  const { listRef, active, setActiveRun, onListKey } = useRovingRows(visible);

  // Sort: by time (the server's order), by name, or by a column (shown beside the runs).
  const sortColumn = prefs.sort.column && prefs.shown.includes(prefs.sort.column) ? prefs.sort.column : '';
  const sortValue = sortColumn ? `col:${prefs.sort.descending ? 'desc' : 'asc'}:${sortColumn}` : order;
  const onSort = (value: string) => {
    const match = /^col:(asc|desc):(.*)$/.exec(value);
    const store = runColumnsPrefs();
    if (match) {
      const column = match[2]!;
      const current = store.get();
      store.set({
        sort: { column, descending: match[1] === 'desc' },
        shown: current.shown.includes(column) ? current.shown : [...current.shown, column],
      });
    } else {
      store.set({ sort: { column: '', descending: false } });
      runsPanelLayout().set({ order: value as NameOrder });
    }
  };

  const { panelRef, dragWidth, onResizeStart, onResizeKey } = usePanelResize();
  const shownWidth = dragWidth ?? width;
  const panelStyle: Record<string, string> = {};
  if (shownColumns.length) panelStyle['--run-columns'] = String(Math.min(shownColumns.length, 6));
  if (shownWidth !== null) {
    panelStyle.width = `${shownWidth}px`;
    panelStyle.maxWidth = 'none';
  }

  return (
    <aside
      class={`runs ${shownColumns.length ? 'runs--wide' : ''}`}
      aria-label="Runs"
      data-testid="runs-panel"
      data-collapsed="false"
      ref={panelRef}
      style={panelStyle}
    >
      <div class="panel-title">
        <span>Runs</span>
        <span class="panel-title__count" data-testid="runs-count">
          {selectedCount} of {runs.length} selected
        </span>
        <button
          type="button"
          class="runs__collapse"
          data-testid="runs-panel-toggle"
          aria-expanded="true"
          title="Hide the runs panel"
          aria-label="Hide the runs panel"
          onClick={onCollapse}
        >
          «
        </button>
      </div>
      <FilterInput
        value={runFilter}
        onCommit={onFilter}
        placeholder="Filter runs (regex)"
        label="Filter runs (regex)"
        testid="run-filter"
      />
      <div class="runs__actions">
        <label class="runs__all">
          <input
            type="checkbox"
            data-testid="runs-toggle-all"
            checked={visible.length > 0 && visibleSelected === visible.length}
            ref={(el) => {
              if (el) el.indeterminate = visibleSelected > 0 && visibleSelected < visible.length;
            }}
            onChange={(e) => setAll(e.currentTarget.checked)}
          />
          {runFilter || columnFiltered ? `${visible.length} matching` : 'All runs'}
        </label>
        <span class="runs__links">
          {columnFiltered ? (
            <button
              type="button"
              class="link-button"
              data-testid="runs-select-only"
              title="Show only the runs listed (the ones the column filters keep)"
              onClick={() => api.view.set({ selection: { mode: 'only', runs: [...visible].sort() } })}
            >
              only these
            </button>
          ) : null}
          <button type="button" class="link-button" data-testid="runs-select-all" onClick={() => setAll(true)}>
            all
          </button>
          <button type="button" class="link-button" data-testid="runs-select-none" onClick={() => setAll(false)}>
            none
          </button>
        </span>
      </div>
      <div class="runs__tools">
        {columns.columns.length ? <ColumnsMenu columns={columns} prefs={prefs} /> : null}
        <ColorByInput colors={api.colors} />
        <label class="runs__sort">
          Sort
          <select
            value={sortValue}
            data-testid="runs-sort"
            aria-label="Sort runs"
            onChange={(e) => onSort(e.currentTarget.value)}
          >
            <option value="time" title="The order runs were first logged in">time</option>
            <option value="name">A → Z</option>
            <option value="name-desc">Z → A</option>
            {columns.columns.flatMap((column) => [
              <option key={`a${column.id}`} value={`col:asc:${column.id}`}>
                {column.label} ↑
              </option>,
              <option key={`d${column.id}`} value={`col:desc:${column.id}`}>
                {column.label} ↓
              </option>,
            ])}
          </select>
        </label>
      </div>
      <div class="runs__body">
      {shownColumns.length ? <ColumnsHead columns={columns} prefs={prefs} errors={listed.errors} /> : null}
      <ul class="runs__list" data-testid="runs-list" ref={listRef} onKeyDown={onListKey}>
        {visible.map((run) => {
          const on = isSelected(selection, run);
          const color = api.colors.get(run);
          const page = mlflowLink(links, run);
          return (
            <li
              class={`run ${on ? '' : 'run--off'}`}
              data-testid="run-row"
              data-run={run}
              key={run}
              onFocusIn={() => {
                if (run !== active) setActiveRun(run);
              }}
            >
              <input
                type="checkbox"
                checked={on}
                aria-label={`Show run ${run}`}
                data-testid="run-checkbox"
                data-run={run}
                onChange={(e) =>
                  api.view.set({ selection: setSelected(selection, withChildren([run]), e.currentTarget.checked) })
                }
              />
              <label class="run__swatch" style={{ background: color }} title="Change colour">
                <input
                  type="color"
                  value={color}
                  aria-label={`Colour of run ${run}`}
                  data-testid="run-color"
                  data-run={run}
                  onChange={(e) => api.colors.set(run, e.currentTarget.value)}
                />
              </label>
              <span
                class="run__name"
                title={`${run}\nDouble-click to show only this run`}
                data-testid="run-name"
                onClick={() => api.view.set({ selection: setSelected(selection, withChildren([run]), !on) })}
                onDblClick={(e) => {
                  e.preventDefault();
                  window.getSelection()?.removeAllRanges();
                  api.view.set({ selection: solo(run) });
                }}
              >
                <RunName run={run} />
              </span>
              {page ? (
                <a
                  class="run__link"
                  href={page}
                  target="_blank"
                  rel="noopener noreferrer"
                  title="Open this run in MLflow"
                  aria-label={`Open run ${run} in MLflow`}
                  data-testid="run-mlflow-link"
                >
                  <ExternalIcon />
                </a>
              ) : null}
              {health.has(run) ? <RunHealthBadge run={run} summary={health.get(run)!} onOpen={onHealth} /> : null}
              {shownColumns.map((i) => {
                const value = columns.values.get(run)?.[i] ?? null;
                const column = columns.columns[i];
                return (
                  <span
                    key={column.id}
                    class={`run__cell ${column.numeric ? 'run__cell--number' : ''}`}
                    data-testid="run-cell"
                    data-col={column.id}
                    title={`${column.label}: ${value === null ? '(none)' : String(value)}`}
                  >
                    {formatCell(value)}
                  </span>
                );
              })}
            </li>
          );
        })}
        {runs.length === 0 ? <li class="runs__empty">No runs yet.</li> : null}
        {runs.length > 0 && visible.length === 0 ? (
          <li class="runs__empty">No run matches this filter.</li>
        ) : null}
      </ul>
      </div>
      <div
        class="runs__resize"
        role="separator"
        aria-orientation="vertical"
        aria-label="Resize the runs panel"
        aria-valuemin={MIN_WIDTH}
        aria-valuemax={MAX_WIDTH}
        aria-valuenow={Math.round(shownWidth ?? panelRef.current?.getBoundingClientRect().width ?? 272)}
        tabIndex={0}
        data-testid="runs-panel-resize"
        onPointerDown={onResizeStart}
        onKeyDown={onResizeKey}
      />
    </aside>
  );
}
