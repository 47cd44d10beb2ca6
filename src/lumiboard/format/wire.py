"""Fields read straight off the protobuf wire, for messages our protos leave undeclared.

TensorBoard reads a few fields of TensorFlow messages that lumiboard's trimmed protos do not
declare (``MetaGraphDef.graph_def``, ``RunMetadata.function_graphs``); parsing them would mean
carrying TensorFlow's whole proto tree, so the bytes of a length-delimited field are taken from
the wire format instead (https://protobuf.dev/programming-guides/encoding/).
"""

from __future__ import annotations

from collections.abc import Iterator


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(data: bytes, position: int) -> tuple[int, int]:
    """The base-128 varint at ``position`` and the position after it."""
    value = shift = 0
    while position < len(data) and shift < 70:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
    raise WireError("a varint runs past the end of the message")


def length_delimited_fields(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(field number, bytes) of each length-delimited field of a message, in wire order.

    Other fields are skipped. Occurrences of one message field merge when parsed, and so do
    their concatenated bytes: ``b"".join`` the payloads of a field to read it whole.
    """
    position = 0
    while position < len(data):
        key, position = read_varint(data, position)
        wire_type = key & 7
        if wire_type == 0:
            position = read_varint(data, position)[1]
        elif wire_type in (1, 5):
            position += 8 if wire_type == 1 else 4
        elif wire_type == 2:
            length, start = read_varint(data, position)
            position = start + length
            if position > len(data):
                break
            yield key >> 3, data[start:position]
        else:
            raise WireError(f"unsupported wire type {wire_type}")
    if position != len(data):
        raise WireError("a field runs past the end of the message")


def field_bytes(data: bytes, number: int) -> bytes:
    """Every occurrence of length-delimited field ``number``, concatenated (merged)."""
    return b"".join(payload for found, payload in length_delimited_fields(data) if found == number)
