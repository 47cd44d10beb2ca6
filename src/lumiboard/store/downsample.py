"""Query-time reduction of one scalar series to what a chart of a given width can show.

The store keeps every point (DESIGN.md §3); a 2,000-pixel chart needs at most a few points per
pixel column. :func:`reduce_series` splits the x axis of the queried range into equal-*width*
buckets (not equal-count: a spike is drawn where it happened on the axis) and keeps, in each
non-empty bucket, the points holding its first, minimum, maximum and last value, plus its first
NaN. This is the M4 idea (min, max, first, last per pixel column): the line drawn from the reduced
points covers the same pixels as the full line, so no spike is hidden. TensorBoard instead keeps a
1,000-point reservoir sample per tag at ingest time, which drops most spikes
(``benchmarks/query.py`` counts them).

Everything is whole-array numpy: bucket bounds by ``np.searchsorted``, per-bucket extremes by
``np.fmin.reduceat`` / ``np.fmax.reduceat``, and their positions by one comparison against the
extremes repeated over each bucket. There is no Python loop per point or per bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["POINTS_PER_BUCKET", "Reduced", "XAxis", "reduce_series"]

#: A range with at most ``POINTS_PER_BUCKET * buckets`` points is returned whole: reducing it
#: could not make it meaningfully smaller than the 4 points a bucket may keep.
POINTS_PER_BUCKET = 4

XAxis = Literal["step", "wall_time", "relative"]
_X_AXES = ("step", "wall_time", "relative")

_Index = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Reduced:
    """A reduced series: columns of equal length, sorted by the requested x axis.

    The arrays are read-only: when nothing needed reducing they are views of the store's columns.
    """

    step: npt.NDArray[np.int64]
    wall_time: npt.NDArray[np.float64]
    value: npt.NDArray[np.floating]
    #: Points inside the queried step range, before reduction (the edge neighbours not counted).
    total: int


def reduce_series(
    step: npt.ArrayLike,
    wall_time: npt.ArrayLike,
    value: npt.ArrayLike,
    buckets: int,
    step_range: tuple[int | None, int | None] | None = None,
    x: XAxis = "step",
) -> Reduced:
    """Reduce one scalar series to at most about ``4 * buckets`` points, hiding no spike.

    ``step``, ``wall_time`` and ``value`` are columns of one series, sorted by step
    (non-decreasing; equal steps allowed). ``step_range`` selects ``lo <= step <= hi`` (``None``
    for an open bound); the nearest point on each side outside the range is added unreduced, so
    a zoomed line continues to the chart's edges. ``x`` names the axis the buckets divide:
    ``"step"``, ``"wall_time"``, or ``"relative"`` (wall time since the run's start, which buckets
    exactly as ``"wall_time"``; the returned ``wall_time`` stays absolute).

    If the range holds at most ``POINTS_PER_BUCKET * buckets`` points they are all returned.
    Otherwise the range's x span is cut into ``buckets`` equal-width buckets; each non-empty one
    keeps the points holding its first, minimum, maximum and last value (NaN ignored for min and
    max, ±Inf counting as extremes) and its first NaN, if any. When ±Inf values are present, the
    points holding the range's finite minimum and maximum are kept too, so the y axis can still be
    scaled. Hence the output holds at most ``4`` points per bucket, plus one per bucket holding a
    NaN, plus 2 finite extremes when ±Inf occurs, plus the 2 edge neighbours. It always contains
    the range's first and last points and its global minimum and maximum.

    The output is sorted by x; ties keep their input order. For ``x="step"`` that is the input
    order. A non-monotonic ``wall_time`` (a clock stepping back) is sorted first, which is slower.

    Raises ``ValueError`` for columns of unequal length or not 1-D, ``buckets < 1``, an unknown
    ``x``, a range with ``lo > hi``, steps decreasing inside the range (checked there only), or a
    non-finite ``wall_time`` as the x axis of a range that needs reducing.
    """
    steps, walls, values = _columns(step, wall_time, value)
    if buckets < 1:
        raise ValueError(f"buckets must be >= 1, got {buckets}")
    if x not in _X_AXES:
        raise ValueError(f"x must be one of {_X_AXES}, got {x!r}")

    first, stop = _select(steps, step_range)
    total = stop - first
    # The nearest neighbour on each side of the range, kept whole (not part of any bucket: a
    # far-away neighbour would otherwise stretch the buckets).
    before = first - 1 if first > 0 else None
    after = stop if stop < len(steps) else None

    lo = first if before is None else before
    hi = stop if after is None else after + 1
    if _decreases(steps[lo:hi]):
        # Checked where we read (one cheap pass); the store keeps steps sorted on ingest.
        raise ValueError("step must be non-decreasing")

    xs: npt.NDArray[np.int64] | npt.NDArray[np.float64] = steps if x == "step" else walls
    if total <= POINTS_PER_BUCKET * buckets:
        if x == "step" or not _decreases(xs[lo:hi]):
            return _make(steps[lo:hi], walls[lo:hi], values[lo:hi], total)
        keep: _Index = np.arange(lo, hi, dtype=np.intp)
    else:
        window = slice(first, stop)
        if x != "step" and _decreases(xs[window]):
            order = np.argsort(xs[window], kind="stable")
            local = order[_reduce(xs[window][order], values[window][order], buckets)]
            local.sort()
        else:
            local = _reduce(xs[window], values[window], buckets)
        head = [] if before is None else [before]
        tail = [] if after is None else [after]
        keep = np.concatenate([np.array(head, np.intp), local + first, np.array(tail, np.intp)])

    if x != "step":
        # Position order is step order; the chart wants x order (stable: ties keep step order).
        keep = keep[np.argsort(xs[keep], kind="stable")]
    return _make(steps[keep], walls[keep], values[keep], total)


def _columns(
    step: npt.ArrayLike, wall_time: npt.ArrayLike, value: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.floating]]:
    """The three columns as numpy arrays, without copying ones already of the right dtype."""
    steps = np.asarray(step, dtype=np.int64)
    walls = np.asarray(wall_time, dtype=np.float64)
    values = np.asarray(value)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    if steps.ndim != 1 or walls.ndim != 1 or values.ndim != 1:
        raise ValueError("step, wall_time and value must be 1-D arrays")
    if not len(steps) == len(walls) == len(values):
        raise ValueError(
            f"columns differ in length: step {len(steps)}, wall_time {len(walls)}, "
            f"value {len(values)}"
        )
    return steps, walls, values


def _select(
    steps: npt.NDArray[np.int64], step_range: tuple[int | None, int | None] | None
) -> tuple[int, int]:
    """``[first, stop)``: the positions of the points with ``lo <= step <= hi``."""
    lo, hi = (None, None) if step_range is None else step_range
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"step_range is empty: {lo} > {hi}")
    first = 0 if lo is None else int(np.searchsorted(steps, lo, side="left"))
    stop = len(steps) if hi is None else int(np.searchsorted(steps, hi, side="right"))
    return first, max(first, stop)


def _decreases(xs: npt.NDArray[np.int64] | npt.NDArray[np.float64]) -> bool:
    """Whether ``xs`` ever goes down (or holds NaN, which compares false and must be sorted)."""
    return len(xs) > 1 and not bool(np.all(xs[1:] >= xs[:-1]))


def _reduce(
    xs: npt.NDArray[np.int64] | npt.NDArray[np.float64],
    values: npt.NDArray[np.floating],
    buckets: int,
) -> _Index:
    """Sorted positions in ``values`` to keep; ``xs`` is non-decreasing and ``len(xs) > 0``."""
    bounds = _bucket_bounds(xs, buckets)
    # Non-empty buckets only: [starts[k], ends[k]) with starts strictly increasing, as reduceat
    # needs (an empty segment would make it return the next point's value instead).
    nonempty = np.diff(bounds) > 0
    starts = bounds[:-1][nonempty]
    ends = bounds[1:][nonempty]

    # fmin/fmax skip NaN (np.minimum would let one NaN erase a bucket's extremes); ±Inf compare
    # as ordinary extremes. A bucket of NaN only gets NaN, which matches no point below.
    low = np.fmin.reduceat(values, starts)
    high = np.fmax.reduceat(values, starts)
    lengths = ends - starts
    keep = [
        starts,
        ends - 1,
        _first_in_each(np.flatnonzero(values == np.repeat(low, lengths)), starts, ends),
        _first_in_each(np.flatnonzero(values == np.repeat(high, lengths)), starts, ends),
        # A run that went NaN must show it: the first NaN of each bucket.
        _first_in_each(np.flatnonzero(np.isnan(values)), starts, ends),
    ]
    if np.isinf(low).any() or np.isinf(high).any():
        keep.append(_finite_extremes(values))
    return _sorted_unique(np.concatenate(keep))


def _sorted_unique(positions: _Index) -> _Index:
    """``np.unique`` for a few thousand positions, by sort and neighbour compare.

    numpy >= 2.3 answers ``np.unique`` of integers with a hash table, then sorts; that costs
    ~0.7 ms here for 8k positions, a sort alone ~0.05 ms.
    """
    positions.sort()
    distinct = np.empty(len(positions), dtype=bool)
    distinct[:1] = True
    np.not_equal(positions[1:], positions[:-1], out=distinct[1:])
    return positions[distinct]


def _bucket_bounds(xs: npt.NDArray[np.int64] | npt.NDArray[np.float64], buckets: int) -> _Index:
    """``buckets + 1`` positions cutting ``xs`` into equal-width x intervals.

    Bucket ``k`` holds ``x0 + k*w <= x < x0 + (k+1)*w`` with ``w = (x[-1] - x0) / buckets``; the
    last one also holds ``x[-1]``.
    """
    x0, x1 = xs[0], xs[-1]
    edges: npt.NDArray[np.int64] | npt.NDArray[np.float64]
    if np.issubdtype(xs.dtype, np.integer):
        span = int(x1) - int(x0)
        if span * buckets <= np.iinfo(np.int64).max:
            # Exact integer edges: a step s is in bucket k or later exactly when
            # s >= x0 + ceil(k * span / buckets); int64 keys keep searchsorted from converting
            # every step to float.
            k = np.arange(1, buckets, dtype=np.int64)
            edges = int(x0) + (k * span + buckets - 1) // buckets
        else:  # steps spanning more than 2**63 / buckets: float edges, exact enough
            edges = float(x0) + np.arange(1, buckets, dtype=np.float64) * (span / buckets)
    else:
        if not (np.isfinite(x0) and np.isfinite(x1)):
            raise ValueError("wall_time holds a non-finite value; it cannot be the x axis")
        edges = x0 + np.arange(1, buckets, dtype=np.float64) * ((x1 - x0) / buckets)
    inner = np.searchsorted(xs, edges, side="left")
    return np.concatenate([[0], inner, [len(xs)]]).astype(np.intp)


def _first_in_each(hits: _Index, starts: _Index, ends: _Index) -> _Index:
    """The first of the sorted positions ``hits`` inside each ``[starts[k], ends[k])``, if any."""
    if len(hits) == 0:
        return hits
    at = np.searchsorted(hits, starts, side="left")
    found = at < len(hits)
    candidates = hits[np.minimum(at, len(hits) - 1)]
    return candidates[found & (candidates < ends)]


def _finite_extremes(values: npt.NDArray[np.floating]) -> _Index:
    """Positions of the smallest and largest finite values (none if no value is finite).

    Only needed when ±Inf is present: an Inf is its bucket's extreme and would otherwise hide the
    finite extreme beside it, which the chart needs to scale its y axis.
    """
    finite = np.isfinite(values)
    if not finite.any():
        return np.empty(0, dtype=np.intp)
    low = int(np.argmin(np.where(finite, values, np.inf)))
    high = int(np.argmax(np.where(finite, values, -np.inf)))
    return np.array([low, high], dtype=np.intp)


def _make(
    steps: npt.NDArray[np.int64],
    walls: npt.NDArray[np.float64],
    values: npt.NDArray[np.floating],
    total: int,
) -> Reduced:
    for column in (steps, walls, values):
        column.flags.writeable = False
    return Reduced(step=steps, wall_time=walls, value=values, total=total)
