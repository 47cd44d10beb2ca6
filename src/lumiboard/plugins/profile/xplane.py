"""Decode a ``<host>.xplane.pb`` (the XSpace that TensorFlow, Keras and JAX profilers write) into
the :class:`~lumiboard.plugins.profile.trace.Trace` the views read, without TensorFlow.

The file is decoded into columns (:mod:`.xspace_wire`: the event fields in C, the
planes' metadata with lumiboard's own copy of the ``.proto``) and mapped the way
xprof's trace viewer shows it, so that every view reads one model:

- each **plane** (``/host:CPU``, ``/device:GPU:0``, ...) is a process, numbered by
  its position in the file; a device plane is a device track group (``GPU 0``);
- each **line** of a plane is a thread named by its ``display_name`` or ``name``;
  lines that share a non-zero ``display_id`` are shown as one;
- each **event** starts at ``line.timestamp_ns + offset_ps`` and lasts
  ``duration_ps``, named by its metadata's ``display_name`` or ``name``, in the
  category :mod:`.xplane_kinds` gives it. Times are kept in microseconds from
  :data:`time base <_time_base>` (whole seconds, ``metadata["time_base_ns"]``) so
  that picoseconds survive the float columns;
- an event's **args** (its stats by name, and more: :mod:`.xplane_stats`) are
  decoded when a view first asks for them, not up front: decoding every event's
  stats would cost more than the rest of the file;
- the planes' own stats (device facts) are kept in ``metadata["planes"]``, and a
  GPU plane's capabilities also as ``metadata["deviceProperties"]``;
- TensorFlow's allocator events (``MemoryAllocation``, ``MemoryDeallocation``)
  also feed the Memory view.

Aggregated events (``num_occurrences`` instead of an offset) have no time and are
skipped, with a warning. A file that is not a valid XSpace (damaged, truncated) raises
:class:`~lumiboard.plugins.profile.trace.TraceError`, as a bad JSON trace does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lumiboard.format.proto import xplane_pb2
from lumiboard.plugins.profile import xplane_kinds as kinds
from lumiboard.plugins.profile.trace import MemoryEvents, Trace, TraceError, Track, gc_paused
from lumiboard.plugins.profile.xplane_stats import EventStats, LazyArgs
from lumiboard.plugins.profile.xspace_wire import XSpaceColumns, XSpaceDecodeError, decode

_MEMORY_EVENTS = {"MemoryAllocation": 1, "MemoryDeallocation": -1}
_NS = 1_000_000_000


def parse_xspace(data: bytes) -> Trace:
    """The trace of an XSpace's serialized bytes; TraceError when they are not one."""
    try:
        columns = decode(data)
    except (XSpaceDecodeError, RecursionError) as error:
        raise TraceError(
            f"not a valid XSpace profile: the protobuf is damaged or truncated ({error})"
        ) from None
    with gc_paused():
        return _Mapping(columns).trace()


def _time_base(line_ns: np.ndarray) -> int:
    """Whole seconds at or before the earliest line: subtracted from every time, so that
    epoch-based nanoseconds times a thousand fit int64 and microseconds keep picoseconds."""
    if not len(line_ns):
        return 0
    earliest = int(line_ns.min())
    return earliest - earliest % _NS if earliest >= _NS else 0


