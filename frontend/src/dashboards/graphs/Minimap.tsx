/**
 * The minimap: the whole laid-out graph, small, with the part on screen as a rectangle.
 * Clicking or dragging on it centres the main view there (at the current zoom).
 */
import type { JSX } from 'preact';
import { useRef } from 'preact/hooks';

import type { Layout } from './layout';
import type { Transform } from './GraphView';

/** The minimap's largest width and height (CSS px). */
export const MINIMAP_MAX = { width: 180, height: 120 };

export interface MinimapGeometry {
  width: number;
  height: number;
  /** Graph units to minimap px. */
  scale: number;
}

/** The minimap's size and scale for a layout of `width`×`height` graph units. */
export function minimapGeometry(width: number, height: number, max = MINIMAP_MAX): MinimapGeometry {
  if (width <= 0 || height <= 0) return { width: max.width, height: max.height, scale: 1 };
  const scale = Math.min(max.width / width, max.height / height);
  return { width: Math.max(24, width * scale), height: Math.max(24, height * scale), scale };
}

/** The view's rectangle in graph units: what a `view`-sized screen shows under `t`. */
export function viewportRect(t: Transform, view: { width: number; height: number }): { x: number; y: number; width: number; height: number } {
  return { x: -t.x / t.k, y: -t.y / t.k, width: view.width / t.k, height: view.height / t.k };
}

/** The transform (zoom kept) that centres graph point (`gx`, `gy`) in the view. */
export function centreOn(gx: number, gy: number, k: number, view: { width: number; height: number }): Transform {
  return { x: view.width / 2 - gx * k, y: view.height / 2 - gy * k, k };
}

export interface MinimapProps {
  layout: Layout;
  transform: Transform;
  view: { width: number; height: number };
  onTransform: (t: Transform) => void;
}

export function Minimap({ layout, transform, view, onTransform }: MinimapProps): JSX.Element {
  const geometry = minimapGeometry(layout.width, layout.height);
  const { scale } = geometry;
  const dragging = useRef(false);
  const rect = viewportRect(transform, view);
  const panTo = (event: PointerEvent) => {
    const box = (event.currentTarget as Element).getBoundingClientRect();
    const gx = (event.clientX - box.left) / scale;
    const gy = (event.clientY - box.top) / scale;
    onTransform(centreOn(gx, gy, transform.k, view));
  };
  // Clip the rectangle to the minimap, so that a zoomed-out view still shows as a frame.
  // (inset by half its stroke, which would spill over the edge).
  const inset = 1;
  const x0 = Math.max(inset, rect.x * scale);
  const y0 = Math.max(inset, rect.y * scale);
  const x1 = Math.min(geometry.width - inset, (rect.x + rect.width) * scale);
  const y1 = Math.min(geometry.height - inset, (rect.y + rect.height) * scale);
  return (
    <svg
      class="graph-minimap"
      data-testid="graph-minimap"
      role="img"
      aria-label="Minimap of the whole graph: click or drag to pan"
      width={geometry.width}
      height={geometry.height}
      onPointerDown={(event) => {
        if (event.button !== 0) return;
        dragging.current = true;
        (event.currentTarget as Element).setPointerCapture?.(event.pointerId);
        panTo(event);
      }}
      onPointerMove={(event) => {
        if (dragging.current) panTo(event);
      }}
      onPointerUp={() => {
        dragging.current = false;
      }}
      onPointerCancel={() => {
        dragging.current = false;
      }}
    >
      <title>Minimap: click or drag to pan</title>
      {[...layout.nodes.entries()].map(([id, box]) => (
        <rect
          key={id}
          class={id.startsWith('g') ? 'graph-minimap__box' : 'graph-minimap__node'}
          x={box.x * scale}
          y={box.y * scale}
          width={Math.max(1, box.width * scale)}
          height={Math.max(1, box.height * scale)}
        />
      ))}
      {x1 > x0 && y1 > y0 ? (
        <rect
          class="graph-minimap__viewport"
          data-testid="graph-minimap-viewport"
          x={x0}
          y={y0}
          width={x1 - x0}
          height={y1 - y0}
        />
      ) : null}
    </svg>
  );
}
