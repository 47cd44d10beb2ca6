import { describe, expect, it } from 'vitest';

import { ApiError, type Client, type PluginsListing } from '../src/core/api';
import type { AppData, DashboardApi } from '../src/core/dashboard';
import { Store } from '../src/core/store';
import { HEALTH_TAB, HEALTH_URL, startHealthPolling, withHealthTab } from '../src/health/api';
import { INITIAL_HEALTH, type HealthState } from '../src/health/store';

const FLAG = {
  run: 'nan_run',
  tag: 'loss',
  kind: 'nonfinite',
  level: 'error',
  step: 50,
  wall_time: 10,
  value: 'NaN',
  message: 'loss is NaN from step 50',
};

const LISTING: PluginsListing = {
  scalars: {
    enabled: true,
    tab_name: 'Scalars',
    disable_reload: false,
    remove_dom: false,
    loading_mechanism: { type: 'NONE' },
  },
};

/** A client whose `getJson` answers from `answers` in turn (a value, or an error to throw). */
function fakeApi(answers: unknown[]): { api: DashboardApi; data: Store<AppData>; calls: string[] } {
  const calls: string[] = [];
  const client = {
    getJson: async (url: string) => {
      calls.push(url);
      const answer = answers.length > 1 ? answers.shift() : answers[0];
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as Client;
  const data = new Store<AppData>({
    runs: [],
    environment: null,
    listing: LISTING,
    status: null,
    loaded: true,
    generation: 0,
    reloading: false,
    error: null,
  });
  return { api: { client, data } as unknown as DashboardApi, data, calls };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('polling data/health', () => {
  it('fetches at start and after each reload, and enables the Health tab while flags exist', async () => {
    const { api, data, calls } = fakeApi([{ flags: [] }, { flags: [FLAG] }, { flags: [] }]);
    const store = new Store<HealthState>(INITIAL_HEALTH);
    const stop = startHealthPolling(api, store);
    await tick();
    expect(calls).toEqual([HEALTH_URL]);
    expect(store.get().loaded).toBe(true);
    expect(data.get().listing?.[HEALTH_TAB]?.enabled).toBe(false);

    data.set({ generation: 1 });
    await tick();
    expect(calls).toHaveLength(2);
    expect(store.get().report.flags.map((f) => f.run)).toEqual(['nan_run']);
    expect(data.get().listing?.[HEALTH_TAB]).toMatchObject({ enabled: true, tab_name: 'Health' });

    // The shell's reload replaces the listing with the server's: the tab is put back.
    data.set({ listing: LISTING });
    expect(data.get().listing?.[HEALTH_TAB]?.enabled).toBe(true);

    data.set({ generation: 2 });
    await tick();
    expect(data.get().listing?.[HEALTH_TAB]?.enabled).toBe(false);
    stop();
    data.set({ generation: 3 });
    await tick();
    expect(calls).toHaveLength(3);
  });

  it('keeps the same report object when nothing changed (no redraw of every card)', async () => {
    const { api, data } = fakeApi([{ flags: [FLAG] }]);
    const store = new Store<HealthState>(INITIAL_HEALTH);
    const stop = startHealthPolling(api, store);
    await tick();
    const first = store.get().report;
    data.set({ generation: 1 });
    await tick();
    expect(store.get().report).toBe(first);
    stop();
  });

  it('reads a 404 (a server without the route) as no flags, without an error', async () => {
    const { api, data, calls } = fakeApi([new ApiError(HEALTH_URL, 404, 'Not Found')]);
    const store = new Store<HealthState>(INITIAL_HEALTH);
    const stop = startHealthPolling(api, store);
    await tick();
    expect(store.get()).toMatchObject({ loaded: true, unsupported: true, error: null });
    expect(store.get().report.flags).toEqual([]);
    expect(data.get().listing?.[HEALTH_TAB]?.enabled).toBe(false);
    // Not asked again on the next reloads.
    data.set({ generation: 1 });
    await tick();
    expect(calls).toHaveLength(1);
    stop();
  });

  it('keeps the last flags and reports the error when a refresh fails', async () => {
    const { api, data } = fakeApi([{ flags: [FLAG] }, new ApiError(HEALTH_URL, 500, 'boom'), { flags: [FLAG] }]);
    const store = new Store<HealthState>(INITIAL_HEALTH);
    const stop = startHealthPolling(api, store);
    await tick();
    data.set({ generation: 1 });
    await tick();
    expect(store.get().error).toBe('boom');
    expect(store.get().report.flags).toHaveLength(1);
    data.set({ generation: 2 });
    await tick();
    expect(store.get().error).toBeNull();
    stop();
  });

  it('asks once more, not twice at once, when a reload comes during a request', async () => {
    let release: (value: unknown) => void = () => undefined;
    const calls: string[] = [];
    const client = {
      getJson: (url: string) => {
        calls.push(url);
        return new Promise((resolve) => (release = resolve));
      },
    } as unknown as Client;
    const data = new Store<AppData>({
      runs: [], environment: null, listing: LISTING, status: null, loaded: true, generation: 0, reloading: false, error: null,
    });
    const store = new Store<HealthState>(INITIAL_HEALTH);
    const stop = startHealthPolling({ client, data } as unknown as DashboardApi, store);
    data.set({ generation: 1 });
    data.set({ generation: 2 });
    expect(calls).toHaveLength(1);
    release({ flags: [] });
    await tick();
    expect(calls).toHaveLength(2);
    release({ flags: [FLAG] });
    await tick();
    expect(store.get().report.flags).toHaveLength(1);
    stop();
  });

  it('adds the tab entry without touching the server’s plugins', () => {
    const listing = withHealthTab(LISTING, true);
    expect(listing.scalars).toBe(LISTING.scalars);
    expect(listing[HEALTH_TAB]?.enabled).toBe(true);
    expect(LISTING[HEALTH_TAB]).toBeUndefined();
  });
});
