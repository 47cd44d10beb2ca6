"""Profiler traces under the log directories: runs -> workers -> spans.

``torch.profiler.tensorboard_trace_handler(dir)`` writes one file per
profiling session and process: ``<worker>[.<span>].pt.trace.json[.gz]``, where
``worker`` defaults to ``<hostname>_<pid>`` and ``span`` is a timestamp
(torch-tb-profiler's ``consts.WORKER_PATTERN``). As there:

- a **run** is a directory that directly holds trace files, named like event
  file runs (path relative to its source, ``/`` separators, ``.`` for the source
  itself, the source's prefix in front when there are several sources, bytes
  that are not UTF-8 as ``\\xNN``: :func:`lumiboard.reader.discover.list_runs`);
- several **workers** in one run are the ranks of a distributed job;
- several **spans** of one worker are several profiling sessions, in the order
  of their timestamps (a file without one has the span ``default``).

TensorFlow, Keras and JAX profiles are listed as xprof lists them: a session
directory ``<dir>/plugins/profile/<timestamp>/``, where ``<dir>`` is any directory
under a source (a run like ``train``, which Keras profiles into, or the source
itself, ``.``, where ``jax.profiler.trace`` and ``tf.profiler.experimental`` write).
The **run** is ``<dir>``, the **span** the timestamp directory
(``YYYY_MM_DD_HH_MM_SS``, so its order is the time's) and a **worker** a host. In a
session directory each host is listed once, with one file:

- ``<host>.xplane.pb`` (the XSpace every profiler writes) when there is one;
- else ``<host>.trace.json.gz`` (the Chrome-JSON copy JAX writes beside it);
- ``perfetto_trace.json.gz`` (JAX's ``create_perfetto_trace=True``; it names no
  host) only when the session has neither of those, as the worker ``perfetto``.

An ``.xplane.pb`` anywhere else is a worker of its own directory's run; the two
JSON names elsewhere are not traces (a PyTorch ``*.pt.trace.json[.gz]`` keeps its
own rule above, in a session directory too).

Symlinked directories are not followed (a trace tree has no need for them, and
this keeps the walk free of cycles). A trace file that is a symlink is listed,
and read only if it leads inside its run or a log directory (the routes check,
with :func:`lumiboard.reader.assets.confine`). Listings are kept for ``TTL`` seconds so
that a dashboard's burst of requests walks the tree once.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass

from lumiboard.reader.discover import Source, _prefixes
from lumiboard.reader.names import safe_names, safe_text
from lumiboard.writer.fs import filesystem, is_remote

#: ``<worker>[.<span>].pt.trace.json[.gz]``; the worker is the shortest prefix.
TRACE_PATTERN = re.compile(r"^(?P<worker>.+?)(?:\.(?P<span>\d+))?\.pt\.trace\.json(?:\.gz)?$")
DEFAULT_SPAN = "default"
#: ``<host>.xplane.pb``: an XSpace profile (TensorFlow, Keras, JAX).
XPLANE_PATTERN = re.compile(r"^(?P<worker>.+)\.xplane\.pb$")
#: ``<host>.trace.json.gz``: JAX's Chrome-JSON copy of a host's XSpace (session directories only).
HOST_TRACE_PATTERN = re.compile(r"^(?P<worker>.+)\.trace\.json\.gz$")
#: JAX's Perfetto copy of a session's trace (session directories only); it names no host.
PERFETTO_TRACE = "perfetto_trace.json.gz"
#: The worker a session's :data:`PERFETTO_TRACE` is listed as.
PERFETTO_WORKER = "perfetto"
#: The directory of an XSpace profile session: ``[<run>/]plugins/profile/<span>``.
PROFILE_DIRECTORY = re.compile(r"^(?:(?P<run>.+)/)?plugins/profile/(?P<span>[^/]+)$")
#: Seconds a listing is reused.
TTL = 2.0
#: Directories visited per source at most (a trace tree is small; a huge tree is not walked whole).
MAX_DIRECTORIES = 100_000


@dataclass(frozen=True)
class TraceFile:
    """One trace file as listed: where it is, its size and modification time."""

    path: str
    size: int
    mtime: float


#: run -> worker -> span -> file.
Listing = dict[str, dict[str, dict[str, TraceFile]]]


def parse_name(basename: str) -> tuple[str, str] | None:
    """``(worker, span)`` of a trace file's basename, None for any other file."""
    match = TRACE_PATTERN.match(basename)
    if match is None:
        match = XPLANE_PATTERN.match(basename)
        return None if match is None else (match["worker"], DEFAULT_SPAN)
    return match["worker"], match["span"] or DEFAULT_SPAN


def place(relative: str, basename: str) -> tuple[str, str, str] | None:
    """``(run, worker, span)`` of a trace file in the directory ``relative`` (to its source,
    ``.`` for the source itself); None for a file that is not a trace."""
    parsed = parse_name(basename)
    if parsed is None:
        return None
    if XPLANE_PATTERN.match(basename) and not TRACE_PATTERN.match(basename):
        session = PROFILE_DIRECTORY.match(relative)
        if session is not None:
            return session["run"] or ".", parsed[0], session["span"]
    return relative, parsed[0], parsed[1]


