/**
 * A snapshot's data (`lumiboard snapshot` writes it into the page as
 * `<script type="application/json" id="lumiboard-snapshot">`): what the snapshot is of, the
 * stored answers of the app's routes by request key, and every point of each scalar series.
 * `snapshotData()` is null in the app a server serves.
 */

/** One stored answer: JSON, or bytes (images, audio) as base64 with their media type. */
export type StoredAnswer =
  | { status: number; json: unknown }
  | { status: number; type: string; base64: string };

/** A column: its little-endian dtype (`i4`, `f4`, `f8`) and its bytes as base64. */
export type StoredColumn = [dtype: 'i4' | 'f4' | 'f8', base64: string];

export interface StoredSeries {
  step: StoredColumn;
  wall_time: StoredColumn;
  value: StoredColumn;
}

export interface SnapshotMeta {
  /** The log directory, as given to `lumiboard snapshot`. */
  logdir: string;
  /** When the snapshot was taken (seconds since the epoch). */
  created: number;
  /** The lumiboard version that wrote it. */
  version: string;
  /** The `--runs` and `--tags` regexes, if any. */
  runs: string | null;
  tags: string | null;
  /** The dashboards the snapshot carries. */
  dashboards: string[];
}

export interface SnapshotData {
  format: 1;
  meta: SnapshotMeta;
  responses: Record<string, StoredAnswer>;
  /** tag -> run -> every point. */
  scalars: Record<string, Record<string, StoredSeries>>;
}

declare global {
  interface Window {
    __LUMIBOARD_SNAPSHOT__?: SnapshotData;
  }
}

/** The data block: JSON, or (`data-encoding="gzip-base64"`) gzipped JSON as base64. */
export const ELEMENT_ID = 'lumiboard-snapshot';
/** What the snapshot is of, as JSON: read at once (the banner), while the data decompress. */
export const META_ELEMENT_ID = 'lumiboard-snapshot-meta';

function element(id: string): HTMLElement | null {
  return typeof document === 'undefined' ? null : document.getElementById(id);
}

function loadedData(): SnapshotData | null {
  return typeof window === 'undefined' ? null : (window.__LUMIBOARD_SNAPSHOT__ ?? null);
}

/** Whether this page is a snapshot (rather than the app a server serves). */
export function isSnapshot(): boolean {
  return loadedData() !== null || element(ELEMENT_ID) !== null;
}

let meta: SnapshotMeta | null = null;

/** What the snapshot is of; null when the page is not a snapshot. */
export function snapshotMeta(): SnapshotMeta | null {
  const loaded = loadedData();
  if (loaded) return loaded.meta;
  if (meta === null) {
    const text = element(META_ELEMENT_ID)?.textContent;
    if (text) meta = JSON.parse(text) as SnapshotMeta;
  }
  return meta;
}

/** The snapshot's data once decoded (`snapshotData()` has resolved), else null. */
export function readySnapshot(): SnapshotData | null {
  return loadedData();
}

async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).text();
}

/** The data block's text as data: plain JSON, or gzipped JSON in base64. */
export async function decodeBlock(text: string, encoding: string | null): Promise<SnapshotData> {
  if (encoding === 'gzip-base64') return JSON.parse(await gunzip(base64Bytes(text.trim()))) as SnapshotData;
  if (encoding !== null && encoding !== 'json') throw new Error(`unknown snapshot encoding ${encoding}`);
  return JSON.parse(text) as SnapshotData;
}

let decoding: Promise<SnapshotData> | null = null;

/**
 * The snapshot's data, decoded once (and kept as `window.__LUMIBOARD_SNAPSHOT__`); null when
 * the page is not a snapshot.
 */
export function snapshotData(): Promise<SnapshotData> | null {
  const loaded = loadedData();
  if (loaded) return Promise.resolve(loaded);
  const block = element(ELEMENT_ID);
  if (!block) return null;
  decoding ??= decodeBlock(block.textContent ?? '', block.dataset.encoding ?? null).then((data) => {
    window.__LUMIBOARD_SNAPSHOT__ = data;
    return data;
  });
  return decoding;
}

type FromBase64 = (text: string) => Uint8Array;
const fromBase64 = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;

export function base64Bytes(base64: string): Uint8Array<ArrayBuffer> {
  if (fromBase64) return fromBase64(base64) as Uint8Array<ArrayBuffer>;
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const SIZES = { i4: 4, f4: 4, f8: 8 } as const;

/** A stored column as float64 (integers and float32 widened exactly). */
export function decodeColumn([dtype, base64]: StoredColumn): Float64Array {
  const bytes = base64Bytes(base64);
  const size = SIZES[dtype];
  if (size === undefined || bytes.length % size !== 0) {
    throw new Error(`a ${dtype} column holds ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.length / size);
  for (let i = 0; i < out.length; i++) {
    const at = i * size;
    out[i] = dtype === 'i4' ? view.getInt32(at, true) : dtype === 'f4' ? view.getFloat32(at, true) : view.getFloat64(at, true);
  }
  return out;
}
