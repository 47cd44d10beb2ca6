"""Exact compact encodings of scalar points: about 8 bytes a point, decoded bit for bit.

A run of points sorted by step is encoded as one *block*: a read-only,
8-byte-aligned ``uint8`` buffer holding a fixed header and its sections, so
that a block is one object in memory and the same bytes in a cache file
(where a block read back is a view of the file's buffer, never re-encoded).

- **value**: float32 when every value of the block survives the round trip
  through float32 bit for bit (TensorBoard's ``simple_value`` *is* a float32;
  NaN payloads and -0.0 included), else float64 as given; stored as they
  are, or, when that is smaller (a learning rate held for thousands of
  steps, an epoch counter), their bit patterns as deltas like steps;
- **step** and **wall_time**: their 64-bit patterns (wall_time's float64 bits
  seen as integers) as first differences, second differences, or first
  differences minus their median, whichever is smallest: steps with a fixed
  stride have second differences of zero (zero bytes a point), and
  consecutive wall times of one series share their exponent, so their
  bit-pattern differences are small integers (a 0.1 s gap near 1.7e9 is ~4e5
  units in the last place; a few ms of jitter around a fixed period, ~1e4).
  The deltas are stored in the narrowest of 0, 1, 2, 4 or 8 bytes that
  costs least, counting those that do not fit as exceptions (position and
  full delta, 12 bytes each). The arithmetic wraps modulo 2**64, so any
  int64 or float64 (NaN, infinities, a clock going backwards) decodes exactly.

The choice is made in a few array passes a column, on the start-up path:
each order's narrowest width holding every delta comes from its least and
greatest delta (a fixed stride, from one comparison), and what exceptions
would save at a narrower width is guessed on a strided sample, then counted
exactly for the one width the guess favours (within 0.3% of trying every
order and width exactly, on series with gaps, pauses and jitter).

:func:`encode` makes blocks of columns, :func:`decode_into` writes a block's
points back, and :func:`check` validates a block read from a file before any
of it is decoded.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

import numpy as np

#: points, value size, (order, width) of step, wall_time and value; then per
#: column exceptions, first value, first delta; then the last point's bits.
_HEADER = struct.Struct("<QBBBBBBBxQQQQQQQQQQQQ")
HEADER_BYTES = _HEADER.size  # 112
#: The columns of a block, in the order of the header and of the sections.
_COLUMNS = ("step", "wall", "value")
#: Integer widths a delta may be stored in (0: every delta is zero but the exceptions).
_INT_DTYPES: dict[int, np.dtype[Any]] = {
    1: np.dtype(np.int8),
    2: np.dtype(np.int16),
    4: np.dtype(np.int32),
    8: np.dtype(np.int64),
}
_WIDTHS: dict[int, np.dtype[Any] | None] = {0: None, **_INT_DTYPES}
#: Values before the first delta, per order: 0 the values as they are, 1 first
#: differences, 2 second differences (after the first difference), 3 first
#: differences minus a base (the median of a sample of this many).
_LAG = {0: 0, 1: 1, 2: 2, 3: 1}
_BASE_SAMPLE = 1024
#: Bytes an exception costs: its position (int32: a block holds at most MAX_BLOCK
#: points) and its full delta (int64).
_EXCEPTION_BYTES = 12
#: Points a block holds at most: a merge or a purge decodes at most this many.
MAX_BLOCK = 1 << 20


class BlockError(ValueError):
    """A block whose layout is not one :func:`encode` writes."""


class _Ints(NamedTuple):  # a tuple: made three times a block, thousands of times a load
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
    #: 0: the values as they are (width: value_size), else deltas of their bits.
    value_order: int
    value_width: int
    step_exceptions: int
    step_first: int
    step_first_delta: int
    wall_exceptions: int
    wall_first: int
    wall_first_delta: int
    value_exceptions: int
    value_first: int
    value_first_delta: int
    last_step_bits: int
    last_wall_bits: int
    last_value_bits: int

    @property
    def first_step(self) -> int:
        return _signed(self.step_first)

    @property
    def last_step(self) -> int:
        return _signed(self.last_step_bits)

    @property
    def last_wall(self) -> float:
        return float(np.uint64(self.last_wall_bits).view(np.float64))

    @property
    def last_value(self) -> float:
        if self.value_size == 4:
            return float(np.uint32(self.last_value_bits).view(np.float32))
        return float(np.uint64(self.last_value_bits).view(np.float64))

    def codecs(self) -> tuple[tuple[int, int, int], ...]:
        """(order, width, exceptions) of step, wall_time and value."""
        return (
            (self.step_order, self.step_width, self.step_exceptions),
            (self.wall_order, self.wall_width, self.wall_exceptions),
            (self.value_order, self.value_width, self.value_exceptions),
        )


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
#: The highest magnitude (``x``, or ``~x`` below zero) int8, int16 and int32 hold.
_HIGHEST = np.array([_LIMITS[width][1] for width in (1, 2, 4)], np.int64)
#: A width holds ``x`` when its magnitude ``x ^ (x >> 63)`` (``x`` for ``x >= 0``,
#: ``-x - 1`` below: int8's -128 is 127) is at most the width's highest value.


def _width(low: int, high: int) -> int:
    """The narrowest width holding every integer in [low, high] (8 when none does)."""
    for width, (lo, hi) in _LIMITS.items():
        if lo <= low and high <= hi:
            return width
    return 8


#: The widths that may take exceptions, and how many deltas of each order are sampled
#: (strided) to guess what exceptions would cost at each of them.
_EXCEPTION_WIDTHS = np.array([0, 1, 2, 4])
_EXCEPTION_HIGHEST = np.array([0, *_HIGHEST.tolist()], np.int64)[None, :, None]
_JUDGE_SAMPLE = 256
#: No exceptions (shared: empty, never written).
_NO_POSITIONS = np.empty(0, np.int32)
_NO_EXCEPTIONS = np.empty(0, np.int64)


def _guesses(signed: np.ndarray) -> np.ndarray:
    """Bytes a delta each order (a row of ``signed``: its sampled deltas, int64)
    would take at each of :data:`_EXCEPTION_WIDTHS`, exceptions counted."""
    size = signed.shape[1]
    magnitude = signed ^ (signed >> 63)
    # A handful of array calls for every order and width at once: a 1,000-point
    # series pays for calls, not points.
    misfits = magnitude[:, None, :] > _EXCEPTION_HIGHEST
    misfits[:, 0, :] |= signed == -1  # its magnitude is 0, but width 0 holds only 0
    guesses: np.ndarray = _EXCEPTION_WIDTHS + (_EXCEPTION_BYTES / size) * misfits.sum(axis=2)
    return guesses


def _sampled(signed: np.ndarray) -> tuple[np.ndarray, int]:
    """Strided samples of the first differences ``signed`` (int64) as orders 1, 3
    and 2 would store them (a row each; one row for one difference), and order 3's
    base: the median first difference (of a sample)."""
    count = len(signed)
    if count < 2:
        return signed[None, :], 0
    sample = signed[:: max(1, count // _BASE_SAMPLE)]
    middle = len(sample) // 2  # the median: a fixed period, give or take (wall times)
    base = int(np.partition(sample, middle)[middle])
    stride = max(1, count // _JUDGE_SAMPLE)
    sampled = signed[:-1:stride]
    samples = np.empty((3, len(sampled)), np.int64)
    samples[0] = sampled
    np.subtract(sampled, base, out=samples[1])  # wraps as the deltas themselves do
    np.subtract(signed[1::stride], sampled, out=samples[2])
    return samples, base


def _deltas(bits: np.ndarray) -> _Ints:
    """The cheapest delta encoding of ``bits`` (uint64, at least one)."""
    coded = _judged_deltas(bits, None)
    assert coded is not None  # no limit: always an encoding
    return coded


def _judged_deltas(bits: np.ndarray, limit: float | None) -> _Ints | None:
    """The cheapest delta encoding of ``bits`` (uint64, at least one), or None when
    none looks cheaper than ``limit`` bytes a delta (values too noisy to delta-code).

    Orders 1 (first differences), 3 (first differences minus their median) and
    2 (second differences) are each weighed, from their least and greatest
    delta, at the narrowest width holding every delta; and at the narrower
    width with exceptions that a strided sample of them says is cheapest, whose
    exceptions are then counted exactly. A fixed stride (every first difference
    equal, zero bytes a point) is found by one comparison.
    """
    plan = _planned(bits)
    if isinstance(plan, _Ints):
        return plan
    return _chosen(plan, _guesses(plan.samples), limit)


class _Plan(NamedTuple):
    """A column whose codec is still to choose: what :func:`_chosen` needs."""

    first: int
    #: First differences (uint64), their least and greatest (as int64).
    step: np.ndarray
    low: int
    high: int
    #: Sampled deltas of orders 1, 3 and 2 (:func:`_sampled`) and order 3's base.
    samples: np.ndarray
    base: int


def _planned(bits: np.ndarray) -> _Ints | _Plan:
    """The codec of ``bits`` (uint64, at least one) when it is settled at once (one
    point, a fixed stride: zero bytes a point), else what choosing it needs."""
    first = int(bits[0])
    step = bits[1:] - bits[:-1]  # wraps modulo 2**64: exact for any pattern
    if not len(step):
        return _Ints(1, 0, first, 0, np.empty(0, np.int8), _NO_POSITIONS, _NO_EXCEPTIONS)
    signed = step.view(np.int64)
    low, high = int(signed.min()), int(signed.max())
    if low == high:  # zero, or a fixed stride: one comparison a point
        order, first_delta = (1, 0) if low == 0 else (2, int(step[0]))
        no_deltas = np.empty(0, np.int8)
        return _Ints(order, 0, first, first_delta, no_deltas, _NO_POSITIONS, _NO_EXCEPTIONS)
    samples, base = _sampled(signed)
    return _Plan(first, step, low, high, samples, base)


def _chosen(plan: _Plan, guesses: np.ndarray, limit: float | None) -> _Ints | None:
    """:func:`_judged_deltas` of a planned column, ``guesses`` its samples' guesses."""
    first, step, low, high, _, base = plan
    signed = step.view(np.int64)
    count = len(step)
    row, column = divmod(int(np.argmin(guesses)), guesses.shape[1])
    guess = float(guesses[row, column])
    if limit is not None and guess >= limit:
        # A width holding every delta holds every sampled one: its guess is the
        # width itself, so no encoding without exceptions is under the limit either.
        return None
    orders = (1, 3, 2)[: len(guesses)]
    firsts = (0, base % (1 << 64), int(step[0]))
    residuals: dict[int, np.ndarray] = {1: signed}

    def residual(order: int) -> np.ndarray:  # orders 2 and 3 made only when needed
        if order not in residuals:
            if order == 3:
                residuals[3] = (step - np.uint64(firsts[1])).view(np.int64)
            else:
                residuals[2] = (step[1:] - step[:-1]).view(np.int64)
        return residuals[order]

    # Every delta in the narrowest width holding them all: orders 1 and 3 from the
    # least and greatest first difference; order 2 only when it might be narrower
    # (its sampled deltas already need at least the width its guesses show).
    whole = [(count * _width(low, high), 0)]
    if count >= 2:
        whole.append((count * _width(low - base, high - base), 1))
        row2 = guesses[2].tolist()
        floor = next((w for w, g in zip((0, 1, 2, 4), row2, strict=True) if g == w), 8)
        if (count - 1) * floor < min(whole)[0]:
            second = residual(2)
            whole.append(((count - 1) * _width(int(second.min()), int(second.max())), 2))
    best_cost, best_index = min(whole)
    best_width = best_cost // _size(count + 1, orders[best_index])
    width = int(_EXCEPTION_WIDTHS[column])
    if guess < best_width and width < best_width:
        deltas = residual(orders[row])
        lo, hi = _LIMITS[width]
        positions = np.flatnonzero((deltas < lo) | (deltas > hi))
        if len(deltas) * width + _EXCEPTION_BYTES * len(positions) < best_cost:
            return _packed(orders[row], width, first, firsts[row], deltas, positions)
    deltas = residual(orders[best_index])
    return _packed(orders[best_index], best_width, first, firsts[best_index], deltas, None)


