/** Mounts a dashboard (its `mount(el, api)`) into a div and unmounts it on tab change. */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

import type { DashboardApi } from '../core/dashboard';
import { DASHBOARDS } from '../dashboards';

export function DashboardHost({ plugin, api }: { plugin: string; api: DashboardApi }): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const el = ref.current;
    const load = DASHBOARDS[plugin];
    if (!el || !load) return undefined;
    let unmount: (() => void) | null = null;
    let cancelled = false;
    load()
      .then((mount) => {
        if (!cancelled) unmount = mount(el, api);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    return () => {
      cancelled = true;
      unmount?.();
    };
  }, [plugin, api]);
  return (
    <>
      {error ? <div class="notice notice--error">Could not load the dashboard: {error}</div> : null}
      <div class="dashboard-root" ref={ref} />
    </>
  );
}
