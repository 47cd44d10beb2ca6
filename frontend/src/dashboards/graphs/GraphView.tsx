/**
 * The laid-out graph in SVG: expanded metanodes as boxes holding their children, collapsed
 * metanodes and ops on top, edges between them (control edges dashed, thickness by how many
 * edges were folded into one, shapes as labels). Wheel zooms about the pointer, dragging the
 * background pans; click selects, double-click (or the +/− button) expands a metanode.
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

import { HEADER, shortLabel, type Box, type Layout } from './layout';
import {
  edgeLabel,
  itemLabel,
  itemName,
  parseId,
  textOn,
  type Hierarchy,
  type VisibleGraph,
} from './model';

export interface Transform {
  x: number;
  y: number;
  k: number;
}

const MIN_ZOOM = 0.03;
const MAX_ZOOM = 4;

/** The transform that fits `box` into a `width`×`height` view (never above 1.5× zoom). */
export function fitTransform(box: Box, width: number, height: number, margin = 24): Transform {
  if (box.width <= 0 || box.height <= 0 || width <= 0 || height <= 0) return { x: margin, y: margin, k: 1 };
  const k = Math.max(
    MIN_ZOOM,
    Math.min(1.5, (width - 2 * margin) / box.width, (height - 2 * margin) / box.height),
  );
  return { x: (width - box.width * k) / 2 - box.x * k, y: (height - box.height * k) / 2 - box.y * k, k };
}

/** The labels' font size (graphs.css) and the smallest on-screen size still read comfortably. */
export const LABEL_PX = 11;
export const READABLE_PX = 9;
/** Below this zoom the labels would be under READABLE_PX: they are hidden, with a note. */
export const READABLE_ZOOM = READABLE_PX / LABEL_PX;

/**
 * "Fit to screen" that keeps labels readable: the fit of `box`, but never below READABLE_ZOOM.
 * A graph too big for that is shown from its start (top left, where its inputs are), centred
 * along an axis where it fits; `clamped` says the rest is a pan (or the minimap) away.
 */
export function readableFit(box: Box, width: number, height: number, margin = 24): { transform: Transform; clamped: boolean } {
  const fitted = fitTransform(box, width, height, margin);
  if (fitted.k >= READABLE_ZOOM || box.width <= 0 || box.height <= 0) return { transform: fitted, clamped: false };
  const k = READABLE_ZOOM;
  const place = (start: number, size: number, view: number) =>
    size * k <= view - 2 * margin ? (view - size * k) / 2 - start * k : margin - start * k;
  return { transform: { x: place(box.x, box.width, width), y: place(box.y, box.height, height), k }, clamped: true };
}

/** The transform that puts the centre of `box` in the middle of the view, at zoom `k`. */
export function centerTransform(box: Box, width: number, height: number, k: number): Transform {
  return { x: width / 2 - (box.x + box.width / 2) * k, y: height / 2 - (box.y + box.height / 2) * k, k };
}

export interface GraphViewProps {
  hierarchy: Hierarchy;
  view: VisibleGraph;
  layout: Layout;
  transform: Transform;
  onTransform: (t: Transform) => void;
  selected: string | null;
  onSelect: (id: string | null) => void;
  onToggle: (group: number) => void;
  fills: Map<string, string>;
  /** Trace inputs: the items and edges to highlight (the rest is dimmed). */
  traced: { items: Set<string>; edges: Set<string> } | null;
  svgRef: { current: SVGSVGElement | null };
  onSize: (size: { width: number; height: number }) => void;
}

function pathOf(points: [number, number][]): string {
  if (points.length === 0) return '';
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
}

/** The middle of a polyline (by length): where its label goes. */
function midpoint(points: [number, number][]): [number, number] {
  let total = 0;
  for (let i = 1; i < points.length; i++) total += Math.hypot(points[i]![0] - points[i - 1]![0], points[i]![1] - points[i - 1]![1]);
  let left = total / 2;
  for (let i = 1; i < points.length; i++) {
    const [x0, y0] = points[i - 1]!;
    const [x1, y1] = points[i]!;
    const length = Math.hypot(x1 - x0, y1 - y0);
    if (left <= length && length > 0) return [x0 + ((x1 - x0) * left) / length, y0 + ((y1 - y0) * left) / length];
    left -= length;
  }
  return points[0] ?? [0, 0];
}

