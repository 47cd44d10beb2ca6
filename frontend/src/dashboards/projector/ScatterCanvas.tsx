/**
 * The canvas component around `ScatterView`: creates it once, feeds it the coordinates, colours,
 * highlights and labels, and exposes a summary of the picture as `data-` attributes (the browser
 * tests read `data-summary`: per-category centroids and a cluster-separation score).
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

import { summarize } from './model';
import { ScatterView, type Highlight, type Sprites } from './scatter';

export interface ScatterCanvasProps {
  coords: Float32Array | null;
  dims: 2 | 3;
  fitKey: number;
  colors: Float32Array;
  visible: number[] | null;
  highlight: Highlight;
  labels: Array<{ index: number; text: string; strong: boolean }>;
  sprites: Sprites | null;
  dark: boolean;
  /** The categories the summary groups by (the colour column), or null. */
  categories: string[] | null;
  method: string;
  status: string;
  labelOf(index: number): string;
  onClick(index: number | null): void;
  onBox(indices: number[]): void;
}

export function ScatterCanvas(props: ScatterCanvasProps): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<ScatterView | null>(null);
  const [hover, setHover] = useState<number | null>(null);
  const [lost, setLost] = useState(false);
  const callbacks = useRef(props);
  callbacks.current = props;

  useLayoutEffect(() => {
    const el = host.current;
    if (!el) return undefined;
    let created: ScatterView;
    try {
      created = new ScatterView(el, {
        onHover: setHover,
        onClick: (i) => callbacks.current.onClick(i),
        onBox: (indices) => callbacks.current.onBox(indices),
        onLost: () => setLost(true),
      });
    } catch {
      setLost(true);
      return undefined;
    }
    view.current = created;
    (el as unknown as { scatter: ScatterView }).scatter = created; // for tests: el.scatter.screenOf(i)
    return () => {
      created.dispose();
      view.current = null;
    };
  }, []);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const background = getComputedStyle(el).getPropertyValue('--panel').trim() || (props.dark ? '#1e1e1e' : '#ffffff');
    view.current?.setBackground(background);
  }, [props.dark]);

  // Order matters: colours, sprites and visibility before the points that use them.
  useEffect(() => view.current?.setColors(props.colors), [props.colors]);
  useEffect(() => view.current?.setSprites(props.sprites), [props.sprites]);
  const lastFit = useRef(-1);
  useEffect(() => {
    if (!view.current) return;
    if (!props.coords || props.coords.length !== props.colors.length) {
      view.current.setPoints(new Float32Array(0), props.dims, false); // nothing stale meanwhile
      return;
    }
    const fit = lastFit.current !== props.fitKey;
    lastFit.current = props.fitKey;
    view.current.setPoints(props.coords, props.dims, fit);
  }, [props.coords, props.dims, props.fitKey, props.colors.length]);
  useEffect(() => {
    view.current?.setIsolated(props.visible !== null);
    view.current?.setVisible(props.visible);
  }, [props.visible, props.coords?.length]);
  useEffect(() => view.current?.setHighlight(props.highlight), [props.highlight]);
  useEffect(() => view.current?.setLabels(props.labels), [props.labels]);

  const summary = props.coords ? summarize(props.coords, props.coords.length / 3, props.categories) : null;
  return (
    <div class="projector__stage">
      <div
        ref={host}
        class="projector__canvas"
        data-testid="projector-stage"
        data-method={props.method}
        data-dims={props.dims}
        data-status={props.status}
        data-points={props.coords ? props.coords.length / 3 : 0}
        data-summary={summary ? JSON.stringify(summary) : ''}
      />
      <div class="projector__overlay">
        <button type="button" class="button" data-testid="projector-fit" title="Reset zoom to fit all points" onClick={() => view.current?.resetView()}>
          Fit
        </button>
        <span class="projector__hint">{props.dims === 3 ? 'Drag: rotate · right-drag: pan' : 'Drag: pan'} · wheel: zoom · shift-drag: select</span>
      </div>
      {hover !== null ? (
        <div class="projector__hover" data-testid="projector-hover">
          {props.labelOf(hover)}
        </div>
      ) : null}
      {lost ? (
        <div class="notice notice--error projector__lost" data-testid="projector-webgl">
          WebGL is not available (or its context was lost): the points cannot be drawn. Reload the page to try again.
        </div>
      ) : null}
    </div>
  );
}
