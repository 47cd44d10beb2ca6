"""Scalar series as encoded columns: every point kept exactly, ~8 bytes each.

A series grows by appending chunks (numpy slices straight from the scanner)
that are encoded into blocks (:mod:`lumiboard.store.encoding`: float32 values
where they are exactly float32, steps and wall times as small deltas) once a
few thousand points wait, and whenever the series is read, so raw chunks
never hold more than a bounded number of points, and never a Python object
per point.

Blocks are kept sorted by step: points arrive in arrival order, and reading
returns them sorted by step (stable, so equal steps keep arrival order), which
is what charts and the downsampler need when restarts or several writers
interleave. New points after the last step (the usual case) become new
blocks, merged with the last ones while those are smaller (a log-structured
merge: each point is re-encoded a logarithmic number of times, and a series
holds a logarithmic number of blocks); points before it re-encode only the
blocks they fall among.

Reading decodes (a few ms per million points); the decoded columns of the
most recently read series are kept, up to an eighth of the encoded bytes
resident and at most :data:`DECODED_BYTES` in all (:func:`decoded_bytes`),
so a chart asking for one series again does not decode it again, and the
store stays within ~9 bytes a point whatever is read. A series can also be
*spilled* (:meth:`ScalarSeries.spill`): its blocks dropped, its points read
from elsewhere on each read.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable

import numpy as np

from lumiboard.store import encoding

Columns = tuple[np.ndarray, np.ndarray, np.ndarray]
Source = Callable[[], Columns]

#: Encode once this many points wait as raw chunks (24 bytes each), or this many chunks.
_PENDING_POINTS = 1 << 13
_MAX_CHUNKS = 256
#: Each series' contents get a number no other contents in this process had (see
#: :attr:`ScalarSeries.version`); ``next`` on a count is atomic under the GIL.
_VERSIONS = itertools.count(1)
#: A last block smaller than this is re-encoded with the next points, not followed by one.
_SMALL_BLOCK = 1 << 10
#: The decoded columns kept for series read recently, in bytes, all series together:
#: at most this, and at most this share of the encoded bytes resident.
DECODED_BYTES = 32 << 20
DECODED_SHARE = 8
#: ... but never less than this: a small store keeps what it reads.
DECODED_FLOOR = 1 << 20


class _Decoded:
    """The series whose decoded columns are kept, least recently read first."""

    def __init__(self, capacity: int, share: int) -> None:
        self.capacity, self.share = capacity, share
        self.total = 0
        #: Encoded bytes resident, all series together (what bounds the total).
        self.resident = 0
        # Re-entrant: a series freed while the lock is held forgets itself (weakref callback).
        self._lock = threading.RLock()
        self._entries: OrderedDict[int, tuple[weakref.ref[ScalarSeries], int]] = OrderedDict()

    def keep(self, series: ScalarSeries, columns: Columns) -> None:
        size = sum(column.nbytes for column in columns)
        key = id(series)
        with self._lock:
            limit = min(self.capacity, max(DECODED_FLOOR, self.resident // self.share))
            if size > limit // 2:  # one huge series would evict every other
                return
            self._drop(key)
            series._decoded = columns
            self._entries[key] = (weakref.ref(series, lambda _: self.forget(key)), size)
            self.total += size
            while self.total > limit:
                old = next(iter(self._entries))
                reference, _ = self._entries[old]
                evicted = reference()
                if evicted is not None:
                    evicted._decoded = None
                self._drop(old)

    def count(self, change: int) -> None:
        with self._lock:
            self.resident += change

    def touch(self, series: ScalarSeries) -> None:
        with self._lock:
            if id(series) in self._entries:
                self._entries.move_to_end(id(series))

    def forget(self, key: int) -> None:
        with self._lock:
            self._drop(key)

    def _drop(self, key: int) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.total -= entry[1]


_decoded = _Decoded(DECODED_BYTES, DECODED_SHARE)


def decoded_bytes() -> int:
    """Bytes of decoded columns kept now (for recently read series), all series together."""
    return _decoded.total


def _read_only(columns: Columns) -> Columns:
    for column in columns:
        column.flags.writeable = False
    return columns


def _empty() -> Columns:
    return _read_only((np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64)))


class ScalarSeries:
    """Every point of one (run, tag) scalar series."""

    __slots__ = (
        "__weakref__",
        "_blocks",
        "_chunks",
        "_count",
        "_decoded",
        "_lock",
        "_nbytes",
        "_pending",
        "_source",
        "_tail",
        "_version",
    )

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []
        self._chunks: list[Columns] = []
        self._count = 0  # points in blocks (or, spilled, at the source)
        self._pending = 0  # points in chunks
        self._nbytes = 0  # bytes of blocks (counted in _decoded.resident)
        self._decoded: Columns | None = None
        self._source: Source | None = None
        self._tail: tuple[int, float, float] | None = None  # the last point, once spilled
        self._version = next(_VERSIONS)
        self._lock = threading.Lock()

    @classmethod
    def from_blocks(cls, blocks: list[np.ndarray]) -> ScalarSeries:
        """A series holding ``blocks`` (as :meth:`blocks` gives them, or a cache read back)."""
        series = cls()
        series._set_blocks(list(blocks))
        return series

    def __del__(self) -> None:
        nbytes = getattr(self, "_nbytes", 0)  # unset if __init__ failed
        if nbytes:
            _decoded.count(-nbytes)

    def __len__(self) -> int:
        return self._count + self._pending

    @property
    def nbytes(self) -> int:
        """Bytes resident now: encoded blocks and raw chunks (not the decoded columns
        kept for reading, counted by :func:`decoded_bytes`)."""
        chunks = sum(array.nbytes for chunk in self._chunks for array in chunk)
        return sum(block.nbytes for block in self._blocks) + chunks

    @property
    def version(self) -> int:
        """A number for the points held now, new with each change (an append, a purge that
        dropped points) and never given to another series of this process: equal numbers,
        equal points. Spilling and loading back keep it."""
        return self._version

    @property
    def spilled(self) -> bool:
        """Whether the points are read from a source on each read (:meth:`spill`)."""
        return self._source is not None

    def append(self, step: np.ndarray, wall_time: np.ndarray, value: np.ndarray) -> None:
        """Add points (arrays of equal length) after those already stored."""
        if not len(step):
            return
        value = np.asarray(value)
        chunk = (
            np.asarray(step, dtype=np.int64),
            np.asarray(wall_time, dtype=np.float64),
            value if value.dtype == np.float32 else np.asarray(value, dtype=np.float64),
        )
        with self._lock:
            self._load_back()
            self._chunks.append(chunk)
            self._pending += len(chunk[0])
            self._version = next(_VERSIONS)
            if self._pending >= _PENDING_POINTS or len(self._chunks) >= _MAX_CHUNKS:
                self._consolidate()

    def purge_from(self, step: int) -> int:
        """Drop every point with step >= ``step`` (TensorBoard's purge); return how many."""
        with self._lock:
            self._load_back()
            self._consolidate()
            kept: list[np.ndarray] = []
            for block in self._blocks:
                head = encoding.info(block)
                if head.last_step < step:
                    kept.append(block)
                elif head.first_step < step:
                    steps, walls, values = encoding.decode([block])
                    cut = int(np.searchsorted(steps, step, side="left"))
                    kept += encoding.encode(steps[:cut], walls[:cut], values[:cut])
                else:  # sorted: this block and every later one start at or past it
                    break
            dropped = self._count - sum(encoding.info(block).points for block in kept)
            if dropped:
                self._set_blocks(kept)
                self._version = next(_VERSIONS)
            return dropped

    def columns(self) -> Columns:
        """(step, wall_time, value), sorted by step; read-only arrays.

        value is float32 when every stored value is exactly a float32, else float64.
        """
        with self._lock:
            if self._source is not None:
                step, wall_time, value = self._source()
                return _read_only((np.asarray(step), np.asarray(wall_time), np.asarray(value)))
            self._consolidate()
            decoded = self._decoded
            if decoded is not None:
                _decoded.touch(self)
                return decoded
            if not self._blocks:
                return _empty()
            decoded = _read_only(encoding.decode(self._blocks))
            _decoded.keep(self, decoded)
            return decoded

    def blocks(self) -> list[np.ndarray]:
        """The encoded blocks (read-only), e.g. to write them to a cache file as they are.

        A spilled series encodes its source's points for the caller, and stays spilled.
        """
        with self._lock:
            if self._source is not None:
                return encoding.encode(*self._source())
            self._consolidate()
            return list(self._blocks)

    def last(self) -> tuple[int, float, float] | None:
        """The point with the highest step (the latest when steps tie), or None."""
        with self._lock:
            if self._source is not None:
                return self._tail
            self._consolidate()
            if not self._blocks:
                return None
            block = self._blocks[-1]
            head = encoding.info(block)
            return head.last_step, head.last_wall, encoding.last_value(block)

    def spill(self, source: Source) -> int:
        """Drop the resident points; later reads call ``source()`` for them (each time,
        never kept). An append or a purge first loads them back. Returns the bytes freed."""
        with self._lock:
            self._consolidate()
            freed = sum(block.nbytes for block in self._blocks)
            if self._decoded is not None:
                freed += sum(column.nbytes for column in self._decoded)
            tail = None
            if self._blocks:
                block = self._blocks[-1]
                head = encoding.info(block)
                tail = (head.last_step, head.last_wall, encoding.last_value(block))
            count = self._count
            self._set_blocks([])
            self._count, self._tail, self._source = count, tail, source
            return freed

    # ---- with the lock held ---------------------------------------------------------

    def _forget_decoded(self) -> None:
        if self._decoded is not None:
            self._decoded = None
            _decoded.forget(id(self))

    def _set_blocks(self, blocks: list[np.ndarray]) -> None:
        nbytes = sum(block.nbytes for block in blocks)
        _decoded.count(nbytes - self._nbytes)
        self._blocks, self._nbytes = blocks, nbytes
        self._count = sum(encoding.info(block).points for block in blocks)
        self._forget_decoded()

    def _load_back(self) -> None:
        if self._source is None:
            return
        step, wall_time, value = self._source()
        value = np.asarray(value)
        if value.dtype != np.float32:
            value = np.asarray(value, dtype=np.float64)
        blocks = encoding.encode(np.asarray(step), np.asarray(wall_time), value)
        self._source, self._tail = None, None
        self._set_blocks(blocks)

    def _consolidate(self) -> None:
        if not self._chunks:
            return
        step = np.concatenate([chunk[0] for chunk in self._chunks])
        wall_time = np.concatenate([chunk[1] for chunk in self._chunks])
        # float32 chunks stay float32; mixed with float64 ones, float64 (exact).
        value = np.concatenate([chunk[2] for chunk in self._chunks])
        if len(step) > 1 and np.any(step[1:] < step[:-1]):
            order = np.argsort(step, kind="stable")
            step, wall_time, value = step[order], wall_time[order], value[order]
        blocks = self._blocks
        # Blocks ending past the first new step are merged with the new points;
        # ties stay in arrival order (an old point before a new one of its step).
        keep = len(blocks)
        while keep and encoding.info(blocks[keep - 1]).last_step > step[0]:
            keep -= 1
        if keep == len(blocks) and keep and encoding.info(blocks[-1]).points < _SMALL_BLOCK:
            keep -= 1  # a small last block grows rather than being followed by another
        if keep < len(blocks):
            old = encoding.decode(blocks[keep:])
            step, wall_time, value = (
                np.concatenate([old[i], new]) for i, new in enumerate((step, wall_time, value))
            )
            if len(step) > 1 and np.any(step[1:] < step[:-1]):
                order = np.argsort(step, kind="stable")
                step, wall_time, value = step[order], wall_time[order], value[order]
        merged = blocks[:keep] + encoding.encode(step, wall_time, value)
        # Merge the last two while the one before is not much larger: log-many blocks.
        while len(merged) >= 2:
            before, last = (encoding.info(block).points for block in merged[-2:])
            if before > 2 * last or before + last > encoding.MAX_BLOCK:
                break
            merged[-2:] = encoding.encode(*encoding.decode(merged[-2:]))
        self._set_blocks(merged)
        self._chunks, self._pending = [], 0


def consolidate_many(many: Iterable[ScalarSeries], defer: list[ScalarSeries] | None = None) -> None:
    """Encode the raw chunks of many series now, e.g. a run's once it is loaded.

    Series of at most :data:`encoding.QUICK_POINTS` points that hold no blocks yet
    (a short run's, read whole) are encoded together
    (:func:`encoding.encode_small_many`): thousands of short runs pay for a few
    array passes, not for each series. With ``defer``, those are added to it
    instead, for one call over many runs' series later. Any other series is
    consolidated as a read would. A series changed meanwhile (appended to, read)
    is left as it is then.
    """
    small: list[tuple[ScalarSeries, list[Columns], int]] = []
    for series in many:
        with series._lock:
            if not series._chunks:
                continue
            if series._blocks or series._source is not None:
                series._consolidate()
            elif series._pending <= encoding.QUICK_POINTS:
                if defer is not None:
                    defer.append(series)
                else:
                    small.append((series, series._chunks, len(series._chunks)))
            else:
                series._consolidate()
    if not small:
        return
    pieces = [chunk for _, chunks, count in small for chunk in chunks[:count]]
    step = np.concatenate([piece[0] for piece in pieces])
    wall_time = np.concatenate([piece[1] for piece in pieces])
    value = np.concatenate([piece[2] for piece in pieces])  # float32 stays float32 alone
    sizes = np.array([sum(len(chunk[0]) for chunk in chunks[:count]) for _, chunks, count in small])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # Points arrive in order almost always; a series whose steps go back is sorted (stably).
    back = np.flatnonzero(step[1:] < step[:-1]) + 1
    if len(back):
        back = back[~np.isin(back, starts)]  # a new series starting lower is no disorder
        for index in np.unique(np.searchsorted(starts, back, side="right") - 1).tolist():
            low, high = int(starts[index]), int(starts[index] + sizes[index])
            order = low + np.argsort(step[low:high], kind="stable")
            step[low:high], wall_time[low:high], value[low:high] = (
                step[order],
                wall_time[order],
                value[order],
            )
    blocks = encoding.encode_small_many(step, wall_time, value, starts)
    for (series, chunks, count), block in zip(small, blocks, strict=True):
        with series._lock:
            unchanged = series._chunks is chunks and len(chunks) == count
            if unchanged and not series._blocks and series._source is None:
                series._set_blocks([block])
                series._chunks, series._pending = [], 0
