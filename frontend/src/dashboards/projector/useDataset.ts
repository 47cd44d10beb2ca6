/**
 * The embedding shown: its vectors (`/tensor`, every row), its metadata (`/metadata`) and its
 * sprite sheet (`/sprite_image`), fetched when the run, the tensor or its shape changes; or a
 * data set loaded from the user's computer.
 */
import { useEffect, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import type { Matrix } from './linalg';
import { decodeTensor, parseMetadata, parseVectors, type EmbeddingInfo, type Metadata } from './model';
import type { Sprites } from './scatter';

export interface Dataset {
  /** What it is, for keys and bookmarks: `run/tensor`, or `upload:<file>`. */
  key: string;
  matrix: Matrix;
  meta: Metadata | null;
  sprites: Sprites | null;
  /** A problem that did not stop the vectors from loading (bad metadata, sprite ...). */
  warning: string | null;
}

export interface DatasetState {
  data: Dataset | null;
  loading: boolean;
  error: string | null;
}

function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error('the sprite image could not be decoded'));
    image.src = url;
  });
}

/** Thumbnails per row/column of the sheet: TensorBoard's square grid of `singleImageDim` cells. */
export function spriteGrid(image: { width: number; height: number }, single: number[] | undefined, n: number): { columns: number; rows: number } {
  const [w, h] = single && single.length === 2 ? [single[0]!, single[1]!] : [0, 0];
  if (w > 0 && h > 0) return { columns: Math.max(1, Math.round(image.width / w)), rows: Math.max(1, Math.round(image.height / h)) };
  const side = Math.max(1, Math.ceil(Math.sqrt(n)));
  return { columns: side, rows: side };
}

export function useServerDataset(api: DashboardApi, run: string | null, embedding: EmbeddingInfo | null): DatasetState {
  const [state, setState] = useState<DatasetState>({ data: null, loading: false, error: null });
  const name = embedding?.tensorName ?? null;
  const shape = embedding?.tensorShape?.join('x') ?? '';
  const dim = embedding?.tensorShape?.[1] ?? 0;
  const metadataPath = embedding?.metadataPath ?? '';
  const spritePath = embedding?.sprite?.imagePath ?? '';
  const single = embedding?.sprite?.singleImageDim?.join('x') ?? '';
  useEffect(() => {
    if (run === null || name === null) {
      setState({ data: null, loading: false, error: null });
      return undefined;
    }
    const controller = new AbortController();
    const signal = controller.signal;
    setState((old) => ({ ...old, loading: true, error: null }));
    const query = { run, name };
    (async () => {
      // No tensorShape: /info could not read the tensor (a TF checkpoint, HDF5 without h5py, a
      // bad file ...); /tensor's error says why, and is what is shown.
      const buffer = await api.client.arrayBuffer(pluginUrl('projector', 'tensor', query), signal);
      if (dim <= 0) throw new Error(`the tensor of "${name}" could not be read (its shape is unknown)`);
      const matrix = decodeTensor(buffer, dim);
      let meta: Metadata | null = null;
      let sprites: Sprites | null = null;
      const warnings: string[] = [];
      if (metadataPath) {
        try {
          meta = parseMetadata(await api.client.text(pluginUrl('projector', 'metadata', query), signal), matrix.n);
        } catch (error) {
          if (signal.aborted) throw error;
          warnings.push(`metadata: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      if (spritePath) {
        try {
          const image = await loadImage(pluginUrl('projector', 'sprite_image', query));
          sprites = { image, ...spriteGrid(image, embedding?.sprite?.singleImageDim, matrix.n) };
        } catch (error) {
          warnings.push(`sprite: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      if (signal.aborted) return;
      setState({ data: { key: `${run}/${name}`, matrix, meta, sprites, warning: warnings.join('; ') || null }, loading: false, error: null });
    })().catch((error: unknown) => {
      if (signal.aborted) return;
      setState({ data: null, loading: false, error: error instanceof Error ? error.message : String(error) });
    });
    return () => controller.abort();
    // `embedding` is read through the primitives above.
  }, [api, run, name, shape, dim, metadataPath, spritePath, single]);
  return state;
}

/** "Load data from your computer": a TSV of vectors and, optionally, a metadata TSV. */
export async function datasetFromFiles(vectors: File, metadata: File | null): Promise<Dataset> {
  const matrix = parseVectors(await vectors.text());
  const meta = metadata ? parseMetadata(await metadata.text(), matrix.n) : null;
  return { key: `upload:${vectors.name}`, matrix, meta, sprites: null, warning: null };
}
