import { describe, expect, it } from 'vitest';

import { fitTransform, LABEL_PX, READABLE_PX, READABLE_ZOOM, readableFit } from '../src/dashboards/graphs/GraphView';
import { centreOn, minimapGeometry, MINIMAP_MAX, viewportRect } from '../src/dashboards/graphs/Minimap';
import { buildHierarchy, constantValue, visibleGraph, type RawNode } from '../src/dashboards/graphs/model';

// A torch graph: x -> mul(x, 2.0) -> add(., 1) with its two constants, plus an unused constant.
const TORCH: RawNode[] = [
  { name: 'input/x', op: 'IO Node' }, // 0
  { name: 'Net/1', op: 'prim::Constant', attrs: [['value', '2.0']] }, // 1
  { name: 'Net/mul', op: 'aten::mul', inputs: [[0, 0, 0], [1, 0, 0]] }, // 2
  { name: 'Net/2', op: 'prim::Constant', attrs: [['value', '1']] }, // 3
  { name: 'Net/add', op: 'aten::add', inputs: [[2, 0, 0], [3, 0, 0]] }, // 4
  { name: 'Net/3', op: 'prim::Constant' }, // 5: no consumer, stays
];

describe('torch constants', () => {
  it('folds prim::Constant nodes into their consumer', () => {
    const h = buildHierarchy(TORCH);
    const view = visibleGraph(h, new Set([2]));
    expect(view.constants).toBe(2);
    const net = view.children.get(2)!.map((id) => h.nodes[Number(id.slice(1))]!.name).sort();
    expect(net).toEqual(['Net/3', 'Net/add', 'Net/mul']);
    // No edge starts at a folded constant; it stands with its consumer.
    expect(view.edges.map((e) => `${e.source}>${e.target}`).sort()).toEqual(['g1>n2', 'n2>n4']);
    expect(view.rep[1]).toBe('n2');
    expect(view.rep[3]).toBe('n4');
    expect(constantValue(h, 1)).toBe(' 2.0');
  });

  it('draws them all when folding is off', () => {
    const h = buildHierarchy(TORCH);
    const view = visibleGraph(h, new Set([2]), false);
    expect(view.constants).toBe(0);
    expect(view.children.get(2)).toHaveLength(5);
  });
});

describe('fit keeps labels readable', () => {
  it('fits a small graph as before', () => {
    const box = { x: 0, y: 0, width: 400, height: 300 };
    const { transform, clamped } = readableFit(box, 1000, 800);
    expect(clamped).toBe(false);
    expect(transform).toEqual(fitTransform(box, 1000, 800));
  });

  it('stops at a readable zoom for a big graph, showing its start', () => {
    const box = { x: 0, y: 0, width: 600, height: 20000 };
    expect(fitTransform(box, 1000, 800).k * LABEL_PX).toBeLessThan(READABLE_PX);
    const { transform, clamped } = readableFit(box, 1000, 800);
    expect(clamped).toBe(true);
    expect(transform.k).toBeCloseTo(READABLE_ZOOM);
    expect(transform.k * LABEL_PX).toBeGreaterThanOrEqual(READABLE_PX - 1e-9);
    // Narrow enough to centre across, too tall: the top is at the margin.
    expect(transform.x).toBeCloseTo((1000 - 600 * transform.k) / 2);
    expect(transform.y).toBeCloseTo(24);
  });
});

describe('minimap', () => {
  it('scales the whole layout into its box, keeping the aspect', () => {
    const g = minimapGeometry(2000, 500);
    expect(g.width).toBeCloseTo(MINIMAP_MAX.width);
    expect(g.height).toBeCloseTo(45);
    expect(g.scale).toBeCloseTo(0.09);
  });

  it('maps the view to a rectangle and a click back to a centred view', () => {
    const t = { x: -100, y: -50, k: 2 };
    expect(viewportRect(t, { width: 800, height: 600 })).toEqual({ x: 50, y: 25, width: 400, height: 300 });
    const centred = centreOn(250, 175, 2, { width: 800, height: 600 });
    // The centre of the new view is the clicked graph point.
    const r = viewportRect(centred, { width: 800, height: 600 });
    expect(r.x + r.width / 2).toBeCloseTo(250);
    expect(r.y + r.height / 2).toBeCloseTo(175);
    expect(centred.k).toBe(2);
  });
});
