/**
 * The Embedding Projector: a run's embeddings (`projector_config.pbtxt`), projected with PCA,
 * t-SNE, UMAP or a custom axis pair, in 2D or 3D; coloured and labelled by metadata; searched,
 * selected, isolated, with nearest neighbours; bookmarks. Every row is used (TensorBoard samples).
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { useStore } from '../../core/store';
import { useJson } from '../../core/useJson';
import { LoadNotice, NoRunsSelected, Notice, useDashboardData } from '../../components/DashboardStates';
import { EmptyState } from '../../components/EmptyState';
import { bookmarkOf, loadBookmarks, saveBookmarks, serverBookmarks, type Bookmark } from './bookmarks';
import { Inspector } from './Inspector';
import { nearestNeighbors, spherize, type Distance } from './linalg';
import { colorScheme, pointColors, searchPoints, type ProjectorConfig } from './model';
import { DataPanel, ProjectionPanel } from './Panels';
import { ScatterCanvas } from './ScatterCanvas';
import { datasetFromFiles, useServerDataset, type Dataset } from './useDataset';
import { useProjection, type ProjectionParams } from './useProjection';

const EXAMPLE = `    ...
features, labels, images = model.embed(batch)   # [N, D], N labels, [N, C, H, W]
writer.add_embedding(features, metadata=labels, label_img=images, tag="mnist")`;

const DEFAULT_PARAMS: ProjectionParams = {
  method: 'pca',
  dims: 2,
  pcaAxes: [0, 1, 2],
  perplexity: 30,
  learningRate: 100,
  iterations: 1000,
  neighbors: 15,
  minDist: 0.1,
  epochs: 300,
  custom: [[[], []], [[], []]],
  runId: 0,
};

export function ProjectorDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const { loaded, allRuns, shown, loading, dataLocation } = useDashboardData(api);
  const dark = useStore(api.theme, (t) => t.dark);
  useStore(api.colors.store, (c) => c.version);

  const runsJson = useJson<string[]>(api, pluginUrl('projector', 'runs'));
  // Runs the shell knows follow its selection; the log directory itself (".") always shows.
  const runs = useMemo(() => (runsJson.data ?? []).filter((run) => shown.includes(run) || !allRuns.includes(run)), [runsJson.data, shown, allRuns]);
  const [pickedRun, setRun] = useState<string | null>(null);
  const run = pickedRun !== null && runs.includes(pickedRun) ? pickedRun : (runs[0] ?? null);
  const info = useJson<ProjectorConfig>(api, run ? pluginUrl('projector', 'info', { run }) : null);
  const embeddings = info.data?.embeddings ?? [];
  const [pickedTensor, setTensor] = useState<string | null>(null);
  const embedding = embeddings.find((e) => e.tensorName === pickedTensor) ?? embeddings[0] ?? null;

  const server = useServerDataset(api, run, embedding);
  const [uploaded, setUploaded] = useState<Dataset | null>(null);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const dataset = uploaded ?? server.data;

  const [spherized, setSpherize] = useState(false);
  const matrix = useMemo(() => (dataset ? (spherized ? spherize(dataset.matrix) : dataset.matrix) : null), [dataset, spherized]);
  const meta = dataset?.meta ?? null;
  const columns = meta?.columns ?? [];
  const [labelBy, setLabelBy] = useState(0);
  const [colorBy, setColorBy] = useState(0);
  const [useSprites, setUseSprites] = useState(true);
  const labelColumn = labelBy < columns.length ? labelBy : 0;
  const colorColumn = colorBy < columns.length ? colorBy : -1;

  const [params, setParams] = useState<ProjectionParams>(DEFAULT_PARAMS);
  const [customQueries, setCustomQueries] = useState(['', '', '', '']);
  const [selected, setSelected] = useState<number[]>([]);
  const [isolated, setIsolated] = useState<number[] | null>(null);
  const [query, setQuery] = useState('');
  const [regex, setRegex] = useState(false);
  const [searchColumn, setSearchColumn] = useState(0);
  const [distance, setDistance] = useState<Distance>('cosine');
  const [neighborCount, setNeighborCount] = useState(10);
  const [bookmarks, setBookmarks] = useState<Bookmark[]>([]);

  // A new data set starts with nothing selected or isolated.
  const datasetKey = dataset?.key ?? '';
  useEffect(() => {
    setSelected([]);
    setIsolated(null);
    setBookmarks(datasetKey ? loadBookmarks(datasetKey) : []);
  }, [datasetKey, dataset?.matrix.n]);
  // The config's bookmarks file, when there is one.
  const bookmarksUrl = !uploaded && run && embedding?.bookmarksPath ? pluginUrl('projector', 'bookmarks', { run, name: embedding.tensorName }) : null;
  const fromServer = useJson<unknown>(api, bookmarksUrl);
  const allBookmarks = useMemo(() => [...serverBookmarks(fromServer.data), ...bookmarks], [fromServer.data, bookmarks]);

  const labelOf = (i: number) => {
    const cell = meta?.rows[i]?.[labelColumn];
    return cell !== undefined && cell !== '' ? cell : `#${i}`;
  };
  const search = (text: string, column: number, asRegex: boolean): { found: number[]; error: string | null } => {
    if (!text || !dataset) return { found: [], error: null };
    try {
      if (meta) return { found: searchPoints(meta, column, text, asRegex), error: null };
      const ids = { columns: ['index'], rows: Array.from({ length: dataset.matrix.n }, (_, i) => [String(i)]) };
      return { found: searchPoints(ids, 0, text, asRegex), error: null };
    } catch (error) {
      return { found: [], error: `invalid regular expression: ${error instanceof Error ? error.message : String(error)}` };
    }
  };
  const { found: matches, error: searchError } = useMemo(
    () => search(query, searchColumn < columns.length ? searchColumn : 0, regex),
    [query, searchColumn, regex, dataset],
  );
  const customSides = useMemo(() => customQueries.map((q) => search(q, labelColumn, true).found), [customQueries, dataset, labelColumn]);
  const projectionParams = useMemo(
    () => ({ ...params, custom: [[customSides[0]!, customSides[1]!], [customSides[2]!, customSides[3]!]] as Array<[number[], number[]]> }),
    [params, customSides],
  );
  const projection = useProjection(matrix, projectionParams);
  const dims = params.method === 'custom' ? 2 : params.dims;

  const neighbors = useMemo(
    () => (dataset && selected.length === 1 ? nearestNeighbors(dataset.matrix, selected[0]!, neighborCount, distance) : []),
    [dataset, selected, neighborCount, distance],
  );
  const scheme = useMemo(() => (meta && colorColumn >= 0 ? colorScheme(meta, colorColumn) : null), [meta, colorColumn]);
  const runColor = run ? api.colors.get(run) : '#1f77b4';
  const colors = useMemo(
    () => (dataset ? pointColors(dataset.matrix.n, meta, colorColumn >= 0 ? colorColumn : null, scheme, runColor) : new Float32Array(0)),
    [dataset, meta, colorColumn, scheme, runColor],
  );
  const highlight = useMemo(() => {
    const indices = [...new Set([...selected, ...neighbors.map((n) => n.index), ...matches])];
    return { indices, ring: (dark ? [1, 1, 1] : [0.1, 0.1, 0.1]) as [number, number, number] };
  }, [selected, neighbors, matches, dark]);
  const labels = useMemo(
    () => [
      ...selected.slice(0, 50).map((index) => ({ index, text: labelOf(index), strong: true })),
      ...neighbors.map((n) => ({ index: n.index, text: labelOf(n.index), strong: false })),
      ...matches.slice(0, 50).map((index) => ({ index, text: labelOf(index), strong: false })),
    ],
    [selected, neighbors, matches, meta, labelColumn],
  );
  const categories = useMemo(() => {
    if (!meta || scheme?.kind !== 'categorical') return null;
    return meta.rows.map((row) => row[colorColumn] ?? '');
  }, [meta, scheme, colorColumn]);

  const onUpload = (vectors: File, metadata: File | null) => {
    setUploadError(null);
    datasetFromFiles(vectors, metadata)
      .then((loadedSet) => setUploaded(loadedSet))
      .catch((error: unknown) => setUploadError(error instanceof Error ? error.message : String(error)));
  };

  let body: JSX.Element;
  if (uploaded) {
    body = <></>;
  } else if (!runsJson.data || !loaded) {
    body = <LoadNotice error={runsJson.error} subject="the projector runs" loading="embeddings" errorTestid="projector-error" />;
  } else if (runsJson.data.length === 0) {
    body = (
      <EmptyState
        title="No embeddings yet"
        what="embeddings (projector_config.pbtxt)"
        example={EXAMPLE}
        dataLocation={dataLocation}
        loading={loading}
      />
    );
  } else if (runs.length === 0) {
    body = <NoRunsSelected api={api} lead="No selected run has embeddings." />;
  } else if (info.error && !info.data) {
    body = <Notice error testid="projector-error">Could not load the projector config of {run}: {info.error}</Notice>;
  } else if (!info.data) {
    body = <Notice>Loading the projector config…</Notice>;
  } else if (server.error) {
    body = <Notice error testid="projector-error">Could not load {embedding?.tensorName}: {server.error}</Notice>;
  } else if (!server.data) {
    body = <Notice testid="projector-loading">Loading {embedding?.tensorName ?? 'the embedding'}…</Notice>;
  } else {
    body = <></>;
  }
  const showing = dataset !== null && (uploaded !== null || (server.data !== null && !server.error));
  if (!showing && !uploaded && (runsJson.data?.length ?? 0) === 0 && runsJson.data) {
    return <div class="projector projector--empty">{body}</div>;
  }

  return (
    <div class="projector" data-testid="projector">
      <div class="projector__left">
        <DataPanel
          runs={runs}
          run={run}
          onRun={(r) => {
            setRun(r);
            setTensor(null);
          }}
          embeddings={embeddings}
          tensor={embedding?.tensorName ?? null}
          onTensor={setTensor}
          dataset={dataset}
          labelBy={labelColumn}
          onLabelBy={setLabelBy}
          colorBy={colorColumn}
          onColorBy={setColorBy}
          scheme={scheme}
          useSprites={useSprites}
          onUseSprites={setUseSprites}
          spherize={spherized}
          onSpherize={setSpherize}
          onUpload={onUpload}
          uploaded={uploaded !== null}
          onBackToServer={() => setUploaded(null)}
        />
        {uploadError ? <div class="notice notice--error" data-testid="projector-upload-error">Could not load the file: {uploadError}</div> : null}
        {dataset?.warning ? <div class="notice">{dataset.warning}</div> : null}
        <ProjectionPanel
          params={params}
          onParams={(next) => setParams((old) => ({ ...old, ...next }))}
          state={projection}
          dim={dataset?.matrix.dim ?? 0}
          columns={columns}
          customQueries={customQueries}
          onCustomQuery={(i, text) => setCustomQueries((old) => old.map((q, j) => (j === i ? text : q)))}
          customCounts={customSides.map((s) => s.length)}
        />
      </div>
      <div class="projector__main">
        {showing ? null : body}
        {info.error && info.data ? <div class="notice notice--error">Could not refresh the projector config: {info.error}</div> : null}
        <ScatterCanvas
          coords={showing ? projection.coords : null}
          dims={dims}
          fitKey={projection.fitKey}
          colors={colors}
          visible={isolated}
          highlight={highlight}
          labels={labels}
          sprites={useSprites ? (dataset?.sprites ?? null) : null}
          dark={dark}
          categories={categories}
          method={params.method}
          status={projection.status}
          labelOf={labelOf}
          onClick={(i) => setSelected(i === null ? [] : [i])}
          onBox={(indices) => setSelected(indices)}
        />
      </div>
      <Inspector
        columns={columns}
        searchColumn={searchColumn < columns.length ? searchColumn : 0}
        onSearchColumn={setSearchColumn}
        query={query}
        onQuery={setQuery}
        regex={regex}
        onRegex={setRegex}
        matches={matches}
        searchError={searchError}
        labelOf={labelOf}
        selected={selected}
        onSelect={setSelected}
        neighbors={neighbors}
        distance={distance}
        onDistance={setDistance}
        neighborCount={neighborCount}
        onNeighborCount={setNeighborCount}
        isolated={isolated !== null}
        onIsolate={() => setIsolated([...new Set([...selected, ...neighbors.map((n) => n.index)])])}
        onShowAll={() => setIsolated(null)}
        bookmarks={allBookmarks}
        onSaveBookmark={(name) => {
          const next = [...bookmarks, bookmarkOf(name, params, selected)];
          setBookmarks(next);
          saveBookmarks(datasetKey, next);
        }}
        onLoadBookmark={(b) => {
          setParams((old) => ({
            ...old,
            method: b.method,
            dims: b.dims,
            pcaAxes: b.pcaAxes,
            ...(b.perplexity ? { perplexity: b.perplexity } : {}),
            ...(b.learningRate ? { learningRate: b.learningRate } : {}),
            ...(b.neighbors ? { neighbors: b.neighbors } : {}),
            ...(b.minDist !== undefined ? { minDist: b.minDist } : {}),
          }));
          setSelected(b.selected.filter((i) => i < (dataset?.matrix.n ?? 0)));
        }}
        onDeleteBookmark={(b) => {
          const next = bookmarks.filter((x) => x !== b);
          setBookmarks(next);
          saveBookmarks(datasetKey, next);
        }}
      />
    </div>
  );
}
