/**
 * From the fetched columns of one tag to what its chart draws: x per the chosen axis, the smoothed
 * and faded raw lines, aggregated groups with their bands, and the x and y ranges (zoom, typed
 * limits, or the data's extent; "ignore outliers" clips y to TensorBoard's 5th–95th percentile).
 */
import type { SeriesColumns, XAxis } from '../../core/api';
import type { Band } from '../../core/state';
import { aggregate, bandEdges, groupKey, groupSummary, slowest, spread } from '../../charts/aggregate';
import { formatValue } from '../../core/format';
import { padRange, valueRange } from '../../charts/extent';
import type { ChartModel, HoverLine, LineSpec } from '../../charts/lineChart';
import { smoothSeries, type Smoother } from '../../charts/smoothing';

export interface RunData {
  run: string;
  columns: SeriesColumns;
  /** The series' first wall time, the origin of the relative axis. */
  start: number;
  /** Other dashboards drawing several series per run (custom scalars): */
  /** a unique line key (default: the run), */
  id?: string;
  /** the tooltip's name (default: the run), */
  label?: string;
  /** a dash pattern telling a run's series apart (the colour stays the run's), */
  dash?: number[];
  /** and a shaded band (margin charts), values at the same points as `columns`. */
  band?: { lo: Float64Array; hi: Float64Array };
}

export type CompiledGroupBy =
  | { kind: 'none' }
  | { kind: 'regex'; regex: RegExp }
  | { kind: 'part'; separator: string; index: number };

export interface ModelOptions {
  xAxis: XAxis;
  smoothing: number;
  /** How to smooth (default: TensorBoard's EMA). */
  smoother?: Smoother;
  logY: boolean;
  ignoreOutliers: boolean;
  groupBy: CompiledGroupBy;
  band: Band;
  showMembers: boolean;
  /** The colour of a run. */
  color(name: string): string;
  /** The colour of an aggregation group. */
  groupColor(key: string): string;
  /** Zoomed or typed ranges; null bounds fit the data. */
  xLimits: [number | null, number | null];
  yLimits: [number | null, number | null];
  /** The dark theme: bands and member lines need more opacity to stand out from a dark card. */
  dark?: boolean;
}

export interface CardModel extends ChartModel {
  /** Points drawn, and points in the range on the server (they differ when reduced). */
  pointsShown: number;
  pointsTotal: number;
}

const RAW_ALPHA = 0.25;
const BAND_ALPHA = 0.2;
const MEMBER_ALPHA = 0.3;
// On a dark card the same alphas leave a band and member lines close to the background
// (a 0.2 band of a mid-tone colour over #1e1e1e is barely visible).
const DARK_BAND_ALPHA = 0.32;
const DARK_MEMBER_ALPHA = 0.5;

/** The x values of a run on the chosen axis (the server returns them in ascending x order). */
export function xValues(data: RunData, xAxis: XAxis): Float64Array {
  const { step, wall_time } = data.columns;
  if (xAxis === 'step') return step;
  if (xAxis === 'wall_time') return wall_time;
  const out = new Float64Array(wall_time.length);
  for (let i = 0; i < out.length; i++) out[i] = wall_time[i]! - data.start;
  return out;
}

/** The first finite wall time of a series (the relative axis's zero). */
export function seriesStart(columns: SeriesColumns): number {
  let start = Infinity;
  for (const t of columns.wall_time) if (t < start) start = t;
  return Number.isFinite(start) ? start : 0;
}

/** `values` with gaps (null) where a point cannot be drawn: non-finite, or ≤ 0 on a log axis. */
export function drawable(values: Float64Array, log: boolean): ArrayLike<number | null> {
  let clean = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) || (log && v <= 0)) {
      clean = false;
      break;
    }
  }
  if (clean) return values;
  const out: (number | null)[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = Number.isFinite(v) && (!log || v > 0) ? v : null;
  }
  return out;
}

/** Values of `ys` whose x lies in [x0, x1] (for y ranges that follow the zoom). */
function collect(out: number[], xs: ArrayLike<number>, ys: ArrayLike<number>, x0: number, x1: number, log: boolean): void {
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    if (x < x0 || x > x1) continue;
    const y = ys[i]!;
    if (Number.isFinite(y) && (!log || y > 0)) out.push(y);
  }
}

interface Drawn {
  x: Float64Array;
  ys: Float64Array[];
  primary: Float64Array;
}

/**
 * The tooltip's lines under a group (ranks of a job, seeds): the member farthest from the drawn
 * mean at the hovered x, the members that ended before it, and the slowest member in steps per
 * second, when one is (see `spread` and `slowest`).
 */
