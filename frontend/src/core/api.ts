/**
 * The HTTP API: every request the app makes, and the one place where payloads become typed
 * arrays. URLs are relative (`data/...`), so the app works at `/`, under `--path_prefix` and
 * behind proxies; the auth cookie (set by the server after `?token=`) rides along same-origin.
 */

import { SERIES_MEDIA_TYPE, decodeSeriesBinary, stampOf, unchangedOf } from './seriesBinary';

export type XAxis = 'step' | 'relative' | 'wall_time';

export interface PluginInfo {
  enabled: boolean;
  tab_name: string;
  disable_reload: boolean;
  remove_dom: boolean;
  loading_mechanism: { type: string };
}
export type PluginsListing = Record<string, PluginInfo>;

export interface Environment {
  version: string;
  data_location: string;
  window_title: string;
  /** Seconds between the server's reloads of the log directory. */
  reload_interval?: number;
}

export interface Status {
  loading: boolean;
  runs_total: number;
  runs_done: number;
  bytes_total: number;
  bytes_done: number;
  passes: number;
  /** run -> tag -> number of records skipped (bad CRC, undecodable ...). */
  skipped: Record<string, Record<string, number>>;
  /** run -> {mlflow: URL of its page} for runs read from an MLflow tracking server. */
  links?: Record<string, { mlflow?: string }>;
  notes: string[];
  /** Whether the compiled event-file scanner is in use (else a ~100× slower one). */
  native_scanner?: boolean;
  /** Whether the built web app is installed (always true for a page that runs this). */
  web_app?: boolean;
  /** Each log directory and whether it exists (null: a URL, not probed). */
  logdirs?: { name: string | null; path: string; exists: boolean | null }[];
}

export interface TagInfo {
  displayName: string;
  description: string;
}
/** `{run: {tag: {displayName, description}}}`, TensorBoard's shape. */
export type ScalarTags = Record<string, Record<string, TagInfo>>;

export interface SeriesRequest {
  tag: string;
  runs: string[];
  /** About the chart's width in pixels: the server keeps each bucket's first, min, max, last. */
  buckets: number;
  min_step?: number;
  max_step?: number;
  x: XAxis;
  /** Runs the caller holds with the same reduction, by the `stamp` they came with: those
   * whose points are unchanged come back in `unchanged` instead of being sent again. */
  known?: Record<string, string>;
}

/** One run's columns of one tag, as the chart uses them. */
export interface SeriesColumns {
  /** Points in the requested step range before the server reduced them. */
  total: number;
  /** Names the run's points on the server (send it back in `known`); absent from old servers. */
  stamp?: string;
  step: Float64Array;
  wall_time: Float64Array;
  value: Float64Array;
}

export interface SeriesResponse {
  tag: string;
  runs: Record<string, SeriesColumns>;
  /** Runs of the request's `known` whose points did not change (not sent again). */
  unchanged?: string[];
}

