/**
 * The Memory view: allocated and reserved memory of one device over time; drag across the chart
 * to zoom into a time range, whose stats and allocation events are shown below.
 */
import type { JSX } from 'preact';
import { useMemo, useRef, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { useJson } from '../../core/useJson';
import { Notice } from '../../components/DashboardStates';
import { formatBytes, formatDuration, rangeStats, type AllocationRow, type MemoryPayload } from './model';
import { SortableTable, type Column } from './Table';
import { Loading, NotComputed } from './Views';

const WIDTH = 760;
const HEIGHT = 240;
const LEFT = 70;
const BOTTOM = 26;

const EVENT_COLUMNS: Column<AllocationRow>[] = [
  { key: 'operator', title: 'Operator', render: (r) => r.operator ?? '(none)' },
  { key: 'size', title: 'Size', numeric: true, render: (r) => formatBytes(r.size) },
  { key: 'allocation_time', title: 'Allocated at', numeric: true, render: (r) => formatDuration(r.allocation_time) },
  { key: 'release_time', title: 'Released at', numeric: true, render: (r) => (r.release_time === null ? '–' : formatDuration(r.release_time)) },
  { key: 'duration', title: 'Held for', numeric: true, render: (r) => (r.duration === null ? '–' : formatDuration(r.duration)) },
];

function path(time: number[], values: (number | null)[], x: (t: number) => number, y: (v: number) => number): string {
  let d = '';
  let pen = false;
  for (let i = 0; i < time.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      pen = false;
      continue;
    }
    // A step curve: the total holds until the next event.
    if (pen && i > 0) d += `H${x(time[i]!).toFixed(1)}`;
    d += `${pen ? 'V' : 'M'}${pen ? y(v).toFixed(1) : `${x(time[i]!).toFixed(1)},${y(v).toFixed(1)}`}`;
    pen = true;
  }
  return d;
}

