/** The y range a chart shows: the data's extent, or TensorBoard's "ignore outliers" range. */

/**
 * [min, max] of the finite values, or, with `ignoreOutliers`, TensorBoard's 5th–95th percentile
 * range (`computeDataSeriesExtent` in line_chart_internal_utils.ts: the sorted values at
 * indices ceil((n-1)*0.05) and floor((n-1)*0.95), used when there are more than 2 values).
 * null when there is no finite value.
 */
export function valueRange(values: ArrayLike<number>, ignoreOutliers: boolean): [number, number] | null {
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) finite.push(v);
  }
  if (finite.length === 0) return null;
  if (!ignoreOutliers || finite.length <= 2) {
    let min = Infinity;
    let max = -Infinity;
    for (const v of finite) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return [min, max];
  }
  const sorted = Float64Array.from(finite).sort();
  const n = sorted.length;
  return [sorted[Math.ceil((n - 1) * 0.05)]!, sorted[Math.floor((n - 1) * 0.95)]!];
}

/** A range padded by 5 % of its span (or around a single value), for drawing. */
export function padRange(range: [number, number], log: boolean): [number, number] {
  let [lo, hi] = range;
  if (log) {
    if (lo <= 0) lo = Number.MIN_VALUE;
    const a = Math.log10(lo);
    const b = Math.log10(hi);
    const span = b - a || 1;
    return [10 ** (a - span * 0.05), 10 ** (b + span * 0.05)];
  }
  if (lo === hi) {
    // TensorBoard's niceDomain for a flat line: 0 .. 2v (or -1 .. 1 around zero).
    if (lo === 0) return [-1, 1];
    return lo < 0 ? [2 * lo, 0] : [0, 2 * hi];
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}
