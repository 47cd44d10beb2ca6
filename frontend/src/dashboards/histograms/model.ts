/**
 * The histogram chart's pure logic: TensorBoard's JSON to columns, re-binning every histogram of
 * a chart onto one set of uniform bins (as TensorBoard's `backendToVz` / `intermediateToD3` do),
 * and the geometry of the offset (ridgeline) and overlay modes, hover included.
 */
import type { XAxis } from '../../core/api';
import { linear, px, timeOf, toNumber, type JsonNumber } from './svg';

/** `[wall_time, step, [[left, right, count], ...]]`, the /histograms route's items. */
export type RawHistogram = [JsonNumber, JsonNumber, [JsonNumber, JsonNumber, JsonNumber][]];

export interface Histogram {
  step: number;
  wallTime: number;
  left: Float64Array;
  right: Float64Array;
  count: Float64Array;
}

/** TensorBoard's default: more bins start to show the aliasing of the stored buckets. */
export const BIN_COUNT = 30;

export function parseHistograms(raw: readonly RawHistogram[]): Histogram[] {
  return raw.map(([wallTime, step, rows]) => {
    const n = rows.length;
    const left = new Float64Array(n);
    const right = new Float64Array(n);
    const count = new Float64Array(n);
    rows.forEach((row, i) => {
      left[i] = toNumber(row[0]);
      right[i] = toNumber(row[1]);
      count[i] = toNumber(row[2]);
    });
    return { step: toNumber(step), wallTime: toNumber(wallTime), left, right, count };
  });
}

function usable(h: Histogram, i: number): boolean {
  return (
    Number.isFinite(h.left[i]!) && Number.isFinite(h.right[i]!) && Number.isFinite(h.count[i]!) &&
    h.right[i]! >= h.left[i]!
  );
}

/**
 * The value range every histogram of a chart is re-binned over: the smallest left edge and the
 * largest right edge (TensorBoard's rule), of buckets whose numbers are all finite. A single value
 * (min = max) is widened so its bin has a width. Null when nothing is drawable.
 */
export function valueRange(histograms: readonly Histogram[]): [number, number] | null {
  let min = Infinity;
  let max = -Infinity;
  for (const h of histograms) {
    for (let i = 0; i < h.count.length; i++) {
      if (!usable(h, i)) continue;
      min = Math.min(min, h.left[i]!);
      max = Math.max(max, h.right[i]!);
    }
  }
  if (min > max) return null;
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 0.5;
    return [min - pad, max + pad];
  }
  return [min, max];
}

/**
 * `h` re-binned onto `bins` uniform bins over [min, max]: each bucket's count is spread over the
 * bins it overlaps, in proportion to the overlap (TensorBoard's `intermediateToD3`). Unlike
 * TensorBoard, a zero-width bucket (a constant, or TF2's empty histogram) keeps its count, in the
 * bin holding its value; buckets with non-finite numbers are skipped.
 */
export function rebin(h: Histogram, min: number, max: number, bins = BIN_COUNT): Float64Array {
  const out = new Float64Array(bins);
  const width = (max - min) / bins;
  if (!(width > 0)) return out;
  const binOf = (value: number) => Math.min(bins - 1, Math.max(0, Math.floor((value - min) / width)));
  for (let i = 0; i < h.count.length; i++) {
    if (!usable(h, i)) continue;
    const count = h.count[i]!;
    if (count === 0) continue;
    const left = Math.max(min, h.left[i]!);
    const right = Math.min(max, h.right[i]!);
    if (right < left) continue; // entirely outside [min, max]
    if (right === left) {
      out[binOf(left)] += count;
      continue;
    }
    for (let b = binOf(left); b <= binOf(right); b++) {
      const binLeft = min + b * width;
      const binRight = b === bins - 1 ? max : min + (b + 1) * width;
      const overlap = Math.min(right, binRight) - Math.max(left, binLeft);
      if (overlap > 0) out[b] += (count * overlap) / (right - left);
    }
  }
  return out;
}

/** One run's histograms in a chart. */
export interface RunHistograms {
  run: string;
  histograms: Histogram[];
}

export type Mode = 'offset' | 'overlay';

export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface Curve {
  run: string;
  step: number;
  wallTime: number;
  /** The time coordinate (step, relative seconds or wall time, per the time axis). */
  time: number;
  /** Re-binned counts. */
  counts: Float64Array;
  /** The y pixel of the curve's zero line. */
  baseline: number;
  /** The y pixel of each bin's top (at the bin's centre). */
  ys: Float64Array;
  /** SVG path: along the zero line from the range's left edge, through the bin centres, back. */
  d: string;
  /** Count-weighted mean x of the curve, in pixels (tests check that curves move). */
  meanX: number;
  /** 0 for the oldest curve of its run, 1 for the newest. */
  age: number;
  newest: boolean;
}

export interface ChartGeometry {
  /** Curves in drawing order: oldest first, so newer ones are in front. */
  curves: Curve[];
  range: [number, number];
  bins: number;
  /** The x pixel of a value. */
  x(value: number): number;
  /** Time coordinates shown (offset mode's side axis), and where they sit. */
  timeRange: [number, number];
  timeY(time: number): number;
  /** Largest re-binned count: the top of overlay mode's count axis. */
  maxCount: number;
  countY(count: number): number;
}

