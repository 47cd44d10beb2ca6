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
  ``tag_kinds`` and skipped counts, each event file's read state (path,
  offset, size, dead) with its identity checksums, and the tag infos: each
  distinct (plugin, data class, description, content) once, each tag an
  index into those and its display name (null: the tag itself);
- a last, empty batch whose custom metadata holds small Arrow IPC streams:
  tensor points (dtype, shape, raw bytes) and blob references, when any.

A restart reads one such file per run, so reading one costs little: the file
is mapped once and read as one buffer, the header holds one entry per
distinct tag info (not per tag), and series are slices of the batch columns.

:func:`read_snapshot` raises :class:`VersionError` for a file of another
format or lumiboard version, and some other exception (pyarrow's, ``KeyError``,
``ValueError``...) for anything else it does not expect.
"""

from __future__ import annotations

import base64
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
FORMAT_VERSION = 2

_HEADER_KEY = b"lumiboard.cache"


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
# Arrays are built from buffers, never with ``pa.array``, and read back as
# buffers, never with ``to_numpy``: both import pandas (half a second and
# 40 MB), which a restart must not pay for. Small things (tag infos, the
# reservoirs' state) go in the JSON header: a restart opens one file per run,
# and parsing them there costs less than opening an Arrow stream for each.

#: Scalar series are written in batches of whole series, of about this many
#: rows: few batches to open on a restart, and a bounded copy when saving.
BATCH_ROWS = 1 << 20

_AUX = {"tensors": b"lumiboard.tensors", "blobs": b"lumiboard.blobs"}


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
    columns = list(snapshot.scalars.values())
    groups = _groups([len(step) for step, _, _ in columns])
    index = np.int8 if len(columns) < 2**7 else np.int16 if len(columns) < 2**15 else np.int32
    dictionary = _texts(list(snapshot.scalars))
    rows = {
        "tensors": [(t, p) for t, s in snapshot.tensors.items() for p in s.items],
        "blobs": [(t, p) for t, s in snapshot.blobs.items() for p in s.items],
    }
    builders = {"tensors": _tensor_table, "blobs": _blob_table}
    # Empty tables are not built at all: dictionary_encode loads pyarrow.compute
    # (~80 ms, ~20 MB), a cost a scalars-only run should not pay.
    names = [name for name, found in rows.items() if found]
    aux = {_AUX[name]: _stream(builders[name](rows[name])) for name in names}  # type: ignore[operator]
    header = _header(snapshot, [len(group) for group in groups], names)
    schema = pa.schema(
        [
            ("tag", pa.dictionary(pa.from_numpy_dtype(index), pa.large_string())),
            ("step", pa.int64()),
            ("wall_time", pa.float64()),
            ("value", pa.float64()),
        ],
        metadata={_HEADER_KEY: json.dumps(header).encode()},
    )

    def batch(positions: range) -> Any:
        parts = [columns[position] for position in positions]
        counts = [len(part[0]) for part in parts]
        codes = np.repeat(np.arange(positions.start, positions.stop, dtype=index), counts)
        dtypes = (np.int64, np.float64, np.float64)
        # One series: its columns as they are (no copy); several: concatenated.
        merged = (
            parts[0]
            if len(parts) == 1
            else [
                np.concatenate([np.empty(0, dtype), *(part[i] for part in parts)])
                for i, dtype in enumerate(dtypes)
            ]
        )
        values = map(_numbers, merged, dtypes)
        tag = pa.DictionaryArray.from_arrays(_numbers(codes), dictionary)
        return pa.record_batch([tag, *values], schema=schema)

    with ipc.new_file(sink, schema) as writer:
        for group in groups:
            writer.write_batch(batch(group))
        # Last, an empty batch carrying the tensor and blob tables, if any.
        writer.write_batch(batch(range(0)), custom_metadata=aux)


def _groups(counts: list[int]) -> list[range]:
    """Consecutive series, grouped into batches of about BATCH_ROWS rows."""
    groups, start, rows = [], 0, 0
    for position, count in enumerate(counts):
        if rows and rows + count > BATCH_ROWS:
            groups.append(range(start, position))
            start, rows = position, 0
        rows += count
    if start < len(counts):
        groups.append(range(start, len(counts)))
    return groups


def _tag_infos(tags: dict[str, TagInfo]) -> dict[str, list[Any]]:
    """The tags' infos, each distinct one once (most runs have one or a few)."""
    distinct: dict[tuple[str, int, str, bytes], int] = {}
    indices, displays = [], []
    for tag, info in tags.items():
        key = (info.plugin_name, info.data_class.value, info.description, info.plugin_content)
        indices.append(distinct.setdefault(key, len(distinct)))
        displays.append(None if info.display_name == tag else info.display_name)
    return {
        "tags": list(tags),
        "tag_info": indices,
        "tag_display": displays,
        "tag_infos": [
            [plugin, kind, description, base64.b64encode(content).decode()]
            for plugin, kind, description, content in distinct
        ],
    }


