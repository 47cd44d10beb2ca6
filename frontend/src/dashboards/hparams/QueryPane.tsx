/**
 * The left query pane: which columns to show and their filters (value checkboxes, min/max,
 * regex), the status filter, sorting, paging, colouring, downloads and the link with the
 * app's run selection.
 */
import type { JSX } from 'preact';

import {
  STATUSES,
  categories,
  formatValue,
  isCategorical,
  valueKey,
  type Column,
  type ColumnFilter,
  type Row,
  type Sort,
  type Status,
} from './model';
import type { DownloadFormat } from './download';
import { DraftInput } from '../../components/DraftInput';

export interface QueryState {
  hidden: ReadonlySet<string>;
  filters: Readonly<Record<string, ColumnFilter>>;
  statuses: readonly Status[];
  sort: Sort | null;
  pageSize: number;
  page: number;
  colorBy: string;
  deselected: 'hide' | 'grey';
}

export interface QueryPaneProps {
  columns: readonly Column[];
  rows: readonly Row[];
  state: QueryState;
  pages: number;
  shown: number;
  onChange(patch: Partial<QueryState>): void;
  onFilter(column: string, filter: ColumnFilter | null): void;
  onDownload(format: DownloadFormat): void;
  onSelectRuns(): void;
}

function parseBound(text: string): number | null {
  if (text.trim() === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

function FilterEditor(props: {
  column: Column;
  index: number;
  rows: readonly Row[];
  filter: ColumnFilter | undefined;
  onFilter(filter: ColumnFilter | null): void;
}): JSX.Element {
  const { column, index, rows, filter, onFilter } = props;
  if (isCategorical(column)) {
    const values = categories(column, rows, index);
    const keep = filter?.kind === 'discrete' ? new Set(filter.keep) : null;
    const regex = filter?.kind === 'regex' ? filter.pattern : '';
    return (
      <div class="hp-filter">
        {values.map((value) => {
          const key = valueKey(value);
          const on = keep === null || keep.has(key);
          return (
            <label key={key} class="hp-check">
              <input
                type="checkbox"
                checked={on}
                data-testid="hp-discrete"
                data-column={column.id}
                data-value={formatValue(value)}
                onChange={() => {
                  const current = keep ?? new Set(values.map(valueKey));
                  const next = new Set(current);
                  if (on) next.delete(key);
                  else next.add(key);
                  onFilter(next.size === values.length ? null : { kind: 'discrete', keep: [...next] });
                }}
              />
              <span>{formatValue(value)}</span>
            </label>
          );
        })}
        {column.type === 'string' ? (
          <DraftInput
            class="hp-input"
            placeholder="regex"
            value={regex}
            data-testid="hp-regex"
            data-column={column.id}
            aria-label={`Regex filter of ${column.label}`}
            onCommit={(text) => onFilter(text ? { kind: 'regex', pattern: text } : null)}
          />
        ) : null}
      </div>
    );
  }
  const interval = filter?.kind === 'interval' ? filter : null;
  const bound = (which: 'min' | 'max') => (
    <DraftInput
      inputMode="decimal"
      class="hp-input hp-input--bound"
      placeholder={which}
      value={interval?.[which] ?? ''}
      data-testid={`hp-${which}`}
      data-column={column.id}
      aria-label={`${which === 'min' ? 'Minimum' : 'Maximum'} of ${column.label}`}
      onCommit={(text) => {
        const value = parseBound(text);
        const next = { kind: 'interval' as const, min: interval?.min ?? null, max: interval?.max ?? null, [which]: value };
        onFilter(next.min === null && next.max === null ? null : next);
      }}
    />
  );
  return (
    <div class="hp-filter hp-filter--interval">
      {bound('min')}
      <span>–</span>
      {bound('max')}
    </div>
  );
}

export function QueryPane(props: QueryPaneProps): JSX.Element {
  const { columns, rows, state, onChange, onFilter } = props;
  const section = (kind: 'hparam' | 'metric', title: string) => {
    const list = columns.map((column, index) => ({ column, index })).filter((c) => c.column.kind === kind);
    return (
      <section class="hp-pane__section">
        <h3>{title}</h3>
        {list.length === 0 ? <div class="hp-pane__none">none</div> : null}
        {list.map(({ column, index }) => {
          const visible = !state.hidden.has(column.id);
          return (
            <div key={column.id} class="hp-pane__column">
              <label class="hp-check" title={column.description || column.label}>
                <input
                  type="checkbox"
                  checked={visible}
                  data-testid="hp-column-toggle"
                  data-column={column.id}
                  onChange={() => {
                    const hidden = new Set(state.hidden);
                    if (visible) hidden.add(column.id);
                    else hidden.delete(column.id);
                    onChange({ hidden });
                  }}
                />
                <span class="hp-pane__name">{column.label}</span>
                {state.filters[column.id] ? (
                  <button type="button" class="link-button hp-clear" title="Clear this filter" onClick={() => onFilter(column.id, null)}>
                    clear
                  </button>
                ) : null}
              </label>
              {visible ? (
                <FilterEditor
                  column={column}
                  index={index}
                  rows={rows}
                  filter={state.filters[column.id]}
                  onFilter={(f) => onFilter(column.id, f)}
                />
              ) : null}
            </div>
          );
        })}
      </section>
    );
  };
  return (
    <aside class="hp-pane" data-testid="hp-pane">
      {section('hparam', 'Hyperparameters')}
      {section('metric', 'Metrics')}
      <section class="hp-pane__section">
        <h3>Status</h3>
        {STATUSES.map((status) => (
          <label key={status} class="hp-check">
            <input
              type="checkbox"
              checked={state.statuses.includes(status)}
              data-testid="hp-status"
              data-status={status}
              onChange={(e) => {
                const on = (e.currentTarget as HTMLInputElement).checked;
                onChange({ statuses: on ? [...state.statuses, status] : state.statuses.filter((s) => s !== status) });
              }}
            />
            <span class={`hp-status hp-status--${status}`}>{status}</span>
          </label>
        ))}
      </section>
      <section class="hp-pane__section">
        <h3>Sort and page</h3>
        <div class="hp-pane__row">
          <select
            data-testid="hp-sort-column"
            aria-label="Sort by"
            value={state.sort?.column ?? ''}
            onChange={(e) => {
              const column = (e.currentTarget as HTMLSelectElement).value;
              onChange({ sort: column ? { column, desc: state.sort?.desc ?? false } : null });
            }}
          >
            <option value="">Run (default)</option>
            {columns.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </select>
          <select
            data-testid="hp-sort-order"
            aria-label="Sort order"
            value={state.sort?.desc ? 'desc' : 'asc'}
            disabled={!state.sort}
            onChange={(e) =>
              state.sort && onChange({ sort: { column: state.sort.column, desc: (e.currentTarget as HTMLSelectElement).value === 'desc' } })
            }
          >
            <option value="asc">Ascending</option>
            <option value="desc">Descending</option>
          </select>
        </div>
        <div class="hp-pane__row">
          <label>
            Rows per page{' '}
            <select
              data-testid="hp-page-size"
              value={String(state.pageSize)}
              onChange={(e) => onChange({ pageSize: Number((e.currentTarget as HTMLSelectElement).value), page: 1 })}
            >
              {[10, 25, 50, 100, 500].map((n) => (
                <option key={n} value={String(n)}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div class="hp-pane__row">
          <button type="button" class="button" data-testid="hp-page-prev" disabled={state.page <= 1} onClick={() => onChange({ page: state.page - 1 })}>
            ‹
          </button>
          <span data-testid="hp-page">
            Page {Math.min(state.page, props.pages)} of {props.pages}
          </span>
          <button
            type="button"
            class="button"
            data-testid="hp-page-next"
            disabled={state.page >= props.pages}
            onClick={() => onChange({ page: state.page + 1 })}
          >
            ›
          </button>
        </div>
      </section>
      <section class="hp-pane__section">
        <h3>Colour and runs</h3>
        <label class="hp-pane__row">
          Colour by{' '}
          <select data-testid="hp-color-by" value={state.colorBy} onChange={(e) => onChange({ colorBy: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="run">Run colour</option>
            {columns.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <label class="hp-check">
          <input
            type="checkbox"
            checked={state.deselected === 'grey'}
            data-testid="hp-grey-deselected"
            onChange={(e) => onChange({ deselected: (e.currentTarget as HTMLInputElement).checked ? 'grey' : 'hide' })}
          />
          <span>Grey out deselected runs (instead of hiding)</span>
        </label>
        <button type="button" class="button" data-testid="hp-select-runs" onClick={props.onSelectRuns} title="Select exactly the runs of the sessions shown (and their metric sub-runs) in the runs panel">
          Select these runs ({props.shown})
        </button>
      </section>
      <section class="hp-pane__section">
        <h3>Download</h3>
        <div class="hp-pane__row">
          {(['csv', 'json', 'latex'] as const).map((format) => (
            <button key={format} type="button" class="button" data-testid={`hp-download-${format}`} onClick={() => props.onDownload(format)}>
              {format === 'latex' ? 'LaTeX' : format.toUpperCase()}
            </button>
          ))}
        </div>
      </section>
    </aside>
  );
}
