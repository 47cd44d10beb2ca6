/**
 * The projector's data model, free of the DOM: the routes' shapes, TSV parsing (the server's
 * metadata, and files loaded from the user's computer), colouring by a metadata column, search,
 * and a summary of the projected coordinates (what the browser tests read).
 */
import { compileRegex } from '../../core/regex';
import type { Matrix } from './linalg';

/** `/info`'s embedding (TensorBoard's EmbeddingInfo as JSON, camelCase). */
export interface EmbeddingInfo {
  tensorName: string;
  tensorPath?: string;
  tensorShape?: number[];
  metadataPath?: string;
  bookmarksPath?: string;
  sprite?: { imagePath?: string; singleImageDim?: number[] };
}

export interface ProjectorConfig {
  embeddings?: EmbeddingInfo[];
  modelCheckpointPath?: string;
}

/** Metadata: column names and one row of cells per point. */
export interface Metadata {
  columns: string[];
  rows: string[][];
}

/**
 * A metadata TSV as TensorBoard reads it: with one column there is no header (every line is a
 * label); with several, the first line names the columns. `expected` points: missing rows become
 * empty cells, extra rows are an error.
 */
export function parseMetadata(text: string, expected: number | null): Metadata {
  const lines = text.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const multi = lines.length > 0 && lines[0]!.includes('\t');
  const columns = multi ? lines[0]!.split('\t') : ['label'];
  const body = multi ? lines.slice(1) : lines;
  if (expected !== null && body.length > expected) {
    throw new Error(`the metadata has ${body.length} rows but the tensor has ${expected} points`);
  }
  const rows = body.map((line) => {
    const cells = multi ? line.split('\t') : [line];
    while (cells.length < columns.length) cells.push('');
    return cells.slice(0, columns.length);
  });
  if (expected !== null) while (rows.length < expected) rows.push(columns.map(() => ''));
  return { columns, rows };
}

/** A TSV of vectors (from the user's computer): one point per line; errors name the line. */
export function parseVectors(text: string): Matrix {
  const rows: number[][] = [];
  let dim = -1;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (!line.trim()) continue;
    const cells = line.split('\t');
    if (dim < 0) dim = cells.length;
    if (cells.length !== dim) throw new Error(`line ${i + 1}: ${cells.length} values, but the first row has ${dim}`);
    const row = cells.map((cell, c) => {
      const value = cell.trim() === '' ? NaN : Number(cell);
      if (!Number.isFinite(value)) throw new Error(`line ${i + 1}, column ${c + 1}: ${JSON.stringify(cell)} is not a finite number`);
      return value;
    });
    rows.push(row);
  }
  if (!rows.length) throw new Error('the file holds no vectors');
  const values = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => values.set(row, i * dim));
  return { n: rows.length, dim, values };
}

/** Raw little-endian float32 (the `/tensor` route) as a matrix of `dim`-long rows. */
export function decodeTensor(buffer: ArrayBuffer, dim: number): Matrix {
  if (dim <= 0 || buffer.byteLength % (4 * dim) !== 0) {
    throw new Error(`the tensor holds ${buffer.byteLength} bytes, not rows of ${dim} float32`);
  }
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  let values: Float32Array;
  if (little) values = new Float32Array(buffer.slice(0));
  else {
    const view = new DataView(buffer);
    values = new Float32Array(buffer.byteLength / 4);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
  }
  return { n: values.length / dim, dim, values };
}

// ---- colours ---------------------------------------------------------------------------

/** Categorical colours (distinct values ≤ this): TensorBoard's limit is 20 too. */
export const MAX_CATEGORIES = 20;

const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
  '#bcbd22', '#17becf', '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94',
  '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5',
];

export type ColorScheme =
  | { kind: 'categorical'; legend: Array<{ value: string; color: string; count: number }> }
  | { kind: 'gradient'; min: number; max: number }
  | { kind: 'none'; reason: string };

/** How a column colours the points: categories (≤ 20 values), a numeric gradient, or not at all. */
export function colorScheme(meta: Metadata, column: number): ColorScheme {
  const counts = new Map<string, number>();
  for (const row of meta.rows) counts.set(row[column] ?? '', (counts.get(row[column] ?? '') ?? 0) + 1);
  if (counts.size <= MAX_CATEGORIES) {
    const values = [...counts.keys()].sort(compareValues);
    return { kind: 'categorical', legend: values.map((value, i) => ({ value, color: PALETTE[i % PALETTE.length]!, count: counts.get(value)! })) };
  }
  let min = Infinity;
  let max = -Infinity;
  for (const row of meta.rows) {
    const cell = row[column] ?? '';
    const v = Number(cell);
    if (cell.trim() === '' || !Number.isFinite(v)) {
      return { kind: 'none', reason: `more than ${MAX_CATEGORIES} distinct values, and not all numbers` };
    }
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { kind: 'gradient', min, max };
}

function compareValues(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `#rrggbb` as linear-free 0–1 RGB (the canvas draws sRGB values as given). */
export function hexToRgb(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1), 16);
  return [((v >> 16) & 255) / 255, ((v >> 8) & 255) / 255, (v & 255) / 255];
}

