"""Parse one ``*.pt.trace.json[.gz]`` (Chrome trace format, as Kineto writes it) into columns.

A trace is a JSON object whose ``traceEvents`` list holds:

- complete events (``ph: "X"``): ``ts``/``dur`` in microseconds, a category
  (``cpu_op``, ``user_annotation``, ``python_function``, ``cuda_runtime``,
  ``cuda_driver``, ``kernel``, ``gpu_memcpy``, ``gpu_memset``,
  ``gpu_user_annotation`` ...), a ``pid``/``tid`` track and ``args``; a runtime
  call and the device activity it launched share ``args.correlation``;
- instant ``[memory]`` events (``ph: "i"``) with the allocator's totals after
  each allocation (``Bytes`` > 0) or release (``Bytes`` < 0);
- metadata (``ph: "M"``) naming processes and threads; flows (``s``/``f``)
  that the views here do not need.

Everything is turned into numpy columns once (one Python pass over the events;
a file of hundreds of MB takes seconds, which is why routes parse in a worker
thread and keep the result, see :mod:`.cache`). A file over :data:`MAX_BYTES`
(decompressed) is refused with a clear error; a truncated file is read up to its
last complete event, with a warning.
"""

from __future__ import annotations

import gc
import gzip
import math
import os
import re
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from lumiboard.writer.fs import filesystem, is_remote

#: The largest decompressed trace read (bytes); ``LUMIBOARD_PROFILE_MAX_BYTES`` overrides it.
MAX_BYTES = int(os.environ.get("LUMIBOARD_PROFILE_MAX_BYTES", str(1 << 30)))

DEVICE_CATEGORIES = frozenset({"kernel", "gpu_memcpy", "gpu_memset"})
RUNTIME_CATEGORIES = frozenset({"cuda_runtime", "cuda_driver", "runtime", "cuda_profiler_range"})
STEP_NAME = re.compile(r"^ProfilerStep#(\d+)$")


class TraceError(Exception):
    """A trace file that cannot be read: the message says why (shown per file in the UI)."""


@dataclass(frozen=True)
class Track:
    """One timeline row group: a (process, thread) pair of the trace."""

    pid: str
    tid: str
    name: str
    #: ``cpu`` for host threads, ``gpu`` for device streams, ``other`` for the rest.
    kind: str
    sort: tuple[int, float, float]
    #: The process's and the thread's own names (empty when the trace names none).
    process: str = ""
    thread: str = ""


@dataclass
class MemoryEvents:
    """The ``[memory]`` instant events, in time order."""

    ts: np.ndarray  # float64, microseconds
    device_type: np.ndarray  # int8: 0 CPU, 1 CUDA (Kineto's DeviceType)
    device_id: np.ndarray  # int16
    bytes: np.ndarray  # int64, > 0 allocation, < 0 release
    total_allocated: np.ndarray  # float64, NaN when absent
    total_reserved: np.ndarray  # float64, NaN when absent
    addr: np.ndarray  # uint64
    track: np.ndarray  # int32