/**
 * The fill of an offset-mode ridge, as TensorBoard shades them: the run's colour mixed into the
 * panel colour, more of it for later steps (`age` 0 = oldest, 1 = newest), so the newest ridge is
 * the most saturated (never all of it: the outline, in the run's colour, still shows) in both themes (the panel colour is the theme's).
 */
export function ridgeFill(color: string, age: number): string {
  const share = Math.round(25 + 60 * Math.min(1, Math.max(0, age)));
  return `color-mix(in srgb, ${color} ${share}%, var(--panel))`;
}

/** The share of the plot's height one ridge may take in offset mode. */
const RIDGE = 0.38;

export function buildGeometry(
  runs: readonly RunHistograms[],
  mode: Mode,
  xAxis: XAxis,
  box: Box,
  bins = BIN_COUNT,
  /** A value range shared with other charts (Compare runs' rows); by default the runs' own. */
  shared: [number, number] | null = null,
): ChartGeometry | null {
  const range = shared ?? valueRange(runs.flatMap((r) => r.histograms));
  if (!range) return null;
  const [min, max] = range;
  const x = linear(min, max, box.left, box.right);
  const width = (max - min) / bins;
  const centres = Array.from({ length: bins }, (_, b) => x(min + (b + 0.5) * width));

  interface Item { run: string; h: Histogram; time: number; counts: Float64Array; age: number; newest: boolean }
  const items: Item[] = [];
  let maxCount = 0;
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const { run, histograms } of runs) {
    const first = histograms.reduce((m, h) => Math.min(m, h.wallTime), Infinity);
    histograms.forEach((h, i) => {
      const counts = rebin(h, min, max, bins);
      for (const c of counts) maxCount = Math.max(maxCount, c);
      const time = timeOf(xAxis, h.step, h.wallTime, first);
      if (Number.isFinite(time)) {
        t0 = Math.min(t0, time);
        t1 = Math.max(t1, time);
      }
      const age = histograms.length > 1 ? i / (histograms.length - 1) : 1;
      items.push({ run, h, time, counts, age, newest: i === histograms.length - 1 });
    });
  }
  if (t0 > t1) t0 = t1 = 0;
  const height = box.bottom - box.top;
  const ridge = mode === 'offset' ? height * RIDGE : height;
  // Offset: older curves higher up (behind), the newest on the bottom edge (in front).
  const timeY =
    mode === 'offset' && t1 > t0 ? linear(t0, t1, box.top + ridge, box.bottom) : () => box.bottom;
  const countY = (count: number) => box.bottom - (maxCount > 0 ? (count / maxCount) * ridge : 0);

  // Drawing order: by time, so that in offset mode newer curves cover older ones.
  // (A stable sort: runs keep their order at equal times; non-finite times go first.)
  const key = (t: number) => (Number.isFinite(t) ? t : -Infinity);
  items.sort((a, b) => (key(a.time) < key(b.time) ? -1 : key(a.time) > key(b.time) ? 1 : 0));
  const curves = items.map(({ run, h, time, counts, age, newest }): Curve => {
    const baseline = Number.isFinite(time) ? timeY(time) : box.bottom;
    const scale = maxCount > 0 ? ridge / maxCount : 0;
    const ys = new Float64Array(bins);
    let d = `M${px(box.left)},${px(baseline)}`;
    let weighted = 0;
    let total = 0;
    for (let b = 0; b < bins; b++) {
      ys[b] = baseline - counts[b]! * scale;
      d += `L${px(centres[b]!)},${px(ys[b]!)}`;
      weighted += counts[b]! * centres[b]!;
      total += counts[b]!;
    }
    d += `L${px(box.right)},${px(baseline)}Z`;
    return {
      run, step: h.step, wallTime: h.wallTime, time, counts, baseline, ys, d,
      meanX: total > 0 ? weighted / total : (box.left + box.right) / 2, age, newest,
    };
  });
  return { curves, range, bins, x, timeRange: [t0, t1], timeY, maxCount, countY };
}

export interface Hover {
  curve: Curve;
  bin: number;
  left: number;
  right: number;
  count: number;
}

/**
 * The bin under the pointer and the curve it points at: in offset mode the nearest ridge whose
 * zero line is at or below the pointer (the curve the pointer is over), in overlay mode the curve
 * whose height at that bin is nearest the pointer.
 */
export function hoverAt(geometry: ChartGeometry, box: Box, mx: number, my: number, mode: Mode): Hover | null {
  if (mx < box.left || mx > box.right || geometry.curves.length === 0) return null;
  const [min, max] = geometry.range;
  const bins = geometry.bins;
  const bin = Math.min(bins - 1, Math.max(0, Math.floor(((mx - box.left) / (box.right - box.left)) * bins)));
  let best: Curve | null = null;
  let bestDistance = Infinity;
  for (const curve of geometry.curves) {
    let distance: number;
    if (mode === 'offset') {
      const below = curve.baseline - my;
      // Ridges below the pointer win over those above it (whose shapes end above the pointer).
      distance = below >= -2 ? below : 1e6 - below;
    } else {
      distance = Math.abs(curve.ys[bin]! - my);
    }
    // Ties go to the later curve (drawn in front).
    if (distance <= bestDistance) {
      best = curve;
      bestDistance = distance;
    }
  }
  if (!best) return null;
  const width = (max - min) / bins;
  return { curve: best, bin, left: min + bin * width, right: min + (bin + 1) * width, count: best.counts[bin]! };
}
