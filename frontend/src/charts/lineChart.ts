/**
 * A line chart on uPlot: many lines, each with its own x values (uPlot's "mode 2", so runs
 * logged at different steps or times are never joined into one sparse table), optional bands,
 * box zoom (drag), pan (shift or alt + drag), alt + wheel zoom, double-click reset, and a
 * tooltip with TensorBoard's columns and sort modes. A click (no drag) reports its x to the host
 * (step selection); `setSelection` draws the selected x, or a shaded range, as vertical lines.
 *
 * The chart draws what it is given: the caller computes the ranges (zoom, outliers, typed
 * limits), and learns about interactions through `ChartHost`.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import type { XAxis } from '../core/api';
import { cancelFrame, scheduleFrame } from '../core/frame';
import type { TooltipSort } from '../core/settings';
import { axes } from './axes';
import { chartTheme } from './theme';
import { bandPath, dotsPath } from './paths';
import { nearestIndex, sortRows, type TooltipRow } from './tooltip';
import { TooltipView } from './tooltipView';

export interface LineSpec {
  /** Stable identity of the line (a run, a group's mean, a band ...). */
  key: string;
  color: string;
  width: number;
  alpha: number;
  /** Ascending x. */
  x: ArrayLike<number>;
  /** null: a gap (non-finite values, or non-positive ones on a log axis). */
  y: ArrayLike<number | null>;
  /** A filled band between `lo` and `hi` (drawn instead of a line). */
  band?: { lo: ArrayLike<number>; hi: ArrayLike<number> };
  /** A dash pattern (canvas `setLineDash`); solid when absent. */
  dash?: number[];
}

/** A line the tooltip reports on (runs and group means; not raw or band helpers). */
export interface HoverLine {
  name: string;
  color: string;
  x: ArrayLike<number>;
  /** The drawn value: smoothed when smoothing is on. */
  y: ArrayLike<number>;
  value: ArrayLike<number>;
  smoothed: ArrayLike<number> | null;
  step: ArrayLike<number> | null;
  wallTime: ArrayLike<number> | null;
  /** Relative time per point; when null, `wallTime - relativeOrigin`. */
  relative: ArrayLike<number> | null;
  relativeOrigin: number | null;
  /** Lines shown under this row at point `index` (an aggregated group's outlier members). */
  notes?: (index: number) => string[];
}

export interface ChartModel {
  lines: LineSpec[];
  hover: HoverLine[];
  xAxis: XAxis;
  logY: boolean;
  xRange: [number, number];
  yRange: [number, number];
}

export interface ChartHost {
  /** A box zoom, pan or wheel zoom ended: the new x range, and y range (null: fit y). */
  onZoom(x: [number, number], y: [number, number] | null): void;
  /** Double-click: back to the full extent. */
  onReset(): void;
  /** The plot's width in CSS pixels changed (the caller sizes its server requests by it). */
  onWidth(width: number): void;
  tooltipSort(): TooltipSort;
  smoothingOn(): boolean;
  /** The most rows the tooltip lists (default 12). */
  tooltipLimit?(): number;
  /** A click without a drag at data x `x`; `shift`: shift was held (a range's other end). */
  onPick?(x: number, shift: boolean): void;
}

/** A selected x, or the range [start, end], drawn as vertical lines. */
export interface ChartSelection {
  start: number;
  end: number | null;
}

/**
 * A mark at one x (a health flag's step): 'line', a dashed line across the plot; 'tick', a short
 * solid mark at its top edge. Each also gets a small hover handle at the top with `label` as its
 * title.
 */
export interface ChartMarker {
  x: number;
  color: string;
  style: 'line' | 'tick';
  label: string;
  /** Written to the handle's `data-marker` (for tests and styling). */
  name?: string;
}

/** Below this many pixels between mouse down and up, a press is a click, not a drag. */
const CLICK_SLOP = 4;

function signatureOf(model: ChartModel): string {
  return [
    model.xAxis,
    model.logY,
    ...model.lines.map(
      (l) =>
        `${l.key}|${l.color}|${l.width}|${l.alpha}|${l.band ? 1 : 0}|${l.x.length <= 2 ? 1 : 0}|${l.dash?.join(',') ?? ''}`,
    ),
  ].join('\n');
}

function dataOf(model: ChartModel): uPlot.AlignedData {
  const data: unknown[] = [null];
  for (const line of model.lines) data.push([line.x, line.band ? line.band.hi : line.y]);
  // uPlot's typings describe mode 1 only; mode 2 takes [null, [x, y], [x, y], ...].
  return data as unknown as uPlot.AlignedData;
}