@dataclass
class Trace:
    """A parsed trace: complete events as time-sorted columns, plus memory events."""

    metadata: dict[str, Any]
    ts: np.ndarray  # float64 microseconds (absolute, as in the file)
    dur: np.ndarray  # float64 microseconds
    cat: np.ndarray  # int16 -> categories
    name: np.ndarray  # int32 -> names
    track: np.ndarray  # int32 -> tracks
    correlation: np.ndarray  # int64, -1 when absent
    external_id: np.ndarray  # int64, -1 when absent
    #: Per event; an XSpace's are decoded when first read (:mod:`.xplane`).
    args: Sequence[dict[str, Any] | None]
    categories: list[str]
    names: list[str]
    tracks: list[Track]
    memory: MemoryEvents
    warnings: list[str] = field(default_factory=list)
    #: Analyses computed on first use (see analysis modules).
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def start(self) -> float:
        """The first event's start (the zero of every relative time), microseconds."""
        starts = [float(self.ts[0])] if len(self.ts) else []
        if len(self.memory.ts):
            starts.append(float(self.memory.ts[0]))
        return min(starts) if starts else 0.0

    @property
    def end(self) -> float:
        ends = [float(np.max(self.ts + self.dur))] if len(self.ts) else []
        if len(self.memory.ts):
            ends.append(float(self.memory.ts[-1]))
        return max(ends) if ends else 0.0

    def args_of(self, indices: Sequence[int]) -> list[dict[str, Any] | None]:
        """The args of many events (an XSpace's are decoded at once, see :mod:`.xplane`)."""
        many = getattr(self.args, "many", None)
        if many is not None:
            found: list[dict[str, Any] | None] = many(indices)
            return found
        return [self.args[index] for index in indices]

    def category_mask(self, *names: str) -> np.ndarray:
        """Boolean mask of events whose category is one of ``names``."""
        key = "category_mask:" + "\x00".join(sorted(set(names)))
        found: np.ndarray | None = self.memo.get(key)
        if found is None:
            # A table lookup per event (a gather), several times faster than np.isin; kept, as
            # the views ask for the same masks again and again.
            wanted = np.array([category in names for category in self.categories], dtype=bool)
            found = wanted[self.cat] if len(wanted) else np.zeros(len(self.cat), dtype=bool)
            found.flags.writeable = False  # shared: a caller must not change it
            self.memo[key] = found
        return found


def read_bytes(path: str, limit: int | None = None) -> bytes:
    """A trace file's JSON bytes, gunzipped; TraceError above ``limit`` or for a bad gzip."""
    limit = MAX_BYTES if limit is None else limit
    try:
        if is_remote(path):
            fs, inner = filesystem(path)
            raw_file = fs.open(inner, "rb")
        else:
            raw_file = open(path, "rb")  # noqa: SIM115 - closed below, local or remote alike
        with raw_file:
            if path.endswith(".gz"):
                with gzip.GzipFile(fileobj=raw_file) as unzipped:
                    data = unzipped.read(limit + 1)
            else:
                data = raw_file.read(limit + 1)
    except FileNotFoundError:
        raise TraceError("the trace file was removed") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise TraceError(f"the gzip stream is damaged or truncated ({error})") from None
    except OSError as error:
        raise TraceError(f"cannot read the trace file: {error}") from None
    if len(data) > limit:
        raise TraceError(
            f"the trace is larger than {limit // (1 << 20)} MiB uncompressed; raise "
            "LUMIBOARD_PROFILE_MAX_BYTES to read it, or profile fewer steps"
        )
    return data


class _GcPause:
    """Counts the parses under way: the collector is paused by the first and resumed by the
    last, so overlapping parses on several threads do not turn it back on for each other."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            self._count += 1
            if self._count == 1:
                gc.disable()
        try:
            yield
        finally:
            with self._lock:
                self._count -= 1
                if self._count == 0:
                    gc.enable()


#: The cyclic garbage collector paused while a trace is parsed or a view computed: a trace makes
#: millions of small objects that hold no cycles, and the collector scanning them again and
#: again took half the parse time (and a full collection in a server's heap, tens of ms).
gc_paused = _GcPause()


def parse_trace(data: bytes) -> Trace:
    """Parse a trace's JSON bytes (see the module docstring)."""
    with gc_paused():
        return _parse_trace(data)


def trace_from_events(events: list[Any], metadata: dict[str, Any]) -> Trace:
    """A trace from Chrome-trace events already decoded (another format mapped to them, as
    :mod:`.xplane` does), read exactly as those of a JSON file."""
    with gc_paused():
        return _columns(events, metadata)


def _parse_trace(data: bytes) -> Trace:
    warnings: list[str] = []
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        document = _salvage(data)
        if document is None:
            raise TraceError(f"not a valid trace: the JSON is malformed ({error})") from None
        warnings.append("the file is truncated: the events up to the last complete one are shown")
    if isinstance(document, list):  # the bare-array form of the Chrome trace format
        document = {"traceEvents": document}
    if not isinstance(document, dict) or not isinstance(document.get("traceEvents"), list):
        raise TraceError("not a PyTorch profiler trace: no 'traceEvents' list")
    events = document.pop("traceEvents")
    trace = _columns(events, document)
    trace.warnings.extend(warnings)
    return trace


