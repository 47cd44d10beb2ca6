/** The profile routes' payloads and pure helpers (formatting, sorting, stacking). */

export interface SpanInfo {
  span: string;
  file: string;
  size: number;
  mtime: number;
}
export interface RunsPayload {
  runs: Record<string, Record<string, SpanInfo[]>>;
}

export interface Common {
  run: string;
  worker: string;
  span: string;
  warnings: string[];
  /** False when the view is not computed for this profile's format (XSpace, for now). */
  computed?: boolean;
}

export interface StepRow {
  step: string;
  start: number;
  duration: number;
  [role: string]: number | string;
}

export interface Gpu {
  device: number;
  utilization: number;
  sm_efficiency: number | null;
  achieved_occupancy: number | null;
  kernel_time: number;
}

export interface Device {
  id: number | null;
  name: string | null;
  memory: number | null;
  compute_capability: string | null;
  sms: number | null;
}

export interface OverviewPayload extends Common {
  devices: Device[];
  /** Where and when a TensorFlow/Keras/JAX profile was recorded (null for PyTorch traces). */
  host?: string | null;
  breakdown: { roles: string[]; steps: StepRow[]; mean: Record<string, number> };
  gpu: Gpu[];
  tensor_core_share: number | null;
  events: number;
  duration: number;
  recommendations: string[];
}

export interface OperatorRow {
  name: string;
  input_shape: string | null;
  calls: number;
  host_self: number;
  host_total: number;
  device_self: number;
  device_total: number;
  stacks: { frames: string[]; calls: number }[];
}
export interface OperatorsPayload extends Common {
  group_by: string;
  operators: OperatorRow[];
}

export interface KernelRow {
  name: string;
  operator: string | null;
  calls: number;
  total: number;
  mean: number;
  min: number;
  max: number;
  blocks_per_sm: number | null;
  occupancy: number | null;
  tensor_cores: boolean;
}
export interface KernelsPayload extends Common {
  group_by: string;
  kernels: KernelRow[];
  total: number;
  tensor_core_time: number;
  tensor_core_share: number;
}

export interface MemoryDevice {
  device: string;
  time: number[];
  allocated: (number | null)[];
  reserved: (number | null)[] | null;
  peak_allocated: number | null;
  peak_reserved: number | null;
}
export interface AllocationRow {
  device: string;
  operator: string | null;
  size: number;
  allocation_time: number;
  release_time: number | null;
  duration: number | null;
}
export interface MemoryPayload extends Common {
  devices: MemoryDevice[];
  events: AllocationRow[];
  truncated: boolean;
}

export interface TrackInfo {
  id: number;
  name: string;
  kind: 'cpu' | 'gpu' | 'other';
  rows: number;
}
export interface TracePayload extends Common {
  origin: number;
  duration: number;
  window: [number, number];
  total: number;
  truncated: boolean;
  tracks: TrackInfo[];
  categories: string[];
  names: string[];
  events: {
    id: number[];
    track: number[];
    start: number[];
    duration: number[];
    depth: number[];
    name: number[];
    category: number[];
  };
}
export interface EventDetails extends Common {
  id: number;
  name: string;
  category: string;
  start: number;
  duration: number;
  track: string;
  args: Record<string, unknown>;
}

export interface WorkerSummary {
  worker: string;
  error?: string;
  file?: string;
  devices?: Device[];
  gpu?: Gpu[];
  overlap?: { computation: number; communication: number; overlap: number; other: number };
  collectives?: { name: string; calls: number; host_time: number; device_time: number; bytes: number }[];
  step_time?: number;
}
export interface DistributedPayload {
  run: string;
  workers: WorkerSummary[];
}

/** Colours of the step-time roles (readable on light and dark backgrounds). */
export const ROLE_COLORS: Record<string, string> = {
  Kernel: '#4e79a7',
  Memcpy: '#f28e2b',
  Memset: '#e15759',
  Communication: '#76b7b2',
  Runtime: '#59a14f',
  DataLoader: '#edc948',
  'CPU Exec': '#b07aa1',
  Other: '#9c9c9c',
};

