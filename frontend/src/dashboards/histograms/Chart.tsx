/** A histogram chart as SVG: one `<path>` per step per run, offset (ridgeline) or overlay. */
import type { JSX } from 'preact';
import { useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

import type { XAxis } from '../../core/api';
import { formatValue } from '../../core/format';
import { BIN_COUNT, buildGeometry, hoverAt, ridgeFill, type Box, type Hover, type Mode, type RunHistograms } from './model';
import { describeTime, formatTime, niceTicks, px } from './svg';

export const CHART_HEIGHT = 250;

export interface ChartProps {
  runs: readonly RunHistograms[];
  mode: Mode;
  xAxis: XAxis;
  color(run: string): string;
  /** Several runs in one chart: curves are not filled (they would hide each other). */
  multiRun: boolean;
  /** Offset mode draws outlines only (the look before filled ridges) instead of shaded fills. */
  outline?: boolean;
  /** The SVG's height (Compare runs' rows are shorter). */
  height?: number;
  /** A value range shared with other charts, so that rows line up. */
  range?: [number, number] | null;
}

/** Where the pointer rests over a chart's SVG, in the page's coordinates. */
interface Pointer {
  clientX: number;
  clientY: number;
  svg: SVGSVGElement;
}

/** The element's width, following resizes. */
export function useWidth(ref: { current: HTMLElement | null }): number {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    setWidth(el.clientWidth);
    if (typeof ResizeObserver === 'undefined') return undefined;
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return width;
}

export function HistogramChart({
  runs,
  mode,
  xAxis,
  color,
  multiRun,
  outline = false,
  height = CHART_HEIGHT,
  range = null,
}: ChartProps): JSX.Element {
  const hostRef = useRef<HTMLDivElement>(null);
  const width = useWidth(hostRef);
  const [hover, setHover] = useState<Hover | null>(null);
  const box: Box = useMemo(
    () => ({ left: mode === 'overlay' ? 46 : 12, top: 10, right: Math.max(60, width - (mode === 'offset' ? 58 : 14)), bottom: height - 26 }),
    [width, mode, height],
  );
  const geometry = useMemo(
    () => (width > 0 ? buildGeometry(runs, mode, xAxis, box, BIN_COUNT, range) : null),
    [runs, mode, xAxis, box, width, range?.[0], range?.[1]],
  );
  // Offset mode, one run: TensorBoard's filled ridges, shaded by step (unless "Outline only").
  const filled = mode === 'offset' && !multiRun && !outline;
  // Where the pointer is over the chart (null: elsewhere), in the page's coordinates, so that a
  // new drawing (an auto-reload's data, a resize) moves the hover with it instead of dropping it
  // while the pointer stays put, wherever the chart has moved since (a scroll, a pane).
  const pointer = useRef<Pointer | null>(null);
  const hoverFor = (at: Pointer, drawn: typeof geometry) => {
    if (!drawn) return null;
    const rect = at.svg.getBoundingClientRect();
    return hoverAt(drawn, box, at.clientX - rect.left, at.clientY - rect.top, mode);
  };
  useLayoutEffect(() => {
    const at = pointer.current;
    setHover(at ? hoverFor(at, geometry) : null);
  }, [geometry]);

  const onMove = (event: MouseEvent) => {
    pointer.current = { clientX: event.clientX, clientY: event.clientY, svg: event.currentTarget as SVGSVGElement };
    setHover(hoverFor(pointer.current, geometry));
  };
  const onLeave = () => {
    pointer.current = null;
    setHover(null);
  };

  let content: JSX.Element | null = null;
  if (geometry) {
    const [min, max] = geometry.range;
    const valueTicks = niceTicks(min, max, Math.max(2, Math.floor((box.right - box.left) / 80)));
    const [t0, t1] = geometry.timeRange;
    const timeTicks = mode === 'offset' && t1 > t0 ? niceTicks(t0, t1, 4) : mode === 'offset' ? [t0] : [];
    const timeIncr = timeTicks.length > 1 ? timeTicks[1]! - timeTicks[0]! : 1;
    const countTicks = mode === 'overlay' ? niceTicks(0, geometry.maxCount, 4) : [];
    const hovered = hover?.curve;
    content = (
      <>
        <g class="hist-axis" data-testid="hist-value-axis">
          <line x1={box.left} x2={box.right} y1={box.bottom + 0.5} y2={box.bottom + 0.5} class="hist-axis__line" />
          {valueTicks.map((tick) => (
            <g key={`v${tick}`}>
              <line x1={px(geometry.x(tick))} x2={px(geometry.x(tick))} y1={box.bottom} y2={box.bottom + 4} class="hist-axis__line" />
              <text x={px(geometry.x(tick))} y={box.bottom + 16} text-anchor="middle">
                {formatValue(tick)}
              </text>
            </g>
          ))}
        </g>
        {timeTicks.length ? (
          <g class="hist-axis" data-testid="hist-time-axis">
            {timeTicks.map((tick) => (
              <g key={`t${tick}`}>
                <line x1={box.right + 2} x2={box.right + 6} y1={px(geometry.timeY(tick))} y2={px(geometry.timeY(tick))} class="hist-axis__line" />
                <text x={box.right + 8} y={px(geometry.timeY(tick) + 4)}>
                  {formatTime(xAxis, tick, timeIncr)}
                </text>
              </g>
            ))}
          </g>
        ) : null}
        {countTicks.length ? (
          <g class="hist-axis" data-testid="hist-count-axis">
            {countTicks.map((tick) => (
              <g key={`c${tick}`}>
                <line x1={box.left} x2={box.right} y1={px(geometry.countY(tick))} y2={px(geometry.countY(tick))} class="hist-grid" />
                <text x={box.left - 6} y={px(geometry.countY(tick) + 4)} text-anchor="end">
                  {formatValue(tick)}
                </text>
              </g>
            ))}
          </g>
        ) : null}
        <g class="hist-curves" data-testid="hist-curves">
          {geometry.curves.map((curve) => {
            const stroke = color(curve.run);
            const faded = filled ? 1 : mode === 'overlay' ? (curve.newest ? 1 : 0.18 + 0.3 * curve.age) : 0.45 + 0.55 * curve.age;
            return (
              <path
                key={`${curve.run}\u0000${curve.step}\u0000${curve.wallTime}`}
                d={curve.d}
                data-testid="hist-path"
                data-run={curve.run}
                data-step={curve.step}
                data-time={curve.time}
                data-mean-x={px(curve.meanX)}
                data-newest={curve.newest ? 'true' : undefined}
                class={`hist-path ${curve === hovered ? 'hist-path--hover' : ''}`}
                style={{
                  stroke,
                  strokeOpacity: faded,
                  strokeWidth: mode === 'overlay' && curve.newest ? 2 : filled ? 0.8 : 1,
                  fill: filled ? ridgeFill(stroke, curve.age) : mode === 'offset' && !multiRun ? 'var(--panel)' : 'none',
                }}
              />
            );
          })}
          {hovered ? (
            <path
              d={hovered.d}
              class="hist-path hist-path--highlight"
              data-testid="hist-hover-path"
              data-step={hovered.step}
              data-run={hovered.run}
              style={{ stroke: color(hovered.run), fill: 'none' }}
            />
          ) : null}
        </g>
        {hover ? (
          <line
            class="hist-hover-line"
            data-testid="hist-hover-line"
            x1={px(geometry.x((hover.left + hover.right) / 2))}
            x2={px(geometry.x((hover.left + hover.right) / 2))}
            y1={box.top}
            y2={box.bottom}
          />
        ) : null}
      </>
    );
  }

  const tipLeft = hover && geometry ? geometry.x((hover.left + hover.right) / 2) : 0;
  return (
    <div class="hist-chart" ref={hostRef}>
      <svg
        width={width}
        height={height}
        data-testid="hist-chart"
        data-mode={mode}
        data-look={filled ? 'filled' : 'outline'}
        data-curves={geometry?.curves.length ?? 0}
        onMouseMove={onMove}
        onMouseLeave={onLeave}
      >
        {content}
      </svg>
      {hover && geometry ? (
        <div
          class="hist-tooltip"
          data-testid="hist-tooltip"
          style={{
            left: `${Math.min(Math.max(0, tipLeft + 12), Math.max(0, width - 190))}px`,
            top: `${Math.max(0, Math.min(hover.curve.baseline - 70, height - 90))}px`,
          }}
        >
          {multiRun ? (
            <div class="hist-tooltip__run">
              <span class="swatch" style={{ background: color(hover.curve.run) }} />
              {hover.curve.run}
            </div>
          ) : null}
          <div data-testid="hist-tooltip-step">{describeTime(xAxis, hover.curve.time)}</div>
          {xAxis !== 'step' ? <div>step {hover.curve.step}</div> : null}
          <div data-testid="hist-tooltip-range">
            [{formatValue(hover.left)}, {formatValue(hover.right)})
          </div>
          <div>
            count <b data-testid="hist-tooltip-count">{formatValue(hover.count)}</b>
          </div>
        </div>
      ) : null}
    </div>
  );
}