export class LineChart {
  private plot: uPlot | null = null;
  private model: ChartModel | null = null;
  private signature = '';
  private width: number;
  private readonly tooltip = new TooltipView();
  private readonly resizeObserver: ResizeObserver;
  private readonly tooltipKey = {};
  private readonly resizeKey = {};
  private cursorAt: { left: number; top: number } | null = null;
  private selection: ChartSelection | null = null;
  private markers: readonly ChartMarker[] = [];
  private markerLayer: HTMLDivElement | null = null;

  constructor(
    private readonly container: HTMLElement,
    private readonly host: ChartHost,
    private height: number,
  ) {
    this.width = Math.max(100, container.clientWidth);
    this.resizeObserver = new ResizeObserver(() =>
      scheduleFrame(this.resizeKey, () => this.resize()),
    );
    this.resizeObserver.observe(container);
  }

  /** Draw `model`: new data and ranges reuse the chart; new lines or axis kinds rebuild it. */
  update(model: ChartModel): void {
    this.model = model;
    if (model.lines.length === 0) {
      this.destroyPlot();
      return;
    }
    const signature = signatureOf(model);
    const plot = this.plot;
    if (!plot || signature !== this.signature) {
      this.build(model);
      this.signature = signature;
      return;
    }
    plot.batch(() => {
      plot.setData(dataOf(model), false);
      plot.setScale('x', { min: model.xRange[0], max: model.xRange[1] });
      plot.setScale('y', { min: model.yRange[0], max: model.yRange[1] });
    });
    if (this.cursorAt) this.renderTooltip(this.cursorAt.left, this.cursorAt.top);
  }

  /** Draw `selection` (null: none) over the chart. */
  setSelection(selection: ChartSelection | null): void {
    const same =
      selection?.start === this.selection?.start && selection?.end === this.selection?.end;
    this.selection = selection;
    if (!same) this.plot?.redraw(false, false);
  }

  /** Draw `markers` over the chart (an empty list: none). */
  setMarkers(markers: readonly ChartMarker[]): void {
    if (markers.length === 0 && this.markers.length === 0) return;
    this.markers = markers;
    this.plot?.redraw(false, false);
  }

  setHeight(height: number): void {
    if (height === this.height) return;
    this.height = height;
    this.plot?.setSize({ width: this.width, height });
  }

  /** Repaint with the current theme's colours. */
  redraw(): void {
    this.plot?.redraw(false, true);
  }

  destroy(): void {
    this.resizeObserver.disconnect();
    cancelFrame(this.tooltipKey);
    cancelFrame(this.resizeKey);
    this.destroyPlot();
    this.tooltip.destroy();
  }

  private destroyPlot(): void {
    if (!this.plot) return;
    this.plot.root.removeEventListener('mousedown', this.onMouseDown, true);
    this.plot.root.removeEventListener('wheel', this.onWheel);
    this.plot.destroy();
    this.plot = null;
    this.markerLayer = null;
    this.signature = '';
    this.tooltip.detach();
  }

  private resize(): void {
    const width = Math.max(100, this.container.clientWidth);
    if (width === this.width && this.plot) return;
    this.width = width;
    this.plot?.setSize({ width, height: this.height });
    this.reportWidth();
  }

  private reportWidth(): void {
    const plotWidth = this.plot ? this.plot.over.clientWidth : this.width - 60;
    this.host.onWidth(Math.max(50, Math.round(plotWidth)));
  }

