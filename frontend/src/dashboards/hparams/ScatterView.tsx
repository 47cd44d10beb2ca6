/**
 * SCATTER PLOT MATRIX: a plot per (row, hparam column) pair, one dot per session, the rows being
 * every shown hparam and then every shown metric: hparam × hparam (how the sweep covered the
 * space; the diagonal shows each hparam's values) and hparam × metric. Dots take the colour of the
 * "colour by" column (a metric, say). The plots
 * share the container's width (between MIN_PLOT and MAX_PLOT each; narrower containers scroll).
 * Each row's metric is labelled on the left edge of its first plot, each column's hparam along
 * the bottom edge of the last row, outside the plotting areas. Hovering a dot highlights that
 * session in every plot; a click shows its curves.
 */
import type { JSX } from 'preact';
import { useMemo, useRef, useState } from 'preact/hooks';

import { formatTick, formatValue, type Row, type ScaleKind } from './model';
import { axisScales, useWidth, type AxisScale } from './ParallelView';
import type { ViewProps } from './views';

export const MIN_PLOT = 150;
export const MAX_PLOT = 340;
/** The row labels' column, the gap between plots, the tick margins (left of the first column, below the last row). */
const SIDE = 120;
const GAP = 8;
const LEFT = 46;
const BOTTOM = 20;
/** Inside a plot: dots keep this far from its frame. */
const INSET = 7;

/** The width of each plot for a container `width` wide holding `count` columns. */
export function plotSize(width: number, count: number): number {
  const free = width - SIDE - LEFT - GAP * count;
  return Math.round(Math.min(MAX_PLOT, Math.max(MIN_PLOT, free / Math.max(1, count))));
}

interface Tick {
  u: number;
  text: string;
}

