/**
 * PR curves from the `/pr_curves` route to what a chart draws: numbers (TensorBoard's "NaN"
 * strings become NaN), an SVG path per curve in a zoomable [0, 1] domain, the point nearest the
 * pointer for the tooltip, and the slider's label in step / relative / wall form.
 */
import { formatDuration, formatStep, formatWallTime } from '../../core/format';

/** One step's curve as the route sends it (precision and recall may hold "NaN" strings). */
export interface RawEntry {
  wall_time: number;
  step: number;
  precision: (number | string)[];
  recall: (number | string)[];
  thresholds: number[];
  true_positives: number[];
  false_positives: number[];
  true_negatives: number[];
  false_negatives: number[];
}
export type RawCurves = Record<string, RawEntry[]>;

export interface Entry {
  wall_time: number;
  step: number;
  precision: number[];
  recall: number[];
  thresholds: number[];
  true_positives: number[];
  false_positives: number[];
  true_negatives: number[];
  false_negatives: number[];
}

export type TimeDisplay = 'step' | 'relative' | 'wall_time';

function toNumber(value: number | string): number {
  if (typeof value === 'number') return value;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return NaN;
}

export function parseEntry(raw: RawEntry): Entry {
  return { ...raw, precision: raw.precision.map(toNumber), recall: raw.recall.map(toNumber) };
}

/** The plotted domain: recall (x) and precision (y) ranges. */
export interface Domain {
  x: [number, number];
  y: [number, number];
}
export const FULL_DOMAIN: Domain = { x: [0, 1], y: [0, 1] };

export interface Frame {
  /** Plot area in SVG units. */
  left: number;
  top: number;
  width: number;
  height: number;
}

export function toPx(frame: Frame, domain: Domain, recall: number, precision: number): [number, number] {
  const px = frame.left + ((recall - domain.x[0]) / (domain.x[1] - domain.x[0])) * frame.width;
  const py = frame.top + (1 - (precision - domain.y[0]) / (domain.y[1] - domain.y[0])) * frame.height;
  return [px, py];
}

export function fromPx(frame: Frame, domain: Domain, px: number, py: number): [number, number] {
  const recall = domain.x[0] + ((px - frame.left) / frame.width) * (domain.x[1] - domain.x[0]);
  const precision = domain.y[0] + (1 - (py - frame.top) / frame.height) * (domain.y[1] - domain.y[0]);
  return [recall, precision];
}

/** The SVG path of a curve: (recall, precision) per threshold; non-finite points break it. */
export function curvePath(entry: Entry, frame: Frame, domain: Domain): string {
  const parts: string[] = [];
  let pen = false;
  for (let i = 0; i < entry.recall.length; i++) {
    const r = entry.recall[i]!;
    const p = entry.precision[i]!;
    if (!Number.isFinite(r) || !Number.isFinite(p)) {
      pen = false;
      continue;
    }
    const [x, y] = toPx(frame, domain, r, p);
    parts.push(`${pen ? 'L' : 'M'}${x.toFixed(2)},${y.toFixed(2)}`);
    pen = true;
  }
  return parts.join('');
}

export interface Nearest {
  run: string;
  index: number;
  /** Distance in SVG units. */
  distance: number;
}

/** The threshold point nearest (px, py) over all runs' drawn curves, within `radius`. */
export function nearestPoint(
  curves: readonly { run: string; entry: Entry }[],
  frame: Frame,
  domain: Domain,
  px: number,
  py: number,
  radius = Infinity,
): Nearest | null {
  let best: Nearest | null = null;
  for (const { run, entry } of curves) {
    for (let i = 0; i < entry.recall.length; i++) {
      const r = entry.recall[i]!;
      const p = entry.precision[i]!;
      if (!Number.isFinite(r) || !Number.isFinite(p)) continue;
      const [x, y] = toPx(frame, domain, r, p);
      const distance = Math.hypot(x - px, y - py);
      if (distance <= radius && (best === null || distance < best.distance)) best = { run, index: i, distance };
    }
  }
  return best;
}

/** The slider's label of one step, as TensorBoard's time display types show it. */
export function timeLabel(display: TimeDisplay, entry: Entry, first: Entry): string {
  if (display === 'wall_time') return formatWallTime(entry.wall_time);
  if (display === 'relative') return formatDuration(entry.wall_time - first.wall_time);
  return `step ${formatStep(entry.step)}`;
}

/** The index to show for a run: the chosen step if still present, else the latest. */
export function pickIndex(entries: readonly Entry[], chosenStep: number | undefined): number {
  if (chosenStep !== undefined) {
    const found = entries.findIndex((e) => e.step === chosenStep);
    if (found >= 0) return found;
  }
  return entries.length - 1;
}

/** Ticks for a range: 5 or so round numbers. */
export function ticks([lo, hi]: [number, number]): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Number(t.toPrecision(12)));
  }
  return out;
}
