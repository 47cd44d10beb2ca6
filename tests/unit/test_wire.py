"""Reading fields off the protobuf wire (format/wire.py), checked against protobuf's encoder."""

from __future__ import annotations

import pytest

from lumiboard.format.proto import event_pb2, summary_pb2
from lumiboard.format.wire import WireError, field_bytes, length_delimited_fields, read_varint


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31, 2**63 - 1, 2**64 - 1])
def test_varints_as_protobuf_writes_them(value: int) -> None:
    encoded = b"\x10" + _varint(value)  # Event.step: field 2, varint
    if 0 < value < 2**63:  # protobuf leaves a 0 out, and step is an int64
        assert event_pb2.Event(step=value).SerializeToString() == encoded
    number_and_type, position = read_varint(encoded, 0)
    assert number_and_type == (2 << 3)
    assert read_varint(encoded, position) == (value, len(encoded))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def test_length_delimited_fields_skip_the_others() -> None:
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="a", simple_value=1)])
    event = event_pb2.Event(wall_time=1.5, step=7, summary=summary)  # fixed64, varint, bytes
    fields = list(length_delimited_fields(event.SerializeToString()))
    assert [number for number, _ in fields] == [5]
    assert summary_pb2.Summary.FromString(fields[0][1]) == summary
    value = summary_pb2.Summary.Value(tag="loss", simple_value=2.0)  # string, fixed32
    assert list(length_delimited_fields(value.SerializeToString())) == [(1, b"loss")]


def test_repeated_occurrences_merge() -> None:
    first = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="a")])
    second = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="b")])
    data = (
        event_pb2.Event(summary=first).SerializeToString()
        + event_pb2.Event(summary=second).SerializeToString()
    )
    merged = summary_pb2.Summary.FromString(field_bytes(data, 5))
    assert [value.tag for value in merged.value] == ["a", "b"]
    assert field_bytes(data, 9) == b""


@pytest.mark.parametrize(
    "data",
    [b"\x2a\x05abc", b"\x80", b"\x2a", b"\x0f", b"\x09\x00\x00"],
    ids=["field past the end", "unfinished key", "no length", "wire type 7", "short fixed64"],
)
def test_malformed_messages_raise(data: bytes) -> None:
    with pytest.raises(WireError):
        list(length_delimited_fields(data))
