"""The cache file of one run: an Apache Arrow IPC file, and what it holds.

:func:`write_snapshot` and :func:`read_snapshot` are an encode/decode pair for
a :class:`Snapshot` (everything a :class:`~lumiboard.reader.ingest.RunLoader`
holds for a run); :mod:`lumiboard.store.cache` decides when to use them.
The file holds:

- record batches of scalar points (``tag`` dictionary-encoded, ``step``,
  ``wall_time``, ``value``), one batch per series, sorted by step: read back,
  the columns are views of the memory-mapped file, never copied or parsed;
  any Arrow reader (DuckDB, Polars...) sees one table of every point;
- the schema's metadata (``lumiboard.cache``, JSON): the cache format and
  lumiboard versions, the run's location, the reservoir sizes in force, the
  loader's own fields (:data:`LOADER_FIELDS`), the run's ``start_time``,
  ``tag_kinds`` and skipped counts, and each event file's read state (path,
  offset, size, dead) with its identity checksums;
- a last, empty batch whose custom metadata holds small Arrow IPC streams:
  tag infos, tensor points (dtype, shape, raw bytes), blob references, and the
  reservoirs' state (size, items seen, random state).

:func:`read_snapshot` raises :class:`VersionError` for a file of another
format or lumiboard version, and some other exception (pyarrow's, ``KeyError``,
``ValueError``...) for anything else it does not expect.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from pyarrow import ipc

from lumiboard import __version__
from lumiboard.plugins.base import DataClass
from lumiboard.reader.tail import FileState
from lumiboard.store.runs import BlobPoint, BlobRef, TagInfo, TensorPoint

#: Bumped whenever the layout or the meaning of a field changes.
FORMAT_VERSION = 1

_HEADER_KEY = b"lumiboard.cache"
_AUX_KEYS = (b"lumiboard.tags", b"lumiboard.tensors", b"lumiboard.blobs", b"lumiboard.reservoirs")


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


#: The fields of a RunLoader, beyond its run, files and tag kinds, that decide
#: how the next bytes are read (purges), with how to read each back.
LOADER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "file_version": _optional_float,
    "most_recent_step": int,
    "seen_start": bool,
}


@dataclass(frozen=True)
class FileEntry:
    """One event file's read state, and its identity when it was cached."""

    state: FileState
    head_crc: int
    tail_crc: int


@dataclass(frozen=True)
class Sampled:
    """A reservoir's state: its items and what its sampling needs to go on."""

    size: int | None
    seen: int
    rng: bytes | None
    items: list[Any]


@dataclass(frozen=True)
class Snapshot:
    """Everything a :class:`RunLoader` holds for one run, as cached."""

    location: str
    samples: dict[str, int | None]
    files: list[FileEntry]
    tag_kinds: dict[str, int]
    #: The loader's own fields (:data:`LOADER_FIELDS`).
    loader: dict[str, Any]
    start_time: float | None
    skipped: dict[str, int]
    tags: dict[str, TagInfo]
    scalars: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    tensors: dict[str, Sampled]
    blobs: dict[str, Sampled]


class VersionError(Exception):
    """A cache written by another cache format or lumiboard version."""


def remove(path: str) -> None:
    """Delete ``path`` if it can be."""
    with contextlib.suppress(OSError):
        os.remove(path)


# ---- the Arrow file ---------------------------------------------------------------
#
# Arrays are built from buffers, never with ``pa.array``: that imports pandas
# (half a second and 40 MB), which a restart must not pay for.