_SALVAGE_TRIES = 8


def _salvage(data: bytes) -> Any:
    """A truncated trace cut after its last complete event and closed; None when hopeless."""
    start = data.find(b'"traceEvents"')
    if start < 0:
        return None
    cut = len(data)
    # A few tries ("}" also closes the args inside the cut event), not more: each one parses the
    # whole file again, and a hostile file could otherwise cost minutes.
    for _ in range(_SALVAGE_TRIES):
        cut = data.rfind(b"}", start, cut)
        if cut < 0:
            return None
        try:
            return orjson.loads(data[: cut + 1] + b"]}")
        except orjson.JSONDecodeError:
            continue
    return None


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def _bounded(value: Any, low: int, high: int, default: int) -> int:
    """An integer field of an event, ``default`` unless a finite number within [low, high]
    (a hostile or garbled trace must not overflow the int8..int64 columns it goes into)."""
    number = _number(value, math.nan)
    if not math.isfinite(number) or not low <= number <= high:
        return default
    return int(value) if isinstance(value, int) else int(number)


_INT64 = (-(2**63), 2**63 - 1)


def _columns(events: list[Any], metadata: dict[str, Any]) -> Trace:  # noqa: PLR0915
    # One long pass over every event: interning names, categories and tracks as it goes.
    ts: list[float] = []
    dur: list[float] = []
    cat: list[int] = []
    name: list[int] = []
    track: list[int] = []
    corr: list[int] = []
    ext: list[int] = []
    args_list: list[dict[str, Any] | None] = []
    names: dict[str, int] = {}
    categories: dict[str, int] = {}
    track_ids: dict[tuple[str, str], int] = {}
    process_names: dict[str, str] = {}
    process_labels: dict[str, str] = {}
    process_sort: dict[str, float] = {}
    thread_names: dict[tuple[str, str], str] = {}
    thread_sort: dict[tuple[str, str], float] = {}
    memory: list[tuple[float, int, int, int, float, float, int, int]] = []

    def track_of(event: dict[str, Any]) -> int:
        key = (str(event.get("pid", "")), str(event.get("tid", "")))
        found = track_ids.get(key)
        if found is None:
            found = track_ids[key] = len(track_ids)
        return found

    for event in events:
        if not isinstance(event, dict):
            continue
        phase = event.get("ph")
        if phase == "X":
            start = _number(event.get("ts"), np.nan)
            if math.isnan(start):  # no usable time
                continue
            args = event.get("args")
            args = args if isinstance(args, dict) else None
            label = str(event.get("name", ""))
            category = str(event.get("cat", ""))
            ts.append(start)
            dur.append(max(_number(event.get("dur"), 0.0), 0.0))
            cat.append(categories.setdefault(category, len(categories)))
            name.append(names.setdefault(label, len(names)))
            track.append(track_of(event))
            if args is not None:
                c, x = args.get("correlation"), args.get("External id")
                corr.append(_bounded(c, *_INT64, -1) if isinstance(c, int) else -1)
                ext.append(_bounded(x, *_INT64, -1) if isinstance(x, int) else -1)
            else:
                corr.append(-1)
                ext.append(-1)
            args_list.append(args)
        elif phase == "i" and event.get("name") == "[memory]":
            args = event.get("args")
            start = _number(event.get("ts"), np.nan)
            if not isinstance(args, dict) or math.isnan(start):
                continue
            memory.append(
                (
                    start,
                    _bounded(args.get("Device Type"), -128, 127, 0),
                    _bounded(args.get("Device Id"), -(2**15), 2**15 - 1, -1),
                    _bounded(args.get("Bytes"), *_INT64, 0),
                    _number(args.get("Total Allocated"), np.nan),
                    _number(args.get("Total Reserved"), np.nan),
                    _bounded(args.get("Addr"), *_INT64, 0) & 0xFFFFFFFFFFFFFFFF,
                    track_of(event),
                )
            )
        elif phase == "M":
            _metadata_event(
                event, process_names, process_labels, process_sort, thread_names, thread_sort
            )

    order = np.argsort(np.asarray(ts, dtype=np.float64), kind="stable")
    tracks = _tracks(
        track_ids, process_names, process_labels, process_sort, thread_names, thread_sort
    )
    memory.sort(key=lambda item: item[0])
    mem = np.asarray(memory, dtype=object).reshape(-1, 8)
    return Trace(
        metadata=metadata,
        ts=np.asarray(ts, dtype=np.float64)[order],
        dur=np.asarray(dur, dtype=np.float64)[order],
        cat=np.asarray(cat, dtype=np.int16)[order],
        name=np.asarray(name, dtype=np.int32)[order],
        track=np.asarray(track, dtype=np.int32)[order],
        correlation=np.asarray(corr, dtype=np.int64)[order],
        external_id=np.asarray(ext, dtype=np.int64)[order],
        args=[args_list[i] for i in order],
        categories=list(categories),
        names=list(names),
        tracks=tracks,
        memory=MemoryEvents(
            ts=mem[:, 0].astype(np.float64),
            device_type=mem[:, 1].astype(np.int8),
            device_id=mem[:, 2].astype(np.int16),
            bytes=mem[:, 3].astype(np.int64),
            total_allocated=mem[:, 4].astype(np.float64),
            total_reserved=mem[:, 5].astype(np.float64),
            addr=mem[:, 6].astype(np.uint64),
            track=mem[:, 7].astype(np.int32),
        ),
    )


