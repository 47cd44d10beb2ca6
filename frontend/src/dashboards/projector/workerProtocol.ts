/** Messages between the projector dashboard and its worker (`projector.worker.ts`). */

interface Data {
  n: number;
  dim: number;
  values: Float32Array;
}

export type WorkerRequest =
  | ({ type: 'pca'; components: number } & Data)
  | ({ type: 'tsne'; dimensions: 2 | 3; perplexity: number; learningRate: number; iterations: number; seed: number } & Data)
  | ({ type: 'umap'; dimensions: 2 | 3; nNeighbors: number; minDist: number; epochs: number; seed: number } & Data)
  | { type: 'pause' }
  | { type: 'resume' };

export type WorkerReply =
  | { type: 'pca'; coords: Float32Array; components: number; varianceRatio: number[] }
  | { type: 'progress'; stage: string; iteration: number; total: number }
  | { type: 'coords'; coords: Float32Array; dimensions: 2 | 3; iteration: number; total: number; done: boolean }
  | { type: 'error'; message: string };

/** A new projector worker (its own module chunk; the CSP allows same-origin workers). */
export function startWorker(onReply: (reply: WorkerReply) => void): Worker {
  const worker = new Worker(new URL('./projector.worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<WorkerReply>) => onReply(event.data);
  worker.onerror = (event) => {
    event.preventDefault();
    onReply({ type: 'error', message: event.message || 'the projection worker failed' });
  };
  return worker;
}
