"""Exact compact encodings of scalar points: about 8 bytes a point, decoded bit for bit.

A run of points sorted by step is encoded as one *block*: a read-only,
8-byte-aligned ``uint8`` buffer holding a fixed header and its sections, so
that a block is one object in memory and the same bytes in a cache file
(where a block read back is a view of the file's buffer, never re-encoded).

- **value**: float32 when every value of the block survives the round trip
  through float32 bit for bit (TensorBoard's ``simple_value`` *is* a float32;
  NaN payloads and -0.0 included), else float64 as given;
- **step** and **wall_time**: their 64-bit patterns (wall_time's float64 bits
  seen as integers) as deltas of order 1 or 2, whichever is smaller: steps
  with a fixed stride have second-order deltas of zero (zero bytes a point),
  and consecutive wall times of one series share their exponent, so their
  bit-pattern deltas are small integers (a 0.1 s gap near 1.7e9 is ~4e5
  units in the last place). The deltas are stored in the narrowest of 0, 1,
  2, 4 or 8 bytes that costs least, counting those that do not fit as
  exceptions (position and full delta, 16 bytes each). The arithmetic wraps
  modulo 2**64, so any int64 or float64 (NaN, infinities, a clock going
  backwards) decodes exactly.

:func:`encode` makes blocks of columns, :func:`decode_into` writes a block's
points back, and :func:`check` validates a block read from a file before any
of it is decoded.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

#: n, value size, (order, width) of step and of wall_time; then per column
#: exceptions, first value, first delta; then the last step and wall_time bits.
_HEADER = struct.Struct("<QBBBBB3xQQQQQQQQ")
HEADER_BYTES = _HEADER.size  # 80
#: Integer widths a delta may be stored in (0: every delta is zero but the exceptions).
_INT_DTYPES: dict[int, np.dtype[Any]] = {
    1: np.dtype(np.int8),
    2: np.dtype(np.int16),
    4: np.dtype(np.int32),
    8: np.dtype(np.int64),
}
_WIDTHS: dict[int, np.dtype[Any] | None] = {0: None, **_INT_DTYPES}
#: Bytes an exception costs: its position and its full delta (both int64).
_EXCEPTION_BYTES = 16
#: Points a block holds at most: a merge or a purge decodes at most this many.
MAX_BLOCK = 1 << 20


class BlockError(ValueError):
    """A block whose layout is not one :func:`encode` writes."""


@dataclass(frozen=True)
class _Ints:
    """One integer column as deltas: order, width, first value, first delta, deltas, exceptions."""

    order: int
    width: int
    first: int
    first_delta: int
    deltas: np.ndarray
    positions: np.ndarray
    exceptions: np.ndarray


class Info(NamedTuple):
    """A block's header."""

    points: int
    value_size: int
    step_order: int
    step_width: int
    wall_order: int
    wall_width: int
    step_exceptions: int
    step_first: int
    step_first_delta: int
    wall_exceptions: int
    wall_first: int
    wall_first_delta: int
    last_step_bits: int
    last_wall_bits: int

    @property
    def first_step(self) -> int:
        return _signed(self.step_first)

    @property
    def last_step(self) -> int:
        return _signed(self.last_step_bits)

    @property
    def last_wall(self) -> float:
        return float(np.uint64(self.last_wall_bits).view(np.float64))


def _signed(bits: int) -> int:
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def info(block: np.ndarray) -> Info:
    """The header of ``block`` (raises BlockError when it is too short for one)."""
    if len(block) < HEADER_BYTES:
        raise BlockError("shorter than a block header")
    return Info(*_HEADER.unpack_from(block.data))


# ---- encoding --------------------------------------------------------------------


