"""TFRecord framing, the container of every event file.

A record on disk is::

    uint64 length | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)

all little-endian. The CRC is CRC-32C (Castagnoli) masked as TensorFlow does
(``tensorflow/core/lib/hash/crc32c.h``): rotate right by 15 bits and add
``0xA282EAD8``. The CRC itself comes from ``google-crc32c`` (C-accelerated).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import google_crc32c

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
HEADER_SIZE = _HEADER.size  # 12
FOOTER_SIZE = _FOOTER.size  # 4


def masked_crc32c(data: bytes) -> int:
    """Return TensorFlow's masked CRC-32C of ``data``."""
    crc: int = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def encode_record(data: bytes) -> bytes:
    """Frame one payload as a TFRecord."""
    length = _HEADER.pack(len(data), 0)[:8]
    return b"".join(
        (
            length,
            _FOOTER.pack(masked_crc32c(length)),
            data,
            _FOOTER.pack(masked_crc32c(data)),
        )
    )


@dataclass(frozen=True)
class Record:
    """One framed record: its payload and where it starts in the file."""

    offset: int
    data: bytes


@dataclass(frozen=True)
class Damage:
    """A record that could not be read; ``reason`` says why."""

    offset: int
    reason: str


def read_records(stream: BinaryIO, offset: int = 0) -> Iterator[Record | Damage]:
    """Yield the records of ``stream`` from ``offset`` on.

    Stops quietly at a clean end of file or at a truncated record (a growing
    file: the caller retries from the last good offset later). A record whose
    length CRC is bad yields a :class:`Damage` and ends the scan, because the
    length cannot be trusted to find the next record. A record whose payload
    CRC is bad yields a :class:`Damage` and the scan goes on after it.
    """
    stream.seek(offset)
    while True:
        header = stream.read(HEADER_SIZE)
        if len(header) < HEADER_SIZE:
            return
        length, length_crc = _HEADER.unpack(header)
        if masked_crc32c(header[:8]) != length_crc:
            yield Damage(offset, "bad length checksum")
            return
        body = stream.read(length + FOOTER_SIZE)
        if len(body) < length + FOOTER_SIZE:
            return
        data = body[:length]
        (data_crc,) = _FOOTER.unpack(body[length:])
        if masked_crc32c(data) != data_crc:
            yield Damage(offset, "bad data checksum")
        else:
            yield Record(offset, data)
        offset += HEADER_SIZE + length + FOOTER_SIZE
