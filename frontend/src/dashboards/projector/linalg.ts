/**
 * The projector's linear algebra, on row-major `Float32Array`s of `n × dim` vectors: centring and
 * spherizing, PCA (every row, by subspace iteration on the covariance, or on the data itself when
 * the vectors are long), nearest neighbours, and the custom two-query projection.
 */

/** `n` vectors of `dim` values, row-major. */
export interface Matrix {
  n: number;
  dim: number;
  values: Float32Array;
}

export function mean(m: Matrix): Float64Array {
  const out = new Float64Array(m.dim);
  for (let i = 0; i < m.n; i++) {
    const row = i * m.dim;
    for (let j = 0; j < m.dim; j++) out[j]! += m.values[row + j]!;
  }
  for (let j = 0; j < m.dim; j++) out[j]! /= Math.max(1, m.n);
  return out;
}

/**
 * TensorBoard's "Spherize data": every vector minus the mean, then scaled to unit length (a vector
 * at the mean stays at the origin).
 */
export function spherize(m: Matrix): Matrix {
  const centre = mean(m);
  const values = new Float32Array(m.values.length);
  for (let i = 0; i < m.n; i++) {
    const row = i * m.dim;
    let norm = 0;
    for (let j = 0; j < m.dim; j++) {
      const v = m.values[row + j]! - centre[j]!;
      values[row + j] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    if (norm > 0) for (let j = 0; j < m.dim; j++) values[row + j]! /= norm;
  }
  return { n: m.n, dim: m.dim, values };
}

export interface PcaResult {
  /** Projected coordinates, `n × components` row-major. */
  coords: Float32Array;
  components: number;
  /** Each component's share of the total variance, in [0, 1], largest first. */
  varianceRatio: number[];
}

/** Vectors up to this long: PCA iterates on the `dim × dim` covariance; longer ones on the data. */
const COVARIANCE_MAX_DIM = 512;

/**
 * The first `k` principal components of every row (TensorBoard samples 50,000 rows and 200
 * dimensions; nothing is sampled here). Subspace iteration with Rayleigh–Ritz: deterministic
 * (seeded start), each component's sign fixed so its largest loading is positive.
 */
export function pca(m: Matrix, k = 10): PcaResult {
  const { n, dim } = m;
  const comps = Math.max(0, Math.min(k, dim, n));
  const centre = mean(m);
  const x = new Float64Array(n * dim);
  let total = 0;
  for (let i = 0; i < n * dim; i++) {
    const v = m.values[i]! - centre[i % dim]!;
    x[i] = v;
    total += v * v;
  }
  if (comps === 0 || total === 0) {
    return { coords: new Float32Array(n * comps), components: comps, varianceRatio: new Array<number>(comps).fill(0) };
  }
  const apply = dim <= COVARIANCE_MAX_DIM ? covarianceOperator(x, n, dim) : dataOperator(x, n, dim);
  const width = Math.min(dim, comps + 5);
  const { vectors, values } = topEigen(apply, dim, width, dim <= COVARIANCE_MAX_DIM ? 300 : 30);
  const coords = new Float32Array(n * comps);
  for (let c = 0; c < comps; c++) {
    const v = vectors[c]!;
    for (let i = 0; i < n; i++) {
      let s = 0;
      const row = i * dim;
      for (let j = 0; j < dim; j++) s += x[row + j]! * v[j]!;
      coords[i * comps + c] = s;
    }
  }
  return { coords, components: comps, varianceRatio: values.slice(0, comps).map((v) => Math.max(0, v) / total) };
}

type Operator = (v: Float64Array) => Float64Array;

function covarianceOperator(x: Float64Array, n: number, dim: number): Operator {
  const c = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    for (let a = 0; a < dim; a++) {
      const xa = x[row + a]!;
      if (xa === 0) continue;
      const base = a * dim;
      for (let b = a; b < dim; b++) c[base + b]! += xa * x[row + b]!;
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) c[a * dim + b] = c[b * dim + a]!;
  return (v) => {
    const out = new Float64Array(dim);
    for (let a = 0; a < dim; a++) {
      let s = 0;
      const base = a * dim;
      for (let b = 0; b < dim; b++) s += c[base + b]! * v[b]!;
      out[a] = s;
    }
    return out;
  };
}

/** `v ↦ Xᵀ(X v)` without forming the covariance (long vectors). */
function dataOperator(x: Float64Array, n: number, dim: number): Operator {
  return (v) => {
    const out = new Float64Array(dim);
    for (let i = 0; i < n; i++) {
      const row = i * dim;
      let s = 0;
      for (let j = 0; j < dim; j++) s += x[row + j]! * v[j]!;
      if (s !== 0) for (let j = 0; j < dim; j++) out[j]! += s * x[row + j]!;
    }
    return out;
  };
}

/** A small deterministic generator (mulberry32), for reproducible starts. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function orthonormalize(vectors: Float64Array[]): void {
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i]!;
    const before = Math.sqrt(dot(v, v));
    removeProjections(v, vectors, i);
    let norm = Math.sqrt(dot(v, v));
    // A direction the operator (nearly) kills: any unit vector orthogonal to the others will do.
    for (let e = 0; norm <= 1e-10 * before || !(norm > 0); e++) {
      if (e >= v.length) return; // more vectors than dimensions: cannot happen (width <= dim)
      v.fill(0);
      v[(i + e) % v.length] = 1;
      removeProjections(v, vectors, i);
      norm = Math.sqrt(dot(v, v));
      if (norm > 1e-6) break;
    }
    for (let t = 0; t < v.length; t++) v[t]! /= norm;
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let t = 0; t < a.length; t++) s += a[t]! * b[t]!;
  return s;
}

function removeProjections(v: Float64Array, vectors: Float64Array[], count: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < count; j++) {
      const u = vectors[j]!;
      const d = dot(v, u);
      for (let t = 0; t < v.length; t++) v[t]! -= d * u[t]!;
    }
  }
}

/** Top eigenpairs of a symmetric positive semi-definite operator, largest first. */
function topEigen(apply: Operator, dim: number, width: number, maxIter: number): { vectors: Float64Array[]; values: number[] } {
  const random = seededRandom(42);
  let q: Float64Array[] = Array.from({ length: width }, () => Float64Array.from({ length: dim }, () => random() - 0.5));
  orthonormalize(q);
  let previous: number[] = [];
  let values: number[] = [];
  for (let iter = 0; iter < maxIter; iter++) {
    const z = q.map(apply);
    // Rayleigh–Ritz: values are the diagonal of Qᵀ A Q after rotating; approximate by norms.
    values = z.map((v, i) => {
      let s = 0;
      const u = q[i]!;
      for (let t = 0; t < dim; t++) s += v[t]! * u[t]!;
      return s;
    });
    orthonormalize(z);
    q = z;
    if (previous.length && values.every((v, i) => Math.abs(v - previous[i]!) <= 1e-10 * Math.abs(values[0]!))) break;
    previous = values;
  }
  // Rayleigh–Ritz on the converged subspace, so close eigenvalues come out separated.
  const aq = q.map(apply);
  const t = new Float64Array(width * width);
  for (let i = 0; i < width; i++) {
    for (let j = 0; j < width; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += q[i]![d]! * aq[j]![d]!;
      t[i * width + j] = s;
    }
  }
  const { values: ritz, vectors: rot } = jacobiEigen(t, width);
  const order = ritz.map((_, i) => i).sort((a, b) => ritz[b]! - ritz[a]!);
  const vectors = order.map((c) => {
    const v = new Float64Array(dim);
    for (let i = 0; i < width; i++) {
      const w = rot[i * width + c]!;
      for (let d = 0; d < dim; d++) v[d]! += w * q[i]![d]!;
    }
    let best = 0;
    for (let d = 0; d < dim; d++) if (Math.abs(v[d]!) > Math.abs(v[best]!)) best = d;
    if (v[best]! < 0) for (let d = 0; d < dim; d++) v[d] = -v[d]!;
    return v;
  });
  return { vectors, values: order.map((c) => ritz[c]!) };
}

/** Eigen-decomposition of a small symmetric matrix (cyclic Jacobi); columns of `vectors`. */
export function jacobiEigen(input: Float64Array, size: number): { values: number[]; vectors: Float64Array } {
  const a = Float64Array.from(input);
  const v = new Float64Array(size * size);
  for (let i = 0; i < size; i++) v[i * size + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < size; p++) for (let q = p + 1; q < size; q++) off += a[p * size + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < size; p++) {
      for (let q = p + 1; q < size; q++) {
        const apq = a[p * size + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * size + q]! - a[p * size + p]!) / (2 * apq);
        const tan = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(tan * tan + 1);
        const s = tan * c;
        for (let k = 0; k < size; k++) {
          const akp = a[k * size + p]!;
          const akq = a[k * size + q]!;
          a[k * size + p] = c * akp - s * akq;
          a[k * size + q] = s * akp + c * akq;
        }
        for (let k = 0; k < size; k++) {
          const apk = a[p * size + k]!;
          const aqk = a[q * size + k]!;
          a[p * size + k] = c * apk - s * aqk;
          a[q * size + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < size; k++) {
          const vkp = v[k * size + p]!;
          const vkq = v[k * size + q]!;
          v[k * size + p] = c * vkp - s * vkq;
          v[k * size + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Array.from({ length: size }, (_, i) => a[i * size + i]!), vectors: v };
}

export type Distance = 'cosine' | 'euclidean';

export interface Neighbor {
  index: number;
  distance: number;
}

/**
 * The `k` points nearest to point `index` (itself excluded), nearest first: cosine distance
 * (1 − cosine similarity) or euclidean, over the original vectors, every row searched.
 */
export function nearestNeighbors(m: Matrix, index: number, k: number, distance: Distance): Neighbor[] {
  const { dim, values } = m;
  const base = index * dim;
  let selfNorm = 0;
  for (let j = 0; j < dim; j++) selfNorm += values[base + j]! ** 2;
  selfNorm = Math.sqrt(selfNorm);
  const best: Neighbor[] = [];
  for (let i = 0; i < m.n; i++) {
    if (i === index) continue;
    const row = i * dim;
    let d: number;
    if (distance === 'euclidean') {
      let s = 0;
      for (let j = 0; j < dim; j++) {
        const t = values[row + j]! - values[base + j]!;
        s += t * t;
      }
      d = Math.sqrt(s);
    } else {
      let dot = 0;
      let norm = 0;
      for (let j = 0; j < dim; j++) {
        dot += values[row + j]! * values[base + j]!;
        norm += values[row + j]! ** 2;
      }
      const denominator = Math.sqrt(norm) * selfNorm;
      d = denominator > 0 ? 1 - dot / denominator : 1;
    }
    if (best.length < k || d < best[best.length - 1]!.distance) {
      let at = best.length;
      while (at > 0 && best[at - 1]!.distance > d) at--;
      best.splice(at, 0, { index: i, distance: d });
      if (best.length > k) best.pop();
    }
  }
  return best;
}

/**
 * TensorBoard's custom projection: each axis runs from the centroid of the points one query
 * matches to the centroid of those another matches; every point is projected onto it.
 * An axis with an empty side gives 0 for every point.
 */
export function customProjection(m: Matrix, axes: Array<[number[], number[]]>): Float32Array {
  const out = new Float32Array(m.n * axes.length);
  axes.forEach(([from, to], a) => {
    if (!from.length || !to.length) return;
    const c0 = centroid(m, from);
    const c1 = centroid(m, to);
    const dir = c1.map((v, j) => v - c0[j]!);
    const norm = Math.hypot(...dir);
    if (!(norm > 0)) return;
    for (let i = 0; i < m.n; i++) {
      let s = 0;
      for (let j = 0; j < m.dim; j++) s += (m.values[i * m.dim + j]! - c0[j]!) * dir[j]!;
      out[i * axes.length + a] = s / norm;
    }
  });
  return out;
}

function centroid(m: Matrix, indices: number[]): number[] {
  const out = new Array<number>(m.dim).fill(0);
  for (const i of indices) for (let j = 0; j < m.dim; j++) out[j]! += m.values[i * m.dim + j]!;
  return out.map((v) => v / indices.length);
}