#: The (lowest, highest) delta each width holds.
_LIMITS: dict[int, tuple[int, int]] = {
    width: (0, 0) if dtype is None else (int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
    for width, dtype in _WIDTHS.items()
}
#: The largest magnitude int8, int16 and int32 hold, magnitude being ``x ^ (x >> 63)``
#: (``x`` for ``x >= 0``, ``-x - 1`` below: int8's -128 is 127).
_MAGNITUDES = np.array([_LIMITS[width][1] for width in (1, 2, 4)], np.int64)


def _misfits(signed: np.ndarray) -> dict[int, int]:
    """How many of ``signed`` (int64) each width cannot hold: five array passes for
    every width at once (a series of a hundred points pays for passes, not points)."""
    size = len(signed)
    if not size:
        return dict.fromkeys(_WIDTHS, 0)
    classes = np.bincount(
        np.searchsorted(_MAGNITUDES, signed ^ (signed >> 63)), minlength=4
    ).tolist()
    return {
        0: int(np.count_nonzero(signed)),
        1: size - classes[0],
        2: classes[2] + classes[3],
        4: classes[3],
        8: 0,
    }


def _deltas(bits: np.ndarray) -> _Ints:
    """The cheapest delta encoding of ``bits`` (uint64, at least one)."""
    first = int(bits[0])
    step = bits[1:] - bits[:-1]  # wraps modulo 2**64: exact for any pattern
    best: tuple[int, int, int, np.ndarray, int] | None = None  # cost, order, width, ...
    for order in (1, 2):
        if order == 1:
            residual, first_delta = step, 0
        else:
            residual = step[1:] - step[:-1]
            first_delta = int(step[0]) if len(step) else 0
        signed = residual.view(np.int64)
        size = len(signed)
        misfits: dict[int, int] | None = None
        for width in _WIDTHS:
            if best is not None and size * width >= best[0]:
                continue  # cannot beat what is found, exceptions or not
            if misfits is None:
                misfits = _misfits(signed)
            cost = size * width + _EXCEPTION_BYTES * misfits[width]
            if best is None or cost < best[0]:
                best = (cost, order, width, signed, first_delta)
    assert best is not None
    _, order, width, signed, first_delta = best
    if width == 8:
        empty = np.empty(0, np.int64)
        return _Ints(order, 8, first, first_delta, signed, empty, empty)
    kind = _WIDTHS[width]
    lo, hi = _LIMITS[width]
    positions = np.flatnonzero((signed < lo) | (signed > hi)).astype(np.int64)
    narrow = np.empty(0, np.int8) if kind is None else signed.astype(kind)
    if len(positions) and kind is not None:
        narrow[positions] = 0  # astype wrapped them; the exception overrides
    return _Ints(order, width, first, first_delta, narrow, positions, signed[positions])


def _padded(size: int) -> int:
    return -(-size // 8) * 8


def _sections(count: int, value_size: int, ints: list[tuple[int, int, int]]) -> list[int]:
    """Byte sizes of a block's sections (unpadded): per column its deltas,
    exception positions and exception values; then the values."""
    sizes = []
    for order, width, exceptions in ints:
        sizes += [max(count - order, 0) * width, 8 * exceptions, 8 * exceptions]
    return [*sizes, count * value_size]


def exact_float32(value: np.ndarray) -> np.ndarray | None:
    """``value`` as float32 if that keeps every bit of it (NaN payloads, -0.0), else None."""
    if value.dtype == np.float32:
        return value
    with np.errstate(over="ignore", invalid="ignore"):
        narrow = value.astype(np.float32)
    back = narrow.astype(np.float64)
    if np.array_equal(back.view(np.uint64), value.view(np.uint64)):
        return narrow
    return None


def _encode_one(step: np.ndarray, wall_time: np.ndarray, value: np.ndarray) -> np.ndarray:
    count = len(step)
    narrow = exact_float32(value)
    values = narrow if narrow is not None else value
    columns = [_deltas(step.view(np.uint64)), _deltas(wall_time.view(np.uint64))]
    sizes = _sections(
        count, values.itemsize, [(c.order, c.width, len(c.positions)) for c in columns]
    )
    block = np.zeros(HEADER_BYTES + sum(map(_padded, sizes)), np.uint8)
    s, w = columns
    _HEADER.pack_into(
        block.data,
        0,
        count,
        values.itemsize,
        s.order,
        s.width,
        w.order,
        w.width,
        len(s.positions),
        s.first,
        s.first_delta,
        len(w.positions),
        w.first,
        w.first_delta,
        int(step[-1:].view(np.uint64)[0]),
        int(wall_time[-1:].view(np.uint64)[0]),
    )
    parts = [
        part for column in columns for part in (column.deltas, column.positions, column.exceptions)
    ]
    at = HEADER_BYTES
    for part, size in zip([*parts, values], sizes, strict=True):
        block[at : at + size] = np.ascontiguousarray(part).view(np.uint8)
        at += _padded(size)
    block.setflags(write=False)
    return block


def encode(step: np.ndarray, wall_time: np.ndarray, value: np.ndarray) -> list[np.ndarray]:
    """Blocks of at most MAX_BLOCK points holding the columns (sorted by step) exactly.

    ``step`` int64, ``wall_time`` float64, ``value`` float32 or float64, of equal length.
    """
    step = np.ascontiguousarray(step, dtype=np.int64)
    wall_time = np.ascontiguousarray(wall_time, dtype=np.float64)
    if value.dtype != np.float32:
        value = np.ascontiguousarray(value, dtype=np.float64)
    value = np.ascontiguousarray(value)
    return [
        _encode_one(
            step[start : start + MAX_BLOCK],
            wall_time[start : start + MAX_BLOCK],
            value[start : start + MAX_BLOCK],
        )
        for start in range(0, len(step), MAX_BLOCK)
    ]


# ---- decoding --------------------------------------------------------------------


def _layout(block: np.ndarray, head: Info) -> Iterator[np.ndarray]:
    """The block's sections as views, in order (see :func:`_sections`)."""
    sizes = _sections(
        head.points,
        head.value_size,
        [
            (head.step_order, head.step_width, head.step_exceptions),
            (head.wall_order, head.wall_width, head.wall_exceptions),
        ],
    )
    if HEADER_BYTES + sum(map(_padded, sizes)) != len(block):
        raise BlockError("a block's length and its header differ")
    at = HEADER_BYTES
    for size in sizes:
        yield block[at : at + size]
        at += _padded(size)


def _restore(
    out: np.ndarray,
    order: int,
    width: int,
    first: int,
    first_delta: int,
    deltas: np.ndarray,
    positions: np.ndarray,
    exceptions: np.ndarray,
) -> None:
    """Write the uint64 patterns of one column into ``out`` (its length: the block's).

    In place: the deltas are written into ``out`` after the first value (and
    first delta), then summed where they lie, so no temporary is allocated.
    """
    count = len(out)
    if count == 1:
        out[0] = first
        return
    if width == 0 and not len(positions):  # a constant: a fixed stride, a fixed value
        if order == 1:
            out.fill(first)
        else:
            np.multiply(np.arange(count, dtype=np.uint64), np.uint64(first_delta), out=out)
            out += np.uint64(first)
        return
    signed = out.view(np.int64)
    if width == 0:
        signed[order:] = 0
    else:
        signed[order:] = deltas.view(_INT_DTYPES[width])
    if len(positions):
        signed[order + positions.view(np.int64)] = exceptions.view(np.int64)
    out[0] = first
    if order == 2:
        out[1] = first_delta
        np.cumsum(out[1:], out=out[1:])
    np.cumsum(out, out=out)


def decode_into(
    block: np.ndarray, step: np.ndarray, wall_time: np.ndarray, value: np.ndarray
) -> None:
    """Write the block's points into the (equally long) int64, float64 and float arrays."""
    head = info(block)
    sections = list(_layout(block, head))
    _restore(
        step.view(np.uint64),
        head.step_order,
        head.step_width,
        head.step_first,
        head.step_first_delta,
        *sections[0:3],
    )
    _restore(
        wall_time.view(np.uint64),
        head.wall_order,
        head.wall_width,
        head.wall_first,
        head.wall_first_delta,
        *sections[3:6],
    )
    value[:] = sections[6].view(np.float32 if head.value_size == 4 else np.float64)


def last_value(block: np.ndarray) -> float:
    """The value of the block's last point, read without decoding the rest."""
    head = info(block)
    values = list(_layout(block, head))[6]
    return float(
        values[-head.value_size :].view(np.float32 if head.value_size == 4 else np.float64)[0]
    )


def decode(blocks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points of ``blocks``, in order, as new (step int64, wall_time float64, value)
    arrays; value is float32 when every block's is, else float64."""
    heads = [info(block) for block in blocks]
    count = sum(head.points for head in heads)
    narrow = all(head.value_size == 4 for head in heads)
    step = np.empty(count, np.int64)
    wall_time = np.empty(count, np.float64)
    value = np.empty(count, np.float32 if narrow and blocks else np.float64)
    at = 0
    for block, head in zip(blocks, heads, strict=True):
        end = at + head.points
        decode_into(block, step[at:end], wall_time[at:end], value[at:end])
        at = end
    return step, wall_time, value


# ---- checking a block read from a file ----------------------------------------------


def check(block: np.ndarray) -> Info:
    """Raise BlockError unless decoding ``block`` can only give points (never an
    IndexError, never reading out of it); the checksum is the caller's."""
    if block.dtype != np.uint8 or block.ndim != 1:
        raise BlockError("a block is a flat byte buffer")
    head = info(block)
    count = head.points
    if not 1 <= count <= MAX_BLOCK or head.value_size not in (4, 8):
        raise BlockError(f"bad block size {count} or value size {head.value_size}")
    columns = (
        (head.step_order, head.step_width, head.step_exceptions),
        (head.wall_order, head.wall_width, head.wall_exceptions),
    )
    for order, width, exceptions in columns:
        if (
            order not in (1, 2)
            or width not in _WIDTHS
            or exceptions > max(count - order, 0)
            or (exceptions and width == 8)
        ):
            raise BlockError(f"bad delta order {order}, width {width} or exceptions {exceptions}")
    sizes = _sections(count, head.value_size, list(columns))
    if HEADER_BYTES + sum(map(_padded, sizes)) != len(block):
        raise BlockError("a block's length and its header differ")
    if head.step_exceptions or head.wall_exceptions:
        sections = list(_layout(block, head))
        for (order, _, _), positions in zip(columns, (sections[1], sections[4]), strict=True):
            where = positions.view(np.int64)
            if len(where) and (int(where.min()) < 0 or int(where.max()) >= count - order):
                raise BlockError("an exception's position out of range")
    return head
