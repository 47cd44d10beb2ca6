/**
 * The Graphs dashboard: pick a run, a tag and a graph kind (op graph, conceptual Keras graph,
 * profile), then explore the graph: metanodes by name scope (expand / collapse), search,
 * node info, trace inputs, colour by structure / device / compute time / memory, fit to
 * screen and PNG download. The layout runs in a worker (layout.ts).
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { useStore } from '../../core/store';
import { useJson } from '../../core/useJson';
import { LoadNotice, NoRunsSelected, Notice, useDashboardData } from '../../components/DashboardStates';
import { EmptyState } from '../../components/EmptyState';
import { centerTransform, GraphView, READABLE_PX, READABLE_ZOOM, readableFit, type Transform } from './GraphView';
import { Minimap } from './Minimap';
import { InfoPanel } from './InfoPanel';
import { elkGraph, LayoutWorker, type Layout } from './layout';
import {
  ancestorsOf,
  buildHierarchy,
  colorItems,
  DANGLING_SENTENCE,
  graphQuery,
  isAnswerTo,
  hasStat,
  kindsOf,
  parseId,
  searchNodes,
  structureSignatures,
  tagsOf,
  traceInputs,
  visibleGraph,
  type ColorBy,
  type GraphInfo,
  type GraphJson,
  type GraphKind,
  type Hierarchy,
  type Legend,
  type RunMetadataJson,
  type VisibleGraph,
} from './model';
import { saveBlob } from '../../core/download';
import { graphPng } from './png';

const EXAMPLE = `    if step == 0:
        writer.add_graph(model, torch.zeros(1, 8))   # model, an example input`;

const KIND_LABELS: Record<GraphKind, string> = { op: 'Op graph', conceptual: 'Conceptual graph', profile: 'Profile' };
const COLOR_LABELS: Record<ColorBy, string> = {
  none: 'None',
  structure: 'Structure',
  device: 'Device',
  compute: 'Compute time',
  memory: 'Memory',
};

interface Laid {
  hierarchy: Hierarchy;
  view: VisibleGraph;
  layout: Layout;
}

/** The most items (nodes and open groups) laid out at once. */
const MAX_LAYOUT_ITEMS = 1500;

/** What "N dangling inputs" means, said where it is shown. */
const DANGLING_TEXT = `Dangling inputs are ${DANGLING_SENTENCE}`;