def place_files(relative: str, basenames: list[str]) -> list[tuple[str, tuple[str, str, str]]]:
    """``(basename, (run, worker, span))`` of each trace among the files ``basenames`` of the
    directory ``relative``: :func:`place` of each, and in a profile session directory one
    file per host (its ``.xplane.pb``, else its ``.trace.json.gz``) and the Perfetto trace
    only when the session has neither kind (a host's file is one profile; its JSON copies
    would list it twice)."""
    placed = [(name, where) for name in basenames if (where := place(relative, name)) is not None]
    session = PROFILE_DIRECTORY.match(relative)
    if session is None:
        return placed  # JAX's JSON names are traces only in a session directory
    run, span = session["run"] or ".", session["span"]
    hosts = {where[1] for _, where in placed if where[0] == run and where[2] == span}
    json_traces = False
    for name in sorted(basenames):
        match = HOST_TRACE_PATTERN.match(name)
        if match is None or TRACE_PATTERN.match(name):
            continue
        json_traces = True
        if match["worker"] not in hosts:
            hosts.add(match["worker"])
            placed.append((name, (run, match["worker"], span)))
    if (
        PERFETTO_TRACE in basenames
        and not json_traces
        and not any(XPLANE_PATTERN.match(name) for name in basenames)
    ):
        placed.append((PERFETTO_TRACE, (run, PERFETTO_WORKER, span)))
    return placed


def listed(basename: str) -> bool:
    """Whether a walk keeps a file: a trace by its name alone, or one of JAX's JSON traces
    (which :func:`place_files` keeps only in a session directory)."""
    return (
        parse_name(basename) is not None
        or basename == PERFETTO_TRACE
        or HOST_TRACE_PATTERN.match(basename) is not None
    )


def span_order(span: str) -> tuple[int, int, str]:
    """Sort key of spans: numeric timestamps in order, ``default`` first."""
    return (0, 0, span) if not span.isdigit() else (1, int(span), span)


def list_traces(sources: list[Source]) -> Listing:
    """Every trace file under ``sources``, as run -> worker -> span -> file."""
    listing: Listing = {}
    for source, prefix in zip(sources, _prefixes(sources), strict=True):
        walk = _walk_remote if is_remote(source.location) else _walk_local
        for directory, files in walk(source.location):
            by_name = dict(files)
            for basename, (relative, worker, span) in place_files(directory, list(by_name)):
                traced = by_name[basename]
                if prefix is None:
                    run = relative
                else:
                    run = prefix if relative == "." else f"{prefix}/{relative}"
                # Names travel as JSON: bytes that are not UTF-8 as \xNN, as run names.
                workers = listing.setdefault(run, {})
                workers.setdefault(safe_text(worker), {})[safe_text(span)] = traced
    shown = safe_names(listing)
    listing = {shown[run]: workers for run, workers in listing.items()}
    ordered: Listing = {}
    for run in sorted(listing):
        workers = listing[run]
        ordered[run] = {
            worker: {
                span: workers[worker][span] for span in sorted(workers[worker], key=span_order)
            }
            for worker in sorted(workers)
        }
    return ordered


def _walk_local(root: str) -> list[tuple[str, list[tuple[str, TraceFile]]]]:
    found: list[tuple[str, list[tuple[str, TraceFile]]]] = []
    stack = [(root, "")]
    visited = 0
    while stack and visited < MAX_DIRECTORIES:
        directory, relative = stack.pop()
        visited += 1
        files: list[tuple[str, TraceFile]] = []
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            prefix = f"{relative}/" if relative else ""
                            stack.append((entry.path, prefix + entry.name))
                        elif listed(entry.name) and entry.is_file():
                            info = entry.stat()
                            files.append(
                                (entry.name, TraceFile(entry.path, info.st_size, info.st_mtime))
                            )
                    except OSError:
                        continue  # removed while listed, or a broken link
        except OSError:
            continue  # unreadable or gone: skip this directory only
        if files:
            found.append((relative or ".", files))
    return found


def _walk_remote(root: str) -> list[tuple[str, list[tuple[str, TraceFile]]]]:
    try:
        fs, base = filesystem(root)
        details = fs.find(base, detail=True)
    except (OSError, ImportError, ValueError):
        return []
    scheme = root.split("://", 1)[0]
    by_directory: dict[str, list[tuple[str, TraceFile]]] = {}
    base = base.rstrip("/")
    for path, info in details.items():
        directory, _, basename = str(path).rpartition("/")
        if not listed(basename) or info.get("type") == "directory":
            continue
        relative = directory[len(base) :].strip("/") if directory.startswith(base) else directory
        mtime = info.get("mtime") or info.get("LastModified") or info.get("updated") or 0
        stamp = mtime.timestamp() if hasattr(mtime, "timestamp") else float(mtime or 0)
        url = path if "://" in str(path) else f"{scheme}://{path}"
        by_directory.setdefault(relative or ".", []).append(
            (basename, TraceFile(str(url), int(info.get("size") or 0), stamp))
        )
    return sorted(by_directory.items())


class TraceIndex:
    """:func:`list_traces` of a server's sources, reused for :data:`TTL` seconds."""

    def __init__(self, ttl: float = TTL) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._at = -1e300
        self._key: tuple[Source, ...] = ()
        self._listing: Listing = {}

    def listing(self, sources: list[Source]) -> Listing:
        key = tuple(sources)
        with self._lock:
            now = time.monotonic()
            if key != self._key or now - self._at > self._ttl:
                self._listing = list_traces(sources)
                self._key, self._at = key, now
            return self._listing
