"""The persistent cache: a restart on an unchanged logdir reads columns instead of parsing.

One Arrow IPC file per run (:mod:`lumiboard.store.cache_format`), named by a
hash of the run's location, in a cache directory (:func:`default_dir` unless
configured). It holds what a :class:`~lumiboard.reader.ingest.RunLoader` has
built, so a restart restores the loader and reads only the bytes written since:
the file is read into memory once and its scalar columns installed as they
are, not parsed.

Nothing is trusted blindly:

- a cache of another format or lumiboard version, or one that cannot be read
  (not a regular file, a checksum or a field is off, pyarrow raises: see
  :mod:`lumiboard.store.cache_check`), is logged once, deleted and rebuilt
  from the event files, before any of its values is served;
- a cache whose event files are gone, shorter than when it was written, or
  hold other bytes (their identity: the masked CRC32C of each file's first
  ``min(4096, offset)`` bytes and of the up to 4096 bytes after those before
  ``offset``), or that was written under another ``--samples_per_plugin``,
  is not used, and the run is read from its files.

Files are written to a temporary name and renamed into place, so a reader
never sees half a file; a restored run holds its own copy of the bytes, so
a cache file changed or truncated later cannot harm it. Deleting the cache
loses nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from lumiboard.format.tfrecord import masked_crc32c
from lumiboard.reader.discover import Run
from lumiboard.reader.ingest import RunLoader
from lumiboard.reader.tail import read_range
from lumiboard.store.columns import ScalarSeries
from lumiboard.store.reservoir import Reservoir
from lumiboard.writer.fs import is_remote

# The file format (pyarrow: ~0.1 s to import) is imported when a cache file is
# first read or written, not with this module: a first start, with no cache file
# yet, loads its runs without waiting for it.
if TYPE_CHECKING:
    from lumiboard.store.cache_format import FileEntry, Sampled, Snapshot
    from lumiboard.store.cache_remote import RemoteCache

logger = logging.getLogger(__name__)

#: Seconds between two saves of a run that keeps changing (a live run); the
#: first change after a start, and :meth:`RunCache.save` with ``force``, save at once.
SAVE_INTERVAL = 60.0
#: Bytes of a file's start (and of the stretch before its offset) checked on restore.
IDENTITY_BYTES = 4096

_MT_STATE_WORDS = 625  # random.Random.getstate()[1]: 624 words and a position


def default_dir() -> str:
    """``$XDG_CACHE_HOME/lumiboard``, or ``~/.cache/lumiboard``."""
    root = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(root):  # the XDG spec says to ignore a relative path
        root = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "lumiboard")


def cache_path(directory: str | os.PathLike[str], location: str) -> str:
    """The cache file of the run at ``location`` (a local path or a URL)."""
    digest = hashlib.sha256(location.encode("utf-8", "surrogatepass")).hexdigest()
    return os.path.join(os.fspath(directory), f"{digest[:32]}.arrow")


class StaleError(Exception):
    """The cache does not describe the files as they are now (not damage)."""


# ---- taking and installing snapshots ------------------------------------------------


def take_snapshot(loader: RunLoader, location: str, samples: dict[str, int | None]) -> Snapshot:
    """The state of ``loader``; call it while no load of this run is running.

    The run lock is held only to collect references (a series' columns are
    never changed in place, only replaced); identities are filled in later.
    """
    from lumiboard.store.cache_format import LOADER_FIELDS, FileEntry, Snapshot

    run = loader.run
    with run.lock:
        scalars = {tag: series.blocks() for tag, series in run.scalars.items()}
        tensors = {tag: _sampled(reservoir) for tag, reservoir in run.tensors.items()}
        blobs = {tag: _sampled(reservoir) for tag, reservoir in run.blobs.items()}
        tags, start_time, skipped = dict(run.tags), run.start_time, dict(run.skipped)
    files = [FileEntry(replace(state), 0, 0) for state in loader.files.values()]
    return Snapshot(
        location,
        samples,
        files,
        dict(loader.tag_kinds),
        {name: getattr(loader, name) for name in LOADER_FIELDS},
        start_time,
        skipped,
        tags,
        scalars,
        tensors,
        blobs,
    )


def _sampled(reservoir: Reservoir[Any]) -> Sampled:
    from lumiboard.store.cache_format import Sampled

    rng = None
    if reservoir.size is not None and reservoir.seen > reservoir.size:
        # Past its size a reservoir draws random numbers: keep the generator's
        # state so that a restored run samples new points as a cold load would.
        version, words, gauss = reservoir._random.getstate()
        if version != 3 or gauss is not None or len(words) != _MT_STATE_WORDS:
            raise TypeError("unexpected random state layout")
        rng = np.asarray(words, dtype="<u4").tobytes()
    return Sampled(reservoir.size, reservoir.seen, rng, list(reservoir.items))


def install(snapshot: Snapshot, loader: RunLoader, own: bool = False) -> None:
    """Put ``snapshot`` into a loader that has read nothing yet. ``own``: the series get
    copies of their blocks, not views of the file's buffer (which any one view keeps whole)."""
    run = loader.run
    scalars = {
        tag: ScalarSeries.from_blocks([_owned(block) for block in blocks] if own else blocks)
        for tag, blocks in snapshot.scalars.items()
    }
    tensors = {tag: _reservoir(sampled) for tag, sampled in snapshot.tensors.items()}
    blobs = {tag: _reservoir(sampled) for tag, sampled in snapshot.blobs.items()}
    with run.lock:
        run.tags, run.scalars, run.tensors, run.blobs = dict(snapshot.tags), scalars, tensors, blobs
        run.start_time, run.skipped = snapshot.start_time, dict(snapshot.skipped)
    loader.files.clear()
    loader.files.update({entry.state.path: replace(entry.state) for entry in snapshot.files})
    loader.tag_kinds.clear()  # the same dict: the scanner is handed this object
    loader.tag_kinds.update(snapshot.tag_kinds)
    for name, value in snapshot.loader.items():
        setattr(loader, name, value)


