"""The auxiliary tables of a cache file: tensor points and blob references.

Each is one Arrow IPC stream of one batch, one row per point, in the order of
the reservoirs that hold them (:mod:`lumiboard.store.cache_format` says which):
:func:`encode_table` and :func:`decode_table` are an encode/decode pair, and
the decoder checks the table's CRC32C, schema, offsets and every row (dtype,
shape against bytes, references within range) before building a point.

Arrays are built from buffers, never with ``pa.array``, and read back as
buffers, never with ``to_numpy``: both import pandas (half a second and
40 MB), which a restart must not pay for.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import numpy as np
import pyarrow as pa
from pyarrow import ipc

from lumiboard.store.cache_check import DamageError, crc
from lumiboard.store.runs import BlobPoint, BlobRef, TensorPoint


def numbers(values: Any, dtype: Any = None) -> pa.Array:
    array = np.ascontiguousarray(values, dtype=dtype)
    kind = pa.from_numpy_dtype(array.dtype)
    return pa.Array.from_buffers(kind, len(array), [None, pa.py_buffer(array)])


def _binaries(items: list[bytes], kind: Any = None) -> pa.Array:
    offsets = np.zeros(len(items) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, items), np.int64, len(items)), out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(items))]
    return pa.Array.from_buffers(kind or pa.large_binary(), len(items), buffers)


def texts(items: list[str]) -> pa.Array:
    return _binaries([item.encode() for item in items], pa.large_string())


def _lists(lengths: list[int], values: pa.Array) -> pa.Array:
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(np.asarray(lengths, dtype=np.int64), out=offsets[1:])
    return pa.LargeListArray.from_arrays(numbers(offsets), values)


def _stream(columns: dict[str, pa.Array]) -> bytes:
    batch = pa.record_batch(list(columns.values()), names=list(columns))
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)  # one batch, even when empty
    return bytes(sink.getvalue())


def _tensor_columns(rows: list[tuple[str, TensorPoint]]) -> dict[str, pa.Array]:
    data: list[bytes] = []
    strings: list[list[bytes]] = []
    for _, point in rows:
        array = point.array
        if array.dtype.kind == "O":  # DT_STRING: an object array of bytes
            items = array.reshape(-1).tolist()
            if not all(isinstance(item, bytes) for item in items):
                raise TypeError("a string tensor holds something else than bytes")
            data.append(b"")
            strings.append(items)
        elif array.dtype.kind in "biufc":
            data.append(np.ascontiguousarray(array).tobytes())
            strings.append([])
        else:
            raise TypeError(f"cannot cache a tensor of dtype {array.dtype}")
    shapes = [point.array.shape for _, point in rows]
    return {
        "tag": texts([tag for tag, _ in rows]).dictionary_encode(),
        "step": numbers([point.step for _, point in rows], np.int64),
        "wall_time": numbers([point.wall_time for _, point in rows], np.float64),
        "dtype": texts([point.array.dtype.str for _, point in rows]),
        "shape": _lists(list(map(len, shapes)), numbers([n for s in shapes for n in s], np.int64)),
        "data": _binaries(data),
        "strings": _lists(list(map(len, strings)), _binaries([b for s in strings for b in s])),
    }


def _blob_columns(rows: list[tuple[str, BlobPoint]]) -> dict[str, pa.Array]:
    refs = [point.ref for _, point in rows]
    return {
        "tag": texts([tag for tag, _ in rows]).dictionary_encode(),
        "step": numbers([point.step for _, point in rows], np.int64),
        "wall_time": numbers([point.wall_time for _, point in rows], np.float64),
        "path": _binaries([os.fsencode(ref.path) for ref in refs]).dictionary_encode(),
        "offset": numbers([ref.offset for ref in refs], np.int64),
        "length": numbers([ref.length for ref in refs], np.int64),
        "index": numbers([ref.index for ref in refs], np.int32),
        "count": numbers([point.count for _, point in rows], np.int64),
    }


def encode_table(kind: str, rows: list[tuple[str, Any]]) -> bytes:
    """The ``kind`` table ("tensors" or "blobs") of (tag, point) ``rows``, as an Arrow stream."""
    columns = _tensor_columns(rows) if kind == "tensors" else _blob_columns(rows)
    return _stream(columns)


def view(column: Any, dtype: Any, extra: int = 0) -> np.ndarray:
    """A numeric Arrow array's values as a numpy view: no copy (``to_numpy`` imports pandas)."""
    data = column.buffers()[1]
    if data is None:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(data, dtype=dtype)[column.offset : column.offset + len(column) + extra]