function clip(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, Math.max(1, chars - 1))}…` : text;
}

/** An axis' labels: each category where there is room (else the first and last), or a numeric axis' min and max. */
function axisTicks(scale: AxisScale, length: number, chars: number): Tick[] {
  if (scale.categories) {
    const all = scale.categories.map((v) => ({ u: scale.toUnit(v) ?? 0, text: clip(formatValue(v), chars) }));
    if (all.length <= 2 || length / all.length >= 36) return all;
    return [all[0]!, all[all.length - 1]!];
  }
  const lo = scale.fromUnit(0);
  const hi = scale.fromUnit(1);
  if (!Number.isFinite(lo)) return [];
  if (lo === hi) return [{ u: scale.toUnit(lo) ?? 0.5, text: formatTick(lo) }];
  return [
    { u: 0, text: formatTick(lo) },
    { u: 1, text: formatTick(hi) },
  ];
}

export function ScatterView(
  props: ViewProps & { allRows: readonly Row[]; kinds: Readonly<Record<string, ScaleKind>> },
): JSX.Element {
  const { columns, rows, allRows, faded, color, hovered, onHover, selected, onSelect, kinds } = props;
  const wrap = useRef<HTMLDivElement>(null);
  // The pointer, relative to the matrix: the hovered session's tooltip follows it.
  const [tip, setTip] = useState<{ x: number; y: number } | null>(null);
  const width = useWidth(wrap);
  const hparams = columns.filter((c) => c.column.kind === 'hparam');
  // The matrix' rows: every hparam (hparam × hparam), then every metric (hparam × metric).
  const metrics = [...hparams, ...columns.filter((c) => c.column.kind === 'metric')];
  const hScales = useMemo(() => axisScales(hparams, allRows, kinds), [hparams.map((c) => c.column.id).join('\n'), allRows, kinds]);
  const mScales = useMemo(() => axisScales(metrics, allRows, kinds), [metrics.map((c) => c.column.id).join('\n'), allRows, kinds]);
  if (!hparams.length) {
    return (
      <div class="notice" data-testid="hp-scatter-empty">
        The scatter plot matrix needs at least one shown hyperparameter.
      </div>
    );
  }
  const W = plotSize(width, hparams.length);
  const H = Math.round(Math.min(metrics.length > 3 ? 200 : 280, Math.max(120, W * 0.62)));
  const hoveredRow = hovered ? rows.find((r) => r.run === hovered) : undefined;
  return (
    <div class="hp-scatter-wrap" ref={wrap}>
      <div
        class="hp-scatter"
        data-testid="hp-scatter"
        data-plot-width={W}
        onMouseMove={(e) => {
          const box = (e.currentTarget as HTMLElement).getBoundingClientRect();
          setTip({ x: e.clientX - box.left, y: e.clientY - box.top });
        }}
        onMouseLeave={() => setTip(null)}
        style={{ gridTemplateColumns: `${SIDE}px ${W + LEFT}px ${hparams.length > 1 ? `repeat(${hparams.length - 1}, ${W}px)` : ''}` }}
      >
        <div />
        {hparams.map(({ column }, hi) => (
          <div key={column.id} class="hp-scatter__head" title={column.label} style={hi === 0 ? { paddingLeft: `${LEFT}px` } : undefined}>
            {column.label}
          </div>
        ))}
        {metrics.map((m, mi) => {
          const lastRow = mi === metrics.length - 1;
          const ys = mScales[mi]!;
          const yTicks = axisTicks(ys, H, 7);
          return [
            <div key={`${m.column.id}:label`} class="hp-scatter__side" title={m.column.label} style={lastRow ? { paddingBottom: `${BOTTOM}px` } : undefined}>
              {m.column.label}
            </div>,
            ...hparams.map((h, hi) => {
              const xs = hScales[hi]!;
              const left = hi === 0 ? LEFT : 0;
              const bottom = lastRow ? BOTTOM : 0;
              const xOf = (u: number) => left + INSET + u * (W - 2 * INSET);
              const yOf = (u: number) => INSET + (1 - u) * (H - 2 * INSET);
              const xTicks = lastRow ? axisTicks(xs, W, Math.max(4, Math.floor(W / 2 / 6))) : [];
              return (
                <svg
                  key={`${m.column.id}|${h.column.id}`}
                  width={W + left}
                  height={H + bottom}
                  class={`hp-cell ${m.column.id === h.column.id ? 'hp-cell--diagonal' : ''}`}
                  data-testid="hp-cell"
                  data-x={h.column.id}
                  data-y={m.column.id}
                  onMouseLeave={() => onHover(null)}
                >
                  <rect x={left + 0.5} y={0.5} width={W - 1} height={H - 1} class="hp-cell__frame" />
                  {hi === 0
                    ? yTicks.map((t, k) => (
                        <g key={`y${k}`} class="hp-cell__axis" data-testid="hp-cell-ytick">
                          <line x1={left - 4} x2={left} y1={yOf(t.u)} y2={yOf(t.u)} class="hp-cell__tickmark" />
                          <text x={left - 6} y={yOf(t.u)} dy="0.32em" class="hp-cell__tick" text-anchor="end">
                            {t.text}
                          </text>
                        </g>
                      ))
                    : null}
                  {xTicks.map((t, k) => {
                    const x = xOf(t.u);
                    // The end labels stay within the plot's width (no overlap with the neighbours').
                    const anchor = t.u <= 0.001 && xTicks.length > 1 ? 'start' : t.u >= 0.999 && xTicks.length > 1 ? 'end' : 'middle';
                    const tx = anchor === 'start' ? left + 1 : anchor === 'end' ? left + W - 1 : x;
                    return (
                      <g key={`x${k}`} class="hp-cell__axis" data-testid="hp-cell-xtick">
                        <line x1={x} x2={x} y1={H} y2={H + 4} class="hp-cell__tickmark" />
                        <text x={tx} y={H + 15} class="hp-cell__tick" text-anchor={anchor}>
                          {t.text}
                        </text>
                      </g>
                    );
                  })}
                  {rows.map((row) => {
                    const ux = xs.toUnit(row.values[h.index] ?? null);
                    const uy = ys.toUnit(row.values[m.index] ?? null);
                    if (ux === null || uy === null) return null;
                    const on = hovered === row.run || selected === row.run;
                    return (
                      <circle
                        key={row.run}
                        cx={xOf(ux)}
                        cy={yOf(uy)}
                        r={on ? 6 : 4}
                        data-session={row.run}
                        data-testid="hp-dot"
                        class={`hp-dot ${on ? 'hp-dot--on' : ''} ${faded.has(row.run) || (hovered && !on) ? 'hp-dot--dim' : ''}`}
                        fill={faded.has(row.run) ? 'var(--muted)' : color(row)}
                        onMouseEnter={() => onHover(row.run)}
                        onClick={() => onSelect(selected === row.run ? null : row.run)}
                      >
                        <title>{`${row.run}\n${h.column.label}: ${formatValue(row.values[h.index] ?? null)}\n${m.column.label}: ${formatValue(row.values[m.index] ?? null)}`}</title>
                      </circle>
                    );
                  })}
                </svg>
              );
            }),
          ];
        })}
        {hoveredRow ? (
          <div
            class="hp-tooltip hp-scatter__hover"
            data-testid="hp-scatter-hover"
            style={
              !tip
                ? { left: '0px', bottom: '0px' }
                : tip.x + 260 > width // near the right edge: the tooltip goes left of the pointer
                  ? { left: `${tip.x - 14}px`, top: `${tip.y + 10}px`, transform: 'translateX(-100%)' }
                  : { left: `${tip.x + 14}px`, top: `${tip.y + 10}px` }
            }
          >
            <div class="hp-tooltip__run" data-testid="hp-scatter-hover-run">
              <span class="hp-swatch" style={{ background: color(hoveredRow) }} />
              {hoveredRow.run}
            </div>
            {columns.map(({ column, index }) => (
              <div key={column.id} class="hp-tooltip__row">
                <span>{column.label}</span>
                <b>{formatValue(hoveredRow.values[index] ?? null)}</b>
              </div>
            ))}
          </div>
        ) : null}
      </div>
    </div>
  );
}
