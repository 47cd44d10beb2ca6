/** One run × mesh card: the 3D view, its step slider, a sample picker and "reset view". */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

import { pluginUrl, type Client } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { useJson } from '../../core/useJson';
import { useVisible } from '../../core/visible';
import { StepSlider } from '../../components/StepSlider';
import {
  decodeColors,
  decodeFaces,
  decodeVertices,
  parseConfig,
  stepsOf,
  type MeshEntry,
  type MeshStep,
  type PartName,
} from './model';
import { MeshViewer, webglAvailable, type MeshData, type ViewBus } from './viewer';

export interface MeshCardProps {
  api: DashboardApi;
  run: string;
  name: string;
  samples: number;
  color: string;
  /** Changes when the theme does: the view redraws with the new background. */
  dark: boolean;
  shared: boolean;
  bus: ViewBus;
}

interface Loaded {
  key: string;
  data: MeshData;
  vertices: number;
  faces: number;
  dropped: number;
  colorsIgnored: boolean;
}

async function loadStep(
  client: Client,
  run: string,
  name: string,
  sample: number,
  step: MeshStep,
  signal: AbortSignal,
): Promise<Omit<Loaded, 'key'>> {
  const url = (part: PartName) =>
    pluginUrl('mesh', 'data', { run, tag: name, sample, step: step.step, content_type: part });
  const [vertexBytes, faceBytes, colorBytes] = await Promise.all([
    client.arrayBuffer(url('VERTEX'), signal),
    step.hasFaces ? client.arrayBuffer(url('FACE'), signal) : Promise.resolve(null),
    step.hasColors ? client.arrayBuffer(url('COLOR'), signal) : Promise.resolve(null),
  ]);
  const positions = decodeVertices(vertexBytes);
  const vertices = positions.length / 3;
  const faces = faceBytes ? decodeFaces(faceBytes, positions) : null;
  const colors = colorBytes ? decodeColors(colorBytes, vertices) : null;
  return {
    data: { positions, index: faces && faces.index.length ? faces.index : null, colors },
    vertices,
    faces: faces ? faces.index.length / 3 : 0,
    dropped: faces ? faces.dropped : 0,
    colorsIgnored: colorBytes !== null && colors === null,
  };
}

