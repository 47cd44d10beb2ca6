"""Decode a serialized XSpace (``<host>.xplane.pb``) into event columns, without a Python
object per event.

:func:`decode` returns :class:`XSpaceColumns`: the XSpace itself with every line's events
left out (planes, their metadata and stats, the lines' names and timestamps), and one numpy
column per event field the views read (its line, metadata id, offset, duration, whether it
is aggregated), in file order. The full event, stats included, is decoded on demand by
:meth:`XSpaceColumns.event`.

The work is done by a C extension (``_xspace``, built by the package build from
``_xspace.c``): it walks the wire format once, with the GIL released, checking every byte
as protobuf's own parser (upb) does, and writes the columns plus the event-less XSpace
re-serialized, which upb then parses (small: events are nearly all of a profile). On a
200k-event file that takes about a third of what ``XSpace.ParseFromString`` alone takes.
Without a compiler the same API is built with upb (parse, then read each event: about 50
times slower).

The two agree on every input but one kind: groups (wire types 3 and 4, deprecated, never
written by a profiler) in unknown fields, which upb skips and the extension refuses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from google.protobuf.message import DecodeError

from lumiboard.format.proto import xplane_pb2

logger = logging.getLogger(__name__)

try:
    from lumiboard.plugins.profile import _xspace  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the build
    _xspace = None
    logger.info("lumiboard's native XSpace decoder is not built: decoding with protobuf")

NATIVE = _xspace is not None


class XSpaceDecodeError(ValueError):
    """The bytes are not a valid serialized XSpace (damaged or truncated)."""


@dataclass(frozen=True, eq=False)
class XSpaceColumns:
    """An XSpace's events as columns (read-only arrays), and the XSpace without them."""

    #: The whole XSpace with every line's ``events`` empty.
    space: xplane_pb2.XSpace
    #: int32, one per line in file order (plane 0's lines, then plane 1's...): its plane's
    #: index in ``space.planes``.
    line_plane: np.ndarray
    #: int32, one per line: its index in its plane's ``lines``.
    line_index: np.ndarray
    #: int32, one per event in file order: its line's global index (into ``line_plane``).
    event_line: np.ndarray
    metadata_id: np.ndarray  # int64
    #: int64; 0 for an aggregated event (as protobuf reads it).
    offset_ps: np.ndarray
    duration_ps: np.ndarray  # int64
    #: bool: the event holds ``num_occurrences`` (the oneof's other arm) instead of a time.
    aggregated: np.ndarray
    _event_at: Callable[[int], xplane_pb2.XEvent] = field(repr=False)

    #: Several events at once (one protobuf parse for them all); None: one by one.
    _events_at: Callable[[Sequence[int]], list[xplane_pb2.XEvent]] | None = field(
        default=None, repr=False
    )

    def event(self, index: int) -> xplane_pb2.XEvent:
        """The full event (stats included), a new message each call; IndexError past the end."""
        return self._event_at(index)

    def events(self, indices: Sequence[int]) -> list[xplane_pb2.XEvent]:
        """The full events at ``indices``, in that order: as :meth:`event`, a few times faster
        for many (a view reading the stats of every step or kernel)."""
        if self._events_at is None:
            return [self._event_at(index) for index in indices]
        return self._events_at(indices)

    def __len__(self) -> int:
        """The number of events."""
        return len(self.event_line)


