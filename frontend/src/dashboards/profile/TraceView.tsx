/**
 * The Trace view: a canvas timeline, one group of rows per process/thread/stream, slices coloured
 * by category. Wheel or W/S zooms, drag or A/D pans, hovering shows a slice's name, duration and
 * arguments, clicking selects it and shows its details. Only visible slices are drawn, and slices
 * thinner than a pixel are merged (timeline.ts). When the server capped the events, a zoom asks it
 * again for the visible window.
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { useStore } from '../../core/store';
import { useJson } from '../../core/useJson';
import { Notice } from '../../components/DashboardStates';
import { categoryColor, formatDuration, type EventDetails, type TracePayload } from './model';
import { buildLanes, hitTest, pan, timeTicks, toColumns, visibleSlices, zoom, type Lane, type View } from './timeline';

const GUTTER = 190;
const AXIS = 26;
const HEADER = 18;
const ROW = 16;

interface Layout {
  /** Per track id: y of its header and of its first row. */
  tracks: { id: number; name: string; y: number; rows: number }[];
  height: number;
}

function layoutTracks(data: TracePayload): Layout {
  let y = AXIS;
  const tracks = data.tracks.map((track) => {
    const item = { id: track.id, name: track.name, y, rows: track.rows };
    y += HEADER + track.rows * ROW + 4;
    return item;
  });
  return { tracks, height: y + 4 };
}

