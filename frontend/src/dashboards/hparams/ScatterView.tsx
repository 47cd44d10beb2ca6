/**
 * SCATTER PLOT MATRIX: a small plot per (metric row, hparam column) pair, one dot per session.
 * Hovering a dot highlights that session in every plot; a click shows its curves.
 */
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';

import { formatValue, type Row, type ScaleKind } from './model';
import { axisScales, type AxisScale } from './ParallelView';
import type { ViewProps } from './views';

const W = 190;

/** The value at one end of an axis (its first or last category), for a corner label. */
function endLabel(scale: AxisScale, unit: 0 | 1): string {
  const value = scale.categories
    ? scale.categories[unit === 0 ? 0 : scale.categories.length - 1] ?? null
    : scale.fromUnit(unit);
  const text = formatValue(value);
  return text.length > 12 ? `${text.slice(0, 11)}…` : text;
}
const H = 150;
const PAD = 14;

export function ScatterView(
  props: ViewProps & { allRows: readonly Row[]; kinds: Readonly<Record<string, ScaleKind>> },
): JSX.Element {
  const { columns, rows, allRows, faded, color, hovered, onHover, selected, onSelect, kinds } = props;
  const hparams = columns.filter((c) => c.column.kind === 'hparam');
  const metrics = columns.filter((c) => c.column.kind === 'metric');
  const hScales = useMemo(() => axisScales(hparams, allRows, kinds), [hparams.map((c) => c.column.id).join('\n'), allRows, kinds]);
  const mScales = useMemo(() => axisScales(metrics, allRows, kinds), [metrics.map((c) => c.column.id).join('\n'), allRows, kinds]);
  if (!hparams.length || !metrics.length) {
    return (
      <div class="notice" data-testid="hp-scatter-empty">
        The scatter plot matrix needs at least one shown hyperparameter and one shown metric.
      </div>
    );
  }
  const hoveredRow = hovered ? rows.find((r) => r.run === hovered) : undefined;
  return (
    <div class="hp-scatter" data-testid="hp-scatter" style={{ gridTemplateColumns: `auto repeat(${hparams.length}, ${W}px)` }}>
      <div />
      {hparams.map(({ column }) => (
        <div key={column.id} class="hp-scatter__head" title={column.label}>
          {column.label}
        </div>
      ))}
      {metrics.map((m, mi) => [
        <div key={`${m.column.id}:label`} class="hp-scatter__side" title={m.column.label}>
          {m.column.label}
        </div>,
        ...hparams.map((h, hi) => {
          const xs = hScales[hi]!;
          const ys = mScales[mi]!;
          return (
            <svg
              key={`${m.column.id}|${h.column.id}`}
              width={W}
              height={H}
              class="hp-cell"
              data-testid="hp-cell"
              data-x={h.column.id}
              data-y={m.column.id}
              onMouseLeave={() => onHover(null)}
            >
              <rect x={PAD / 2} y={PAD / 2} width={W - PAD} height={H - PAD} class="hp-cell__frame" />
              <text x={PAD / 2 + 2} y={H - 2} class="hp-cell__tick">{endLabel(xs, 0)}</text>
              <text x={W - PAD / 2 - 2} y={H - 2} class="hp-cell__tick" text-anchor="end">{endLabel(xs, 1)}</text>
              <text x={PAD / 2 + 2} y={PAD / 2 + 9} class="hp-cell__tick">{endLabel(ys, 1)}</text>
              {rows.map((row) => {
                const ux = xs.toUnit(row.values[h.index] ?? null);
                const uy = ys.toUnit(row.values[m.index] ?? null);
                if (ux === null || uy === null) return null;
                const on = hovered === row.run || selected === row.run;
                return (
                  <circle
                    key={row.run}
                    cx={PAD + ux * (W - 2 * PAD)}
                    cy={PAD + (1 - uy) * (H - 2 * PAD)}
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
      ])}
      {hoveredRow ? (
        <div class="hp-scatter__hover" data-testid="hp-scatter-hover">
          {hoveredRow.run}
        </div>
      ) : null}
    </div>
  );
}
