import { describe, expect, it } from 'vitest';

import { elkGraph, readLayout } from '../src/dashboards/graphs/layout';
import {
  ancestorsOf,
  buildHierarchy,
  colorItems,
  edgeLabel,
  graphQuery,
  isAnswerTo,
  itemLabel,
  kindsOf,
  MAX_SCOPE_DEPTH,
  rampColor,
  scopeOf,
  searchNodes,
  structureSignatures,
  tagsOf,
  traceInputs,
  visibleGraph,
  type GraphJson,
  type RawNode,
  type RunInfo,
} from '../src/dashboards/graphs/model';

// input -> Net/enc/{fc, act} -> Net/dec/{fc, act} -> output, plus a control edge.
const NODES: RawNode[] = [
  { name: 'input/x', op: 'IO Node', shapes: [[1, 8]] }, // 0
  { name: 'Net/enc/fc', op: 'linear', inputs: [[0, 0, 0]], shapes: [[1, 8]] }, // 1
  { name: 'Net/enc/act', op: 'relu', inputs: [[1, 0, 0]], shapes: [[1, 8]] }, // 2
  { name: 'Net/dec/fc', op: 'linear', inputs: [[2, 0, 0]], shapes: [[1, 4]] }, // 3
  { name: 'Net/dec/act', op: 'relu', inputs: [[3, 0, 0], [0, 0, 1]], shapes: [[1, 4]] }, // 4
  { name: 'output/y', op: 'IO Node', inputs: [[4, 0, 0]] }, // 5
  { name: 'Net/add', op: 'add', inputs: [[2, 0, 0], [4, 0, 0]] }, // 6
];

const idsByName = (h: ReturnType<typeof buildHierarchy>, ids: Iterable<string>) =>
  [...ids].map((id) => (id[0] === 'g' ? `[${h.groups[Number(id.slice(1))]!.path}]` : h.nodes[Number(id.slice(1))]!.name)).sort();

describe('hierarchy', () => {
  it('groups nodes by name scope', () => {
    const h = buildHierarchy(NODES);
    expect(h.groups.map((g) => g.path)).toEqual(['', 'input', 'Net', 'Net/enc', 'Net/dec', 'output']);
    expect(h.groups[2]!.leafCount).toBe(5);
    expect(h.groups[2]!.groups.map((g) => h.groups[g]!.name)).toEqual(['enc', 'dec']);
    expect(h.groups[3]!.depth).toBe(2);
    expect(h.consumers[2]).toEqual([3, 6]);
  });

  it('shows collapsed top-level metanodes with folded edges', () => {
    const h = buildHierarchy(NODES);
    const view = visibleGraph(h, new Set());
    expect(idsByName(h, view.children.get(0)!)).toEqual(['[Net]', '[input]', '[output]']);
    const edges = view.edges.map((e) => [...idsByName(h, [e.source]), ...idsByName(h, [e.target]), e.count, e.control]);
    expect(edges).toEqual([
      ['[input]', '[Net]', 1, false],
      ['[input]', '[Net]', 1, true],
      ['[Net]', '[output]', 1, false],
    ]);
    expect(view.size).toBe(3);
  });

  it('expanding a metanode shows its children and re-routes edges', () => {
    const h = buildHierarchy(NODES);
    const view = visibleGraph(h, new Set([2]));
    expect(idsByName(h, view.children.get(2)!)).toEqual(['Net/add', '[Net/dec]', '[Net/enc]']);
    const pairs = view.edges.map((e) => `${idsByName(h, [e.source])[0]}>${idsByName(h, [e.target])[0]}:${e.count}`);
    expect(pairs).toContain('[Net/enc]>[Net/dec]:1');
    expect(pairs).toContain('[Net/enc]>Net/add:1');
    expect(pairs).toContain('[input]>[Net/enc]:1');
    // Expanded groups inside a collapsed one stay hidden.
    const hidden = visibleGraph(h, new Set([3]));
    expect(hidden.children.has(3)).toBe(false);
  });

  it('folds parallel edges, keeping a shared shape', () => {
    const nodes: RawNode[] = [
      { name: 'a/x', op: 'c', shapes: [[2]] },
      { name: 'a/y', op: 'c', shapes: [[2]] },
      { name: 'b/z', op: 'add', inputs: [[0, 0, 0], [1, 0, 0]] },
      { name: 'b/w', op: 'add', inputs: [[0, 0, 0]] },
    ];
    const h = buildHierarchy(nodes);
    const [edge] = visibleGraph(h, new Set()).edges;
    expect(edge!.count).toBe(3);
    expect(edge!.shape).toEqual([2]);
    expect(edgeLabel(edge!)).toBe('3 tensors');
    const one = visibleGraph(h, new Set([1, 2])).edges.find((e) => e.target === 'n3')!;
    expect(edgeLabel(one)).toBe('2');
  });
});

