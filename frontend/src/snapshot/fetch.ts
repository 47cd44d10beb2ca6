/**
 * The snapshot's `fetch`: answers every request of the app from the page's data, never from the
 * network. Stored answers are found by request key (`keys.ts`); three routes are computed, as
 * the server computes them, from what is stored:
 *
 * - `POST data/plugin/scalars/series`: every point of each run, reduced per pixel (`reduce.ts`);
 * - `data/plugin/scalars/scalars?run&tag&format`: the CSV and JSON downloads (`downloads.ts`);
 * - `data/plugin/histograms/multirun?tag&runs...`: the stored answer of each run, merged.
 *
 * Anything else is a 404 whose JSON error says it is not in this snapshot, which the dashboards
 * show as they show any failed request.
 */
import type { SeriesRequest } from '../core/api';
import { base64Bytes, decodeColumn, type SnapshotData, type StoredSeries } from './data';
import { seriesCsv, seriesJson } from './downloads';
import { pathOf, requestKey } from './keys';
import { reduceSeries, type Columns } from './reduce';

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** The server's limit on a series request's buckets. */
export const MAX_BUCKETS = 20_000;

const decoded = new WeakMap<StoredSeries, Columns>();

/** Every point of `run`'s `tag`, decoded once; null when the snapshot lacks it. */
export function seriesColumns(data: SnapshotData, tag: string, run: string): Columns | null {
  const stored = data.scalars[tag]?.[run];
  if (!stored) return null;
  let columns = decoded.get(stored);
  if (!columns) {
    columns = { step: decodeColumn(stored.step), wall_time: decodeColumn(stored.wall_time), value: decodeColumn(stored.value) };
    decoded.set(stored, columns);
  }
  return columns;
}

export class SnapshotRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

function textResponse(text: string, type: string): Response {
  return new Response(text, { status: 200, headers: { 'Content-Type': type } });
}

/** Which runs' columns a `series` request gets (runs without the tag left out), reduced. */
export function answerSeries(data: SnapshotData, request: SeriesRequest): Record<string, Columns & { total: number }> {
  const { tag, runs, buckets } = request;
  if (typeof tag !== 'string') throw new SnapshotRequestError(400, "the body must be an object with a string 'tag'");
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) {
    throw new SnapshotRequestError(400, `'buckets' must be in [1, ${MAX_BUCKETS}]`);
  }
  const range: [number | null, number | null] = [request.min_step ?? null, request.max_step ?? null];
  if (range[0] !== null && range[1] !== null && range[0] > range[1]) {
    throw new SnapshotRequestError(400, "'min_step' must not exceed 'max_step'");
  }
  const out: Record<string, Columns & { total: number }> = {};
  for (const run of runs ?? []) {
    const columns = seriesColumns(data, tag, run);
    if (!columns) continue;
    try {
      out[run] = reduceSeries(columns, buckets, range, request.x ?? 'step');
    } catch (error) {
      throw new SnapshotRequestError(400, `run ${JSON.stringify(run)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return out;
}

function base64Float64(column: Float64Array): string {
  const bytes = new Uint8Array(column.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < column.length; i++) view.setFloat64(i * 8, column[i]!, true);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function series(data: SnapshotData, body: unknown): Response {
  let request: SeriesRequest;
  try {
    request = JSON.parse(typeof body === 'string' ? body : '') as SeriesRequest;
  } catch {
    throw new SnapshotRequestError(400, 'the body must be JSON');
  }
  const runs: Record<string, unknown> = {};
  for (const [run, columns] of Object.entries(answerSeries(data, request))) {
    runs[run] = {
      total: columns.total,
      step: base64Float64(columns.step),
      wall_time: base64Float64(columns.wall_time),
      value: base64Float64(columns.value),
    };
  }
  return jsonResponse({ tag: request.tag, runs });
}

/** The text of a Scalars download, or null when the snapshot lacks the series. */
export function downloadText(data: SnapshotData, run: string, tag: string, format: string): string | null {
  const columns = seriesColumns(data, tag, run);
  if (!columns) return null;
  if (format === 'csv') return seriesCsv(columns);
  if (format === 'json') return seriesJson(columns);
  throw new SnapshotRequestError(400, `format must be json or csv, got ${JSON.stringify(format)}`);
}

function download(data: SnapshotData, params: URLSearchParams): Response {
  const run = params.get('run') ?? '';
  const tag = params.get('tag') ?? '';
  const format = params.get('format') ?? 'json';
  const text = downloadText(data, run, tag, format);
  if (text === null) throw new SnapshotRequestError(404, `run ${JSON.stringify(run)} has no scalar tag ${JSON.stringify(tag)} in this snapshot`);
  return textResponse(text, format === 'csv' ? 'text/csv' : 'application/json');
}

/** Histograms of several runs: the snapshot holds one answer per run (as the generator asked). */
function multirun(data: SnapshotData, params: URLSearchParams): Response {
  const tag = params.get('tag') ?? '';
  const samples = params.get('samples');
  const runs: Record<string, unknown> = {};
  for (const run of params.getAll('runs')) {
    const one = new URLSearchParams({ tag, runs: run });
    if (samples !== null) one.set('samples', samples);
    const stored = data.responses[requestKey(`data/plugin/histograms/multirun?${one.toString()}`)];
    if (stored && 'json' in stored && stored.status === 200) {
      const answer = stored.json as { runs?: Record<string, unknown> };
      if (answer.runs?.[run] !== undefined) runs[run] = answer.runs[run];
    }
  }
  return jsonResponse({ tag, runs });
}

function stored(data: SnapshotData, url: string): Response {
  const answer = data.responses[requestKey(url)];
  if (!answer) {
    throw new SnapshotRequestError(404, `not in this snapshot: ${url.replace(/\?.*$/, '')}`);
  }
  if ('json' in answer) return jsonResponse(answer.json, answer.status);
  return new Response(base64Bytes(answer.base64), { status: answer.status, headers: { 'Content-Type': answer.type } });
}

function answer(data: SnapshotData, url: string, init?: RequestInit): Response {
  const path = pathOf(url);
  const method = (init?.method ?? 'GET').toUpperCase();
  const params = new URL(url, 'http://snapshot.invalid/').searchParams;
  if (path === 'data/plugin/scalars/series' && method === 'POST') return series(data, init?.body);
  if (method !== 'GET') throw new SnapshotRequestError(405, `a snapshot is read-only: ${method} ${path} is not in it`);
  if (path === 'data/plugin/scalars/scalars') return download(data, params);
  if (path === 'data/plugin/histograms/multirun') return multirun(data, params);
  return stored(data, url);
}

/**
 * A `fetch` answering from `data` (once decoded). `data:` and `blob:` URLs (made by the page
 * itself) go to `passThrough`; no other request ever leaves the page.
 */
export function snapshotFetch(
  data: SnapshotData | Promise<SnapshotData>,
  passThrough: Fetch = (input, init) => fetch(input, init),
): Fetch {
  return async (input, init) => {
    if (/^(data|blob):/i.test(input)) return passThrough(input, init);
    const ready = await data;
    if (init?.signal?.aborted) throw new DOMException('The request was aborted', 'AbortError');
    try {
      return answer(ready, input, init);
    } catch (error) {
      if (error instanceof SnapshotRequestError) return jsonResponse({ error: error.message }, error.status);
      return jsonResponse({ error: error instanceof Error ? error.message : String(error) }, 500);
    }
  };
}
