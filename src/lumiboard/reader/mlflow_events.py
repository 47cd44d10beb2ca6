"""MLflow metric points as event-file records, so the reader reads them like any run.

A point becomes one ``Event`` (``wall_time`` = the MLflow timestamp in seconds, ``step``)
holding one ``Summary.Value``: a rank-0 float64 tensor (MLflow values are doubles, kept
exactly) with ``scalars`` metadata on a tag's first point only (the reader keeps a tag's
first metadata). The file starts with ``file_version: "brain.Event:2"``, so a step going
back (MLflow allows any order) never purges points, as TensorBoard's reader also decides.

Points are encoded by hand, field by field (the protobuf wire format of ``Event``,
``Summary``, ``Summary.Value`` and ``TensorProto``; a test parses the bytes back with the
generated classes): a mirror writes up to millions of them, and building a protobuf
message per point costs several times more.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from lumiboard.format.proto import event_pb2
from lumiboard.format.tfrecord import encode_record
from lumiboard.plugins.scalars.summary import tensor_scalar_value

_DOUBLE = struct.Struct("<d")
# TensorProto: dtype (1) = DT_DOUBLE (2), tensor_shape (2) = {} (rank 0), double_val (6)
# packed, 8 bytes.
_TENSOR_HEAD = b"\x08\x02\x12\x00\x32\x08"
_TENSOR_LENGTH = len(_TENSOR_HEAD) + 8


def _varint(number: int) -> bytes:
    number &= (1 << 64) - 1  # int64 two's complement, as protobuf encodes a negative step
    out = bytearray()
    while number >= 0x80:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def file_version_record(wall_time: float) -> bytes:
    """The first record of a mirrored run's file (its wall time: the run's start)."""
    event = event_pb2.Event(wall_time=wall_time, file_version="brain.Event:2")
    return encode_record(event.SerializeToString())


class ScalarEncoder:
    """Records of one tag's points."""

    def __init__(self, tag: str) -> None:
        name = _field(1, tag.encode("utf-8"))  # Value.tag
        metadata = tensor_scalar_value(tag, 0.0, double_precision=True).metadata
        self._first = name + _field(9, metadata.SerializeToString())  # Value.metadata
        self._rest = name
        self._tensor = _varint(8 << 3 | 2) + _varint(_TENSOR_LENGTH) + _TENSOR_HEAD

    def records(
        self, points: Iterable[tuple[float, int, float]], with_metadata: bool
    ) -> list[bytes]:
        """One framed record per ``(wall_time, step, value)``; the first carries the
        tag's metadata when ``with_metadata``."""
        out = []
        head = self._first if with_metadata else self._rest
        for wall_time, step, value in points:
            summary_value = head + self._tensor + _DOUBLE.pack(value)
            summary = _field(1, summary_value)  # Summary.value
            event = (
                b"\x09" + _DOUBLE.pack(wall_time)  # Event.wall_time (1, fixed64)
                + b"\x10" + _varint(step)  # Event.step (2, varint)
                + _field(5, summary)  # Event.summary
            )  # fmt: skip
            out.append(encode_record(event))
            head = self._rest
        return out
