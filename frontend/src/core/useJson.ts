/**
 * `useJson(api, url)`: a route's JSON, fetched when the URL changes and again after each of the
 * shell's reloads (`data.generation`), so every dashboard live-updates the same way. The last
 * answer stays shown while the next one loads (no flicker); a failure keeps it and sets `error`.
 */
import { useLayoutEffect, useState } from 'preact/hooks';

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
  useLayoutEffect(() => {
    if (url === null) {
      setState({ data: null, error: null, pending: false });
      return undefined;
    }
    const controller = new AbortController();
    setState((old) => ({ ...old, pending: true }));
    const request =
      body === undefined
        ? api.client.getJson<T>(url, controller.signal)
        : api.client.postJson<T>(url, body, controller.signal);
    request
      .then((data) => setState({ data, error: null, pending: false }))
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
