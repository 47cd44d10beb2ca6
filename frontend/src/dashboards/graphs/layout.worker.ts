/// <reference lib="webworker" />
/**
 * The layout worker: ELK (the bundled build, which runs in this worker's thread) lays out
 * each graph it is sent. See layout.ts for the protocol.
 */
import ELK from 'elkjs/lib/elk.bundled.js';

import type { LayoutReply, LayoutRequest } from './layout';

const elk = new ELK();
const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (event: MessageEvent<LayoutRequest>) => {
  const { id, graph } = event.data;
  const started = performance.now();
  elk
    .layout(graph)
    .then((laid) => scope.postMessage({ id, graph: laid, ms: performance.now() - started } satisfies LayoutReply))
    .catch((error: unknown) =>
      scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) } satisfies LayoutReply),
    );
};