export function GraphView(props: GraphViewProps): JSX.Element {
  const { hierarchy: h, view, layout, transform, selected, fills, traced } = props;
  const hostRef = useRef<HTMLDivElement>(null);
  const drag = useRef<{ x: number; y: number; t: Transform; moved: boolean } | null>(null);
  const [dragging, setDragging] = useState(false);
  const transformRef = useRef(transform);
  transformRef.current = transform;
  const onTransformRef = useRef(props.onTransform);
  onTransformRef.current = props.onTransform;

  useLayoutEffect(() => {
    const host = hostRef.current;
    if (!host) return undefined;
    const report = () => props.onSize({ width: host.clientWidth, height: host.clientHeight });
    report();
    const observer = new ResizeObserver(report);
    observer.observe(host);
    return () => observer.disconnect();
  }, []);

  // A non-passive wheel listener, so that zooming does not scroll the page.
  useEffect(() => {
    const svg = props.svgRef.current;
    if (!svg) return undefined;
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      const rect = svg.getBoundingClientRect();
      const px = event.clientX - rect.left;
      const py = event.clientY - rect.top;
      const t = transformRef.current;
      const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, t.k * Math.exp(-event.deltaY * 0.0015)));
      onTransformRef.current({ k, x: px - ((px - t.x) * k) / t.k, y: py - ((py - t.y) * k) / t.k });
    };
    svg.addEventListener('wheel', onWheel, { passive: false });
    return () => svg.removeEventListener('wheel', onWheel);
  }, [props.svgRef.current]);

  const onPointerDown = (event: PointerEvent) => {
    if (event.button !== 0) return;
    // Capture the pointer only once it moves: a capture at pointerdown would retarget the
    // click of a node to the <svg>.
    drag.current = { x: event.clientX, y: event.clientY, t: transformRef.current, moved: false };
  };
  const onPointerMove = (event: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const dx = event.clientX - d.x;
    const dy = event.clientY - d.y;
    if (!d.moved && Math.hypot(dx, dy) < 3) return;
    if (!d.moved) {
      setDragging(true);
      (event.currentTarget as Element).setPointerCapture(event.pointerId);
    }
    d.moved = true;
    props.onTransform({ ...d.t, x: d.t.x + dx, y: d.t.y + dy });
  };
  const onPointerUp = (event: PointerEvent) => {
    const d = drag.current;
    drag.current = null;
    setDragging(false);
    if (d && !d.moved && event.target === event.currentTarget) props.onSelect(null);
  };
  const clickItem = (id: string) => (event: MouseEvent) => {
    event.stopPropagation();
    props.onSelect(id);
  };

  const dim = (id: string) => traced !== null && !traced.items.has(id);
  const expandedGroups = [...view.children.keys()]
    .filter((g) => g > 0 && layout.nodes.has(`g${g}`))
    .sort((a, b) => h.groups[a]!.depth - h.groups[b]!.depth);
  const items = [...view.children.values()].flat().filter((id) => {
    const { kind, index } = parseId(id);
    return !(kind === 'group' && view.children.has(index)) && layout.nodes.has(id);
  });

  return (
    <div class="graph-view" ref={hostRef}>
      <svg
        ref={(el) => {
          props.svgRef.current = el;
        }}
        class={`graph-svg${dragging ? ' graph-svg--dragging' : ''}${transform.k < READABLE_ZOOM ? ' graph-svg--small' : ''}`}
        data-testid="graph-svg"
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
      >
        <defs>
          <marker
            id="graph-arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerUnits="userSpaceOnUse"
            markerWidth="8"
            markerHeight="8"
            orient="auto-start-reverse"
          >
            <path d="M0,0 L10,5 L0,10 z" class="graph-arrow" />
          </marker>
        </defs>
        <g
          data-testid="graph-scene"
          transform={`translate(${transform.x.toFixed(2)},${transform.y.toFixed(2)}) scale(${transform.k.toFixed(4)})`}
        >
          {expandedGroups.map((g) => {
            const id = `g${g}`;
            const box = layout.nodes.get(id)!;
            const group = h.groups[g]!;
            const fill = fills.get(id);
            return (
              <g
                key={id}
                class={`graph-box${selected === id ? ' graph-node--selected' : ''}${dim(id) ? ' graph-dim' : ''}`}
                data-testid="graph-node"
                data-id={id}
                data-name={group.path}
                data-kind="meta"
                data-expanded="true"
                transform={`translate(${box.x},${box.y})`}
                onClick={clickItem(id)}
                onDblClick={(e) => {
                  e.stopPropagation();
                  props.onToggle(g);
                }}
              >
                <rect width={box.width} height={box.height} rx="8" style={fill ? { fill, fillOpacity: 0.18 } : undefined} />
                <line x1="0" x2={box.width} y1={HEADER} y2={HEADER} class="graph-box__rule" />
                <ToggleButton expanded onClick={() => props.onToggle(g)} />
                <text x="26" y={HEADER / 2 + 4} class="graph-label graph-label--box">
                  {shortLabel(group.name)}
                </text>
              </g>
            );
          })}
          <g class="graph-edges">
            {view.edges.map((edge) => {
              const points = layout.edges.get(edge.id);
              if (!points || points.length < 2) return null;
              const label = edgeLabel(edge);
              const [mx, my] = midpoint(points);
              const on = traced !== null && traced.edges.has(edge.id);
              const faded = traced !== null && !on;
              return (
                <g
                  key={edge.id}
                  class={`graph-edge${edge.control ? ' graph-edge--control' : ''}${on ? ' graph-edge--traced' : ''}${faded ? ' graph-dim' : ''}`}
                  data-testid="graph-edge"
                  data-source={edge.source}
                  data-target={edge.target}
                  data-count={edge.count}
                  data-control={edge.control ? 'true' : 'false'}
                >
                  <path
                    d={pathOf(points)}
                    marker-end="url(#graph-arrow)"
                    style={{ strokeWidth: Math.min(6, 1.1 + Math.log2(edge.count)) }}
                  />
                  {label ? (
                    <text x={mx + 4} y={my - 3} class="graph-edge__label">
                      {label}
                    </text>
                  ) : null}
                </g>
              );
            })}
          </g>
          {items.map((id) => {
            const box = layout.nodes.get(id)!;
            const { kind, index } = parseId(id);
            const fill = fills.get(id);
            const label = shortLabel(itemLabel(h, id));
            const style = fill ? { fill } : undefined;
            const textStyle = fill ? { fill: textOn(fill) } : undefined;
            const cls = `graph-node graph-node--${kind === 'group' ? 'meta' : 'op'}${selected === id ? ' graph-node--selected' : ''}${
              traced?.items.has(id) ? ' graph-node--traced' : ''
            }${dim(id) ? ' graph-dim' : ''}`;
            return (
              <g
                key={id}
                class={cls}
                data-testid="graph-node"
                data-id={id}
                data-name={itemName(h, id)}
                data-kind={kind === 'group' ? 'meta' : 'op'}
                data-expanded="false"
                data-fill={fill ?? ''}
                transform={`translate(${box.x},${box.y})`}
                onClick={clickItem(id)}
                onDblClick={
                  kind === 'group'
                    ? (e) => {
                        e.stopPropagation();
                        props.onToggle(index);
                      }
                    : undefined
                }
              >
                <title>{kind === 'group' ? `${itemName(h, id)} (${h.groups[index]!.leafCount} nodes)` : `${itemName(h, id)}\n${h.nodes[index]!.op}`}</title>
                {kind === 'group' ? (
                  <>
                    <rect width={box.width} height={box.height} rx="6" style={style} />
                    <ToggleButton expanded={false} onClick={() => props.onToggle(index)} />
                    <text x="26" y={box.height / 2 + 4} class="graph-label" style={textStyle}>
                      {label}
                      <tspan class="graph-label__count" style={textStyle}>
                        {`  ${h.groups[index]!.leafCount}`}
                      </tspan>
                    </text>
                  </>
                ) : (
                  <>
                    <rect width={box.width} height={box.height} rx={box.height / 2} style={style} />
                    <text x={box.width / 2} y={box.height / 2 + 4} text-anchor="middle" class="graph-label" style={textStyle}>
                      {label}
                    </text>
                  </>
                )}
              </g>
            );
          })}
        </g>
      </svg>
    </div>
  );
}

function ToggleButton({ expanded, onClick }: { expanded: boolean; onClick: () => void }): JSX.Element {
  return (
    <g
      class="graph-toggle"
      data-testid="graph-toggle"
      transform="translate(6,6)"
      onClick={(e) => {
        e.stopPropagation();
        onClick();
      }}
      onDblClick={(e) => e.stopPropagation()}
    >
      <rect width="14" height="14" rx="3" />
      <path d={expanded ? 'M3.5,7 H10.5' : 'M3.5,7 H10.5 M7,3.5 V10.5'} />
    </g>
  );
}