/** Blue to red through yellow (colour-blind friendly enough for a value ramp). */
export function gradientColor(t: number): [number, number, number] {
  const stops: Array<[number, number, number]> = [
    [0.19, 0.21, 0.58],
    [0.27, 0.6, 0.76],
    [0.99, 0.87, 0.44],
    [0.84, 0.19, 0.15],
  ];
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** Per-point RGB (`n × 3`, 0–1) for a scheme; `fallback` when there is no scheme. */
export function pointColors(n: number, meta: Metadata | null, column: number | null, scheme: ColorScheme | null, fallback: string): Float32Array {
  const out = new Float32Array(n * 3);
  const base = hexToRgb(fallback);
  const byValue = new Map<string, [number, number, number]>();
  if (scheme?.kind === 'categorical') for (const item of scheme.legend) byValue.set(item.value, hexToRgb(item.color));
  for (let i = 0; i < n; i++) {
    let rgb = base;
    const cell = meta && column !== null ? (meta.rows[i]?.[column] ?? '') : null;
    if (cell !== null && scheme?.kind === 'categorical') rgb = byValue.get(cell) ?? base;
    else if (cell !== null && scheme?.kind === 'gradient') {
      const span = scheme.max - scheme.min;
      rgb = gradientColor(span > 0 ? (Number(cell) - scheme.min) / span : 0.5);
    }
    out.set(rgb, i * 3);
  }
  return out;
}

// ---- search ----------------------------------------------------------------------------

/** A regex search refused: invalid, or one that could backtrack catastrophically. */
function searchRegex(query: string): RegExp {
  const compiled = compileRegex(query, 'i');
  if (typeof compiled === 'string') throw new Error(compiled);
  return compiled;
}

/**
 * Points whose `column` cell matches `query`: a regular expression when `regex` (case
 * insensitive; an invalid one, or one that could freeze the tab by backtracking over every
 * label, throws), else a case-insensitive substring. Empty query: none.
 */
export function searchPoints(meta: Metadata, column: number, query: string, regex: boolean): number[] {
  if (!query) return [];
  const test = regex
    ? ((pattern) => (s: string) => pattern.test(s))(searchRegex(query))
    : ((needle) => (s: string) => s.toLowerCase().includes(needle))(query.toLowerCase());
  const out: number[] = [];
  meta.rows.forEach((row, i) => {
    if (test(row[column] ?? '')) out.push(i);
  });
  return out;
}

// ---- a summary of the picture ------------------------------------------------------------

export interface ProjectionSummary {
  /** Points projected. */
  n: number;
  /** Centroid of each category of the colour column (first 20). */
  centroids: Record<string, number[]>;
  /**
   * Mean distance between category centroids over the mean distance of a point to its own
   * category's centroid: ≫ 1 when the categories form separate clusters (null: no categories).
   */
  separation: number | null;
  /** A checksum of the coordinates: changes whenever the picture does. */
  checksum: number;
}

export function summarize(coords: Float32Array, n: number, labels: string[] | null): ProjectionSummary {
  let checksum = 0;
  for (let i = 0; i < coords.length; i++) checksum = (checksum + coords[i]! * ((i % 7) + 1)) % 1e9;
  const summary: ProjectionSummary = { n, centroids: {}, separation: null, checksum: Math.round(checksum * 1e3) / 1e3 };
  if (!labels) return summary;
  const sums = new Map<string, { sum: number[]; count: number }>();
  for (let i = 0; i < n; i++) {
    const key = labels[i] ?? '';
    const entry = sums.get(key) ?? { sum: [0, 0, 0], count: 0 };
    for (let d = 0; d < 3; d++) entry.sum[d]! += coords[i * 3 + d]!;
    entry.count++;
    sums.set(key, entry);
  }
  if (sums.size < 2 || sums.size > MAX_CATEGORIES) return summary;
  const centres = new Map([...sums].map(([key, e]) => [key, e.sum.map((s) => s / e.count)]));
  let within = 0;
  for (let i = 0; i < n; i++) {
    const c = centres.get(labels[i] ?? '')!;
    within += Math.hypot(coords[i * 3]! - c[0]!, coords[i * 3 + 1]! - c[1]!, coords[i * 3 + 2]! - c[2]!);
  }
  within /= n;
  const list = [...centres.values()];
  let between = 0;
  let pairs = 0;
  for (let a = 0; a < list.length; a++) {
    for (let b = a + 1; b < list.length; b++) {
      between += Math.hypot(list[a]![0]! - list[b]![0]!, list[a]![1]! - list[b]![1]!, list[a]![2]! - list[b]![2]!);
      pairs++;
    }
  }
  for (const [key, c] of centres) summary.centroids[key] = c.map((v) => Math.round(v * 1e4) / 1e4);
  summary.separation = within > 0 ? Math.round(((between / pairs) / within) * 1e3) / 1e3 : null;
  return summary;
}
