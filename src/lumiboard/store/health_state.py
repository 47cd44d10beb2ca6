"""What the health rules know of each series, brought up to date many series at a time.

:class:`SeriesState` keeps a series' counts, its complete blocks (median, spread, lowest,
highest; :mod:`.health_rules`) and the spikes found. :func:`update_all` reads what was
appended to many series at once: the numpy work (block medians, spreads, the spike search)
runs (:mod:`.health_kernels`) over the new points of a whole batch laid out in one array:
series by series it was mostly call overhead (~300 us a 1,000-point series; batched,
~50 us with the bookkeeping: ``benchmarks/health.py``).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from lumiboard.store import health_kernels as kernels
from lumiboard.store.health_rules import (
    KEPT_SPIKES,
    MIN_POINTS,
    REFERENCE_POINTS,
    SPREAD_REACH,
    Rules,
    Spike,
    block_size,
)

#: New points read per batch: bounds the temporaries (about 10 arrays this long).
BATCH_POINTS = 1 << 21

_EMPTY_F = np.empty(0, dtype=np.float64)
_EMPTY_I = np.empty(0, dtype=np.int64)
_NAN = np.asarray([np.nan])


class SeriesState:
    """What the rules know of one series: counts, complete blocks, spikes found.

    :meth:`update` (or :func:`update_all` for many) with the series' columns reads only
    what was appended since the last call; any other change starts it over.
    :func:`.health_messages.findings` turns it into flags.
    """

    __slots__ = (
        "block",
        "count",
        "dropped_spikes",
        "ends",
        "finite",
        "log",
        "nonfinite",
        "nonfinite_at",
        "reference",
        "rules",
        "spikes",
        "starts",
        "stats",
        "tail_start",
        "tail_stats",
    )

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

    def update(self, step: np.ndarray, value: np.ndarray) -> None:
        """Read the points of ``value`` (with ``step``: the series' columns) not read yet."""
        update_all([(self, step, value)])

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

    # ---- reading (see update_all) -------------------------------------------------

    def _prepare(self, step: np.ndarray, value: np.ndarray) -> _Work | None:
        """Count what is new; return the work its blocks need (None: none)."""
        n = len(value)
        if not self._extends(step, value):
            self.reset()
            self.log = None
        if n == self.count:
            return None
        new = value[self.count :]
        lowest, highest = float(new.min()), float(new.max())  # NaN if any is NaN
        if np.isfinite(lowest) and np.isfinite(highest):
            k, positive = len(new), lowest > 0
        else:
            finite_new = np.isfinite(new)
            k = int(np.count_nonzero(finite_new))
            positive = bool(np.all(new[finite_new] > 0))
            if self.nonfinite_at < 0:
                self.nonfinite_at = self.count + int(np.argmin(finite_new))
            self.nonfinite += len(new) - k
        if k and self.log is not False:
            if self.log and not positive:  # a first value <= 0: start over, in linear space
                self.reset()
                self.log = False
                return self._prepare(step, value)
            self.log = positive
        self.finite += k
        self.count = n
        self.ends = (int(step[0]), _bits(value, 0), int(step[-1]), _bits(value, n - 1))
        if not (self.rules.spikes or self.rules.divergence or self.rules.gradients):
            return None
        size = block_size(self.finite)
        if size == 0:
            return None
        if size != self.block:
            self.block, self.starts = size, _EMPTY_I
            self.stats = np.empty((0, 4), dtype=np.float64)
            self.spikes, self.dropped_spikes = [], 0
        if self.reference is None and self.rules.gradients:
            self.reference = _reference(value)
        done = len(self.starts)
        # Spikes are decided again from SPREAD_REACH + 1 blocks back: their scale reads the
        # spreads of SPREAD_REACH blocks each side, and a run needs the point before it.
        first = max(done - SPREAD_REACH - 2, 0)
        origin = int(self.starts[first]) if done else 0
        part = value[origin:]
        if self.nonfinite:
            where: np.ndarray | None = np.flatnonzero(np.isfinite(part)) + origin
            x = value[where]
        else:
            where, x = None, part
        spiky = self.rules.spikes and self.finite >= MIN_POINTS
        redo = max(done - SPREAD_REACH - 1, 0) if spiky else None
        return _Work(self, x, where, origin, first * size, done, self.finite // size, redo)

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

    def _absorb(self, work: _Work, stats: np.ndarray, tail: np.ndarray | None) -> None:
        """Keep the new complete blocks' summaries (``stats``); the incomplete one's
        (``tail``) until next time."""
        size = self.block
        if len(stats):
            first = work.done * size - work.base  # in x
            starts = work.positions(np.arange(first, first + len(stats) * size, size))
            self.starts = np.concatenate((self.starts, starts)) if work.done else starts
            self.stats = np.concatenate((self.stats, stats)) if work.done else stats
        if tail is None:
            self.tail_start, self.tail_stats = -1, _EMPTY_F
        else:
            self.tail_start = int(work.positions(np.asarray([len(work.x) - size]))[0])
            self.tail_stats = tail

    def _absorb_spikes(self, work: _Work, hits: list[tuple[int, int, int, float, float]]) -> None:
        """Replace the spikes of the blocks from ``work.redo`` on by ``hits`` (x indices)."""
        assert work.redo is not None
        kept = [spike for spike in self.spikes if spike.block < work.redo]
        last_block = len(self.starts) - (self.tail_start < 0)
        found = []
        for start, width, peak, height, z in hits:
            start_at, back_at, peak_at = work.positions(np.asarray([start, start + width, peak]))
            block = min((work.base + start) // self.block, last_block)
            found.append(Spike(int(start_at), int(back_at), int(peak_at), block, height, z))
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


@dataclass(slots=True)
class _Work:
    """The new part of one series, as the batch kernels take it."""

    state: SeriesState
    # The finite values from the first block redone; in a batch, a view of its layout
    # (logarithms when state.log) at ``start``.
    x: np.ndarray
    where: np.ndarray | None  # their positions in the series; None: origin + index
    origin: int
    base: int  # the finite index of x[0] (a block boundary)
    done: int  # complete blocks summed up before
    complete: int  # complete blocks now (an incomplete one follows when finite % block)
    redo: int | None  # the first block whose spikes are decided again (None: no spike rule)
    start: int = 0

    def positions(self, indices: np.ndarray) -> np.ndarray:
        """The positions in the series of x's ``indices``."""
        return indices + self.origin if self.where is None else self.where[indices]


def update_all(items: Iterable[tuple[SeriesState, np.ndarray, np.ndarray]]) -> None:
    """:meth:`SeriesState.update` for many (state, step, value), in batches."""
    for batch in _batches(items):
        layout = _lay_out(batch)
        _summarize(batch, layout)
        _search_spikes([work for work in batch if work.redo is not None], layout)


def _batches(items: Iterable[tuple[SeriesState, np.ndarray, np.ndarray]]) -> Iterator[list[_Work]]:
    batch: list[_Work] = []
    points = 0
    for state, step, value in items:
        work = state._prepare(step, value)
        if work is None:
            continue
        batch.append(work)
        points += len(work.x)
        if points >= BATCH_POINTS:
            yield batch
            batch, points = [], 0
    if batch:
        yield batch


def _lay_out(batch: list[_Work]) -> np.ndarray:
    """The batch's new points in one array, a NaN after each series (no run of the spike
    search spans two), logarithms where a series is summed up in log space; each work's
    ``x`` becomes its view of it."""
    layout = np.concatenate([part for work in batch for part in (work.x, _NAN)])
    lengths = [len(work.x) + 1 for work in batch]
    logs = np.repeat([bool(work.state.log) for work in batch], lengths)
    np.log(layout, out=layout, where=logs)
    start = 0
    for work, length in zip(batch, lengths, strict=True):
        work.start, work.x = start, layout[start : start + length - 1]
        start += length
    return layout


def _summarize(batch: list[_Work], layout: np.ndarray) -> None:
    """Sum up every new block of the batch: one gather and one sort per block size."""
    for size in {work.state.block for work in batch}:
        group = [work for work in batch if work.state.block == size]
        # Window starts in the layout: the new complete blocks of each series, in order,
        # then the incomplete last block of those that have one (its last ``size`` points).
        counts = np.asarray([work.complete - work.done for work in group])
        owner = np.repeat(np.arange(len(group)), counts)
        firsts = np.asarray([work.start + work.done * size - work.base for work in group])
        ends = np.cumsum(counts)
        within = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - counts, counts)
        tails = [work for work in group if work.state.finite % size]
        offsets = np.concatenate(
            (
                firsts[owner] + within * size,
                np.asarray([work.start + len(work.x) - size for work in tails], dtype=np.int64),
            )
        )
        logs = np.asarray([bool(work.state.log) for work in group])[owner]
        logs = np.concatenate((logs, [bool(work.state.log) for work in tails]))
        stats = kernels.block_stats(layout, offsets, size, logs)
        tail_rows = iter(stats[int(ends[-1]) :])
        for work, end, count in zip(group, ends.tolist(), counts.tolist(), strict=True):
            tail = next(tail_rows) if work.state.finite % size else None
            work.state._absorb(work, stats[end - count : end], tail)


def _search_spikes(batch: list[_Work], layout: np.ndarray) -> None:
    """Find the spikes of every series of ``batch`` (those of the layout with the spike
    rule) from its ``redo`` block on, in one pass over the layout."""
    if not batch:
        return
    local = kernels.local_spreads([work.state.block_stats()[:, 1] for work in batch])
    scale = np.full(len(layout), np.inf)  # inf: no spike starts there
    for work, spreads in zip(batch, local, strict=True):
        size = work.state.block
        assert work.redo is not None
        decided = work.redo * size - work.base  # before it: found before, kept
        part = np.repeat(spreads[work.base // size :], size)[decided : len(work.x)]
        scale[work.start + decided : work.start + len(work.x)] = part
    starts = np.asarray([work.start for work in batch])
    found: list[list[tuple[int, int, int, float, float]]] = [[] for _ in batch]
    for start, width, peak, height, z in kernels.find_spikes(layout, scale):
        k = int(np.searchsorted(starts, start, side="right")) - 1
        offset = batch[k].start
        found[k].append((start - offset, width, peak - offset, height, z))
    for work, hits in zip(batch, found, strict=True):
        work.state._absorb_spikes(work, kernels.merge(hits))


def _bits(value: np.ndarray, index: int) -> int:
    # Any float width (the store keeps float32 columns as float32): a column
    # that changes width reads as changed, and is read again from the start.
    return int.from_bytes(value[index : index + 1].tobytes(), "little")


def _reference(value: np.ndarray) -> float:
    """The median of the first REFERENCE_POINTS finite values (the series has that many)."""
    head = value[: REFERENCE_POINTS * 4]
    head = head[np.isfinite(head)]
    if len(head) < REFERENCE_POINTS:
        head = value[np.isfinite(value)]
    return float(statistics.median(head[:REFERENCE_POINTS].tolist()))  # np.median: 50 us
