"""Scanning event-file bytes: scalar points into columns, the rest by reference.

:func:`scan` walks whole TFRecord records in ``buffer`` (bytes of an event
file starting at file offset ``base_offset``) and returns a :class:`Scan`:

- scalar points, as columns (``tag_ids`` index ``tags``), for every event made
  only of scalar values of tags that are known scalars (``tag_kinds[tag] ==
  SCALAR``) or metadata-free ``simple_value``s of tags not yet known;
- ``others``: (offset, length) of every other event payload, for the caller
  to decode with protobuf (images, histograms, graphs, a tag's first value
  with metadata, file_version and session_log events, ...);
- ``damages``: records skipped for a bad data checksum;
- ``consumed``: bytes of ``buffer`` covered by whole records. The scan stops
  at a record that is not whole in ``buffer`` (a growing file, or a record
  longer than the buffer) and at a header whose length checksum is bad (the
  next record's place is unknown): ``tail.follow`` decides what comes next
  (wait, read the record whole, skip it by the size policy, or resync);
- ``stopped``: the scan stopped right after a ``SessionLog`` event so the
  caller can apply TensorBoard's purge before reading on.

The work is done by a C extension (``_native``, built by the package build)
when it is present, else by the pure-Python :func:`scan_python`, which has the
same contract and is tested against it. :func:`find_frame` (the resync's
search) is dispatched the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from lumiboard.format import tfrecord
from lumiboard.format.proto import event_pb2
from lumiboard.format.tfrecord import FOOTER_SIZE, HEADER_SIZE, Record

logger = logging.getLogger(__name__)

SCALAR = 1
OTHER = 2

try:
    from lumiboard.reader import _native  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the build
    _native = None
    logger.info("lumiboard's native scanner is not built: using the pure-Python scanner")

NATIVE = _native is not None


@dataclass(frozen=True)
class Scan:
    """The result of one :func:`scan` call (see the module docstring)."""

    consumed: int
    tags: list[str]
    tag_ids: np.ndarray  # int32
    steps: np.ndarray  # int64
    wall_times: np.ndarray  # float64
    values: np.ndarray  # float64
    others: np.ndarray  # int64 [n, 2]: absolute payload offset, length
    damages: list[tuple[int, str]]
    stopped: bool


def scan(
    buffer: bytes | memoryview, base_offset: int, tag_kinds: dict[str, int], verify_crc: bool = True
) -> Scan:
    """Scan ``buffer``; native when built, else :func:`scan_python`."""
    if _native is None:
        return scan_python(buffer, base_offset, tag_kinds, verify_crc)
    consumed, tags, ids, steps, walls, values, others, damages, stopped = _native.scan(
        buffer, base_offset, tag_kinds, verify_crc
    )
    return Scan(
        consumed=consumed,
        tags=tags,
        tag_ids=np.frombuffer(ids, dtype=np.int32),
        steps=np.frombuffer(steps, dtype=np.int64),
        wall_times=np.frombuffer(walls, dtype=np.float64),
        values=np.frombuffer(values, dtype=np.float64),
        others=np.frombuffer(others, dtype=np.int64).reshape(-1, 2),
        damages=[(int(offset), str(reason)) for offset, reason in damages],
        stopped=bool(stopped),
    )


def _scalar_of(value: object) -> float | None:
    """The float of a plain scalar value, or None (same rules as the C code)."""
    kind = value.WhichOneof("value")  # type: ignore[attr-defined]
    if kind == "simple_value":
        return float(value.simple_value)  # type: ignore[attr-defined]
    if kind != "tensor":
        return None
    tensor = value.tensor  # type: ignore[attr-defined]
    if tensor.dtype not in (1, 2):  # DT_FLOAT, DT_DOUBLE
        return None
    # Every dim 1: a product of dims would take [-1, -1] for a scalar.
    if any(dim.size != 1 for dim in tensor.tensor_shape.dim):
        return None
    width = 4 if tensor.dtype == 1 else 8
    if tensor.tensor_content:
        if len(tensor.tensor_content) != width:
            return None
        return float(np.frombuffer(tensor.tensor_content, "<f4" if width == 4 else "<f8")[0])
    repeated = tensor.float_val if tensor.dtype == 1 else tensor.double_val
    return float(repeated[-1]) if len(repeated) == 1 else None


def _scalar_points(
    event: event_pb2.Event, tag_kinds: dict[str, int]
) -> list[tuple[str, float]] | None:
    if event.WhichOneof("what") != "summary" or not event.summary.value:
        return None
    points = []
    for value in event.summary.value:
        number = _scalar_of(value)
        if number is None or not value.tag:
            return None
        kind = tag_kinds.get(value.tag, 0)
        plain = value.WhichOneof("value") == "simple_value" and not value.HasField("metadata")
        if kind != SCALAR and not (kind == 0 and plain):
            return None
        points.append((value.tag, number))
    return points


def find_frame(buffer: bytes | memoryview, start: int, max_record: int) -> tuple[int, int]:
    """:func:`lumiboard.format.tfrecord.find_frame`, native when built."""
    if _native is None:
        return tfrecord.find_frame(buffer, start, max_record)
    found, pending = _native.find_frame(buffer, start, max_record)
    return int(found), int(pending)


def scan_python(
    buffer: bytes | memoryview, base_offset: int, tag_kinds: dict[str, int], verify_crc: bool = True
) -> Scan:
    """The pure-Python scanner (same contract as the native one).

    ``verify_crc`` is accepted for parity; checksums are always verified here.
    """
    del verify_crc
    tags: dict[str, int] = {}
    ids: list[int] = []
    steps: list[int] = []
    walls: list[float] = []
    values: list[float] = []
    others: list[tuple[int, int]] = []
    damages: list[tuple[int, str]] = []
    data = bytes(buffer)
    position, stopped = 0, False
    # The same steps as the C loop in _scan.c's scan().
    while position + HEADER_SIZE <= len(data):
        length = tfrecord.read_length(data[position : position + HEADER_SIZE])
        if length is None:
            break  # a bad length checksum: tail.follow resyncs
        end = position + HEADER_SIZE + length + FOOTER_SIZE
        if end > len(data):
            break  # not whole here: tail.follow decides
        payload = data[position + HEADER_SIZE : end - FOOTER_SIZE]
        if tfrecord.masked_crc32c(payload) != int.from_bytes(
            data[end - FOOTER_SIZE : end], "little"
        ):
            damages.append((base_offset + position, "bad data checksum"))
            position = end
            continue
        record = Record(position, payload)
        position = end
        stopped = _take(record, base_offset, tag_kinds, tags, (ids, steps, walls, values), others)
        if stopped:
            break
    return Scan(
        consumed=position,
        tags=list(tags),
        tag_ids=np.asarray(ids, dtype=np.int32),
        steps=np.asarray(steps, dtype=np.int64),
        wall_times=np.asarray(walls, dtype=np.float64),
        values=np.asarray(values, dtype=np.float64),
        others=np.asarray(others, dtype=np.int64).reshape(-1, 2),
        damages=damages,
        stopped=stopped,
    )


def _take(
    record: Record,
    base_offset: int,
    tag_kinds: dict[str, int],
    tags: dict[str, int],
    columns: tuple[list[int], list[int], list[float], list[float]],
    others: list[tuple[int, int]],
) -> bool:
    """Route one record; True when it was a SessionLog (the scan stops)."""
    place = (base_offset + record.offset + 12, len(record.data))
    try:
        event = event_pb2.Event.FromString(record.data)
    except Exception:  # undecodable: the caller decodes it again and counts it
        others.append(place)
        return False
    points = _scalar_points(event, tag_kinds)
    if points is None:
        others.append(place)
        return bool(event.WhichOneof("what") == "session_log")
    ids, steps, walls, values = columns
    for tag, number in points:
        ids.append(tags.setdefault(tag, len(tags)))
        steps.append(event.step)
        walls.append(event.wall_time)
        values.append(number)
    return False
