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
  { value: 'ema', label: 'EMA (TensorBoard)', title: "TensorBoard's debiased exponential moving average" },
  {
    value: 'twema',
    label: 'Time-weighted EMA',
    title: 'An EMA whose decay follows the x distance between points, so uneven point density does not bend the curve',
  },
  { value: 'running', label: 'Running average', title: 'The mean of the last 1/(1−s) points (trailing)' },
  {
    value: 'centered',
    label: 'Centred average',
    title: 'The mean of about 1/(1−s) points centred on each point, narrower at the ends (no lag)',
  },
  {
    value: 'gaussian',
    label: 'Gaussian',
    title: 'A Gaussian-weighted local line over x (σ = half the window): no lag, even at the ends',
  },
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
  // Running / centred means over the finite points.
  const k = windowPoints(weight);
  const half = Math.floor(k / 2);
  const values = idx.map((i) => y[i]!);
  const means =
    method === 'running'
      ? windowMeans(values, (j) => Math.max(0, j - k + 1), (j) => j)
      : // Centred: 2·half + 1 points, shrunk symmetrically at the ends, so the newest point
        // is never pulled back by a one-sided window (no lag at the edge either).
        windowMeans(
          values,
          (j) => j - Math.min(half, j, n - 1 - j),
          (j) => j + Math.min(half, j, n - 1 - j),
        );
  for (let j = 0; j < n; j++) out[idx[j]!] = means[j]!;
  return out;
}

/**
 * The mean of `values[lo(j)..hi(j)]` for each j (both bounds non-decreasing in j), by a sliding
 * sum. A sliding sum loses everything to cancellation once a huge value (a diverged loss of
 * 1e20) leaves the window, so the sum is recomputed whenever a leaving value dwarfs what remains.
 */
export function windowMeans(
  values: readonly number[],
  lo: (j: number) => number,
  hi: (j: number) => number,
): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  let a = 0; // the window is values[a..b)
  let b = 0;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const l = lo(j);
    const h = hi(j) + 1;
    while (b < h) sum += values[b++]!;
    let dwarfed = false;
    while (a < l) {
      const leaving = values[a++]!;
      sum -= leaving;
      if (Math.abs(leaving) > 1e6 * Math.abs(sum)) dwarfed = true;
    }
    if (dwarfed) {
      sum = 0;
      for (let m = a; m < b; m++) sum += values[m]!;
    }
    out[j] = sum / (b - a);
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

/** About how many neighbours a Gaussian-smoothed point looks at, at most. */
const GAUSSIAN_SAMPLES = 256;

/**
 * A Gaussian kernel in x (σ = half the window, in mean point spacings, cut at 3σ), fitted as a
 * local line rather than a local mean: a trend is followed to the ends of the series instead of
 * being pulled back by the one-sided kernel there (a line stays exactly on itself).
 *
 * Windows wider than GAUSSIAN_SAMPLES points work on blocks of consecutive points (each its
 * mean x and y, weighted by its size), so a point costs about that much whatever the window;
 * blocks rather than every k-th point, which would alias periodic noise.
 */
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
  const size = Math.max(1, Math.ceil((2 * reach) / gap / GAUSSIAN_SAMPLES));
  const blocks = Math.ceil(n / size);
  const bx = new Float64Array(blocks);
  const by = new Float64Array(blocks);
  const bn = new Float64Array(blocks);
  for (let j = 0; j < n; j++) {
    const b = Math.floor(j / size);
    bx[b] += x[idx[j]!]!;
    by[b] += y[idx[j]!]!;
    bn[b]! += 1;
  }
  for (let b = 0; b < blocks; b++) {
    bx[b] = bx[b]! / bn[b]!;
    by[b] = by[b]! / bn[b]!;
  }
  let lo = 0;
  let hi = 0;
  for (let j = 0; j < n; j++) {
    const xj = x[idx[j]!]!;
    while (lo < blocks - 1 && bx[lo]! < xj - reach) lo++;
    while (hi + 1 < blocks && bx[hi + 1]! <= xj + reach) hi++;
    // Weighted sums for the local line y = a + b·d around xj (d in units of σ).
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let t0 = 0;
    let t1 = 0;
    for (let m = lo; m <= hi; m++) {
      const d = (bx[m]! - xj) / sigma;
      const w = bn[m]! * Math.exp(-0.5 * d * d);
      const v = by[m]!;
      s0 += w;
      s1 += w * d;
      s2 += w * d * d;
      t0 += w * v;
      t1 += w * d * v;
    }
    const det = s0 * s2 - s1 * s1;
    // Too few distinct neighbours for a line (or a degenerate fit): the local mean.
    out[idx[j]!] = s0 === 0 ? y[idx[j]!]! : det > 1e-9 * s0 * s0 ? (t0 * s2 - t1 * s1) / det : t0 / s0;
  }
  return out;
}
