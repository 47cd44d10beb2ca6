/**
 * The step selection's data table (TensorBoard's Time Series "data table"): for a selected x, each
 * shown line's point nearest to it; for a selected range [a, b], each line's value at the start
 * and end of the range, the change, and min / max / mean over the points in it. Everything is
 * computed on the points the card holds (reduced per pixel column unless it shows every point).
 */
import type { HoverLine } from '../../charts/lineChart';
import { nearestIndex } from '../../charts/tooltip';

/** A selected x (on the card's x axis), or a range when `end` is set. */
export interface StepSelection {
  start: number;
  end: number | null;
}

export interface StepRow {
  name: string;
  color: string;
  smoothed: number | null;
  value: number;
  step: number | null;
  wallTime: number | null;
  relative: number | null;
}

export interface RangeRow {
  name: string;
  color: string;
  startStep: number | null;
  endStep: number | null;
  /** Raw values of the first and last point in the range. */
  start: number;
  end: number;
  change: number;
  min: number;
  max: number;
  mean: number;
  /** Points in the range (those the card holds). */
  count: number;
}

export type TableLine = Pick<
  HoverLine,
  'name' | 'color' | 'x' | 'value' | 'smoothed' | 'step' | 'wallTime' | 'relative' | 'relativeOrigin'
>;

function relativeAt(line: TableLine, i: number): number | null {
  if (line.relative) return line.relative[i]!;
  if (line.wallTime && line.relativeOrigin !== null) return line.wallTime[i]! - line.relativeOrigin;
  return null;
}

/** Each line's point nearest to `x` (lines without points are left out). */
export function stepRows(lines: readonly TableLine[], x: number): StepRow[] {
  const rows: StepRow[] = [];
  for (const line of lines) {
    const i = nearestIndex(line.x, x);
    if (i < 0) continue;
    rows.push({
      name: line.name,
      color: line.color,
      smoothed: line.smoothed ? line.smoothed[i]! : null,
      value: line.value[i]!,
      step: line.step ? line.step[i]! : null,
      wallTime: line.wallTime ? line.wallTime[i]! : null,
      relative: relativeAt(line, i),
    });
  }
  return rows;
}

/** The first index of ascending `xs` with xs[i] >= x (or > x when `strict`). */
function bound(xs: ArrayLike<number>, x: number, strict: boolean): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x || (strict && xs[mid]! === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Per line, over its points with x in [a, b] (either order): the first and last point's value, the
 * change (end − start), and min, max and mean of the finite values. Lines with no point in the
 * range are left out.
 */
export function rangeRows(lines: readonly TableLine[], a: number, b: number): RangeRow[] {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const rows: RangeRow[] = [];
  for (const line of lines) {
    const first = bound(line.x, lo, false);
    const last = bound(line.x, hi, true) - 1;
    if (first > last) continue;
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    let finite = 0;
    for (let i = first; i <= last; i++) {
      const v = line.value[i]!;
      if (!Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      finite++;
    }
    const start = line.value[first]!;
    const end = line.value[last]!;
    rows.push({
      name: line.name,
      color: line.color,
      startStep: line.step ? line.step[first]! : null,
      endStep: line.step ? line.step[last]! : null,
      start,
      end,
      change: end - start,
      min: finite ? min : NaN,
      max: finite ? max : NaN,
      mean: finite ? sum / finite : NaN,
      count: last - first + 1,
    });
  }
  return rows;
}

/** The x of the point nearest to `x` over all lines (a click snaps to a logged step). */
export function snapX(lines: readonly Pick<HoverLine, 'x'>[], x: number): number {
  let best = x;
  let distance = Infinity;
  for (const line of lines) {
    const i = nearestIndex(line.x, x);
    if (i < 0) continue;
    const d = Math.abs(line.x[i]! - x);
    if (d < distance) {
      distance = d;
      best = line.x[i]!;
    }
  }
  return best;
}

/** The selection after a click at `x`: a new step, or the other end of a range. */
export function nextSelection(
  current: StepSelection | null,
  x: number,
  range: boolean,
): StepSelection {
  if (range && current && current.end === null && current.start !== x) {
    return { start: Math.min(current.start, x), end: Math.max(current.start, x) };
  }
  return { start: x, end: null };
}

export interface SortState<K extends string> {
  key: K;
  descending: boolean;
}

/** Rows sorted by `key` (numbers numerically, text alphabetically); NaN and null always last. */
export function sortTable<R, K extends string & keyof R>(rows: readonly R[], sort: SortState<K> | null): R[] {
  const out = [...rows];
  if (!sort) return out;
  const sign = sort.descending ? -1 : 1;
  return out.sort((ra, rb) => {
    const a = ra[sort.key] as unknown;
    const b = rb[sort.key] as unknown;
    const missingA = a === null || a === undefined || (typeof a === 'number' && Number.isNaN(a));
    const missingB = b === null || b === undefined || (typeof b === 'number' && Number.isNaN(b));
    if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;
    if (typeof a === 'number' && typeof b === 'number') return sign * (a - b);
    const sa = String(a);
    const sb = String(b);
    return sign * (sa < sb ? -1 : sa > sb ? 1 : 0);
  });
}