def write_snapshot(path: str, snapshot: Snapshot) -> None:
    """Write ``snapshot`` to ``path`` atomically (a temporary file, then a rename)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    os.close(handle)
    try:
        with pa.OSFile(temporary, "wb") as sink:
            _write(sink, snapshot)
        os.replace(temporary, path)
    except BaseException:
        remove(temporary)
        raise


def _write(sink: Any, snapshot: Snapshot) -> None:
    tags = list(snapshot.scalars)
    index = np.int8 if len(tags) < 2**7 else np.int16 if len(tags) < 2**15 else np.int32
    dictionary = _texts(tags)
    schema = pa.schema(
        [
            ("tag", pa.dictionary(pa.from_numpy_dtype(index), pa.large_string())),
            ("step", pa.int64()),
            ("wall_time", pa.float64()),
            ("value", pa.float64()),
        ],
        metadata={_HEADER_KEY: json.dumps(_header(snapshot)).encode()},
    )

    def batch(position: int, columns: tuple[np.ndarray, ...]) -> Any:
        codes = _numbers(np.full(len(columns[0]), position, dtype=index))
        tag = pa.DictionaryArray.from_arrays(codes, dictionary)
        dtypes = (np.int64, np.float64, np.float64)
        return pa.record_batch(
            [tag, *map(_numbers, columns, dtypes)],
            schema=schema,  # zero-copy views
        )

    with ipc.new_file(sink, schema) as writer:
        for position, tag in enumerate(tags):
            writer.write_batch(batch(position, snapshot.scalars[tag]))
        aux = (_tag_table(snapshot.tags), *_sampled_tables(snapshot))
        metadata = {key: _stream(table) for key, table in zip(_AUX_KEYS, aux, strict=True)}
        writer.write_batch(batch(0, (np.empty(0),) * 3), custom_metadata=metadata)


def _header(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "lumiboard": __version__,
        "location": snapshot.location,
        "samples": snapshot.samples,
        "loader": snapshot.loader,
        "start_time": snapshot.start_time,
        "tag_kinds": snapshot.tag_kinds,
        "skipped": snapshot.skipped,
        "files": [
            [e.state.path, e.state.offset, e.state.size, e.state.dead, e.head_crc, e.tail_crc]
            for e in snapshot.files
        ],
        "scalar_tags": list(snapshot.scalars),
    }


def _numbers(values: Any, dtype: Any = None) -> pa.Array:
    array = np.ascontiguousarray(values, dtype=dtype)
    kind = pa.from_numpy_dtype(array.dtype)
    return pa.Array.from_buffers(kind, len(array), [None, pa.py_buffer(array)])


def _binaries(items: list[bytes], kind: Any = None) -> pa.Array:
    offsets = np.zeros(len(items) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, items), np.int64, len(items)), out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(items))]
    return pa.Array.from_buffers(kind or pa.large_binary(), len(items), buffers)


def _texts(items: list[str]) -> pa.Array:
    return _binaries([item.encode() for item in items], pa.large_string())


def _lists(lengths: list[int], values: pa.Array) -> pa.Array:
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(np.asarray(lengths, dtype=np.int64), out=offsets[1:])
    return pa.LargeListArray.from_arrays(_numbers(offsets), values)


def _optional_ints(values: list[int | None]) -> pa.Array:
    valid = np.packbits(
        np.asarray([value is not None for value in values], bool), bitorder="little"
    )
    data = np.asarray([value or 0 for value in values], dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [pa.py_buffer(valid), pa.py_buffer(data)])


def _stream(columns: dict[str, pa.Array]) -> bytes:
    batch = pa.record_batch(list(columns.values()), names=list(columns))
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)  # one batch, even when empty
    return bytes(sink.getvalue())


def _tag_table(tags: dict[str, TagInfo]) -> dict[str, pa.Array]:
    infos = list(tags.values())
    return {
        "tag": _texts(list(tags)),
        "plugin_name": _texts([info.plugin_name for info in infos]),
        "data_class": _numbers([info.data_class.value for info in infos], np.int32),
        "display_name": _texts([info.display_name for info in infos]),
        "description": _texts([info.description for info in infos]),
        "plugin_content": _binaries([info.plugin_content for info in infos]),
    }


def _sampled_tables(snapshot: Snapshot) -> list[dict[str, pa.Array]]:
    """Tensor points and blob points (rows grouped by tag), and one row per reservoir."""
    reservoirs = [
        (kind, tag, sampled)
        for kind, table in (("tensors", snapshot.tensors), ("blobs", snapshot.blobs))
        for tag, sampled in table.items()
    ]
    tensors = [(t, p) for k, t, s in reservoirs if k == "tensors" for p in s.items]
    blobs = [(t, p) for k, t, s in reservoirs if k == "blobs" for p in s.items]
    return [
        _tensor_table(tensors),
        _blob_table(blobs),
        {
            "kind": _texts([kind for kind, _, _ in reservoirs]).dictionary_encode(),
            "tag": _texts([tag for _, tag, _ in reservoirs]),
            "size": _optional_ints([s.size for _, _, s in reservoirs]),
            "seen": _numbers([s.seen for _, _, s in reservoirs], np.int64),
            "count": _numbers([len(s.items) for _, _, s in reservoirs], np.int64),
            # b"": the generator is still in its seeded state (see _sampled).
            "rng": _binaries([s.rng or b"" for _, _, s in reservoirs]),
        },
    ]


def _tensor_table(rows: list[tuple[str, TensorPoint]]) -> dict[str, pa.Array]:
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
        "tag": _texts([tag for tag, _ in rows]).dictionary_encode(),
        "step": _numbers([point.step for _, point in rows], np.int64),
        "wall_time": _numbers([point.wall_time for _, point in rows], np.float64),
        "dtype": _texts([point.array.dtype.str for _, point in rows]),
        "shape": _lists(list(map(len, shapes)), _numbers([n for s in shapes for n in s], np.int64)),
        "data": _binaries(data),
        "strings": _lists(list(map(len, strings)), _binaries([b for s in strings for b in s])),
    }


def _blob_table(rows: list[tuple[str, BlobPoint]]) -> dict[str, pa.Array]:
    refs = [point.ref for _, point in rows]
    return {
        "tag": _texts([tag for tag, _ in rows]).dictionary_encode(),
        "step": _numbers([point.step for _, point in rows], np.int64),
        "wall_time": _numbers([point.wall_time for _, point in rows], np.float64),
        "path": _binaries([os.fsencode(ref.path) for ref in refs]).dictionary_encode(),
        "offset": _numbers([ref.offset for ref in refs], np.int64),
        "length": _numbers([ref.length for ref in refs], np.int64),
        "index": _numbers([ref.index for ref in refs], np.int32),
        "count": _numbers([point.count for _, point in rows], np.int64),
    }


def read_snapshot(path: str) -> Snapshot:
    """Map the cache file at ``path``; raise on anything unexpected.

    Scalar columns are views of the mapped file (read-only, never copied);
    the mapping lives as long as they do, the file handle is closed at once.
    """
    source = pa.memory_map(path, "r")
    try:
        reader = ipc.open_file(source)
        header = json.loads(reader.schema.metadata[_HEADER_KEY])
        if header.get("format") != FORMAT_VERSION or header.get("lumiboard") != __version__:
            raise VersionError(
                f"format {header.get('format')} of lumiboard {header.get('lumiboard')}, "
                f"not format {FORMAT_VERSION} of lumiboard {__version__}"
            )
        if [field.type for field in reader.schema][1:] != [pa.int64(), pa.float64(), pa.float64()]:
            raise ValueError("unexpected scalar columns")
        scalar_tags = [str(tag) for tag in header["scalar_tags"]]
        if reader.num_record_batches != len(scalar_tags) + 1:
            raise ValueError("scalar batches and tags differ in number")
        scalars = {tag: _columns(reader.get_batch(i)) for i, tag in enumerate(scalar_tags)}
        _, custom = reader.get_batch_with_custom_metadata(len(scalar_tags))
        tag_table, tensor_table, blob_table, reservoirs = map(_aux, (custom[k] for k in _AUX_KEYS))
    finally:
        source.close()
    tensors, blobs = _read_sampled(reservoirs, _read_tensors(tensor_table), _read_blobs(blob_table))
    return Snapshot(
        location=str(header["location"]),
        samples={str(k): None if v is None else int(v) for k, v in header["samples"].items()},
        files=[_file_entry(item) for item in header["files"]],
        tag_kinds={str(tag): int(kind) for tag, kind in header["tag_kinds"].items()},
        loader={name: read(header["loader"][name]) for name, read in LOADER_FIELDS.items()},
        start_time=_optional_float(header["start_time"]),
        skipped={str(tag): int(count) for tag, count in header["skipped"].items()},
        tags=_read_tags(tag_table),
        scalars=scalars,
        tensors=tensors,
        blobs=blobs,
    )


def _aux(data: bytes) -> Any:
    batch = ipc.open_stream(pa.py_buffer(data)).read_next_batch()
    batch.validate(full=True)  # offsets within bounds before Python reads them
    return batch


def _columns(batch: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    step, wall_time, value = (batch.column(i) for i in (1, 2, 3))  # not the tag codes
    if step.null_count or wall_time.null_count or value.null_count:
        raise ValueError("a scalar batch with nulls")
    return _view(step, np.int64), _view(wall_time, np.float64), _view(value, np.float64)


def _view(column: Any, dtype: Any, extra: int = 0) -> np.ndarray:
    """A numeric Arrow array's values as a numpy view: no copy (``to_numpy`` imports pandas)."""
    data = column.buffers()[1]
    if data is None:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(data, dtype=dtype)[column.offset : column.offset + len(column) + extra]


