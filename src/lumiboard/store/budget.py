"""The memory budget (``--memory-budget``): series beyond it are read back from the cache.

When the scalar series held in memory (their :attr:`ScalarSeries.nbytes`, all
runs together) pass the budget, the coldest series (least recently read, see
:func:`note_read`) are *spilled* (:meth:`ScalarSeries.spill`): their points
dropped, and read back on each read from the run's cache file, memory-mapped
(:func:`~lumiboard.store.cache_format.read_series_mapped`), into a temporary
array that the answer drops. Spilling goes down to :data:`LOW_WATER` of the
budget, so that the next few loads do not each pay for a spill.

Only a series whose run's cache file holds it as it is now can be spilled (the
cache decides: :meth:`~lumiboard.store.cache.RunCache.saved_path`), and never
while its run is loading (:meth:`MemoryBudget.loading`): a point appended
after the save and dropped by a spill would be lost. A spilled series that
gets new points is loaded back by the append (resident again) and can be
spilled again once its run has been saved again.

What is not counted: the decoded columns that :mod:`lumiboard.store.columns`
keeps for recently read series (bounded on their own), tensors and blobs
(sampled, so bounded by ``--samples_per_plugin``), and the interpreter.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from lumiboard.store.columns import ScalarSeries
from lumiboard.store.runs import RunData

logger = logging.getLogger(__name__)

#: Spilling stops once the resident series fit in this share of the budget.
LOW_WATER = 0.85

Columns = tuple[np.ndarray, np.ndarray, np.ndarray]
#: Reads (path, tag) of a cache file back, memory-mapped.
SeriesReader = Callable[[str, str], Columns]

# ---- read recency ----------------------------------------------------------------------

_clock = itertools.count(1)
_reads: weakref.WeakKeyDictionary[ScalarSeries, int] = weakref.WeakKeyDictionary()


def note_read(series: ScalarSeries) -> None:
    """Remember that ``series`` was just read (by a query): the last to spill."""
    with contextlib.suppress(TypeError):  # a series without weak references: unknown
        _reads[series] = next(_clock)


def last_read(series: ScalarSeries) -> int:
    """When ``series`` was last read (a counter: larger is later; 0: never)."""
    return _reads.get(series, 0)


# ---- the budget ------------------------------------------------------------------------


class MemoryBudget:
    """Keeps the scalar series of a reloader's runs within ``limit`` bytes."""

    def __init__(self, limit: int, reader: SeriesReader | None = None) -> None:
        if limit <= 0:
            raise ValueError("a memory budget must be a positive number of bytes")
        self.limit = limit
        if reader is None:
            from lumiboard.store.cache_format import read_series_mapped

            reader = read_series_mapped
        self._reader = reader
        self._lock = threading.Lock()
        self._loading: set[str] = set()
        #: Resident bytes per run, as last measured.
        self._resident: dict[str, int] = {}
        self.spilled_series = 0
        self.spilled_bytes = 0
        #: Runs one of whose spilled series could not be read back (see :meth:`take_lost`).
        self._lost: list[RunData] = []
        # Its own lock: a read that fails holds its series' lock, which enforce() takes
        # while holding _lock; the two are never held the other way round.
        self._lost_lock = threading.Lock()
        #: name -> (run, its cache file) for the runs with spilled series.
        self._spilled_runs: dict[str, tuple[RunData, str]] = {}

    @property
    def resident(self) -> int:
        """The scalar bytes resident, as last measured (all runs)."""
        return sum(self._resident.values())

    @contextlib.contextmanager
    def loading(self, run: str) -> Iterator[None]:
        """While the run ``run`` loads: none of its series is spilled."""
        with self._lock:
            self._loading.add(run)
        try:
            yield
        finally:
            with self._lock:
                self._loading.discard(run)

    def forget(self, run: str) -> None:
        """The run ``run`` left the store."""
        with self._lock:
            self._resident.pop(run, None)
            self._spilled_runs.pop(run, None)

    def measure(self, run: RunData) -> int:
        """Measure ``run``'s resident bytes again (after it loaded); the total is returned."""
        with run.lock:
            series = list(run.scalars.values())
        size = sum(item.nbytes for item in series)
        with self._lock:
            self._resident[run.name] = size
            return sum(self._resident.values())

    def enforce(self, runs: Iterable[tuple[RunData, str | None]]) -> int:
        """Spill the coldest series of ``runs`` while the budget is exceeded.

        ``runs``: every run with the cache file that holds it as it is now, or None
        when there is none (not saved yet: none of its series can be spilled).
        Returns the bytes freed.
        """
        runs = list(runs)
        with self._lock:
            for run, _ in runs:
                with run.lock:
                    series = list(run.scalars.values())
                self._resident[run.name] = sum(item.nbytes for item in series)
            total = sum(self._resident.values())
            if total <= self.limit:
                return 0
            target = int(self.limit * LOW_WATER)
            candidates = []
            for run, path in runs:
                if path is None or run.name in self._loading:
                    continue
                with run.lock:
                    tagged = list(run.scalars.items())
                for tag, item in tagged:
                    if not item.spilled and item.nbytes:
                        candidates.append((last_read(item), -item.nbytes, run, path, tag, item))
            candidates.sort(key=lambda candidate: candidate[:2])
            freed = 0
            for _, _, run, path, tag, item in candidates:
                if total - freed <= target:
                    break
                size = item.nbytes
                item.spill(self._source(run, path, tag))
                self._spilled_runs[run.name] = (run, path)
                freed += size
                self._resident[run.name] -= size
                self.spilled_series += 1
                self.spilled_bytes += size
            if total - freed > self.limit:
                logger.info(
                    "memory budget: %d bytes of scalars resident, more than %d: the rest is "
                    "not saved in the cache yet",
                    total - freed,
                    self.limit,
                )
            return freed

    def take_lost(self) -> list[RunData]:
        """The runs one of whose spilled series could not be read back since the last call
        (their cache file deleted or damaged): the reloader reads them again from their
        event files, as if the cache had never held them."""
        with self._lock:
            for run, path in list(self._spilled_runs.values()):
                if not os.path.exists(path):  # found before a query fails on it
                    self._note_lost(run)
            with self._lost_lock:
                lost, self._lost = self._lost, []
            for run in lost:
                self._spilled_runs.pop(run.name, None)
        return lost

    def _note_lost(self, run: RunData) -> None:
        with self._lost_lock:
            if all(lost is not run for lost in self._lost):
                self._lost.append(run)

    def _source(self, run: RunData, path: str, tag: str) -> Callable[[], Columns]:
        reader = self._reader

        def source() -> Columns:
            try:
                return reader(path, tag)
            except Exception:
                logger.warning("run %s: cannot read %s back from %s", run.name, tag, path)
                self._note_lost(run)
                raise

        return source
