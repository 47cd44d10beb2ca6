/** The projector's left-hand panels: Data (what is shown, how it is coloured) and Projections. */
import type { JSX } from 'preact';

import type { ColorScheme, EmbeddingInfo } from './model';
import type { Dataset } from './useDataset';
import type { Method, ProjectionParams, ProjectionState } from './useProjection';
import { DraftInput } from '../../components/DraftInput';

export interface DataPanelProps {
  runs: string[];
  run: string | null;
  onRun(run: string): void;
  embeddings: EmbeddingInfo[];
  tensor: string | null;
  onTensor(name: string): void;
  dataset: Dataset | null;
  labelBy: number;
  onLabelBy(column: number): void;
  colorBy: number;
  onColorBy(column: number): void;
  scheme: ColorScheme | null;
  useSprites: boolean;
  onUseSprites(on: boolean): void;
  spherize: boolean;
  onSpherize(on: boolean): void;
  onUpload(vectors: File, metadata: File | null): void;
  uploaded: boolean;
  onBackToServer(): void;
}

export function DataPanel(props: DataPanelProps): JSX.Element {
  const { dataset, scheme } = props;
  const columns = dataset?.meta?.columns ?? [];
  let vectorsInput: HTMLInputElement | null = null;
  let metaInput: HTMLInputElement | null = null;
  const upload = () => {
    const vectors = vectorsInput?.files?.[0];
    if (vectors) props.onUpload(vectors, metaInput?.files?.[0] ?? null);
  };
  return (
    <section class="projector__panel" data-testid="projector-data">
      <h3>Data</h3>
      {props.uploaded ? (
        <p class="projector__row">
          Showing a file from your computer.{' '}
          <button type="button" class="link-button" onClick={props.onBackToServer}>
            Back to the log directory
          </button>
        </p>
      ) : (
        <>
          <label class="projector__field">
            <span>Run</span>
            <select data-testid="projector-run" value={props.run ?? ''} onChange={(e) => props.onRun(e.currentTarget.value)}>
              {props.runs.map((run) => (
                <option key={run} value={run}>
                  {run}
                </option>
              ))}
            </select>
          </label>
          <label class="projector__field">
            <span>Tensor</span>
            <select data-testid="projector-tensor" value={props.tensor ?? ''} onChange={(e) => props.onTensor(e.currentTarget.value)}>
              {props.embeddings.map((e) => (
                <option key={e.tensorName} value={e.tensorName}>
                  {e.tensorName}
                  {e.tensorShape?.length === 2 ? ` (${e.tensorShape[0]}×${e.tensorShape[1]})` : ''}
                </option>
              ))}
            </select>
          </label>
        </>
      )}
      {dataset ? (
        <p class="projector__meta" data-testid="projector-shape">
          {dataset.matrix.n.toLocaleString()} points × {dataset.matrix.dim} dimensions
        </p>
      ) : null}
      {columns.length ? (
        <>
          <label class="projector__field">
            <span>Label by</span>
            <select data-testid="projector-label-by" value={String(props.labelBy)} onChange={(e) => props.onLabelBy(Number(e.currentTarget.value))}>
              {columns.map((c, i) => (
                <option key={c + i} value={String(i)}>
                  {c}
                </option>
              ))}
            </select>
          </label>
          <label class="projector__field">
            <span>Color by</span>
            <select data-testid="projector-color-by" value={String(props.colorBy)} onChange={(e) => props.onColorBy(Number(e.currentTarget.value))}>
              <option value="-1">No colour map</option>
              {columns.map((c, i) => (
                <option key={c + i} value={String(i)}>
                  {c}
                </option>
              ))}
            </select>
          </label>
          {scheme?.kind === 'categorical' ? (
            <ul class="projector__legend" data-testid="projector-legend">
              {scheme.legend.map((item) => (
                <li key={item.value}>
                  <span class="projector__swatch" style={{ background: item.color }} />
                  {item.value || '(empty)'} <span class="projector__muted">{item.count}</span>
                </li>
              ))}
            </ul>
          ) : scheme?.kind === 'gradient' ? (
            <div class="projector__gradient" data-testid="projector-legend">
              <span>{scheme.min}</span>
              <span class="projector__ramp" />
              <span>{scheme.max}</span>
            </div>
          ) : scheme?.kind === 'none' ? (
            <p class="projector__muted">Not coloured: {scheme.reason}.</p>
          ) : null}
        </>
      ) : null}
      {dataset?.sprites ? (
        <label class="projector__check">
          <input type="checkbox" data-testid="projector-sprites" checked={props.useSprites} onChange={(e) => props.onUseSprites(e.currentTarget.checked)} />
          Show sprite thumbnails
        </label>
      ) : null}
      <label class="projector__check">
        <input type="checkbox" data-testid="projector-spherize" checked={props.spherize} onChange={(e) => props.onSpherize(e.currentTarget.checked)} />
        Spherize data
      </label>
      <details class="projector__upload">
        <summary>Load data from your computer</summary>
        <label class="projector__field">
          <span>Vectors (TSV)</span>
          <input type="file" accept=".tsv,.txt,text/tab-separated-values" data-testid="projector-upload-vectors" ref={(el) => {
              vectorsInput = el;
            }} />
        </label>
        <label class="projector__field">
          <span>Metadata (TSV, optional)</span>
          <input type="file" accept=".tsv,.txt,text/tab-separated-values" data-testid="projector-upload-metadata" ref={(el) => {
              metaInput = el;
            }} />
        </label>
        <button type="button" class="button" data-testid="projector-upload" onClick={upload}>
          Load
        </button>
        <p class="projector__muted">Parsed in the browser; nothing is sent to the server.</p>
      </details>
    </section>
  );
}

