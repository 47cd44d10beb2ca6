/**
 * Layout of the visible graph with elkjs (layered, hierarchical: expanded metanodes are
 * compound nodes holding their children), run in a Web Worker so that a big graph never
 * freezes the page (TensorBoard lays out on the main thread: tensorflow/tensorboard#3264).
 *
 * `elkGraph` (pure) builds ELK's JSON; `readLayout` (pure) turns ELK's answer into boxes and
 * polylines in one coordinate system (ELK is asked for root coordinates); `LayoutWorker`
 * runs layouts, dropping (terminating) one that a newer request supersedes.
 */
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api';

import {
  containerOf,
  edgeLabel,
  groupId,
  itemLabel,
  parseId,
  type Hierarchy,
  type VisibleGraph,
} from './model';

export const NODE_HEIGHT = 24;
export const META_HEIGHT = 32;
export const HEADER = 26;
const CHAR_WIDTH = 6.6;
const MAX_LABEL = 32;

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Layout {
  nodes: Map<string, Box>;
  edges: Map<string, [number, number][]>;
  width: number;
  height: number;
}

/** A label cut to what a node shows. */
export function shortLabel(label: string): string {
  return label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label;
}

/** The size of a collapsed item: wide enough for its label (and a metanode's count). */
export function itemSize(h: Hierarchy, id: string): { width: number; height: number } {
  const label = shortLabel(itemLabel(h, id));
  const { kind, index } = parseId(id);
  if (kind === 'group') {
    const extra = String(h.groups[index]!.leafCount).length + 4;
    return { width: Math.max(70, Math.ceil((label.length + extra) * CHAR_WIDTH) + 34), height: META_HEIGHT };
  }
  return { width: Math.max(44, Math.ceil(label.length * CHAR_WIDTH) + 22), height: NODE_HEIGHT };
}

const ROOT_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  // Inputs at the bottom, as TensorBoard draws graphs.
  'elk.direction': 'UP',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.edgeRouting': 'POLYLINE',
  'elk.json.edgeCoords': 'ROOT',
  'elk.json.shapeCoords': 'ROOT',
  'elk.spacing.nodeNode': '18',
  'elk.layered.spacing.nodeNodeBetweenLayers': '34',
  'elk.spacing.edgeNode': '10',
  // Brandes-Köpf: near-linear; network simplex took minutes on a few hundred open nodes.
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  'elk.padding': '[top=16,left=16,bottom=16,right=16]',
};

const GROUP_OPTIONS: Record<string, string> = {
  'elk.padding': `[top=${HEADER + 8},left=12,bottom=12,right=12]`,
};

/** The lowest group holding both `a` and `b` (groups given by index). */
function commonGroup(h: Hierarchy, a: number, b: number): number {
  const seen = new Set<number>();
  for (let g = a; g >= 0; g = h.groups[g]!.parent) seen.add(g);
  for (let g = b; g >= 0; g = h.groups[g]!.parent) if (seen.has(g)) return g;
  return 0;
}

/** ELK's input for the visible graph: expanded groups nest their children. */
export function elkGraph(h: Hierarchy, view: VisibleGraph): ElkNode {
  const elkNodes = new Map<number, ElkNode>();
  const build = (g: number): ElkNode => {
    const node: ElkNode = {
      id: g === 0 ? 'root' : groupId(g),
      layoutOptions: g === 0 ? ROOT_OPTIONS : GROUP_OPTIONS,
      children: [],
      edges: [],
    };
    elkNodes.set(g, node);
    for (const id of view.children.get(g) ?? []) {
      const { kind, index } = parseId(id);
      if (kind === 'group' && view.children.has(index)) node.children!.push(build(index));
      else node.children!.push({ id, ...itemSize(h, id) });
    }
    // An expanded group with nothing left (cannot happen) still needs a size.
    if (g !== 0 && node.children!.length === 0) Object.assign(node, { width: 60, height: META_HEIGHT });
    return node;
  };
  const root = build(0);
  for (const edge of view.edges) {
    const container = commonGroup(h, containerOf(h, edge.source), containerOf(h, edge.target));
    const label = edgeLabel(edge);
    const elkEdge: ElkExtendedEdge = { id: edge.id, sources: [edge.source], targets: [edge.target] };
    if (label) elkEdge.labels = [{ text: label, width: label.length * 5.6, height: 10 }];
    (elkNodes.get(container) ?? root).edges!.push(elkEdge);
  }
  return root;
}