/** Colours of trace categories; unknown ones hash into the palette. */
const CATEGORY_COLORS: Record<string, string> = {
  cpu_op: '#4e79a7',
  user_annotation: '#b07aa1',
  gpu_user_annotation: '#b07aa1',
  python_function: '#8cd17d',
  cuda_runtime: '#59a14f',
  cuda_driver: '#499894',
  kernel: '#e15759',
  gpu_memcpy: '#f28e2b',
  gpu_memset: '#ff9d9a',
  Trace: '#bab0ac',
};
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7'];

export function categoryColor(category: string): string {
  const known = CATEGORY_COLORS[category];
  if (known) return known;
  let hash = 0;
  for (let i = 0; i < category.length; i++) hash = (hash * 31 + category.charCodeAt(i)) >>> 0;
  return PALETTE[hash % PALETTE.length]!;
}

/** A duration given in microseconds: `850 µs`, `12.3 ms`, `1.25 s`. */
export function formatDuration(us: number): string {
  if (!Number.isFinite(us)) return '–';
  const abs = Math.abs(us);
  if (abs < 1) return `${(us * 1000).toFixed(0)} ns`;
  if (abs < 1000) return `${us.toFixed(abs < 10 ? 2 : abs < 100 ? 1 : 0)} µs`;
  if (abs < 1e6) return `${(us / 1000).toFixed(abs < 1e4 ? 2 : 1)} ms`;
  return `${(us / 1e6).toFixed(2)} s`;
}

/** Bytes with binary units: `512 B`, `3.0 MiB`. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${bytes < 0 ? '-' : ''}${unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

export function formatPercent(share: number | null, digits = 1): string {
  return share === null || !Number.isFinite(share) ? '–' : `${(share * 100).toFixed(digits)}%`;
}

export type SortDirection = 'asc' | 'desc';

/** Rows sorted by a key (numbers numerically, the rest as text; nulls last), stable. */
export function sortRows<T>(rows: readonly T[], key: keyof T, direction: SortDirection): T[] {
  const sign = direction === 'asc' ? 1 : -1;
  return rows
    .map((row, index) => ({ row, index }))
    .sort((a, b) => {
      const x = a.row[key];
      const y = b.row[key];
      if (x === y) return a.index - b.index;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      if (typeof x === 'number' && typeof y === 'number') return (x - y) * sign || a.index - b.index;
      return String(x).localeCompare(String(y)) * sign || a.index - b.index;
    })
    .map((item) => item.row);
}

/** The first `n` rows by `value`, the rest summed into one "Other" entry. */
export function topN<T>(rows: readonly T[], n: number, label: (row: T) => string, value: (row: T) => number): { label: string; value: number }[] {
  const sorted = [...rows].sort((a, b) => value(b) - value(a));
  const top = sorted.slice(0, n).map((row) => ({ label: label(row), value: value(row) }));
  const rest = sorted.slice(n).reduce((sum, row) => sum + value(row), 0);
  if (rest > 0) top.push({ label: 'Other', value: rest });
  return top.filter((item) => item.value > 0);
}

/** For a stacked bar: each role's [bottom, top] in the step, in `roles` order. */
export function stack(row: StepRow, roles: readonly string[]): { role: string; from: number; to: number }[] {
  let at = 0;
  return roles.map((role) => {
    const value = Number(row[role] ?? 0);
    const from = at;
    at += value;
    return { role, from, to: at };
  });
}

/** Memory stats over `[from, to]` of one curve: min, max, and the value change. */
export function rangeStats(
  time: readonly number[],
  values: readonly (number | null)[],
  from: number,
  to: number,
): { min: number; max: number; delta: number; points: number } | null {
  let min = Infinity;
  let max = -Infinity;
  let first: number | null = null;
  let last: number | null = null;
  let points = 0;
  for (let i = 0; i < time.length; i++) {
    const t = time[i]!;
    const v = values[i];
    if (t < from || t > to || v === null || v === undefined) continue;
    points++;
    if (first === null) first = v;
    last = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (points === 0 || first === null || last === null) return null;
  return { min, max, delta: last - first, points };
}
