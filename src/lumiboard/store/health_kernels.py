"""The numpy kernels of the health rules: block summaries and the spike search.

They work on many series at once (:func:`.health_state.update_all` lays their new points
out in one array), so each is a handful of whole-array operations.
"""

from __future__ import annotations

import numpy as np

from lumiboard.store.health_rules import (
    IQR_SIGMA,
    SPIKE_WIDTH,
    SPIKE_Z,
    SPREAD_FLOOR,
    SPREAD_REACH,
)

_TINY = np.finfo(np.float64).tiny

#: A found spike: (start, width, peak, height, z), indices into the array searched.
Hit = tuple[int, int, int, float, float]


def block_stats(x: np.ndarray, offsets: np.ndarray, size: int, logs: np.ndarray) -> np.ndarray:
    """(len(offsets), 4): median, spread, lowest and highest of ``x[o:o+size]`` for each o,
    from one sort of each window. The spread is the interquartile range / 1.349 (sigma for
    normal noise), at least the smallest step between two of the window's values, and at
    least SPREAD_FLOOR x the median, or SPREAD_FLOOR where ``logs`` (logarithms: the
    spread is already relative)."""
    if not len(offsets):
        return np.empty((0, 4), dtype=np.float64)
    ordered = x[offsets[:, None] + np.arange(size)]
    ordered.sort(axis=1)
    median = _quantile(ordered, size, 0.5)
    spread = (_quantile(ordered, size, 0.75) - _quantile(ordered, size, 0.25)) / IQR_SIGMA
    # A quantized metric (accuracy on a small set) has no spread in a block where most
    # values are equal: its step between values is the least it can move.
    gaps = np.diff(ordered, axis=1)
    step = np.where(gaps > 0, gaps, np.inf).min(axis=1)
    step[np.isinf(step)] = 0.0
    floor = np.where(logs, SPREAD_FLOOR, np.maximum(SPREAD_FLOOR * np.abs(median), _TINY))
    spread = np.maximum(np.maximum(spread, step), floor)
    return np.stack((median, spread, ordered[:, 0], ordered[:, -1]), axis=1)


def _quantile(ordered: np.ndarray, size: int, q: float) -> np.ndarray:
    """Quantile ``q`` of each sorted row, interpolated linearly (numpy's default method)."""
    at = (size - 1) * q
    below = int(at)
    part = at - below
    column: np.ndarray = ordered[:, below]
    if not part:
        return column
    interpolated: np.ndarray = column + part * (ordered[:, below + 1] - column)
    return interpolated


def local_spreads(spreads: list[np.ndarray]) -> list[np.ndarray]:
    """For each series, the median of each block's spread and those of SPREAD_REACH blocks
    each side (fewer at the ends): a 20-point block's own spread is off by 40 % now and then,
    which made 4.8-sigma noise an 8-spread spike."""
    reach = SPREAD_REACH
    # Pads that leave a truncated window's median alone (an odd count keeps its middle;
    # an even one takes its upper middle): -inf, +inf before; +inf, -inf after.
    pad = np.resize(np.asarray([-np.inf, np.inf]), reach)
    padded = np.concatenate([part for one in spreads for part in (pad, one, pad[::-1])])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1)
    middles = np.partition(windows, reach, axis=1)[:, reach]
    # Window k of a series' padded stretch is centred on its block k.
    starts = np.cumsum([0] + [len(one) + 2 * reach for one in spreads[:-1]])
    return [middles[start : start + len(one)] for start, one in zip(starts, spreads, strict=True)]


def find_spikes(x: np.ndarray, scale: np.ndarray) -> list[Hit]:
    """(start, width, peak, height, z) of every run of 1 to SPIKE_WIDTH points of ``x``
    lying beyond both neighbours by over SPIKE_Z x ``scale`` (at its first point).

    Such a run starts with a jump of over that much from the point before it, so only the
    (rare) points after such a jump are tried, at each width."""
    jumps = np.abs(np.diff(x)) > SPIKE_Z * scale[1:]
    starts = np.flatnonzero(jumps) + 1
    hits: list[Hit] = []
    if not len(starts):
        return hits
    n = len(x)
    for width in range(1, SPIKE_WIDTH + 1):
        at = starts[starts + width < n]  # a run needs a point after it
        if not len(at):
            continue
        run = x[at[:, None] + np.arange(width)]
        before, after = x[at - 1], x[at + width]
        height = np.maximum(
            run.min(axis=1) - np.maximum(before, after), np.minimum(before, after) - run.max(axis=1)
        )
        z = height / scale[at]
        for i in np.flatnonzero(z > SPIKE_Z).tolist():
            start = int(at[i])
            level = 0.5 * (before[i] + after[i])
            peak = start + int(np.argmax(np.abs(run[i] - level)))
            hits.append((start, width, peak, float(height[i]), float(z[i])))
    return hits


def merge(
    hits: list[Hit],
) -> list[Hit]:
    """Overlapping runs (a spike seen at several widths) as the one with the highest z."""
    if len(hits) < 2:
        return hits
    hits.sort()
    merged = [hits[0]]
    for hit in hits[1:]:
        last = merged[-1]
        if hit[0] <= last[0] + last[1]:  # overlaps or touches the point after the last
            if hit[4] > last[4]:
                merged[-1] = hit
            continue
        merged.append(hit)
    return merged