def _packed(
    order: int,
    width: int,
    first: int,
    first_delta: int,
    deltas: np.ndarray,
    positions: np.ndarray | None,
) -> _Ints:
    """``deltas`` (int64) in ``width`` bytes, those at ``positions`` as exceptions."""
    kind = _WIDTHS[width]
    if kind is None or width == 8:
        narrow = deltas if kind is not None else np.empty(0, np.int8)
    else:
        narrow = deltas.astype(kind)
    if positions is None or not len(positions):
        return _Ints(order, width, first, first_delta, narrow, _NO_POSITIONS, _NO_EXCEPTIONS)
    if kind is not None:
        narrow[positions] = 0  # astype wrapped them; the exception overrides
    exceptions = deltas[positions]
    return _Ints(order, width, first, first_delta, narrow, positions.astype(np.int32), exceptions)


#: Blocks of at most this many points take the quick codecs (:func:`_quick_deltas`, values
#: as they are): a log directory of thousands of short runs is made of such blocks, and
#: for them the search below costs far more time than the bytes it saves (a 100-point
#: block: ~40 us instead of ~250 us, for a few bytes a point more at most).
QUICK_POINTS = 256


def _quick_deltas(bits: np.ndarray) -> _Ints:
    """Deltas of order 1 or 2 in the narrowest width holding all of them (no
    exceptions), chosen from their least and greatest: a few array passes."""
    first = int(bits[0])
    step = bits[1:] - bits[:-1]  # wraps modulo 2**64: exact for any pattern
    best: tuple[int, int, int, np.ndarray, int] | None = None  # cost, order, width, ...
    for order, residual, first_delta in (
        (1, step, 0),
        (2, step[1:] - step[:-1], int(step[0]) if len(step) else 0),
    ):
        signed = residual.view(np.int64)
        low, high = (int(signed.min()), int(signed.max())) if len(signed) else (0, 0)
        width = next(w for w, (lo, hi) in _LIMITS.items() if lo <= low and high <= hi)
        if best is None or len(signed) * width < best[0]:
            best = (len(signed) * width, order, width, signed, first_delta)
    assert best is not None
    _, order, width, signed, first_delta = best
    kind = _WIDTHS[width]
    deltas = np.empty(0, np.int8) if kind is None else signed.astype(kind)
    empty = np.empty(0, np.int64)
    return _Ints(order, width, first, first_delta, deltas, empty.astype(np.int32), empty)


