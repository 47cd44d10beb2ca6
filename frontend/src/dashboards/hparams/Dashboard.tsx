/**
 * The HParams dashboard: the query pane on the left, and three views of the same filtered
 * sessions (table, parallel coordinates, scatter plot matrix). The whole table comes from one
 * route (`data/plugin/hparams/table`) and is filtered and sorted here; it follows the app's run
 * selection (deselected runs are hidden or greyed) and can set it ("Select these runs").
 */
import type { JSX } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';

import type { DashboardApi } from '../../core/dashboard';
import { PALETTE } from '../../core/colors';
import { shownRuns } from '../../core/runs';
import { useJson } from '../../core/useJson';
import { pluginUrl } from '../../core/api';
import { useStore } from '../../core/store';
import { samePairs, type QueryPairs } from '../../core/state';
import { EmptyState } from '../../components/EmptyState';
import { LoadNotice, NoRunsSelected, Notice } from '../../components/DashboardStates';
import { saveSheet, sheetOf, type DownloadFormat } from './download';
import {
  categories,
  filterRows,
  isCategorical,
  numericScale,
  pageOf,
  parseTable,
  rampColor,
  sortRows,
  valueKey,
  type ColumnFilter,
  type RawTable,
  type Row,
  type ScaleKind,
} from './model';
import { ParallelView } from './ParallelView';
import { QueryPane, type QueryState } from './QueryPane';
import { ScatterView } from './ScatterView';
import { SessionCharts } from './SessionCharts';
import { TableView } from './TableView';
import type { ShownColumn, ViewProps } from './views';
import { decodeHParams, encodeHParams, type Tab } from './urlState';

const TABS: { id: Tab; label: string }[] = [
  { id: 'table', label: 'Table view' },
  { id: 'parallel', label: 'Parallel coordinates' },
  { id: 'scatter', label: 'Scatter plot matrix' },
];

const EXAMPLE = `    if step == 0:  # once per trial (one run each): its hyperparameters
        from lumiboard import hparams as hp  # TensorBoard's hp API, without TensorFlow
        hp.hparams({"lr": 0.01, "optimizer": "adam"}, writer=writer)
    writer.add_scalar("accuracy", evaluate(), step)  # a metric of the trial
# or, as torch does, once at the end of a trial:
# writer.add_hparams({"lr": 0.01}, {"hparam/accuracy": accuracy})`;