export class ApiError extends Error {
  constructor(
    readonly url: string,
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A base64 string of little-endian float64 (the server's column encoding) as a Float64Array. */
type FromBase64 = (text: string) => Uint8Array;
// Native base64 decoding (Chrome 140+, Firefox 133+, Safari 18.2+; Node 25+) where available.
const fromBase64 = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;

function base64Bytes(base64: string): Uint8Array {
  if (fromBase64) return fromBase64(base64);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function decodeFloat64(base64: string): Float64Array {
  const decoded = base64Bytes(base64);
  const length = decoded.length;
  if (length % 8 !== 0) {
    throw new Error(`a float64 column holds ${length} bytes, not a multiple of 8`);
  }
  // A fresh, 8-byte-aligned buffer of exactly this column.
  const bytes = decoded.byteOffset === 0 && decoded.buffer.byteLength === length ? decoded : decoded.slice();
  if (LITTLE_ENDIAN) return new Float64Array(bytes.buffer);
  const view = new DataView(bytes.buffer);
  const out = new Float64Array(length / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

interface RawColumns {
  total: number;
  stamp?: unknown;
  step: string;
  wall_time: string;
  value: string;
}

/** The `series` route's JSON with every column decoded. */
export function decodeSeries(raw: {
  tag: string;
  runs: Record<string, RawColumns>;
  unchanged?: unknown;
}): SeriesResponse {
  const runs: [string, SeriesColumns][] = [];
  for (const [run, columns] of Object.entries(raw.runs)) {
    const step = decodeFloat64(columns.step);
    const wall_time = decodeFloat64(columns.wall_time);
    const value = decodeFloat64(columns.value);
    if (step.length !== wall_time.length || step.length !== value.length) {
      throw new Error(`run ${run}: columns of unequal length`);
    }
    runs.push([run, { total: columns.total, ...stampOf(columns.stamp), step, wall_time, value }]);
  }
  // fromEntries: a run named "__proto__" stays a run (an assignment would set the prototype).
  return { tag: raw.tag, runs: Object.fromEntries(runs), ...unchangedOf(raw.unchanged) };
}

export type ScalarFormat = 'csv' | 'json';

/** Every request the app makes; dashboards get one through `mount(el, api)`. */
export interface Client {
  runs(): Promise<string[]>;
  pluginsListing(): Promise<PluginsListing>;
  environment(): Promise<Environment>;
  status(): Promise<Status>;
  scalarTags(signal?: AbortSignal): Promise<ScalarTags>;
  scalarSeries(request: SeriesRequest, signal?: AbortSignal): Promise<SeriesResponse>;
  /** The (relative) URL of every point of one series, TensorBoard's download route. */
  scalarsUrl(run: string, tag: string, format: ScalarFormat): string;
  text(url: string, signal?: AbortSignal): Promise<string>;
  /** GET a (relative) URL's bytes (binary payloads such as mesh vertices). */
  arrayBuffer(url: string, signal?: AbortSignal): Promise<ArrayBuffer>;
  /** GET a (relative) URL's JSON; dashboards build their plugin's URLs with `pluginUrl`. */
  getJson<T>(url: string, signal?: AbortSignal): Promise<T>;
  /**
   * GET a URL's JSON unless it is still what `etag` names (the tag of an earlier answer):
   * null then (the server said 304 and sent nothing), else the answer and its tag.
   */
  getJsonIfChanged<T>(url: string, etag: string | null, signal?: AbortSignal): Promise<Tagged<T> | null>;
  /** POST `body` as JSON to a (relative) URL, and parse the JSON answer. */
  postJson<T>(url: string, body: unknown, signal?: AbortSignal): Promise<T>;
}

/** An answer and the server's tag for it (null: the server sent none). */
export interface Tagged<T> {
  data: T;
  etag: string | null;
}

/** `data/plugin/<plugin>/<route>?<query>`; array values repeat the key (`runs=a&runs=b`). */
export function pluginUrl(
  plugin: string,
  route: string,
  query: Record<string, string | number | boolean | readonly string[]> = {},
): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) for (const item of value as readonly string[]) params.append(key, item);
    else params.append(key, String(value));
  }
  const text = params.toString();
  return `data/plugin/${plugin}/${route}${text ? `?${text}` : ''}`;
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

async function failure(url: string, response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body: unknown = await response.json();
    if (body && typeof body === 'object' && 'error' in body) message = String(body.error);
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(url, response.status, message);
}

export function createClient(fetchImpl: Fetch = (input, init) => fetch(input, init)): Client {
  async function request(url: string, init?: RequestInit, notModified = false): Promise<Response> {
    let response: Response;
    try {
      response = await fetchImpl(url, { credentials: 'same-origin', ...init });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      throw new ApiError(url, 0, 'cannot reach the lumiboard server');
    }
    if (!response.ok && !(notModified && response.status === 304)) throw await failure(url, response);
    return response;
  }
  async function json<T>(url: string, init?: RequestInit): Promise<T> {
    return (await (await request(url, init)).json()) as T;
  }
  return {
    runs: () => json<string[]>('data/runs'),
    pluginsListing: () => json<PluginsListing>('data/plugins_listing'),
    environment: () => json<Environment>('data/environment'),
    status: () => json<Status>('data/status'),
    scalarTags: (signal) => json<ScalarTags>('data/plugin/scalars/tags', signal ? { signal } : {}),
    async scalarSeries(body, signal) {
      // The binary form where the server has it (typed arrays, no base64); JSON otherwise.
      const response = await request('data/plugin/scalars/series', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: `${SERIES_MEDIA_TYPE}, application/json;q=0.9`,
        },
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      });
      const media = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (media === SERIES_MEDIA_TYPE) return decodeSeriesBinary(await response.arrayBuffer());
      return decodeSeries((await response.json()) as { tag: string; runs: Record<string, RawColumns> });
    },
    scalarsUrl(run, tag, format) {
      const query = new URLSearchParams({ run, tag, format });
      return `data/plugin/scalars/scalars?${query.toString()}`;
    },
    async text(url, signal) {
      return (await request(url, signal ? { signal } : {})).text();
    },
    async arrayBuffer(url, signal) {
      return (await request(url, signal ? { signal } : {})).arrayBuffer();
    },
    getJson: <T,>(url: string, signal?: AbortSignal) => json<T>(url, signal ? { signal } : {}),
    async getJsonIfChanged<T>(url: string, etag: string | null, signal?: AbortSignal) {
      // 'no-store': the browser's cache neither answers nor revalidates for us, so a 304
      // reaches this code (with its own cache the browser would turn it into the old 200).
      const init: RequestInit = {
        cache: 'no-store',
        ...(etag ? { headers: { 'If-None-Match': etag } } : {}),
        ...(signal ? { signal } : {}),
      };
      const response = await request(url, init, etag !== null);
      if (response.status === 304) return null;
      return { data: (await response.json()) as T, etag: response.headers.get('etag') };
    },
    postJson: <T,>(url: string, body: unknown, signal?: AbortSignal) =>
      json<T>(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      }),
  };
}
