/**
 * The graph dashboard's pure logic: the name-scope hierarchy of a graph, what is visible for a
 * set of expanded metanodes (with edges aggregated between visible items), search, input
 * tracing, and the colour-by modes. No DOM: unit-tested in Node.
 *
 * A node named `a/b/c` sits in metanode `a/b`, inside `a`. Visible items are ids: `g<index>`
 * for a metanode (group), `n<index>` for an op node. Group 0 is the root (always expanded).
 */

import { compileRegex } from '../../core/regex';

/** One node of `/graph_json`: inputs are `[source index, output slot, control (0|1)]`. */
export interface RawNode {
  name: string;
  op: string;
  device?: string;
  inputs?: [number, number, number][];
  shapes?: (number[] | null)[];
  attrs?: [string, string][];
  more_attrs?: number;
}

export interface GraphJson {
  run: string;
  tag: string | null;
  kind: 'op' | 'conceptual';
  key: string;
  dangling: number;
  nodes: RawNode[];
}

export interface TagInfo {
  tag: string;
  conceptual_graph: boolean;
  op_graph: boolean;
  profile: boolean;
}

export interface RunInfo {
  run: string;
  run_graph: boolean;
  tags: Record<string, TagInfo>;
}

/** `/info`: TensorBoard's shape. */
export type GraphInfo = Record<string, RunInfo>;

export interface NodeStats {
  device: string;
  compute_micros: number;
  memory_bytes: number;
  output_bytes: number;
}

/** `/run_metadata_json`. */
export interface RunMetadataJson {
  run: string;
  tag: string;
  devices: string[];
  nodes: Record<string, NodeStats>;
}

export interface Group {
  /** The scope (`a/b`); '' for the root. */
  path: string;
  /** The last part of the path. */
  name: string;
  parent: number;
  depth: number;
  groups: number[];
  leaves: number[];
  /** Op nodes below it, at any depth. */
  leafCount: number;
}

export interface Hierarchy {
  nodes: RawNode[];
  groups: Group[];
  /** The group each node sits in. */
  parentOf: Int32Array;
  /** For each node, the nodes that take one of its outputs (their indices). */
  consumers: number[][];
}

/** Group the nodes by their `/`-separated scopes. */
/** Scopes deeper than this are cut there (the rest of the name stays in the node's name). */
export const MAX_SCOPE_DEPTH = 64;

/** The scope of a node name (its part before the last `/`), at most MAX_SCOPE_DEPTH deep. */
export function scopeOf(name: string): string {
  const cut = name.lastIndexOf('/');
  if (cut < 0) return '';
  const scope = name.slice(0, cut);
  let count = 0;
  for (let i = scope.indexOf('/'); i >= 0; i = scope.indexOf('/', i + 1)) {
    if (++count >= MAX_SCOPE_DEPTH) return scope.slice(0, i);
  }
  return scope;
}

