"""TFRecord framing, the container of every event file.

A record on disk is::

    uint64 length | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)

all little-endian. The CRC is CRC-32C (Castagnoli) masked as TensorFlow does
(``tensorflow/core/lib/hash/crc32c.h``): rotate right by 15 bits and add
``0xA282EAD8``. The CRC itself comes from ``google-crc32c`` (C-accelerated).

A length whose checksum is bad cannot be used to find the next record. TFRecord
has no sync marker, so the next record is found by *resyncing*: the first
later position holding a whole *frame* (a header whose length checksum matches,
followed by data whose checksum matches too). Two 32-bit checksums matching by
chance in damaged bytes is a 1 in 2^64 event, so a flipped length byte costs
the one record it is in, not the rest of the file (TensorBoard stops there).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import google_crc32c
import numpy as np

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
HEADER_SIZE = _HEADER.size  # 12
FOOTER_SIZE = _FOOTER.size  # 4

#: No longer record can hold an ``Event``: protobuf refuses messages of 2 GiB
#: or more, so a longer length is damage even when its checksum matches.
MAX_EVENT_BYTES = 2**31 - 1

#: Positions whose header checksum the pure-Python search tests at once (bounds its memory).
_SEARCH_BLOCK = 1 << 20


def mask_crc(crc: int) -> int:
    """TensorFlow's mask of a CRC-32C."""
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data: bytes | memoryview) -> int:
    """Return TensorFlow's masked CRC-32C of ``data``."""
    return mask_crc(google_crc32c.value(bytes(data)))


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


def read_length(header: bytes | memoryview) -> int | None:
    """The length in a record's 12-byte ``header``, or None when its checksum is bad."""
    length, length_crc = _HEADER.unpack(header[:HEADER_SIZE])
    return int(length) if masked_crc32c(header[:8]) == length_crc else None


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


def read_records(
    stream: BinaryIO, offset: int = 0, max_record: int = MAX_EVENT_BYTES
) -> Iterator[Record | Damage]:
    """Yield the records of a whole (not growing) ``stream`` from ``offset`` on.

    Stops quietly at a clean end of file or at a truncated record. A record
    whose payload CRC is bad yields a :class:`Damage` and the reading goes on
    after it. A record whose length CRC is bad, or whose length is over
    ``max_record`` (never read: memory stays bounded), yields a
    :class:`Damage`; the reading goes on at the end of an oversized record
    whose length checksum matches, else at the next whole frame (see the
    module docstring), if any.
    """
    size = stream.seek(0, 2)

    def read(start: int, end: int) -> bytes:
        stream.seek(start)
        return stream.read(end - start)

    while offset + HEADER_SIZE <= size:
        header = read(offset, offset + HEADER_SIZE)
        length = read_length(header)
        end = offset + HEADER_SIZE + (length or 0) + FOOTER_SIZE
        if length is not None and length <= max_record:
            if end > size:
                return
            body = read(offset + HEADER_SIZE, end)
            data = body[:length]
            if masked_crc32c(data) == _FOOTER.unpack(body[length:])[0]:
                yield Record(offset, data)
            else:
                yield Damage(offset, "bad data checksum")
            offset = end
            continue
        yield Damage(offset, "bad length checksum" if length is None else "record too large")
        if length is not None and end <= size:
            offset = end
            continue
        found, _ = search_frame(read, offset + 1, size, max_record=max_record)
        if found < 0:
            return
        offset = found


# ---- resyncing ---------------------------------------------------------------


def _crc_tables() -> list[np.ndarray]:
    """Tables giving, per byte of an 8-byte block, its share of the block's CRC-32C.

    CRC-32C is linear: the CRC of 8 bytes (from the initial value) is the
    complement of the XOR of one table lookup per byte (slicing-by-8, with the
    initial value's bytes folded into the first four tables).
    """
    base = np.zeros((8, 256), dtype=np.uint32)
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        base[0, byte] = crc
    for index in range(1, 8):
        previous = base[index - 1]
        base[index] = (previous >> 8) ^ base[0][previous & 0xFF]
    indexes = np.arange(256)
    return [base[7 - k][indexes ^ (0xFF if k < 4 else 0)] for k in range(8)]


_TABLES: list[np.ndarray] = []