export interface ProjectionPanelProps {
  params: ProjectionParams;
  onParams(next: Partial<ProjectionParams>): void;
  state: ProjectionState & { pause(): void; resume(): void };
  dim: number;
  columns: string[];
  customQueries: string[];
  onCustomQuery(index: number, text: string): void;
  customCounts: number[];
}

const METHODS: Array<[Method, string]> = [
  ['umap', 'UMAP'],
  ['tsne', 't-SNE'],
  ['pca', 'PCA'],
  ['custom', 'Custom'],
];

function NumberField({ label, value, min, max, step, testid, onChange }: { label: string; value: number; min: number; max: number; step: number; testid: string; onChange(v: number): void }): JSX.Element {
  return (
    <label class="projector__field">
      <span>
        {label} <b>{value}</b>
      </span>
      <input
        type="range"
        min={min}
        max={max}
        step={step}
        value={value}
        data-testid={testid}
        onChange={(e) => {
          const v = Number(e.currentTarget.value);
          if (Number.isFinite(v)) onChange(v);
        }}
      />
    </label>
  );
}

export function ProjectionPanel(props: ProjectionPanelProps): JSX.Element {
  const { params, state } = props;
  const axisOptions = Array.from({ length: Math.min(10, props.dim) }, (_, i) => i);
  const progress = state.total ? `${state.iteration} / ${state.total}` : '';
  return (
    <section class="projector__panel" data-testid="projector-projections">
      <h3>Projection</h3>
      <div class="projector__tabs" role="tablist">
        {METHODS.map(([method, label]) => (
          <button
            key={method}
            type="button"
            role="tab"
            aria-selected={params.method === method}
            class={`button ${params.method === method ? 'button--on' : ''}`}
            data-testid={`projector-method-${method}`}
            onClick={() => props.onParams({ method })}
          >
            {label}
          </button>
        ))}
      </div>
      {params.method !== 'custom' ? (
        <div class="projector__tabs" role="group" aria-label="Dimensions">
          {([2, 3] as const).map((d) => (
            <button
              key={d}
              type="button"
              class={`button ${params.dims === d ? 'button--on' : ''}`}
              aria-pressed={params.dims === d}
              data-testid={`projector-dims-${d}`}
              onClick={() => props.onParams({ dims: d })}
            >
              {d}D
            </button>
          ))}
        </div>
      ) : null}
      {params.method === 'pca' ? (
        <div data-testid="projector-pca">
          {(['X', 'Y', 'Z'] as const).slice(0, params.dims).map((axis, a) => (
            <label class="projector__field" key={axis}>
              <span>{axis}</span>
              <select
                data-testid={`projector-pca-${axis.toLowerCase()}`}
                value={String(params.pcaAxes[a])}
                onChange={(e) => {
                  const axes = [...params.pcaAxes] as [number, number, number];
                  axes[a] = Number(e.currentTarget.value);
                  props.onParams({ pcaAxes: axes });
                }}
              >
                {axisOptions.map((c) => (
                  <option key={c} value={String(c)}>
                    Component #{c + 1}
                    {state.varianceRatio[c] !== undefined ? ` (${(state.varianceRatio[c] * 100).toFixed(1)}%)` : ''}
                  </option>
                ))}
              </select>
            </label>
          ))}
          {state.varianceRatio.length ? (
            <p class="projector__meta" data-testid="projector-variance">
              Total variance described:{' '}
              {(params.pcaAxes.slice(0, params.dims).reduce((s, c) => s + (state.varianceRatio[c] ?? 0), 0) * 100).toFixed(1)}%
            </p>
          ) : null}
        </div>
      ) : null}
      {params.method === 'tsne' ? (
        <div data-testid="projector-tsne">
          <NumberField label="Perplexity" value={params.perplexity} min={2} max={100} step={1} testid="projector-perplexity" onChange={(v) => props.onParams({ perplexity: v })} />
          <NumberField label="Learning rate" value={params.learningRate} min={1} max={1000} step={1} testid="projector-learning-rate" onChange={(v) => props.onParams({ learningRate: v })} />
          <NumberField label="Iterations" value={params.iterations} min={50} max={5000} step={50} testid="projector-iterations" onChange={(v) => props.onParams({ iterations: v })} />
        </div>
      ) : null}
      {params.method === 'umap' ? (
        <div data-testid="projector-umap">
          <NumberField label="Neighbours" value={params.neighbors} min={2} max={100} step={1} testid="projector-neighbors" onChange={(v) => props.onParams({ neighbors: v })} />
          <NumberField label="Min dist" value={params.minDist} min={0} max={0.99} step={0.01} testid="projector-min-dist" onChange={(v) => props.onParams({ minDist: v })} />
          <NumberField label="Epochs" value={params.epochs} min={20} max={1000} step={10} testid="projector-epochs" onChange={(v) => props.onParams({ epochs: v })} />
        </div>
      ) : null}
      {params.method === 'custom' ? (
        <div data-testid="projector-custom">
          <p class="projector__muted">
            Each axis runs from the centroid of the points the first search matches (regex, over{' '}
            {props.columns.length ? 'the label column' : 'the point index'}) to those the second matches.
          </p>
          {(['X from', 'X to', 'Y from', 'Y to'] as const).map((label, i) => (
            <label class="projector__field" key={label}>
              <span>
                {label} <span class="projector__muted">({props.customCounts[i] ?? 0} points)</span>
              </span>
              <DraftInput
                data-testid={`projector-custom-${i}`}
                value={props.customQueries[i] ?? ''}
                onCommit={(text) => props.onCustomQuery(i, text)}
              />
            </label>
          ))}
        </div>
      ) : null}
      {params.method === 'tsne' || params.method === 'umap' ? (
        <div class="projector__tabs">
          {params.method === 'tsne' && state.status === 'running' ? (
            <button type="button" class="button" data-testid="projector-pause" onClick={state.pause}>
              Pause
            </button>
          ) : null}
          {params.method === 'tsne' && state.status === 'paused' ? (
            <button type="button" class="button" data-testid="projector-resume" onClick={state.resume}>
              Resume
            </button>
          ) : null}
          <button type="button" class="button" data-testid="projector-rerun" onClick={() => props.onParams({ runId: params.runId + 1 })}>
            Re-run
          </button>
        </div>
      ) : null}
      <p class="projector__meta" data-testid="projector-status" data-status={state.status}>
        {state.status === 'running' ? `${state.stage || (params.method === 'umap' ? 'Epoch' : 'Iteration')} ${progress}` : null}
        {state.status === 'paused' ? `Paused at ${progress}` : null}
        {state.status === 'done' && progress ? `Done: ${progress}` : null}
      </p>
      {state.error ? <div class="notice notice--error">The projection failed: {state.error}</div> : null}
    </section>
  );
}