export function buildHierarchy(nodes: RawNode[]): Hierarchy {
  const groups: Group[] = [{ path: '', name: '', parent: -1, depth: 0, groups: [], leaves: [], leafCount: 0 }];
  const byPath = new Map<string, number>([['', 0]]);
  const parentOf = new Int32Array(nodes.length);
  // Iterative (a name of 20,000 scopes must not overflow the stack): the missing ancestors of
  // `path`, deepest first, are created from the top down.
  const groupOf = (path: string): number => {
    const missing: string[] = [];
    let known = path;
    while (!byPath.has(known)) {
      missing.push(known);
      const cut = known.lastIndexOf('/');
      known = cut < 0 ? '' : known.slice(0, cut);
    }
    let parent = byPath.get(known)!;
    for (let k = missing.length - 1; k >= 0; k--) {
      const scope = missing[k]!;
      const index = groups.length;
      groups.push({
        path: scope,
        name: scope.slice(scope.lastIndexOf('/') + 1),
        parent,
        depth: groups[parent]!.depth + 1,
        groups: [],
        leaves: [],
        leafCount: 0,
      });
      groups[parent]!.groups.push(index);
      byPath.set(scope, index);
      parent = index;
    }
    return parent;
  };
  nodes.forEach((node, index) => {
    const group = groupOf(scopeOf(node.name));
    parentOf[index] = group;
    groups[group]!.leaves.push(index);
    for (let g = group; g >= 0; g = groups[g]!.parent) groups[g]!.leafCount++;
  });
  // A node named like a scope ("a" beside "a/x") goes inside that scope, shown as "(a)", as
  // TensorBoard renames it "a/(a)": else the graph has two items called "a".
  nodes.forEach((node, index) => {
    const own = byPath.get(node.name);
    const old = parentOf[index]!;
    if (own === undefined || own === old || groups[own]!.parent !== old) return;
    const leaves = groups[old]!.leaves;
    leaves.splice(leaves.indexOf(index), 1);
    groups[own]!.leaves.push(index);
    groups[own]!.leafCount++; // the groups above `own` counted it already
    parentOf[index] = own;
  });
  const consumers: number[][] = nodes.map(() => []);
  nodes.forEach((node, index) => {
    for (const [source] of node.inputs ?? []) if (source >= 0 && source < nodes.length) consumers[source]!.push(index);
  });
  return { nodes, groups, parentOf, consumers };
}

export function groupId(index: number): string {
  return `g${index}`;
}

export function nodeId(index: number): string {
  return `n${index}`;
}

export function parseId(id: string): { kind: 'group' | 'node'; index: number } {
  return { kind: id[0] === 'g' ? 'group' : 'node', index: Number(id.slice(1)) };
}

/** The full name of a visible item. */
export function itemName(h: Hierarchy, id: string): string {
  const { kind, index } = parseId(id);
  return kind === 'group' ? h.groups[index]!.path : h.nodes[index]!.name;
}

/** The item's own label: the last part of its name ("(a)" for a node inside its namesake). */
export function itemLabel(h: Hierarchy, id: string): string {
  const name = itemName(h, id);
  const label = name.slice(name.lastIndexOf('/') + 1) || name;
  const { kind, index } = parseId(id);
  return kind === 'node' && h.groups[h.parentOf[index]!]!.path === name ? `(${label})` : label;
}

/** The group a visible item sits in. */
export function containerOf(h: Hierarchy, id: string): number {
  const { kind, index } = parseId(id);
  return kind === 'group' ? h.groups[index]!.parent : h.parentOf[index]!;
}

export interface VisibleEdge {
  id: string;
  source: string;
  target: string;
  control: boolean;
  /** Raw edges folded into this one. */
  count: number;
  /** The shape of the tensor when every folded edge carries the same known one. */
  shape: number[] | null;
}

export interface VisibleGraph {
  /** Visible items per expanded group (root first): group index -> item ids. */
  children: Map<number, string[]>;
  /** The visible item standing for each node (itself, or its outermost collapsed group). */
  rep: string[];
  edges: VisibleEdge[];
  /** Number of visible items. */
  size: number;
  /** torch `prim::Constant` nodes folded into their consumer (not drawn). */
  constants: number;
}

/** What a dangling input is, said where their count is shown. */
export const DANGLING_SENTENCE =
  'inputs that name a node missing from the graph (often a tensor made outside the traced model, or a graph cut when it was written), so their edges are not drawn.';

/** A folded constant's value (its `value` attribute), for the consumer's info. */
export function constantValue(h: Hierarchy, i: number): string {
  const value = h.nodes[i]!.attrs?.find(([key]) => key === 'value')?.[1];
  return value === undefined ? '' : ` ${value.length > 24 ? `${value.slice(0, 23)}…` : value}`;
}

/** The op of torch's constants: folded into the node that takes them, as TensorBoard does. */
export const CONSTANT_OP = 'prim::Constant';

