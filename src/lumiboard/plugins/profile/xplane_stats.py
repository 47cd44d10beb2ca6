"""The stats of an XSpace's events, decoded when a view first reads them.

Decoding every event's stats up front would cost more than the rest of the file
(:mod:`.xplane`): an event's **args** are decoded on demand, and many at once
when a view reads the stats of every step or kernel (one protobuf parse for them
all). An event's args are its metadata's stats, then its own, by stat name; a
``ref_value`` resolved to the stat metadata's name it points at; the metadata's
own name when another one is shown (a TF op is shown by its type); the names of
its metadata's ``child_id`` children; a kernel's launch parameters (from
``kernel_details``, blocks per SM from its plane's ``core_count``) and its GPU.
What every event of one metadata shows is kept per metadata.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np

from lumiboard.format.proto import xplane_pb2
from lumiboard.plugins.profile import xplane_kinds as kinds
from lumiboard.plugins.profile.xspace_wire import XSpaceColumns

#: Bytes of a ``bytes_value`` stat shown at most (as hex): such stats hold serialized protos.
MAX_STAT_BYTES = 64


class EventStats:
    """Names and stats of one XSpace's events, by their index in file order."""

    def __init__(self, columns: XSpaceColumns) -> None:
        self.columns = columns
        self.planes = list(columns.space.planes)
        self.lines = [
            self.planes[p].lines[j]
            for p, j in zip(columns.line_plane.tolist(), columns.line_index.tolist(), strict=True)
        ]
        self._stat_name_cache: dict[int, dict[int, str]] = {}
        self._fixed_cache: dict[tuple[int, int], dict[str, Any]] = {}
        self._gpu_cache: dict[int, tuple[int | None, int | None]] = {}
        # Events come in file order: a plane's lines, and so its events, are contiguous.
        line_starts = np.searchsorted(columns.event_line, np.arange(len(self.lines) + 1))
        first_lines = np.searchsorted(columns.line_plane, np.arange(len(self.planes) + 1))
        #: Per plane, the index of its first event; then the number of events.
        self.plane_starts: list[int] = line_starts[first_lines].tolist()

    def plane_of(self, index: int) -> int:
        """The index of the plane event ``index`` is on."""
        return bisect.bisect_right(self.plane_starts, index) - 1

    def label(self, plane: xplane_pb2.XPlane, key: int) -> str:
        meta = plane.event_metadata.get(key)
        if meta is None:
            return f"event {key}"
        if not meta.display_name and kinds.is_tf_op(meta.name):
            return str(meta.name).rsplit(":", 1)[1]  # a TF op shown by its type, as TF does
        return str(meta.display_name or meta.name) or f"event {key}"

    def raw_name(self, plane: xplane_pb2.XPlane, key: int) -> str:
        meta = plane.event_metadata.get(key)
        return (meta.name or meta.display_name) if meta is not None else ""

    def stat_names_of(self, index: int) -> frozenset[str]:
        """The names of the stats of event ``index`` and of its metadata."""
        plane_index = self.plane_of(index)
        event = self.columns.event(index)
        names = self.stat_names(plane_index)
        fixed = self._fixed_args(plane_index, event.metadata_id)
        return frozenset(fixed) | {names.get(stat.metadata_id, "") for stat in event.stats}

    def stat_names(self, plane_index: int) -> dict[int, str]:
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
            if meta.name != self.label(plane, key):
                fixed["name"] = meta.name  # a TF op's full name; its type is shown
            fixed.update(stat_values(meta.stats, self.stat_names(plane_index)))
            if len(meta.child_id):
                fixed["children"] = [self.label(plane, int(child)) for child in meta.child_id]
        self._fixed_cache[(plane_index, key)] = fixed
        return fixed

    def _gpu(self, plane_index: int) -> tuple[int | None, int | None]:
        """A GPU plane's number and SM count (None for other planes, or when unknown)."""
        found = self._gpu_cache.get(plane_index)
        if found is None:
            name = self.planes[plane_index].name
            found = (None, None)
            if name.startswith("/device:GPU:"):
                number = name.rsplit(":", 1)[-1]
                cores = self.plane_facts(plane_index).get("core_count")
                found = (
                    int(number) if number.isdigit() else None,
                    cores if isinstance(cores, int) and cores > 0 else None,
                )
            self._gpu_cache[plane_index] = found
        return found

    def stat_value(self, indices: list[int], name: str) -> list[Any]:
        """The value of the stat ``name`` of each event at ``indices`` (None where it has
        none): one stat read without building the events' args, for many events at once."""
        result: list[Any] = [None] * len(indices)
        events = self.columns.events(indices)
        wanted: dict[int, int | None] = {}  # plane -> the stat's metadata id there
        for k, (index, event) in enumerate(zip(indices, events, strict=True)):
            plane = self.plane_of(index)
            if plane not in wanted:
                ids = [key for key, value in self.stat_names(plane).items() if value == name]
                wanted[plane] = ids[0] if ids else None
            key = wanted[plane]
            if key is None:
                continue
            for stat in event.stats:
                if stat.metadata_id == key:
                    kind = stat.WhichOneof("value")
                    result[k] = getattr(stat, kind) if kind and kind != "ref_value" else None
                    break
            else:
                result[k] = self._fixed_args(plane, event.metadata_id).get(name)
        return result

    def plane_facts(self, plane_index: int) -> dict[str, Any]:
        plane = self.planes[plane_index]
        return stat_values(plane.stats, self.stat_names(plane_index))

    def stats(self, index: int, event: xplane_pb2.XEvent | None = None) -> dict[str, Any]:
        """The stats of event ``index`` (its metadata's, then its own), by name; ``event``:
        the event already decoded."""
        plane_index = self.plane_of(index)
        event = self.columns.event(index) if event is None else event
        result = dict(self._fixed_args(plane_index, event.metadata_id))
        result.update(stat_values(event.stats, self.stat_names(plane_index)))
        return result

    def args(self, index: int, event: xplane_pb2.XEvent | None = None) -> dict[str, Any] | None:
        """An event's args as shown: stats, children, a kernel's launch parameters."""
        result = self.stats(index, event)
        details = result.get("kernel_details")
        plane_index = self.plane_of(index)
        number, cores = self._gpu(plane_index) if details is not None else (None, None)
        if isinstance(details, str):
            result.update(kinds.kernel_details(details))
            grid = result.get("grid")
            if isinstance(grid, list) and cores is not None:
                result["blocks per SM"] = math.prod(grid) / cores
        if number is None and self.planes[plane_index].name.startswith("/device:GPU:"):
            number = self._gpu(plane_index)[0]
        if number is not None:
            result.setdefault("device", number)
        return result or None


class LazyArgs(Sequence[dict[str, Any] | None]):
    """The args of a trace's events (in time order), decoded when first asked for."""

    def __init__(self, stats: EventStats, source: np.ndarray) -> None:
        self._stats = stats
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
            self._decoded[index] = self._stats.args(int(self._source[index]))
        return self._decoded[index]

    def __iter__(self) -> Iterator[dict[str, Any] | None]:
        return (self[i] for i in range(len(self)))

    def many(self, indices: Sequence[int]) -> list[dict[str, Any] | None]:
        """The args of the events at ``indices``, the ones not decoded yet decoded at once."""
        decoded = self._decoded
        wanted = [index for index in indices if index not in decoded]
        if wanted:
            if min(wanted) < 0 or max(wanted) >= len(self):
                raise IndexError(min(wanted) if min(wanted) < 0 else max(wanted))
            sources = self._source[wanted].tolist()
            args = self._stats.args
            events = self._stats.columns.events(sources)
            for index, source, event in zip(wanted, sources, events, strict=True):
                decoded[index] = args(source, event)
        return [decoded[index] for index in indices]


def stat_values(stats: Any, names: dict[int, str]) -> dict[str, Any]:  # repeated XStat
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
