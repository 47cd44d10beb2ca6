/**
 * The Health view: every flag the server found (non-finite values, divergence, spikes,
 * exploding or vanishing gradients) and every alert from `lumiboard.alert()`, in one sortable
 * table, filtered by level, kind, run or tag; each row opens its chart.
 */
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';

import type { DashboardApi } from '../../core/dashboard';
import { formatStep, formatWallTime } from '../../core/format';
import { useStore } from '../../core/store';
import { Notice } from '../../components/DashboardStates';
import {
  distinct,
  filterFlags,
  flagKey,
  kindLabel,
  LEVELS,
  nextSort,
  NO_FILTER,
  sortFlags,
  type FlagFilter,
  type HealthFlag,
  type Level,
  type SortKey,
} from '../../health/model';
import { openChart } from '../../health/navigate';
import { healthStore, healthView } from '../../health/store';

const COLUMNS: { key: SortKey; label: string; numeric?: boolean }[] = [
  { key: 'level', label: 'Level' },
  { key: 'run', label: 'Run' },
  { key: 'tag', label: 'Tag' },
  { key: 'kind', label: 'Kind' },
  { key: 'step', label: 'Step', numeric: true },
  { key: 'message', label: 'Message' },
  { key: 'wall_time', label: 'Wall time' },
];

function FilterSelect({
  label,
  field,
  options,
  filter,
  format = (value) => value,
}: {
  label: string;
  field: keyof FlagFilter;
  options: readonly string[];
  filter: FlagFilter;
  format?: (value: string) => string;
}): JSX.Element {
  const value = filter[field];
  // A filter value no flag has (any more) stays offered, so the select shows what filters.
  const all = value && !options.includes(value) ? [value, ...options] : options;
  return (
    <label class="health__filter">
      {label}
      <select
        value={value}
        data-testid={`health-filter-${field}`}
        onChange={(e) => healthView().set({ filter: { ...filter, [field]: e.currentTarget.value } })}
      >
        <option value="">any</option>
        {all.map((option) => (
          <option key={option} value={option}>
            {format(option)}
          </option>
        ))}
      </select>
    </label>
  );
}

function EmptyHealth({ unsupported }: { unsupported: boolean }): JSX.Element {
  return (
    <div class="empty" data-testid="health-empty">
      <h2>No health flags</h2>
      {unsupported ? (
        <p class="empty__lead">This server does not report health flags (it has no data/health route).</p>
      ) : (
        <p class="empty__lead">
          No run has a non-finite value, a diverging loss, a spike or exploding or vanishing gradients, and no
          alert was recorded. Flags appear here, on the runs and on the charts, as soon as the server finds one.
        </p>
      )}
      <p>Training code can raise an alert of its own:</p>
      <pre class="code">
        <code>{`import lumiboard

lumiboard.alert("Loss is NaN", f"at step {step}", level="error", writer=writer, step=step)`}</code>
      </pre>
    </div>
  );
}

function Row({ api, flag }: { api: DashboardApi; flag: HealthFlag }): JSX.Element {
  const alert = flag.kind === 'alert';
  return (
    <tr class="health__row" data-testid="health-row" data-run={flag.run} data-tag={flag.tag} data-kind={flag.kind} data-level={flag.level}>
      <td>
        <span class={`health-level health-level--${flag.level}`}>{flag.level}</span>
      </td>
      <td class="health__run" title={flag.run}>
        <span class="health__swatch" style={{ background: api.colors.get(flag.run) }} />
        {flag.run}
      </td>
      <td title={flag.tag}>{flag.tag}</td>
      <td>{kindLabel(flag.kind)}</td>
      <td class="health__num">{formatStep(flag.step)}</td>
      <td class="health__message" title={flag.message}>
        {flag.message}
      </td>
      <td class="health__time">{formatWallTime(flag.wall_time)}</td>
      <td>
        <button
          type="button"
          class="link-button"
          data-testid="health-open"
          title={alert ? 'Show the alert in the Text dashboard' : `Show ${flag.tag} of ${flag.run} in Scalars`}
          onClick={() => openChart(api, flag)}
        >
          {alert ? 'Open text' : 'Open chart'}
        </button>
      </td>
    </tr>
  );
}

export function HealthDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const state = useStore(healthStore(), (h) => h);
  const { filter, sort } = useStore(healthView(), (v) => v);
  useStore(api.colors.store, (c) => c.version);
  const flags = state.report.flags;
  const rows = useMemo(() => sortFlags(filterFlags(flags, filter), sort), [flags, filter, sort]);
  const runs = useMemo(() => distinct(flags, 'run'), [flags]);
  const kinds = useMemo(() => distinct(flags, 'kind'), [flags]);
  const tags = useMemo(() => distinct(flags, 'tag'), [flags]);
  const filtered = (Object.keys(filter) as (keyof FlagFilter)[]).some((key) => filter[key] !== '');

  let body: JSX.Element;
  if (!state.loaded) {
    body = <Notice testid="health-loading">Loading the health flags…</Notice>;
  } else if (flags.length === 0) {
    body = <EmptyHealth unsupported={state.unsupported} />;
  } else {
    body = (
      <div class="health__table-wrap">
        <table class="health__table" data-testid="health-table">
          <thead>
            <tr>
              {COLUMNS.map((column) => {
                const sorted = sort.key === column.key;
                return (
                  <th
                    key={column.key}
                    class={column.numeric ? 'health__num' : ''}
                    aria-sort={sorted ? (sort.descending ? 'descending' : 'ascending') : 'none'}
                  >
                    <button
                      type="button"
                      class={`health__sort ${sorted ? 'health__sort--on' : ''}`}
                      data-testid="health-sort"
                      data-key={column.key}
                      title={`Sort by ${column.label.toLowerCase()} (again: reverse)`}
                      onClick={() => healthView().set({ sort: nextSort(sort, column.key) })}
                    >
                      {column.label}
                      {sorted ? <span class="health__arrow">{sort.descending ? '▼' : '▲'}</span> : null}
                    </button>
                  </th>
                );
              })}
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((flag) => (
              <Row key={flagKey(flag)} api={api} flag={flag} />
            ))}
          </tbody>
        </table>
        {rows.length === 0 ? <Notice testid="health-no-match">No flag matches these filters.</Notice> : null}
      </div>
    );
  }

  return (
    <div class="health" data-testid="health-view">
      <div class="toolbar health__toolbar">
        <FilterSelect label="Level" field="level" options={LEVELS as Level[]} filter={filter} />
        <FilterSelect label="Kind" field="kind" options={kinds} filter={filter} format={kindLabel} />
        <FilterSelect label="Run" field="run" options={runs} filter={filter} />
        <FilterSelect label="Tag" field="tag" options={tags} filter={filter} />
        {filtered ? (
          <button
            type="button"
            class="link-button"
            data-testid="health-clear-filters"
            onClick={() => healthView().set({ filter: NO_FILTER })}
          >
            clear filters
          </button>
        ) : null}
        <span class="toolbar__count" data-testid="health-count">
          {state.loaded ? `${rows.length} of ${flags.length} flag${flags.length === 1 ? '' : 's'}` : ''}
        </span>
      </div>
      {state.error ? (
        <Notice error testid="health-error">
          Could not refresh the health flags: {state.error}
          {flags.length ? ' (showing the last ones received)' : ''}
        </Notice>
      ) : null}
      {body}
    </div>
  );
}