/** A constant with a consumer is folded into it; one nobody takes stays visible. */
export function isFoldedConstant(h: Hierarchy, i: number): boolean {
  return h.nodes[i]!.op === CONSTANT_OP && h.consumers[i]!.length > 0;
}

/** What is drawn when `expanded` metanodes are open: items, and edges folded per item pair. */
export function visibleGraph(h: Hierarchy, expanded: ReadonlySet<number>, foldConstants = true): VisibleGraph {
  const foldedConst = foldConstants ? h.nodes.map((_, i) => isFoldedConstant(h, i)) : h.nodes.map(() => false);
  const constants = foldedConst.filter(Boolean).length;
  const children = new Map<number, string[]>();
  // groupRep[g]: the collapsed group that stands for g's content, or -1 when g's content shows.
  const groupRep = new Int32Array(h.groups.length).fill(-1);
  let size = 0;
  for (let g = 0; g < h.groups.length; g++) {
    const group = h.groups[g]!;
    if (g === 0) continue;
    const parentRep = groupRep[group.parent]!;
    if (parentRep >= 0) groupRep[g] = parentRep;
    else if (!expanded.has(g)) groupRep[g] = g;
  }
  for (let g = 0; g < h.groups.length; g++) {
    if (groupRep[g]! >= 0) continue;
    const group = h.groups[g]!;
    const items = [...group.groups.map(groupId), ...group.leaves.filter((i) => !foldedConst[i]).map(nodeId)];
    size += items.length;
    children.set(g, items);
  }
  const repOf = (i: number): string => {
    const g = groupRep[h.parentOf[i]!]!;
    return g >= 0 ? groupId(g) : nodeId(i);
  };
  // A folded constant stands with its (first) consumer.
  const rep = h.nodes.map((_, i) => (foldedConst[i] ? repOf(h.consumers[i]![0]!) : repOf(i)));
  const folded = new Map<string, VisibleEdge>();
  h.nodes.forEach((node, target) => {
    for (const [source, slot, control] of node.inputs ?? []) {
      if (foldedConst[source]) continue;
      const a = rep[source];
      const b = rep[target]!;
      if (a === undefined || a === b) continue;
      const key = `${a}>${b}${control ? '^' : ''}`;
      const shape = control ? null : (h.nodes[source]!.shapes?.[slot] ?? null);
      const edge = folded.get(key);
      if (edge === undefined) {
        folded.set(key, { id: `e${folded.size}`, source: a, target: b, control: control === 1, count: 1, shape });
      } else {
        edge.count++;
        if (edge.shape !== null && (shape === null || shape.join() !== edge.shape.join())) edge.shape = null;
      }
    }
  });
  return { children, rep, edges: [...folded.values()], size, constants };
}

/** `[1,8]` as `1×8` (unknown sizes `?`), a scalar as `scalar`. */
export function shapeLabel(shape: number[] | null): string {
  if (shape === null) return '';
  if (shape.length === 0) return 'scalar';
  return shape.map((d) => (d < 0 ? '?' : String(d))).join('×');
}

export function edgeLabel(edge: VisibleEdge): string {
  if (edge.control) return '';
  if (edge.count > 1) return `${edge.count} tensors`;
  return shapeLabel(edge.shape);
}

/** The groups to open so that `id` is visible (its ancestors, not itself). */
export function ancestorsOf(h: Hierarchy, id: string): number[] {
  const out: number[] = [];
  for (let g = containerOf(h, id); g > 0; g = h.groups[g]!.parent) out.push(g);
  return out;
}

export interface SearchHit {
  id: string;
  name: string;
  kind: 'group' | 'node';
}

/** TensorBoard lists at most this many search results. */
export const MAX_HITS = 42;

