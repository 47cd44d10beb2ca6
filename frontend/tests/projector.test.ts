import { describe, expect, it } from 'vitest';

import { customProjection, nearestNeighbors, pca, seededRandom, spherize, type Matrix } from '../src/dashboards/projector/linalg';
import { colorScheme, decodeTensor, parseMetadata, parseVectors, searchPoints, summarize } from '../src/dashboards/projector/model';
import { Tsne } from '../src/dashboards/projector/tsne';

function gaussianClusters(perCluster: number, dim: number, clusters: number, spread = 0.3, seed = 3): { m: Matrix; labels: string[] } {
  const random = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dim }, () => normal() * 3));
  const values = new Float32Array(perCluster * clusters * dim);
  const labels: string[] = [];
  for (let c = 0; c < clusters; c++) {
    for (let p = 0; p < perCluster; p++) {
      const i = c * perCluster + p;
      for (let d = 0; d < dim; d++) values[i * dim + d] = centres[c]![d]! + normal() * spread;
      labels.push(`c${c}`);
    }
  }
  return { m: { n: perCluster * clusters, dim, values }, labels };
}

describe('pca', () => {
  it('finds the variance ratios of axis-aligned data', () => {
    // Independent coordinates with variances 9 : 4 : 1 (standard deviations 3, 2, 1).
    const random = seededRandom(5);
    const n = 4000;
    const values = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const u = () => Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
      values[i * 3] = 2 * u() + 10;
      values[i * 3 + 1] = 3 * u();
      values[i * 3 + 2] = u();
    }
    const result = pca({ n, dim: 3, values }, 3);
    expect(result.components).toBe(3);
    const [a, b, c] = result.varianceRatio;
    expect(a).toBeCloseTo(9 / 14, 1);
    expect(b).toBeCloseTo(4 / 14, 1);
    expect(c).toBeCloseTo(1 / 14, 1);
    expect(a! + b! + c!).toBeCloseTo(1, 6);
    // The first component is the y axis (largest variance): coordinates are centred y.
    let sx = 0;
    for (let i = 0; i < n; i++) sx += result.coords[i * 3]! * values[i * 3 + 1]!;
    expect(sx).toBeGreaterThan(0);
  });

  it('puts exact rank-2 data in two components', () => {
    const n = 50;
    const values = new Float32Array(n * 6);
    for (let i = 0; i < n; i++) {
      const s = Math.sin(i), t = Math.cos(3 * i);
      [s, t, s + t, s - t, 2 * s, 0].forEach((v, j) => (values[i * 6 + j] = v));
    }
    const result = pca({ n, dim: 6, values }, 4);
    expect(result.varianceRatio[0]! + result.varianceRatio[1]!).toBeCloseTo(1, 5);
    expect(result.varianceRatio[2]!).toBeLessThan(1e-6);
  });

  it('works on long vectors through the data operator', () => {
    const { m } = gaussianClusters(20, 600, 2, 0.1);
    const result = pca(m, 2);
    expect(result.varianceRatio[0]!).toBeGreaterThan(0.8);
  });
});

describe('t-SNE', () => {
  it('separates well-separated clusters (2D and 3D)', () => {
    const { m, labels } = gaussianClusters(60, 20, 3);
    for (const dimensions of [2, 3] as const) {
      const tsne = new Tsne(m, { dimensions, perplexity: 15, learningRate: 50, seed: 2 });
      for (let i = 0; i < 300; i++) tsne.step();
      const coords = new Float32Array(m.n * 3);
      for (let i = 0; i < m.n; i++) for (let d = 0; d < dimensions; d++) coords[i * 3 + d] = tsne.y[i * dimensions + d]!;
      const summary = summarize(coords, m.n, labels);
      expect(summary.separation!).toBeGreaterThan(4);
      expect(Number.isFinite(summary.checksum)).toBe(true);
    }
  });

  it('survives duplicate points', () => {
    const values = new Float32Array(20 * 2).fill(1);
    const tsne = new Tsne({ n: 20, dim: 2, values }, { dimensions: 2, perplexity: 5, learningRate: 10 });
    for (let i = 0; i < 20; i++) tsne.step();
    expect(tsne.y.every(Number.isFinite)).toBe(true);
  });
});

