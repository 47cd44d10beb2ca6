"""Histograms as percentile bands: TensorBoard's ``compress_histogram``, value for value.

The distributions dashboard draws, for each step, the values at nine basis
points (1/100ths of a percent) of the histogram's cumulative count: the
normal distribution's ``-inf, -1.5σ, -σ, -0.5σ, 0, 0.5σ, σ, 1.5σ, +inf``.
TensorBoard computes them in ``plugins/distribution/compressor.py``; this
module follows its rule exactly (the unit tests compare with it), quirks
included:

- the cumulative weight is scaled to 0..10000 *before* searching, and a basis
  point is placed in the first bucket whose cumulative weight is strictly
  above it (``searchsorted(..., side="right")``), skipping buckets that add
  no weight;
- inside that bucket the value is interpolated linearly between the bucket's
  edges, clamped to the histogram's outer edges; the first bucket with weight
  (no weight before it) interpolates from the histogram's leftmost edge;
- basis points past the last bucket with weight (10000 always is, and all of
  them when every count is zero) get the rightmost edge;
- no buckets at all gives zeros.

Non-finite edges or counts never raise: they propagate as NaN/Inf the way
TensorBoard's float arithmetic does (its numpy warnings are silenced here).
"""

from __future__ import annotations

import numpy as np

#: Basis points of the normal CDF at -inf, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, +inf sigma.
NORMAL_HISTOGRAM_BPS: tuple[int, ...] = (0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000)


def compress_histogram(
    rows: np.ndarray, basis_points: tuple[int, ...] = NORMAL_HISTOGRAM_BPS
) -> list[tuple[int, float]]:
    """``[(basis_point, value), ...]`` for a ``[k, 3]`` (left, right, count) histogram."""
    buckets = np.asarray(rows, dtype=np.float64)
    if buckets.size == 0:
        return [(point, 0.0) for point in basis_points]
    if buckets.ndim != 2 or buckets.shape[1] != 3:
        raise ValueError(f"a histogram is [k, 3] (left, right, count), got {list(buckets.shape)}")
    leftmost = float(buckets[0, 0])
    rightmost = float(buckets[-1, 1])
    right_edges = buckets[:, 1].tolist()
    counts = buckets[:, 2]
    with np.errstate(all="ignore"):
        total = float(counts.sum())
        # Multiply first, then divide (TensorBoard's order: the bits must match).
        weights_array = np.cumsum(counts * basis_points[-1] / (total or 1.0))
    weights = weights_array.tolist()
    result: list[tuple[int, float]] = []
    for point in basis_points:
        value = _value_at(point, weights_array, weights, right_edges, leftmost, rightmost)
        if value is None:
            break
        result.append((point, value))
    # Basis points beyond the last bucket with weight sit at the right edge.
    result.extend((point, rightmost) for point in basis_points[len(result) :])
    return result


def _value_at(
    point: int,
    weights_array: np.ndarray,
    weights: list[float],
    right_edges: list[float],
    leftmost: float,
    rightmost: float,
) -> float | None:
    """The interpolated value at ``point``, or None when no bucket with weight is left."""
    index = int(np.searchsorted(weights_array, point, side="right"))
    while index < len(weights):
        upper = weights[index]
        lower = weights[index - 1] if index > 0 else 0.0
        if upper == lower:  # a bucket without weight: nothing to interpolate in
            index += 1
            continue
        # Python's min/max with NaN depend on argument order; keep TensorBoard's.
        left = leftmost if index == 0 or not lower else max(right_edges[index - 1], leftmost)
        right = min(right_edges[index], rightmost)
        return _lerp(point, lower, upper, left, right)
    return None


def _lerp(x: float, x0: float, x1: float, y0: float, y1: float) -> float:
    """Map ``x`` from [x0, x1] onto [y0, y1] (x0 != x1; NaN and Inf propagate)."""
    return y0 + (x - x0) * (y1 - y0) / (x1 - x0)
