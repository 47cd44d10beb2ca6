/**
 * The table under a scalar card while a step (or a step range) is selected: one row per shown
 * run, sortable by clicking a column header, closed by its button or Escape.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { formatDuration, formatStep, formatValue, formatWallTime } from '../../core/format';
import {
  rangeRows,
  sortTable,
  stepRows,
  type RangeRow,
  type SortState,
  type StepRow,
  type StepSelection,
  type TableLine,
} from './dataTable';
import './dataTable.css';

interface Column<R> {
  key: string & keyof R;
  label: string;
  title?: string;
  format(row: R): string;
  /** The number behind the cell (for scripts and tests), when it is one. */
  raw?(row: R): number | null;
}

const name = <R extends { name: string }>(): Column<R> => ({
  key: 'name' as string & keyof R,
  label: 'Run',
  format: (r) => r.name,
});

function stepColumns(smoothing: boolean): Column<StepRow>[] {
  return [
    name<StepRow>(),
    ...(smoothing
      ? [{ key: 'smoothed', label: 'Smoothed', format: (r) => formatValue(r.smoothed), raw: (r) => r.smoothed } as Column<StepRow>]
      : []),
    { key: 'value', label: 'Value', format: (r) => formatValue(r.value), raw: (r) => r.value },
    { key: 'step', label: 'Step', format: (r) => formatStep(r.step), raw: (r) => r.step },
    { key: 'wallTime', label: 'Time', format: (r) => formatWallTime(r.wallTime), raw: (r) => r.wallTime },
    { key: 'relative', label: 'Relative', format: (r) => formatDuration(r.relative), raw: (r) => r.relative },
  ];
}

const RANGE_COLUMNS: Column<RangeRow>[] = [
  name<RangeRow>(),
  { key: 'startStep', label: 'Start step', format: (r) => formatStep(r.startStep), raw: (r) => r.startStep },
  { key: 'endStep', label: 'End step', format: (r) => formatStep(r.endStep), raw: (r) => r.endStep },
  { key: 'start', label: 'Start value', format: (r) => formatValue(r.start), raw: (r) => r.start },
  { key: 'end', label: 'End value', format: (r) => formatValue(r.end), raw: (r) => r.end },
  { key: 'change', label: 'Change', title: 'End value − start value', format: (r) => formatValue(r.change), raw: (r) => r.change },
  { key: 'min', label: 'Min', title: 'Over the points the card shows', format: (r) => formatValue(r.min), raw: (r) => r.min },
  { key: 'max', label: 'Max', title: 'Over the points the card shows', format: (r) => formatValue(r.max), raw: (r) => r.max },
  { key: 'mean', label: 'Mean', title: 'Over the points the card shows', format: (r) => formatValue(r.mean), raw: (r) => r.mean },
];

function Table<R extends { name: string; color: string }>(props: {
  rows: R[];
  columns: Column<R>[];
}): JSX.Element {
  const [sort, setSort] = useState<SortState<string> | null>(null);
  const active = sort && props.columns.some((c) => c.key === sort.key) ? sort : null;
  const rows = sortTable(props.rows, active as SortState<string & keyof R> | null);
  const onSort = (key: string) =>
    setSort((s) => (s && s.key === key ? { key, descending: !s.descending } : { key, descending: false }));
  return (
    <table class="data-table__table">
      <thead>
        <tr>
          <th aria-label="Colour" />
          {props.columns.map((c) => (
            <th
              key={c.key}
              aria-sort={active?.key === c.key ? (active.descending ? 'descending' : 'ascending') : 'none'}
            >
              <button
                type="button"
                class="data-table__sort"
                data-testid="data-table-sort"
                data-col={c.key}
                title={c.title ?? `Sort by ${c.label.toLowerCase()}`}
                onClick={() => onSort(c.key)}
              >
                {c.label}
                {active?.key === c.key ? (active.descending ? ' ▼' : ' ▲') : ''}
              </button>
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.name} data-testid="data-table-row" data-run={row.name}>
            <td>
              <span class="lb-swatch" style={{ background: row.color }} />
            </td>
            {props.columns.map((c) => {
              const raw = c.raw?.(row);
              return (
                <td
                  key={c.key}
                  class={c.key === 'name' ? 'data-table__name' : undefined}
                  data-col={c.key}
                  data-value={raw === undefined || raw === null ? undefined : String(raw)}
                  title={c.key === 'name' ? row.name : undefined}
                >
                  {c.format(row)}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export interface DataTableProps {
  selection: StepSelection;
  lines: readonly TableLine[];
  smoothing: boolean;
  /** How the selected x reads (a step, a duration, a time). */
  formatX(x: number): string;
  /** Whether the card shows every point (min / max / mean are then exact). */
  exact: boolean;
  onClose(): void;
}

export function DataTable(props: DataTableProps): JSX.Element {
  const { selection, lines, onClose } = props;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  const range = selection.end !== null;
  const title = range
    ? `${props.formatX(selection.start)} – ${props.formatX(selection.end!)}`
    : props.formatX(selection.start);
  return (
    <div class="data-table" data-testid="data-table" data-mode={range ? 'range' : 'step'}>
      <div class="data-table__head">
        <span data-testid="data-table-title">
          {range ? 'Range' : 'At'} {title}
        </span>
        {range && !props.exact ? (
          <span class="data-table__note" title="Zoom in until the card shows every point for exact values">
            on the points shown
          </span>
        ) : null}
        <button
          type="button"
          class="link-button"
          data-testid="data-table-close"
          title="Clear the selection (Escape)"
          onClick={onClose}
        >
          Close
        </button>
      </div>
      <div class="data-table__scroll">
        {range ? (
          <Table rows={rangeRows(lines, selection.start, selection.end!)} columns={RANGE_COLUMNS} />
        ) : (
          <Table rows={stepRows(lines, selection.start)} columns={stepColumns(props.smoothing)} />
        )}
      </div>
    </div>
  );
}