export function MemoryView({ api, query }: { api: DashboardApi; query: Record<string, string> }): JSX.Element {
  const state = useJson<MemoryPayload>(api, pluginUrl('profile', 'memory', query));
  const [deviceName, setDeviceName] = useState<string | null>(null);
  const [range, setRange] = useState<[number, number] | null>(null);
  const [brush, setBrush] = useState<[number, number] | null>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const data = state.data;
  const device = data ? (data.devices.find((d) => d.device === deviceName) ?? data.devices.find((d) => d.device !== 'CPU') ?? data.devices[0]) : undefined;
  const full: [number, number] = useMemo(() => {
    if (!device || !device.time.length) return [0, 1];
    const first = device.time[0]!;
    const last = device.time[device.time.length - 1]!;
    return [first, last > first ? last : first + 1];
  }, [device]);
  if (!data) return <Loading state={state} what="the memory events" />;
  if (data.computed === false) return <NotComputed warnings={data.warnings} />;
  if (!device) {
    return (
      <Notice testid="profile-no-memory">
        No memory events in this trace: profile with <code>profile_memory=True</code> to record them.
      </Notice>
    );
  }
  const [from, to] = range ?? full;
  const max = Math.max(
    ...device.allocated.map((v) => v ?? 0),
    ...(device.reserved ?? []).map((v) => v ?? 0),
    1,
  );
  const x = (t: number) => LEFT + ((t - from) / (to - from)) * (WIDTH - LEFT - 10);
  const y = (v: number) => HEIGHT - BOTTOM - (v / max) * (HEIGHT - BOTTOM - 10);
  const timeOf = (clientX: number): number => {
    const rect = svgRef.current!.getBoundingClientRect();
    const px = ((clientX - rect.left) / rect.width) * WIDTH;
    return from + ((px - LEFT) / (WIDTH - LEFT - 10)) * (to - from);
  };
  const stats = rangeStats(device.time, device.allocated, from, to);
  const events = data.events.filter(
    (row) => row.device === device.device && row.allocation_time <= to && (row.release_time ?? Infinity) >= from,
  );
  return (
    <div class="profile-view" data-testid="profile-memory">
      <div class="toolbar">
        <label>
          Device{' '}
          <select value={device.device} data-testid="memory-device" onChange={(e) => { setDeviceName((e.target as HTMLSelectElement).value); setRange(null); }}>
            {data.devices.map((d) => (
              <option key={d.device} value={d.device}>
                {d.device}
              </option>
            ))}
          </select>
        </label>
        <span class="profile-muted">Drag across the chart to zoom into a time range.</span>
        <button type="button" class="button" disabled={!range} data-testid="memory-reset" onClick={() => setRange(null)}>
          Reset zoom
        </button>
      </div>
      <div class="profile-panel">
        <svg
          ref={svgRef}
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          class="profile-svg profile-svg--brush"
          data-testid="memory-chart"
          onMouseDown={(e) => setBrush([timeOf(e.clientX), timeOf(e.clientX)])}
          onMouseMove={(e) => brush && setBrush([brush[0], timeOf(e.clientX)])}
          onMouseUp={() => {
            if (brush) {
              const lo = Math.max(Math.min(...brush), full[0]);
              const hi = Math.min(Math.max(...brush), full[1]);
              if (hi - lo > (to - from) / 200) setRange([lo, hi]);
            }
            setBrush(null);
          }}
          onMouseLeave={() => setBrush(null)}
        >
          <defs>
            <clipPath id="profile-memory-clip">
              <rect x={LEFT} y={0} width={WIDTH - LEFT - 10} height={HEIGHT} />
            </clipPath>
          </defs>
          {[0, 0.5, 1].map((f) => (
            <g key={f}>
              <line x1={LEFT} x2={WIDTH - 10} y1={y(f * max)} y2={y(f * max)} class="profile-grid" />
              <text x={LEFT - 6} y={y(f * max) + 4} class="profile-axis" text-anchor="end">
                {formatBytes(f * max)}
              </text>
            </g>
          ))}
          <text x={LEFT} y={HEIGHT - 8} class="profile-axis">
            {formatDuration(from)}
          </text>
          <text x={WIDTH - 10} y={HEIGHT - 8} class="profile-axis" text-anchor="end">
            {formatDuration(to)}
          </text>
          <g clip-path="url(#profile-memory-clip)">
            {device.reserved ? (
              <path d={path(device.time, device.reserved, x, y)} class="profile-line profile-line--reserved" data-testid="memory-reserved" />
            ) : null}
            <path d={path(device.time, device.allocated, x, y)} class="profile-line" data-testid="memory-allocated" />
            {brush ? (
              <rect
                x={Math.min(x(brush[0]), x(brush[1]))}
                width={Math.abs(x(brush[1]) - x(brush[0]))}
                y={0}
                height={HEIGHT - BOTTOM}
                class="profile-brush"
              />
            ) : null}
          </g>
        </svg>
        <div class="profile-muted">
          <span class="profile-swatch" style={{ background: 'var(--accent)' }} /> allocated{' '}
          {device.reserved ? (
            <>
              <span class="profile-swatch" style={{ background: '#4e79a7' }} /> reserved
            </>
          ) : null}
        </div>
      </div>
      <div class="profile-stats" data-testid="memory-stats">
        <div class="profile-stat">
          <div class="profile-stat__value">{formatBytes(device.peak_allocated)}</div>
          <div class="profile-stat__label">Peak allocated (whole trace)</div>
        </div>
        {device.peak_reserved !== null ? (
          <div class="profile-stat">
            <div class="profile-stat__value">{formatBytes(device.peak_reserved)}</div>
            <div class="profile-stat__label">Peak reserved (whole trace)</div>
          </div>
        ) : null}
        <div class="profile-stat">
          <div class="profile-stat__value" data-testid="memory-range-peak">{formatBytes(stats?.max ?? null)}</div>
          <div class="profile-stat__label">
            Peak in {formatDuration(from)}–{formatDuration(to)}
          </div>
        </div>
        <div class="profile-stat">
          <div class="profile-stat__value">{formatBytes(stats?.delta ?? null)}</div>
          <div class="profile-stat__label">Change over the range</div>
        </div>
        <div class="profile-stat">
          <div class="profile-stat__value" data-testid="memory-range-events">{events.length.toLocaleString()}</div>
          <div class="profile-stat__label">Allocations alive in the range</div>
        </div>
      </div>
      {data.truncated ? <Notice>Only the largest {data.events.length.toLocaleString()} allocations are listed.</Notice> : null}
      <SortableTable rows={events} columns={EVENT_COLUMNS} initialSort="size" testid="memory-table" />
    </div>
  );
}