def decode(data: bytes | bytearray | memoryview) -> XSpaceColumns:
    """The columns of a serialized XSpace; XSpaceDecodeError when the bytes are not one.

    The result keeps ``data`` (``event`` decodes from it): other bytes-like objects are
    copied first, so that changing them later changes nothing here."""
    if not isinstance(data, bytes):
        data = bytes(data)
    if _xspace is None:
        return decode_python(data)
    try:
        skeleton, planes, indexes, lines, ids, offsets, durations, aggregated, bounds = (
            _xspace.columns(data)
        )
    except ValueError as error:
        raise XSpaceDecodeError(f"not a valid XSpace: {error}") from None
    space = _parse(xplane_pb2.XSpace, skeleton)
    spans = np.frombuffer(bounds, dtype=np.int64).reshape(-1, 2)

    def event_at(index: int) -> xplane_pb2.XEvent:
        start, end = spans[index]
        return _parse(xplane_pb2.XEvent, data[int(start) : int(end)])

    def events_at(indices: Sequence[int]) -> list[xplane_pb2.XEvent]:
        # The events framed as the repeated ``events`` field of one XLine, parsed at once.
        parts = []
        for start, end in spans[np.asarray(indices, dtype=np.int64)].tolist():
            parts.append(_EVENTS_TAG + _varint(end - start))
            parts.append(data[start:end])
        return list(_parse(xplane_pb2.XLine, b"".join(parts)).events)

    return XSpaceColumns(
        space=space,
        line_plane=np.frombuffer(planes, dtype=np.int32),
        line_index=np.frombuffer(indexes, dtype=np.int32),
        event_line=np.frombuffer(lines, dtype=np.int32),
        metadata_id=np.frombuffer(ids, dtype=np.int64),
        offset_ps=np.frombuffer(offsets, dtype=np.int64),
        duration_ps=np.frombuffer(durations, dtype=np.int64),
        aggregated=np.frombuffer(aggregated, dtype=np.bool_),
        _event_at=event_at,
        _events_at=events_at,
    )


def decode_python(data: bytes | bytearray | memoryview) -> XSpaceColumns:
    """:func:`decode` with protobuf alone (the fallback, and the reference the tests hold
    the extension to)."""
    space = _parse(xplane_pb2.XSpace, data)
    line_plane: list[int] = []
    line_index: list[int] = []
    event_line: list[int] = []
    ids: list[int] = []
    offsets: list[int] = []
    durations: list[int] = []
    aggregated: list[bool] = []
    events: list[xplane_pb2.XEvent] = []
    for plane_number, plane in enumerate(space.planes):
        for index, line in enumerate(plane.lines):
            line_number = len(line_plane)
            line_plane.append(plane_number)
            line_index.append(index)
            for event in line.events:
                event_line.append(line_number)
                ids.append(event.metadata_id)
                offsets.append(event.offset_ps)
                durations.append(event.duration_ps)
                aggregated.append(event.WhichOneof("data") == "num_occurrences")
                events.append(event)  # stays valid once its line is cleared
            line.ClearField("events")

    def event_at(index: int) -> xplane_pb2.XEvent:
        copy = xplane_pb2.XEvent()
        copy.CopyFrom(events[index])
        return copy

    return XSpaceColumns(
        space=space,
        line_plane=_column(line_plane, np.int32),
        line_index=_column(line_index, np.int32),
        event_line=_column(event_line, np.int32),
        metadata_id=_column(ids, np.int64),
        offset_ps=_column(offsets, np.int64),
        duration_ps=_column(durations, np.int64),
        aggregated=_column(aggregated, np.bool_),
        _event_at=event_at,
    )


def _column(values: list[int] | list[bool], dtype: type[np.generic]) -> np.ndarray:
    """A read-only array, as the extension's columns are."""
    array = np.array(values, dtype=dtype)
    array.flags.writeable = False
    return array


_Message = TypeVar("_Message", xplane_pb2.XSpace, xplane_pb2.XEvent, xplane_pb2.XLine)
#: The key of XLine's ``events`` field (number 4, length-delimited).
_EVENTS_TAG = bytes([4 << 3 | 2])
_SMALL = [bytes([value]) for value in range(0x80)]


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _SMALL[value]
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _parse(kind: type[_Message], data: bytes | bytearray | memoryview) -> _Message:
    """``kind.FromString(data)``; XSpaceDecodeError when protobuf refuses it."""
    message = kind()
    try:
        message.ParseFromString(data)
    except (DecodeError, ValueError, RecursionError) as error:
        raise XSpaceDecodeError(f"not a valid XSpace: protobuf refuses it ({error})") from None
    return message