describe('search and tracing', () => {
  it('finds nodes and metanodes by regex, case-insensitively, capped', () => {
    const h = buildHierarchy(NODES);
    const { hits, total } = searchNodes(h, 'ENC');
    expect(hits.map((hit) => hit.name)).toEqual(['Net/enc', 'Net/enc/fc', 'Net/enc/act']);
    expect(total).toBe(3);
    expect(searchNodes(h, '.', 2).hits).toHaveLength(2);
    expect(searchNodes(h, '(').error).not.toBeNull();
    expect(searchNodes(h, '  ').hits).toEqual([]);
  });

  it('opens the ancestors of a node', () => {
    const h = buildHierarchy(NODES);
    expect(ancestorsOf(h, 'n1').map((g) => h.groups[g]!.path)).toEqual(['Net/enc', 'Net']);
    expect(ancestorsOf(h, 'n0').map((g) => h.groups[g]!.path)).toEqual(['input']);
  });

  it('traces the transitive inputs of a node', () => {
    const h = buildHierarchy(NODES);
    const view = visibleGraph(h, new Set([2, 3, 4]));
    const traced = traceInputs(h, view, 'n3'); // Net/dec/fc <- enc/act <- enc/fc <- input
    expect(idsByName(h, traced.items)).toEqual(['Net/dec/fc', 'Net/enc/act', 'Net/enc/fc', '[input]']);
    expect(traced.edges.size).toBe(3);
  });
});

describe('colour by', () => {
  it('gives metanodes of the same structure the same colour', () => {
    const nodes: RawNode[] = [
      { name: 'l1/fc', op: 'linear' },
      { name: 'l1/act', op: 'relu' },
      { name: 'l2/fc', op: 'linear' },
      { name: 'l2/act', op: 'relu' },
      { name: 'head/fc', op: 'linear' },
    ];
    const h = buildHierarchy(nodes);
    const sigs = structureSignatures(h);
    expect(sigs[1]).toBe(sigs[2]);
    expect(sigs[1]).not.toBe(sigs[3]);
    const { fill, legend } = colorItems(h, visibleGraph(h, new Set()), 'structure', null, sigs);
    expect(fill.get('g1')).toBe(fill.get('g2'));
    expect(fill.has('g3')).toBe(false);
    expect(legend!.swatches).toHaveLength(1);
  });

  it('colours by device and by memory', () => {
    const nodes: RawNode[] = [
      { name: 'a/x', op: 'c', device: '/gpu:0' },
      { name: 'b/y', op: 'c', device: '/cpu:0' },
    ];
    const h = buildHierarchy(nodes);
    const view = visibleGraph(h, new Set());
    const device = colorItems(h, view, 'device', null, null);
    expect(device.fill.get('g1')).not.toBe(device.fill.get('g2'));
    expect(device.legend!.swatches.map((s) => s.label)).toEqual(['/gpu:0', '/cpu:0']);
    const stats = {
      run: 'r',
      tag: 'step1',
      devices: ['/cpu:0'],
      nodes: {
        'a/x': { device: '/cpu:0', compute_micros: 0, memory_bytes: 100, output_bytes: 0 },
        'b/y': { device: '/cpu:0', compute_micros: 0, memory_bytes: 400, output_bytes: 0 },
      },
    };
    const memory = colorItems(h, view, 'memory', stats, null);
    expect(memory.fill.get('g2')).toBe(rampColor(1));
    expect(memory.fill.get('g1')).toBe(rampColor(0.25));
    expect(memory.legend!.max).toBe('400 B');
  });
});

describe('graph choice', () => {
  const torchRun: RunInfo = {
    run: 'r',
    run_graph: true,
    tags: { step1: { tag: 'step1', conceptual_graph: false, op_graph: false, profile: true } },
  };
  const kerasRun: RunInfo = {
    run: 'k',
    run_graph: false,
    tags: { keras: { tag: 'keras', conceptual_graph: true, op_graph: false, profile: false } },
  };

  it('offers the run graph first, then tags, with the kinds each has', () => {
    expect(tagsOf(torchRun)).toEqual([null, 'step1']);
    expect(kindsOf(torchRun, null)).toEqual(['op']);
    expect(kindsOf(torchRun, 'step1')).toEqual(['op', 'profile']);
    expect(kindsOf(kerasRun, 'keras')).toEqual(['conceptual']);
    expect(tagsOf(kerasRun)).toEqual(['keras']);
  });

  it('asks for the right graph and stats', () => {
    expect(graphQuery(torchRun, 'step1', 'profile')).toEqual({ query: { run: 'r' }, statsTag: 'step1' });
    expect(graphQuery(torchRun, null, 'op')).toEqual({ query: { run: 'r' }, statsTag: 'step1' });
    expect(graphQuery(kerasRun, 'keras', 'conceptual')).toEqual({
      query: { run: 'k', tag: 'keras', conceptual: 'true' },
      statsTag: null,
    });
  });
});