class _Mapping:
    """One XSpace's columns mapped to a Trace (see the module docstring)."""

    def __init__(self, columns: XSpaceColumns) -> None:
        self.columns = columns
        self.details = EventStats(columns)
        self.planes = self.details.planes
        self.lines = self.details.lines
        self.plane_starts = self.details.plane_starts
        self.names: dict[str, int] = {}

    def trace(self) -> Trace:
        columns = self.columns
        count = len(columns)
        name = np.zeros(count, dtype=np.int32)
        cat = np.zeros(count, dtype=np.int16)
        for p, plane in enumerate(self.planes):
            start, end = self.plane_starts[p], self.plane_starts[p + 1]
            if end > start:
                self._plane_columns(p, plane, slice(start, end), name, cat)
        line_ns = np.array([line.timestamp_ns for line in self.lines], dtype=np.int64)
        base = _time_base(line_ns)
        start_ps = (line_ns - base) * 1000 if len(line_ns) else line_ns
        if columns.aggregated.any():
            kept = np.flatnonzero(~columns.aggregated)
            ts = (start_ps[columns.event_line[kept]] + columns.offset_ps[kept]) / 1e6
            order = np.argsort(ts, kind="stable")
            source = kept[order]
        else:  # the usual file: no aggregated events, and one fancy index less per column
            kept = columns.event_line
            ts = (start_ps[columns.event_line] + columns.offset_ps) / 1e6
            order = source = np.argsort(ts, kind="stable")
        line_track, tracks = self._tracks()
        ts = ts[order]
        cat = cat[source]
        name = name[source]
        correlation = self._correlations(source, cat)
        trace = Trace(
            metadata=self._metadata(base),
            ts=ts,
            dur=columns.duration_ps[source] / 1e6,
            cat=cat,
            name=name,
            track=line_track[columns.event_line[source]],
            correlation=correlation,
            external_id=np.full(len(source), -1, dtype=np.int64),
            args=LazyArgs(self.details, source),
            categories=list(kinds.CATEGORIES),
            names=list(self.names),
            tracks=tracks,
            memory=self._memory(source, name, ts, line_track),
        )
        space = columns.space
        trace.warnings.extend(f"profiler error: {text}" for text in space.errors)
        trace.warnings.extend(f"profiler warning: {text}" for text in space.warnings)
        skipped = count - len(kept)
        if skipped:
            trace.warnings.append(
                f"{skipped} aggregated events (counts without times) are not shown on the timeline"
            )
        return trace

    def _plane_columns(
        self,
        p: int,
        plane: xplane_pb2.XPlane,
        selected: slice,
        name: np.ndarray,
        cat: np.ndarray,
    ) -> None:
        """Fill the name and category codes of the plane's events (``selected``)."""
        ids = self.columns.metadata_id[selected]
        keys = np.fromiter(plane.event_metadata.keys(), dtype=np.int64)
        keys.sort()
        position = _positions(keys, ids)
        if position is None:
            keys = np.union1d(keys, ids)  # ids without metadata (a damaged file) named by id
            position = np.searchsorted(keys, ids)
        labels = [self.details.label(plane, int(key)) for key in keys.tolist()]
        codes = np.array([self.names.setdefault(label, len(self.names)) for label in labels])
        name[selected] = codes[position]
        event_lines = self.columns.event_line[selected]
        if kinds.is_device_plane(plane.name):
            plane_lines = np.flatnonzero(self.columns.line_plane == p).tolist()
            line_names = {i: _line_name(self.lines[i]) for i in plane_lines}
            streams = any(kinds.is_stream_line(n) for n in line_names.values())
            by_meta = np.array(
                [kinds.CODE[kinds.device_category(label, "", streams)] for label in labels],
                dtype=np.int16,
            )
            cat[selected] = by_meta[position]
            for line, line_name in line_names.items():
                if not kinds.is_stream_line(line_name):
                    code = kinds.CODE[kinds.device_category("", line_name, streams)]
                    cat[selected][event_lines == line] = code
            return
        # A kind of host event is judged by the stats of one of its events (the module's
        # note), and by the metadata's name (a TF op's ``<name>:<Type>``), not its display name.
        sample = np.full(len(keys), -1, dtype=np.int64)
        sample[position] = np.arange(selected.start, selected.stop)
        by_meta = np.zeros(len(keys), dtype=np.int16)
        for k, (key, index) in enumerate(zip(keys.tolist(), sample.tolist(), strict=True)):
            if index >= 0:
                text = self.details.raw_name(plane, key)
                by_meta[k] = kinds.CODE[
                    kinds.host_category(text, "", self.details.stat_names_of(index))
                ]
        cat[selected] = by_meta[position]
        data_line = np.array([_line_name(line).startswith("tf_data") for line in self.lines])
        on_data = data_line[event_lines] & (cat[selected] == kinds.CODE["user_annotation"])
        cat[selected][on_data] = kinds.CODE["tf_data"]

    def _tracks(self) -> tuple[np.ndarray, list[Track]]:
        """Per line, its track; and the tracks (lines sharing a display id are one)."""
        line_track = np.zeros(len(self.lines), dtype=np.int32)
        tracks: list[Track] = []
        seen: dict[tuple[int, int], int] = {}
        position: dict[int, int] = {}
        for i, (p, line) in enumerate(
            zip(self.columns.line_plane.tolist(), self.lines, strict=True)
        ):
            key = (p, line.display_id) if line.display_id else (p, -1 - i)
            found = seen.get(key)
            if found is None:
                tid = position[p] = position.get(p, -1) + 1
                plane = self.planes[p]
                thread = _line_name(line) or f"line {line.id}"
                device = kinds.is_device_plane(plane.name)
                title = (
                    f"{kinds.device_label(plane.name)} · {thread}"
                    if device
                    else f"{plane.name} ({p}) · {thread}"
                )
                kind = "gpu" if device else "cpu"
                found = seen[key] = len(tracks)
                tracks.append(
                    Track(str(p), str(tid), title, kind, (int(device), p, tid), plane.name, thread)
                )
            line_track[i] = found
        return line_track, tracks

    def _correlations(self, source: np.ndarray, cat: np.ndarray) -> np.ndarray:
        """``correlation_id`` of runtime calls and device activity (their stats decoded)."""
        result = np.full(len(source), -1, dtype=np.int64)
        wanted = np.isin(
            cat,
            [kinds.CODE[c] for c in ("cuda_runtime", "kernel", "gpu_memcpy", "gpu_memset")],
        )
        positions = np.flatnonzero(wanted)
        sources = source[positions].tolist()
        values = self.details.stat_value(sources, "correlation_id")
        for position, value in zip(positions.tolist(), values, strict=True):
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
                result[position] = value
        return result

    def _memory(
        self, source: np.ndarray, names: np.ndarray, ts: np.ndarray, line_track: np.ndarray
    ) -> MemoryEvents:
        """TensorFlow's allocator events as the Memory view's columns."""
        codes = {self.names[n]: sign for n, sign in _MEMORY_EVENTS.items() if n in self.names}
        rows: list[tuple[float, int, int, int, float, float, int, int]] = []
        if codes:
            for position in np.flatnonzero(np.isin(names, list(codes))).tolist():
                index = int(source[position])
                stats = self.details.stats(index)
                sign = codes[int(names[position])]
                size = _int(stats.get("allocation_bytes"), _int(stats.get("requested_bytes"), 0))
                allocator = str(stats.get("allocator_name", ""))
                device_type, device_id = _allocator_device(allocator)
                rows.append(
                    (
                        float(ts[position]),
                        device_type,
                        device_id,
                        sign * abs(size),
                        float(_int(stats.get("bytes_allocated"), -1)),
                        float(_int(stats.get("bytes_reserved"), -1)),
                        _int(stats.get("addr"), 0) & 0xFFFFFFFFFFFFFFFF,
                        int(line_track[self.columns.event_line[index]]),
                    )
                )
        table = np.asarray(rows, dtype=object).reshape(-1, 8)
        allocated = table[:, 4].astype(np.float64)
        reserved = table[:, 5].astype(np.float64)
        allocated[allocated < 0] = np.nan
        reserved[reserved < 0] = np.nan
        return MemoryEvents(
            ts=table[:, 0].astype(np.float64),
            device_type=table[:, 1].astype(np.int8),
            device_id=table[:, 2].astype(np.int16),
            bytes=table[:, 3].astype(np.int64),
            total_allocated=allocated,
            total_reserved=reserved,
            addr=table[:, 6].astype(np.uint64),
            track=table[:, 7].astype(np.int32),
        )

    def _metadata(self, base: int) -> dict[str, Any]:
        planes = [
            {"id": plane.id, "name": plane.name, "stats": self.details.plane_facts(p)}
            for p, plane in enumerate(self.planes)
        ]
        devices = []
        for plane in planes:
            if not plane["name"].startswith("/device:GPU:"):
                continue
            stats = plane["stats"]
            number = plane["name"].rsplit(":", 1)[-1]
            devices.append(
                {
                    "id": int(number) if number.isdigit() else number,
                    "name": str(stats.get("device_vendor") or stats.get("device_type_string") or "")
                    or plane["name"],
                    "totalGlobalMem": stats.get("memory_size"),
                    "computeMajor": stats.get("compute_cap_major"),
                    "computeMinor": stats.get("compute_cap_minor"),
                    "numSms": stats.get("core_count"),
                }
            )
        return {
            "format": "xplane",
            "hostnames": list(self.columns.space.hostnames),
            "planes": planes,
            "time_base_ns": base,
            "deviceProperties": devices,
        }


