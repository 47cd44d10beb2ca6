"""The writer engine: events are framed and written by a background thread.

``add_*`` calls only append serialized events to an in-memory queue, so a
training step never waits on disk. The thread writes when ``max_queue`` events
are waiting, every ``flush_secs``, and on ``flush()`` / ``close()`` / exit.

Guarantees:

- After ``kill -9`` at most ``flush_secs`` of events are lost: writes go
  straight to the OS and records are whole, so the file still reads.
- File names are ``events.out.tfevents.<10-digit time>.<host>.<pid>.<n><suffix>``
  and created exclusively, so processes sharing a directory never collide.
- A forked child never writes into its parent's file: it drops the parent's
  queue and opens a file of its own on its first event.
- A failed write never leaves a partial record followed by more data: the
  file is cut back to its last whole record (or, if that fails, the writer
  moves on to a new file), so what is on disk always reads.
- A failed write (a full disk, a failed upload) raises :class:`EventWriteError`
  on every ``add_*``, ``flush()`` and ``close()`` until a write succeeds. The
  events that were accepted but not written are kept and retried (every
  ``flush_secs`` and on ``flush()``); events added meanwhile are refused (the
  call raises, nothing is queued), so memory stays bounded. ``close()`` raises
  if any accepted event could not be written, saying how many were lost.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import errno
import itertools
import logging
import os
import socket
import threading
import time
import weakref

from lumiboard.format.proto import event_pb2
from lumiboard.format.tfrecord import encode_record
from lumiboard.writer import fs

FILE_VERSION = "brain.Event:2"

#: Events waiting in memory beyond which ``add_*`` waits for the thread.
QUEUE_CAPACITY = 10_000

_file_counter = itertools.count()
_live_writers: weakref.WeakSet[EventFileWriter] = weakref.WeakSet()


logger = logging.getLogger(__name__)


class WriterClosedError(RuntimeError):
    """Raised when an event is added to a closed writer."""


class EventWriteError(OSError, RuntimeError):
    """Events could not be written (a full disk, a failed upload).

    An ``OSError`` (``errno`` and ``filename`` are the failed write's) and,
    as before this class existed, a ``RuntimeError``. Raised by every
    ``add_*``, ``flush()`` and ``close()`` until a write succeeds; catch it to
    keep training. ``pending``: accepted events kept in memory and retried;
    ``refused``: events whose ``add_*`` raised this error (never queued);
    ``lost``: accepted events that were never written (only ``close()``
    reports loss: the writer is then closed).

    >>> try:                                                  # doctest: +SKIP
    ...     writer.add_scalar("loss", loss, step)
    ... except EventWriteError as error:
    ...     print(error.errno == errno.ENOSPC, error.pending)
    """

    def __init__(
        self,
        message: str,
        *,
        errno: int | None,
        path: str,
        pending: int = 0,
        refused: int = 0,
        lost: int = 0,
    ) -> None:
        super().__init__(errno, message, path)
        self.message = message
        self.pending = pending
        self.refused = refused
        self.lost = lost

    def __str__(self) -> str:
        return self.message


class EventFileWriter:
    """Writes ``Event`` protos into one log directory.

    >>> writer = EventFileWriter("runs/exp1", flush_secs=2)   # doctest: +SKIP
    >>> writer.add_event(event_pb2.Event(step=1))            # doctest: +SKIP
    >>> writer.close()                                        # doctest: +SKIP
    """

    def __init__(
        self,
        logdir: str | os.PathLike[str],
        max_queue: int = 10,
        flush_secs: float = 2.0,
        filename_suffix: str = "",
        segment_bytes: int = fs.DEFAULT_SEGMENT_BYTES,
    ) -> None:
        if flush_secs <= 0:
            raise ValueError(f"flush_secs must be positive, got {flush_secs!r}")
        self._logdir = fs.normalize(logdir)
        self._max_queue = max(1, int(max_queue))
        self._flush_secs = float(flush_secs)
        self._suffix = filename_suffix
        self._segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._closed = False
        self._last_file_time = 0
        fs.make_dirs(self._logdir)
        self._start()
        _live_writers.add(self)

    # ---- public API -------------------------------------------------------

    def get_logdir(self) -> str:
        """The directory (or URL) this writer writes into."""
        return self._logdir

    @property
    def path(self) -> str:
        """The event file being written now."""
        return self._sink.path

    def add_event(self, event: event_pb2.Event) -> None:
        """Queue one event; it is serialized here, in the caller's thread."""
        self.add_serialized(event.SerializeToString())

    def add_serialized(self, data: bytes) -> None:
        """Queue one already-serialized ``Event``."""
        if self._closed:
            raise WriterClosedError("this event writer is closed")
        if self._pid != os.getpid():
            self._restart_after_fork()
        if self._failure is not None:
            self._refused += 1
            raise self._write_error("this event was not added")
        pending = self._pending
        pending.append(data)
        size = len(pending)
        if size >= self._max_queue:
            self._wake.set()
            if size >= QUEUE_CAPACITY:
                self._wait_for_drain()

    def flush(self) -> None:
        """Write every queued event and make it visible to readers.

        After a failed write this retries the events kept in memory; it
        raises :class:`EventWriteError` while the write still fails.
        """
        if self._closed:
            return
        if self._pid != os.getpid():
            self._restart_after_fork()
        self._wait_for_drain()
        if self._failure is not None:
            raise self._write_error("they are retried every flush_secs and by flush()")

    def close(self) -> None:
        """Flush and close the file. Calling it again does nothing.

        Raises :class:`EventWriteError` (with ``lost``) if an accepted event
        could not be written: call ``flush()`` until it succeeds first to
        keep every event.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _live_writers.discard(self)
        if self._pid != os.getpid():
            return  # a forked child that never wrote: the parent's state is not ours
        self._pending.append(_CLOSE)
        self._wake.set()
        self._thread.join()
        if self._failure is not None or self._lost:
            raise self._write_error("the writer is closed")

    # ---- thread side --------------------------------------------------------

    def _start(self) -> None:
        self._pid = os.getpid()
        self._pending: collections.deque[bytes | threading.Event | object] = collections.deque()
        self._wake = threading.Event()
        # Written by the thread, read by callers. _failure: the error of the
        # last write or upload, until one succeeds. _held: framed records that
        # were accepted but not written (retried first). _unsynced: records a
        # rotating (remote) sink holds in memory that no upload has sent yet.
        self._failure: Exception | None = None
        self._held: collections.deque[bytes] = collections.deque()
        self._unsynced = 0
        self._refused = 0
        self._lost = 0
        self._sink = self._open_file()
        try:
            self._put(b"")  # the header, now: a writer with no events still makes a file
        except BaseException:
            self._sink.close()
            raise
        self._thread = threading.Thread(
            target=self._run, name=f"lumiboard-writer:{self._logdir}", daemon=True
        )
        self._thread.start()

    def _open_file(self) -> fs.Sink:
        # Later files of one writer must sort after earlier ones (readers go in
        # lexicographic order), so the time part only ever moves forward.
        stamp = max(int(time.time()), self._last_file_time)
        while True:
            name = (
                f"events.out.tfevents.{stamp:010d}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_file_counter)}{self._suffix}"
            )
            try:
                sink = fs.create_sink(fs.join(self._logdir, name), self._segment_bytes)
            except FileExistsError:
                continue
            self._last_file_time = stamp + 1
            self._header_due = True
            return sink

    @staticmethod
    def _header() -> bytes:
        event = event_pb2.Event(wall_time=time.time(), file_version=FILE_VERSION)
        return encode_record(event.SerializeToString())

    def _run(self) -> None:
        deadline = time.monotonic() + self._flush_secs
        while True:
            self._wake.wait(max(0.0, deadline - time.monotonic()))
            self._wake.clear()
            if self._drain():
                return
            if time.monotonic() >= deadline:
                self._write([])  # retries what a failed write kept
                self._sync()
                deadline = time.monotonic() + self._flush_secs

    def _drain(self) -> bool:
        """Write what is queued; answer flush markers; True once closed."""
        pending = self._pending
        chunk: list[bytes] = []
        while pending:
            item = pending.popleft()
            if isinstance(item, bytes):
                chunk.append(encode_record(item))
                continue
            self._write(chunk)
            chunk = []
            self._sync()
            if item is _CLOSE:
                self._finish()
                return True
            if isinstance(item, threading.Event):
                item.set()
        if chunk:  # (an empty one would retry a failed write at once: retries are timed)
            self._write(chunk)
        return False

    def _write(self, chunk: list[bytes]) -> None:
        """Write the held records, then ``chunk``; on failure keep them all held."""
        held = self._held
        held.extend(chunk)
        if not held:
            return
        retrying = self._failure is not None
        try:
            if self._sink.rotates:
                self._write_segments()
            else:
                if self._sink.damaged:
                    self._rotate()
                self._write_batch()
        except Exception as error:
            self._failure = error
            return
        if retrying:
            self._sync()  # a retry ends with an upload; it clears the failure

    def _write_batch(self) -> None:
        # One write() per batch. A failed one is cut back by the sink to the
        # end of the last whole record that landed: those records are written
        # (readers see them) and only the others stay held and are retried.
        # Where the file could not be cut back, the whole records before its
        # partial tail are written too, and the others go to a new file.
        held = self._held
        header = self._header() if self._header_due else b""
        ends = list(itertools.accumulate((len(record) for record in held), initial=len(header)))
        try:
            self._sink.write(header + b"".join(held), ends if header else ends[1:])
        except Exception:
            landed = self._sink.landed
            if header and landed >= len(header):
                self._header_due = False
            landed -= len(header)
            while held and len(held[0]) <= landed:
                landed -= len(held.popleft())
            raise
        self._header_due = False
        held.clear()

    def _write_segments(self) -> None:
        # Rotate between records, so no file grows far past its segment size,
        # and only when a record is waiting (no header-only files). A failed
        # rotation (its upload) raises with the remaining records still held.
        held = self._held
        while held:
            if self._sink.full or self._sink.damaged:
                self._rotate()
            self._put(held[0])
            held.popleft()
            self._unsynced += 1

    def _put(self, data: bytes) -> None:
        # A new file's header goes out with its first write, so a file that
        # could not take its header is left empty, never half-written.
        if self._header_due:
            data = self._header() + data
        self._sink.write(data)
        self._header_due = False

    def _rotate(self) -> None:
        old = self._sink
        if old.damaged:
            # Its tail could not be cut back: leave it as it is (readers stop
            # at a partial last record) and write nothing more to it.
            with contextlib.suppress(OSError):
                old.close()
        else:
            old.close()  # a remote sink uploads here; if that fails, it stays current
        self._unsynced = 0
        self._sink = self._open_file()

    def _sync(self) -> None:
        try:
            self._sink.sync()
        except Exception as error:
            self._failure = error
            return
        self._unsynced = 0
        if not self._held:
            self._failure = None

    def _finish(self) -> None:
        try:
            self._sink.close()
        except Exception as error:
            self._failure = error
        else:
            self._unsynced = 0
        self._lost = len(self._held) + self._unsynced
        self._held.clear()

    # ---- caller side helpers ----------------------------------------------

    def _wait_for_drain(self) -> None:
        done = threading.Event()
        self._pending.append(done)
        self._wake.set()
        while not done.wait(0.1):
            if not self._thread.is_alive():  # pragma: no cover - thread killed at exit
                break

    def _write_error(self, outcome: str) -> EventWriteError:
        """The error callers see while writes fail (or once close lost events)."""
        cause = self._failure
        path = self._sink.path
        if self._closed:
            count = self._lost
            counts = f"{count} accepted events were not written and are lost"
        else:
            count = len(self._held) + self._unsynced
            counts = f"{count} accepted events are kept in memory, not yet written"
        if self._refused:
            counts += f"; {self._refused} events were refused (their add_* raised this error)"
        code = cause.errno if isinstance(cause, OSError) else None
        if cause is None:
            reason = "an earlier write failed"
        elif code is not None:
            reason = f"{cause} ({errno.errorcode.get(code, code)})"
        else:
            reason = f"{type(cause).__name__}: {cause}"
        message = f"lumiboard could not write to {path}: {reason}. {counts}; {outcome}"
        error = EventWriteError(
            message,
            errno=code,
            path=path,
            pending=0 if self._closed else count,
            refused=self._refused,
            lost=self._lost if self._closed else 0,
        )
        error.__cause__ = cause
        return error

    def _restart_after_fork(self) -> None:
        # We are a forked child: the parent owns the open file and the queued
        # events. Keep the parent's sink object alive but never touch it again
        # (closing a remote sink would upload the parent's bytes from here).
        with self._lock:
            if self._pid == os.getpid():
                return
            _orphans.append(self._sink)
            self._start()


_CLOSE = object()
# Sinks inherited through fork; referenced forever so they are never closed here.
_orphans: list[fs.Sink] = []


def _flush_all_at_thread_shutdown() -> None:
    # Runs when the interpreter starts shutting threads down, before
    # concurrent.futures stops its pools: remote backends (s3fs through
    # aiobotocore) need a pool to upload. Writers stay open for threads that
    # are still running; the atexit hook below closes them.
    for writer in list(_live_writers):
        if writer._pid == os.getpid():
            with contextlib.suppress(Exception):
                writer.flush()


def _close_all_at_exit() -> None:
    for writer in list(_live_writers):
        if writer._pid == os.getpid():
            # Interpreter exit: there is no caller left to raise to, so a loss
            # is logged (stderr by default) rather than lost silently.
            try:
                writer.close()
            except Exception as error:
                logger.error("%s", error)


def _register_exit_hooks() -> None:
    atexit.register(_close_all_at_exit)
    # threading._register_atexit is what concurrent.futures itself uses (3.9+).
    # Its hooks run in reverse order of registration, so importing
    # concurrent.futures.thread first makes ours run before its pools stop.
    import concurrent.futures.thread  # noqa: F401

    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(_flush_all_at_thread_shutdown)


_register_exit_hooks()
