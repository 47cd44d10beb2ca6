/**
 * The Trace view's pure logic: lanes (one per track × nesting depth), the slices of a lane
 * visible in a time window with sub-pixel slices merged, hit testing, zoom/pan and ticks.
 * Everything is O(visible) per frame after a binary search, so 100k+ events stay smooth.
 */

export interface Columns {
  start: Float64Array;
  duration: Float64Array;
  track: Int32Array;
  depth: Int32Array;
}

/** Event indices of one track and depth, by start; `reach[i]` = max end of events 0..i. */
export interface Lane {
  track: number;
  depth: number;
  events: Int32Array;
  reach: Float64Array;
}

export interface View {
  start: number;
  end: number;
}

/** A rectangle to draw: `index` is the first event in it, `count` how many it stands for. */
export interface Slice {
  x: number;
  w: number;
  index: number;
  count: number;
}

export function toColumns(events: { start: number[]; duration: number[]; track: number[]; depth: number[] }): Columns {
  return {
    start: Float64Array.from(events.start),
    duration: Float64Array.from(events.duration),
    track: Int32Array.from(events.track),
    depth: Int32Array.from(events.depth),
  };
}

/** Lanes keyed `${track}:${depth}`; events keep their (start) order. */
export function buildLanes(columns: Columns): Map<string, Lane> {
  const lists = new Map<string, number[]>();
  for (let i = 0; i < columns.start.length; i++) {
    const key = `${columns.track[i]}:${columns.depth[i]}`;
    let list = lists.get(key);
    if (!list) lists.set(key, (list = []));
    list.push(i);
  }
  const lanes = new Map<string, Lane>();
  for (const [key, list] of lists) {
    list.sort((a, b) => columns.start[a]! - columns.start[b]!);
    const events = Int32Array.from(list);
    const reach = new Float64Array(events.length);
    let max = -Infinity;
    for (let k = 0; k < events.length; k++) {
      const i = events[k]!;
      max = Math.max(max, columns.start[i]! + columns.duration[i]!);
      reach[k] = max;
    }
    const [track, depth] = key.split(':').map(Number) as [number, number];
    lanes.set(key, { track, depth, events, reach });
  }
  return lanes;
}

/** First position in the lane whose reach is at least `t` (events before end before `t`). */
function firstReaching(lane: Lane, t: number): number {
  let lo = 0;
  let hi = lane.events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lane.reach[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The slices of `lane` inside `view` drawn `width` pixels wide. A slice narrower than a pixel is
 * merged with its neighbours that fall in the same pixel column, so a lane of a million tiny
 * kernels draws as at most `width` rectangles.
 */
export function visibleSlices(lane: Lane, columns: Columns, view: View, width: number): Slice[] {
  const span = view.end - view.start;
  if (span <= 0 || width <= 0) return [];
  const scale = width / span;
  const out: Slice[] = [];
  let current: Slice | null = null;
  for (let k = firstReaching(lane, view.start); k < lane.events.length; k++) {
    const i = lane.events[k]!;
    const start = columns.start[i]!;
    if (start > view.end) break;
    const end = start + columns.duration[i]!;
    if (end < view.start) continue;
    const x0 = Math.max((start - view.start) * scale, 0);
    const x1 = Math.min((end - view.start) * scale, width);
    const tiny = x1 - x0 < 1;
    if (current && tiny && x0 < current.x + Math.max(current.w, 1)) {
      // Same pixel column as the slice before: widen it instead of drawing another.
      current.w = Math.max(current.w, x1 - current.x);
      current.count++;
      continue;
    }
    current = { x: x0, w: Math.max(x1 - x0, tiny ? 1 : 0), index: i, count: 1 };
    out.push(current);
    if (!tiny) current = null; // a wide slice is never merged into
  }
  return out;
}

/** The event of `lane` under time `t` (within `tolerance` µs for tiny ones), or -1. */
export function hitTest(lane: Lane, columns: Columns, t: number, tolerance: number): number {
  let best = -1;
  let bestDistance = Infinity;
  for (let k = firstReaching(lane, t - tolerance); k < lane.events.length; k++) {
    const i = lane.events[k]!;
    const start = columns.start[i]!;
    if (start > t + tolerance) break;
    const end = start + columns.duration[i]!;
    const distance = t < start ? start - t : t > end ? t - end : 0;
    if (distance <= tolerance && distance < bestDistance) {
      best = i;
      bestDistance = distance;
      if (distance === 0) break;
    }
  }
  return best;
}

/** `view` zoomed by `factor` (< 1 zooms in) around time `at`, kept inside `bounds`. */
export function zoom(view: View, at: number, factor: number, bounds: View, minSpan = 0.01): View {
  const span = view.end - view.start;
  const full = bounds.end - bounds.start;
  const next = Math.min(Math.max(span * factor, minSpan), full);
  const ratio = span > 0 ? (at - view.start) / span : 0.5;
  return clampView({ start: at - ratio * next, end: at - ratio * next + next }, bounds);
}

/** `view` moved by `delta` µs, kept inside `bounds`. */
export function pan(view: View, delta: number, bounds: View): View {
  return clampView({ start: view.start + delta, end: view.end + delta }, bounds);
}

function clampView(view: View, bounds: View): View {
  const span = Math.min(view.end - view.start, bounds.end - bounds.start);
  let start = Math.max(view.start, bounds.start);
  if (start + span > bounds.end) start = bounds.end - span;
  return { start, end: start + span };
}

/** Round tick positions (1, 2, 5 × 10^k µs) between `start` and `end`, about `count` of them. */
export function timeTicks(start: number, end: number, count: number): number[] {
  const span = end - start;
  if (!(span > 0) || count < 1) return [];
  const raw = span / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end + step * 1e-9; t += step) ticks.push(t);
  return ticks;
}
