/**
 * Barnes–Hut t-SNE (van der Maaten 2014) in 2 or 3 dimensions, one iteration per `step()`, so a
 * worker can animate it and pause between iterations.
 *
 * - Input affinities: each point's `3 × perplexity` nearest neighbours (exact, brute force),
 *   Gaussian bandwidths found by bisection to match the perplexity, then symmetrized.
 * - Gradient: attraction over those sparse affinities; repulsion through a 2^d-tree (quadtree
 *   or octree) whose far cells stand in for their points when `cell size / distance < θ`.
 * - Early exaggeration (×12) for the first iterations, momentum 0.5 then 0.8, per-coordinate gains.
 */
import { seededRandom, type Matrix } from './linalg';

export interface TsneOptions {
  dimensions: 2 | 3;
  perplexity: number;
  learningRate: number;
  seed?: number;
  theta?: number;
}

const EXAGGERATION = 12;
const EXAGGERATION_ITERATIONS = 100;
const MOMENTUM_SWITCH = 100;

export class Tsne {
  readonly n: number;
  readonly dims: 2 | 3;
  /** Current embedding, `n × dims` row-major. */
  readonly y: Float64Array;
  iteration = 0;
  private readonly rows: Int32Array;
  private readonly cols: Int32Array;
  private readonly vals: Float64Array;
  private readonly gains: Float64Array;
  private readonly update: Float64Array;
  private readonly grad: Float64Array;
  private readonly learningRate: number;
  private readonly theta: number;

  constructor(data: Matrix, options: TsneOptions) {
    this.n = data.n;
    this.dims = options.dimensions;
    this.learningRate = options.learningRate;
    this.theta = options.theta ?? 0.5;
    const sparse = affinities(data, options.perplexity);
    this.rows = sparse.rows;
    this.cols = sparse.cols;
    this.vals = sparse.vals;
    const random = seededRandom(options.seed ?? 1);
    this.y = new Float64Array(this.n * this.dims);
    for (let i = 0; i < this.y.length; i++) this.y[i] = gaussian(random) * 1e-4;
    this.gains = new Float64Array(this.y.length).fill(1);
    this.update = new Float64Array(this.y.length);
    this.grad = new Float64Array(this.y.length);
  }

  step(): void {
    const { n, dims, y, grad } = this;
    if (n < 2) {
      this.iteration++;
      return;
    }
    const exaggeration = this.iteration < EXAGGERATION_ITERATIONS ? EXAGGERATION : 1;
    const momentum = this.iteration < MOMENTUM_SWITCH ? 0.5 : 0.8;
    grad.fill(0);
    // Repulsion (unnormalized), and Z, through the tree.
    const tree = buildTree(y, n, dims);
    const repulse = new Float64Array(dims);
    let z = 0;
    for (let i = 0; i < n; i++) {
      repulse.fill(0);
      z += repulsion(tree, y, i, dims, this.theta * this.theta, repulse);
      for (let d = 0; d < dims; d++) grad[i * dims + d] = -repulse[d]!;
    }
    z = Math.max(z, 1e-12);
    for (let i = 0; i < grad.length; i++) grad[i]! /= z;
    // Attraction over the sparse affinities.
    for (let i = 0; i < n; i++) {
      for (let e = this.rows[i]!; e < this.rows[i + 1]!; e++) {
        const j = this.cols[e]!;
        let dist = 0;
        for (let d = 0; d < dims; d++) {
          const t = y[i * dims + d]! - y[j * dims + d]!;
          dist += t * t;
        }
        const force = (exaggeration * this.vals[e]!) / (1 + dist);
        for (let d = 0; d < dims; d++) grad[i * dims + d]! += force * (y[i * dims + d]! - y[j * dims + d]!);
      }
    }
    // Gains, momentum, update (the constant 4 of the gradient folded into the step).
    for (let i = 0; i < y.length; i++) {
      const g = 4 * grad[i]!;
      const gain = Math.sign(g) !== Math.sign(this.update[i]!) ? this.gains[i]! + 0.2 : this.gains[i]! * 0.8;
      this.gains[i] = Math.max(gain, 0.01);
      this.update[i] = momentum * this.update[i]! - this.learningRate * this.gains[i]! * g;
      y[i]! += this.update[i]!;
    }
    // Keep the embedding centred.
    for (let d = 0; d < dims; d++) {
      let m = 0;
      for (let i = 0; i < n; i++) m += y[i * dims + d]!;
      m /= n;
      for (let i = 0; i < n; i++) y[i * dims + d]! -= m;
    }
    this.iteration++;
  }
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Symmetric sparse P (CSR), summing to 1, from each point's nearest neighbours. */
export function affinities(data: Matrix, perplexity: number): { rows: Int32Array; cols: Int32Array; vals: Float64Array } {
  const { n, dim, values } = data;
  const k = Math.max(1, Math.min(n - 1, Math.floor(3 * perplexity)));
  const target = Math.log(Math.min(perplexity, Math.max(1, (n - 1) / 3)));
  const nbr = new Int32Array(n * k);
  const dist = new Float64Array(n * k);
  const bestD = new Float64Array(k);
  const bestI = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    let count = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let t = 0; t < dim; t++) {
        const v = values[i * dim + t]! - values[j * dim + t]!;
        s += v * v;
      }
      if (count < k || s < bestD[count - 1]!) {
        let at = count < k ? count++ : k - 1;
        while (at > 0 && bestD[at - 1]! > s) {
          bestD[at] = bestD[at - 1]!;
          bestI[at] = bestI[at - 1]!;
          at--;
        }
        bestD[at] = s;
        bestI[at] = j;
      }
    }
    nbr.set(bestI.subarray(0, k), i * k);
    dist.set(bestD.subarray(0, k), i * k);
  }
  // Conditional p(j|i) by bisection on the Gaussian precision.
  const cond = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let beta = 1;
    let lo = 0;
    let hi = Infinity;
    const d0 = dist[i * k]!; // subtract the smallest distance: no underflow
    for (let tries = 0; tries < 64; tries++) {
      let sum = 0;
      let weighted = 0;
      for (let t = 0; t < k; t++) {
        const p = Math.exp(-beta * (dist[i * k + t]! - d0));
        cond[i * k + t] = p;
        sum += p;
        weighted += p * (dist[i * k + t]! - d0);
      }
      const entropy = Math.log(sum) + (beta * weighted) / sum;
      for (let t = 0; t < k; t++) cond[i * k + t]! /= sum;
      const diff = entropy - target;
      if (Math.abs(diff) < 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = (beta + lo) / 2;
      }
    }
  }
  // Symmetrize: P = (P_cond + P_condᵀ) / 2n.
  const maps: Array<Map<number, number>> = Array.from({ length: n }, () => new Map());
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const j = nbr[i * k + t]!;
      const p = cond[i * k + t]! / (2 * n);
      maps[i]!.set(j, (maps[i]!.get(j) ?? 0) + p);
      maps[j]!.set(i, (maps[j]!.get(i) ?? 0) + p);
    }
  }
  const rows = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) rows[i + 1] = rows[i]! + maps[i]!.size;
  const cols = new Int32Array(rows[n]!);
  const vals = new Float64Array(rows[n]!);
  for (let i = 0; i < n; i++) {
    let e = rows[i]!;
    for (const [j, p] of maps[i]!) {
      cols[e] = j;
      vals[e] = p;
      e++;
    }
  }
  return { rows, cols, vals };
}

