"""The scalar series of a cache file: batches of encoded blocks, and their checks.

Each batch of :mod:`lumiboard.store.cache_format`'s file holds whole series,
one row per block (:mod:`lumiboard.store.encoding`): a ``large_binary``
column whose values are the blocks as they are in memory (8-byte multiples,
so each stays aligned in the file). Read back, a block is a view of the
batch's bytes, checked first: its series' CRC32C, its layout, the point
count of its series and the order of its series' blocks by step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from lumiboard.store import cache_tables as tables
from lumiboard.store import encoding
from lumiboard.store.cache_check import DamageError, crc


def column(blocks: list[np.ndarray]) -> pa.Array:
    """The blocks as one ``large_binary`` column (one copy, into one buffer)."""
    offsets = np.zeros(len(blocks) + 1, np.int64)
    np.cumsum([block.nbytes for block in blocks], out=offsets[1:])
    data = np.concatenate([np.empty(0, np.uint8), *blocks])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.large_binary(), len(blocks), buffers)


def series_crc(blocks: list[np.ndarray]) -> int:
    """CRC32C of a series' blocks, one after the other (as a batch holds them)."""
    value = 0
    for block in blocks:
        value = crc(block, value)
    return value


def groups(counts: list[int], limit: int) -> list[range]:
    """Consecutive series, grouped into batches of about ``limit`` (bytes)."""
    groups, start, rows = [], 0, 0
    for position, count in enumerate(counts):
        if rows and rows + count > limit:
            groups.append(range(start, position))
            start, rows = position, 0
        rows += count
    if start < len(counts):
        groups.append(range(start, len(counts)))
    return groups


#: Scalar blocks are copied out of the file's buffer when the rest of it
#: (tensors, mostly) is larger than this share of it, and than _KEPT_BYTES:
#: views would keep those bytes in memory as long as the series live.
_KEPT_SHARE = 4
_KEPT_BYTES = 1 << 20


def blocks_of(batch: Any) -> tuple[np.ndarray, np.ndarray]:
    """A scalar batch's bytes and its blocks' offsets into them (checked in range)."""
    column = batch.column(1)
    if column.null_count:
        raise DamageError("a scalar batch with nulls")
    buffers = column.buffers()
    offsets = tables.view(column, np.int64, extra=1)
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.empty(0, np.uint8)
    if len(offsets) != batch.num_rows + 1:
        raise DamageError("a scalar column shorter than its batch")
    if len(offsets) > 1 and (
        np.any(offsets[1:] < offsets[:-1]) or offsets[0] < 0 or offsets[-1] > len(data)
    ):
        raise DamageError("a scalar block out of its batch")
    return data, offsets


def series_blocks(
    data: np.ndarray, offsets: np.ndarray, row: int, rows: int, points: int, checksum: int
) -> list[np.ndarray]:
    """The ``rows`` blocks from ``row``: checked against the series' checksum and
    point count, each block's layout, and their order by step."""
    start, end = int(offsets[row]), int(offsets[row + rows])
    if crc(data[start:end]) != checksum:
        raise DamageError("a scalar series' checksum does not match")
    blocks, total, last = [], 0, None
    for number in range(row, row + rows):
        block = data[offsets[number] : offsets[number + 1]]
        try:
            head = encoding.check(block)
        except encoding.BlockError as error:
            raise DamageError(str(error)) from None
        if last is not None and head.first_step < last:
            raise DamageError("a scalar series' blocks out of order")
        last = head.last_step
        total += head.points
        blocks.append(block)
    if total != points:
        raise DamageError("a scalar series' points and its count differ")
    return blocks


def read_scalars(
    reader: Any, header: dict[str, Any], file_size: int
) -> dict[str, list[np.ndarray]]:
    series = iter(
        zip(
            header["scalar_tags"],
            header["scalar_counts"],
            header["scalar_blocks"],
            header["scalar_crcs"],
            strict=True,
        )
    )
    batches = [
        blocks_of(reader.get_batch(number)) for number in range(len(header["scalar_batches"]))
    ]
    rest = file_size - sum(len(data) for data, _ in batches)
    if rest > max(_KEPT_BYTES, file_size // _KEPT_SHARE):
        batches = [(_copy(data), offsets) for data, offsets in batches]
    scalars: dict[str, list[np.ndarray]] = {}
    for number, (size, (data, offsets)) in enumerate(
        zip(header["scalar_batches"], batches, strict=True)
    ):
        row = 0
        for tag, points, rows, checksum in [next(series) for _ in range(size)]:
            if row + rows >= len(offsets):
                raise DamageError(f"batch {number}: fewer blocks than its series")
            scalars[tag] = series_blocks(data, offsets, row, rows, points, checksum)
            row += rows
        if row != len(offsets) - 1:
            raise DamageError(f"batch {number}: its rows and its series' blocks differ")
    return scalars


def _copy(column: np.ndarray) -> np.ndarray:
    copy = column.copy()
    copy.setflags(write=False)
    return copy