/** Nodes and metanodes whose name matches `pattern` (a case-insensitive regex). */
export function searchNodes(
  h: Hierarchy,
  pattern: string,
  limit = MAX_HITS,
): { hits: SearchHit[]; total: number; error: string | null } {
  if (pattern.trim() === '') return { hits: [], total: 0, error: null };
  const regex = compileRegex(pattern, 'i');
  if (!(regex instanceof RegExp)) return { hits: [], total: 0, error: regex };
  const hits: SearchHit[] = [];
  let total = 0;
  h.groups.forEach((group, index) => {
    if (index > 0 && regex.test(group.path)) {
      total++;
      if (hits.length < limit) hits.push({ id: groupId(index), name: group.path, kind: 'group' });
    }
  });
  h.nodes.forEach((node, index) => {
    if (regex.test(node.name)) {
      total++;
      if (hits.length < limit) hits.push({ id: nodeId(index), name: node.name, kind: 'node' });
    }
  });
  return { hits, total, error: null };
}

/** Every node below group `g`. */
export function leavesOf(h: Hierarchy, g: number): number[] {
  const out: number[] = [];
  const stack = [g];
  while (stack.length) {
    const group = h.groups[stack.pop()!]!;
    out.push(...group.leaves);
    stack.push(...group.groups);
  }
  return out;
}

/** The nodes an item stands for: itself, or every node of the group. */
export function nodesOfItem(h: Hierarchy, id: string): number[] {
  const { kind, index } = parseId(id);
  return kind === 'group' ? leavesOf(h, index) : [index];
}

/**
 * Trace inputs: the visible items whose nodes feed `id` (transitively), with `id` itself,
 * and the visible edges between them that carry such a flow.
 */
export function traceInputs(h: Hierarchy, view: VisibleGraph, id: string): { items: Set<string>; edges: Set<string> } {
  const start = nodesOfItem(h, id);
  const seen = new Uint8Array(h.nodes.length);
  const stack = [...start];
  for (const i of start) seen[i] = 1;
  while (stack.length) {
    const node = h.nodes[stack.pop()!]!;
    for (const [source] of node.inputs ?? []) {
      if (!seen[source]) {
        seen[source] = 1;
        stack.push(source);
      }
    }
  }
  const items = new Set<string>([id]);
  seen.forEach((on, i) => {
    if (on) items.add(view.rep[i]!);
  });
  const edges = new Set<string>();
  for (const edge of view.edges) if (items.has(edge.source) && items.has(edge.target)) edges.add(edge.id);
  return { items, edges };
}

