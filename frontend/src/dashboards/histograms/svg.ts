/**
 * Small pieces shared by the histogram and distribution charts (both drawn as SVG, so tests can
 * read their geometry): TensorBoard's JSON numbers, nice ticks, and the time axis.
 */
import type { XAxis } from '../../core/api';
import { formatCompact, formatDurationTick, formatStep, formatWallTick } from '../../core/format';

/** A number in TensorBoard's JSON: non-finite ones are the strings "NaN", "Infinity", "-Infinity". */
export type JsonNumber = number | string | null;

export function toNumber(value: JsonNumber): number {
  if (typeof value === 'number') return value;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return NaN;
}

/** About `count` round tick values covering [min, max] (1, 2 or 5 times a power of ten apart). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || count < 1) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const unit = (fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10) * power;
  const ticks: number[] = [];
  for (let i = Math.ceil(min / unit); i * unit <= max + unit * 1e-9; i++) {
    // Multiply (not accumulate) so labels stay round: 0.30000000000000004 never shows.
    ticks.push(Number((i * unit).toPrecision(12)));
    if (ticks.length > 50) break;
  }
  return ticks;
}

/** The time coordinate of one point: its step, seconds since the run's first point, or wall time. */
export function timeOf(xAxis: XAxis, step: number, wallTime: number, firstWallTime: number): number {
  if (xAxis === 'step') return step;
  if (xAxis === 'relative') return wallTime - firstWallTime;
  return wallTime;
}

/** A tick label for a time coordinate; `incr` is the tick spacing (for wall-time precision). */
export function formatTime(xAxis: XAxis, value: number, incr: number): string {
  if (xAxis === 'step') return formatCompact(value);
  if (xAxis === 'relative') return formatDurationTick(value);
  return formatWallTick(value, incr);
}

/** A time coordinate in a tooltip. */
export function describeTime(xAxis: XAxis, value: number): string {
  if (xAxis === 'step') return `step ${formatStep(value)}`;
  if (xAxis === 'relative') return `${formatDurationTick(value)} after the first`;
  return new Date(value * 1000).toLocaleString();
}

export const TIME_AXES: { value: XAxis; label: string }[] = [
  { value: 'step', label: 'Step' },
  { value: 'relative', label: 'Relative' },
  { value: 'wall_time', label: 'Wall' },
];

/** A linear map from [d0, d1] to [r0, r1]; a zero-width domain maps to the range's middle. */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** Pixel coordinates rounded to 0.1 px: short path strings, no visible difference. */
export function px(value: number): string {
  return String(Math.round(value * 10) / 10);
}
