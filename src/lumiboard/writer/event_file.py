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
- An error in the thread is raised on the next call, ``flush`` or ``close``.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import itertools
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


class WriterClosedError(RuntimeError):
    """Raised when an event is added to a closed writer."""


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
        self._raise_thread_error()
        pending = self._pending
        pending.append(data)
        size = len(pending)
        if size >= self._max_queue:
            self._wake.set()
            if size >= QUEUE_CAPACITY:
                self._wait_for_drain()

    def flush(self) -> None:
        """Write every queued event and make it visible to readers."""
        if self._closed:
            return
        if self._pid != os.getpid():
            self._restart_after_fork()
        self._wait_for_drain()
        self._raise_thread_error()

    def close(self) -> None:
        """Flush and close the file. Calling it again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._pid == os.getpid():
            self._pending.append(_CLOSE)
            self._wake.set()
            self._thread.join()
        _live_writers.discard(self)
        self._raise_thread_error()

    # ---- thread side --------------------------------------------------------

    def _start(self) -> None:
        self._pid = os.getpid()
        self._pending: collections.deque[bytes | threading.Event | object] = collections.deque()
        self._wake = threading.Event()
        self._error: BaseException | None = None
        self._sink = self._open_file()
        self._sink.write(self._header())
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
        self._write(chunk)
        return False

    def _write(self, chunk: list[bytes]) -> None:
        if not chunk:
            return
        try:
            if self._sink.rotates:
                # Rotate between records, so no file grows far past its segment
                # size, and only when a record is waiting (no header-only files).
                for record in chunk:
                    if self._sink.full:
                        self._rotate()
                    self._sink.write(record)
            else:
                self._sink.write(b"".join(chunk))
        except Exception as error:
            self._error = error

    def _rotate(self) -> None:
        self._sink.close()
        self._sink = self._open_file()
        self._sink.write(self._header())

    def _sync(self) -> None:
        try:
            self._sink.sync()
        except Exception as error:
            self._error = error

    def _finish(self) -> None:
        try:
            self._sink.close()
        except Exception as error:
            self._error = error

    # ---- caller side helpers ----------------------------------------------

    def _wait_for_drain(self) -> None:
        done = threading.Event()
        self._pending.append(done)
        self._wake.set()
        while not done.wait(0.1):
            if not self._thread.is_alive():  # pragma: no cover - thread killed at exit
                break

    def _raise_thread_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise RuntimeError(f"lumiboard could not write to {self._logdir}: {error}") from error

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
            # Interpreter exit: there is no caller left to raise to.
            with contextlib.suppress(Exception):
                writer.close()


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
