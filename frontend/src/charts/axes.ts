/** Axis options: theme colours read at draw time, labels per axis kind, room for the labels. */
import type uPlot from 'uplot';

import type { XAxis } from '../core/api';
import { formatCompact, formatDurationTick, formatWallTick } from '../core/format';
import { chartTheme } from './theme';

/** Whole steps only: 1, 2, 5 times a power of ten. */
const STEP_INCRS = (() => {
  const out: number[] = [];
  for (let e = 0; e <= 15; e++) for (const m of [1, 2, 5]) out.push(m * 10 ** e);
  return out;
})();

/** Log-axis labels at 1, 2 and 5 times a power of ten only (uPlot also splits at the range's ends). */
export function formatLogTick(value: number): string {
  if (value <= 0) return '';
  const mantissa = value / 10 ** Math.floor(Math.log10(value) + 1e-9);
  const nice = [1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-6 * m);
  return nice ? formatCompact(value) : '';
}

function yAxisSize(self: uPlot, values: string[] | null): number {
  if (!values || values.length === 0) return 40;
  self.ctx.font = chartTheme().font;
  let widest = 0;
  for (const v of values) widest = Math.max(widest, self.ctx.measureText(v ?? '').width);
  return Math.ceil(widest / devicePixelRatio) + 16;
}

// Log axes filter some splits to null (no label there).
const label =
  (format: (v: number) => string) =>
  (_: uPlot, splits: (number | null)[]): string[] =>
    splits.map((v) => (v === null || v === undefined ? '' : format(v)));

export function axes(xAxis: XAxis, logY: boolean): uPlot.Axis[] {
  const theme = chartTheme;
  const common = {
    stroke: () => theme().text,
    font: theme().font,
    grid: { stroke: () => theme().grid, width: 1 },
    ticks: { stroke: () => theme().grid, width: 1, size: 4 },
    border: { show: false },
  };
  const xValues =
    xAxis === 'step'
      ? label(formatCompact)
      : xAxis === 'relative'
        ? label(formatDurationTick)
        : (_: uPlot, splits: (number | null)[], _axis: number, _space: number, incr: number) =>
            splits.map((v) => (v === null || v === undefined ? '' : formatWallTick(v, incr)));
  return [
    {
      ...common,
      scale: 'x',
      space: xAxis === 'wall_time' ? 90 : 60,
      values: xValues as uPlot.Axis.DynamicValues,
      ...(xAxis === 'step' ? { incrs: STEP_INCRS } : {}),
    },
    {
      ...common,
      scale: 'y',
      space: 28,
      size: (self, values) => yAxisSize(self, values),
      values: (logY ? label(formatLogTick) : label(formatCompact)) as uPlot.Axis.DynamicValues,
    },
  ];
}
