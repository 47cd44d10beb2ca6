"""What the store holds for one run: series per tag, tag metadata, counters."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from lumiboard.plugins.base import DataClass
from lumiboard.store.columns import ScalarSeries
from lumiboard.store.reservoir import Reservoir


@dataclass(frozen=True)
class TagInfo:
    """A tag's plugin and description, from the first metadata seen (as TensorBoard)."""

    plugin_name: str
    data_class: DataClass
    display_name: str = ""
    description: str = ""
    plugin_content: bytes = b""


@dataclass(frozen=True)
class TensorPoint:
    """One tensor value of a tensor series."""

    step: int
    wall_time: float
    array: np.ndarray


@dataclass(frozen=True)
class BlobRef:
    """Where one value of a blob sequence lives: read on demand, never kept in memory.

    ``offset``/``length`` locate the Event payload in ``path``; ``index`` is
    the value's position in its Summary (-1: the event itself, e.g. a graph).
    """

    path: str
    offset: int
    length: int
    index: int


@dataclass(frozen=True)
class BlobPoint:
    """One step of a blob sequence: ``count`` blobs (e.g. images) behind ``ref``."""

    step: int
    wall_time: float
    ref: BlobRef
    count: int


@dataclass
class RunData:
    """Every series of one run, guarded by ``lock`` (ingest writes, queries read)."""

    name: str
    tags: dict[str, TagInfo] = field(default_factory=dict)
    scalars: dict[str, ScalarSeries] = field(default_factory=dict)
    tensors: dict[str, Reservoir[TensorPoint]] = field(default_factory=dict)
    blobs: dict[str, Reservoir[BlobPoint]] = field(default_factory=dict)
    #: Wall time of the first event, for ordering runs as TensorBoard does.
    start_time: float | None = None
    #: Records skipped per tag ("" when the tag is unknown), for the status route.
    skipped: dict[str, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def scalar_series(self, tag: str) -> ScalarSeries:
        series = self.scalars.get(tag)
        if series is None:
            series = self.scalars[tag] = ScalarSeries()
        return series

    def purge_from(self, step: int, tags: Collection[str] | None = None) -> int:
        """Drop every stored point with step >= ``step``, in the series of
        ``tags`` (default: every series); return how many were dropped."""
        dropped = sum(
            series.purge_from(step)
            for tag, series in self.scalars.items()
            if tags is None or tag in tags
        )
        for table in (self.tensors, self.blobs):
            for tag, reservoir in table.items():
                if tags is None or tag in tags:
                    dropped += reservoir.purge(lambda point: point.step < step)
        return dropped

    def count_skip(self, tag: str) -> None:
        self.skipped[tag] = self.skipped.get(tag, 0) + 1

    @property
    def num_scalar_points(self) -> int:
        return sum(len(series) for series in self.scalars.values())
