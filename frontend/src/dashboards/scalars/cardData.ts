/**
 * A card's data: one `series` request per change, for the runs it lacks. The server reduces each
 * run to about 4 points per pixel column (first, min, max, last: no spike hidden), so `buckets`
 * follows the chart's width; a zoom narrows the step range and the server refines it. Runs
 * already fetched for the same (x axis, range, width, reload) are reused, so toggling a run is
 * instant; until new data arrives the chart keeps showing the previous. A reload sends the
 * stamps of the runs held for the same reduction: the server sends only runs whose points
 * changed, the others keep their objects, and a card where nothing changed is not redrawn.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

import { ApiError, type Client, type SeriesResponse, type XAxis } from '../../core/api';
import { seriesStart, type RunData } from './model';

export interface SeriesState {
  runs: RunData[];
  /** Changes whenever `runs` holds new data. */
  version: number;
  /** Data for the current request is still to come (not yet answered). */
  pending: boolean;
  loading: boolean;
  error: string | null;
}

interface Cache {
  key: string;
  byRun: Map<string, RunData | null>;
}

/**
 * Puts a `series` answer for the runs `need` into `byRun`; whether anything differs from what
 * `held` (the same reduction's earlier answer) had. A run the answer names `unchanged` keeps its
 * very object from `held` (when nothing else came the card is not drawn again); a run left out
 * lacks the tag (null: not asked again; still lacking it is no change). `whole`: the answer
 * covers every step (no zoom), so it gives each run's first wall time for `starts`.
 */
export function mergeAnswer(
  byRun: Map<string, RunData | null>,
  need: readonly string[],
  held: ReadonlyMap<string, RunData | null>,
  response: SeriesResponse,
  whole: boolean,
  starts: Map<string, number>,
): boolean {
  const unchanged = new Set(response.unchanged ?? []);
  let changed = false;
  for (const run of need) {
    const kept = unchanged.has(run) ? held.get(run) : undefined;
    if (kept) {
      byRun.set(run, kept);
      continue;
    }
    const columns = Object.hasOwn(response.runs, run) ? response.runs[run] : undefined;
    if (!columns) {
      if (held.get(run) !== null) changed = true;
      byRun.set(run, null);
      continue;
    }
    changed = true;
    if (whole) starts.set(run, seriesStart(columns));
    byRun.set(run, { run, columns, start: starts.get(run) ?? seriesStart(columns) });
  }
  return changed;
}

export function useSeries(
  client: Client,
  tag: string,
  runs: readonly string[],
  xAxis: XAxis,
  range: [number, number] | null,
  buckets: number,
  generation: number,
  active: boolean,
): SeriesState {
  const cache = useRef<Cache>({ key: '', byRun: new Map() });
  // Relative time counts from each series' first point, which a zoomed response lacks.
  const starts = useRef(new Map<string, number>());
  const [version, setVersion] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const rangeText = range ? range.join(':') : '';
  // The reduction asked for, then the reload: a new reload with the same reduction asks only
  // for what changed (the server answers `unchanged` for runs whose stamps still hold).
  const reduction = `${xAxis}|${rangeText}|${buckets}`;
  const key = `${reduction}|${generation}`;
  const runsKey = runs.join('\u0000');

  useEffect(() => {
    if (!active) return undefined;
    const current = cache.current;
    const fresh = current.key !== key;
    const need = fresh ? [...runs] : runs.filter((run) => !current.byRun.has(run));
    if (need.length === 0) return undefined;
    // What this card holds of the same reduction (a reload's earlier answer), by stamp.
    const held = fresh && current.key.startsWith(`${reduction}|`) ? current.byRun : new Map<string, RunData | null>();
    const known: Record<string, string> = {};
    for (const run of need) {
      const stamp = held.get(run)?.columns.stamp;
      if (stamp !== undefined) known[run] = stamp;
    }
    const controller = new AbortController();
    // A burst of zooms (alt + wheel) fetches once, after the last.
    const [previousX, previousRange] = current.key.split('|');
    const delay = fresh && previousX === xAxis && previousRange !== rangeText ? 120 : 0;
    const run = async () => {
      setLoading(true);
      try {
        const response = await client.scalarSeries(
          {
            tag,
            runs: need,
            buckets,
            x: xAxis,
            ...(range ? { min_step: range[0], max_step: range[1] } : {}),
            ...(Object.keys(known).length ? { known } : {}),
          },
          controller.signal,
        );
        const byRun = cache.current.key === key ? cache.current.byRun : new Map<string, RunData | null>();
        const changed = mergeAnswer(byRun, need, held, response, range === null, starts.current);
        cache.current = { key, byRun };
        setError(null);
        if (changed) setVersion((v) => v + 1);
      } catch (e) {
        if (controller.signal.aborted) return;
        setError(e instanceof ApiError || e instanceof Error ? e.message : String(e));
      } finally {
        if (!controller.signal.aborted) setLoading(false);
      }
    };
    const timer = delay > 0 ? setTimeout(() => void run(), delay) : undefined;
    if (delay === 0) void run();
    return () => {
      if (timer !== undefined) clearTimeout(timer);
      controller.abort();
    };
    // runsKey stands for runs; range is part of key.
  }, [client, tag, key, runsKey, active]);

  const out: RunData[] = [];
  for (const run of runs) {
    const data = cache.current.byRun.get(run);
    if (data) out.push(data);
  }
  const settled =
    cache.current.key === key && runs.every((run) => cache.current.byRun.has(run));
  return { runs: out, version, pending: !settled && error === null, loading, error };
}