describe('neighbours and projections', () => {
  const m: Matrix = { n: 4, dim: 2, values: Float32Array.from([1, 0, 2, 0.1, 0, 1, -1, 0]) };
  it('ranks by euclidean and cosine distance', () => {
    const euclid = nearestNeighbors(m, 0, 2, 'euclidean');
    expect(euclid.map((x) => x.index)).toEqual([1, 2]);
    expect(euclid[0]!.distance).toBeCloseTo(Math.hypot(1, 0.1), 6);
    const cosine = nearestNeighbors(m, 0, 3, 'cosine');
    expect(cosine.map((x) => x.index)).toEqual([1, 2, 3]);
    expect(cosine[1]!.distance).toBeCloseTo(1, 6);
    expect(cosine[2]!.distance).toBeCloseTo(2, 6);
  });
  it('finds neighbours in the same cluster', () => {
    const { m: data, labels } = gaussianClusters(50, 16, 3);
    for (const metric of ['cosine', 'euclidean'] as const) {
      const found = nearestNeighbors(data, 75, 10, metric);
      expect(found.every((x) => labels[x.index] === labels[75])).toBe(true);
    }
  });
  it('spherizes to unit vectors around the mean', () => {
    const s = spherize(m);
    for (let i = 0; i < 4; i++) expect(Math.hypot(s.values[i * 2]!, s.values[i * 2 + 1]!)).toBeCloseTo(1, 5);
  });
  it('projects onto the axis between two centroids', () => {
    const out = customProjection(m, [[[3], [0, 1]], [[], [2]]]);
    expect(out[3 * 2]).toBeCloseTo(0, 6); // point 3 is the "from" centroid
    expect(out[1]).toBe(0); // the empty Y axis
    expect(out[0]! > out[3 * 2]!).toBe(true);
  });
});

describe('TSV and metadata', () => {
  it('parses vectors and names bad lines', () => {
    const m = parseVectors('1\t2\n\n3\t4\r\n');
    expect([m.n, m.dim, ...m.values]).toEqual([2, 2, 1, 2, 3, 4]);
    expect(() => parseVectors('1\t2\n3\n')).toThrow(/line 2: 1 values/);
    expect(() => parseVectors('1\t2\n3\tx\n')).toThrow(/line 2, column 2/);
    expect(() => parseVectors('1\tNaN\n')).toThrow(/line 1, column 2/);
    expect(() => parseVectors('\n')).toThrow(/no vectors/);
  });
  it('reads one-column metadata without a header, several with one', () => {
    expect(parseMetadata('a\nb\n', 3)).toEqual({ columns: ['label'], rows: [['a'], ['b'], ['']] });
    const meta = parseMetadata('label\tsize\nx\t1\ny\t2\n', 2);
    expect(meta.columns).toEqual(['label', 'size']);
    expect(meta.rows[1]).toEqual(['y', '2']);
    expect(() => parseMetadata('a\nb\nc\n', 2)).toThrow(/3 rows/);
  });
  it('decodes the tensor route', () => {
    const m = decodeTensor(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer, 3);
    expect([m.n, m.dim]).toEqual([2, 3]);
    expect(() => decodeTensor(new ArrayBuffer(10), 3)).toThrow();
  });
  it('colours categories, gradients, or neither', () => {
    const few = parseMetadata('k\tv\na\t1\nb\t2\na\t3\n', null);
    const scheme = colorScheme(few, 0);
    expect(scheme.kind).toBe('categorical');
    if (scheme.kind === 'categorical') expect(scheme.legend.map((x) => [x.value, x.count])).toEqual([['a', 2], ['b', 1]]);
    const many = { columns: ['v'], rows: Array.from({ length: 30 }, (_, i) => [String(i)]) };
    expect(colorScheme(many, 0)).toEqual({ kind: 'gradient', min: 0, max: 29 });
    const words = { columns: ['w'], rows: Array.from({ length: 30 }, (_, i) => [`w${i}`]) };
    expect(colorScheme(words, 0).kind).toBe('none');
  });
  it('searches by substring or regex', () => {
    const meta = parseMetadata('Cat\ndog\ncatalog\n', null);
    expect(searchPoints(meta, 0, 'cat', false)).toEqual([0, 2]);
    expect(searchPoints(meta, 0, '^cat$', true)).toEqual([0]);
    expect(() => searchPoints(meta, 0, '(', true)).toThrow();
    // A pattern that backtracks catastrophically is refused before it runs over the labels.
    expect(() => searchPoints(meta, 0, '(.|.|.)*x', true)).toThrow(/repeated group/);
  });
});
