/**
 * The server's per-pixel reduction of a scalar series (`lumiboard/store/downsample.py`
 * `reduce_series`), in TypeScript: a snapshot holds every point and answers the Scalars
 * dashboard's `series` requests itself, so a chart (and each zoom) gets what a server would send.
 *
 * The x range is cut into `buckets` equal-width buckets; each non-empty one keeps the points
 * holding its first, minimum, maximum and last value and its first NaN (M4: the line drawn
 * covers the same pixels as the full line, so no spike is hidden). A range of at most
 * `POINTS_PER_BUCKET * buckets` points is returned whole; the nearest point on each side of a
 * step range is added unreduced, so a zoomed line runs to the chart's edges.
 */
import type { XAxis } from '../core/api';

export const POINTS_PER_BUCKET = 4;

export interface Columns {
  /** Steps (integers), non-decreasing. */
  step: Float64Array;
  wall_time: Float64Array;
  value: Float64Array;
}

export interface Reduced extends Columns {
  /** Points inside the step range before reduction (the edge neighbours not counted). */
  total: number;
}

/** The first position whose value is >= `target` (`side: 'left'`) or > it (`'right'`). */
function searchSorted(xs: ArrayLike<number>, target: number, side: 'left' | 'right', from = 0, to = xs.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = xs[mid]!;
    if (side === 'left' ? x < target : x <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether `xs[lo..hi)` ever goes down or holds NaN (which must then be sorted). */
function decreases(xs: ArrayLike<number>, lo: number, hi: number): boolean {
  for (let i = lo + 1; i < hi; i++) {
    if (!(xs[i]! >= xs[i - 1]!)) return true;
  }
  return false;
}

/** numpy's order: NaN after every number. */
function compareX(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Positions `lo..hi-1` ordered by `xs` (stable: ties keep their order). */
function argsort(xs: ArrayLike<number>, positions: number[]): number[] {
  return positions.sort((a, b) => compareX(xs[a]!, xs[b]!) || a - b);
}

/**
 * `buckets + 1` positions cutting `xs[from..to)` into equal-width x intervals (bucket k holds
 * `x0 + k*w <= x < x0 + (k+1)*w`, the last also `x[-1]`). Steps get exact integer edges
 * (`x0 + ceil(k * span / buckets)`), as the server computes them.
 */
function bucketBounds(xs: ArrayLike<number>, from: number, to: number, buckets: number, integers: boolean): number[] {
  const x0 = xs[from]!;
  const x1 = xs[to - 1]!;
  const bounds = [from];
  if (integers) {
    const span = x1 - x0;
    const exact = span * buckets + buckets <= Number.MAX_SAFE_INTEGER;
    for (let k = 1; k < buckets; k++) {
      const offset = exact
        ? Math.floor((k * span + buckets - 1) / buckets)
        : Number((BigInt(k) * BigInt(span) + BigInt(buckets - 1)) / BigInt(buckets));
      bounds.push(searchSorted(xs, x0 + offset, 'left', from, to));
    }
  } else {
    if (!Number.isFinite(x0) || !Number.isFinite(x1)) {
      throw new Error('wall_time holds a non-finite value; it cannot be the x axis');
    }
    const width = (x1 - x0) / buckets;
    for (let k = 1; k < buckets; k++) bounds.push(searchSorted(xs, x0 + k * width, 'left', from, to));
  }
  bounds.push(to);
  return bounds;
}

/** NaN-skipping min and max of `values[start..end)` (NaN when all are NaN). */
function extremes(values: ArrayLike<number>, start: number, end: number): [number, number] {
  let low = NaN;
  let high = NaN;
  for (let i = start; i < end; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    if (!(v >= low)) low = v; // also replaces the initial NaN
    if (!(v <= high)) high = v;
  }
  return [low, high];
}

function firstIndex(values: ArrayLike<number>, start: number, end: number, test: (v: number) => boolean): number {
  for (let i = start; i < end; i++) if (test(values[i]!)) return i;
  return -1;
}

/** Positions of the smallest and largest finite values of `values[from..to)` (first of equals). */
function finiteExtremes(values: ArrayLike<number>, from: number, to: number): number[] {
  let low = -1;
  let high = -1;
  for (let i = from; i < to; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (low < 0 || v < values[low]!) low = i;
    if (high < 0 || v > values[high]!) high = i;
  }
  return low < 0 ? [] : [low, high];
}

/**
 * The sorted positions to keep of `values[from..to)`, whose `xs` are non-decreasing: each
 * non-empty bucket's first, last, first minimum, first maximum and first NaN.
 */
function reducePositions(
  xs: ArrayLike<number>,
  values: ArrayLike<number>,
  from: number,
  to: number,
  buckets: number,
  integers: boolean,
): number[] {
  const bounds = bucketBounds(xs, from, to, buckets, integers);
  const keep = new Set<number>();
  let infinite = false;
  for (let k = 0; k < buckets; k++) {
    const start = bounds[k]!;
    const end = bounds[k + 1]!;
    if (end <= start) continue;
    const [low, high] = extremes(values, start, end);
    if (low === -Infinity || low === Infinity || high === Infinity || high === -Infinity) infinite = true;
    keep.add(start);
    keep.add(end - 1);
    for (const found of [
      firstIndex(values, start, end, (v) => v === low),
      firstIndex(values, start, end, (v) => v === high),
      firstIndex(values, start, end, Number.isNaN),
    ]) {
      if (found >= 0) keep.add(found);
    }
  }
  if (infinite) for (const i of finiteExtremes(values, from, to)) keep.add(i);
  return [...keep].sort((a, b) => a - b);
}

function gather(columns: Columns, keep: readonly number[], total: number): Reduced {
  const pick = (column: Float64Array) => Float64Array.from(keep, (i) => column[i]!);
  return { step: pick(columns.step), wall_time: pick(columns.wall_time), value: pick(columns.value), total };
}

/**
 * `columns` reduced to about `4 * buckets` points for a chart `buckets` pixels wide, over the
 * steps in `range` (`[lo, hi]`, null for an open bound), bucketed along `x` ("relative"
 * buckets as "wall_time"). Throws (a 400 from a server) for `buckets < 1`, an empty range, steps
 * decreasing where read, or a non-finite wall time as the x axis of a range that needs reducing.
 */
export function reduceSeries(
  columns: Columns,
  buckets: number,
  range: readonly [number | null, number | null] | null = null,
  x: XAxis = 'step',
): Reduced {
  const { step, wall_time: wall, value } = columns;
  const n = step.length;
  if (wall.length !== n || value.length !== n) throw new Error('columns differ in length');
  if (!(buckets >= 1)) throw new Error(`buckets must be >= 1, got ${buckets}`);
  const [lo, hi] = range ?? [null, null];
  if (lo !== null && hi !== null && lo > hi) throw new Error(`step_range is empty: ${lo} > ${hi}`);
  const first = lo === null ? 0 : searchSorted(step, lo, 'left');
  const stop = Math.max(first, hi === null ? n : searchSorted(step, hi, 'right'));
  const total = stop - first;
  const before = first > 0 ? first - 1 : null;
  const after = stop < n ? stop : null;
  const from = before ?? first;
  const to = after === null ? stop : after + 1;
  if (decreases(step, from, to)) throw new Error('step must be non-decreasing');

  const xs = x === 'step' ? step : wall;
  let keep: number[];
  if (total <= POINTS_PER_BUCKET * buckets) {
    keep = Array.from({ length: to - from }, (_, i) => from + i);
    if (x === 'step' || !decreases(xs, from, to)) return gather(columns, keep, total);
  } else {
    let local: number[];
    if (x !== 'step' && decreases(xs, first, stop)) {
      // A clock that stepped back: bucket the window in x order, keep positions in step order.
      const order = argsort(xs, Array.from({ length: total }, (_, i) => first + i));
      const sortedX = Float64Array.from(order, (i) => xs[i]!);
      const sortedV = Float64Array.from(order, (i) => value[i]!);
      local = reducePositions(sortedX, sortedV, 0, total, buckets, false).map((i) => order[i]!);
      local.sort((a, b) => a - b);
    } else {
      local = reducePositions(xs, value, first, stop, buckets, x === 'step');
    }
    keep = [...(before === null ? [] : [before]), ...local, ...(after === null ? [] : [after])];
  }
  // Position order is step order; the chart wants x order (ties keep step order).
  if (x !== 'step') keep = argsort(xs, keep);
  return gather(columns, keep, total);
}