_SCHEMAS = {
    "tensors": pa.schema(
        [
            ("tag", pa.dictionary(pa.int32(), pa.large_string())),
            ("step", pa.int64()),
            ("wall_time", pa.float64()),
            ("dtype", pa.large_string()),
            ("shape", pa.large_list(pa.int64())),
            ("data", pa.large_binary()),
            ("strings", pa.large_list(pa.large_binary())),
        ]
    ),
    "blobs": pa.schema(
        [
            ("tag", pa.dictionary(pa.int32(), pa.large_string())),
            ("step", pa.int64()),
            ("wall_time", pa.float64()),
            ("path", pa.dictionary(pa.int32(), pa.large_binary())),
            ("offset", pa.int64()),
            ("length", pa.int64()),
            ("index", pa.int32()),
            ("count", pa.int64()),
        ]
    ),
}


def decode_table(kind: str, data: bytes, expected: int, rows: int) -> list[Any]:
    """The ``rows`` points of the ``kind`` table in ``data``; raise
    DamageError unless its checksum is ``expected`` and every field is right."""
    if crc(data) != expected:
        raise DamageError(f"the {kind} table's checksum does not match")
    batch = ipc.open_stream(pa.py_buffer(data)).read_next_batch()
    if not batch.schema.equals(_SCHEMAS[kind]) or batch.num_rows != rows:
        raise DamageError("unexpected auxiliary table")
    batch.validate(full=True)  # offsets within bounds before Python reads them
    if any(column.null_count for column in batch.columns):
        raise DamageError("an auxiliary table with nulls")
    return _decode_tensors(batch) if kind == "tensors" else _decode_blobs(batch)


#: numpy's ``dtype.str`` of what :func:`_tensor_table` writes: numbers, or bytes (``|O``).
_TENSOR_DTYPE = re.compile(r"[<>|][biufc](1|2|4|8|16)|\|O")


def _decode_tensors(table: Any) -> list[TensorPoint]:
    columns = table.select(["step", "wall_time", "dtype", "shape", "strings"]).to_pydict()
    data = table.column("data")
    offsets = view(data, np.int64, extra=1)
    raw = data.buffers()[2]
    content = np.frombuffer(raw, np.uint8) if raw is not None else np.empty(0, np.uint8)
    points = []
    for row, (step, wall_time, dtype_text, shape, strings) in enumerate(
        zip(*columns.values(), strict=True)
    ):
        if not _TENSOR_DTYPE.fullmatch(dtype_text) or min(shape, default=0) < 0:
            raise DamageError(f"bad tensor dtype {dtype_text!r:.20} or shape")
        dtype, size = np.dtype(dtype_text), math.prod(shape)
        chunk = content[offsets[row] : offsets[row + 1]]
        if dtype.kind == "O":
            if len(strings) != size or len(chunk):
                raise DamageError("a string tensor's shape and values differ")
            array = np.empty(size, dtype=object)
            array[:] = strings
        else:
            if len(chunk) != size * dtype.itemsize or strings:
                raise DamageError("a tensor's shape and bytes differ")
            # A copy: the store owns its tensors (aligned and writable, as decoded).
            array = chunk.view(dtype).copy()
        points.append(TensorPoint(step, wall_time, array.reshape(shape)))
    return points


def _decode_blobs(table: Any) -> list[BlobPoint]:
    paths = table.column("path")
    names = [os.fsdecode(name) for name in paths.dictionary.to_pylist()]
    columns = table.select(["step", "wall_time", "offset", "length", "index", "count"])
    points = [
        BlobPoint(step, wall, BlobRef(names[code], offset, length, index), count)
        for code, step, wall, offset, length, index, count in zip(
            paths.indices.to_pylist(), *columns.to_pydict().values(), strict=True
        )
    ]
    for point in points:
        ref = point.ref
        if min(ref.offset, ref.length, ref.index + 1, point.count) < 0:
            raise DamageError("a blob reference out of range")
    return points
