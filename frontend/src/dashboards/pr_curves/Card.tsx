/**
 * One tag's PR-curve card: an SVG chart of precision (y) against recall (x) with every shown
 * run's curve at the step its slider picks, a tooltip for the threshold point nearest the
 * pointer, drag-to-zoom and a reset to [0, 1].
 */
import type { JSX } from 'preact';
import { useMemo, useRef, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { formatStep, formatValue } from '../../core/format';
import { useJson } from '../../core/useJson';
import { FitIcon } from '../../components/icons';
import { CardDescription, ZoomBadge } from '../../components/CardParts';
import {
  curvePath,
  FULL_DOMAIN,
  fromPx,
  nearestPoint,
  parseEntry,
  pickIndex,
  ticks,
  timeLabel,
  toPx,
  type Domain,
  type Entry,
  type Frame,
  type Nearest,
  type RawCurves,
  type TimeDisplay,
} from './model';

const VIEW_W = 440;
const VIEW_H = 320;
const FRAME: Frame = { left: 46, top: 12, width: VIEW_W - 46 - 14, height: VIEW_H - 12 - 40 };
/** How close (SVG units) the pointer must be to a point for the tooltip. */
const HOVER_RADIUS = 40;

interface Drag {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface PrCardProps {
  api: DashboardApi;
  tag: string;
  displayName: string;
  description: string;
  /** Shown runs that have this tag, in the runs panel's order. */
  runs: string[];
  display: TimeDisplay;
  colorsVersion: number;
}

function clampToFrame(x: number, y: number): [number, number] {
  return [
    Math.min(FRAME.left + FRAME.width, Math.max(FRAME.left, x)),
    Math.min(FRAME.top + FRAME.height, Math.max(FRAME.top, y)),
  ];
}

export function PrCard({ api, tag, displayName, description, runs, display }: PrCardProps): JSX.Element {
  const url = runs.length ? pluginUrl('pr_curves', 'pr_curves', { run: runs, tag }) : null;
  const state = useJson<RawCurves>(api, url);
  const byRun = useMemo(() => {
    const out = new Map<string, Entry[]>();
    for (const [run, entries] of Object.entries(state.data ?? {})) out.set(run, entries.map(parseEntry));
    return out;
  }, [state.data]);

  /** run -> the step its slider picked (absent: the latest). */
  const [chosen, setChosen] = useState<Record<string, number>>({});
  const [domain, setDomain] = useState<Domain>(FULL_DOMAIN);
  const [hover, setHover] = useState<{ nearest: Nearest; x: number; y: number } | null>(null);
  const [drag, setDrag] = useState<Drag | null>(null);
  const svgRef = useRef<SVGSVGElement>(null);

  const drawn = runs.flatMap((run) => {
    const entries = byRun.get(run);
    if (!entries || entries.length === 0) return [];
    const index = pickIndex(entries, chosen[run]);
    return [{ run, entries, index, entry: entries[index]!, color: api.colors.get(run) }];
  });

  const toSvg = (event: MouseEvent): [number, number] | null => {
    const svg = svgRef.current;
    if (!svg) return null;
    const rect = svg.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) return null;
    return [((event.clientX - rect.left) * VIEW_W) / rect.width, ((event.clientY - rect.top) * VIEW_H) / rect.height];
  };
  const inFrame = (x: number, y: number) =>
    x >= FRAME.left && x <= FRAME.left + FRAME.width && y >= FRAME.top && y <= FRAME.top + FRAME.height;

  const onMove = (event: MouseEvent) => {
    const at = toSvg(event);
    if (!at) return;
    if (drag) {
      const [x1, y1] = clampToFrame(at[0], at[1]);
      setDrag({ ...drag, x1, y1 });
      setHover(null);
      return;
    }
    const nearest = inFrame(at[0], at[1])
      ? nearestPoint(drawn, FRAME, domain, at[0], at[1], HOVER_RADIUS)
      : null;
    setHover(nearest ? { nearest, x: at[0], y: at[1] } : null);
  };
  const onDown = (event: MouseEvent) => {
    if (event.button !== 0) return;
    const at = toSvg(event);
    if (!at || !inFrame(at[0], at[1])) return;
    event.preventDefault();
    setDrag({ x0: at[0], y0: at[1], x1: at[0], y1: at[1] });
  };
  const onUp = () => {
    if (!drag) return;
    setDrag(null);
    const width = Math.abs(drag.x1 - drag.x0);
    const height = Math.abs(drag.y1 - drag.y0);
    if (width < 4 || height < 4) return;
    const [r0, p0] = fromPx(FRAME, domain, Math.min(drag.x0, drag.x1), Math.max(drag.y0, drag.y1));
    const [r1, p1] = fromPx(FRAME, domain, Math.max(drag.x0, drag.x1), Math.min(drag.y0, drag.y1));
    setDomain({ x: [r0, r1], y: [p0, p1] });
  };

  const zoomed = domain !== FULL_DOMAIN;
  const xTicks = ticks(domain.x);
  const yTicks = ticks(domain.y);
  const hovered = hover ? drawn.find((d) => d.run === hover.nearest.run) : undefined;
  const clipId = `pr-clip-${tag.replace(/[^\w-]/g, '_')}`;

  let tooltip: JSX.Element | null = null;
  if (hover && hovered) {
    const i = hover.nearest.index;
    const e = hovered.entry;
    const [px, py] = toPx(FRAME, domain, e.recall[i]!, e.precision[i]!);
    const rows: [string, string][] = [
      ['Threshold', formatValue(e.thresholds[i])],
      ['Precision', formatValue(e.precision[i])],
      ['Recall', formatValue(e.recall[i])],
      ['TP', formatStep(e.true_positives[i])],
      ['FP', formatStep(e.false_positives[i])],
      ['TN', formatStep(e.true_negatives[i])],
      ['FN', formatStep(e.false_negatives[i])],
    ];
    tooltip = (
      <div
        class="pr-tooltip"
        data-testid="pr-tooltip"
        style={{
          left: `${(px / VIEW_W) * 100}%`,
          top: `${(py / VIEW_H) * 100}%`,
          transform: `translate(${px > VIEW_W / 2 ? 'calc(-100% - 12px)' : '12px'}, ${py > VIEW_H / 2 ? 'calc(-100% - 8px)' : '8px'})`,
        }}
      >
        <div class="pr-tooltip__run">
          <span class="pr-swatch" style={{ background: hovered.color }} />
          <span data-testid="pr-tooltip-run">{hovered.run}</span>
          <span class="pr-tooltip__step">step {formatStep(e.step)}</span>
        </div>
        <table>
          <tbody>
            {rows.map(([name, value]) => (
              <tr key={name} data-testid={`pr-tooltip-${name.toLowerCase()}`}>
                <th>{name}</th>
                <td>{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }

  return (
    <div class="card pr-card" data-testid="pr-card" data-tag={tag}>
      <div class="card__head">
        <div class="card__titles">
          <div class="card__title" title={tag} data-testid="card-title">
            {displayName && displayName !== tag ? `${displayName} (${tag})` : tag}
          </div>
          <CardDescription description={description} />
          <div class="card__badges" hidden={!zoomed}>
            <ZoomBadge />
          </div>
        </div>
        <div class="card__actions">
          <button
            type="button"
            class="icon-button"
            title="Reset axes to [0, 1] (or double-click the chart)"
            aria-label="Reset axes"
            data-testid="pr-reset"
            onClick={() => setDomain(FULL_DOMAIN)}
          >
            <FitIcon />
          </button>
        </div>
      </div>
      <div class="pr-chart" data-testid="pr-chart" data-runs={String(drawn.length)}>
        <svg
          ref={svgRef}
          viewBox={`0 0 ${VIEW_W} ${VIEW_H}`}
          class="pr-svg"
          data-testid="pr-svg"
          onMouseMove={onMove}
          onMouseDown={onDown}
          onMouseUp={onUp}
          onMouseLeave={() => {
            setHover(null);
            setDrag(null);
          }}
          onDblClick={() => setDomain(FULL_DOMAIN)}
        >
          <defs>
            <clipPath id={clipId}>
              <rect x={FRAME.left} y={FRAME.top} width={FRAME.width} height={FRAME.height} />
            </clipPath>
          </defs>
          <rect class="pr-frame" x={FRAME.left} y={FRAME.top} width={FRAME.width} height={FRAME.height} />
          {xTicks.map((t) => {
            const [x] = toPx(FRAME, domain, t, domain.y[0]);
            return (
              <g key={`x${t}`}>
                <line class="pr-grid" x1={x} x2={x} y1={FRAME.top} y2={FRAME.top + FRAME.height} />
                <text class="pr-tick" x={x} y={FRAME.top + FRAME.height + 14} text-anchor="middle">
                  {formatValue(t)}
                </text>
              </g>
            );
          })}
          {yTicks.map((t) => {
            const [, y] = toPx(FRAME, domain, domain.x[0], t);
            return (
              <g key={`y${t}`}>
                <line class="pr-grid" x1={FRAME.left} x2={FRAME.left + FRAME.width} y1={y} y2={y} />
                <text class="pr-tick" x={FRAME.left - 6} y={y + 3.5} text-anchor="end">
                  {formatValue(t)}
                </text>
              </g>
            );
          })}
          <text class="pr-axis-title" x={FRAME.left + FRAME.width / 2} y={VIEW_H - 6} text-anchor="middle">
            Recall
          </text>
          <text
            class="pr-axis-title"
            transform={`translate(11 ${FRAME.top + FRAME.height / 2}) rotate(-90)`}
            text-anchor="middle"
          >
            Precision
          </text>
          <g clip-path={`url(#${clipId})`}>
            {drawn.map((d) => (
              <path
                key={d.run}
                class="pr-curve"
                data-testid="pr-curve"
                data-run={d.run}
                data-step={String(d.entry.step)}
                d={curvePath(d.entry, FRAME, domain)}
                style={{ stroke: d.color }}
              />
            ))}
            {hover && hovered ? (
              <circle
                class="pr-hover-point"
                cx={toPx(FRAME, domain, hovered.entry.recall[hover.nearest.index]!, hovered.entry.precision[hover.nearest.index]!)[0]}
                cy={toPx(FRAME, domain, hovered.entry.recall[hover.nearest.index]!, hovered.entry.precision[hover.nearest.index]!)[1]}
                r={4}
                style={{ fill: hovered.color }}
              />
            ) : null}
          </g>
          {drag ? (
            <rect
              class="pr-select"
              x={Math.min(drag.x0, drag.x1)}
              y={Math.min(drag.y0, drag.y1)}
              width={Math.abs(drag.x1 - drag.x0)}
              height={Math.abs(drag.y1 - drag.y0)}
            />
          ) : null}
        </svg>
        {tooltip}
        {drawn.length === 0 ? (
          <div class="card__placeholder">
            {state.error ? `Could not load: ${state.error}` : state.pending || url ? 'Loading…' : 'No data'}
          </div>
        ) : null}
      </div>
      <div class="pr-sliders">
        {drawn.map((d) => (
          <div class="pr-slider" key={d.run} data-testid="pr-slider-row" data-run={d.run}>
            <span class="pr-swatch" style={{ background: d.color }} />
            <span class="pr-slider__run" title={d.run}>
              {d.run}
            </span>
            {d.entries.length > 1 ? (
              <input
                type="range"
                min={0}
                max={d.entries.length - 1}
                step={1}
                value={d.index}
                aria-label={`Step of ${d.run}`}
                data-testid="pr-slider"
                data-run={d.run}
                style={{ accentColor: d.color }}
                onInput={(e) => {
                  const entry = d.entries[Number(e.currentTarget.value)];
                  if (entry) setChosen({ ...chosen, [d.run]: entry.step });
                }}
              />
            ) : (
              <span class="pr-slider__spacer" />
            )}
            <span class="pr-slider__label" data-testid="pr-slider-label">
              {timeLabel(display, d.entry, d.entries[0]!)}
            </span>
          </div>
        ))}
      </div>
      <div class="card__foot">
        <span>{drawn.length ? `${drawn.length} run${drawn.length === 1 ? '' : 's'}` : ''}</span>
        {state.error && drawn.length ? <span class="card__error">{state.error}</span> : null}
        {state.pending ? <span class="card__loading" role="status" aria-label="Loading" /> : null}
      </div>
    </div>
  );
}