function outlierNotes(
  key: string,
  members: readonly { x: Float64Array; y: Float64Array; run: RunData }[],
  agg: ReturnType<typeof aggregate>,
  xAxis: XAxis,
): ((index: number) => string[]) | undefined {
  if (members.length < 2) return undefined;
  const name = (k: number) => {
    const run = members[k]!.run.run;
    return run.startsWith(`${key}/`) ? run.slice(key.length + 1) : run;
  };
  const out = spread(members, agg);
  const slow = slowest(members.map(({ run }) => ({ x: run.columns.step, y: run.columns.wall_time })));
  const rate = (r: number) => formatValue(r < 10 ? Number(r.toPrecision(2)) : Math.round(r));
  return (i) => {
    const notes: string[] = [];
    const k = out.farthest[i]!;
    if (k >= 0) {
      const d = out.delta[i]!;
      notes.push(`farthest from mean: ${name(k)} (${d > 0 ? '+' : ''}${formatValue(d)})`);
    }
    const behind: string[] = [];
    out.lastX.forEach((last, m) => {
      if (last < agg.x[i]!) behind.push(xAxis === 'step' ? `${name(m)} (last step ${last})` : name(m));
    });
    if (behind.length > 0) notes.push(`ended before here: ${behind.join(', ')}`);
    if (slow) notes.push(`slowest: ${name(slow.index)} (${rate(slow.rate)} vs ${rate(slow.meanRate)} steps/s)`);
    return notes;
  };
}

/** A group's tooltip lines: its summary at the hovered x, then who stands out. */
function groupNotes(
  agg: ReturnType<typeof aggregate>,
  band: Band,
  total: number,
  outliers: ((index: number) => string[]) | undefined,
): ((index: number) => string[]) | undefined {
  if (total < 2) return undefined; // a group of one is its run: nothing to summarize
  return (i) => [groupSummary(agg, i, band, total), ...(outliers ? outliers(i) : [])];
}

export function buildModel(runs: readonly RunData[], options: ModelOptions): CardModel {
  const { xAxis, smoothing, logY } = options;
  const smoothingOn = smoothing > 0;
  const smoother = options.smoother ?? 'ema';
  const lines: LineSpec[] = [];
  const hover: HoverLine[] = [];
  const drawn: Drawn[] = [];
  let pointsShown = 0;
  let pointsTotal = 0;

  const groups = new Map<string, { run: RunData; x: Float64Array }[]>();
  const singles: { run: RunData; x: Float64Array }[] = [];
  for (const run of runs) {
    pointsShown += run.columns.step.length;
    pointsTotal += run.columns.total;
    const x = xValues(run, xAxis);
    const key = groupKey(run.run, options.groupBy);
    if (key === null) {
      singles.push({ run, x });
    } else {
      let members = groups.get(key);
      if (!members) groups.set(key, (members = []));
      members.push({ run, x });
    }
  }

  // Many lines: 1 px. Besides being easier to tell apart, 1-px lines are hairlines that software
  // rasterizers (Chrome without GPU raster) draw ~5x faster than wider strokes.
  const lineWidth = singles.length + groups.size > 20 ? 1 : 1.5;

  // Groups first, so that their bands lie under the single runs' lines.
  for (const [key, members] of groups) {
    const color = options.groupColor(key);
    const smoothedMembers = members.map(({ run, x }) => ({
      x,
      raw: run.columns.value,
      y: smoothingOn ? smoothSeries(x, run.columns.value, smoother, smoothing) : run.columns.value,
      run,
    }));
    const agg = aggregate(smoothedMembers);
    const rawAgg = smoothingOn
      ? aggregate(smoothedMembers.map((m) => ({ x: m.x, y: m.raw })))
      : agg;
    if (options.showMembers) {
      for (const m of smoothedMembers) {
        lines.push({
          key: `member:${m.run.run}`,
          color: options.color(m.run.run),
          width: 1,
          alpha: options.dark ? DARK_MEMBER_ALPHA : MEMBER_ALPHA,
          x: m.x,
          y: drawable(m.y, logY),
        });
        drawn.push({ x: m.x, ys: [m.y], primary: m.y });
      }
    }
    const ys: Float64Array[] = [agg.mean];
    if (options.band !== 'none') {
      const { lo, hi } = bandEdges(agg, options.band);
      const alpha = options.dark ? DARK_BAND_ALPHA : BAND_ALPHA;
      lines.push({ key: `band:${key}`, color, width: 0, alpha, x: agg.x, y: hi, band: { lo, hi } });
      ys.push(lo, hi);
    }
    if (smoothingOn) {
      lines.push({ key: `rawmean:${key}`, color, width: 1, alpha: RAW_ALPHA, x: rawAgg.x, y: drawable(rawAgg.mean, logY) });
      ys.push(rawAgg.mean);
    }
    lines.push({ key: `mean:${key}`, color, width: lineWidth + 0.5, alpha: 1, x: agg.x, y: drawable(agg.mean, logY) });
    drawn.push({ x: agg.x, ys, primary: agg.mean });
    hover.push({
      name: `${key} (${members.length} run${members.length === 1 ? '' : 's'})`,
      color,
      x: agg.x,
      y: agg.mean,
      value: rawAgg.mean,
      smoothed: smoothingOn ? agg.mean : null,
      step: xAxis === 'step' ? agg.x : null,
      wallTime: xAxis === 'wall_time' ? agg.x : null,
      relative: xAxis === 'relative' ? agg.x : null,
      relativeOrigin: null,
      notes: groupNotes(agg, options.band, members.length, outlierNotes(key, smoothedMembers, agg, xAxis)),
    });
  }

  for (const { run, x } of singles) {
    const color = options.color(run.run);
    const id = run.id ?? run.run;
    const dash = run.dash ? { dash: run.dash } : {};
    const { value, step, wall_time } = run.columns;
    const smoothed = smoothingOn ? smoothSeries(x, value, smoother, smoothing) : null;
    const ys: Float64Array[] = smoothed ? [value, smoothed] : [value];
    if (run.band) {
      const { lo, hi } = run.band;
      lines.push({ key: `band:${id}`, color, width: 0, alpha: BAND_ALPHA, x, y: hi, band: { lo, hi } });
      ys.push(lo, hi);
    }
    if (smoothed) {
      lines.push({ key: `raw:${id}`, color, width: 1, alpha: RAW_ALPHA, x, y: drawable(value, logY), ...dash });
      lines.push({ key: `run:${id}`, color, width: lineWidth, alpha: 1, x, y: drawable(smoothed, logY), ...dash });
    } else {
      lines.push({ key: `run:${id}`, color, width: lineWidth, alpha: 1, x, y: drawable(value, logY), ...dash });
    }
    drawn.push({ x, ys, primary: smoothed ?? value });
    hover.push({
      name: run.label ?? run.run,
      color,
      x,
      y: smoothed ?? value,
      value,
      smoothed,
      step,
      wallTime: wall_time,
      relative: xAxis === 'relative' ? x : null,
      relativeOrigin: run.start,
    });
  }

  const xRange = fitX(drawn, options.xLimits, xAxis);
  const yRange = fitY(drawn, xRange, options);
  return { lines, hover, xAxis, logY, xRange, yRange, pointsShown, pointsTotal };
}