def _owned(block: np.ndarray) -> np.ndarray:
    copy = block.copy()
    copy.flags.writeable = False
    return copy


def _reservoir(sampled: Sampled) -> Reservoir[Any]:
    reservoir: Reservoir[Any] = Reservoir(sampled.size)
    reservoir.items, reservoir.seen = sampled.items, sampled.seen
    if sampled.rng is not None:
        words = np.frombuffer(sampled.rng, dtype="<u4")
        if len(words) != _MT_STATE_WORDS:
            raise ValueError("bad random state")
        reservoir._random.setstate((3, tuple(int(word) for word in words), None))
    return reservoir


# ---- file identity --------------------------------------------------------------


def file_identity(path: str, offset: int) -> tuple[int, int]:
    """Masked CRC32C of the file's first ``min(4096, offset)`` bytes, and of
    the bytes from there (at most 4096) up to ``offset``: a file replaced by
    another under the same name is caught even when both start alike."""
    head_end = min(IDENTITY_BYTES, offset)
    tail_start = max(head_end, offset - IDENTITY_BYTES)
    if tail_start == head_end:  # one read: adjacent ranges
        data = read_range(path, 0, offset)
        head, tail = data[:head_end], data[head_end:]
    else:
        head, tail = read_range(path, 0, head_end), read_range(path, tail_start, offset)
    if len(head) + len(tail) != head_end + offset - tail_start:
        raise StaleError(f"{path} is shorter than when it was cached")
    return masked_crc32c(head), masked_crc32c(tail)


def check_files(snapshot: Snapshot, run: Run) -> None:
    """Raise :class:`StaleError` unless every cached file is listed, no shorter, same bytes."""
    listed = {event_file.path: event_file.size for event_file in run.files}
    for entry in snapshot.files:
        state = entry.state
        size = listed.get(state.path)
        if size is None:
            raise StaleError(f"{state.path} is gone")
        if size < state.size:
            raise StaleError(f"{state.path} is shorter than when it was cached")
        try:
            identity = file_identity(state.path, state.offset)
        except OSError as error:
            raise StaleError(f"cannot read {state.path}: {error}") from error
        if identity != (entry.head_crc, entry.tail_crc):
            raise StaleError(f"{state.path} holds other bytes than when it was cached")