def _file_entry(item: list[Any]) -> FileEntry:
    path, offset, size, dead, head_crc, tail_crc = item
    state = FileState(str(path), int(offset), int(size), bool(dead))
    if not 0 <= state.offset <= state.size:
        raise ValueError(f"bad offset {state.offset} for {state.path}")
    return FileEntry(state, int(head_crc), int(tail_crc))


def _read_tags(table: Any) -> dict[str, TagInfo]:
    columns = table.to_pydict()
    return {
        str(tag): TagInfo(str(plugin), DataClass(data_class), str(display), str(text), bytes(blob))
        for tag, plugin, data_class, display, text, blob in zip(*columns.values(), strict=True)
    }


def _read_tensors(table: Any) -> list[TensorPoint]:
    columns = table.select(["step", "wall_time", "dtype", "shape", "strings"]).to_pydict()
    data = table.column("data")
    offsets = _view(data, np.int64, extra=1)
    raw = data.buffers()[2]
    content = np.frombuffer(raw, np.uint8) if raw is not None else np.empty(0, np.uint8)
    points = []
    for row, (step, wall_time, dtype_text, shape, strings) in enumerate(
        zip(*columns.values(), strict=True)
    ):
        dtype = np.dtype(dtype_text)
        if dtype.kind == "O":
            array = np.empty(len(strings), dtype=object)
            array[:] = strings
        elif dtype.kind in "biufc":
            # A copy: the store owns its tensors (aligned and writable, as decoded).
            array = content[offsets[row] : offsets[row + 1]].view(dtype).copy()
        else:
            raise ValueError(f"bad tensor dtype {dtype_text!r}")
        points.append(TensorPoint(int(step), float(wall_time), array.reshape(shape)))
    return points