export function GraphsDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const { loaded, shown, loading, dataLocation } = useDashboardData(api);
  useStore(api.colors.store, (c) => c.version);
  const info = useJson<GraphInfo>(api, pluginUrl('graphs', 'info'));

  // ---- what to show
  const runs = useMemo(() => shown.filter((run) => info.data?.[run] !== undefined), [shown, info.data]);
  const [run, setRun] = useState<string | null>(null);
  const activeRun = run !== null && runs.includes(run) ? run : (runs[0] ?? null);
  const runInfo = activeRun !== null ? info.data?.[activeRun] : undefined;
  const tags = tagsOf(runInfo);
  const [tag, setTag] = useState<string | null | undefined>(undefined);
  const activeTag = tag !== undefined && tags.includes(tag) ? tag : (tags[0] ?? null);
  const kinds = kindsOf(runInfo, activeTag);
  const [kind, setKind] = useState<GraphKind>('op');
  const activeKind = kinds.includes(kind) ? kind : (kinds[0] ?? null);
  const choice = runInfo && activeKind ? graphQuery(runInfo, activeTag, activeKind) : null;
  const graph = useJson<GraphJson>(api, choice ? pluginUrl('graphs', 'graph_json', choice.query) : null);
  // useJson keeps the last answer while the next loads (or fails): only the graph of the
  // current choice is drawn, never the previous run's under the new run's name.
  const current = graph.data && choice && isAnswerTo(graph.data, choice.query) ? graph.data : null;
  const statsUrl =
    choice?.statsTag != null && activeRun !== null
      ? pluginUrl('graphs', 'run_metadata_json', { run: activeRun, tag: choice.statsTag })
      : null;
  const statsJson = useJson<RunMetadataJson>(api, statsUrl);
  const stats =
    statsUrl !== null && statsJson.data?.run === activeRun && statsJson.data.tag === choice?.statsTag
      ? statsJson.data
      : null;

  // ---- the graph and what is open
  const key = current?.key ?? null;
  const hierarchy = useMemo(() => (current ? buildHierarchy(current.nodes) : null), [key]);
  // Expanded metanodes and the selection belong to one graph (its key): a new graph starts
  // afresh, with a lone top-level metanode open.
  const defaultExpanded = useMemo(() => (hierarchy ? openSingleChain(hierarchy) : new Set<number>()), [hierarchy]);
  const [expandedState, setExpandedState] = useState<{ key: string | null; groups: ReadonlySet<number> }>({
    key: null,
    groups: new Set(),
  });
  const expanded = expandedState.key === key ? expandedState.groups : defaultExpanded;
  const setExpanded = (update: (old: ReadonlySet<number>) => ReadonlySet<number>) =>
    setExpandedState((state) => ({ key, groups: update(state.key === key ? state.groups : defaultExpanded) }));
  const [selection, setSelection] = useState<{ key: string | null; id: string | null }>({ key: null, id: null });
  const selected = selection.key === key ? selection.id : null;
  const setSelected = (id: string | null) => setSelection({ key, id });
  const [search, setSearch] = useState('');
  const [searchOpen, setSearchOpen] = useState(false);
  const [trace, setTrace] = useState(false);
  const [colorBy, setColorBy] = useState<ColorBy>('structure');
  const [transform, setTransform] = useState<Transform>({ x: 0, y: 0, k: 1 });
  const [laid, setLaid] = useState<Laid | null>(null);
  const [laying, setLaying] = useState(false);
  const [layoutError, setLayoutError] = useState<string | null>(null);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const svgRef = useRef<SVGSVGElement | null>(null);
  const sizeRef = useRef({ width: 800, height: 600 });
  const [viewSize, setViewSize] = useState({ width: 800, height: 600 });
  // Set when "fit" had to stop at a readable zoom: the graph is bigger than the screen.
  const [fitClamped, setFitClamped] = useState(false);
  const [danglingOpen, setDanglingOpen] = useState(false);
  // The first layout is ready before the view is drawn: its fit waits for the view's real size
  // (else it fits an assumed 800×600, and on a phone the graph lands off screen).
  const fitPending = useRef<Layout | null>(null);
  const transformRef = useRef(transform);
  transformRef.current = transform;
  // What to do with the next layout: fit it, centre an item, or keep an item where it was.
  const intent = useRef<{ fit: boolean; focus: string | null; anchor: { id: string; x: number; y: number } | null }>({
    fit: true,
    focus: null,
    anchor: null,
  });
  const workerRef = useRef<LayoutWorker | null>(null);
  useEffect(() => () => workerRef.current?.dispose(), []);

  useEffect(() => {
    intent.current = { fit: true, focus: null, anchor: null };
  }, [key]);

  const view = useMemo(() => (hierarchy ? visibleGraph(hierarchy, expanded) : null), [hierarchy, expanded]);

  useEffect(() => {
    if (!hierarchy || !view) {
      setLaid(null);
      return undefined;
    }
    if (view.size > MAX_LAYOUT_ITEMS) {
      // Past this, a layered layout takes minutes: say so rather than spin.
      setLaying(false);
      setLayoutError(
        `${view.size.toLocaleString()} nodes are open, more than the ${MAX_LAYOUT_ITEMS.toLocaleString()} that can be laid out: collapse a group, or find nodes with Search`,
      );
      return undefined;
    }
    let live = true;
    setLaying(true);
    workerRef.current ??= new LayoutWorker();
    workerRef.current
      .layout(elkGraph(hierarchy, view))
      .then((layout) => {
        if (!live) return;
        applyIntent(layout);
        setLaid({ hierarchy, view, layout });
        setLaying(false);
        setLayoutError(null);
      })
      .catch((error: unknown) => {
        if (!live) return;
        const message = error instanceof Error ? error.message : String(error);
        if (message === 'superseded') return;
        setLaying(false);
        setLayoutError(message);
      });
    return () => {
      live = false;
    };
  }, [hierarchy, view]);

  function applyIntent(layout: Layout): void {
    const { width, height } = sizeRef.current;
    const { fit, focus, anchor } = intent.current;
    intent.current = { fit: false, focus: null, anchor: null };
    const focusBox = focus !== null ? layout.nodes.get(focus) : undefined;
    if (focusBox) {
      setTransform(centerTransform(focusBox, width, height, Math.min(1.5, Math.max(0.8, transformRef.current.k))));
    } else if (fit && !svgRef.current) {
      fitPending.current = layout;
    } else if (fit) {
      const fitted = readableFit({ x: 0, y: 0, width: layout.width, height: layout.height }, width, height);
      setTransform(fitted.transform);
      setFitClamped(fitted.clamped);
    } else if (anchor) {
      const box = layout.nodes.get(anchor.id);
      const t = transformRef.current;
      if (box) setTransform({ k: t.k, x: anchor.x - box.x * t.k, y: anchor.y - box.y * t.k });
    }
  }

  const fit = () => {
    if (!laid) return;
    const fitted = readableFit(
      { x: 0, y: 0, width: laid.layout.width, height: laid.layout.height },
      sizeRef.current.width,
      sizeRef.current.height,
    );
    setTransform(fitted.transform);
    setFitClamped(fitted.clamped);
  };

  const toggle = (g: number) => {
    const id = `g${g}`;
    const box = laid?.layout.nodes.get(id);
    const t = transformRef.current;
    intent.current = { fit: false, focus: null, anchor: box ? { id, x: t.x + box.x * t.k, y: t.y + box.y * t.k } : null };
    setExpanded((old) => {
      const next = new Set(old);
      if (next.has(g)) next.delete(g);
      else next.add(g);
      return next;
    });
  };

  /** Select `id`, opening its metanodes, and centre it once it is drawn. */
  const reveal = (id: string) => {
    if (!hierarchy) return;
    setSelected(id);
    const missing = ancestorsOf(hierarchy, id).filter((g) => !expanded.has(g));
    const box = laid?.layout.nodes.get(id);
    if (missing.length === 0 && box) {
      const { width, height } = sizeRef.current;
      setTransform(centerTransform(box, width, height, Math.min(1.5, Math.max(0.8, transformRef.current.k))));
      return;
    }
    intent.current = { fit: false, focus: id, anchor: null };
    if (missing.length) setExpanded((old) => new Set([...old, ...missing]));
  };

  const hits = useMemo(() => (hierarchy ? searchNodes(hierarchy, search) : null), [hierarchy, search]);
  const signatures = useMemo(
    () => (hierarchy && colorBy === 'structure' ? structureSignatures(hierarchy) : null),
    [hierarchy, colorBy],
  );
  const canCompute = hasStat(stats, 'compute');
  const canMemory = hasStat(stats, 'memory');
  const activeColor: ColorBy =
    (colorBy === 'compute' && !canCompute) || (colorBy === 'memory' && !canMemory) ? 'none' : colorBy;
  const coloring = useMemo(
    () => (laid ? colorItems(laid.hierarchy, laid.view, activeColor, stats, signatures) : null),
    [laid, activeColor, stats, signatures],
  );
  const selectedShown = selected !== null && laid?.layout.nodes.has(selected) ? selected : null;
  const traced = useMemo(
    () => (trace && laid && selectedShown ? traceInputs(laid.hierarchy, laid.view, selectedShown) : null),
    [trace, laid, selectedShown],
  );

  // When a profile is asked for, colour by compute time (or memory) once stats are there.
  useEffect(() => {
    if (activeKind === 'profile') setColorBy(canCompute ? 'compute' : canMemory ? 'memory' : 'structure');
  }, [activeKind, canCompute, canMemory]);

  const download = () => {
    const svg = svgRef.current;
    if (!svg || !laid) return;
    const background = getComputedStyle(svg).getPropertyValue('--panel').trim() || '#ffffff';
    setDownloadError(null);
    graphPng(svg, { x: 0, y: 0, width: laid.layout.width, height: laid.layout.height }, background)
      .then((blob) => saveBlob(blob, `${(activeRun ?? 'graph').replace(/[^\w.-]+/g, '_')}-graph.png`))
      .catch((error: unknown) => setDownloadError(error instanceof Error ? error.message : String(error)));
  };

  // ---- states before a graph
  let body: JSX.Element | null = null;
  if (info.data === null || !loaded) {
    body = <LoadNotice error={info.error} subject="the graphs" loading="graphs" loadingTestid="graph-loading" />;
  } else if (Object.keys(info.data).length === 0) {
    body = (
      <EmptyState title="No graphs yet" what="graphs" example={EXAMPLE} dataLocation={dataLocation} loading={loading} />
    );
  } else if (shown.length === 0) {
    body = <NoRunsSelected api={api} />;
  } else if (runs.length === 0) {
    body = <Notice testid="no-graph-in-runs">None of the selected runs has a graph.</Notice>;
  } else if (graph.error && !current) {
    body = (
      <Notice error testid="graph-error">
        Could not load the graph: {graph.error}
      </Notice>
    );
  } else if (!current || !laid || laid.hierarchy !== hierarchy) {
    body = layoutError ? (
      <Notice error testid="graph-error">
        Could not lay out the graph: {layoutError}
      </Notice>
    ) : (
      <Notice testid="graph-loading">
        {current ? `Laying out ${view?.size ?? 0} nodes…` : 'Loading the graph…'}
      </Notice>
    );
  }

  const runColor = activeRun !== null ? api.colors.get(activeRun) : undefined;
  return (
    <div class="graphs" data-testid="graphs-dashboard">
      <div class="toolbar graphs__toolbar">
        <label class="graphs__field">
          <span class="graphs__swatch" style={{ background: runColor ?? 'transparent' }} />
          Run
          <select
            data-testid="graph-run"
            value={activeRun ?? ''}
            disabled={runs.length === 0}
            onChange={(e) => {
              setRun(e.currentTarget.value);
              setTag(undefined);
            }}
          >
            {runs.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label class="graphs__field">
          Tag
          <select
            data-testid="graph-tag"
            value={activeTag ?? ''}
            disabled={tags.length === 0}
            onChange={(e) => {
              const value = e.currentTarget.value;
              setTag(value === '' ? null : value);
            }}
          >
            {tags.map((t) => (
              <option key={t ?? ''} value={t ?? ''}>
                {t ?? 'Default (run graph)'}
              </option>
            ))}
          </select>
        </label>
        <div class="graphs__kinds" role="radiogroup" aria-label="Graph type" data-testid="graph-kinds">
          {(['op', 'conceptual', 'profile'] as const).map((k) => (
            <button
              type="button"
              key={k}
              role="radio"
              aria-checked={activeKind === k}
              class={activeKind === k ? 'button button--on' : 'button'}
              disabled={!kinds.includes(k)}
              data-testid={`graph-kind-${k}`}
              onClick={() => setKind(k)}
            >
              {KIND_LABELS[k]}
            </button>
          ))}
        </div>
        <div class="graphs__search">
          <input
            type="search"
            placeholder="Search nodes (regex)"
            aria-label="Search nodes (regex)"
            data-testid="graph-search"
            value={search}
            class={hits?.error ? 'graphs__search-input--invalid' : undefined}
            onInput={(e) => {
              setSearch(e.currentTarget.value);
              setSearchOpen(true);
            }}
            onFocus={() => setSearchOpen(true)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') setSearchOpen(false);
              if (e.key === 'Enter' && hits?.hits[0]) {
                reveal(hits.hits[0].id);
                setSearchOpen(false);
              }
            }}
          />
          {searchOpen && search && hits ? (
            <div class="graphs__hits" data-testid="graph-search-results">
              {hits.error ? (
                <div class="graphs__hits-note">Invalid regex: {hits.error}</div>
              ) : hits.total === 0 ? (
                <div class="graphs__hits-note">No node matches.</div>
              ) : (
                <>
                  {hits.hits.map((hit) => (
                    <button
                      type="button"
                      key={hit.id}
                      class="graphs__hit"
                      data-testid="graph-search-hit"
                      title={hit.name}
                      onMouseDown={(e) => e.preventDefault()}
                      onClick={() => {
                        reveal(hit.id);
                        setSearchOpen(false);
                      }}
                    >
                      <span class="graphs__hit-kind">{hit.kind === 'group' ? '▣' : '○'}</span>
                      {hit.name}
                    </button>
                  ))}
                  {hits.total > hits.hits.length ? (
                    <div class="graphs__hits-note">and {hits.total - hits.hits.length} more</div>
                  ) : null}
                </>
              )}
            </div>
          ) : null}
        </div>
        <button type="button" class="button" data-testid="graph-fit" onClick={fit} disabled={!laid}>
          Fit to screen
        </button>
        <label class="graphs__check" title="Highlight the selected node's inputs, all the way back">
          <input type="checkbox" checked={trace} data-testid="graph-trace" onChange={(e) => setTrace(e.currentTarget.checked)} />
          Trace inputs
        </label>
        <label class="graphs__field">
          Color by
          <select data-testid="graph-color" value={activeColor} onChange={(e) => setColorBy(e.currentTarget.value as ColorBy)}>
            {(Object.keys(COLOR_LABELS) as ColorBy[]).map((c) => (
              <option
                key={c}
                value={c}
                disabled={(c === 'compute' && !canCompute) || (c === 'memory' && !canMemory)}
              >
                {COLOR_LABELS[c]}
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="button" data-testid="graph-download" onClick={download} disabled={!laid}>
          Download PNG
        </button>
      </div>
      {downloadError ? (
        <Notice error testid="graph-download-error">
          Could not make the PNG: {downloadError}
        </Notice>
      ) : null}
      {body ?? (
        <div class="graphs__main">
          <div class="graphs__canvas">
            <GraphView
              hierarchy={laid!.hierarchy}
              view={laid!.view}
              layout={laid!.layout}
              transform={transform}
              onTransform={setTransform}
              selected={selectedShown}
              onSelect={setSelected}
              onToggle={toggle}
              fills={coloring?.fill ?? new Map()}
              traced={traced}
              svgRef={svgRef}
              onSize={(size) => {
                sizeRef.current = size;
                setViewSize(size);
                const pending = fitPending.current;
                fitPending.current = null;
                if (pending && size.width > 0) {
                  const fitted = readableFit({ x: 0, y: 0, width: pending.width, height: pending.height }, size.width, size.height);
                  setTransform(fitted.transform);
                  setFitClamped(fitted.clamped);
                }
              }}
            />
            {transform.k < READABLE_ZOOM ? (
              <div class="graphs__note" data-testid="graph-labels-hidden">
                Labels hidden below {READABLE_PX} px: zoom in or Fit to screen to read them
              </div>
            ) : fitClamped ? (
              <div class="graphs__note" data-testid="graph-fit-note">
                Zoomed to keep labels readable: drag or use the minimap to see the rest
              </div>
            ) : null}
            <Minimap layout={laid!.layout} transform={transform} view={viewSize} onTransform={setTransform} />
            {coloring?.legend ? <LegendBox legend={coloring.legend} /> : null}
            <div class="graphs__status">
              {laying ? (
                <span data-testid="graph-layout-pending">Laying out…</span>
              ) : (
                <span data-testid="graph-layout-done" data-items={laid!.view.size}>
                  {laid!.hierarchy.nodes.length} nodes · {laid!.view.size} shown
                </span>
              )}
              {laid!.view.constants > 0 ? (
                <span data-testid="graph-constants" data-count={laid!.view.constants} title="torch prim::Constant nodes are folded into the node that takes them; their values are listed in its info">
                  {' '}
                  · {laid!.view.constants} constants folded
                </span>
              ) : null}
              {current && current.dangling > 0 ? (
                <>
                  {' · '}
                  <button
                    type="button"
                    class="graphs__dangling"
                    data-testid="graph-dangling"
                    aria-expanded={danglingOpen}
                    title={DANGLING_TEXT}
                    onClick={() => setDanglingOpen((open) => !open)}
                  >
                    {current.dangling} dangling inputs
                  </button>
                  {danglingOpen ? (
                    <div class="graphs__dangling-note" data-testid="graph-dangling-note">
                      {DANGLING_TEXT}
                    </div>
                  ) : null}
                </>
              ) : null}
              {layoutError ? <span class="graphs__status-error"> · layout failed: {layoutError}</span> : null}
            </div>
          </div>
          {selected !== null && hierarchy && view && parseId(selected).index >= 0 ? (
            <InfoPanel
              hierarchy={hierarchy}
              view={view}
              id={selected}
              stats={stats}
              dangling={current?.dangling ?? 0}
              onSelect={reveal}
              onClose={() => setSelected(null)}
            />
          ) : null}
        </div>
      )}
    </div>
  );
}

/** A graph whose top level is one metanode (a Keras model, one torch module) opens it. */
function openSingleChain(h: Hierarchy): Set<number> {
  const open = new Set<number>();
  let g = 0;
  while (h.groups[g]!.leaves.length === 0 && h.groups[g]!.groups.length === 1) {
    g = h.groups[g]!.groups[0]!;
    open.add(g);
  }
  return open;
}

function LegendBox({ legend }: { legend: Legend }): JSX.Element {
  return (
    <div class="graphs__legend" data-testid="graph-legend">
      <div class="graphs__legend-title">{legend.title}</div>
      {legend.kind === 'ramp' ? (
        <div class="graphs__ramp">
          <span>{legend.min}</span>
          <span class="graphs__ramp-bar" />
          <span>{legend.max}</span>
        </div>
      ) : legend.swatches.length === 0 ? (
        <div class="graphs__legend-note">No two metanodes share a structure here.</div>
      ) : (
        legend.swatches.map((s) => (
          <div key={s.label} class="graphs__legend-row">
            <span class="graphs__legend-swatch" style={{ background: s.color }} />
            {s.label}
          </div>
        ))
      )}
    </div>
  );
}