/** Ops below an item, most frequent first. */
export function opCounts(h: Hierarchy, id: string): [string, number][] {
  const counts = new Map<string, number>();
  for (const i of nodesOfItem(h, id)) {
    const op = h.nodes[i]!.op || '(no op)';
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

// ---- colour by -----------------------------------------------------------------------------

export type ColorBy = 'none' | 'structure' | 'device' | 'compute' | 'memory';

/** Distinct fills, light enough for dark text in both themes' graph. */
export const FILLS: readonly string[] = [
  '#8fb9e3', '#f7b46f', '#f08f90', '#8fd18a', '#c3a6e3', '#7fd6e0', '#ead27a', '#f2a6d8',
  '#c9a58f', '#84cfc4', '#c4e07f', '#a3a5ee',
];

export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Structure: a signature per group from its content (ops of its nodes and the signatures of
 * its groups), so that metanodes built alike (`layer1`, `layer2` ...) share a colour.
 */
export function structureSignatures(h: Hierarchy): string[] {
  const sig: string[] = new Array<string>(h.groups.length).fill('');
  // Children come after parents in `groups`: walk backwards.
  for (let g = h.groups.length - 1; g >= 0; g--) {
    const group = h.groups[g]!;
    const parts = [
      ...group.leaves.map((i) => `o:${h.nodes[i]!.op}`),
      ...group.groups.map((c) => `g:${sig[c]}`),
    ].sort();
    sig[g] = hashText(parts.join('|')).toString(36);
  }
  return sig;
}

export interface Legend {
  kind: 'swatches' | 'ramp';
  title: string;
  swatches: { color: string; label: string }[];
  min?: string;
  max?: string;
}

export interface Coloring {
  fill: Map<string, string>;
  legend: Legend | null;
}

/** The value of one node for compute time / memory. */
function statValue(stats: RunMetadataJson | null, name: string, by: 'compute' | 'memory'): number {
  const s = stats?.nodes[name];
  if (!s) return 0;
  return by === 'compute' ? s.compute_micros : s.memory_bytes;
}

/** Stats hold any non-zero value for `by`. */
export function hasStat(stats: RunMetadataJson | null, by: 'compute' | 'memory'): boolean {
  if (!stats) return false;
  return Object.values(stats.nodes).some((s) => (by === 'compute' ? s.compute_micros : s.memory_bytes) > 0);
}

export const RAMP = ['#fde7cf', '#b83d07'] as const;

/** `t` in [0, 1] between the ramp's ends. */
export function rampColor(t: number): string {
  const a = RAMP[0];
  const b = RAMP[1];
  const mix = (i: number) =>
    Math.round(parseInt(a.slice(i, i + 2), 16) * (1 - t) + parseInt(b.slice(i, i + 2), 16) * t)
      .toString(16)
      .padStart(2, '0');
  return `#${mix(1)}${mix(3)}${mix(5)}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatMicros(micros: number): string {
  if (micros < 1000) return `${micros} µs`;
  if (micros < 1e6) return `${(micros / 1000).toFixed(1)} ms`;
  return `${(micros / 1e6).toFixed(2)} s`;
}

/** The device of a node: its own, or where its stats say it ran. */
export function deviceOf(h: Hierarchy, stats: RunMetadataJson | null, i: number): string {
  const node = h.nodes[i]!;
  return node.device || stats?.nodes[node.name]?.device || 'unknown device';
}

/** Fills of the visible items for a colour-by mode, and its legend. */
export function colorItems(
  h: Hierarchy,
  view: VisibleGraph,
  by: ColorBy,
  stats: RunMetadataJson | null,
  signatures: string[] | null,
): Coloring {
  const fill = new Map<string, string>();
  const ids = [...view.children.values()].flat();
  if (by === 'structure') {
    const sigs = signatures ?? structureSignatures(h);
    const seen = new Map<string, number>();
    for (let g = 1; g < h.groups.length; g++) seen.set(sigs[g]!, (seen.get(sigs[g]!) ?? 0) + 1);
    const shared = new Map<string, { color: string; example: string; count: number }>();
    for (const id of ids) {
      const { kind, index } = parseId(id);
      if (kind !== 'group') continue;
      const sig = sigs[index]!;
      if ((seen.get(sig) ?? 0) < 2) continue;
      const color = FILLS[hashText(sig) % FILLS.length]!;
      fill.set(id, color);
      const entry = shared.get(sig);
      if (entry) entry.count++;
      else shared.set(sig, { color, example: h.groups[index]!.name, count: 1 });
    }
    return {
      fill,
      legend: {
        kind: 'swatches',
        title: 'Same colour: same structure',
        swatches: [...shared.values()]
          .slice(0, 8)
          .map((s) => ({ color: s.color, label: `${s.example}${s.count > 1 ? ` (${s.count} here)` : ''}` })),
      },
    };
  }
  if (by === 'device') {
    const colors = new Map<string, string>();
    const colorOf = (device: string) => {
      let color = colors.get(device);
      if (color === undefined) {
        color = FILLS[colors.size % FILLS.length]!;
        colors.set(device, color);
      }
      return color;
    };
    for (const id of ids) {
      const counts = new Map<string, number>();
      for (const i of nodesOfItem(h, id)) {
        const device = deviceOf(h, stats, i);
        counts.set(device, (counts.get(device) ?? 0) + 1);
      }
      let best = '';
      let bestCount = -1;
      for (const [device, count] of counts) if (count > bestCount) [best, bestCount] = [device, count];
      if (bestCount > 0) fill.set(id, colorOf(best));
    }
    return {
      fill,
      legend: {
        kind: 'swatches',
        title: 'Device (the most nodes of a metanode)',
        swatches: [...colors.entries()].map(([label, color]) => ({ color, label })),
      },
    };
  }
  if (by === 'compute' || by === 'memory') {
    const values = new Map<string, number>();
    let max = 0;
    for (const id of ids) {
      let total = 0;
      for (const i of nodesOfItem(h, id)) total += statValue(stats, h.nodes[i]!.name, by);
      values.set(id, total);
      max = Math.max(max, total);
    }
    for (const [id, value] of values) if (max > 0) fill.set(id, rampColor(value / max));
    const format = by === 'compute' ? formatMicros : formatBytes;
    return {
      fill,
      legend: {
        kind: 'ramp',
        title: by === 'compute' ? 'Compute time' : 'Memory',
        swatches: [],
        min: format(0),
        max: format(max),
      },
    };
  }
  return { fill, legend: null };
}

/** Black or white text, whichever reads better on `fill` (#rrggbb). */
export function textOn(fill: string): string {
  const r = parseInt(fill.slice(1, 3), 16);
  const g = parseInt(fill.slice(3, 5), 16);
  const b = parseInt(fill.slice(5, 7), 16);
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? '#1f2328' : '#ffffff';
}

// ---- which graph to show ----------------------------------------------------------------------

export type GraphKind = 'op' | 'conceptual' | 'profile';

/** The graph kinds a run/tag offers (tag null: the run's own graph). */
export function kindsOf(run: RunInfo | undefined, tag: string | null): GraphKind[] {
  if (!run) return [];
  if (tag === null) return run.run_graph ? ['op'] : [];
  const info = run.tags[tag];
  if (!info) return [];
  const kinds: GraphKind[] = [];
  if (info.op_graph || (info.profile && run.run_graph)) kinds.push('op');
  if (info.conceptual_graph) kinds.push('conceptual');
  if (info.profile && (info.op_graph || run.run_graph)) kinds.push('profile');
  return kinds;
}

/** The tags to offer for a run: null (its own graph) first when it has one. */
export function tagsOf(run: RunInfo | undefined): (string | null)[] {
  if (!run) return [];
  const tags: (string | null)[] = run.run_graph ? [null] : [];
  return [...tags, ...Object.keys(run.tags).sort()];
}

/** The `/graph_json` query for a choice, and the tag whose stats go with it. */
export function graphQuery(
  run: RunInfo,
  tag: string | null,
  kind: GraphKind,
): { query: Record<string, string>; statsTag: string | null } {
  const info = tag === null ? undefined : run.tags[tag];
  // The run's own graph takes the step stats of its first profile without a graph of its own
  // (torch's add_graph writes the graph and, as tag "step1", its stats).
  const runStats = Object.values(run.tags).find((t) => t.profile && !t.op_graph)?.tag ?? null;
  const statsTag = info?.profile ? tag : tag === null ? runStats : null;
  if (kind === 'conceptual' && tag !== null) return { query: { run: run.run, tag, conceptual: 'true' }, statsTag: null };
  if (info?.op_graph && tag !== null) return { query: { run: run.run, tag }, statsTag };
  return { query: { run: run.run }, statsTag };
}

/** Whether a graph answer is the one `query` (run, tag, conceptual) asks for. */
export function isAnswerTo(graph: GraphJson, query: Record<string, string>): boolean {
  return (
    graph.run === query.run &&
    (graph.tag ?? null) === (query.tag ?? null) &&
    (graph.kind === 'conceptual') === (query.conceptual === 'true')
  );
}
