/**
 * PARALLEL COORDINATES: an axis per shown column (hparams, then metrics), each with its scale
 * (linear, log or quantile; categories evenly spread), one SVG path per session. Drag along an
 * axis to brush: the brushed range becomes that column's filter (a click clears it). Hover a
 * line to highlight it and read its values; click it to show its curves. Sessions the filters
 * leave out stay drawn, faded and behind (the shape of the whole sweep stays in view); the axes'
 * labels are drawn after the lines, with a halo in the panel's colour, so lines never cover them.
 */
import type { JSX } from 'preact';
import { useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

import {
  brushFilter,
  categories,
  categoryScale,
  filterSpan,
  formatTick,
  formatValue,
  isCategorical,
  numericScale,
  type ColumnFilter,
  type Row,
  type Scale,
  type ScaleKind,
  type Value,
} from './model';
import type { ShownColumn, ViewProps } from './views';

const HEIGHT = 360;
const TOP = 36;
const BOTTOM = 24;
const SIDE = 60;
const PLOT = HEIGHT - TOP - BOTTOM;

export type AxisScale = Scale & { categories?: readonly Value[] };

/** The scale of each shown column over the rows (all sessions, so brushing keeps axes still). */
export function axisScales(
  columns: readonly ShownColumn[],
  rows: readonly Row[],
  kinds: Readonly<Record<string, ScaleKind>>,
): AxisScale[] {
  return columns.map(({ column, index }) => {
    if (isCategorical(column)) return categoryScale(categories(column, rows, index));
    const numbers = rows.map((r) => r.values[index]).filter((v): v is number => typeof v === 'number');
    return numericScale(numbers, kinds[column.id] ?? 'linear');
  });
}

/** The element's width, following its resizes. */
export function useWidth(ref: { current: HTMLElement | null }): number {
  const [width, setWidth] = useState(800);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    setWidth(el.clientWidth || 800);
    const observer = new ResizeObserver(() => setWidth(el.clientWidth || 800));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return width;
}

export function ParallelView(
  props: ViewProps & {
    allRows: readonly Row[];
    kinds: Readonly<Record<string, ScaleKind>>;
    onKind(column: string, kind: ScaleKind): void;
    filters: Readonly<Record<string, ColumnFilter>>;
    onFilter(column: string, filter: ColumnFilter | null): void;
  },
): JSX.Element {
  const { columns, rows, allRows, faded, color, hovered, onHover, selected, onSelect, kinds, filters } = props;
  const wrap = useRef<HTMLDivElement>(null);
  const width = Math.max(320, useWidth(wrap));
  const scales = useMemo(() => axisScales(columns, allRows, kinds), [columns, allRows, kinds]);
  const step = columns.length > 1 ? (width - 2 * SIDE) / (columns.length - 1) : 0;
  const xOf = (i: number) => (columns.length > 1 ? SIDE + i * step : width / 2);
  const yOf = (u: number) => TOP + (1 - u) * PLOT;
  const [drag, setDrag] = useState<{ axis: number; from: number; to: number } | null>(null);
  const [tip, setTip] = useState<{ x: number; y: number } | null>(null);

  const pathOf = (row: Row): string => {
    let d = '';
    let pen = false;
    columns.forEach(({ index }, i) => {
      const u = scales[i]!.toUnit(row.values[index] ?? null);
      if (u === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${xOf(i).toFixed(1)},${yOf(u).toFixed(1)}`;
      pen = true;
    });
    // A session with one placeable value still shows (as a dot).
    if (d && !d.includes('L')) d += 'h0.01';
    return d;
  };

  // Within 4 px of an end of the axis counts as the end (the brush then keeps the extreme).
  const unitOf = (target: SVGElement, clientY: number): number => {
    const box = (target.ownerSVGElement ?? target).getBoundingClientRect();
    const u = 1 - (clientY - box.top - TOP) / PLOT;
    return u > 1 - 4 / PLOT ? 1 : u < 4 / PLOT ? 0 : u;
  };

  const startBrush = (axis: number, event: MouseEvent) => {
    event.preventDefault();
    const target = event.currentTarget as SVGElement;
    const from = unitOf(target, event.clientY);
    setDrag({ axis, from, to: from });
    const move = (e: MouseEvent) => setDrag({ axis, from, to: unitOf(target, e.clientY) });
    const up = (e: MouseEvent) => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
      const to = unitOf(target, e.clientY);
      setDrag(null);
      const column = columns[axis]!.column;
      if (Math.abs(to - from) * PLOT < 3) props.onFilter(column.id, null);
      else props.onFilter(column.id, brushFilter(scales[axis]!, from, to));
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  };

  const hoveredRow = hovered ? rows.find((r) => r.run === hovered) : undefined;
  const passing = useMemo(() => new Set(rows.map((r) => r.run)), [rows]);
  const filteredOut = allRows.filter((r) => !passing.has(r.run));
  const ordered = hovered ? [...rows.filter((r) => r.run !== hovered), ...(hoveredRow ? [hoveredRow] : [])] : rows;

  return (
    <div class="hp-parallel" ref={wrap} data-testid="hp-parallel">
      <div class="hp-axis-controls">
        {columns.map(({ column }, i) =>
          isCategorical(column) ? null : (
            <label key={column.id} class="hp-axis-control" style={{ left: `${xOf(i)}px` }}>
              <select
                value={kinds[column.id] ?? 'linear'}
                data-testid="hp-scale"
                data-column={column.id}
                aria-label={`Scale of ${column.label}`}
                onChange={(e) => props.onKind(column.id, (e.currentTarget as HTMLSelectElement).value as ScaleKind)}
              >
                <option value="linear">Linear</option>
                <option value="log">Log</option>
                <option value="quantile">Quantile</option>
              </select>
            </label>
          ),
        )}
      </div>
      <svg
        width={width}
        height={HEIGHT}
        class="hp-svg"
        data-testid="hp-parallel-svg"
        onMouseMove={(e) => {
          const box = (e.currentTarget as SVGSVGElement).getBoundingClientRect();
          setTip({ x: e.clientX - box.left, y: e.clientY - box.top });
        }}
        onMouseLeave={() => {
          setTip(null);
          onHover(null);
        }}
      >
        <g class="hp-lines hp-lines--filtered" data-testid="hp-lines-filtered">
          {filteredOut.map((row) => (
            <path
              key={row.run}
              d={pathOf(row)}
              data-session={row.run}
              data-testid="hp-line-filtered"
              class="hp-line hp-line--filtered"
              stroke={faded.has(row.run) ? 'var(--muted)' : color(row)}
            />
          ))}
        </g>
        <g class="hp-lines" data-testid="hp-lines">
          {ordered.map((row) => {
            const on = hovered === row.run || selected === row.run;
            const dim = faded.has(row.run) || (hovered !== null && !on);
            return (
              <path
                key={row.run}
                d={pathOf(row)}
                data-session={row.run}
                data-testid="hp-line"
                class={`hp-line ${on ? 'hp-line--on' : ''} ${dim ? 'hp-line--dim' : ''}`}
                stroke={faded.has(row.run) ? 'var(--muted)' : color(row)}
                onMouseEnter={() => onHover(row.run)}
                onClick={() => onSelect(selected === row.run ? null : row.run)}
              />
            );
          })}
        </g>
        {columns.map(({ column }, i) => {
          const scale = scales[i]!;
          const x = xOf(i);
          const span = drag?.axis === i ? [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)] : filterSpan(scale, filters[column.id]);
          const labels: { u: number; text: string }[] = scale.categories
            ? scale.categories.map((v) => ({ u: scale.toUnit(v) ?? 0, text: formatValue(v) }))
            : scale.ticks.map((t) => ({ u: scale.toUnit(t) ?? 0, text: formatTick(t) }));
          return (
            <g key={column.id} class="hp-axis" data-testid="hp-axis" data-column={column.id}>
              <line x1={x} x2={x} y1={TOP} y2={TOP + PLOT} class="hp-axis__line" />
              {labels.map((l, k) => (
                <text key={k} x={x - 6} y={yOf(l.u) + 3} class="hp-axis__tick" text-anchor="end">
                  {l.text.length > 14 ? `${l.text.slice(0, 13)}…` : l.text}
                </text>
              ))}
              <text x={x} y={TOP - 12} class="hp-axis__label" text-anchor="middle">
                <title>{column.label}</title>
                {column.label.length > 18 ? `${column.label.slice(0, 17)}…` : column.label}
              </text>
              {span ? (
                <rect
                  x={x - 7}
                  width={14}
                  y={yOf(span[1]!)}
                  height={Math.max(2, (span[1]! - span[0]!) * PLOT)}
                  class="hp-brush"
                  data-testid="hp-brush"
                />
              ) : null}
              <rect
                x={x - 12}
                width={24}
                y={TOP - 4}
                height={PLOT + 8}
                class="hp-axis__hit"
                data-testid="hp-axis-hit"
                onMouseDown={(e) => startBrush(i, e)}
              />
            </g>
          );
        })}
      </svg>
      {hoveredRow && tip ? (
        <div class="hp-tooltip" data-testid="hp-tooltip" style={{ left: `${tip.x + 14}px`, top: `${tip.y + 10}px` }}>
          <div class="hp-tooltip__run">
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
  );
}
