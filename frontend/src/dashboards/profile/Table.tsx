/** A sortable table (click a header) with paging, used by the Operator, Kernel and Memory views. */
import type { ComponentChildren, JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';

import { sortRows, type SortDirection } from './model';

export interface Column<T> {
  key: keyof T & string;
  title: string;
  numeric?: boolean;
  render?: (row: T) => ComponentChildren;
  title_hint?: string;
}

const PAGE = 100;

export function SortableTable<T>({
  rows,
  columns,
  initialSort,
  testid,
  expand,
}: {
  rows: readonly T[];
  columns: Column<T>[];
  initialSort: keyof T & string;
  testid: string;
  /** Extra content shown under a row when it is clicked (call stacks). */
  expand?: (row: T) => ComponentChildren | null;
}): JSX.Element {
  const [sort, setSort] = useState<{ key: keyof T & string; direction: SortDirection }>({
    key: initialSort,
    direction: 'desc',
  });
  const [shown, setShown] = useState(PAGE);
  const [open, setOpen] = useState<number | null>(null);
  const sorted = useMemo(() => sortRows(rows, sort.key, sort.direction), [rows, sort]);
  const onSort = (key: keyof T & string) =>
    setSort((old) => ({ key, direction: old.key === key && old.direction === 'desc' ? 'asc' : 'desc' }));
  return (
    <div class="profile-table-wrap">
      <table class="profile-table" data-testid={testid}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th
                key={column.key}
                class={column.numeric ? 'profile-num' : undefined}
                title={column.title_hint}
                aria-sort={sort.key === column.key ? (sort.direction === 'asc' ? 'ascending' : 'descending') : 'none'}
              >
                <button type="button" class="link-button" onClick={() => onSort(column.key)}>
                  {column.title}
                  {sort.key === column.key ? (sort.direction === 'asc' ? ' ▲' : ' ▼') : ''}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.slice(0, shown).map((row, index) => {
            const extra = open === index && expand ? expand(row) : null;
            return [
              <tr
                key={`r${index}`}
                class={expand ? 'profile-row--clickable' : undefined}
                onClick={expand ? () => setOpen(open === index ? null : index) : undefined}
              >
                {columns.map((column) => (
                  <td key={column.key} class={column.numeric ? 'profile-num' : undefined}>
                    {column.render ? column.render(row) : String(row[column.key] ?? '–')}
                  </td>
                ))}
              </tr>,
              extra ? (
                <tr key={`x${index}`} class="profile-row--extra">
                  <td colSpan={columns.length}>{extra}</td>
                </tr>
              ) : null,
            ];
          })}
        </tbody>
      </table>
      {sorted.length > shown ? (
        <button type="button" class="button" onClick={() => setShown(shown + PAGE * 5)}>
          Show more ({(sorted.length - shown).toLocaleString()} more rows)
        </button>
      ) : null}
    </div>
  );
}

/** Horizontal bars of the top entries (a readable stand-in for a pie chart). */
export function TopBars({
  items,
  format,
  testid,
  color = 'var(--accent)',
}: {
  items: { label: string; value: number; color?: string }[];
  format: (value: number) => string;
  testid: string;
  color?: string;
}): JSX.Element {
  const total = items.reduce((sum, item) => sum + item.value, 0) || 1;
  const max = Math.max(...items.map((item) => item.value), 1e-12);
  return (
    <div class="profile-bars" data-testid={testid}>
      {items.map((item) => (
        <div class="profile-bars__row" key={item.label} title={item.label}>
          <span class="profile-bars__label">{item.label}</span>
          <span class="profile-bars__track">
            <span
              class="profile-bars__bar"
              data-testid="top-bar"
              style={{ width: `${(item.value / max) * 100}%`, background: item.color ?? color }}
            />
          </span>
          <span class="profile-bars__value">
            {format(item.value)} · {((item.value / total) * 100).toFixed(1)}%
          </span>
        </div>
      ))}
    </div>
  );
}