export function HParamsDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const loaded = useStore(api.data, (d) => d.loaded);
  const loading = useStore(api.data, (d) => d.status?.loading ?? false);
  const dataLocation = useStore(api.data, (d) => d.environment?.data_location);
  const allRuns = useStore(api.data, (d) => d.runs);
  const selection = useStore(api.view, (v) => v.selection);
  const runFilter = useStore(api.view, (v) => v.runFilter);
  const colorsVersion = useStore(api.colors.store, (c) => c.version);
  useStore(api.theme, (t) => t.dark);

  const response = useJson<RawTable>(api, pluginUrl('hparams', 'table'));
  const table = useMemo(() => (response.data ? parseTable(response.data) : null), [response.data]);
  // The query state lives in the URL (hp* keys, see urlState.ts): read once, written on change,
  // and re-read when the URL changes under it (back / forward).
  const urlPairs = useStore(api.view, (v) => v.hparams);
  const initial = useMemo(() => decodeHParams(urlPairs), []);
  const [state, setState] = useState<QueryState>(initial.query);
  const [tab, setTab] = useState<Tab>(initial.tab);
  const [kinds, setKinds] = useState<Readonly<Record<string, ScaleKind>>>(initial.kinds);
  const encoded = useMemo(() => encodeHParams({ tab, query: state, kinds }), [tab, state, kinds]);
  const encodedRef = useRef(encoded);
  encodedRef.current = encoded;
  // Our own writes, oldest first, until the store hands each back: a write echoed after a newer
  // local change must not be mistaken for navigation (it would undo that change).
  const pending = useRef<QueryPairs[]>([]);
  useEffect(() => {
    if (samePairs(encoded, api.view.get().hparams)) return;
    pending.current = [...pending.current.slice(-31), encoded];
    api.view.set({ hparams: encoded });
  }, [encoded]);
  useEffect(() => {
    const echoed = pending.current.findIndex((pairs) => samePairs(pairs, urlPairs));
    if (echoed >= 0) {
      pending.current = pending.current.slice(echoed + 1);
      return;
    }
    if (samePairs(urlPairs, encodedRef.current)) return;
    const next = decodeHParams(urlPairs);
    setState(next.query);
    setTab(next.tab);
    setKinds(next.kinds);
  }, [urlPairs]);
  const [hovered, setHovered] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);

  const patch = useCallback((next: Partial<QueryState>) => setState((s) => ({ ...s, ...next })), []);
  const onFilter = useCallback((column: string, filter: ColumnFilter | null) => {
    setState((s) => {
      const filters = { ...s.filters };
      if (filter) filters[column] = filter;
      else delete filters[column];
      return { ...s, filters, page: 1 };
    });
  }, []);

  const shownSet = useMemo(() => new Set(shownRuns(allRuns, runFilter, selection)), [allRuns, runFilter, selection]);
  const filtered = useMemo(() => {
    if (!table) return [];
    const rows = filterRows(table, { filters: state.filters, statuses: state.statuses, sort: state.sort });
    return state.deselected === 'hide' ? rows.filter((r) => shownSet.has(r.run)) : rows;
  }, [table, state.filters, state.statuses, state.deselected, shownSet]);
  const sorted = useMemo(() => (table ? sortRows(table, filtered, state.sort) : []), [table, filtered, state.sort]);
  const paged = pageOf(sorted, state.pageSize, state.page);
  const faded = useMemo(
    () => new Set(state.deselected === 'grey' ? sorted.filter((r) => !shownSet.has(r.run)).map((r) => r.run) : []),
    [sorted, shownSet, state.deselected],
  );
  const columns: ShownColumn[] = useMemo(
    () => (table ? table.columns.map((column, index) => ({ column, index })).filter((c) => !state.hidden.has(c.column.id)) : []),
    [table, state.hidden],
  );

  const color = useMemo(() => {
    const index = table ? table.columns.findIndex((c) => c.id === state.colorBy) : -1;
    if (!table || index < 0) return (row: Row) => api.colors.get(row.run);
    const column = table.columns[index]!;
    if (isCategorical(column)) {
      const keys = categories(column, table.rows, index).map(valueKey);
      return (row: Row) => {
        const k = keys.indexOf(valueKey(row.values[index] ?? null));
        return k < 0 ? '#9e9e9e' : PALETTE[k % PALETTE.length]!;
      };
    }
    const scale = numericScale(
      table.rows.map((r) => r.values[index]).filter((v): v is number => typeof v === 'number'),
      kinds[column.id] ?? 'linear',
    );
    return (row: Row) => {
      const u = scale.toUnit(row.values[index] ?? null);
      return u === null ? '#9e9e9e' : rampColor(u);
    };
  }, [table, state.colorBy, kinds, colorsVersion]);

  const selectRuns = () => {
    const sessions = sorted.map((r) => r.run);
    const runs = allRuns.filter((run) => sessions.some((s) => s === '.' || run === s || run.startsWith(`${s}/`)));
    api.view.set({ selection: { mode: 'only', runs: [...runs].sort() } });
  };
  const download = (format: DownloadFormat) => saveSheet(sheetOf(columns, sorted), format);

  if (!table || !loaded) {
    return (
      <div class="hparams">
        <LoadNotice error={response.error} subject="the hyperparameters" loading="hyperparameters" errorTestid="hp-error" />
      </div>
    );
  }
  if (table.rows.length === 0) {
    return (
      <div class="hparams">
        <EmptyState title="No hyperparameter sessions yet" what="hyperparameter sessions" example={EXAMPLE} dataLocation={dataLocation} loading={loading} />
      </div>
    );
  }

  const props: ViewProps = {
    api,
    columns,
    rows: sorted,
    faded,
    color,
    hovered,
    onHover: setHovered,
    selected,
    onSelect: setSelected,
    sort: state.sort,
    onSort: (sort) => patch({ sort }),
  };
  const selectedRow = selected ? table.rows.find((r) => r.run === selected) : undefined;
  const noneSelected = state.deselected === 'hide' && !table.rows.some((r) => shownSet.has(r.run));

  return (
    <div class="hparams">
      <QueryPane
        columns={table.columns}
        rows={table.rows}
        state={state}
        pages={paged.pages}
        shown={sorted.length}
        onChange={(next) => patch(next)}
        onFilter={onFilter}
        onDownload={download}
        onSelectRuns={selectRuns}
      />
      <div class="hparams__main">
        <div class="toolbar hp-tabs" role="tablist">
          {TABS.map((t) => (
            <button
              key={t.id}
              type="button"
              role="tab"
              class={`button ${tab === t.id ? 'button--on' : ''}`}
              aria-selected={tab === t.id}
              data-testid={`hp-tab-${t.id}`}
              onClick={() => setTab(t.id)}
            >
              {t.label}
            </button>
          ))}
          <span class="toolbar__count" data-testid="hp-count">
            {sorted.length} of {table.rows.length} sessions
          </span>
          {response.error ? <span class="card__error">{response.error}</span> : null}
        </div>
        {noneSelected ? (
          <NoRunsSelected api={api} lead="No session's run is selected." />
        ) : sorted.length === 0 ? (
          <Notice testid="hp-no-match">No session passes the filters.</Notice>
        ) : null}
        <div class="hparams__view">
          {tab === 'table' ? <TableView {...props} page={paged.items} /> : null}
          {tab === 'parallel' ? (
            <ParallelView
              {...props}
              allRows={table.rows}
              kinds={kinds}
              onKind={(column, kind) => setKinds((k) => ({ ...k, [column]: kind }))}
              filters={state.filters}
              onFilter={onFilter}
            />
          ) : null}
          {tab === 'scatter' ? <ScatterView {...props} allRows={table.rows} kinds={kinds} /> : null}
        </div>
        {selectedRow && tab !== 'table' ? (
          <section class="hp-selected" data-testid="hp-selected">
            <div class="hp-selected__head">
              <span class="hp-swatch" style={{ background: color(selectedRow) }} />
              <b>{selectedRow.run}</b>
              <button type="button" class="link-button" onClick={() => setSelected(null)}>
                close
              </button>
            </div>
            <SessionCharts
              api={api}
              session={selectedRow.run}
              metrics={columns.filter((c) => c.column.kind === 'metric').map((c) => c.column)}
              color={color(selectedRow)}
            />
          </section>
        ) : null}
      </div>
    </div>
  );
}