def _padded(size: int) -> int:
    return -(-size // 8) * 8


def _sections(count: int, ints: tuple[tuple[int, int, int], ...]) -> list[int]:
    """Byte sizes of a block's sections (unpadded): per column its deltas (order 0:
    its values), exception positions and exception values."""
    sizes = []
    for order, width, exceptions in ints:
        sizes += [_size(count, order) * width, 4 * exceptions, 8 * exceptions]
    return sizes


def _size(count: int, order: int) -> int:
    """How many deltas a column of ``count`` values has at ``order``."""
    return max(count - _LAG.get(order, 0), 0)


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


def _raw(values: np.ndarray) -> _Ints:
    """Values as they are (order 0: no deltas, width their size)."""
    empty = np.empty(0, np.int64)
    return _Ints(0, values.itemsize, 0, 0, values, empty, empty)


def _value_bits(values: np.ndarray) -> np.ndarray:
    """The values' bit patterns as uint64 (float32's zero-extended)."""
    if values.itemsize == 4:
        return values.view(np.uint32).astype(np.uint64)
    return values.view(np.uint64)


#: Values are delta-coded only when that takes at most this share of them as they are
#: (decoding deltas costs more than copying).
_VALUE_SHARE = 0.75


def _cost(ints: _Ints, count: int) -> int:
    return _size(count, ints.order) * ints.width + _EXCEPTION_BYTES * len(ints.positions)


def _value_codec(values: np.ndarray, bits: np.ndarray) -> _Ints:
    """The values' bits as deltas when that is much smaller, else the values as they are.

    Noisy values (most metrics) are rejected from a sample of their deltas, for a
    fraction of the cost of trying every width on every point.
    """
    plan = _planned(bits)
    if isinstance(plan, _Ints):
        return plan
    return _value_chosen(values, plan, _guesses(plan.samples))


def _value_chosen(values: np.ndarray, plan: _Plan, guesses: np.ndarray) -> _Ints:
    count, limit = len(values), _VALUE_SHARE * values.itemsize
    coded = _chosen(plan, guesses, limit)
    return coded if coded is not None and _cost(coded, count) < limit * count else _raw(values)


def _codecs(step: np.ndarray, wall_time: np.ndarray, values: np.ndarray) -> list[_Ints]:
    """The codecs of a block's columns (step and wall_time as uint64, ``values`` as
    stored): the samples of those still to choose are guessed on in one call."""
    plans = [_planned(step), _planned(wall_time), _planned(_value_bits(values))]
    pending = [plan for plan in plans if isinstance(plan, _Plan)]
    if not pending:
        return [plan for plan in plans if isinstance(plan, _Ints)]
    rows = len(pending[0].samples)  # the same for every column: they are as long
    guesses = _guesses(np.concatenate([plan.samples for plan in pending]))
    chosen: list[_Ints] = []
    at = 0
    for index, plan in enumerate(plans):
        if isinstance(plan, _Ints):
            chosen.append(plan)
            continue
        part = guesses[at : at + rows]
        at += rows
        if index == 2:
            chosen.append(_value_chosen(values, plan, part))
        else:
            coded = _chosen(plan, part, None)
            assert coded is not None  # no limit: always an encoding
            chosen.append(coded)
    return chosen


def _encode_one(step: np.ndarray, wall_time: np.ndarray, value: np.ndarray) -> np.ndarray:
    count = len(step)
    narrow = exact_float32(value)
    values = np.ascontiguousarray(narrow if narrow is not None else value)
    bits = _value_bits(values)
    if count <= QUICK_POINTS:
        columns = (
            _quick_deltas(step.view(np.uint64)),
            _quick_deltas(wall_time.view(np.uint64)),
            _raw(values),
        )
    else:
        steps, walls, value_codec = _codecs(step.view(np.uint64), wall_time.view(np.uint64), values)
        columns = (steps, walls, value_codec)
    last = (
        int(step[-1:].view(np.uint64)[0]),
        int(wall_time[-1:].view(np.uint64)[0]),
        int(bits[-1]),
    )
    return _assemble(count, values.itemsize, columns, last)


def _assemble(
    count: int, itemsize: int, columns: tuple[_Ints, _Ints, _Ints], last: tuple[int, int, int]
) -> np.ndarray:
    """One block: the header (``last``: the last point's step, wall time and value bits),
    then each column's sections (see :func:`_sections`)."""
    # Spelled out, not looped over: thousands of short series pay for every call here.
    steps, walls, values = columns
    sizes = _sections(
        count,
        (
            (steps.order, steps.width, len(steps.positions)),
            (walls.order, walls.width, len(walls.positions)),
            (values.order, values.width, len(values.positions)),
        ),
    )
    block = np.zeros(HEADER_BYTES + sum([-(-size // 8) * 8 for size in sizes]), np.uint8)
    _HEADER.pack_into(
        block.data,
        0,
        count,
        itemsize,
        steps.order,
        steps.width,
        walls.order,
        walls.width,
        values.order,
        values.width,
        len(steps.positions),
        steps.first,
        steps.first_delta,
        len(walls.positions),
        walls.first,
        walls.first_delta,
        len(values.positions),
        values.first,
        values.first_delta,
        *last,
    )
    at = HEADER_BYTES
    index = 0
    for column in columns:
        for part in (column.deltas, column.positions, column.exceptions):
            size = sizes[index]
            index += 1
            if size:  # most sections of a small block are empty (no exceptions)
                block[at : at + size] = np.ascontiguousarray(part).view(np.uint8)
                at += -(-size // 8) * 8
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


def encode_small_many(
    step: np.ndarray, wall_time: np.ndarray, value: np.ndarray, starts: np.ndarray
) -> list[np.ndarray]:
    """The blocks of many short series at once, each the block :func:`encode` gives it alone.

    Series ``i`` is ``[starts[i], starts[i + 1])`` of the columns (the last one runs to
    their end), sorted by step, of 1 to :data:`QUICK_POINTS` points. A log directory of
    thousands of short runs pays for a few passes over all their points, not for each
    series: the headers and sections of every block are written into one buffer by array
    operations, and each block is then copied out of it (a block owns its bytes, as
    :func:`encode`'s do: a series spilled under a memory budget frees them).
    """
    step = np.ascontiguousarray(step, dtype=np.int64)
    wall_time = np.ascontiguousarray(wall_time, dtype=np.float64)
    starts = np.asarray(starts, dtype=np.int64)
    counts = np.diff(np.append(starts, len(step)))
    ends = starts + counts
    if value.dtype == np.float32:
        narrow = wide = np.ascontiguousarray(value)
        exact = np.ones(len(starts), bool)
    else:
        wide = np.ascontiguousarray(value, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            narrow = wide.astype(np.float32)
        same = narrow.astype(np.float64).view(np.uint64) == wide.view(np.uint64)
        exact = np.logical_and.reduceat(same, starts)
    step_bits, wall_bits = step.view(np.uint64), wall_time.view(np.uint64)
    columns = [_quick_plan(step_bits, starts, counts), _quick_plan(wall_bits, starts, counts)]
    itemsize = np.where(exact, 4, 8)
    # Section sizes, each padded to 8 bytes: step deltas, wall deltas, values as they are.
    sections = [plan.deltas * plan.width for plan in columns] + [counts * itemsize]
    padded = [-(-size // 8) * 8 for size in sections]
    sizes = HEADER_BYTES + padded[0] + padded[1] + padded[2]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    buffer = np.zeros(int(sizes.sum()), np.uint8)

    header = _headers(
        counts, ends, itemsize, columns, (step_bits, wall_bits), (narrow, wide), exact
    )
    buffer[_ranges(offsets, np.full(len(offsets), HEADER_BYTES))] = header.view(np.uint8)
    at = offsets + HEADER_BYTES
    for plan, section in zip(columns, padded[:2], strict=True):
        for order, source in ((1, plan.first_signed), (2, plan.second_signed)):
            for width, kind in _INT_DTYPES.items():
                chosen = np.flatnonzero((plan.order == order) & (plan.width == width))
                if len(chosen):
                    picked = source[_ranges(starts[chosen], plan.deltas[chosen])]
                    _scatter_rows(buffer, at[chosen], plan.deltas[chosen], width, picked, kind)
        at = at + section
    for size, source in ((4, narrow), (8, wide)):
        chosen = np.flatnonzero(itemsize == size)
        if len(chosen):
            picked = source[_ranges(starts[chosen], counts[chosen])]
            _scatter_rows(buffer, at[chosen], counts[chosen], size, picked, picked.dtype)
    blocks = []
    for begin, end in zip(offsets.tolist(), (offsets + sizes).tolist(), strict=True):
        block = buffer[begin:end].copy()
        block.setflags(write=False)
        blocks.append(block)
    return blocks


def _headers(
    counts: np.ndarray,
    ends: np.ndarray,
    itemsize: np.ndarray,
    columns: list[_QuickPlan],
    bits: tuple[np.ndarray, np.ndarray],
    values: tuple[np.ndarray, np.ndarray],
    exact: np.ndarray,
) -> np.ndarray:
    """The headers of :func:`encode_small_many`'s blocks, one record each: ``bits``, the
    step and wall time patterns; ``values``, as float32 and as given."""
    (step_bits, wall_bits), (narrow, wide) = bits, values
    header = np.zeros(len(counts), _HEADER_DTYPE)
    header["count"] = counts
    header["itemsize"] = itemsize
    for prefix, plan in zip(("step", "wall"), columns, strict=True):
        header[f"{prefix}_order"] = plan.order
        header[f"{prefix}_width"] = plan.width
        header[f"{prefix}_first"] = plan.first
        header[f"{prefix}_first_delta"] = plan.first_delta
    header["value_width"] = itemsize  # order 0: the values as they are
    header["last_step"] = step_bits[ends - 1]
    header["last_wall"] = wall_bits[ends - 1]
    last_value = narrow[ends - 1].view(np.uint32).astype(np.uint64)
    if wide.dtype == np.float64:
        last_value = np.where(exact, last_value, wide[ends - 1].view(np.uint64))
    header["last_value"] = last_value
    return header


#: The block header (:data:`_HEADER`) as a numpy record, for writing many at once.
_HEADER_DTYPE = np.dtype(
    [
        ("count", "<u8"),
        ("itemsize", "u1"),
        *((f"{column}_{field}", "u1") for column in _COLUMNS for field in ("order", "width")),
        ("pad", "u1"),
        *(
            (f"{column}_{field}", "<u8")
            for column in _COLUMNS
            for field in ("exceptions", "first", "first_delta")
        ),
        ("last_step", "<u8"),
        ("last_wall", "<u8"),
        ("last_value", "<u8"),
    ]
)
assert _HEADER_DTYPE.itemsize == HEADER_BYTES


class _QuickPlan(NamedTuple):
    """:func:`_quick_deltas` of many series, as arrays (one entry per series)."""

    order: np.ndarray  # 1 or 2
    width: np.ndarray  # 0, 1, 2, 4 or 8
    first: np.ndarray  # uint64: the first value's bits
    first_delta: np.ndarray  # uint64: the first difference (order 2), else 0
    deltas: np.ndarray  # how many deltas the block holds: count - order, at least 0
    first_signed: np.ndarray  # int64 first differences of every point (order 1's deltas)
    second_signed: np.ndarray  # int64 second differences (order 2's deltas)


def _quick_plan(bits: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> _QuickPlan:
    """:func:`_quick_deltas` of every series ``[starts[i], starts[i] + counts[i])`` of ``bits``.

    The deltas are taken over all the series at once; those that cross into the next
    series (or past the end) are set to zero, which every width holds, so each series'
    least and greatest give the width its own deltas need.
    """
    total = len(bits)
    ends = starts + counts
    first_diff = np.zeros(total, np.uint64)
    first_diff[:-1] = bits[1:] - bits[:-1]  # wraps modulo 2**64: exact for any pattern
    first_diff[ends - 1] = 0
    second_diff = np.zeros(total, np.uint64)
    second_diff[:-2] = first_diff[1:-1] - first_diff[:-2]
    second_diff[ends - 1] = 0
    second_diff[np.maximum(ends - 2, starts)] = 0
    chosen = []
    for order, diff in ((1, first_diff), (2, second_diff)):
        signed = diff.view(np.int64)
        low = np.minimum.reduceat(signed, starts)
        high = np.maximum.reduceat(signed, starts)
        widths = np.array([1, 2, 4, 8])[np.searchsorted(_HIGHEST, np.maximum(high, ~low))]
        widths[(low == 0) & (high == 0)] = 0
        chosen.append((widths, np.maximum(counts - order, 0) * widths))
    (first_widths, first_costs), (second_widths, second_costs) = chosen
    second = second_costs < first_costs
    orders = np.where(second, 2, 1)
    return _QuickPlan(
        order=orders,
        width=np.where(second, second_widths, first_widths),
        first=bits[starts],
        first_delta=np.where(second, first_diff[starts], np.uint64(0)),
        deltas=np.maximum(counts - orders, 0),
        first_signed=first_diff.view(np.int64),
        second_signed=second_diff.view(np.int64),
    )


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indexes ``starts[i] .. starts[i] + lengths[i] - 1`` of every ``i``, in order."""
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    if not len(lengths):
        return np.empty(0, np.int64)
    if (lengths == lengths[0]).all():  # the common case: series of one length
        return (starts[:, np.newaxis] + np.arange(lengths[0])).ravel()
    # A running sum of steps of 1, jumping at each range's first index to its start.
    steps = np.ones(int(lengths.sum()), np.int64)
    steps[0] = starts[0]
    heads = np.cumsum(lengths)[:-1]
    steps[heads] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    return np.cumsum(steps)


def _scatter_rows(
    buffer: np.ndarray,
    at: np.ndarray,
    lengths: np.ndarray,
    width: int,
    items: np.ndarray,
    kind: Any,
) -> None:
    """Write ``items`` (``lengths[i]`` for row ``i``, in order) as ``kind`` (``width``
    bytes each), row ``i``'s from byte ``at[i]`` on."""
    data = np.ascontiguousarray(items.astype(kind, copy=False)).view(np.uint8)
    buffer[_ranges(at, lengths * width)] = data


# ---- decoding --------------------------------------------------------------------


def _layout(block: np.ndarray, head: Info) -> list[np.ndarray]:
    """The block's sections as views, in order (see :func:`_sections`)."""
    sizes = _sections(head.points, head.codecs())
    if HEADER_BYTES + sum(map(_padded, sizes)) != len(block):
        raise BlockError("a block's length and its header differ")
    sections, at = [], HEADER_BYTES
    for size in sizes:
        sections.append(block[at : at + size])
        at += _padded(size)
    return sections


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
        else:  # 2 and 3: every difference is first_delta
            np.multiply(np.arange(count, dtype=np.uint64), np.uint64(first_delta), out=out)
            out += np.uint64(first)
        return
    lag = _LAG[order]
    signed = out.view(np.int64)
    if width == 0:
        signed[lag:] = 0
    else:
        signed[lag:] = deltas.view(_INT_DTYPES[width])
    if len(positions):
        signed[lag + positions.view(np.int32)] = exceptions.view(np.int64)
    out[0] = first
    if order == 2:
        out[1] = first_delta
        np.cumsum(out[1:], out=out[1:])
    elif order == 3:
        out[1:] += np.uint64(first_delta)
    np.cumsum(out, out=out)


def decode_into(
    block: np.ndarray, step: np.ndarray, wall_time: np.ndarray, value: np.ndarray
) -> None:
    """Write the block's points into the (equally long) int64, float64 and float arrays."""
    head = info(block)
    sections = _layout(block, head)
    firsts = (
        (head.step_first, head.step_first_delta),
        (head.wall_first, head.wall_first_delta),
        (head.value_first, head.value_first_delta),
    )
    (step_order, step_width, _), (wall_order, wall_width, _), _ = head.codecs()
    _restore(step.view(np.uint64), step_order, step_width, *firsts[0], *sections[0:3])
    _restore(wall_time.view(np.uint64), wall_order, wall_width, *firsts[1], *sections[3:6])
    value_order, value_width, _ = head.codecs()[2]
    if value_order == 0:  # as they are
        value[:] = sections[6].view(np.float32 if head.value_size == 4 else np.float64)
    elif head.value_size == 8:  # then value is float64 too
        _restore(value.view(np.uint64), value_order, value_width, *firsts[2], *sections[6:9])
    else:
        bits = np.empty(len(value), np.uint64)
        _restore(bits, value_order, value_width, *firsts[2], *sections[6:9])
        value[:] = bits.astype(np.uint32).view(np.float32)


def last_value(block: np.ndarray) -> float:
    """The value of the block's last point, read without decoding the rest."""
    return info(block).last_value


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
    codecs = head.codecs()
    for name, (order, width, exceptions) in zip(_COLUMNS, codecs, strict=True):
        raw = order == 0 and name == "value"
        if (
            (order not in (1, 2, 3) and not raw)
            or width not in _WIDTHS
            or (raw and (width != head.value_size or exceptions))
            or exceptions > _size(count, order)
            or (exceptions and width == 8)
        ):
            raise BlockError(f"bad {name} order {order}, width {width} or exceptions {exceptions}")
    sizes = _sections(count, codecs)
    if HEADER_BYTES + sum(map(_padded, sizes)) != len(block):
        raise BlockError("a block's length and its header differ")
    if any(exceptions for _, _, exceptions in codecs):
        sections = _layout(block, head)
        for index, (order, _, _) in enumerate(codecs):
            where = sections[3 * index + 1].view(np.int32)
            if len(where) and (int(where.min()) < 0 or int(where.max()) >= _size(count, order)):
                raise BlockError("an exception's position out of range")
    return head