/** A cell of the 2^d-tree: its bounds, its points' centre of mass and count. */
interface Cell {
  centre: Float64Array;
  half: number;
  mass: Float64Array;
  count: number;
  /** A leaf's single point (-1 when empty or internal). */
  point: number;
  children: Array<Cell | null> | null;
}

const MAX_DEPTH = 48;

function buildTree(y: Float64Array, n: number, dims: number): Cell {
  const lo = new Float64Array(dims).fill(Infinity);
  const hi = new Float64Array(dims).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dims; d++) {
      lo[d] = Math.min(lo[d]!, y[i * dims + d]!);
      hi[d] = Math.max(hi[d]!, y[i * dims + d]!);
    }
  }
  let half = 0;
  const centre = new Float64Array(dims);
  for (let d = 0; d < dims; d++) {
    centre[d] = (lo[d]! + hi[d]!) / 2;
    half = Math.max(half, (hi[d]! - lo[d]!) / 2);
  }
  const root = newCell(centre, half * 1.0001 + 1e-9, dims);
  for (let i = 0; i < n; i++) insert(root, y, i, dims, 0);
  return root;
}

function newCell(centre: Float64Array, half: number, dims: number): Cell {
  return { centre, half, mass: new Float64Array(dims), count: 0, point: -1, children: null };
}

function insert(cell: Cell, y: Float64Array, i: number, dims: number, depth: number): void {
  for (let d = 0; d < dims; d++) cell.mass[d] = (cell.mass[d]! * cell.count + y[i * dims + d]!) / (cell.count + 1);
  cell.count++;
  if (cell.children === null) {
    if (cell.count === 1 || depth >= MAX_DEPTH) {
      if (cell.count === 1) cell.point = i;
      return; // a leaf; at the depth limit, duplicates share it
    }
    // Split: push the leaf's point down, then this one.
    cell.children = new Array<Cell | null>(1 << dims).fill(null);
    const old = cell.point;
    cell.point = -1;
    if (old >= 0) insertChild(cell, y, old, dims, depth);
  }
  insertChild(cell, y, i, dims, depth);
}

function insertChild(cell: Cell, y: Float64Array, i: number, dims: number, depth: number): void {
  let index = 0;
  for (let d = 0; d < dims; d++) if (y[i * dims + d]! > cell.centre[d]!) index |= 1 << d;
  let child = cell.children![index] ?? null;
  if (child === null) {
    const half = cell.half / 2;
    const centre = new Float64Array(dims);
    for (let d = 0; d < dims; d++) centre[d] = cell.centre[d]! + ((index >> d) & 1 ? half : -half);
    child = newCell(centre, half, dims);
    cell.children![index] = child;
  }
  insert(child, y, i, dims, depth + 1);
}

/** Adds point i's unnormalized repulsion into `out`; returns its share of Z. */
function repulsion(cell: Cell, y: Float64Array, i: number, dims: number, theta2: number, out: Float64Array): number {
  if (cell.count === 0 || (cell.children === null && cell.point === i && cell.count === 1)) return 0;
  let dist = 0;
  for (let d = 0; d < dims; d++) {
    const t = y[i * dims + d]! - cell.mass[d]!;
    dist += t * t;
  }
  const size = 2 * cell.half;
  if (cell.children === null || size * size < theta2 * dist) {
    // A leaf, or far enough: the whole cell acts as one point (minus i itself, if it is in it).
    let count = cell.count;
    if (cell.children === null && cell.point === i) count -= 1;
    if (count <= 0) return 0;
    const q = 1 / (1 + dist);
    const mult = count * q * q;
    for (let d = 0; d < dims; d++) out[d]! += mult * (y[i * dims + d]! - cell.mass[d]!);
    return count * q;
  }
  let z = 0;
  for (const child of cell.children) if (child) z += repulsion(child, y, i, dims, theta2, out);
  return z;
}