def _header(snapshot: Snapshot, batches: list[int], aux: list[str]) -> dict[str, Any]:
    sampled = [
        (kind, tag, reservoir)
        for kind, table in (("tensors", snapshot.tensors), ("blobs", snapshot.blobs))
        for tag, reservoir in table.items()
    ]
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
        **_tag_infos(snapshot.tags),
        "scalar_tags": list(snapshot.scalars),
        "scalar_counts": [len(step) for step, _, _ in snapshot.scalars.values()],
        "scalar_batches": batches,
        # The generator's state only once it has been drawn from (see cache._sampled).
        "reservoirs": [
            [kind, tag, s.size, s.seen, len(s.items), s.rng and base64.b64encode(s.rng).decode()]
            for kind, tag, s in sampled
        ],
        "aux": aux,
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


def _stream(columns: dict[str, pa.Array]) -> bytes:
    batch = pa.record_batch(list(columns.values()), names=list(columns))
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)  # one batch, even when empty
    return bytes(sink.getvalue())


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
        # The whole mapping as one buffer (no copy): the reader then slices
        # it instead of reading through the file object, several times faster
        # for the footer, schema and batch headers of a small file.
        reader = ipc.open_file(source.read_buffer())
        header = json.loads(reader.schema.metadata[_HEADER_KEY])
        if header.get("format") != FORMAT_VERSION or header.get("lumiboard") != __version__:
            raise VersionError(
                f"format {header.get('format')} of lumiboard {header.get('lumiboard')}, "
                f"not format {FORMAT_VERSION} of lumiboard {__version__}"
            )
        if [field.type for field in reader.schema][1:] != [pa.int64(), pa.float64(), pa.float64()]:
            raise ValueError("unexpected scalar columns")
        scalars = _read_scalars(reader, header)
        aux = [str(name) for name in header["aux"]]
        custom = (
            reader.get_batch_with_custom_metadata(reader.num_record_batches - 1)[1] if aux else {}
        )
        tensors = _read_tensors(_aux(custom[_AUX["tensors"]])) if "tensors" in aux else []
        blobs = _read_blobs(_aux(custom[_AUX["blobs"]])) if "blobs" in aux else []
    finally:
        source.close()
    sampled = _read_sampled(header["reservoirs"], {"tensors": tensors, "blobs": blobs})
    return Snapshot(
        location=str(header["location"]),
        samples={str(k): None if v is None else int(v) for k, v in header["samples"].items()},
        files=[_file_entry(item) for item in header["files"]],
        tag_kinds={str(tag): int(kind) for tag, kind in header["tag_kinds"].items()},
        loader={name: read(header["loader"][name]) for name, read in LOADER_FIELDS.items()},
        start_time=_optional_float(header["start_time"]),
        skipped={str(tag): int(count) for tag, count in header["skipped"].items()},
        tags=_read_tags(header),
        scalars=scalars,
        tensors=sampled["tensors"],
        blobs=sampled["blobs"],
    )


Columns = tuple[np.ndarray, np.ndarray, np.ndarray]


def _read_scalars(reader: Any, header: dict[str, Any]) -> dict[str, Columns]:
    tags = [str(tag) for tag in header["scalar_tags"]]
    counts = [int(count) for count in header["scalar_counts"]]
    batches = [int(size) for size in header["scalar_batches"]]
    if sum(batches) != len(tags) or min(counts, default=0) < 0:
        raise ValueError("bad scalar series lengths")
    series = list(zip(tags, counts, strict=True))
    if reader.num_record_batches != len(batches) + 1:
        raise ValueError("unexpected number of batches")
    scalars: dict[str, Columns] = {}
    position = 0
    for number, size in enumerate(batches):
        step, wall_time, value = _columns(reader.get_batch(number))
        start = 0
        for tag, count in series[position : position + size]:
            end = start + count
            scalars[tag] = step[start:end], wall_time[start:end], value[start:end]
            start = end
        if start != len(step):
            raise ValueError("a batch's rows and its series' lengths differ")
        position += size
    return scalars


def _read_tags(header: dict[str, Any]) -> dict[str, TagInfo]:
    infos = [
        (str(plugin), DataClass(int(kind)), str(description), _bytes(content))
        for plugin, kind, description, content in header["tag_infos"]
    ]
    if min(header["tag_info"], default=0) < 0:
        raise ValueError("bad tag info index")
    tags: dict[str, TagInfo] = {}
    for tag, index, display in zip(
        header["tags"], header["tag_info"], header["tag_display"], strict=True
    ):
        plugin, kind, description, content = infos[index]
        name = str(tag)
        tags[name] = TagInfo(
            plugin, kind, name if display is None else str(display), description, content
        )
    return tags


def _bytes(text: object) -> bytes:
    return base64.b64decode(str(text), validate=True)


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
    reservoirs: list[list[Any]], points: dict[str, list[Any]]
) -> dict[str, dict[str, Sampled]]:
    """Deal the points out to their reservoirs, in the order they were written."""
    result: dict[str, dict[str, Sampled]] = {"tensors": {}, "blobs": {}}
    taken = {"tensors": 0, "blobs": 0}
    for kind, tag, size, seen, count, rng in reservoirs:
        start = taken[kind]
        taken[kind] = end = start + int(count)
        items = points[kind][start:end]
        kept = None if size is None else int(size)
        result[kind][str(tag)] = Sampled(kept, int(seen), rng and _bytes(rng), items)
    if taken != {kind: len(items) for kind, items in points.items()}:
        raise ValueError("reservoirs and points differ in number")
    return result
