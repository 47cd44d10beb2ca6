"""The health rules: what makes one scalar series non-finite, diverging, spiky, or its
gradient norms exploding or vanishing.

Every rule reads every stored point. The series is cut into blocks of :data:`BLOCK`
finite points (fewer for short series, see :func:`block_size`), and each block is
summed up once by its median, its spread (1.4826 x its median absolute deviation, the
standard deviation of normal noise), its lowest and its highest value. Rules then work
on those summaries, so a series that grows is only summed up where it grew
(:class:`SeriesState` keeps the complete blocks) and the rules cost a few numpy
operations over n / 20 numbers.

Rules (``k`` is a block, ``median_k``/``spread_k`` its median and spread):

- ``nonfinite`` (every tag; error): the first NaN or +-Inf; one flag per series.
- ``spike`` (every tag but ``system/*``, ``gradient_norm/*`` and ``update_ratio/*``,
  noisy by nature; 20 or more finite points): 1 to 3 consecutive points that all lie
  beyond both of their neighbours, on the same side, by more than
  :data:`SPIKE_Z` x the median spread of their block and the :data:`SPREAD_REACH`
  blocks each side. Positive series are summed up in log space (their noise is
  relative), so a spike is a factor. A step change is no spike (one
  neighbour is on the spike's side); a point on a steep but smooth slope is none
  either (its neighbours straddle it). A series with more than :data:`MAX_EPISODES`
  spikes is spiky by nature (a quantized metric, heavy-tailed noise): only spikes
  over :data:`SPIKE_OUTSTANDING` x the median spike's height count there. Warning
  when the spike is taller than the range of the series' block medians, info
  otherwise; the :data:`MAX_EPISODES` tallest (in spreads) are reported.
- ``divergence`` (loss-like tags: the name contains ``loss``, but not ``loss_scale``,
  ``loss scale`` ...: mixed precision's scale is no loss; 20 or more finite points;
  warning): block ``k``'s median rises above the running minimum ``min_k`` of the
  block medians so far by more than the largest of :data:`DIVERGENCE_PROGRESS` x the
  progress made (``median_0 - min_k``), :data:`DIVERGENCE_SPREAD` x the spread of
  the block that holds the minimum, and :data:`DIVERGENCE_RELATIVE` x ``|min_k|``, for
  :data:`DIVERGENCE_BLOCKS` blocks in a row. So a loss that gave back half of what it
  learnt, or blew up, is flagged; a noisy loss, a validation loss that creeps up a
  little, or a warm-up bump is not. Medians, not points: one bad batch is a spike.
- ``exploding_gradients`` (tags ``gradient_norm/*``, 10 or more finite points): a point
  over :data:`EXPLODE_ERROR` x the reference (the median of the first
  :data:`REFERENCE_POINTS` finite points) is an error; block medians over
  :data:`EXPLODE_WARNING` x the reference for two blocks in a row, a warning.
  Non-finite norms are ``nonfinite`` flags.
- ``vanishing_gradients`` (same tags; warning): a whole block below
  ``max(VANISH_ABSOLUTE, VANISH_RELATIVE x reference)``.

One flag per episode (consecutive blocks, a one-block gap joined), at its first point;
at most :data:`MAX_EPISODES` episodes of a kind per series.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

#: Finite points per block once a series has 10 x this many.
BLOCK = 20
#: The smallest block: shorter series get ``finite // 10`` points per block, at least this.
MIN_BLOCK = 5
#: Finite points a series needs before spikes and divergence are looked for.
MIN_POINTS = 20
#: Finite points a gradient norm needs before its rules apply, and its reference's size.
REFERENCE_POINTS = 10
#: The spread of a block: this x its median absolute deviation (sigma for normal noise).
MAD_SCALE = 1.4826
#: A spike stands out from both neighbours by more than this many spreads.
SPIKE_Z = 8.0
#: In a series with many spikes, those this many times taller than the median spike.
SPIKE_OUTSTANDING = 2.0
#: A spike's scale: the median spread of its block and this many blocks each side.
SPREAD_REACH = 2
#: The widest spike, in points; wider is a level change, not a spike.
SPIKE_WIDTH = 3
#: Floor of a block's spread, relative to its median (a flat block has no spread).
SPREAD_FLOOR = 1e-6
DIVERGENCE_PROGRESS = 0.5
DIVERGENCE_SPREAD = 3.0
DIVERGENCE_RELATIVE = 0.1
DIVERGENCE_BLOCKS = 2
EXPLODE_ERROR = 1e3
EXPLODE_WARNING = 1e2
VANISH_RELATIVE = 1e-4
VANISH_ABSOLUTE = 1e-8
#: Flags of one kind per series, at most (spikes: the tallest).
MAX_EPISODES = 10
#: Spikes remembered per series (the tallest); the rest are only counted.
KEPT_SPIKES = 100

LOSS_TAG = re.compile(r"loss(?![ _\-/]?scal)", re.IGNORECASE)
GRADIENT_PREFIX = "gradient_norm/"
NO_SPIKE_PREFIXES = ("system/", "gradient_norm/", "update_ratio/")


@dataclass(frozen=True)
class Rules:
    """Which rules beyond ``nonfinite`` apply to a tag."""

    spikes: bool
    divergence: bool
    gradients: bool


def rules_for(tag: str) -> Rules:
    """The rules of ``tag`` (see the module docstring)."""
    return Rules(
        spikes=not tag.startswith(NO_SPIKE_PREFIXES),
        divergence=not tag.startswith("system/") and LOSS_TAG.search(tag) is not None,
        gradients=tag.startswith(GRADIENT_PREFIX),
    )


def block_size(finite: int) -> int:
    """Points per block for a series of ``finite`` finite points (0: too short)."""
    if finite < REFERENCE_POINTS:
        return 0
    return BLOCK if finite >= 10 * BLOCK else max(MIN_BLOCK, finite // 10)


@dataclass(frozen=True)
class Finding:
    """One flag of a series: ``index`` is its point's position in the series' columns."""

    kind: str
    level: str
    index: int
    value: float
    message: str


@dataclass(frozen=True)
class Spike:
    start: int  # position of the first point in the series' columns
    back: int  # position of the point after it (the series came back)
    peak: int  # position of its most extreme point
    block: int
    height: float  # beyond both neighbours
    z: float  # height in spreads


_EMPTY_F = np.empty(0, dtype=np.float64)
_TINY = np.finfo(np.float64).tiny
_EMPTY_I = np.empty(0, dtype=np.int64)


class SeriesState:
    """What the rules know of one series: counts, complete blocks, spikes found.

    :meth:`update` with the series' values reads only what was appended since the
    last call (any other change starts it over); :func:`.health_messages.findings`
    turns it into flags.
    """

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        #: Whether blocks are summed up in log space (every finite value so far > 0);
        #: None until the first finite value.
        self.log: bool | None = None
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.ends: tuple[int, int, int, int] | None = None  # first/last step and value bits
        self.nonfinite_at = -1
        self.nonfinite = 0
        self.finite = 0
        self.block = 0
        # Complete blocks: position of the first point, median, spread, lowest, highest.
        self.starts = _EMPTY_I
        self.stats = np.empty((0, 4), dtype=np.float64)
        # The incomplete last block (its window: the last ``block`` finite points).
        self.tail_start = -1
        self.tail_stats = _EMPTY_F
        self.spikes: list[Spike] = []
        self.dropped_spikes = 0
        self.reference: float | None = None

    # ---- reading ----------------------------------------------------------------

    def update(self, step: np.ndarray, value: np.ndarray) -> None:
        """Read the points of ``value`` (with ``step``: the series' columns) not read yet."""
        n = len(value)
        if not self._extends(step, value):
            self.reset()
            self.log = None
        if n == self.count:
            return
        new = value[self.count :]
        finite_new = np.isfinite(new)
        k = int(np.count_nonzero(finite_new))
        if k and self.log is not False:
            positive = bool(np.all(new[finite_new] > 0)) if k < len(new) else bool(new.min() > 0)
            if self.log and not positive:  # a first value <= 0: start over, in linear space
                self.reset()
                self.log = False
                self.update(step, value)
                return
            self.log = positive
        if k < len(new):
            if self.nonfinite_at < 0:
                self.nonfinite_at = self.count + int(np.argmin(finite_new))
            self.nonfinite += len(new) - k
        self.finite += k
        self.count = n
        self.ends = (int(step[0]), _bits(value, 0), int(step[-1]), _bits(value, n - 1))
        if self.rules.spikes or self.rules.divergence or self.rules.gradients:
            self._update_blocks(value)

    def _extends(self, step: np.ndarray, value: np.ndarray) -> bool:
        if self.ends is None:
            return True
        last = self.count - 1
        return len(value) >= self.count and self.ends == (
            int(step[0]),
            _bits(value, 0),
            int(step[last]),
            _bits(value, last),
        )

    def _update_blocks(self, value: np.ndarray) -> None:
        size = block_size(self.finite)
        if size == 0:
            return
        if size != self.block:
            self.block, self.starts = size, _EMPTY_I
            self.stats = np.empty((0, 4), dtype=np.float64)
            self.spikes, self.dropped_spikes = [], 0
        done = len(self.starts)
        # Spikes are decided again from SPREAD_REACH + 1 blocks back: their scale reads the
        # spreads of SPREAD_REACH blocks each side, and a run needs the point before it.
        first = max(done - SPREAD_REACH - 2, 0)
        origin = int(self.starts[first]) if done else 0
        x, where = _finite_from(value, origin, self.nonfinite == 0)
        if self.log:
            x = np.log(x)
        if self.reference is None and self.rules.gradients:
            self.reference = _reference(value)
        base = first * size  # finite index of x[0]
        complete = self.finite // size
        offsets = np.arange(done, complete, dtype=np.int64) * size - base
        has_tail = self.finite % size != 0
        if has_tail:
            offsets = np.append(offsets, len(x) - size)
        stats = _block_stats(x, offsets, size, bool(self.log))
        full = complete - done
        self.starts = np.concatenate((self.starts, where[offsets[:full]]))
        self.stats = np.concatenate((self.stats, stats[:full]))
        self.tail_start = int(where[offsets[-1]]) if has_tail else -1
        self.tail_stats = stats[-1] if has_tail else _EMPTY_F
        if self.rules.spikes and self.finite >= MIN_POINTS:
            redo = max(done - SPREAD_REACH - 1, 0)
            self._update_spikes(x, where, base, redo * size - base)

    def _update_spikes(self, x: np.ndarray, where: np.ndarray, base: int, lo: int) -> None:
        redo = (lo + base) // self.block
        kept = [spike for spike in self.spikes if spike.block < redo]
        spreads = _local_spreads(self.block_stats()[:, 1])
        blocks = np.minimum((np.arange(len(x)) + base) // self.block, len(spreads) - 1)
        found = [
            Spike(
                int(where[start]),
                int(where[start + width]),
                int(where[peak]),
                int(blocks[start]),
                height,
                z,
            )
            for start, width, peak, height, z in _find_spikes(x, lo, spreads[blocks])
        ]
        if kept and found and found[0].start <= kept[-1].back:  # one spike, seen twice
            if found[0].z > kept[-1].z:
                kept.pop()
            else:
                found.pop(0)
        spikes = kept + found
        if len(spikes) > KEPT_SPIKES:
            tallest = sorted(spikes, key=lambda spike: -spike.z)[:KEPT_SPIKES]
            self.dropped_spikes += len(spikes) - KEPT_SPIKES
            spikes = sorted(tallest, key=lambda spike: spike.start)
        self.spikes = spikes

    def block_stats(self) -> np.ndarray:
        """(blocks, 4): median, spread, lowest, highest of every block, the last included
        (of the logarithms when :attr:`log`)."""
        if self.tail_start < 0:
            return self.stats
        return np.concatenate((self.stats, self.tail_stats[None, :]))

    def linear_stats(self) -> np.ndarray:
        """:meth:`block_stats` with medians, lowest and highest as values (not logarithms)."""
        stats = self.block_stats()
        if not self.log:
            return stats
        linear: np.ndarray = np.exp(stats)
        linear[:, 1] = stats[:, 1]
        return linear

    def in_space(self, values: np.ndarray) -> np.ndarray:
        """``values`` in the space blocks are summed up in (logarithms when :attr:`log`)."""
        return np.log(values) if self.log else values

    def block_starts(self) -> np.ndarray:
        """Position of each block's first point (the incomplete last block's window start)."""
        if self.tail_start < 0:
            return self.starts
        return np.append(self.starts, self.tail_start)


def _bits(value: np.ndarray, index: int) -> int:
    return int(value[index : index + 1].view(np.int64)[0])


def _reference(value: np.ndarray) -> float:
    """The median of the first REFERENCE_POINTS finite values (the series has that many)."""
    head = value[: REFERENCE_POINTS * 4]
    head = head[np.isfinite(head)]
    if len(head) < REFERENCE_POINTS:
        head = value[np.isfinite(value)]
    return float(np.median(head[:REFERENCE_POINTS]))


def _finite_from(value: np.ndarray, origin: int, all_finite: bool) -> tuple[np.ndarray, np.ndarray]:
    """The finite values from position ``origin`` on, and their positions."""
    part = value[origin:]
    if all_finite:
        return part, np.arange(origin, len(value), dtype=np.int64)
    keep = np.flatnonzero(np.isfinite(part))
    return part[keep], keep + origin


def _block_stats(x: np.ndarray, offsets: np.ndarray, size: int, log: bool) -> np.ndarray:
    """(len(offsets), 4): median, spread, lowest and highest of ``x[o:o+size]`` for each o
    (``log``: x holds logarithms, whose spread is floored absolutely: it is relative)."""
    if not len(offsets):
        return np.empty((0, 4), dtype=np.float64)
    windows = x[offsets[:, None] + np.arange(size)]
    median = _middle(windows.copy(), size)
    spread = MAD_SCALE * _middle(np.abs(windows - median[:, None]), size)
    floor = SPREAD_FLOOR if log else np.maximum(SPREAD_FLOOR * np.abs(median), _TINY)
    return np.stack(
        (median, np.maximum(spread, floor), windows.min(axis=1), windows.max(axis=1)), axis=1
    )


def _local_spreads(spreads: np.ndarray) -> np.ndarray:
    """The median of each block's spread and those of SPREAD_REACH blocks each side (fewer
    at the ends): a 20-point block's own MAD is off by 40 % now and then, which made
    4.8-sigma noise an 8-spread spike."""
    reach = SPREAD_REACH
    # Pads that leave a truncated window's median alone (an odd count keeps its middle;
    # an even one takes its upper middle): -inf, +inf before; +inf, -inf after.
    pad = np.resize(np.asarray([-np.inf, np.inf]), reach)
    padded = np.concatenate((pad, spreads, pad[::-1]))
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1)
    local: np.ndarray = np.partition(windows, reach, axis=1)[:, reach]
    return local


def _middle(rows: np.ndarray, size: int) -> np.ndarray:
    # np.median(axis=1) is ~3x slower at this size: it checks for NaN (none here) and copies.
    half = size // 2
    if size % 2:
        return np.partition(rows, half, axis=1)[:, half]
    parted = np.partition(rows, (half - 1, half), axis=1)
    return 0.5 * (parted[:, half - 1] + parted[:, half])


def _find_spikes(
    x: np.ndarray, lo: int, spreads: np.ndarray
) -> list[tuple[int, int, int, float, float]]:
    """(start, width, peak, height, z) of the spikes starting at ``lo`` or later (indices into x),
    overlapping ones merged into the tallest; ``spreads[i]`` is point i's block spread."""
    n = len(x)
    hits: list[tuple[int, int, int, float, float]] = []
    for width in range(1, SPIKE_WIDTH + 1):
        first, stop = max(lo, 1), n - width  # a run needs a point before and one after
        if stop <= first:
            continue
        low = x[first:stop].copy()
        high = low.copy()
        for k in range(1, width):
            np.minimum(low, x[first + k : stop + k], out=low)
            np.maximum(high, x[first + k : stop + k], out=high)
        before, after = x[first - 1 : stop - 1], x[first + width : stop + width]
        height = np.maximum(low - np.maximum(before, after), np.minimum(before, after) - high)
        z = height / spreads[first:stop]
        for i in np.flatnonzero(z > SPIKE_Z).tolist():
            start = first + i
            run = x[start : start + width]
            level = 0.5 * (x[start - 1] + x[start + width])
            peak = start + int(np.argmax(np.abs(run - level)))
            hits.append((start, width, peak, float(height[i]), float(z[i])))
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


def episodes(mask: np.ndarray, min_length: int, max_gap: int) -> list[tuple[int, int]]:
    """(first, end) of the runs of True in ``mask``, runs at most ``max_gap`` apart joined,
    those shorter than ``min_length`` dropped."""
    if not mask.any():
        return []
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if max_gap > 0 and len(starts) > 1:
        keep = (starts[1:] - ends[:-1]) > max_gap
        starts = starts[np.concatenate(([True], keep))]
        ends = ends[np.concatenate((keep, [True]))]
    long = (ends - starts) >= min_length
    return list(zip(starts[long].tolist(), ends[long].tolist(), strict=True))


def number(value: float) -> str:
    """A value for a message: 4 significant digits."""
    return f"{value:.4g}" if math.isfinite(value) else str(value)
