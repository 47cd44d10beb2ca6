/** What every view of the dashboard (table, parallel coordinates, scatter matrix) is given. */
import type { DashboardApi } from '../../core/dashboard';
import type { Column, Row, Sort } from './model';

export interface ShownColumn {
  column: Column;
  /** Index into `Row.values`. */
  index: number;
}

export interface ViewProps {
  api: DashboardApi;
  columns: readonly ShownColumn[];
  /** The filtered rows, sorted. */
  rows: readonly Row[];
  /** Runs deselected in the runs panel, drawn greyed. */
  faded: ReadonlySet<string>;
  color(row: Row): string;
  hovered: string | null;
  onHover(run: string | null): void;
  selected: string | null;
  onSelect(run: string | null): void;
  sort: Sort | null;
  onSort(sort: Sort | null): void;
}
