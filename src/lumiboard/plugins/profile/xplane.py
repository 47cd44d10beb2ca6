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
- an event's **args** (its metadata's stats, then its own, by stat name; a
  ``ref_value`` resolved to the stat metadata's name it points at; the names of
  its metadata's ``child_id`` children; a kernel's launch parameters) are decoded
  when a view first asks for them, not up front: decoding every event's stats
  would cost more than the rest of the file;
- the planes' own stats (device facts) are kept in ``metadata["planes"]``, and a
  GPU plane's capabilities also as ``metadata["deviceProperties"]``;
- TensorFlow's allocator events (``MemoryAllocation``, ``MemoryDeallocation``)
  also feed the Memory view.

Aggregated events (``num_occurrences`` instead of an offset) have no time and are
skipped, with a warning. A file that is not a valid XSpace (damaged, truncated) raises
:class:`~lumiboard.plugins.profile.trace.TraceError`, as a bad JSON trace does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np

from lumiboard.format.proto import xplane_pb2
from lumiboard.plugins.profile import xplane_kinds as kinds
from lumiboard.plugins.profile.trace import MemoryEvents, Trace, TraceError, Track
from lumiboard.plugins.profile.xspace_wire import XSpaceColumns, XSpaceDecodeError, decode

#: Bytes of a ``bytes_value`` stat shown at most (as hex): such stats hold serialized protos.
MAX_STAT_BYTES = 64
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
        self.planes = list(columns.space.planes)
        self.lines = [
            self.planes[p].lines[j]
            for p, j in zip(columns.line_plane.tolist(), columns.line_index.tolist(), strict=True)
        ]
        self.names: dict[str, int] = {}
        self._stat_name_cache: dict[int, dict[int, str]] = {}
        self._fixed_cache: dict[tuple[int, int], dict[str, Any]] = {}
        self.event_plane = (
            columns.line_plane[columns.event_line]
            if len(columns.line_plane)
            else np.zeros(0, dtype=np.int32)
        )

    def trace(self) -> Trace:
        columns = self.columns
        count = len(columns)
        name = np.zeros(count, dtype=np.int32)
        cat = np.zeros(count, dtype=np.int16)
        for p, plane in enumerate(self.planes):
            selected = np.flatnonzero(self.event_plane == p)
            if len(selected):
                self._plane_columns(p, plane, selected, name, cat)
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
            args=_LazyArgs(self, source),
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
        selected: np.ndarray,
        name: np.ndarray,
        cat: np.ndarray,
    ) -> None:
        """Fill the name and category codes of the plane's events (``selected``)."""
        ids = self.columns.metadata_id[selected]
        keys = np.fromiter(plane.event_metadata.keys(), dtype=np.int64)
        keys.sort()
        position = np.searchsorted(keys, ids)
        if not len(keys) or not np.array_equal(keys[np.minimum(position, len(keys) - 1)], ids):
            keys = np.union1d(keys, ids)  # ids without metadata (a damaged file) named by id
            position = np.searchsorted(keys, ids)
        labels = [self._label(plane, int(key)) for key in keys.tolist()]
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
                    cat[selected[event_lines == line]] = code
            return
        # A kind of host event is judged by the stats of one of its events (the module's
        # note), and by the metadata's name (a TF op's ``<name>:<Type>``), not its display name.
        sample = np.full(len(keys), -1, dtype=np.int64)
        sample[position] = selected
        by_meta = np.zeros(len(keys), dtype=np.int16)
        for k, (key, index) in enumerate(zip(keys.tolist(), sample.tolist(), strict=True)):
            if index >= 0:
                text = self._raw_name(plane, key)
                by_meta[k] = kinds.CODE[
                    kinds.host_category(text, "", self._event_stat_names(index))
                ]
        cat[selected] = by_meta[position]
        data_line = np.array([_line_name(line).startswith("tf_data") for line in self.lines])
        on_data = data_line[event_lines] & (cat[selected] == kinds.CODE["user_annotation"])
        cat[selected[on_data]] = kinds.CODE["tf_data"]

    def _label(self, plane: xplane_pb2.XPlane, key: int) -> str:
        meta = plane.event_metadata.get(key)
        if meta is None:
            return f"event {key}"
        if not meta.display_name and kinds.is_tf_op(meta.name):
            return str(meta.name).rsplit(":", 1)[1]  # a TF op shown by its type, as TF does
        return str(meta.display_name or meta.name) or f"event {key}"

    def _raw_name(self, plane: xplane_pb2.XPlane, key: int) -> str:
        meta = plane.event_metadata.get(key)
        return (meta.name or meta.display_name) if meta is not None else ""

    def _event_stat_names(self, index: int) -> frozenset[str]:
        """The names of the stats of event ``index`` and of its metadata."""
        plane_index = int(self.event_plane[index])
        event = self.columns.event(index)
        names = self._stat_names(plane_index)
        fixed = self._fixed_args(plane_index, event.metadata_id)
        return frozenset(fixed) | {names.get(stat.metadata_id, "") for stat in event.stats}

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
        positions = np.flatnonzero(wanted).tolist()
        events = self.columns.events([int(source[p]) for p in positions])
        for position, event in zip(positions, events, strict=True):
            value = self.stats(int(source[position]), event).get("correlation_id")
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
                stats = self.stats(index)
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
            {"id": plane.id, "name": plane.name, "stats": self._plane_facts(p)}
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

    def _stat_names(self, plane_index: int) -> dict[int, str]:
        """A plane's stat names by stat metadata id (kept: every decoded stat looks one up)."""
        found = self._stat_name_cache.get(plane_index)
        if found is None:
            found = self._stat_name_cache[plane_index] = {
                key: meta.name
                for key, meta in self.planes[plane_index].stat_metadata.items()
                if meta.name
            }
        return found

    def _fixed_args(self, plane_index: int, key: int) -> dict[str, Any]:
        """What every event of one metadata shows: the metadata's own name when another one is
        shown, its stats, its children's names, the plane's GPU number (kept per metadata)."""
        cached = self._fixed_cache.get((plane_index, key))
        if cached is not None:
            return cached
        plane = self.planes[plane_index]
        meta = plane.event_metadata.get(key)
        fixed: dict[str, Any] = {}
        if meta is not None:
            if meta.name != self._label(plane, key):
                fixed["name"] = meta.name  # a TF op's full name; its type is shown
            fixed.update(_stats(meta.stats, self._stat_names(plane_index)))
            if len(meta.child_id):
                fixed["children"] = [self._label(plane, int(child)) for child in meta.child_id]
        self._fixed_cache[(plane_index, key)] = fixed
        return fixed

    def _gpu(self, plane_index: int) -> tuple[int | None, int | None]:
        """A GPU plane's number and SM count (None for other planes, or when unknown)."""
        name = self.planes[plane_index].name
        if not name.startswith("/device:GPU:"):
            return None, None
        number = name.rsplit(":", 1)[-1]
        cores = self._plane_facts(plane_index).get("core_count")
        return (
            int(number) if number.isdigit() else None,
            cores if isinstance(cores, int) and cores > 0 else None,
        )

    def _plane_facts(self, plane_index: int) -> dict[str, Any]:
        plane = self.planes[plane_index]
        return _stats(plane.stats, self._stat_names(plane_index))

    def stats(self, index: int, event: xplane_pb2.XEvent | None = None) -> dict[str, Any]:
        """The stats of event ``index`` (its metadata's, then its own), by name; ``event``:
        the event already decoded."""
        plane_index = int(self.event_plane[index])
        event = self.columns.event(index) if event is None else event
        result = dict(self._fixed_args(plane_index, event.metadata_id))
        result.update(_stats(event.stats, self._stat_names(plane_index)))
        return result

    def args(self, index: int, event: xplane_pb2.XEvent | None = None) -> dict[str, Any] | None:
        """An event's args as shown: stats, children, a kernel's launch parameters."""
        result = self.stats(index, event)
        details = result.get("kernel_details")
        plane_index = int(self.event_plane[index])
        number, cores = self._gpu(plane_index) if details is not None else (None, None)
        if isinstance(details, str):
            result.update(kinds.kernel_details(details))
            grid = result.get("grid")
            if isinstance(grid, list) and cores is not None:
                result["blocks per SM"] = float(np.prod(grid)) / cores
        if number is None and self.planes[plane_index].name.startswith("/device:GPU:"):
            number = self._gpu(plane_index)[0]
        if number is not None:
            result.setdefault("device", number)
        return result or None


