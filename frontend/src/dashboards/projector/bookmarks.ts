/**
 * Bookmarks: a projection and a selection, saved in the browser (localStorage, per data set), and
 * those of the config's `bookmarks_path` (TensorBoard's saved `State` objects: their label,
 * projection, 3D flag, PCA components and selected points are used).
 */
import type { Method, ProjectionParams } from './useProjection';

export interface Bookmark {
  name: string;
  method: Method;
  dims: 2 | 3;
  pcaAxes: [number, number, number];
  perplexity?: number;
  learningRate?: number;
  neighbors?: number;
  minDist?: number;
  selected: number[];
  /** From the config's bookmarks file (read only), not the browser. */
  fromServer?: boolean;
}

const PREFIX = 'lumiboard.projector.bookmarks:';

export function loadBookmarks(key: string): Bookmark[] {
  try {
    const raw = localStorage.getItem(PREFIX + key);
    const parsed: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(parsed) ? (parsed as Bookmark[]).filter((b) => b && typeof b.name === 'string') : [];
  } catch {
    return [];
  }
}

export function saveBookmarks(key: string, bookmarks: Bookmark[]): void {
  try {
    localStorage.setItem(PREFIX + key, JSON.stringify(bookmarks.filter((b) => !b.fromServer)));
  } catch {
    // storage full or disabled: the bookmarks live until the page closes
  }
}

export function bookmarkOf(name: string, params: ProjectionParams, selected: number[]): Bookmark {
  return {
    name,
    method: params.method,
    dims: params.dims,
    pcaAxes: params.pcaAxes,
    perplexity: params.perplexity,
    learningRate: params.learningRate,
    neighbors: params.neighbors,
    minDist: params.minDist,
    selected: selected.slice(0, 10_000),
  };
}

const METHODS: Record<string, Method> = { pca: 'pca', tsne: 'tsne', umap: 'umap', custom: 'custom' };

/** TensorBoard's bookmarks JSON (a list of `State`) as bookmarks; anything unreadable is skipped. */
export function serverBookmarks(raw: unknown): Bookmark[] {
  if (!Array.isArray(raw)) return [];
  const out: Bookmark[] = [];
  raw.forEach((item: unknown, i) => {
    if (!item || typeof item !== 'object') return;
    const state = item as Record<string, unknown>;
    const axes = Array.isArray(state.pcaComponentDimensions) ? state.pcaComponentDimensions.map(Number) : [0, 1, 2];
    out.push({
      name: typeof state.label === 'string' && state.label ? state.label : `Bookmark ${i + 1}`,
      method: METHODS[String(state.selectedProjection ?? 'pca')] ?? 'pca',
      dims: state.is3d === true || (state.is3d === undefined && axes.length === 3) ? 3 : 2,
      pcaAxes: [axes[0] ?? 0, axes[1] ?? 1, axes[2] ?? 2],
      ...(typeof state.tSNEPerplexity === 'number' ? { perplexity: state.tSNEPerplexity } : {}),
      ...(typeof state.tSNELearningRate === 'number' ? { learningRate: state.tSNELearningRate } : {}),
      selected: Array.isArray(state.selectedPoints) ? state.selectedPoints.filter((p): p is number => Number.isInteger(p)) : [],
      fromServer: true,
    });
  });
  return out;
}
