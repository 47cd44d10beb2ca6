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
