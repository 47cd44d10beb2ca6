/**
 * The distribution chart's pure logic: TensorBoard's compressed histograms (nine values per step
 * at basis points 0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000) as columns, and nested bands
 * (min–max, ±1.5σ, ±1σ, ±0.5σ: the basis points paired from the outside in) around the median.
 */
import type { XAxis } from '../../core/api';
import { linear, px, timeOf, toNumber, type JsonNumber } from '../histograms/svg';

/** `[wall_time, step, [[basis_point, value] x 9]]`, the /distributions route's items. */
export type RawDistribution = [JsonNumber, JsonNumber, [JsonNumber, JsonNumber][]];

export const BASIS_POINTS = [0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000] as const;

/** What each basis point stands for, as a tooltip row label. */
export const BASIS_LABELS = ['min', '−1.5σ', '−1σ', '−0.5σ', 'median', '+0.5σ', '+1σ', '+1.5σ', 'max'] as const;

/** Bands from the outside in: indices into the nine values (low, high). */
export const BANDS = [
  { name: 'minmax', low: 0, high: 8, opacity: 0.16 },
  { name: '1.5', low: 1, high: 7, opacity: 0.2 },
  { name: '1.0', low: 2, high: 6, opacity: 0.26 },
  { name: '0.5', low: 3, high: 5, opacity: 0.32 },
] as const;

export interface Distribution {
  step: Float64Array;
  wallTime: Float64Array;
  /** `values[i][k]`: basis point i's value at point k. */
  values: Float64Array[];
}

export function parseDistributions(raw: readonly RawDistribution[]): Distribution {
  const n = raw.length;
  const step = new Float64Array(n);
  const wallTime = new Float64Array(n);
  const values = BASIS_POINTS.map(() => new Float64Array(n));
  raw.forEach(([wall, s, pairs], k) => {
    step[k] = toNumber(s);
    wallTime[k] = toNumber(wall);
    BASIS_POINTS.forEach((bp, i) => {
      // By basis point, not position: robust to a reordered or shorter list.
      const pair = pairs.find((p) => toNumber(p[0]) === bp);
      values[i]![k] = pair ? toNumber(pair[1]) : NaN;
    });
  });
  return { step, wallTime, values };
}

export interface DistributionGeometry {
  /** Indices of the points drawn (all nine values finite, time finite), in time order. */
  drawn: number[];
  /** Points left out because a value or the time is not finite. */
  skipped: number;
  times: Float64Array;
  timeRange: [number, number];
  valueRange: [number, number];
  x(time: number): number;
  y(value: number): number;
  /** One closed path per band, outside in, with its name (`data-band`). */
  bands: { name: string; d: string; opacity: number }[];
  median: string;
}

export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export function buildDistributionGeometry(dist: Distribution, xAxis: XAxis, box: Box): DistributionGeometry | null {
  const n = dist.step.length;
  const first = dist.wallTime.reduce((m, w) => Math.min(m, w), Infinity);
  const times = new Float64Array(n);
  const drawn: number[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < n; k++) {
    times[k] = timeOf(xAxis, dist.step[k]!, dist.wallTime[k]!, first);
    if (!Number.isFinite(times[k]!)) continue;
    if (!dist.values.every((column) => Number.isFinite(column[k]!))) continue;
    drawn.push(k);
    lo = Math.min(lo, dist.values[0]![k]!, dist.values[8]![k]!);
    hi = Math.max(hi, dist.values[0]![k]!, dist.values[8]![k]!);
  }
  if (!drawn.length) return null;
  drawn.sort((a, b) => times[a]! - times[b]!);
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 0.5;
    lo -= pad;
    hi += pad;
  } else {
    const pad = (hi - lo) * 0.04;
    lo -= pad;
    hi += pad;
  }
  const t0 = times[drawn[0]!]!;
  const t1 = times[drawn[drawn.length - 1]!]!;
  const x = linear(t0, t1, box.left, box.right);
  const y = linear(lo, hi, box.bottom, box.top);
  // A single point is drawn 8 px wide: a band needs some width to be seen.
  const columns =
    drawn.length === 1
      ? [-4, 4].map((dx) => ({ k: drawn[0]!, px: x(t0) + dx }))
      : drawn.map((k) => ({ k, px: x(times[k]!) }));
  const edge = (values: Float64Array, backwards: boolean) =>
    (backwards ? [...columns].reverse() : columns).map((c) => `${px(c.px)},${px(y(values[c.k]!))}`).join('L');
  const bands = BANDS.map((band) => ({
    name: band.name,
    opacity: band.opacity,
    d: `M${edge(dist.values[band.high]!, false)}L${edge(dist.values[band.low]!, true)}Z`,
  }));
  return {
    drawn,
    skipped: n - drawn.length,
    times,
    timeRange: [t0, t1],
    valueRange: [lo, hi],
    x,
    y,
    bands,
    median: `M${edge(dist.values[4]!, false)}`,
  };
}

/** The drawn point nearest to the pointer's x (pixels), or null when none is drawn. */
export function nearestPoint(geometry: DistributionGeometry, mx: number): number | null {
  let best: number | null = null;
  let bestDistance = Infinity;
  for (const k of geometry.drawn) {
    const distance = Math.abs(geometry.x(geometry.times[k]!) - mx);
    if (distance < bestDistance) {
      best = k;
      bestDistance = distance;
    }
  }
  return best;
}