/** Boxes of every node (groups included) and each edge's polyline, in root coordinates. */
export function readLayout(root: ElkNode): Layout {
  const nodes = new Map<string, Box>();
  const edges = new Map<string, [number, number][]>();
  const visit = (node: ElkNode) => {
    for (const child of node.children ?? []) {
      nodes.set(child.id, { x: child.x ?? 0, y: child.y ?? 0, width: child.width ?? 0, height: child.height ?? 0 });
      visit(child);
    }
    for (const edge of node.edges ?? []) {
      const points: [number, number][] = [];
      for (const section of edge.sections ?? []) {
        points.push([section.startPoint.x, section.startPoint.y]);
        for (const bend of section.bendPoints ?? []) points.push([bend.x, bend.y]);
        points.push([section.endPoint.x, section.endPoint.y]);
      }
      edges.set(edge.id, points);
    }
  };
  visit(root);
  return { nodes, edges, width: root.width ?? 0, height: root.height ?? 0 };
}

export interface LayoutRequest {
  id: number;
  graph: ElkNode;
}

export type LayoutReply = { id: number; graph: ElkNode; ms: number } | { id: number; error: string };

/** How long a layout may run before it is abandoned. */
export const LAYOUT_TIMEOUT_MS = 60_000;

/** Runs layouts in a worker; a new request terminates a layout still running. */
export class LayoutWorker {
  private worker: Worker | null = null;
  private next = 1;
  private pending: { id: number; resolve: (l: Layout) => void; reject: (e: Error) => void } | null = null;

  private start(): Worker {
    const worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<LayoutReply>) => {
      const reply = event.data;
      const pending = this.pending;
      if (!pending || pending.id !== reply.id) return;
      this.pending = null;
      if ('error' in reply) pending.reject(new Error(reply.error));
      else pending.resolve(readLayout(reply.graph));
    };
    worker.onerror = (event) => {
      const pending = this.pending;
      this.pending = null;
      // A worker that failed (e.g. could not load) is dropped: the next layout starts a new one.
      worker.terminate();
      if (this.worker === worker) this.worker = null;
      pending?.reject(new Error(event.message || 'the layout worker failed'));
    };
    return worker;
  }

  layout(graph: ElkNode): Promise<Layout> {
    if (this.pending) {
      // ELK cannot be interrupted: drop the worker busy with a layout nobody wants.
      this.pending.reject(new Error('superseded'));
      this.pending = null;
      this.worker?.terminate();
      this.worker = null;
    }
    this.worker ??= this.start();
    const id = this.next++;
    return new Promise<Layout>((resolve, reject) => {
      // A layout that runs too long (or a worker that died without a word) gives up.
      const timer = setTimeout(() => {
        if (this.pending?.id !== id) return;
        this.pending = null;
        this.worker?.terminate();
        this.worker = null;
        reject(new Error(`the layout took more than ${LAYOUT_TIMEOUT_MS / 1000} s: collapse some groups`));
      }, LAYOUT_TIMEOUT_MS);
      this.pending = {
        id,
        resolve: (layout) => {
          clearTimeout(timer);
          resolve(layout);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.worker!.postMessage({ id, graph } satisfies LayoutRequest);
    });
  }

  dispose(): void {
    this.pending?.reject(new Error('superseded'));
    this.pending = null;
    this.worker?.terminate();
    this.worker = null;
  }
}
