"""Scalar series as columns: every point kept, ~24 bytes each.

A series grows by appending chunks (numpy slices straight from the scanner)
and is consolidated into three contiguous arrays (int64 step, float64
wall_time, float64 value) when read, so memory is exactly 24 bytes a point
plus a small constant, never a Python object per point.

Points are kept in arrival order while they arrive; reading returns them
sorted by step (stable, so equal steps keep arrival order), which is what
charts and the downsampler need when restarts or several writers interleave.
"""

from __future__ import annotations

import threading

import numpy as np

#: Consolidate once this many chunks are waiting (bounds per-chunk overhead).
_MAX_CHUNKS = 256


class ScalarSeries:
    """Every point of one (run, tag) scalar series."""

    __slots__ = ("_chunks", "_lock", "_step", "_value", "_wall_time")

    def __init__(self) -> None:
        self._step = np.empty(0, dtype=np.int64)
        self._wall_time = np.empty(0, dtype=np.float64)
        self._value = np.empty(0, dtype=np.float64)
        self._chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._step) + sum(len(chunk[0]) for chunk in self._chunks)

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns (consolidated or not)."""
        arrays = [self._step, self._wall_time, self._value]
        arrays += [array for chunk in self._chunks for array in chunk]
        return sum(array.nbytes for array in arrays)

    def append(self, step: np.ndarray, wall_time: np.ndarray, value: np.ndarray) -> None:
        """Add points (arrays of equal length) after those already stored."""
        if not len(step):
            return
        with self._lock:
            self._chunks.append(
                (
                    np.asarray(step, dtype=np.int64),
                    np.asarray(wall_time, dtype=np.float64),
                    np.asarray(value, dtype=np.float64),
                )
            )
            if len(self._chunks) >= _MAX_CHUNKS:
                self._consolidate()

    def purge_from(self, step: int) -> int:
        """Drop every point with step >= ``step`` (TensorBoard's purge); return how many."""
        with self._lock:
            self._consolidate()
            keep = self._step < step
            dropped = int(len(keep) - np.count_nonzero(keep))
            if dropped:
                self._step, self._wall_time, self._value = (
                    self._step[keep],
                    self._wall_time[keep],
                    self._value[keep],
                )
            return dropped

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(step, wall_time, value), sorted by step; read-only views."""
        with self._lock:
            self._consolidate()
            return self._step, self._wall_time, self._value

    def last(self) -> tuple[int, float, float] | None:
        """The point with the highest step (the latest when steps tie), or None."""
        step, wall_time, value = self.columns()
        if not len(step):
            return None
        return int(step[-1]), float(wall_time[-1]), float(value[-1])

    def _consolidate(self) -> None:
        # The consolidated columns are always sorted (every change below keeps
        # or restores that), so with no new chunk there is nothing to do.
        if not self._chunks:
            return
        steps = [self._step, *(chunk[0] for chunk in self._chunks)]
        walls = [self._wall_time, *(chunk[1] for chunk in self._chunks)]
        values = [self._value, *(chunk[2] for chunk in self._chunks)]
        self._step = np.concatenate(steps)
        self._wall_time = np.concatenate(walls)
        self._value = np.concatenate(values)
        self._chunks = []
        if len(self._step) > 1 and np.any(self._step[1:] < self._step[:-1]):
            order = np.argsort(self._step, kind="stable")
            self._step = self._step[order]
            self._wall_time = self._wall_time[order]
            self._value = self._value[order]
        for array in (self._step, self._wall_time, self._value):
            array.flags.writeable = False
