/**
 * The app's client in a snapshot: every request answered by the snapshot's `fetch`, the Scalars
 * series reduced here without a detour through base64, and the per-run download links pointing
 * at files made in the page (`blob:` URLs), since there is no server to link to.
 */
import { ApiError, createClient, pluginUrl, type Client } from '../core/api';
import type { SnapshotData } from './data';
import { answerSeries, downloadText, snapshotFetch, SnapshotRequestError, type Fetch } from './fetch';

export function snapshotClient(data: SnapshotData | Promise<SnapshotData>, passThrough?: Fetch): Client {
  const client = createClient(snapshotFetch(data, passThrough));
  let ready: SnapshotData | null = data instanceof Promise ? null : data;
  if (data instanceof Promise) void data.then((loaded) => (ready = loaded), () => undefined);
  /** Texts of the download links made so far, by their `blob:` URL. */
  const texts = new Map<string, string>();
  const links = new Map<string, string>();
  return {
    ...client,
    async scalarSeries(request, signal) {
      const loaded = await data;
      if (signal?.aborted) throw new DOMException('The request was aborted', 'AbortError');
      try {
        return { tag: request.tag, runs: answerSeries(loaded, request) };
      } catch (error) {
        if (error instanceof SnapshotRequestError) throw new ApiError('data/plugin/scalars/series', error.status, error.message);
        throw error;
      }
    },
    scalarsUrl(run, tag, format) {
      const key = JSON.stringify([run, tag, format]);
      const known = links.get(key);
      if (known) return known;
      // The download menu opens on a drawn chart: the data are decoded by then.
      const text = ready ? downloadText(ready, run, tag, format) : null;
      if (text === null || typeof URL.createObjectURL !== 'function') {
        return pluginUrl('scalars', 'scalars', { run, tag, format });
      }
      const url = URL.createObjectURL(new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/json' }));
      links.set(key, url);
      texts.set(url, text);
      return url;
    },
    async text(url, signal) {
      const known = texts.get(url);
      return known ?? client.text(url, signal);
    },
  };
}