#: Metadata ids are small numbers in every profiler's files: up to this many slots, an id's
#: position is looked up in a table (a gather) rather than searched for.
_TABLE_SLOTS = 1 << 22


def _positions(keys: np.ndarray, ids: np.ndarray) -> np.ndarray | None:
    """The position of each id in the sorted ``keys``; None when an id is not among them."""
    if not len(keys):
        return None if len(ids) else np.zeros(0, dtype=np.int64)
    if keys[0] >= 0 and keys[-1] < _TABLE_SLOTS:
        table = np.full(int(keys[-1]) + 2, -1, dtype=np.int64)
        table[keys] = np.arange(len(keys))
        # An id outside the table lands on its last slot, which is -1.
        found: np.ndarray = table[np.clip(ids, 0, len(table) - 1)]
        if (found < 0).any():
            return None
        return found
    position: np.ndarray = np.searchsorted(keys, ids)
    if not np.array_equal(keys[np.minimum(position, len(keys) - 1)], ids):
        return None
    return position


def _line_name(line: xplane_pb2.XLine) -> str:
    return line.display_name or line.name


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _allocator_device(name: str) -> tuple[int, int]:
    """Kineto's device type and id of a TensorFlow allocator (``GPU_0_bfc``, ``cpu``...)."""
    if name.upper().startswith("GPU"):
        digits = "".join(c for c in name[3:].lstrip("_:") if c.isdigit()) or "0"
        return 1, int(digits[:4])
    return 0, -1
