/** The Overview, Operator, Kernel and Distributed views (tables and SVG charts). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { matches, parseFilter } from '../../core/regex';
import { useJson } from '../../core/useJson';
import { Notice } from '../../components/DashboardStates';
import {
  formatBytes,
  formatDuration,
  formatPercent,
  ROLE_COLORS,
  stack,
  topN,
  type DistributedPayload,
  type KernelRow,
  type KernelsPayload,
  type OperatorRow,
  type OperatorsPayload,
  type OverviewPayload,
} from './model';
import { SortableTable, TopBars, type Column } from './Table';

type Query = Record<string, string>;

export function Loading<T>({ state, what }: { state: { data: T | null; error: string | null }; what: string }): JSX.Element {
  return state.error ? (
    <Notice error testid="profile-error">
      Could not load {what}: {state.error}
    </Notice>
  ) : (
    <Notice testid="profile-loading">Loading {what}…</Notice>
  );
}

function Warnings({ warnings }: { warnings: string[] }): JSX.Element | null {
  return warnings.length ? (
    <Notice testid="profile-warning">{warnings.join(' ')}</Notice>
  ) : null;
}

/** The view's warning alone, where its numbers are not computed for this profile. */
export function NotComputed({ warnings }: { warnings: string[] }): JSX.Element {
  return (
    <div class="profile-view" data-testid="profile-not-computed">
      <Warnings warnings={warnings} />
    </div>
  );
}

function Stat({ label, value, testid }: { label: string; value: string; testid?: string }): JSX.Element {
  return (
    <div class="profile-stat" data-testid={testid}>
      <div class="profile-stat__value">{value}</div>
      <div class="profile-stat__label">{label}</div>
    </div>
  );
}

export function OverviewView({ api, query }: { api: DashboardApi; query: Query }): JSX.Element {
  const state = useJson<OverviewPayload>(api, pluginUrl('profile', 'overview', query));
  const data = state.data;
  if (!data) return <Loading state={state} what="the overview" />;
  if (data.computed === false) return <NotComputed warnings={data.warnings} />;
  const { roles, steps, mean } = data.breakdown;
  const gpu = data.gpu[0];
  return (
    <div class="profile-view" data-testid="profile-overview">
      <Warnings warnings={data.warnings} />
      <div class="profile-stats">
        <Stat label="Steps" value={String(steps.length)} testid="stat-steps" />
        <Stat label="Mean step time" value={formatDuration(mean['duration'] ?? 0)} />
        <Stat label="Events" value={data.events.toLocaleString()} />
        {gpu ? <Stat label="GPU utilization" value={formatPercent(gpu.utilization)} testid="stat-gpu" /> : null}
        {gpu ? <Stat label="Est. SM efficiency" value={formatPercent(gpu.sm_efficiency)} /> : null}
        {gpu ? (
          <Stat
            label="Est. achieved occupancy"
            value={gpu.achieved_occupancy === null ? '–' : `${gpu.achieved_occupancy.toFixed(1)}%`}
          />
        ) : null}
        {data.tensor_core_share !== null ? (
          <Stat label="Kernel time on tensor cores" value={formatPercent(data.tensor_core_share)} />
        ) : null}
      </div>
      {data.host ? (
        <div class="profile-muted" data-testid="profile-host">
          {data.host}
        </div>
      ) : null}
      {data.devices.length ? (
        <div class="profile-muted" data-testid="profile-devices">
          {data.devices.map((d) => (
            <span key={String(d.id)}>
              GPU {d.id}: {d.name} · {formatBytes(d.memory)} · compute {d.compute_capability} · {d.sms} SMs{' '}
            </span>
          ))}
        </div>
      ) : (
        <div class="profile-muted">Host activity only (no GPU in this trace).</div>
      )}
      <div class="profile-panel">
        <h3>Step time breakdown</h3>
        <StepChart steps={steps} roles={roles} />
        <Legend roles={roles} mean={mean} />
      </div>
      <div class="profile-panel" data-testid="profile-recommendations">
        <h3>Performance recommendations</h3>
        {data.recommendations.length ? (
          <ul>
            {data.recommendations.map((text) => (
              <li key={text}>{text}</li>
            ))}
          </ul>
        ) : (
          <p class="profile-muted">Nothing stands out in this trace.</p>
        )}
      </div>
    </div>
  );
}

