/// <reference lib="webworker" />
/**
 * The projector's heavy work, off the main thread: PCA, t-SNE (animated: coordinates are posted
 * as it iterates, and it can pause and resume), UMAP (umap-js, progress posted per epoch batch).
 * One worker runs one job; the dashboard terminates it when the job is superseded.
 */
import { UMAP } from 'umap-js';

import { pca, seededRandom, type Matrix } from './linalg';
import { Tsne } from './tsne';
import type { WorkerReply, WorkerRequest } from './workerProtocol';

declare const self: DedicatedWorkerGlobalScope;

let paused = false;
let resumeTsne: (() => void) | null = null;

function post(reply: WorkerReply, transfer: Transferable[] = []): void {
  self.postMessage(reply, transfer);
}

/** Posts about this often while iterating (ms): smooth enough, cheap enough. */
const POST_EVERY_MS = 60;

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const request = event.data;
  try {
    if (request.type === 'pause') {
      paused = true;
    } else if (request.type === 'resume') {
      paused = false;
      const resume = resumeTsne;
      resumeTsne = null;
      resume?.();
    } else if (request.type === 'pca') {
      const result = pca(matrixOf(request), request.components);
      post({ type: 'pca', coords: result.coords, components: result.components, varianceRatio: result.varianceRatio }, [result.coords.buffer]);
    } else if (request.type === 'tsne') {
      runTsne(request);
    } else if (request.type === 'umap') {
      void runUmap(request);
    }
  } catch (error) {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
};

function matrixOf(request: { n: number; dim: number; values: Float32Array }): Matrix {
  return { n: request.n, dim: request.dim, values: request.values };
}

function runTsne(request: Extract<WorkerRequest, { type: 'tsne' }>): void {
  post({ type: 'progress', stage: 'Finding neighbours…', iteration: 0, total: request.iterations });
  const tsne = new Tsne(matrixOf(request), {
    dimensions: request.dimensions,
    perplexity: request.perplexity,
    learningRate: request.learningRate,
    seed: request.seed,
  });
  const send = (done: boolean) => {
    const coords = Float32Array.from(tsne.y);
    post({ type: 'coords', coords, dimensions: request.dimensions, iteration: tsne.iteration, total: request.iterations, done }, [coords.buffer]);
  };
  const chunk = () => {
    if (paused) {
      resumeTsne = chunk;
      return;
    }
    const start = performance.now();
    while (tsne.iteration < request.iterations && performance.now() - start < POST_EVERY_MS) tsne.step();
    const done = tsne.iteration >= request.iterations;
    send(done);
    if (!done) setTimeout(chunk, 0); // lets pause / resume messages in
  };
  chunk();
}

async function runUmap(request: Extract<WorkerRequest, { type: 'umap' }>): Promise<void> {
  const rows: number[][] = [];
  for (let i = 0; i < request.n; i++) rows.push(Array.from(request.values.subarray(i * request.dim, (i + 1) * request.dim)));
  const umap = new UMAP({
    nComponents: request.dimensions,
    nNeighbors: Math.max(2, Math.min(request.nNeighbors, request.n - 1)),
    minDist: request.minDist,
    nEpochs: request.epochs,
    random: seededRandom(request.seed),
  });
  post({ type: 'progress', stage: 'Finding neighbours…', iteration: 0, total: request.epochs });
  const epochs = umap.initializeFit(rows);
  let last = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    umap.step();
    if (performance.now() - last > POST_EVERY_MS * 2 || epoch === epochs - 1) {
      const done = epoch === epochs - 1;
      const coords = Float32Array.from(umap.getEmbedding().flat());
      post({ type: 'coords', coords, dimensions: request.dimensions, iteration: epoch + 1, total: epochs, done }, [coords.buffer]);
      last = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}
