/**
 * The runs panel: regex filter, select all / none, a checkbox and a colour per run;
 * double-click a run to show only it. With hparams in the log directory, hparam and metric
 * columns can be shown beside the runs, sorted and filtered (RunColumnsBar).
 */
import type { JSX } from 'preact';
import { useCallback, useMemo } from 'preact/hooks';

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
import { mlflowLink } from './runLinks';

export function RunsPanel({ api }: { api: DashboardApi }): JSX.Element {
  const runs = useStore(api.data, (d) => d.runs);
  const runFilter = useStore(api.view, (v) => v.runFilter);
  const links = useStore(api.data, (d) => d.status?.links);
  const selection = useStore(api.view, (v) => v.selection);
  useStore(api.colors.store, (c) => c.version);

  const hparamsOn = useStore(api.data, (d) => d.listing?.hparams?.enabled === true);
  const table = useJson<RawRunTable>(api, hparamsOn ? pluginUrl('hparams', 'table') : null);
  const columns = useMemo(() => (table.data ? runColumns(table.data, runs) : NO_COLUMNS), [table.data, runs]);
  const prefs = useStore(runColumnsPrefs(), (p) => p);
  const shownColumns = prefs.shown
    .map((id) => columns.columns.findIndex((c) => c.id === id))
    .filter((i) => i >= 0);
  const listed = useMemo(
    () => listRuns(filterRuns(runs, runFilter), columns, prefs),
    [runs, runFilter, columns, prefs],
  );
  const visible = listed.runs;
  const columnFiltered = listed.filtered;
  const selectedCount = runs.filter((run) => isSelected(selection, run)).length;
  const visibleSelected = visible.filter((run) => isSelected(selection, run)).length;
  const onFilter = useCallback((text: string) => api.view.set({ runFilter: text }), [api]);
  const healthFlags = useStore(healthStore(), (h) => h.report.flags);
  const health = useMemo(() => healthByRun(healthFlags), [healthFlags]);
  const onHealth = useCallback((run: string) => openHealth(api, { run }), [api]);
  const setAll = (on: boolean) =>
    api.view.set({ selection: selectAll(selection, visible, runs, on) });

  return (
    <aside
      class={`runs ${shownColumns.length ? 'runs--wide' : ''}`}
      aria-label="Runs"
      data-testid="runs-panel"
      style={shownColumns.length ? { '--run-columns': String(Math.min(shownColumns.length, 6)) } : undefined}
    >
      <div class="panel-title">
        <span>Runs</span>
        <span class="panel-title__count" data-testid="runs-count">
          {selectedCount} of {runs.length} selected
        </span>
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
      </div>
      <div class="runs__body">
      {shownColumns.length ? <ColumnsHead columns={columns} prefs={prefs} errors={listed.errors} /> : null}
      <ul class="runs__list" data-testid="runs-list">
        {visible.map((run) => {
          const on = isSelected(selection, run);
          const color = api.colors.get(run);
          const page = mlflowLink(links, run);
          return (
            <li class={`run ${on ? '' : 'run--off'}`} data-testid="run-row" data-run={run} key={run}>
              <input
                type="checkbox"
                checked={on}
                aria-label={`Show run ${run}`}
                data-testid="run-checkbox"
                data-run={run}
                onChange={(e) =>
                  api.view.set({ selection: setSelected(selection, [run], e.currentTarget.checked) })
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
                onClick={() =>
                  api.view.set({ selection: setSelected(selection, [run], !on) })
                }
                onDblClick={(e) => {
                  e.preventDefault();
                  window.getSelection()?.removeAllRanges();
                  api.view.set({ selection: solo(run) });
                }}
              >
                {run}
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
    </aside>
  );
}