  private build(model: ChartModel): void {
    this.destroyPlot();
    const xAxis = model.xAxis;
    const series: uPlot.Series[] = [{}];
    model.lines.forEach((line) => {
      const spec: uPlot.Series = {
        stroke: line.color,
        width: line.band ? 0 : line.width,
        alpha: line.alpha,
        // A line of one or two points would be invisible: draw its points. (Our own path:
        // uPlot's points builder expects mode 1's in-view indices.)
        points: {
          show: !line.band && line.x.length <= 2 && line.alpha >= 0.5,
          fill: line.color,
          stroke: line.color,
          paths: (u: uPlot, seriesIdx: number) => {
            const current = this.model?.lines[seriesIdx - 1] ?? line;
            return dotsPath(u, current.x, current.y);
          },
        } as uPlot.Series.Points,
        spanGaps: false,
        ...(line.dash ? { dash: line.dash } : {}),
        facets: [
          { scale: 'x', auto: false },
          { scale: 'y', auto: false },
        ],
      } as uPlot.Series;
      if (line.band) {
        spec.fill = line.color;
        spec.paths = (u, seriesIdx) => {
          // The current model's band: data changes without a rebuild (same signature).
          const current = this.model?.lines[seriesIdx - 1] ?? line;
          const band = current.band ?? line.band!;
          return bandPath(u, current.x, band.lo, band.hi, this.model?.logY ?? false);
        };
      }
      series.push(spec);
    });

    const options: uPlot.Options = {
      mode: 2,
      width: this.width,
      height: this.height,
      padding: [10, 16, 0, 2],
      legend: { show: false },
      series,
      scales: {
        x: {
          time: xAxis === 'wall_time',
          auto: false,
          range: () => this.model?.xRange ?? [0, 1],
        },
        y: {
          auto: false,
          distr: model.logY ? 3 : 1,
          log: 10,
          range: () => this.model?.yRange ?? [0, 1],
        },
      },
      axes: axes(xAxis, model.logY),
      cursor: {
        y: false,
        points: { show: false },
        dataIdx: () => null as unknown as number,
        drag: { x: true, y: true, uni: 24, dist: 6, setScale: false },
        bind: {
          dblclick: () => () => {
            this.host.onReset();
            return null;
          },
        },
      },
      hooks: {
        setSelect: [(u) => this.onSelect(u)],
        setCursor: [(u) => this.onCursor(u)],
        draw: [(u) => this.drawSelection(u), (u) => this.drawMarkers(u)],
      },
    };
    const plot = new uPlot(options, dataOf(model), this.container);
    this.plot = plot;
    plot.batch(() => {
      plot.setScale('x', { min: model.xRange[0], max: model.xRange[1] });
      plot.setScale('y', { min: model.yRange[0], max: model.yRange[1] });
    });
    const canvas = plot.root.querySelector('canvas');
    if (canvas) canvas.dataset.testid = 'chart-canvas';
    plot.root.addEventListener('mousedown', this.onMouseDown, true);
    plot.root.addEventListener('wheel', this.onWheel, { passive: false });
    plot.over.addEventListener('mouseleave', () => this.hideTooltip());
    this.reportWidth();
  }

  private onSelect(u: uPlot): void {
    const { left, top, width, height } = u.select;
    if (width < 4 && height < 4) return;
    const plotHeight = u.over.clientHeight;
    const plotWidth = u.over.clientWidth;
    const x: [number, number] =
      width >= plotWidth - 1
        ? [u.scales.x.min!, u.scales.x.max!]
        : [u.posToVal(left, 'x'), u.posToVal(left + width, 'x')];
    // A mostly horizontal drag selects the full height: zoom x only and fit y to what is left.
    const y: [number, number] | null =
      height >= plotHeight - 1 ? null : [u.posToVal(top + height, 'y'), u.posToVal(top, 'y')];
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (x[1] > x[0]) this.host.onZoom(x, y);
  }

  private readonly onMouseDown = (event: MouseEvent): void => {
    const plot = this.plot;
    if (!plot || event.button !== 0) return;
    if (!(event.shiftKey || event.altKey)) {
      this.watchClick(plot, event);
      return;
    }
    // Ours, not uPlot's: a shift/alt drag pans instead of selecting a box.
    event.stopPropagation();
    event.preventDefault();
    const x0 = plot.scales.x.min!;
    const x1 = plot.scales.x.max!;
    const y0 = plot.scales.y.min!;
    const y1 = plot.scales.y.max!;
    const log = this.model?.logY ?? false;
    const width = plot.over.clientWidth;
    const height = plot.over.clientHeight;
    const startX = event.clientX;
    const startY = event.clientY;
    let moved: { x: [number, number]; y: [number, number] } | null = null;
    plot.over.style.cursor = 'grabbing';
    const move = (e: MouseEvent) => {
      const dx = ((e.clientX - startX) / width) * (x1 - x0);
      const fy = (e.clientY - startY) / height;
      let y: [number, number];
      if (log) {
        const a = Math.log10(y0);
        const b = Math.log10(y1);
        const d = fy * (b - a);
        y = [10 ** (a + d), 10 ** (b + d)];
      } else {
        const d = fy * (y1 - y0);
        y = [y0 + d, y1 + d];
      }
      moved = { x: [x0 - dx, x1 - dx], y };
      const m = moved;
      plot.batch(() => {
        plot.setScale('x', { min: m.x[0], max: m.x[1] });
        plot.setScale('y', { min: m.y[0], max: m.y[1] });
      });
    };
    const up = (e: MouseEvent) => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
      plot.over.style.cursor = '';
      const still = Math.hypot(e.clientX - startX, e.clientY - startY) < CLICK_SLOP;
      if (still && event.shiftKey && this.host.onPick) {
        // A shift-click: no pan, but the other end of a step range.
        if (moved) {
          plot.batch(() => {
            plot.setScale('x', { min: x0, max: x1 });
            plot.setScale('y', { min: y0, max: y1 });
          });
        }
        this.pick(plot, e, true);
      } else if (moved) {
        this.host.onZoom(moved.x, moved.y);
      }
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  };