function StepChart({ steps, roles }: { steps: OverviewPayload['breakdown']['steps']; roles: string[] }): JSX.Element {
  const [hover, setHover] = useState<number | null>(null);
  const width = 760;
  const height = 260;
  const left = 64;
  const bottom = 28;
  const max = Math.max(...steps.map((s) => s.duration), 1e-9);
  const band = (width - left - 10) / Math.max(steps.length, 1);
  const bar = Math.min(band * 0.7, 80);
  // Step labels at least ~28 px apart.
  const labelEvery = Math.max(1, Math.ceil(28 / band));
  const y = (value: number) => height - bottom - (value / max) * (height - bottom - 10);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const hovered = hover === null ? null : steps[hover];
  return (
    <div class="profile-chart">
      <svg viewBox={`0 0 ${width} ${height}`} class="profile-svg" data-testid="step-chart" role="img" aria-label="Step time by step">
        {ticks.map((t) => (
          <g key={t}>
            <line x1={left} x2={width - 10} y1={y(t)} y2={y(t)} class="profile-grid" />
            <text x={left - 6} y={y(t) + 4} class="profile-axis" text-anchor="end">
              {formatDuration(t)}
            </text>
          </g>
        ))}
        {steps.map((step, i) => {
          const x = left + band * i + (band - bar) / 2;
          return (
            <g key={step.step} onMouseEnter={() => setHover(i)} onMouseLeave={() => setHover(null)}>
              {stack(step, roles).map((part) =>
                part.to > part.from ? (
                  <rect
                    key={part.role}
                    data-testid="step-bar"
                    data-role={part.role}
                    x={x}
                    width={bar}
                    y={y(part.to)}
                    height={Math.max(y(part.from) - y(part.to), 0)}
                    fill={ROLE_COLORS[part.role] ?? '#999'}
                  />
                ) : null,
              )}
              {i % labelEvery === 0 ? (
                <text x={x + bar / 2} y={height - 10} class="profile-axis" text-anchor="middle">
                  {step.step}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      {hovered ? (
        <div class="profile-chart__hover" data-testid="step-hover">
          Step {hovered.step}: {formatDuration(hovered.duration)} —{' '}
          {roles
            .filter((role) => Number(hovered[role]) > 0)
            .map((role) => `${role} ${formatDuration(Number(hovered[role]))}`)
            .join(', ')}
        </div>
      ) : null}
    </div>
  );
}

function Legend({ roles, mean }: { roles: string[]; mean: Record<string, number> }): JSX.Element {
  const total = mean['duration'] || 1;
  return (
    <table class="profile-legend" data-testid="step-legend">
      <tbody>
        {roles.map((role) => (
          <tr key={role}>
            <td>
              <span class="profile-swatch" style={{ background: ROLE_COLORS[role] ?? '#999' }} /> {role}
            </td>
            <td class="profile-num">{formatDuration(mean[role] ?? 0)}</td>
            <td class="profile-num">{formatPercent((mean[role] ?? 0) / total)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Search({ value, onInput, placeholder }: { value: string; onInput: (v: string) => void; placeholder: string }): JSX.Element {
  return (
    <input
      class="filter__input profile-search"
      type="search"
      data-testid="profile-search"
      placeholder={placeholder}
      aria-label={placeholder}
      value={value}
      onInput={(event) => onInput((event.target as HTMLInputElement).value)}
    />
  );
}

const OPERATOR_COLUMNS: Column<OperatorRow>[] = [
  { key: 'name', title: 'Operator' },
  { key: 'calls', title: 'Calls', numeric: true },
  { key: 'device_self', title: 'Device self', numeric: true, render: (r) => formatDuration(r.device_self) },
  { key: 'device_total', title: 'Device total', numeric: true, render: (r) => formatDuration(r.device_total) },
  { key: 'host_self', title: 'Host self', numeric: true, render: (r) => formatDuration(r.host_self) },
  { key: 'host_total', title: 'Host total', numeric: true, render: (r) => formatDuration(r.host_total) },
];

export function OperatorView({ api, query }: { api: DashboardApi; query: Query }): JSX.Element {
  const [groupBy, setGroupBy] = useState('operation');
  const [search, setSearch] = useState('');
  const [top, setTop] = useState<'device_self' | 'host_self'>('device_self');
  const state = useJson<OperatorsPayload>(api, pluginUrl('profile', 'operators', { ...query, group_by: groupBy }));
  const data = state.data;
  if (!data) return <Loading state={state} what="the operators" />;
  if (data.computed === false) return <NotComputed warnings={data.warnings} />;
  const regex = parseFilter(search).regex;
  const rows = data.operators.filter((row) => matches(regex, row.name));
  const hasDevice = data.operators.some((row) => row.device_total > 0);
  const measure = hasDevice ? top : 'host_self';
  const columns: Column<OperatorRow>[] =
    groupBy === 'operation_input_shape'
      ? [OPERATOR_COLUMNS[0]!, { key: 'input_shape', title: 'Input shapes' }, ...OPERATOR_COLUMNS.slice(1)]
      : OPERATOR_COLUMNS;
  return (
    <div class="profile-view" data-testid="profile-operators">
      <Warnings warnings={data.warnings} />
      <div class="toolbar">
        <label>
          Group by{' '}
          <select value={groupBy} data-testid="operator-group" onChange={(e) => setGroupBy((e.target as HTMLSelectElement).value)}>
            <option value="operation">Operator</option>
            <option value="operation_input_shape">Operator + input shapes</option>
          </select>
        </label>
        {hasDevice ? (
          <label>
            Top by{' '}
            <select value={top} onChange={(e) => setTop((e.target as HTMLSelectElement).value as typeof top)}>
              <option value="device_self">device self time</option>
              <option value="host_self">host self time</option>
            </select>
          </label>
        ) : null}
        <Search value={search} onInput={setSearch} placeholder="Search operators (regex)" />
        <span class="toolbar__count">
          {rows.length} of {data.operators.length} operators
        </span>
      </div>
      <div class="profile-panel">
        <h3>Top operators by {measure === 'device_self' ? 'device' : 'host'} self time</h3>
        <TopBars items={topN(rows, 10, (r) => r.name, (r) => r[measure])} format={formatDuration} testid="operator-top" />
      </div>
      <SortableTable
        rows={rows}
        columns={columns}
        initialSort={measure}
        testid="operator-table"
        expand={(row) =>
          row.stacks.length ? (
            <div class="profile-stacks">
              {row.stacks.map((stack, i) => (
                <pre key={i} class="code">
                  {`${stack.calls} call${stack.calls === 1 ? '' : 's'}:\n${stack.frames.join('\n')}`}
                </pre>
              ))}
            </div>
          ) : (
            <span class="profile-muted">No call stack recorded (profile with with_stack=True).</span>
          )
        }
      />
    </div>
  );
}

const KERNEL_COLUMNS: Column<KernelRow>[] = [
  { key: 'name', title: 'Kernel', render: (r) => <span class="profile-kernel-name" title={r.name}>{r.name}</span> },
  { key: 'tensor_cores', title: 'Tensor cores', render: (r) => (r.tensor_cores ? 'yes' : 'no') },
  { key: 'calls', title: 'Calls', numeric: true },
  { key: 'total', title: 'Total', numeric: true, render: (r) => formatDuration(r.total) },
  { key: 'mean', title: 'Mean', numeric: true, render: (r) => formatDuration(r.mean) },
  { key: 'min', title: 'Min', numeric: true, render: (r) => formatDuration(r.min) },
  { key: 'max', title: 'Max', numeric: true, render: (r) => formatDuration(r.max) },
  { key: 'blocks_per_sm', title: 'Blocks/SM', numeric: true, render: (r) => r.blocks_per_sm?.toFixed(2) ?? '–' },
  { key: 'occupancy', title: 'Est. occupancy', numeric: true, render: (r) => (r.occupancy === null ? '–' : `${r.occupancy.toFixed(1)}%`) },
];

export function KernelView({ api, query }: { api: DashboardApi; query: Query }): JSX.Element {
  const [groupBy, setGroupBy] = useState('kernel');
  const [search, setSearch] = useState('');
  const state = useJson<KernelsPayload>(api, pluginUrl('profile', 'kernels', { ...query, group_by: groupBy }));
  const data = state.data;
  if (!data) return <Loading state={state} what="the kernels" />;
  if (data.computed === false) return <NotComputed warnings={data.warnings} />;
  if (!data.kernels.length) {
    return (
      <Notice testid="profile-no-kernels">
        This trace has no GPU kernels (profile with ProfilerActivity.CUDA on a GPU to see them).
      </Notice>
    );
  }
  const regex = parseFilter(search).regex;
  const rows = data.kernels.filter((row) => matches(regex, row.name) || matches(regex, row.operator ?? ''));
  const columns =
    groupBy === 'kernel_operator'
      ? [KERNEL_COLUMNS[0]!, { key: 'operator', title: 'Operator' } as Column<KernelRow>, ...KERNEL_COLUMNS.slice(1)]
      : KERNEL_COLUMNS;
  return (
    <div class="profile-view" data-testid="profile-kernels">
      <Warnings warnings={data.warnings} />
      <div class="toolbar">
        <label>
          Group by{' '}
          <select value={groupBy} data-testid="kernel-group" onChange={(e) => setGroupBy((e.target as HTMLSelectElement).value)}>
            <option value="kernel">Kernel</option>
            <option value="kernel_operator">Kernel + operator</option>
          </select>
        </label>
        <Search value={search} onInput={setSearch} placeholder="Search kernels (regex)" />
        <span class="toolbar__count">
          {rows.length} of {data.kernels.length} kernels · {formatDuration(data.total)} in total
        </span>
      </div>
      <div class="profile-panels">
        <div class="profile-panel">
          <h3>Tensor cores</h3>
          <TopBars
            testid="tensor-core-share"
            format={formatDuration}
            items={[
              { label: 'Using tensor cores', value: data.tensor_core_time, color: '#59a14f' },
              { label: 'Not using tensor cores', value: data.total - data.tensor_core_time, color: '#9c9c9c' },
            ]}
          />
        </div>
        <div class="profile-panel">
          <h3>Top kernels by total time</h3>
          <TopBars items={topN(rows, 8, (r) => r.name, (r) => r.total)} format={formatDuration} testid="kernel-top" />
        </div>
      </div>
      <SortableTable rows={rows} columns={columns} initialSort="total" testid="kernel-table" />
    </div>
  );
}

export function DistributedView({ api, query }: { api: DashboardApi; query: Query }): JSX.Element {
  const url = pluginUrl('profile', 'distributed', { run: query['run'] ?? '', ...(query['span'] ? { span: query['span'] } : {}) });
  const state = useJson<DistributedPayload>(api, url);
  const data = state.data;
  if (!data) return <Loading state={state} what="the workers" />;
  const parts = ['computation', 'overlap', 'communication', 'other'] as const;
  const colors = { computation: '#4e79a7', overlap: '#76b7b2', communication: '#e15759', other: '#9c9c9c' };
  return (
    <div class="profile-view" data-testid="profile-distributed">
      <div class="profile-panel">
        <h3>Computation / communication per worker (mean per step)</h3>
        {data.workers.map((worker) =>
          worker.error ? (
            <Notice error key={worker.worker}>
              {worker.worker}: {worker.error}
            </Notice>
          ) : (
            <div key={worker.worker} class="profile-bars__row" data-testid="worker-row">
              <span class="profile-bars__label">{worker.worker}</span>
              <span class="profile-bars__track profile-bars__track--stacked">
                {parts.map((part) => {
                  const overlap = worker.overlap!;
                  const value =
                    part === 'computation'
                      ? overlap.computation - overlap.overlap
                      : part === 'communication'
                        ? overlap.communication - overlap.overlap
                        : overlap[part];
                  const total = Math.max(worker.step_time ?? 0, 1e-9);
                  return (
                    <span
                      key={part}
                      class="profile-bars__bar"
                      data-testid="worker-bar"
                      title={`${part}: ${formatDuration(value)}`}
                      style={{ width: `${Math.max(value / total, 0) * 100}%`, background: colors[part] }}
                    />
                  );
                })}
              </span>
              <span class="profile-bars__value">{formatDuration(worker.step_time ?? 0)} / step</span>
            </div>
          ),
        )}
        <div class="profile-muted">
          {parts.map((part) => (
            <span key={part}>
              <span class="profile-swatch" style={{ background: colors[part] }} /> {part}{' '}
            </span>
          ))}
        </div>
      </div>
      <div class="profile-panel">
        <h3>Collectives</h3>
        <table class="profile-table" data-testid="collectives-table">
          <thead>
            <tr>
              <th>Worker</th>
              <th>Collective</th>
              <th class="profile-num">Calls</th>
              <th class="profile-num">Device time</th>
              <th class="profile-num">Host time</th>
              <th class="profile-num">Data</th>
            </tr>
          </thead>
          <tbody>
            {data.workers.flatMap((worker) =>
              (worker.collectives ?? []).map((c) => (
                <tr key={`${worker.worker}/${c.name}`}>
                  <td>{worker.worker}</td>
                  <td>{c.name}</td>
                  <td class="profile-num">{c.calls}</td>
                  <td class="profile-num">{formatDuration(c.device_time)}</td>
                  <td class="profile-num">{formatDuration(c.host_time)}</td>
                  <td class="profile-num">{c.bytes ? formatBytes(c.bytes) : '–'}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
        {data.workers.every((w) => !(w.collectives ?? []).length) ? (
          <p class="profile-muted">No collective operations were recorded.</p>
        ) : null}
      </div>
    </div>
  );
}