export function MeshCard({ api, run, name, samples, color, dark, shared, bus }: MeshCardProps): JSX.Element {
  const cardRef = useRef<HTMLDivElement>(null);
  const hostRef = useRef<HTMLDivElement>(null);
  const viewerRef = useRef<MeshViewer | null>(null);
  const visible = useVisible(cardRef);
  const [sample, setSample] = useState(0);
  // null follows the newest step as training writes more.
  const [picked, setPicked] = useState<number | null>(null);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [webgl] = useState(webglAvailable);
  const [viewer, setViewer] = useState<MeshViewer | null>(null);
  const [lost, setLost] = useState(false);
  const fitted = useRef(false);

  const meta = useJson<MeshEntry[]>(api, visible ? pluginUrl('mesh', 'meshes', { run, tag: name }) : null);
  const steps = useMemo(() => stepsOf(meta.data ?? []), [meta.data]);
  const index = picked === null ? steps.length - 1 : Math.min(picked, steps.length - 1);
  const current: MeshStep | undefined = steps[index];
  const parsed = useMemo(() => parseConfig(current?.config ?? ''), [current?.config]);
  const stepKey = current
    ? `${sample}|${current.step}|${current.wallTime}|${current.hasFaces}|${current.hasColors}`
    : null;

  // The view exists while the card is mounted and has been on screen once; it holds a WebGL
  // context only while on screen (and while the shared pool of contexts lets it).
  useLayoutEffect(() => {
    const host = hostRef.current;
    if (!host || !visible || !webgl || viewerRef.current) return;
    try {
      const created = new MeshViewer(host);
      viewerRef.current = created;
      setViewer(created);
    } catch (e) {
      setError(`Could not start WebGL: ${e instanceof Error ? e.message : String(e)}`);
    }
  }, [visible, webgl]);
  useLayoutEffect(() => {
    if (!viewer) return undefined;
    viewer.onLost = setLost;
    return () => {
      viewer.onLost = null;
    };
  }, [viewer]);
  useLayoutEffect(() => viewer?.setOnScreen(visible), [viewer, visible]);
  useEffect(
    () => () => {
      viewerRef.current?.dispose();
      viewerRef.current = null;
    },
    [],
  );

  // The step's parts, fetched when the step (or its data) changes.
  useEffect(() => {
    if (!current || stepKey === null) return undefined;
    const controller = new AbortController();
    setPending(true);
    loadStep(api.client, run, name, sample, current, controller.signal)
      .then((result) => {
        setLoaded({ key: stepKey, ...result });
        setError(null);
        setPending(false);
      })
      .catch((e: unknown) => {
        if (controller.signal.aborted) return;
        setError(e instanceof Error ? e.message : String(e));
        setPending(false);
      });
    return () => controller.abort();
  }, [run, name, stepKey]);

  useEffect(() => {
    if (!viewer || !loaded) return;
    viewer.setScene(loaded.data, parsed.config, color, !fitted.current);
    if (!fitted.current && shared && bus.last) viewer.applyView(bus.last);
    fitted.current = true;
  }, [viewer, loaded, parsed, color]);

  useEffect(() => viewer?.requestRender(), [viewer, dark]);

  // Share viewpoint: publish this card's moves, follow the others'.
  useEffect(() => {
    if (!viewer) return undefined;
    if (!shared) {
      viewer.onViewChange = null;
      return undefined;
    }
    viewer.onViewChange = (view) => bus.publish(viewer, view);
    if (bus.last && fitted.current) viewer.applyView(bus.last);
    const unsubscribe = bus.subscribe(viewer, (view) => viewer.applyView(view));
    return () => {
      unsubscribe();
      viewer.onViewChange = null;
    };
  }, [viewer, shared, bus]);

  const resetView = () => {
    if (!viewer) return;
    viewer.resetView();
    if (shared) bus.publish(viewer, viewer.view());
  };

  let placeholder: string | null = null;
  if (!webgl) placeholder = null;
  else if (meta.error && !meta.data) placeholder = `Could not load this mesh: ${meta.error}`;
  else if (!meta.data) placeholder = 'Loading…';
  else if (!steps.length) placeholder = 'No step of this mesh has vertices.';
  else if (!loaded && error) placeholder = `Could not load step ${current?.step ?? ''}: ${error}`;
  else if (!loaded) placeholder = 'Loading…';

  return (
    <div
      class="card mesh-card"
      ref={cardRef}
      data-testid="mesh-card"
      data-run={run}
      data-tag={name}
      data-step={current?.step}
    >
      <div class="card__head">
        <div class="card__titles">
          <div class="card__title" title={name} data-testid="card-title">
            {name}
          </div>
          <div class="card__description mesh-card__run" title={run}>
            <span class="mesh-card__swatch" style={{ background: color }} />
            {run}
          </div>
        </div>
        <div class="card__actions">
          {samples > 1 ? (
            <select
              class="mesh-card__sample"
              aria-label="Sample"
              data-testid="mesh-sample"
              value={sample}
              onChange={(e) => setSample(Number(e.currentTarget.value))}
            >
              {Array.from({ length: samples }, (_, i) => (
                <option value={i}>sample {i + 1}</option>
              ))}
            </select>
          ) : null}
          <button
            type="button"
            class="button mesh-card__reset"
            data-testid="reset-view"
            disabled={!viewer || !loaded}
            onClick={resetView}
          >
            Reset view
          </button>
        </div>
      </div>
      <div
        class="mesh-view"
        data-testid="mesh-view"
        data-vertices={loaded?.vertices}
        data-faces={loaded?.faces}
        data-loaded-step={loaded && loaded.key === stepKey ? current?.step : undefined}
      >
        {/* three.js owns this element's children (the canvas); Preact never touches them. */}
        <div class="mesh-view__gl" ref={hostRef} data-testid="mesh-gl" />
        {!webgl ? (
          <div class="card__placeholder mesh-view__notice notice notice--error" data-testid="webgl-missing">
            This browser cannot draw 3D: WebGL is not available (or is turned off).
          </div>
        ) : placeholder ? (
          <div class="card__placeholder mesh-view__notice" data-testid="mesh-placeholder">
            {placeholder}
          </div>
        ) : lost ? (
          <div class="mesh-view__notice mesh-view__lost" data-testid="mesh-lost">
            <span>The 3D view lost its WebGL context.</span>
            <button type="button" class="button" onClick={() => viewer?.redraw()}>
              Redraw
            </button>
          </div>
        ) : null}
      </div>
      {steps.length ? (
        <StepSlider
          steps={steps.map((s) => s.step)}
          wallTimes={steps.map((s) => s.wallTime)}
          index={index}
          onChange={(i) => setPicked(i >= steps.length - 1 ? null : i)}
          testid="mesh-step"
        />
      ) : null}
      <div class="card__foot">
        <span data-testid="mesh-counts">
          {loaded
            ? `${loaded.vertices.toLocaleString()} vertices${
                loaded.faces ? ` · ${loaded.faces.toLocaleString()} faces` : ''
              }`
            : ''}
        </span>
        {loaded?.dropped ? (
          <span class="card__error" data-testid="mesh-dropped">
            {loaded.dropped} face{loaded.dropped === 1 ? '' : 's'} with bad vertex indices skipped
          </span>
        ) : null}
        {loaded?.colorsIgnored ? (
          <span class="card__error">colours ignored: not one per vertex</span>
        ) : null}
        {parsed.error ? <span class="card__error">{parsed.error}</span> : null}
        {error && loaded ? <span class="card__error">{error}</span> : null}
        {pending || meta.pending ? <span class="card__loading" role="status" aria-label="Loading" /> : null}
      </div>
    </div>
  );
}
