/**
 * The Profile dashboard: run / worker / span pickers over the PyTorch profiler traces found in
 * the log directories, and the Overview, Operator, Kernel, Trace, Memory and Distributed views.
 * Runs follow the shell's run filter and selection, and carry their run colour. The shell lists
 * profiled runs that have no event file too (runSources.ts); a run it does not list yet (a trace
 * written since its last reload) is always shown.
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { filterRuns } from '../../core/runs';
import { isSelected } from '../../core/selection';
import { useStore } from '../../core/store';
import { useJson } from '../../core/useJson';
import { NoRunsSelected, Notice } from '../../components/DashboardStates';
import { MemoryView } from './MemoryView';
import type { RunsPayload } from './model';
import { TraceView } from './TraceView';
import { DistributedView, KernelView, Loading, OperatorView, OverviewView } from './Views';

const VIEWS = ['Overview', 'Operator', 'Kernel', 'Trace', 'Memory', 'Distributed'] as const;
type ViewName = (typeof VIEWS)[number];

export const PROFILE_EXAMPLE = `import torch
from torch.profiler import ProfilerActivity, profile, schedule, tensorboard_trace_handler

with profile(
    activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA],
    schedule=schedule(wait=1, warmup=1, active=3),
    on_trace_ready=tensorboard_trace_handler("logs/profile"),
    record_shapes=True, profile_memory=True, with_stack=True,
) as prof:
    for batch in loader:
        train_step(batch)
        prof.step()          # one ProfilerStep per iteration`;

function ProfileEmpty({ dataLocation, loading }: { dataLocation: string | undefined; loading: boolean }): JSX.Element {
  return (
    <div class="empty" data-testid="empty-state">
      <h2>No profiler traces yet</h2>
      <p class="empty__lead">
        {loading
          ? 'The log directory is still being read.'
          : dataLocation
            ? <>lumiboard is reading <code>{dataLocation}</code>, and found no PyTorch profiler traces there yet.</>
            : 'No PyTorch profiler traces were found.'}{' '}
        Record one from your training script:
      </p>
      <pre class="code">
        <code>{PROFILE_EXAMPLE}</code>
      </pre>
      <p>Then point lumiboard at a directory above it; new traces appear as they are written:</p>
      <pre class="code">
        <code>lumiboard --logdir logs</code>
      </pre>
      <ul class="empty__hints">
        <li>
          Each directory holding <code>*.pt.trace.json[.gz]</code> files is a <b>run</b>; each file is one{' '}
          <b>worker</b> (rank) and <b>span</b> (profiling session).
        </li>
        <li>torch-tb-profiler's traces (TensorBoard's deprecated PyTorch Profiler tab) open here unchanged.</li>
      </ul>
    </div>
  );
}

export function ProfileDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const allRuns = useStore(api.data, (d) => d.runs);
  const loaded = useStore(api.data, (d) => d.loaded);
  const loadingLogdir = useStore(api.data, (d) => d.status?.loading ?? false);
  const dataLocation = useStore(api.data, (d) => d.environment?.data_location);
  const runFilter = useStore(api.view, (v) => v.runFilter);
  const selection = useStore(api.view, (v) => v.selection);
  useStore(api.colors.store, (c) => c.version);
  const listing = useJson<RunsPayload>(api, pluginUrl('profile', 'runs'));
  const [picked, setPicked] = useState<{ run?: string; worker?: string; span?: string }>({});
  const [view, setView] = useState<ViewName>('Overview');

  const runs = useMemo(() => {
    const known = new Set(allRuns);
    const all = Object.keys(listing.data?.runs ?? {});
    return filterRuns(all, runFilter).filter((run) => !known.has(run) || isSelected(selection, run));
  }, [listing.data, allRuns, runFilter, selection]);

  if (!listing.data || !loaded) return <Loading state={listing} what="the profiler traces" />;
  const everything = listing.data.runs;
  if (Object.keys(everything).length === 0) return <ProfileEmpty dataLocation={dataLocation} loading={loadingLogdir} />;
  if (runs.length === 0) return <NoRunsSelected api={api} lead="No run with a profiler trace is shown." />;

  const run = picked.run && runs.includes(picked.run) ? picked.run : runs[0]!;
  const workers = everything[run] ?? {};
  const workerNames = Object.keys(workers);
  const worker = picked.worker && workerNames.includes(picked.worker) ? picked.worker : workerNames[0]!;
  const spans = workers[worker] ?? [];
  // The latest span unless one was picked: a new profiling session shows up by itself.
  const span = picked.span && spans.some((s) => s.span === picked.span) ? picked.span : spans[spans.length - 1]?.span ?? '';
  const query = { run, worker, span };
  const views = VIEWS.filter((name) => name !== 'Distributed' || workerNames.length > 1);
  const current = views.includes(view) ? view : 'Overview';

  return (
    <div class="profile" data-testid="profile-dashboard">
      <div class="toolbar profile-pickers">
        <label>
          <span class="run__swatch profile-run-swatch" style={{ background: api.colors.get(run) }} /> Run{' '}
          <select data-testid="profile-run" value={run} onChange={(e) => setPicked({ run: (e.target as HTMLSelectElement).value })}>
            {runs.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Worker{' '}
          <select data-testid="profile-worker" value={worker} onChange={(e) => setPicked({ run, worker: (e.target as HTMLSelectElement).value })}>
            {workerNames.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Span{' '}
          <select data-testid="profile-span" value={span} onChange={(e) => setPicked({ run, worker, span: (e.target as HTMLSelectElement).value })}>
            {spans.map((s, i) => (
              <option key={s.span} value={s.span}>
                {i + 1}: {s.span}
              </option>
            ))}
          </select>
        </label>
        <span class="profile-muted" data-testid="profile-file">
          {spans.find((s) => s.span === span)?.file}
        </span>
      </div>
      <div class="profile-tabs" role="tablist">
        {views.map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            aria-selected={name === current}
            class={name === current ? 'button button--on' : 'button'}
            data-testid={`profile-view-${name.toLowerCase()}`}
            onClick={() => setView(name)}
          >
            {name}
          </button>
        ))}
      </div>
      {listing.error ? <Notice error>Could not refresh the trace list: {listing.error}</Notice> : null}
      {current === 'Overview' ? <OverviewView api={api} query={query} /> : null}
      {current === 'Operator' ? <OperatorView api={api} query={query} /> : null}
      {current === 'Kernel' ? <KernelView api={api} query={query} /> : null}
      {current === 'Trace' ? <TraceView api={api} query={query} /> : null}
      {current === 'Memory' ? <MemoryView api={api} query={query} /> : null}
      {current === 'Distributed' ? <DistributedView api={api} query={query} /> : null}
    </div>
  );
}