class _LazyArgs(Sequence[dict[str, Any] | None]):
    """The args of a trace's events (in time order), decoded when first asked for."""

    def __init__(self, mapping: _Mapping, source: np.ndarray) -> None:
        self._mapping = mapping
        self._source = source
        self._decoded: dict[int, dict[str, Any] | None] = {}

    def __len__(self) -> int:
        return len(self._source)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any] | None: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[dict[str, Any] | None]: ...
    def __getitem__(
        self, index: int | slice
    ) -> dict[str, Any] | Sequence[dict[str, Any] | None] | None:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index not in self._decoded:
            self._decoded[index] = self._mapping.args(int(self._source[index]))
        return self._decoded[index]

    def __iter__(self) -> Iterator[dict[str, Any] | None]:
        return (self[i] for i in range(len(self)))

    def many(self, indices: Sequence[int]) -> list[dict[str, Any] | None]:
        """The args of the events at ``indices``, the ones not decoded yet decoded at once."""
        wanted = [i for i in dict.fromkeys(indices) if i not in self._decoded]
        if wanted:
            for i in wanted:
                if not 0 <= i < len(self):
                    raise IndexError(i)
            sources = [int(self._source[i]) for i in wanted]
            events = self._mapping.columns.events(sources)
            for i, source, event in zip(wanted, sources, events, strict=True):
                self._decoded[i] = self._mapping.args(source, event)
        return [self[i] for i in indices]


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


def _stats(stats: Any, names: dict[int, str]) -> dict[str, Any]:  # repeated XStat
    """Stats as ``{name: value}`` (``names``: the plane's stat names by id): a reference
    resolved, bytes shown as (cut) hex."""
    result: dict[str, Any] = {}
    for stat in stats:
        key = names.get(stat.metadata_id) or f"stat {stat.metadata_id}"
        kind = stat.WhichOneof("value")
        value: Any
        if kind == "ref_value":
            value = names.get(stat.ref_value, f"<unknown ref {stat.ref_value}>")
        elif kind == "bytes_value":
            raw = stat.bytes_value
            value = raw[:MAX_STAT_BYTES].hex() + ("…" if len(raw) > MAX_STAT_BYTES else "")
        elif kind is None:
            value = None
        else:
            value = getattr(stat, kind)
        result[key] = value
    return result
