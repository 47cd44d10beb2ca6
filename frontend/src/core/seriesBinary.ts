/**
 * The `series` route's binary answer (`Accept: application/vnd.lumiboard.series`): the JSON
 * answer's columns as little-endian typed arrays, about a third of its bytes and no base64.
 *
 * Layout: `LBS1` (4 bytes), uint32 N, N bytes of UTF-8 JSON metadata
 * `{tag, runs: [{run, total, stamp, count, step, wall_time, value}], unchanged?}` (the last three: dtypes
 * `i4` | `i8` | `f4` | `f8`), zero bytes up to a multiple of 8, then each run's step,
 * wall_time and value columns in that order, each padded to a multiple of 8. A float64
 * column is a view of the answer's own buffer; the others are widened to float64, so the
 * chart gets the same `SeriesColumns` as from the JSON answer.
 */

import type { SeriesColumns, SeriesResponse } from './api';

export const SERIES_MEDIA_TYPE = 'application/vnd.lumiboard.series';

/** A run's `stamp` from an answer, checked: spread into its columns (absent when not a string). */
export function stampOf(value: unknown): { stamp?: string } {
  return typeof value === 'string' ? { stamp: value } : {};
}

/** A series answer's `unchanged` list, checked (absent when empty or malformed). */
export function unchangedOf(value: unknown): { unchanged?: string[] } {
  if (!Array.isArray(value) || value.length === 0) return {};
  return { unchanged: value.filter((run): run is string => typeof run === 'string') };
}

const MAGIC = 'LBS1';
const ALIGN = 8;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Dtype = 'i4' | 'i8' | 'f4' | 'f8';
const ITEM_SIZE: Record<Dtype, number> = { i4: 4, i8: 8, f4: 4, f8: 8 };
const COLUMNS = ['step', 'wall_time', 'value'] as const;

interface RunMeta {
  run: string;
  total: number;
  stamp?: unknown;
  count: number;
  step: Dtype;
  wall_time: Dtype;
  value: Dtype;
}

function align(offset: number): number {
  return offset + ((ALIGN - (offset % ALIGN)) % ALIGN);
}

function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && Object.hasOwn(ITEM_SIZE, value);
}

function checkRun(meta: unknown): RunMeta {
  const run = meta as Partial<RunMeta> | null;
  if (
    !run ||
    typeof run.run !== 'string' ||
    typeof run.total !== 'number' ||
    !Number.isSafeInteger(run.count) ||
    (run.count as number) < 0 ||
    !COLUMNS.every((name) => isDtype(run[name]))
  ) {
    throw new Error(`a binary series answer describes a run badly: ${JSON.stringify(meta)}`);
  }
  return run as RunMeta;
}

/** One column as float64: a view where it is float64 already, else widened (a copy). */
function column(buffer: ArrayBuffer, offset: number, count: number, dtype: Dtype): Float64Array {
  if (LITTLE_ENDIAN) {
    switch (dtype) {
      case 'f8':
        return new Float64Array(buffer, offset, count);
      case 'f4':
        return Float64Array.from(new Float32Array(buffer, offset, count));
      case 'i4':
        return Float64Array.from(new Int32Array(buffer, offset, count));
      case 'i8': {
        const wide = new BigInt64Array(buffer, offset, count);
        const out = new Float64Array(count);
        for (let i = 0; i < count; i++) out[i] = Number(wide[i]);
        return out;
      }
    }
  }
  const view = new DataView(buffer, offset, count * ITEM_SIZE[dtype]);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    if (dtype === 'f8') out[i] = view.getFloat64(i * 8, true);
    else if (dtype === 'f4') out[i] = view.getFloat32(i * 4, true);
    else if (dtype === 'i4') out[i] = view.getInt32(i * 4, true);
    else out[i] = Number(view.getBigInt64(i * 8, true));
  }
  return out;
}

/** The binary answer as the same `SeriesResponse` `decodeSeries` makes of the JSON one. */
export function decodeSeriesBinary(buffer: ArrayBuffer): SeriesResponse {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(0, 4)) !== MAGIC) {
    throw new Error('not a binary series answer (no LBS1 header)');
  }
  const metaLength = new DataView(buffer).getUint32(4, true);
  if (8 + metaLength > bytes.length) throw new Error('a binary series answer cut short in its header');
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + metaLength))) as {
    tag?: unknown;
    runs?: unknown;
    unchanged?: unknown;
  };
  if (typeof meta.tag !== 'string' || !Array.isArray(meta.runs)) {
    throw new Error('a binary series answer without a tag and runs');
  }
  let offset = align(8 + metaLength);
  const entries: [string, SeriesColumns][] = [];
  for (const described of meta.runs) {
    const run = checkRun(described);
    const decoded: Partial<Record<(typeof COLUMNS)[number], Float64Array>> = {};
    for (const name of COLUMNS) {
      const size = run.count * ITEM_SIZE[run[name]];
      if (offset + size > bytes.length) throw new Error(`run ${run.run}: the answer is cut short`);
      decoded[name] = column(buffer, offset, run.count, run[name]);
      offset = align(offset + size);
    }
    entries.push([
      run.run,
      { total: run.total, ...stampOf(run.stamp), step: decoded.step!, wall_time: decoded.wall_time!, value: decoded.value! },
    ]);
  }
  if (offset !== bytes.length) throw new Error('a binary series answer with bytes left over');
  // fromEntries: a run named "__proto__" is an own property, as JSON.parse makes it.
  return { tag: meta.tag, runs: Object.fromEntries(entries), ...unchangedOf(meta.unchanged) };
}