export function TraceView({ api, query }: { api: DashboardApi; query: Record<string, string> }): JSX.Element {
  const dark = useStore(api.theme, (t) => t.dark);
  const [fetchWindow, setFetchWindow] = useState<View | null>(null);
  const url = pluginUrl('profile', 'trace', {
    ...query,
    ...(fetchWindow ? { start: fetchWindow.start, end: fetchWindow.end } : {}),
  });
  const trace = useJson<TracePayload>(api, url);
  const data = trace.data;
  const [view, setView] = useState<View | null>(null);
  const [hover, setHover] = useState<{ x: number; y: number; index: number } | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const boxRef = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  const drag = useRef<{ x: number; view: View; moved: boolean } | null>(null);

  const model = useMemo(() => {
    if (!data) return null;
    const columns = toColumns(data.events);
    return { columns, lanes: buildLanes(columns), layout: layoutTracks(data) };
  }, [data]);
  const bounds: View = useMemo(() => ({ start: 0, end: Math.max(data?.duration ?? 1, 1e-3) }), [data?.duration]);

  // A new trace (another run/worker/span) starts from the whole range.
  const key = `${query['run']}|${query['worker']}|${query['span'] ?? ''}`;
  useEffect(() => {
    setView(null);
    setFetchWindow(null);
    setSelected(null);
  }, [key]);
  const shown = view ?? bounds;

  useLayoutEffect(() => {
    const box = boxRef.current;
    if (!box) return undefined;
    const observer = new ResizeObserver(() => setWidth(Math.max(box.clientWidth, 200)));
    observer.observe(box);
    setWidth(Math.max(box.clientWidth, 200));
    return () => observer.disconnect();
  }, [model !== null]);

  // Capped by the server: ask again for the window in view, once the zooming settles.
  useEffect(() => {
    if (!data?.truncated && !fetchWindow) return undefined;
    const timer = window.setTimeout(() => {
      const whole = shown.start <= bounds.start && shown.end >= bounds.end;
      const next = whole ? null : { start: shown.start, end: shown.end };
      if (JSON.stringify(next) !== JSON.stringify(fetchWindow)) setFetchWindow(next);
    }, 350);
    return () => window.clearTimeout(timer);
  }, [shown.start, shown.end, data?.truncated]);

  // Draw, once per animation frame.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || !model || !data) return undefined;
    const frame = requestAnimationFrame(() => draw(canvas, model, data, shown, width, selected));
    return () => cancelAnimationFrame(frame);
  }, [model, data, shown.start, shown.end, width, selected, dark]);

  const hovered = hover ? hover.index : null;
  const detailsId = selected ?? hovered;
  const details = useEventDetails(api, query, data ? detailsId : null, data ? data.events.id : null);

  if (!data || !model) {
    return trace.error ? (
      <Notice error testid="profile-error">Could not load the trace: {trace.error}</Notice>
    ) : (
      <Notice testid="profile-loading">Loading the trace…</Notice>
    );
  }

  const timeAt = (clientX: number): number => {
    const rect = canvasRef.current!.getBoundingClientRect();
    const x = clientX - rect.left - GUTTER;
    return shown.start + (x / Math.max(width - GUTTER, 1)) * (shown.end - shown.start);
  };
  const laneAt = (clientY: number): Lane | null => {
    const rect = canvasRef.current!.getBoundingClientRect();
    const y = clientY - rect.top;
    for (const track of model.layout.tracks) {
      const top = track.y + HEADER;
      if (y >= top && y < top + track.rows * ROW) {
        return model.lanes.get(`${track.id}:${Math.floor((y - top) / ROW)}`) ?? null;
      }
    }
    return null;
  };
  const pick = (event: MouseEvent): number => {
    const lane = laneAt(event.clientY);
    if (!lane) return -1;
    const perPixel = (shown.end - shown.start) / Math.max(width - GUTTER, 1);
    return hitTest(lane, model.columns, timeAt(event.clientX), perPixel * 2);
  };

  const onWheel = (event: WheelEvent) => {
    event.preventDefault();
    const factor = Math.exp((event.deltaY || event.deltaX) * 0.002);
    setView(zoom(shown, timeAt(event.clientX), factor, bounds));
  };
  const onMouseDown = (event: MouseEvent) => {
    drag.current = { x: event.clientX, view: shown, moved: false };
  };
  const onMouseMove = (event: MouseEvent) => {
    const dragging = drag.current;
    if (dragging && event.buttons & 1) {
      const dx = event.clientX - dragging.x;
      if (Math.abs(dx) > 2) dragging.moved = true;
      const perPixel = (dragging.view.end - dragging.view.start) / Math.max(width - GUTTER, 1);
      setView(pan(dragging.view, -dx * perPixel, bounds));
      setHover(null);
      return;
    }
    const index = pick(event);
    const rect = boxRef.current!.getBoundingClientRect();
    setHover(index >= 0 ? { x: event.clientX - rect.left, y: event.clientY - rect.top, index } : null);
  };
  const onMouseUp = (event: MouseEvent) => {
    const dragging = drag.current;
    drag.current = null;
    if (dragging && !dragging.moved) {
      const index = pick(event);
      setSelected(index >= 0 ? index : null);
    }
  };
  const onKey = (event: KeyboardEvent) => {
    const span = shown.end - shown.start;
    const center = (shown.start + shown.end) / 2;
    const key = event.key.toLowerCase();
    if (key === 'w') setView(zoom(shown, center, 0.8, bounds));
    else if (key === 's') setView(zoom(shown, center, 1.25, bounds));
    else if (key === 'a') setView(pan(shown, -span * 0.1, bounds));
    else if (key === 'd') setView(pan(shown, span * 0.1, bounds));
    else if (key === '0') setView(null);
    else return;
    event.preventDefault();
  };

  const hoverIndex = hover?.index ?? -1;
  return (
    <div class="profile-trace">
      <div class="toolbar profile-trace__toolbar">
        <span data-testid="trace-range" data-view-start={shown.start} data-view-end={shown.end}>
          {formatDuration(shown.start)} – {formatDuration(shown.end)} ({formatDuration(shown.end - shown.start)} shown)
        </span>
        <span class="profile-muted">
          {data.total.toLocaleString()} events{data.truncated ? ` (longest ${data.events.id.length.toLocaleString()} shown; zoom in for the rest)` : ''}
        </span>
        <span class="profile-muted">Wheel or W/S: zoom · drag or A/D: pan · 0: reset</span>
        <button type="button" class="button" data-testid="trace-reset" onClick={() => setView(null)}>
          Reset zoom
        </button>
      </div>
      {trace.error ? <Notice error>Could not refresh the trace: {trace.error}</Notice> : null}
      <div class="profile-trace__box" ref={boxRef}>
        <canvas
          ref={canvasRef}
          class="profile-trace__canvas"
          data-testid="trace-canvas"
          tabIndex={0}
          style={{ width: `${width}px`, height: `${model.layout.height}px` }}
          onWheel={onWheel}
          onMouseDown={onMouseDown}
          onMouseMove={onMouseMove}
          onMouseUp={onMouseUp}
          onMouseLeave={() => {
            drag.current = null;
            setHover(null);
          }}
          onKeyDown={onKey}
        />
        {hover && hoverIndex >= 0 ? (
          <div
            class="profile-tooltip"
            data-testid="trace-tooltip"
            style={{ left: `${Math.min(hover.x + 14, width - 320)}px`, top: `${hover.y + 14}px` }}
          >
            <b>{data.names[data.events.name[hoverIndex]!]}</b>
            <div>
              {data.categories[data.events.category[hoverIndex]!]} · {formatDuration(data.events.duration[hoverIndex]!)}
            </div>
            {details && details.id === data.events.id[hoverIndex] ? <Args args={details.args} limit={8} /> : null}
          </div>
        ) : null}
      </div>
      {selected !== null && details && details.id === data.events.id[selected] ? (
        <div class="profile-details" data-testid="trace-details">
          <h3>{details.name}</h3>
          <div class="profile-muted">
            {details.category} · {details.track} · starts at {formatDuration(details.start)} · lasts{' '}
            {formatDuration(details.duration)}
          </div>
          <Args args={details.args} limit={200} />
        </div>
      ) : null}
    </div>
  );
}