def _read_blobs(table: Any) -> list[BlobPoint]:
    paths = table.column("path")
    names = [os.fsdecode(name) for name in paths.dictionary.to_pylist()]
    columns = table.select(["step", "wall_time", "offset", "length", "index", "count"])
    return [
        BlobPoint(int(step), float(wall), BlobRef(names[code], offset, length, index), count)
        for code, step, wall, offset, length, index, count in zip(
            paths.indices.to_pylist(), *columns.to_pydict().values(), strict=True
        )
    ]


def _read_sampled(
    table: Any, tensors: list[TensorPoint], blobs: list[BlobPoint]
) -> tuple[dict[str, Sampled], dict[str, Sampled]]:
    """Deal the points out to their reservoirs, in the order they were written."""
    points: dict[str, list[Any]] = {"tensors": list(tensors), "blobs": list(blobs)}
    result: dict[str, dict[str, Sampled]] = {"tensors": {}, "blobs": {}}
    taken = {"tensors": 0, "blobs": 0}
    for kind, tag, size, seen, count, rng in zip(*table.to_pydict().values(), strict=True):
        start = taken[kind]
        taken[kind] = end = start + int(count)
        result[kind][str(tag)] = Sampled(size, int(seen), rng or None, points[kind][start:end])
    if taken != {kind: len(items) for kind, items in points.items()}:
        raise ValueError("reservoirs and points differ in number")
    return result["tensors"], result["blobs"]