# ---- the cache of a reloader ----------------------------------------------------


@dataclass(frozen=True)
class _Saved:
    fingerprint: tuple[tuple[str, int, int], ...]
    when: float | None  # None: restored, not yet written by this process
    written: bool = True  # False: the save failed (not retried before save_interval)


def max_cache_bytes(run: Run) -> int:
    """The largest cache file ``run`` could have: a cache holds what was decoded from the
    event files (a scalar point costs fewer bytes in it than its record; a tensor splat
    expands, but only to 2^16 elements, format/tensors.py), so anything far larger is not
    ours: a sparse file or another program's data is refused, not read whole. (A run made of
    splats may pass it; its cache is then refused and rebuilt: slower, never wrong.)"""
    return 8 * sum(event_file.size for event_file in run.files) + (64 << 20)


class RunCache:
    """Restores runs from, and saves them to, one cache directory."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        samples: Mapping[str, int | None] | None = None,
        save_interval: float = SAVE_INTERVAL,
        mirror: str | os.PathLike[str] | None = None,
    ) -> None:
        """``directory``: a local directory, or an fsspec URL mirrored (see
        :mod:`lumiboard.store.cache_remote`) in ``mirror`` (default: under :func:`default_dir`)."""
        text = os.fspath(directory)
        #: The remote cache, when ``directory`` is a URL (None: a local one).
        self.remote: RemoteCache | None = None
        if is_remote(text):
            from lumiboard.store.cache_remote import RemoteCache, mirror_dir

            self.remote = RemoteCache(text)
            text = os.fspath(mirror) if mirror is not None else mirror_dir(text, default_dir())
        self.directory = os.path.abspath(os.path.expanduser(text))
        # As given: the defaults behind it can only change with lumiboard's
        # version, which the cache checks too (and resolving them would
        # import every plugin on a restart).
        self.samples = dict(samples or {})
        self.save_interval = save_interval
        self._saved: dict[str, _Saved] = {}
        #: path -> (offset, identity there), so a save reads only files that grew.
        self._identities: dict[str, tuple[int, tuple[int, int]]] = {}
        self._reported: set[tuple[str, str]] = set()
        #: Restored series own their bytes (see :func:`install`): under a memory budget, a
        #: run partly spilled must not keep its whole cache file in memory.
        self.own_blocks = False

    def holds_nothing(self) -> bool:
        """Whether there is surely nothing to restore: a local cache directory missing or
        holding no cache file (a first start checks it once, not once for each run)."""
        if self.remote is not None:
            return False
        try:
            with os.scandir(self.directory) as entries:
                return not any(entry.name.endswith(".arrow") for entry in entries)
        except FileNotFoundError:
            return True
        except OSError:  # unreadable: restore() says why, run by run
            return False

    def restore(self, loader: RunLoader, run: Run) -> bool:
        """Fill ``loader`` (fresh) from the cache of ``run`` if it is still valid.

        Returns True when restored; never raises: a cache that cannot be used
        is logged, deleted when damaged, and the run is read from its files.
        """
        path = cache_path(self.directory, run.location)
        if self.remote is None and not os.path.lexists(path):
            return False  # nothing to read (and no reason to import the format yet)
        from lumiboard.store.cache_format import VersionError, read_snapshot, remove

        try:
            if self.remote is not None and not self._fetch(path, run):
                raise FileNotFoundError(path)
            snapshot = read_snapshot(path, max_cache_bytes(run))
            if snapshot.location != run.location:
                raise VersionError("written for another location")
            if snapshot.samples != self.samples:
                raise StaleError("written under another --samples_per_plugin")
            check_files(snapshot, run)
            install(snapshot, loader, self.own_blocks)
        except FileNotFoundError:
            return False
        except StaleError as error:
            logger.info("run %s: cache not used, reading the event files: %s", run.name, error)
            return False
        except VersionError as error:
            self._report("version", path, "run %s: ignoring cache %s: %s", run.name, path, error)
            remove(path)
            return False
        except Exception as error:  # a cache must never stop a run from loading
            self._report(
                "corrupt", path, "run %s: damaged cache %s deleted: %r", run.name, path, error
            )
            remove(path)
            return False
        for entry in snapshot.files:
            identity = (entry.head_crc, entry.tail_crc)
            self._identities[entry.state.path] = (entry.state.offset, identity)
        self._saved[run.location] = _Saved(_fingerprint(loader), None)
        return True

    def save(self, loader: RunLoader, location: str, force: bool = False) -> bool:
        """Write the run's cache if it changed since it was restored or saved.

        A run saved less than ``save_interval`` seconds ago waits, unless
        ``force``. Call it while no load of this run is running. Returns True
        when written; never raises (a failure is logged once).
        """
        fingerprint = _fingerprint(loader)
        saved = self._saved.get(location)
        if saved is not None and saved.fingerprint == fingerprint:
            return False
        now = time.monotonic()
        last = saved.when if saved is not None else None
        if not force and last is not None and now - last < self.save_interval:
            return False
        path = cache_path(self.directory, location)
        from lumiboard.store.cache_format import write_snapshot

        try:
            snapshot = take_snapshot(loader, location, self.samples)
            files = [self._identified(entry) for entry in snapshot.files]
            write_snapshot(path, replace(snapshot, files=files))
            if self.remote is not None:
                self.remote.publish(path, os.path.basename(path))
        except Exception as error:  # e.g. a read-only cache dir: serve on, uncached
            self._report("save", path, "cannot write cache %s: %r", path, error)
            self._saved[location] = _Saved(fingerprint, now, False)  # not retried every pass
            return False
        self._saved[location] = _Saved(fingerprint, now)
        return True

    def saved_path(self, loader: RunLoader, location: str) -> str | None:
        """The cache file that holds the run as ``loader`` holds it now, if there is one
        (restored or saved since its last change): what the memory budget reads back."""
        saved = self._saved.get(location)
        if saved is None or not saved.written or saved.fingerprint != _fingerprint(loader):
            return None
        path = cache_path(self.directory, location)
        if not os.path.exists(path):  # deleted since: written again by the next save
            self._saved.pop(location, None)
            return None
        return path

    def _fetch(self, path: str, run: Run) -> bool:
        """Download the run's remote cache file to ``path``; False when there is none.
        Without the remote (a network error), the local copy, if any, is used: it is
        checked as any cache file is."""
        assert self.remote is not None
        try:
            return self.remote.fetch(os.path.basename(path), path, max_cache_bytes(run))
        except Exception as error:
            self._report("fetch", path, "run %s: cannot fetch remote cache: %r", run.name, error)
            return os.path.exists(path)

    def _identified(self, entry: FileEntry) -> FileEntry:
        path, offset = entry.state.path, entry.state.offset
        known = self._identities.get(path)
        if known is not None and known[0] == offset:
            identity = known[1]
        else:
            identity = file_identity(path, offset)
            self._identities[path] = (offset, identity)
        return replace(entry, head_crc=identity[0], tail_crc=identity[1])

    def forget(self, location: str, paths: list[str]) -> None:
        """Delete the cache of the run at ``location`` (gone, or to be read again) and
        what is known of its event files ``paths``."""
        path = cache_path(self.directory, location)
        with contextlib.suppress(OSError):
            os.remove(path)
        if self.remote is not None:
            try:
                self.remote.delete(os.path.basename(path))
            except Exception as error:  # the next save replaces it anyway
                self._report(
                    "delete", path, "cannot delete remote cache of %s: %r", location, error
                )
        self._saved.pop(location, None)
        for path in paths:
            self._identities.pop(path, None)

    def _report(self, kind: str, path: str, message: str, *args: object) -> None:
        if (kind, path) not in self._reported:
            self._reported.add((kind, path))
            logger.warning(message, *args)


def _fingerprint(loader: RunLoader) -> tuple[tuple[str, int, int], ...]:
    return tuple((s.path, s.offset, s.size) for s in loader.files.values())