function Args({ args, limit }: { args: Record<string, unknown>; limit: number }): JSX.Element {
  const entries = Object.entries(args).slice(0, limit);
  return (
    <table class="profile-args">
      <tbody>
        {entries.map(([key, value]) => (
          <tr key={key}>
            <th>{key}</th>
            <td>{typeof value === 'string' ? value : JSON.stringify(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One event's arguments, fetched (and kept) when it is hovered or selected. */
function useEventDetails(
  api: DashboardApi,
  query: Record<string, string>,
  index: number | null,
  ids: number[] | null,
): EventDetails | null {
  const cache = useRef(new Map<number, EventDetails>());
  const [details, setDetails] = useState<EventDetails | null>(null);
  const id = index !== null && ids ? (ids[index] ?? null) : null;
  useEffect(() => {
    cache.current.clear();
  }, [query['run'], query['worker'], query['span']]);
  useEffect(() => {
    if (id === null) return undefined;
    const known = cache.current.get(id);
    if (known) {
      setDetails(known);
      return undefined;
    }
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      api.client
        .getJson<EventDetails>(pluginUrl('profile', 'event', { ...query, id }), controller.signal)
        .then((found) => {
          cache.current.set(id, found);
          setDetails(found);
        })
        .catch(() => undefined); // the tooltip keeps name and duration
    }, 80);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [id]);
  return details;
}

function draw(
  canvas: HTMLCanvasElement,
  model: { columns: ReturnType<typeof toColumns>; lanes: Map<string, Lane>; layout: Layout },
  data: TracePayload,
  view: View,
  width: number,
  selected: number | null,
): void {
  const dpr = window.devicePixelRatio || 1;
  const height = model.layout.height;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const style = getComputedStyle(canvas);
  const text = style.getPropertyValue('--text').trim() || '#222';
  const muted = style.getPropertyValue('--chart-text').trim() || '#666';
  const grid = style.getPropertyValue('--chart-grid').trim() || 'rgba(0,0,0,0.1)';
  const panel2 = style.getPropertyValue('--panel-2').trim() || '#f5f5f5';
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const plot = Math.max(width - GUTTER, 1);
  const scale = plot / (view.end - view.start);
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';

  // Time axis and grid.
  ctx.fillStyle = muted;
  ctx.strokeStyle = grid;
  for (const tick of timeTicks(view.start, view.end, Math.max(2, Math.floor(plot / 110)))) {
    const x = GUTTER + (tick - view.start) * scale;
    ctx.beginPath();
    ctx.moveTo(x + 0.5, AXIS - 6);
    ctx.lineTo(x + 0.5, height);
    ctx.stroke();
    ctx.fillText(formatDuration(tick), x + 3, AXIS / 2);
  }

  for (const track of model.layout.tracks) {
    ctx.fillStyle = panel2;
    ctx.fillRect(0, track.y, width, HEADER);
    ctx.fillStyle = text;
    ctx.fillText(track.name, 6, track.y + HEADER / 2, width - 12);
    for (let depth = 0; depth < track.rows; depth++) {
      const lane = model.lanes.get(`${track.id}:${depth}`);
      if (!lane) continue;
      const y = track.y + HEADER + depth * ROW;
      for (const slice of visibleSlices(lane, model.columns, view, plot)) {
        const category = data.categories[data.events.category[slice.index]!] ?? '';
        ctx.fillStyle = categoryColor(category);
        ctx.globalAlpha = slice.count > 1 ? 0.7 : 1;
        ctx.fillRect(GUTTER + slice.x, y + 1, slice.w, ROW - 2);
        ctx.globalAlpha = 1;
        if (slice.index === selected) {
          ctx.strokeStyle = text;
          ctx.lineWidth = 2;
          ctx.strokeRect(GUTTER + slice.x, y + 1, Math.max(slice.w, 2), ROW - 2);
          ctx.lineWidth = 1;
        }
        if (slice.w > 40 && slice.count === 1) {
          ctx.fillStyle = '#fff';
          ctx.save();
          ctx.beginPath();
          ctx.rect(GUTTER + slice.x, y, slice.w, ROW);
          ctx.clip();
          ctx.fillText(data.names[data.events.name[slice.index]!] ?? '', GUTTER + slice.x + 3, y + ROW / 2);
          ctx.restore();
        }
      }
    }
  }
  // The gutter stays clear of slices panned under it.
  ctx.strokeStyle = grid;
  ctx.beginPath();
  ctx.moveTo(GUTTER - 0.5, 0);
  ctx.lineTo(GUTTER - 0.5, height);
  ctx.stroke();
}
