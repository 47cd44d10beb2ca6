/**
 * The projection of the data set shown, as `n × 3` coordinates (z = 0 in 2D): PCA, t-SNE and
 * UMAP run in a worker (t-SNE and UMAP stream their coordinates while they iterate), the custom
 * projection on the main thread (two dot products per point).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';

import { customProjection, type Matrix } from './linalg';
import { startWorker, type WorkerReply, type WorkerRequest } from './workerProtocol';

export type Method = 'pca' | 'tsne' | 'umap' | 'custom';

export interface ProjectionParams {
  method: Method;
  dims: 2 | 3;
  /** PCA components for x, y, z (0-based). */
  pcaAxes: [number, number, number];
  perplexity: number;
  learningRate: number;
  iterations: number;
  neighbors: number;
  minDist: number;
  /** UMAP's optimisation epochs. */
  epochs: number;
  /** Custom: the point indices each side of each axis matches ([x from, x to], [y from, y to]). */
  custom: Array<[number[], number[]]>;
  /** Bumped by "Re-run". */
  runId: number;
}

export interface ProjectionState {
  coords: Float32Array | null;
  status: 'idle' | 'running' | 'paused' | 'done' | 'error';
  stage: string;
  iteration: number;
  total: number;
  varianceRatio: number[];
  error: string | null;
  /** Bumped when a new projection (not a new iteration) starts: the view refits. */
  fitKey: number;
}

const PCA_COMPONENTS = 10;