def _metadata_event(
    event: dict[str, Any],
    process_names: dict[str, str],
    process_labels: dict[str, str],
    process_sort: dict[str, float],
    thread_names: dict[tuple[str, str], str],
    thread_sort: dict[tuple[str, str], float],
) -> None:
    args = event.get("args")
    if not isinstance(args, dict):
        return
    pid, tid = str(event.get("pid", "")), str(event.get("tid", ""))
    kind = event.get("name")
    if kind == "process_name":
        process_names[pid] = str(args.get("name", ""))
    elif kind == "process_labels":
        process_labels[pid] = str(args.get("labels", ""))
    elif kind == "process_sort_index":
        process_sort[pid] = _number(args.get("sort_index"), 0.0)
    elif kind == "thread_name":
        thread_names[(pid, tid)] = str(args.get("name", "")).strip()
    elif kind == "thread_sort_index":
        thread_sort[(pid, tid)] = _number(args.get("sort_index"), 0.0)


def _tracks(
    track_ids: dict[tuple[str, str], int],
    process_names: dict[str, str],
    process_labels: dict[str, str],
    process_sort: dict[str, float],
    thread_names: dict[tuple[str, str], str],
    thread_sort: dict[tuple[str, str], float],
) -> list[Track]:
    tracks = []
    for pid, tid in track_ids:
        label = process_labels.get(pid, "")
        process = process_names.get(pid, pid)
        kind = "gpu" if label.startswith("GPU") else "cpu" if pid.isdigit() else "other"
        thread = thread_names.get((pid, tid)) or (
            f"stream {tid}" if kind == "gpu" else f"thread {tid}"
        )
        title = (
            f"{label or process} · {thread}" if kind == "gpu" else f"{process} ({pid}) · {thread}"
        )
        group = {"cpu": 0, "gpu": 1, "other": 2}[kind]
        sort = (
            group,
            process_sort.get(pid, _number(_int(pid), 0.0)),
            thread_sort.get((pid, tid), _number(_int(tid), 0.0)),
        )
        named = thread_names.get((pid, tid), "")
        tracks.append(Track(pid, tid, title, kind, sort, process_names.get(pid, ""), named))
    return tracks


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
