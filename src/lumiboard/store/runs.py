"""What the store holds for one run: series per tag, tag metadata, counters."""

from __future__ import annotations

import itertools
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


#: Stamps of changes to what tag listings show, from one counter: each differs from every
#: earlier one, so a reader compares with ``!=`` and two threads stamping at once lose nothing.
_stamps = itertools.count(1)
_listing_stamp = [0]


def listing_stamp() -> int:
    """A value that changes whenever a run is created, a run's tags (or their metadata),
    start time or series tables are set, or its points are purged: a tag listing built
    after reading stamp ``s`` is current while this still returns ``s``, except for a
    tag's first points (a tag is created just before its points are stored: a listing
    that leaves out tags without points checks those itself) and a run leaving the
    store (the number of runs tells)."""
    return _listing_stamp[0]


def _stamp() -> int:
    stamp = _listing_stamp[0] = next(_stamps)
    return stamp


class TagTable(dict[str, "TagInfo"]):
    """A run's ``{tag: TagInfo}``: every change stamps :func:`listing_stamp`, and
    :attr:`stamp` (this table's last change) with the same value."""

    __slots__ = ("stamp",)

    def __init__(self, *args: object, **kwargs: TagInfo) -> None:
        super().__init__(*args, **kwargs)
        self.stamp = _stamp()

    def __setitem__(self, key: str, value: TagInfo) -> None:
        super().__setitem__(key, value)
        self.stamp = _stamp()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.stamp = _stamp()

    def update(self, *args: object, **kwargs: TagInfo) -> None:
        super().update(*args, **kwargs)
        self.stamp = _stamp()

    def __ior__(self, other: object) -> TagTable:  # type: ignore[override,misc]
        self.update(other)
        return self

    def setdefault(self, key: str, default: TagInfo) -> TagInfo:
        found = super().setdefault(key, default)
        self.stamp = _stamp()
        return found

    def pop(self, key: str, *default: object) -> object:  # type: ignore[override]
        found = super().pop(key, *default)
        self.stamp = _stamp()
        return found

    def popitem(self) -> tuple[str, TagInfo]:
        found = super().popitem()
        self.stamp = _stamp()
        return found

    def clear(self) -> None:
        super().clear()
        self.stamp = _stamp()


@dataclass
class RunData:
    """Every series of one run, guarded by ``lock`` (ingest writes, queries read)."""

    name: str
    #: The last change of an attribute or a purge (see :meth:`listing_version`).
    _run_stamp: int = field(default=0, init=False, repr=False, compare=False)
    tags: dict[str, TagInfo] = field(default_factory=TagTable)
    scalars: dict[str, ScalarSeries] = field(default_factory=dict)
    tensors: dict[str, Reservoir[TensorPoint]] = field(default_factory=dict)
    blobs: dict[str, Reservoir[BlobPoint]] = field(default_factory=dict)
    #: Wall time of the first event, for ordering runs as TensorBoard does.
    start_time: float | None = None
    #: Records skipped per tag ("" when the tag is unknown), for the status route.
    skipped: dict[str, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __setattr__(self, name: str, value: object) -> None:
        # Whatever replaces the tags (a cache restore, a reset) is a TagTable too; every
        # attribute set (a new run included) stamps listing_stamp().
        if name == "tags" and not isinstance(value, TagTable):
            value = TagTable(value)
        object.__setattr__(self, name, value)
        if name not in ("lock", "_run_stamp"):
            object.__setattr__(self, "_run_stamp", _stamp())

    def listing_version(self) -> tuple[int, int]:
        """Changes whenever what a tag listing shows of this run may have changed (the same
        changes as :func:`listing_stamp`, this run's only): a listing of the run built after
        reading a version is current while this returns it (a tag's first points aside)."""
        tags = self.tags
        return self._run_stamp, tags.stamp if isinstance(tags, TagTable) else -1

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
        if dropped:  # a series may be empty now: listings leave it out
            object.__setattr__(self, "_run_stamp", _stamp())
        return dropped

    def count_skip(self, tag: str) -> None:
        self.skipped[tag] = self.skipped.get(tag, 0) + 1

    @property
    def num_scalar_points(self) -> int:
        return sum(len(series) for series in self.scalars.values())
