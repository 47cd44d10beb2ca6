"""Interval algebra on time ranges: ``(starts, ends)`` arrays, sorted and disjoint once merged.

The step-time breakdown is unions, intersections and differences of the
busy ranges of each kind of activity (torch-tb-profiler computes it the same
way); doing it on whole arrays keeps a trace of a million events fast.
"""

from __future__ import annotations

import numpy as np

Ranges = tuple[np.ndarray, np.ndarray]

EMPTY: Ranges = (np.zeros(0), np.zeros(0))


def merge(starts: np.ndarray, ends: np.ndarray) -> Ranges:
    """The union of possibly overlapping ranges, as sorted disjoint ranges."""
    keep = ends > starts
    starts, ends = (
        np.asarray(starts, dtype=np.float64)[keep],
        np.asarray(ends, dtype=np.float64)[keep],
    )
    if not len(starts):
        return EMPTY
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    # A new range begins where a start lies beyond everything before it.
    new = np.empty(len(starts), dtype=bool)
    new[0] = True
    new[1:] = starts[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, len(starts) - 1)
    return starts[first], reach[last]


def _combine(a: Ranges, b: Ranges, keep_a: bool, keep_b: bool) -> Ranges:
    """Where (a is covered == keep_a) and (b is covered == keep_b), for merged a and b."""
    points = np.concatenate([a[0], a[1], b[0], b[1]])
    if not len(points):
        return EMPTY
    delta_a = np.concatenate([np.ones(len(a[0])), -np.ones(len(a[1])), np.zeros(2 * len(b[0]))])
    delta_b = np.concatenate([np.zeros(2 * len(a[0])), np.ones(len(b[0])), -np.ones(len(b[1]))])
    order = np.argsort(points, kind="stable")
    points, delta_a, delta_b = points[order], delta_a[order], delta_b[order]
    # Coverage after each boundary; several boundaries at one time collapse to the last.
    in_a = np.cumsum(delta_a) > 0.5
    in_b = np.cumsum(delta_b) > 0.5
    inside = (in_a == keep_a) & (in_b == keep_b)
    starts, ends = points[:-1][inside[:-1]], points[1:][inside[:-1]]
    return merge(starts, ends)


def intersect(a: Ranges, b: Ranges) -> Ranges:
    """Time covered by both ``a`` and ``b`` (each merged)."""
    return _combine(a, b, True, True)


def subtract(a: Ranges, b: Ranges) -> Ranges:
    """Time covered by ``a`` and not by ``b`` (each merged)."""
    return _combine(a, b, True, False)


def total(ranges: Ranges) -> float:
    """Length of merged ranges."""
    return float(np.sum(ranges[1] - ranges[0]))


def clip(ranges: Ranges, start: float, end: float) -> Ranges:
    """Merged ranges cut to ``[start, end]``."""
    starts, ends = np.maximum(ranges[0], start), np.minimum(ranges[1], end)
    keep = ends > starts
    return starts[keep], ends[keep]


def covered(ranges: Ranges, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For each window ``[starts[i], ends[i]]``, how long merged ``ranges`` cover it: the
    same as ``total(clip(ranges, start, end))`` per window, for all windows at once."""
    low, high = ranges
    if not len(low):
        return np.zeros(len(starts))
    # Covered length from the first range's start up to each boundary.
    before = np.concatenate([[0.0], np.cumsum(high - low)])

    def upto(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64)
        index = np.searchsorted(low, points, side="right")  # ranges starting at or before
        last = np.maximum(index - 1, 0)
        partial = np.clip(points - low[last], 0.0, high[last] - low[last])
        found: np.ndarray = np.where(index > 0, before[last] + partial, 0.0)
        return found

    result: np.ndarray = np.maximum(upto(ends) - upto(starts), 0.0)
    return result
