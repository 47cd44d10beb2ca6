"""Loading a whole experiment: discover runs, read them in parallel, keep up.

:class:`Reloader` owns one :class:`~lumiboard.reader.ingest.RunLoader` per
run. Each :meth:`Reloader.reload` lists the runs again (new runs appear),
then reads the new bytes of every run on a thread pool: the native scanner
releases the GIL, so runs load in parallel on a machine with more cores.
Data already loaded is queryable meanwhile (runs are locked one at a time),
and :meth:`Reloader.progress` says how far the current pass is.

Runs follow the directory: a run that is no longer listed (deleted, renamed:
the new name is a new run) leaves the store, and its cache file is deleted; a
run one of whose event files vanished after it was read (renamed, as rsync
does, or deleted) is read again from the files it has, never kept with the
vanished file's points. A place that exists but could not be listed this pass
(permissions, a network error) is not a deletion: its runs are kept as they
are. An event file that cannot be opened (permissions) is skipped, logged
once and counted (:meth:`Reloader.unreadable_files`, which the status route
adds to the run's skipped records), and tried again every pass: once
readable it is read and no longer counted.

With a ``cache_dir`` (see :mod:`lumiboard.store.cache`) a run seen for the
first time is restored from its cache when the cache still matches its files,
so only bytes written since are read; a run that changed is saved once the pass
has loaded every run (so caching never delays serving; at most every
``SAVE_INTERVAL`` seconds while it keeps changing), and every changed run at
:meth:`Reloader.stop`. With a ``memory_budget`` (see :mod:`lumiboard.store.budget`)
a run is saved as soon as it is loaded, and the coldest saved series are spilled
whenever the series in memory pass the budget.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lumiboard.plugins.base import PLUGIN_NAMES
from lumiboard.reader import mlflow_runs
from lumiboard.reader.discover import Discovery, Logdir, Run, Source, discover_runs, parse_logdir
from lumiboard.reader.ingest import RunLoader, encode_short_series, trim_after
from lumiboard.store.columns import ScalarSeries
from lumiboard.store.runs import RunData
from lumiboard.writer.fs import is_remote

if TYPE_CHECKING:
    from lumiboard.store.budget import MemoryBudget
    from lumiboard.store.cache import RunCache

logger = logging.getLogger(__name__)

#: Short new series are encoded together in batches of this many (see _encode_small).
SMALL_BATCH = 256


#: Runs with at least this many new bytes are read on the thread pool (the native scanner
#: releases the GIL for long stretches); smaller ones on the pass's own thread.
POOL_BYTES = 4 << 20

#: The default :attr:`Reloader.save_delay`, seconds.
SAVE_DELAY = 2.0

#: The first pass reuses the listing the cache restore made at most this many seconds
#: before it (thousands of runs: tens of ms to list again); an older one is listed anew.
EARLY_LISTING_S = 2.0


@dataclass(frozen=True)
class Progress:
    """How far the current (or last) reload pass got."""

    runs_total: int
    runs_done: int
    bytes_total: int
    bytes_done: int
    loading: bool
    passes: int
    last_duration: float | None


class Reloader:
    """Keeps a store of runs in step with one or many log directories."""

    def __init__(
        self,
        logdir: Logdir | list[Source],
        samples: dict[str, int | None] | None = None,
        workers: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        memory_budget: int | None = None,
    ) -> None:
        self.sources: list[Source] = (
            list(logdir)  # type: ignore[arg-type]
            if _is_sources(logdir)
            else parse_logdir(logdir)  # type: ignore[arg-type]
        )
        self.runs: dict[str, RunData] = {}
        self._loaders: dict[str, RunLoader] = {}
        self._samples = samples or {}
        self._workers = workers or min(32, os.cpu_count() or 1)
        self._pass_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._progress = Progress(0, 0, 0, 0, False, 0, None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: The persistent cache (None: disabled, the default).
        self.cache: RunCache | None = None
        self._locations: dict[str, str] = {}
        #: run -> its event files that could not be opened at the last pass.
        self._unreadable: dict[str, set[str]] = {}
        self._listeners: list[Callable[[], None]] = []
        #: The listing the early restore made, and when: the first pass's, if recent.
        self._early: tuple[Discovery, float] | None = None
        #: Runs loaded by this pass whose cache is saved once the pass has served them all.
        self._unsaved: list[tuple[RunLoader, Run]] = []
        #: During a pass without a budget: the runs' short new series, encoded at its end.
        self._small: list[ScalarSeries] | None = None
        #: Seconds the background loop waits, once a pass has served every run, before it
        #: writes their caches: the first answers (a page opening) do not share the
        #: interpreter with the writes. :meth:`stop` writes what is left at once.
        self.save_delay = SAVE_DELAY
        if cache_dir is not None:
            from lumiboard.store.cache import RunCache  # pyarrow: only when caching

            self.cache = RunCache(cache_dir, self._samples)
        #: The memory budget (None: every series stays in memory, the default).
        self.budget: MemoryBudget | None = None
        if memory_budget is not None:
            if self.cache is None:
                raise ValueError(
                    "a memory budget needs the cache: the series it drops from memory "
                    "are read back from the cache files (give cache_dir)"
                )
            from lumiboard.store.budget import MemoryBudget

            self.budget = MemoryBudget(memory_budget)
            self.cache.own_blocks = True
        if self.cache is not None:
            # A restart's restore starts now, on a thread, while the caller builds the rest
            # (a server: its app, uvicorn); the first pass waits for it (the pass lock).
            self._pass_lock.acquire()
            threading.Thread(
                target=self._restore_early, name="lumiboard-restore", daemon=True
            ).start()

    def reload(self, *, defer_saves: bool = False) -> None:
        """One pass: list runs, read every run's new bytes. Passes never overlap.

        The caches of the runs it changed are written once every run is served, before
        it returns; with ``defer_saves``, later, by :meth:`save_loaded` (the background
        loop does so :attr:`save_delay` seconds later).
        """
        self._reload(defer_saves, reuse_early=False)

    def _reload(self, defer_saves: bool, reuse_early: bool) -> None:
        """:meth:`reload`; with ``reuse_early`` (the background loop's first pass, right
        after the restore) on the restore's listing when it is recent enough."""
        with self._pass_lock:
            started = time.monotonic()
            early, self._early = self._early, None
            if reuse_early and early is not None and started - early[1] <= EARLY_LISTING_S:
                discovery = early[0]
            else:
                discovery = discover_runs(self.sources)
            listed = discovery.runs
            self._forget_gone(discovery)
            self._forget_lost()
            fresh = self._add_runs(listed)
            if self.cache is not None and fresh:
                self._restore(self.cache, fresh)
            todo = [(self._loaders[name], run) for name, run in listed.items()]
            pendings = [self._pending_bytes(loader, run) for loader, run in todo]
            self._set_progress(len(todo), 0, sum(pendings), 0, loading=True)
            # Runs with nothing new (e.g. all of a restart's restored runs) and small
            # ones are read on this thread: handing each to a thread costs more than it
            # saves (the GIL is held for most of a small run: 2,000 runs of 22 KB load in
            # 0.34 s here, 0.52 s on two threads). Large runs and remote ones (waiting on
            # the network) go to the pool, which reads them meanwhile.
            here: list[tuple[RunLoader, Run]] = []
            pooled: list[tuple[RunLoader, Run]] = []
            for item, pending in zip(todo, pendings, strict=True):
                remote = pending and is_remote(item[1].location)
                (pooled if pending >= POOL_BYTES or remote else here).append(item)
            # The short series of every run are encoded together once all are read (a
            # few array passes for thousands of runs); under a budget, run by run.
            self._small = [] if self.budget is None else None
            pool = (
                ThreadPoolExecutor(self._workers, thread_name_prefix="lumiboard-ingest")
                if pooled
                else None
            )
            try:
                loaded = pool.map(self._load_one, pooled) if pool is not None else iter(())
                for read in itertools.chain(map(self._load_one, here), loaded):
                    p = self._progress
                    self._set_progress(
                        p.runs_total,
                        p.runs_done + 1,
                        p.bytes_total,
                        p.bytes_done + read,
                        loading=True,
                    )
            finally:
                if pool is not None:
                    pool.shutdown()
            self._encode_small(1)
            self._small = None
            p = self._progress
            if self.budget is None:
                trim_after(p.bytes_done)  # once for the pass (see _add_runs)
            self._progress = Progress(
                p.runs_total,
                p.runs_total,
                p.bytes_total,
                p.bytes_done,
                False,
                p.passes + 1,
                time.monotonic() - started,
            )
            # Every run is served now; the caches of those that changed are written after
            # (a first start with the cache costs no more than one without, until served).
            if not defer_saves:
                self._save_loaded()
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a listener's failure is its own, never the pass's
                logger.exception("reload listener failed")

    def _add_runs(self, listed: dict[str, Run]) -> list[tuple[RunLoader, Run]]:
        """A loader for each run listed that has none yet; those new (loader, run)."""
        fresh = []
        for name, listed_run in listed.items():
            if name not in self._loaders:
                run = RunData(name)
                loader = self._loaders[name] = RunLoader(run, self._samples)
                # The heaps are trimmed once a pass (reload), not after each large run:
                # the pages a trim hands back, the next run's reads fault in again. Under
                # a budget, run by run (as each run is spilled).
                loader.trim = self.budget is not None
                fresh.append((self._loaders[name], listed_run))
                with self._state_lock:
                    self.runs[name] = run
            self._locations[name] = listed_run.location
        return fresh

    def _restore_early(self) -> None:
        """Restore the runs listed now from the cache, then let the first pass run (it
        holds the pass lock, taken for it by ``__init__``)."""
        try:
            assert self.cache is not None
            listed_at = time.monotonic()
            discovery = discover_runs(self.sources)
            fresh = self._add_runs(discovery.runs)
            if fresh:
                self._restore(self.cache, fresh)
            self._early = (discovery, listed_at)
        except Exception:  # the first pass reads whatever is not restored
            logger.warning("restoring runs from the cache failed", exc_info=True)
        finally:
            self._pass_lock.release()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every pass, on the reloading thread (e.g. the health
        webhook's): it must return at once, handing any work to a thread of its own."""
        self._listeners.append(listener)

    @staticmethod
    def _pending_bytes(loader: RunLoader, run: Run) -> int:
        pending = 0
        for event_file in run.files:
            state = loader.files.get(event_file.path)
            pending += max(0, event_file.size - (state.offset if state else 0))
        return pending

    def _forget_gone(self, discovery: Discovery) -> None:
        """Drop the runs that are gone, and those that lost an event file they were read from
        (they are read again, as new runs, from the files they have)."""
        for name in list(self._loaders):
            run = discovery.runs.get(name)
            if run is None:
                if not discovery.hides(self._locations[name]):
                    self._forget(name, "its event files are gone")
                continue
            if run.location != self._locations[name]:  # another directory took the name
                self._forget(name, f"now the run at {run.location}")
                continue
            loader = self._loaders[name]
            paths = {event_file.path for event_file in run.files}
            lost = [path for path, state in loader.files.items() if path not in paths]
            if any(loader.files[path].offset for path in lost):
                self._forget(name, f"event file {lost[0]} is gone: reading the run again")
            else:
                for path in lost:  # never read from: nothing of it is held
                    del loader.files[path]

    def _forget_lost(self) -> None:
        """Read again the runs whose spilled series could not be read back from the cache
        (deleted or damaged since): deleting the cache loses nothing, budget or not."""
        for run in self.budget.take_lost() if self.budget is not None else ():
            if self.runs.get(run.name) is run:
                self._forget(run.name, "its cache file cannot be read: reading the run again")

    def _forget(self, name: str, why: str) -> None:
        logger.info("run %s: dropped (%s)", name, why)
        loader = self._loaders.pop(name)
        location = self._locations.pop(name)
        self._unreadable.pop(name, None)
        with self._state_lock:
            self.runs.pop(name, None)
        if self.budget is not None:
            self.budget.forget(name)
        if self.cache is not None:
            self.cache.forget(location, list(loader.files))

    def _load_one(self, item: tuple[RunLoader, Run]) -> int:
        loader, run = item
        files = [(f.path, f.size) for f in run.files]
        paths = {path for path, _ in files}
        unreadable: set[str] = set()
        read = 0
        # Under a budget, none of the run's series is spilled while it loads.
        with self.budget.loading(run.name) if self.budget else contextlib.nullcontext():
            while True:
                try:
                    read += loader.load(
                        [item for item in files if item[0] not in unreadable], self._small
                    )
                    break
                except FileNotFoundError as error:
                    # Vanished since the listing: the next pass reads the run again without it.
                    logger.info("run %s: %s", run.name, error)
                    return read
                except OSError as error:
                    path = error.filename
                    if path in unreadable or path not in paths:
                        # An error that names no file of the run (a remote backend's):
                        # try again next pass.
                        logger.warning("run %s: %s", run.name, error)
                        return read
                    # Cannot be opened (permissions...): read the run's other files.
                    unreadable.add(path)
        self._note_unreadable(run.name, unreadable)
        self._encode_small(SMALL_BATCH)
        if self.cache is not None and self.budget is None:
            # Saved once every run is served (reload), not on the way to serving them.
            self._unsaved.append((loader, run))
        elif self.cache is not None:
            # Under a budget, here, on the pool: only a saved series can be spilled, and
            # the runs loaded later need the room. The run lock is held only to snapshot.
            self._save(self.cache, loader, run)
            self._keep_budget(run.name)
        return read

    def _encode_small(self, at_least: int) -> None:
        """Encode the short series waiting (:attr:`_small`) once there are ``at_least``:
        batches of :data:`SMALL_BATCH` amortize the array passes, and the raw chunks of
        thousands of runs are never all held at once."""
        small = self._small
        if small is None or len(small) < at_least:
            return
        batch = small[:]  # other loads append meanwhile: only what was taken is removed
        del small[: len(batch)]
        try:
            encode_short_series(batch)
        except Exception:  # e.g. MemoryError: the series stay raw, encoded when next read
            logger.warning("encoding %d short series failed", len(batch), exc_info=True)

    @staticmethod
    def _save(cache: RunCache, loader: RunLoader, run: Run) -> None:
        try:
            cache.save(loader, run.location)
        except Exception:  # a cache is only a cache: never fail the pass for it
            logger.warning("run %s: cache not saved", run.name, exc_info=True)

    def _keep_budget(self, name: str) -> None:
        """Measure the run ``name``; spill the coldest saved series when over the budget."""
        budget, cache = self.budget, self.cache
        run = self.runs.get(name)
        if budget is None or cache is None or run is None:
            return
        if budget.measure(run) <= budget.limit:
            return
        saved = []
        for other, loader in list(self._loaders.items()):
            data, location = self.runs.get(other), self._locations.get(other)
            if data is not None and location is not None:
                saved.append((data, cache.saved_path(loader, location)))
        budget.enforce(saved)

    def _note_unreadable(self, name: str, unreadable: set[str]) -> None:
        """Remember the run's unreadable files (logged once each); one that became
        readable is forgotten, so it is no longer counted."""
        before = self._unreadable.get(name, set())
        for path in sorted(unreadable - before):
            logger.warning("run %s: cannot read event file %s (skipped)", name, path)
        if unreadable:
            self._unreadable[name] = unreadable
        else:
            self._unreadable.pop(name, None)

    def unreadable_files(self, run: str) -> int:
        """How many of ``run``'s event files could not be opened at the last pass: the
        status route counts them with the run's skipped records (tag ``""``). A run read
        from MLflow whose last sync failed counts as one."""
        return len(self._unreadable.get(run, ())) + mlflow_runs.failures_of(
            self._locations.get(run)
        )

    def _restore(self, cache: RunCache, fresh: list[tuple[RunLoader, Run]]) -> None:
        if cache.holds_nothing():  # e.g. a first start: no run to look up one by one
            return
        # Restoring a local run holds the GIL nearly throughout (a few small
        # reads): threads would only add switches. Remote runs wait on the
        # network for their identity checks, so they go to a pool.
        remote = [item for item in fresh if is_remote(item[1].location)]
        local = [item for item in fresh if not is_remote(item[1].location)]
        restored = 0
        for loader, run in local:
            restored += cache.restore(loader, run)
            self._keep_budget(run.name)  # spilled as restored, not once all are in memory
        if remote:
            with ThreadPoolExecutor(self._workers, thread_name_prefix="lumiboard-cache") as pool:
                for done, (_, run) in zip(
                    pool.map(lambda item: cache.restore(*item), remote), remote, strict=True
                ):
                    restored += done
                    self._keep_budget(run.name)
        logger.info("%d of %d new runs restored from the cache", restored, len(fresh))

    def save_loaded(self) -> None:
        """Write the caches of the runs the last passes loaded and did not save yet."""
        with self._pass_lock:
            self._save_loaded()

    def _save_loaded(self) -> None:
        unsaved, self._unsaved = self._unsaved, []
        if self.cache is not None:
            for loader, run in unsaved:
                if self._loaders.get(run.name) is loader:  # not dropped since
                    self._save(self.cache, loader, run)

    def save_cache(self) -> None:
        """Save every run changed since its last save now (no-op without a cache)."""
        if self.cache is None:
            return
        with self._pass_lock:
            self._unsaved = []  # saved here, with every other changed run
            for name, loader in list(self._loaders.items()):
                self.cache.save(loader, self._locations[name], force=True)

    def _set_progress(
        self, runs_total: int, runs_done: int, bytes_total: int, bytes_done: int, loading: bool
    ) -> None:
        self._progress = Progress(
            runs_total,
            runs_done,
            bytes_total,
            bytes_done,
            loading,
            self._progress.passes,
            self._progress.last_duration,
        )

    def progress(self) -> Progress:
        """A snapshot of the loading progress."""
        return self._progress

    def location(self, run: str) -> str | None:
        """The directory of ``run`` (a local path or a URL), if the run is known.

        Plugins that read files beside the event files (the projector's config,
        profiler traces) find them here.
        """
        return self._locations.get(run)

    def loader(self, run: str) -> RunLoader | None:
        """The loader of ``run`` (its file states), if the run is known."""
        return self._loaders.get(run)

    # ---- background reloading ------------------------------------------------

    def start(self, interval: float) -> None:
        """Reload now and then every ``interval`` seconds on a daemon thread (0: once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._loop, args=(interval,), name="lumiboard-reload", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop background reloading (the pass in progress finishes); save the cache."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.save_cache()

    def _loop(self, interval: float) -> None:
        first = True
        while not self._stop.is_set():
            try:
                self._reload(True, reuse_early=first)
                first = False
                if self._unsaved and not self._stop.wait(self.save_delay):
                    self.save_loaded()  # (on stop, stop() saves them)
            except Exception:  # keep serving what is loaded; report and retry
                logger.exception("reload failed")
            if interval <= 0 or self._stop.wait(interval):
                return


def _is_sources(value: object) -> bool:
    return (
        isinstance(value, list) and all(isinstance(item, Source) for item in value) and bool(value)
    )


def parse_samples(samples: Mapping[str, int | str | None] | str) -> dict[str, int | None]:
    """``--samples_per_plugin``: ``"images=100,histograms=all"`` or a mapping.

    Returns only the plugins named: a count, or None for ``all`` / ``0``
    (keep everything, as in TensorBoard). Unknown plugin names and bad counts
    are a ``ValueError`` naming them.
    """
    if isinstance(samples, str):
        pairs = [item.split("=", 1) for item in samples.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError(f"samples_per_plugin must be 'name=n,...', got {samples!r}")
        given: dict[str, int | str | None] = {name.strip(): n.strip() for name, n in pairs}
    else:
        given = dict(samples)
    sizes: dict[str, int | None] = {}
    for name, size in given.items():
        if name not in PLUGIN_NAMES:
            raise ValueError(f"unknown plugin {name!r} in samples_per_plugin")
        if size is None or size == "all":
            sizes[name] = None
            continue
        try:
            count = int(size)
        except ValueError:
            raise ValueError(f"samples_per_plugin[{name!r}] must be a count or 'all'") from None
        if count < 0:
            raise ValueError(f"samples_per_plugin[{name!r}] must not be negative")
        sizes[name] = count or None  # 0 keeps everything, as in TensorBoard
    return sizes
