/**
 * TABLE VIEW: a row per session (run colour swatch, run, status, hparams, metrics); a header
 * click sorts (again: reverses, a third time: back to run order); "show metrics" expands a row
 * into the session's scalar curves.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { SessionCharts } from './SessionCharts';
import { formatValue, type Row } from './model';
import type { ViewProps } from './views';

export function TableView(props: ViewProps & { page: readonly Row[] }): JSX.Element {
  const { api, columns, page, faded, color, sort, onSort, hovered, onHover, selected, onSelect } = props;
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const metrics = columns.filter((c) => c.column.kind === 'metric').map((c) => c.column);
  const width = columns.length + 4;

  const header = (id: string, label: string, title: string) => {
    const on = sort?.column === id;
    const next = !on ? { column: id, desc: false } : !sort.desc ? { column: id, desc: true } : null;
    return (
      <th
        key={id}
        class={`hp-table__sortable ${on ? 'hp-table__sorted' : ''}`}
        title={title}
        data-testid="hp-header"
        data-column={id}
        aria-sort={on ? (sort.desc ? 'descending' : 'ascending') : 'none'}
        onClick={() => onSort(next)}
      >
        {label}
        <span class="hp-table__arrow">{on ? (sort.desc ? '▼' : '▲') : ''}</span>
      </th>
    );
  };

  return (
    <div class="hp-table-wrap">
      <table class="hp-table" data-testid="hp-table">
        <thead>
          <tr>
            <th />
            {header('run', 'Run', 'Sort by run')}
            <th>Status</th>
            {columns.map(({ column }) =>
              header(column.id, column.label, `${column.kind === 'metric' ? 'Metric' : 'Hyperparameter'}: ${column.label}${column.description ? `\n${column.description}` : ''}`),
            )}
            <th />
          </tr>
        </thead>
        <tbody>
          {page.map((row) => {
            const open = expanded.has(row.run);
            const classes = [
              'hp-row',
              faded.has(row.run) ? 'hp-row--faded' : '',
              hovered === row.run ? 'hp-row--hover' : '',
              selected === row.run ? 'hp-row--selected' : '',
            ].join(' ');
            return [
              <tr
                key={row.run}
                class={classes}
                data-testid="hp-row"
                data-run={row.run}
                onMouseEnter={() => onHover(row.run)}
                onMouseLeave={() => onHover(null)}
                onClick={() => onSelect(selected === row.run ? null : row.run)}
              >
                <td>
                  <span class="hp-swatch" data-testid="hp-swatch" style={{ background: color(row) }} />
                </td>
                <td class="hp-table__run" title={row.group !== row.run ? `group ${row.group}` : row.run}>
                  {row.run}
                </td>
                <td>
                  <span class={`hp-status hp-status--${row.status}`}>{row.status}</span>
                </td>
                {columns.map(({ column, index }) => {
                  const value = row.values[index] ?? null;
                  return (
                    <td key={column.id} class={column.type === 'number' ? 'hp-num' : ''} data-column={column.id}>
                      {formatValue(value)}
                    </td>
                  );
                })}
                <td>
                  <button
                    type="button"
                    class="link-button"
                    data-testid="hp-expand"
                    aria-expanded={open}
                    onClick={(event) => {
                      event.stopPropagation();
                      const next = new Set(expanded);
                      if (open) next.delete(row.run);
                      else next.add(row.run);
                      setExpanded(next);
                    }}
                  >
                    {open ? 'Hide metrics' : 'Show metrics'}
                  </button>
                </td>
              </tr>,
              open ? (
                <tr key={`${row.run}:charts`} class="hp-row__detail">
                  <td colSpan={width}>
                    <SessionCharts api={api} session={row.run} metrics={metrics} color={color(row)} />
                  </td>
                </tr>
              ) : null,
            ];
          })}
        </tbody>
      </table>
    </div>
  );
}

export function StatusBadge({ status }: { status: string }): JSX.Element {
  return <span class={`hp-status hp-status--${status}`}>{status}</span>;
}
