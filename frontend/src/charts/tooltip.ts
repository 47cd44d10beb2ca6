/**
 * The tooltip's rows and their order, following TensorBoard's scalar card
 * (scalar_card_component.ts, `getCursorAwareTooltipData`): one row per line at the point nearest
 * the cursor's x; the row nearest the cursor in pixels is marked `closest`; sort modes
 * Alphabetical, Ascending, Descending (by the drawn y: the smoothed value when smoothing is on),
 * Nearest pixel (distance to the cursor, the default) and Nearest Y (vertical distance).
 */
import type { TooltipSort } from '../core/settings';

export interface TooltipRow {
  name: string;
  color: string;
  /** The drawn value (smoothed when smoothing is on). */
  y: number;
  value: number;
  smoothed: number | null;
  step: number | null;
  wallTime: number | null;
  relative: number | null;
  /** Where the point is drawn, in CSS pixels within the plot. */
  xPx: number;
  yPx: number;
  /** Pixel distance to the cursor. */
  distance: number;
  closest: boolean;
  /** Lines shown under the row (who stands out in an aggregated group). */
  notes?: string[];
}

/** The index of the value in ascending `xs` nearest to `x`; -1 when `xs` is empty. */
export function nearestIndex(xs: ArrayLike<number>, x: number): number {
  const n = xs.length;
  if (n === 0) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(xs[lo - 1]! - x) <= Math.abs(xs[lo]! - x)) return lo - 1;
  return lo;
}

function byY(a: TooltipRow, b: TooltipRow, direction: 1 | -1): number {
  const fa = Number.isFinite(a.y);
  const fb = Number.isFinite(b.y);
  if (fa !== fb) return fa ? -1 : 1; // NaN rows last in both directions
  if (!fa) return 0;
  return direction * (a.y - b.y);
}

/** Rows in the order `sort` asks for, with the one nearest the cursor marked. */
export function sortRows(
  rows: TooltipRow[],
  sort: TooltipSort,
  cursor: { xPx: number; yPx: number },
): TooltipRow[] {
  let closest = -1;
  let best = Infinity;
  rows.forEach((row, i) => {
    row.distance = Math.hypot(row.xPx - cursor.xPx, row.yPx - cursor.yPx);
    row.closest = false;
    if (row.distance < best) {
      best = row.distance;
      closest = i;
    }
  });
  if (closest >= 0) rows[closest]!.closest = true;
  const far = (d: number) => (Number.isFinite(d) ? d : Infinity);
  const sorted = [...rows];
  switch (sort) {
    case 'alphabetical':
      return sorted.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    case 'ascending':
      return sorted.sort((a, b) => byY(a, b, 1));
    case 'descending':
      return sorted.sort((a, b) => byY(a, b, -1));
    case 'nearest':
      return sorted.sort((a, b) => far(a.distance) - far(b.distance));
    case 'nearest-y':
      return sorted.sort(
        (a, b) => far(Math.abs(a.yPx - cursor.yPx)) - far(Math.abs(b.yPx - cursor.yPx)),
      );
  }
}