describe('layout input', () => {
  it('nests expanded metanodes and puts edges in their lowest common group', () => {
    const h = buildHierarchy(NODES);
    const view = visibleGraph(h, new Set([2]));
    const root = elkGraph(h, view);
    expect(root.children!.map((c) => c.id).sort()).toEqual(['g1', 'g2', 'g5']);
    const net = root.children!.find((c) => c.id === 'g2')!;
    expect(net.children!.map((c) => c.id).sort()).toEqual(['g3', 'g4', 'n6']);
    expect(net.edges!.length).toBe(3); // enc->dec, enc->add, dec->add
    expect(root.edges!.length).toBe(view.edges.length - 3);
    for (const child of net.children!) expect(child.width).toBeGreaterThan(0);
  });

  it('reads boxes and polylines back', () => {
    const layout = readLayout({
      id: 'root',
      width: 100,
      height: 50,
      children: [{ id: 'g1', x: 1, y: 2, width: 3, height: 4, children: [{ id: 'n0', x: 5, y: 6, width: 7, height: 8 }] }],
      edges: [
        {
          id: 'e0',
          sources: ['n0'],
          targets: ['g1'],
          sections: [{ id: 's', startPoint: { x: 0, y: 0 }, endPoint: { x: 2, y: 2 }, bendPoints: [{ x: 1, y: 0 }] }],
        },
      ],
    });
    expect(layout.nodes.get('n0')).toEqual({ x: 5, y: 6, width: 7, height: 8 });
    expect(layout.edges.get('e0')).toEqual([
      [0, 0],
      [1, 0],
      [2, 2],
    ]);
    expect([layout.width, layout.height]).toEqual([100, 50]);
  });
});

describe('isAnswerTo', () => {
  const answer = (run: string, tag: string | null, kind: 'op' | 'conceptual'): GraphJson => ({
    run,
    tag,
    kind,
    key: 'k',
    dangling: 0,
    nodes: [],
  });

  it('matches the run, tag and kind asked for, and nothing else', () => {
    expect(isAnswerTo(answer('a', null, 'op'), { run: 'a' })).toBe(true);
    expect(isAnswerTo(answer('a', null, 'op'), { run: 'b' })).toBe(false);
    expect(isAnswerTo(answer('a', 'keras', 'conceptual'), { run: 'a', tag: 'keras', conceptual: 'true' })).toBe(true);
    expect(isAnswerTo(answer('a', 'keras', 'op'), { run: 'a', tag: 'keras', conceptual: 'true' })).toBe(false);
    expect(isAnswerTo(answer('a', 't', 'op'), { run: 'a' })).toBe(false);
  });
});

describe('deep names', () => {
  it('builds the hierarchy of a 20,000-scope name without overflowing the stack', () => {
    const name = Array.from({ length: 20_000 }, (_, i) => `s${i}`).join('/');
    const h = buildHierarchy([{ name, op: 'x' }]);
    expect(h.groups.length).toBe(MAX_SCOPE_DEPTH + 1); // the root and 64 scopes
    expect(h.groups[h.parentOf[0]!]!.depth).toBe(MAX_SCOPE_DEPTH);
  });

  it('cuts scopes at MAX_SCOPE_DEPTH and keeps shallow ones whole', () => {
    expect(scopeOf('a/b/c')).toBe('a/b');
    expect(scopeOf('x')).toBe('');
    const deep = Array.from({ length: 100 }, (_, i) => `s${i}`);
    expect(scopeOf(deep.join('/')).split('/')).toHaveLength(MAX_SCOPE_DEPTH);
  });
});

describe('a node named like a scope', () => {
  it('goes inside that scope as "(name)", as TensorBoard renames it', () => {
    const h = buildHierarchy([
      { name: 'a', op: 'Const' },
      { name: 'a/x', op: 'Add', inputs: [[0, 0, 0]] },
      { name: 'b', op: 'Const' },
    ]);
    const a = h.groups.findIndex((g) => g.path === 'a');
    expect(h.parentOf[0]).toBe(a);
    expect(h.groups[a]!.leaves.sort()).toEqual([0, 1]);
    expect(h.groups[a]!.leafCount).toBe(2);
    expect(h.groups[0]!.leaves).toEqual([2]);
    expect(h.groups[0]!.leafCount).toBe(3);
    expect(itemLabel(h, 'n0')).toBe('(a)');
    expect(itemLabel(h, 'n1')).toBe('x');
    expect(itemLabel(h, 'n2')).toBe('b');
  });
});
