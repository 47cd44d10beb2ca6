/**
 * TensorBoard's smoothing: an exponential moving average with debiasing
 * (`classicSmoothing` in tensorboard/webapp/widgets/line_chart_v2/data_transformer.ts):
 *
 *     last = last * w + (1 - w) * y;  n++;  smoothed = last / (1 - w^n)   (divisor 1 when w = 1)
 *
 * A constant series is returned unsmoothed (tensorflow/tensorboard#786: the debiased EMA of a
 * constant is that constant, but rounding would make it wobble). Non-finite points pass through
 * unchanged and do not advance `n`. The weight is clamped to [0, 1].
 */
export function smooth(values: ArrayLike<number>, weight: number): Float64Array {
  const length = values.length;
  const out = new Float64Array(length);
  if (length === 0) return out;
  const w = Math.min(1, Math.max(0, Number.isFinite(weight) ? weight : 0));

  const first = values[0]!;
  let constant = true;
  for (let i = 1; i < length; i++) {
    // `==` as TensorBoard's `every(v => v == yValues[0])`: a NaN first value is never constant.
    if (values[i] !== first) {
      constant = false;
      break;
    }
  }
  if (constant && !Number.isNaN(first)) {
    for (let i = 0; i < length; i++) out[i] = values[i]!;
    return out;
  }

  let last = 0;
  let n = 0;
  for (let i = 0; i < length; i++) {
    const y = values[i]!;
    if (!Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    last = last * w + (1 - w) * y;
    n++;
    const debias = w === 1 ? 1 : 1 - Math.pow(w, n);
    out[i] = last / debias;
  }
  return out;
}

/**
 * The smoothers users asked TensorBoard for (tensorflow/tensorboard#5680, #1518; W&B offers the
 * same set). One `smoothing` value in [0, 1) drives them all: EMA weights take it as is, window
 * smoothers use about as many points as an EMA of that weight averages over, 1 / (1 − s)
 * (0.6 → 3 points, 0.9 → 10, 0.99 → 100).
 */
export type Smoother = 'ema' | 'twema' | 'running' | 'centered' | 'gaussian';

export const SMOOTHERS: { value: Smoother; label: string; title: string }[] = [
  { value: 'ema', label: 'Exponential (TensorBoard)', title: "TensorBoard's debiased exponential moving average" },
  {
    value: 'twema',
    label: 'Time-weighted EMA',
    title: 'An EMA whose decay follows the x distance between points, so uneven point density does not bend the curve',
  },
  { value: 'running', label: 'Running average', title: 'The mean of the last 1/(1−s) points (trailing)' },
  { value: 'centered', label: 'Centred moving average', title: 'The mean of the 1/(1−s) points around each point (no lag)' },
  { value: 'gaussian', label: 'Gaussian', title: 'A Gaussian kernel over x, σ = half the window' },
];

export function isSmoother(value: unknown): value is Smoother {
  return SMOOTHERS.some((s) => s.value === value);
}

/** The window (in points) a window smoother uses for `weight`: about 1 / (1 − weight), at least 1. */
export function windowPoints(weight: number): number {
  const w = Math.min(0.999, Math.max(0, Number.isFinite(weight) ? weight : 0));
  return Math.max(1, Math.round(1 / (1 - w)));
}

/**
 * `y` (at `x`, ascending) smoothed by `method` with strength `weight`. As `smooth`: a constant
 * series comes back as it is, non-finite points pass through unchanged and are left out of
 * every average.
 */
export function smoothSeries(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  method: Smoother,
  weight: number,
): Float64Array {
  if (method === 'ema') return smooth(y, weight);
  const length = y.length;
  const out = new Float64Array(length);
  // The finite points, in order; the others pass through.
  const idx: number[] = [];
  for (let i = 0; i < length; i++) {
    out[i] = y[i]!;
    if (Number.isFinite(y[i]!)) idx.push(i);
  }
  const n = idx.length;
  if (n < 2) return out;
  let constant = true;
  for (let j = 1; j < n && constant; j++) if (y[idx[j]!] !== y[idx[0]!]) constant = false;
  if (constant) return out;
  if (method === 'twema') return timeWeighted(x, y, idx, weight, out);
  if (method === 'gaussian') return gaussian(x, y, idx, weight, out);
  // Running / centred means over the finite points, with prefix sums.
  const k = windowPoints(weight);
  const prefix = new Float64Array(n + 1);
  for (let j = 0; j < n; j++) prefix[j + 1] = prefix[j]! + y[idx[j]!]!;
  const half = Math.floor(k / 2);
  for (let j = 0; j < n; j++) {
    const lo = method === 'running' ? Math.max(0, j - k + 1) : Math.max(0, j - half);
    const hi = method === 'running' ? j : Math.min(n - 1, j + (k - 1 - half));
    out[idx[j]!] = (prefix[hi + 1]! - prefix[lo]!) / (hi - lo + 1);
  }
  return out;
}

function meanGap(x: ArrayLike<number>, idx: number[]): number {
  const span = x[idx[idx.length - 1]!]! - x[idx[0]!]!;
  return span > 0 ? span / (idx.length - 1) : 0;
}

/** EMA with decay weight^(Δx / mean Δx), debiased by the weight given to the start. */
function timeWeighted(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  idx: number[],
  weight: number,
  out: Float64Array,
): Float64Array {
  const w = Math.min(0.999, Math.max(0, weight));
  const gap = meanGap(x, idx);
  let last = 0;
  let norm = 0;
  // The first point enters as after one mean gap (as in the EMA, whose first step decays by w).
  let previous = x[idx[0]!]! - gap;
  for (const i of idx) {
    const dx = x[i]! - previous;
    previous = x[i]!;
    const decay = gap > 0 && Number.isFinite(dx) ? Math.pow(w, Math.max(0, dx) / gap) : w;
    last = last * decay + (1 - decay) * y[i]!;
    norm = norm * decay + (1 - decay);
    out[i] = norm > 0 ? last / norm : y[i]!;
  }
  return out;
}

/** A Gaussian kernel in x: σ = half the window (in mean point spacings), cut at 3σ. */
function gaussian(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  idx: number[],
  weight: number,
  out: Float64Array,
): Float64Array {
  const gap = meanGap(x, idx);
  const sigma = (windowPoints(weight) / 2) * gap;
  if (!(sigma > 0)) return out;
  const reach = 3 * sigma;
  const n = idx.length;
  let lo = 0;
  let hi = 0;
  for (let j = 0; j < n; j++) {
    const xj = x[idx[j]!]!;
    while (x[idx[lo]!]! < xj - reach) lo++;
    while (hi + 1 < n && x[idx[hi + 1]!]! <= xj + reach) hi++;
    let sum = 0;
    let total = 0;
    for (let m = lo; m <= hi; m++) {
      const d = (x[idx[m]!]! - xj) / sigma;
      const k = Math.exp(-0.5 * d * d);
      sum += k * y[idx[m]!]!;
      total += k;
    }
    out[idx[j]!] = sum / total;
  }
  return out;
}