function fitX(drawn: Drawn[], limits: [number | null, number | null], xAxis: XAxis): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const { x } of drawn) {
    if (x.length === 0) continue;
    if (x[0]! < lo) lo = x[0]!;
    if (x[x.length - 1]! > hi) hi = x[x.length - 1]!;
  }
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (lo === hi) {
    const pad = xAxis === 'step' ? 1 : Math.max(1, Math.abs(lo) * 1e-6);
    [lo, hi] = [lo - pad, hi + pad];
  }
  const [a, b] = limits;
  const out: [number, number] = [a ?? lo, b ?? hi];
  if (!(out[1] > out[0])) return [lo, hi];
  return out;
}

function fitY(drawn: Drawn[], [x0, x1]: [number, number], options: ModelOptions): [number, number] {
  const [a, b] = options.yLimits;
  if (a !== null && b !== null && b > a) return [a, b];
  const log = options.logY;
  let range: [number, number] | null;
  if (options.ignoreOutliers) {
    // "Ignore outliers" ranges the drawn lines only (TensorBoard leaves the faded raw lines, its
    // auxiliary series, out): their 5th-95th percentile.
    const values: number[] = [];
    for (const d of drawn) collect(values, d.x, d.primary, x0, x1, log);
    range = valueRange(values, true);
  } else {
    // Everything drawn, raw lines and bands included; min and max in one pass, no copies.
    let lo = Infinity;
    let hi = -Infinity;
    for (const d of drawn) {
      const xs = d.x;
      for (const ys of d.ys) {
        for (let i = 0; i < xs.length; i++) {
          const x = xs[i]!;
          if (x < x0 || x > x1) continue;
          const y = ys[i]!;
          if (y < lo && (!log || y > 0) && y > -Infinity) lo = y;
          if (y > hi && (!log || y > 0) && y < Infinity) hi = y;
        }
      }
    }
    range = lo <= hi ? [lo, hi] : null;
  }
  let out: [number, number] = range ? padRange(range, log) : log ? [0.1, 10] : [0, 1];
  if (a !== null) out = [a, Math.max(out[1], a + (log ? a : 1))];
  if (b !== null) out = [Math.min(out[0], log ? b / 10 : b - 1), b];
  return out;
}

/** The step range to request for an x range (zoom refinement), or null for everything. */
export function stepRange(
  runs: readonly RunData[],
  xAxis: XAxis,
  [x0, x1]: [number | null, number | null],
): [number, number] | null {
  if (x0 === null && x1 === null) return null;
  if (xAxis === 'step') {
    return [Math.floor(x0 ?? -Number.MAX_SAFE_INTEGER), Math.ceil(x1 ?? Number.MAX_SAFE_INTEGER)];
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const run of runs) {
    const x = xValues(run, xAxis);
    const { step } = run.columns;
    for (let i = 0; i < x.length; i++) {
      if ((x0 !== null && x[i]! < x0) || (x1 !== null && x[i]! > x1)) continue;
      if (step[i]! < lo) lo = step[i]!;
      if (step[i]! > hi) hi = step[i]!;
    }
  }
  return Number.isFinite(lo) ? [lo, hi] : null;
}