  /** A press that ends where it started (no box zoom) is a click: report its x. */
  private watchClick(plot: uPlot, down: MouseEvent): void {
    if (!this.host.onPick) return;
    const rect = plot.over.getBoundingClientRect();
    if (
      down.clientX < rect.left ||
      down.clientX > rect.right ||
      down.clientY < rect.top ||
      down.clientY > rect.bottom
    ) {
      return; // on an axis, not the plot
    }
    const up = (e: MouseEvent) => {
      window.removeEventListener('mouseup', up);
      if (Math.hypot(e.clientX - down.clientX, e.clientY - down.clientY) < CLICK_SLOP) {
        this.pick(plot, e, false);
      }
    };
    window.addEventListener('mouseup', up);
  }

  private pick(plot: uPlot, event: MouseEvent, shift: boolean): void {
    if (plot !== this.plot) return;
    const rect = plot.over.getBoundingClientRect();
    this.host.onPick?.(plot.posToVal(event.clientX - rect.left, 'x'), shift);
  }

  private drawSelection(u: uPlot): void {
    const selection = this.selection;
    if (!selection) return;
    const { left, top, width, height } = u.bbox;
    const ctx = u.ctx;
    const at = (x: number) => u.valToPos(x, 'x', true);
    const inside = (px: number) => px >= left - 0.5 && px <= left + width + 0.5;
    const color = chartTheme().selection;
    ctx.save();
    if (selection.end !== null) {
      const a = Math.max(left, Math.min(at(selection.start), at(selection.end)));
      const b = Math.min(left + width, Math.max(at(selection.start), at(selection.end)));
      if (b > a) {
        ctx.globalAlpha = 0.1;
        ctx.fillStyle = color;
        ctx.fillRect(a, top, b - a, height);
      }
    }
    ctx.globalAlpha = 1;
    ctx.strokeStyle = color;
    ctx.lineWidth = Math.max(1, Math.round(1.5 * devicePixelRatio));
    ctx.setLineDash([]);
    for (const x of selection.end === null ? [selection.start] : [selection.start, selection.end]) {
      const px = Math.round(at(x));
      if (!inside(px)) continue;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, top + height);
      ctx.stroke();
    }
    ctx.restore();
  }

  private drawMarkers(u: uPlot): void {
    const markers = this.markers;
    if (markers.length === 0 && !this.markerLayer) return;
    const { left, top, width, height } = u.bbox;
    const ctx = u.ctx;
    const ratio = devicePixelRatio;
    const inside = (px: number) => px >= left - 0.5 && px <= left + width + 0.5;
    ctx.save();
    ctx.lineWidth = Math.max(1, Math.round(1.5 * ratio));
    for (const marker of markers) {
      const px = Math.round(u.valToPos(marker.x, 'x', true));
      if (!inside(px)) continue;
      ctx.strokeStyle = marker.color;
      ctx.beginPath();
      if (marker.style === 'line') {
        ctx.setLineDash([5 * ratio, 4 * ratio]);
        ctx.moveTo(px, top);
        ctx.lineTo(px, top + height);
      } else {
        ctx.setLineDash([]);
        ctx.moveTo(px, top);
        ctx.lineTo(px, top + 16 * ratio);
      }
      ctx.stroke();
    }
    ctx.restore();
    this.placeMarkerHandles(u);
  }

  /** The markers' hover handles: small DOM triangles at the plot's top edge, titled. */
  private placeMarkerHandles(u: uPlot): void {
    let layer = this.markerLayer;
    if (!layer) {
      layer = this.markerLayer = document.createElement('div');
      layer.className = 'chart-markers';
      // A press on a handle is not the start of a box zoom.
      layer.addEventListener('mousedown', (e) => e.stopPropagation());
      u.over.appendChild(layer);
    }
    const plotWidth = u.over.clientWidth;
    const handles: HTMLElement[] = [];
    for (const marker of this.markers) {
      const px = u.valToPos(marker.x, 'x');
      if (!(px >= -0.5 && px <= plotWidth + 0.5)) continue;
      const handle = document.createElement('div');
      handle.className = `chart-marker chart-marker--${marker.style}`;
      handle.style.left = `${px}px`;
      handle.style.setProperty('--marker-color', marker.color);
      handle.title = marker.label;
      handle.dataset.testid = 'chart-marker';
      handle.dataset.x = String(marker.x);
      handle.dataset.style = marker.style;
      if (marker.name) handle.dataset.marker = marker.name;
      handles.push(handle);
    }
    layer.replaceChildren(...handles);
  }

  private readonly onWheel = (event: WheelEvent): void => {
    const plot = this.plot;
    if (!plot || !event.altKey) return;
    event.preventDefault();
    const rect = plot.over.getBoundingClientRect();
    const at = plot.posToVal(event.clientX - rect.left, 'x');
    const factor = event.deltaY > 0 ? 1.25 : 1 / 1.25;
    const x0 = plot.scales.x.min!;
    const x1 = plot.scales.x.max!;
    this.host.onZoom([at - (at - x0) * factor, at + (x1 - at) * factor], null);
  };

  private onCursor(u: uPlot): void {
    const left = u.cursor.left ?? -1;
    const top = u.cursor.top ?? -1;
    if (left < 0 || top < 0) {
      this.cursorAt = null;
      cancelFrame(this.tooltipKey);
      this.hideTooltip();
      return;
    }
    this.cursorAt = { left, top };
    scheduleFrame(this.tooltipKey, () => {
      if (this.cursorAt) this.renderTooltip(this.cursorAt.left, this.cursorAt.top);
    });
  }

  /**
   * Keyboard access: move the tooltip cursor `delta` points along x (the first hovered line's
   * points; from outside, the first or last one), `'first'` / `'last'` to an end, or hide it
   * (`null`). Returns whether the chart had a cursor to move.
   */
  stepCursor(delta: number | 'first' | 'last' | null): boolean {
    const plot = this.plot;
    const xs = this.model?.hover[0]?.x;
    if (!plot || !xs || xs.length === 0) return false;
    if (delta === null) {
      plot.setCursor({ left: -10, top: -10 });
      return true;
    }
    const last = xs.length - 1;
    const current = this.cursorAt ? nearestIndex(xs, plot.posToVal(this.cursorAt.left, 'x')) : -1;
    let index: number;
    if (delta === 'first') index = 0;
    else if (delta === 'last') index = last;
    else if (current < 0) index = delta < 0 ? last : 0;
    else index = Math.min(last, Math.max(0, current + delta));
    const width = plot.over.clientWidth;
    const left = Math.min(width - 1, Math.max(0, plot.valToPos(xs[index]!, 'x')));
    // Through uPlot: its setCursor hook draws the tooltip as a mouse hover would.
    plot.setCursor({ left, top: Math.round(plot.over.clientHeight / 2) });
    return true;
  }

  private hideTooltip(): void {
    this.tooltip.hide();
  }

  private renderTooltip(left: number, top: number): void {
    const plot = this.plot;
    if (!plot) return;
    this.tooltip.show(
      this.tooltipRows(left, top),
      this.host.smoothingOn(),
      plot.over,
      left,
      top,
      this.host.tooltipLimit?.(),
    );
  }

  private tooltipRows(left: number, top: number): TooltipRow[] {
    const plot = this.plot;
    const model = this.model;
    if (!plot || !model) return [];
    const at = plot.posToVal(left, 'x');
    const [xMin, xMax] = [plot.scales.x.min!, plot.scales.x.max!];
    const rows: TooltipRow[] = [];
    for (const line of model.hover) {
      const i = nearestIndex(line.x, at);
      if (i < 0) continue;
      const x = line.x[i]!;
      if (x < xMin || x > xMax) continue;
      const y = line.y[i]!;
      const drawable = Number.isFinite(y) && (!model.logY || y > 0);
      rows.push({
        name: line.name,
        color: line.color,
        y,
        value: line.value[i]!,
        smoothed: line.smoothed ? line.smoothed[i]! : null,
        step: line.step ? line.step[i]! : null,
        wallTime: line.wallTime ? line.wallTime[i]! : null,
        relative: line.relative
          ? line.relative[i]!
          : line.wallTime && line.relativeOrigin !== null
            ? line.wallTime[i]! - line.relativeOrigin
            : null,
        xPx: plot.valToPos(x, 'x'),
        yPx: drawable ? plot.valToPos(y, 'y') : NaN,
        distance: Infinity,
        closest: false,
        notes: line.notes ? line.notes(i) : [],
      });
    }
    return sortRows(rows, this.host.tooltipSort(), { xPx: left, yPx: top });
  }
}
