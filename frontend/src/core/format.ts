/** How numbers, steps and times read in tooltips and on axes. */

export function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '∞';
  if (value === -Infinity) return '−∞';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e6 || abs < 1e-4) return value.toExponential(3).replace(/\.?0+e/, 'e');
  return String(Number(value.toPrecision(5)));
}

const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatStep(step: number | null | undefined): string {
  if (step === null || step === undefined || !Number.isFinite(step)) return '–';
  return INTEGER.format(step);
}

/** Compact axis labels: 1.5k, 20M, 0.001, 1e-7. */
export function formatCompact(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e15 || abs < 1e-4) return value.toExponential(1).replace('.0e', 'e');
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, suffix] of units) {
    if (abs >= size) return `${Number((value / size).toPrecision(4))}${suffix}`;
  }
  return String(Number(value.toPrecision(4)));
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** A wall time (seconds since the epoch) in the browser's time zone: 2024-05-01 13:05:22. */
export function formatWallTime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const d = new Date(seconds * 1000);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** A duration in seconds: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min, 3 d 4 h. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const sign = seconds < 0 ? '−' : '';
  let s = Math.abs(seconds);
  if (s < 1) return `${sign}${Math.round(s * 1000)} ms`;
  if (s < 60) return `${sign}${Number(s.toPrecision(3))} s`;
  s = Math.round(s);
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days) return `${sign}${days} d ${hours} h`;
  if (hours) return `${sign}${hours} h ${pad(minutes)} min`;
  return `${sign}${minutes} min ${pad(s % 60)} s`;
}

/** Axis labels for a relative-time axis: whole units where the ticks allow. */
export function formatDurationTick(seconds: number): string {
  const abs = Math.abs(seconds);
  if (abs === 0) return '0';
  if (abs < 60) return `${Number(seconds.toPrecision(3))}s`;
  if (abs < 3600) return `${Number((seconds / 60).toPrecision(3))}m`;
  if (abs < 86400) return `${Number((seconds / 3600).toPrecision(3))}h`;
  return `${Number((seconds / 86400).toPrecision(3))}d`;
}

/** Wall-time axis labels, one line, as precise as the tick spacing (`incr`, seconds) needs. */
export function formatWallTick(seconds: number, incr: number): string {
  const d = new Date(seconds * 1000);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (incr >= 86400) return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (incr >= 3600 * 6) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
  if (incr >= 60) return hm;
  if (incr >= 1) return `${hm}:${pad(d.getSeconds())}`;
  const ms = String(d.getMilliseconds()).padStart(3, '0');
  return `${pad(d.getMinutes())}:${pad(d.getSeconds())}.${ms}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
