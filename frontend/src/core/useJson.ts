/**
 * `useJson(api, url)`: a route's JSON, fetched when the URL changes and again after each of the
 * shell's reloads (`data.generation`), so every dashboard live-updates the same way. The last
 * answer stays shown while the next one loads (no flicker); a failure keeps it and sets `error`.
 *
 * A reload's GET sends the tag of the answer it has (`If-None-Match`): when the server says
 * nothing changed (304), `data` stays the very same object, so nothing derived from it is
 * computed or drawn again (a big trace is not laid out anew, a hover stays).
 */
import { useLayoutEffect, useRef, useState } from 'preact/hooks';

import { ApiError } from './api';
import type { DashboardApi } from './dashboard';
import { useStore } from './store';

export interface JsonState<T> {
  data: T | null;
  error: string | null;
  /** A request is in flight. */
  pending: boolean;
}

export function useJson<T>(api: DashboardApi, url: string | null, body?: unknown): JsonState<T> {
  const generation = useStore(api.data, (d) => d.generation);
  const [state, setState] = useState<JsonState<T>>({ data: null, error: null, pending: url !== null });
  const bodyKey = body === undefined ? '' : JSON.stringify(body);
  // The tag of the answer shown, and the URL it answered (a tag says nothing of another URL's).
  const shown = useRef<{ url: string; etag: string } | null>(null);
  useLayoutEffect(() => {
    if (url === null) {
      shown.current = null;
      setState({ data: null, error: null, pending: false });
      return undefined;
    }
    const controller = new AbortController();
    setState((old) => ({ ...old, pending: true }));
    // The new answer, or null when the one shown still holds (a 304).
    let request: Promise<{ data: T } | null>;
    if (body === undefined) {
      const etag = shown.current?.url === url ? shown.current.etag : null;
      request = api.client.getJsonIfChanged<T>(url, etag, controller.signal).then((answer) => {
        if (answer !== null) shown.current = answer.etag === null ? null : { url, etag: answer.etag };
        return answer;
      });
    } else {
      shown.current = null;
      request = api.client.postJson<T>(url, body, controller.signal).then((data) => ({ data }));
    }
    request
      .then((answer) =>
        setState((old) => {
          if (answer !== null) return { data: answer.data, error: null, pending: false };
          // Unchanged: the very same data object, so nothing derived from it is made again.
          return old.pending || old.error !== null ? { data: old.data, error: null, pending: false } : old;
        }),
      )
      .catch((e: unknown) => {
        if (controller.signal.aborted) return;
        const message = e instanceof ApiError || e instanceof Error ? e.message : String(e);
        setState((old) => ({ data: old.data, error: message, pending: false }));
      });
    return () => controller.abort();
    // `body` is compared by its JSON text (bodyKey).
  }, [api, url, bodyKey, generation]);
  return state;
}