def _header_matches(data: np.ndarray, start: int, count: int) -> np.ndarray:
    """Whether the header at each of positions ``start .. start+count`` has a good length CRC."""
    if not _TABLES:
        _TABLES.extend(_crc_tables())
    acc = np.zeros(count, dtype=np.uint32)
    for k, table in enumerate(_TABLES):
        acc ^= table[data[start + k : start + k + count]]
    crc = ~acc
    masked = ((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(_MASK_DELTA)
    stored = np.ndarray((count,), "<u4", data, start + 8, (1,))
    return np.asarray(masked == stored)


def find_frame(buffer: bytes | memoryview, start: int, max_record: int) -> tuple[int, int]:
    """Where the next frame of ``buffer`` starts, at or after ``start``.

    Returns ``(found, pending)``: ``found`` is the first position holding a
    whole frame whose length is at most ``max_record`` and whose two checksums
    match (-1 when none); ``pending`` is the first position, if any before
    ``found``, whose header matches but whose data runs past the buffer (a
    frame that more bytes may confirm), else -1. Pure Python (numpy); the
    reader uses the native twin in ``lumiboard.reader.scan``.
    """
    data = np.frombuffer(buffer, dtype=np.uint8)
    n = len(data)
    pending = -1
    for block in range(max(start, 0), n - HEADER_SIZE + 1, _SEARCH_BLOCK):
        count = min(_SEARCH_BLOCK, n - HEADER_SIZE + 1 - block)
        for position in (block + np.flatnonzero(_header_matches(data, block, count))).tolist():
            length = int.from_bytes(data[position : position + 8].tobytes(), "little")
            if length > max_record:
                continue
            end = position + HEADER_SIZE + length + FOOTER_SIZE
            if end > n:
                pending = position if pending < 0 else pending
                continue
            payload = data[position + HEADER_SIZE : end - FOOTER_SIZE].tobytes()
            if masked_crc32c(payload) == int.from_bytes(data[end - FOOTER_SIZE : end], "little"):
                return position, pending
    return -1, pending


#: ``read(start, end)``: bytes ``[start, end)`` of a file (fewer at its end).
Reader = Callable[[int, int], bytes | memoryview]
#: :func:`find_frame`, or a faster twin.
Finder = Callable[[bytes | memoryview, int, int], tuple[int, int]]


def search_frame(
    read: Reader,
    start: int,
    size: int,
    *,
    max_record: int,
    window: int = 32 * 1024 * 1024,
    find: Finder = find_frame,
) -> tuple[int, int]:
    """The first frame in bytes ``[start, size)`` of a file, read a window at a time.

    Returns ``(found, resume)``: ``found`` is the frame's offset, or -1; then
    ``resume`` is where a later search, once the file has grown, must start
    (every position before it was ruled out). A frame whose data runs past
    one window is confirmed by reading its data in windows (its CRC computed
    piecewise), so memory stays within about one window.
    """
    position = start
    while position + HEADER_SIZE <= size:
        chunk: bytes | memoryview = b""  # the last window is freed before the next is read
        chunk = read(position, min(size, position + window))
        if len(chunk) < HEADER_SIZE:
            break  # the file is shorter than its listed size: resume there later
        found, pending = find(chunk, 0, max_record)
        if found >= 0:
            return position + found, position + found
        if pending < 0:
            position += len(chunk) - HEADER_SIZE + 1
            continue
        candidate = position + pending
        length = int.from_bytes(bytes(chunk[pending : pending + 8]), "little")
        end = candidate + HEADER_SIZE + length + FOOTER_SIZE
        if end > size:
            return -1, candidate  # perhaps a record still being written
        if _data_matches(read, candidate + HEADER_SIZE, length, window):
            return candidate, candidate
        position = candidate + 1
    return -1, max(start, position)


def _data_matches(read: Reader, start: int, length: int, window: int) -> bool:
    """Whether the ``length`` bytes at ``start`` match the data CRC after them."""
    crc = 0
    for offset in range(start, start + length, window):
        end = min(start + length, offset + window)
        piece = read(offset, end)
        if len(piece) != end - offset:
            return False
        crc = google_crc32c.extend(crc, bytes(piece))
    footer = bytes(read(start + length, start + length + FOOTER_SIZE))
    return len(footer) == FOOTER_SIZE and mask_crc(crc) == _FOOTER.unpack(footer)[0]