export function useProjection(matrix: Matrix | null, params: ProjectionParams): ProjectionState & { pause(): void; resume(): void } {
  const [state, setState] = useState<ProjectionState>({
    coords: null, status: 'idle', stage: '', iteration: 0, total: 0, varianceRatio: [], error: null, fitKey: 0,
  });
  const worker = useRef<Worker | null>(null);
  const pcaCache = useRef<{ matrix: Matrix; coords: Float32Array; components: number; varianceRatio: number[] } | null>(null);

  const stop = () => {
    worker.current?.terminate();
    worker.current = null;
  };
  useEffect(() => stop, []);

  const { method, dims } = params;
  const jobKey =
    method === 'tsne' ? `tsne:${dims}:${params.perplexity}:${params.learningRate}:${params.iterations}:${params.runId}`
    : method === 'umap' ? `umap:${dims}:${params.neighbors}:${params.minDist}:${params.epochs}:${params.runId}`
    : method === 'pca' ? 'pca'
    : 'custom';

  // A new data set: nothing of the old one's picture stays while the new one is computed.
  const shownMatrix = useRef<Matrix | null>(null);
  if (shownMatrix.current !== matrix) {
    shownMatrix.current = matrix;
    if (state.coords !== null && (!matrix || state.coords.length !== matrix.n * 3)) {
      setState((old) => ({ ...old, coords: null, varianceRatio: [] }));
    }
  }

  // PCA, t-SNE, UMAP: a worker job per data set and parameter set.
  useEffect(() => {
    stop();
    if (!matrix || method === 'custom') return;
    if (method === 'pca' && pcaCache.current?.matrix === matrix) {
      const cached = pcaCache.current;
      setState((old) => ({ ...old, coords: pickAxes(cached.coords, cached.components, matrix.n, params.pcaAxes, dims), status: 'done', varianceRatio: cached.varianceRatio, error: null, fitKey: old.fitKey + 1 }));
      return;
    }
    const values = matrix.values.slice(); // the worker takes its own copy
    const base = { n: matrix.n, dim: matrix.dim, values };
    const request: WorkerRequest =
      method === 'pca' ? { type: 'pca', components: PCA_COMPONENTS, ...base }
      : method === 'tsne' ? { type: 'tsne', dimensions: dims, perplexity: params.perplexity, learningRate: params.learningRate, iterations: params.iterations, seed: 1 + params.runId, ...base }
      : { type: 'umap', dimensions: dims, nNeighbors: params.neighbors, minDist: params.minDist, epochs: params.epochs, seed: 1 + params.runId, ...base };
    let first = true;
    const onReply = (reply: WorkerReply) => {
      if (reply.type === 'error') {
        setState((old) => ({ ...old, status: 'error', error: reply.message }));
        stop();
      } else if (reply.type === 'progress') {
        setState((old) => ({ ...old, status: 'running', stage: reply.stage, iteration: reply.iteration, total: reply.total }));
      } else if (reply.type === 'pca') {
        pcaCache.current = { matrix, coords: reply.coords, components: reply.components, varianceRatio: reply.varianceRatio };
        setState((old) => ({ ...old, coords: pickAxes(reply.coords, reply.components, matrix.n, params.pcaAxes, dims), status: 'done', stage: '', varianceRatio: reply.varianceRatio, error: null, fitKey: old.fitKey + 1 }));
        stop();
      } else if (reply.type === 'coords') {
        const coords = widen(reply.coords, reply.dimensions, matrix.n);
        const fit = first;
        first = false;
        setState((old) => ({
          ...old,
          coords,
          status: reply.done ? 'done' : old.status === 'paused' ? 'paused' : 'running',
          stage: '',
          iteration: reply.iteration,
          total: reply.total,
          error: null,
          fitKey: fit ? old.fitKey + 1 : old.fitKey,
        }));
        if (reply.done) stop();
      }
    };
    setState((old) => ({ ...old, status: 'running', stage: method === 'pca' ? 'Computing PCA…' : 'Starting…', iteration: 0, total: 0, error: null }));
    try {
      worker.current = startWorker(onReply);
      worker.current.postMessage(request, [values.buffer]);
    } catch (error) {
      setState((old) => ({ ...old, status: 'error', error: error instanceof Error ? error.message : String(error) }));
    }
    return stop;
  }, [matrix, jobKey, method === 'pca' ? '' : dims]);

  // PCA axes and 2D/3D change only which components are shown.
  useEffect(() => {
    const cached = pcaCache.current;
    if (method !== 'pca' || !matrix || cached?.matrix !== matrix) return;
    setState((old) => ({ ...old, coords: pickAxes(cached.coords, cached.components, matrix.n, params.pcaAxes, dims), fitKey: old.fitKey + 1 }));
  }, [params.pcaAxes.join(','), dims]);

  // Custom: computed here.
  const customKey = params.custom.map(([a, b]) => `${a.length}:${a[0] ?? ''}:${b.length}:${b[0] ?? ''}`).join('|');
  const custom = useMemo(
    () => (matrix && method === 'custom' ? widen(customProjection(matrix, params.custom), 2, matrix.n) : null),
    [matrix, method, customKey],
  );
  useEffect(() => {
    if (custom) setState((old) => ({ ...old, coords: custom, status: 'done', stage: '', error: null, fitKey: old.fitKey + 1 }));
  }, [custom]);

  return {
    ...state,
    pause() {
      worker.current?.postMessage({ type: 'pause' } satisfies WorkerRequest);
      setState((old) => ({ ...old, status: old.status === 'running' ? 'paused' : old.status }));
    },
    resume() {
      worker.current?.postMessage({ type: 'resume' } satisfies WorkerRequest);
      setState((old) => ({ ...old, status: old.status === 'paused' ? 'running' : old.status }));
    },
  };
}

/** `n × dims` coordinates as `n × 3` (zeros for the missing axes). */
function widen(coords: Float32Array, dims: number, n: number): Float32Array {
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) for (let d = 0; d < Math.min(3, dims); d++) out[i * 3 + d] = coords[i * dims + d]!;
  return out;
}

function pickAxes(coords: Float32Array, components: number, n: number, axes: [number, number, number], dims: 2 | 3): Float32Array {
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dims; d++) {
      const c = axes[d]!;
      out[i * 3 + d] = c < components ? coords[i * components + c]! : 0;
    }
  }
  return out;
}
