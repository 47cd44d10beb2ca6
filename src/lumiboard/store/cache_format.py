"""The cache file of one run: an Apache Arrow IPC file, and what it holds.

:func:`write_snapshot` and :func:`read_snapshot` are an encode/decode pair for
a :class:`Snapshot` (everything a :class:`~lumiboard.reader.ingest.RunLoader`
holds for a run); :mod:`lumiboard.store.cache` decides when to use them.
The file holds:

- record batches of scalar points (``tag`` dictionary-encoded, ``step``,
  ``wall_time``, ``value``), whole series per batch, sorted by step: read
  back, the columns are views of the file's bytes, never parsed; any Arrow
  reader (DuckDB, Polars...) sees one table of every point;
- the schema's metadata (``lumiboard.cache``, JSON): the cache format and
  lumiboard versions, the run's location, the reservoir sizes in force, the
  loader's own fields (:data:`LOADER_FIELDS`), the run's ``start_time``,
  ``tag_kinds`` and skipped counts, each event file's read state (path,
  offset, size) with its identity checksums, and the tag infos: each
  distinct (plugin, data class, description, content) once, each tag an
  index into those and its display name (null: the tag itself); and the
  CRC32C of each scalar column of each batch and of each auxiliary table;
- the CRC32C of the header itself, under its own key of the schema's metadata;
- a last, empty batch whose custom metadata holds small Arrow IPC streams:
  tensor points (dtype, shape, raw bytes) and blob references, when any.

A restart reads one such file per run, so reading one costs little: the file
is read once into one buffer (:func:`~lumiboard.store.cache_check.read_file`:
not mapped, so that a file truncated under the process cannot kill it), the
header holds one entry per distinct tag info (not per tag), and series are
slices of the batch columns.

:func:`read_snapshot` serves nothing it has not checked
(:mod:`lumiboard.store.cache_check`): every checksum, and every field's type,
range and consistency. It raises :class:`VersionError` for a file of another
format or lumiboard version, :class:`~lumiboard.store.cache_check.DamageError`
for a damaged one, and possibly some other exception (pyarrow's, ``OSError``...)
for anything else it cannot read.
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
from lumiboard.store import cache_check as check
from lumiboard.store import cache_tables as tables
from lumiboard.store.cache_check import DamageError, crc
from lumiboard.store.runs import TagInfo

#: Bumped whenever the layout or the meaning of a field changes
#: (3: checksums of the header, the columns and the auxiliary tables).
FORMAT_VERSION = 3

_HEADER_KEY = b"lumiboard.cache"
#: The header's CRC32C, in decimal: it cannot be inside the header it covers.
_CHECK_KEY = b"lumiboard.check"

#: The fields of a RunLoader, beyond its run, files and tag kinds, that decide
#: how the next bytes are read (purges), with how to check each read back.
LOADER_FIELDS: dict[str, Callable[[object, str], Any]] = {
    "file_version": check.optional_number,
    "most_recent_step": check.integer,
    "seen_start": check.flag,
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
# buffers, never with ``to_numpy`` (see cache_tables). Small things (tag
# infos, the reservoirs' state) go in the JSON header: a restart opens one
# file per run, and parsing them there costs less than opening an Arrow
# stream for each.

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


_DTYPES = (np.int64, np.float64, np.float64)
_TYPES = [pa.from_numpy_dtype(dtype) for dtype in _DTYPES]


def _write(sink: Any, snapshot: Snapshot) -> None:
    columns = list(snapshot.scalars.values())
    groups = _groups([len(step) for step, _, _ in columns])
    index = np.int8 if len(columns) < 2**7 else np.int16 if len(columns) < 2**15 else np.int32
    dictionary = tables.texts(list(snapshot.scalars))
    rows = {
        "tensors": [(t, p) for t, s in snapshot.tensors.items() for p in s.items],
        "blobs": [(t, p) for t, s in snapshot.blobs.items() for p in s.items],
    }
    # Empty tables are not built at all: dictionary_encode loads pyarrow.compute
    # (~80 ms, ~20 MB), a cost a scalars-only run should not pay.
    aux = {name: tables.encode_table(name, found) for name, found in rows.items() if found}
    crcs = [
        [_crc([columns[p][i] for p in group], _DTYPES[i]) for i in range(3)] for group in groups
    ]
    header = json.dumps(_header(snapshot, groups, crcs, aux)).encode()
    schema = pa.schema(
        [
            ("tag", pa.dictionary(pa.from_numpy_dtype(index), pa.large_string())),
            ("step", pa.int64()),
            ("wall_time", pa.float64()),
            ("value", pa.float64()),
        ],
        metadata={_HEADER_KEY: header, _CHECK_KEY: str(crc(header)).encode()},
    )

    def batch(positions: range) -> Any:
        parts = [columns[position] for position in positions]
        counts = [len(part[0]) for part in parts]
        codes = np.repeat(np.arange(positions.start, positions.stop, dtype=index), counts)
        # One series: its columns as they are (no copy); several: concatenated.
        merged = (
            parts[0]
            if len(parts) == 1
            else [
                np.concatenate([np.empty(0, dtype), *(part[i] for part in parts)])
                for i, dtype in enumerate(_DTYPES)
            ]
        )
        values = map(tables.numbers, merged, _DTYPES)
        tag = pa.DictionaryArray.from_arrays(tables.numbers(codes), dictionary)
        return pa.record_batch([tag, *values], schema=schema)

    with ipc.new_file(sink, schema) as writer:
        for group in groups:
            writer.write_batch(batch(group))
        # Last, an empty batch carrying the tensor and blob tables, if any.
        custom = {_AUX[name]: data for name, data in aux.items()}
        writer.write_batch(batch(range(0)), custom_metadata=custom)


def _crc(parts: list[np.ndarray], dtype: Any) -> int:
    """CRC32C of ``parts`` concatenated as ``dtype``, as a batch column holds them."""
    value = 0
    for part in parts:
        value = crc(np.ascontiguousarray(part, dtype=dtype), value)
    return value


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


def _header(
    snapshot: Snapshot, groups: list[range], crcs: list[list[int]], aux: dict[str, bytes]
) -> dict[str, Any]:
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
            [e.state.path, e.state.offset, e.state.size, e.head_crc, e.tail_crc]
            for e in snapshot.files
        ],
        **_tag_infos(snapshot.tags),
        "scalar_tags": list(snapshot.scalars),
        "scalar_counts": [len(step) for step, _, _ in snapshot.scalars.values()],
        "scalar_batches": [len(group) for group in groups],
        "scalar_crcs": crcs,
        # The generator's state only once it has been drawn from (see cache._sampled).
        "reservoirs": [
            [kind, tag, s.size, s.seen, len(s.items), _text(s.rng)] for kind, tag, s in sampled
        ],
        "aux": {name: crc(data) for name, data in aux.items()},
    }


def _text(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def read_snapshot(path: str, max_bytes: int | None = None) -> Snapshot:
    """Read the cache file at ``path`` (refused past ``max_bytes``); raise on anything unexpected.

    Scalar columns are read-only views of the file's bytes, read into memory
    once (or, when the file holds much else, compact copies of them).
    """
    data = check.read_file(path, max_bytes)
    # Read as one buffer: the Arrow reader slices it instead of reading
    # through a file object, several times faster for a small file.
    reader = ipc.open_file(pa.py_buffer(data))
    header = _read_header(reader.schema.metadata or {})
    schema = reader.schema
    if schema.names != ["tag", "step", "wall_time", "value"] or schema.types[1:] != _TYPES:
        raise DamageError("unexpected scalar columns")
    if reader.num_record_batches != len(header["scalar_batches"]) + 1:
        raise DamageError("unexpected number of batches")
    scalars = _read_scalars(reader, header, len(data))
    last, custom = reader.get_batch_with_custom_metadata(reader.num_record_batches - 1)
    aux = header["aux"]
    if last.num_rows or set(custom or {}) != {_AUX[name] for name in aux}:
        raise DamageError("unexpected auxiliary tables")
    rows = dict.fromkeys(check.AUX_NAMES, 0)
    for kind, _, _, _, items, _ in header["reservoirs"]:
        rows[kind] += items
    if any(rows[name] and name not in aux for name in rows):
        raise DamageError("reservoirs and points differ in number")
    points = {
        name: tables.decode_table(name, custom[_AUX[name]], aux[name], rows[name])
        if name in aux
        else []
        for name in check.AUX_NAMES
    }
    sampled = _read_sampled(header["reservoirs"], points)
    return Snapshot(
        location=header["location"],
        samples=header["samples"],
        files=[_file_entry(item) for item in header["files"]],
        tag_kinds=header["tag_kinds"],
        loader={name: read(header["loader"][name], name) for name, read in LOADER_FIELDS.items()},
        start_time=check.optional_number(header["start_time"]),
        skipped=header["skipped"],
        tags=_read_tags(header),
        scalars=scalars,
        tensors=sampled["tensors"],
        blobs=sampled["blobs"],
    )


def _read_header(metadata: dict[bytes, bytes]) -> dict[str, Any]:
    raw = metadata.get(_HEADER_KEY)
    if raw is None:
        raise DamageError("no header")
    header = json.loads(raw)
    if type(header) is not dict:
        raise DamageError("the header is not an object")
    # Before the checksum: a cache of another version is not damaged, only old.
    if header.get("format") != FORMAT_VERSION or header.get("lumiboard") != __version__:
        raise VersionError(
            f"format {header.get('format')!r:.20} of lumiboard {header.get('lumiboard')!r:.40}, "
            f"not format {FORMAT_VERSION} of lumiboard {__version__}"
        )
    if metadata.get(_CHECK_KEY) != str(crc(raw)).encode():
        raise DamageError("the header's checksum does not match")
    check.check_header(header, LOADER_FIELDS)
    return header


Columns = tuple[np.ndarray, np.ndarray, np.ndarray]

#: Scalar columns are copied out of the file's buffer when the rest of it
#: (tensors, mostly) is larger than this share of it, and than _KEPT_BYTES:
#: views would keep those bytes in memory as long as the series live.
_KEPT_SHARE = 4
_KEPT_BYTES = 1 << 20


def _read_scalars(reader: Any, header: dict[str, Any], file_size: int) -> dict[str, Columns]:
    batches: list[Columns] = []
    for number, crcs in enumerate(header["scalar_crcs"]):
        columns = _columns(reader.get_batch(number))
        if [crc(column) for column in columns] != crcs:
            raise DamageError(f"batch {number}: a column's checksum does not match")
        batches.append(columns)
    rest = file_size - sum(column.nbytes for columns in batches for column in columns)
    if rest > max(_KEPT_BYTES, file_size // _KEPT_SHARE):
        batches = [(_copy(step), _copy(wall), _copy(value)) for step, wall, value in batches]
    series = iter(zip(header["scalar_tags"], header["scalar_counts"], strict=True))
    scalars: dict[str, Columns] = {}
    for number, (size, (step, wall_time, value)) in enumerate(
        zip(header["scalar_batches"], batches, strict=True)
    ):
        start = 0
        for tag, count in [next(series) for _ in range(size)]:
            end = start + count
            scalars[tag] = step[start:end], wall_time[start:end], value[start:end]
            start = end
        if start != len(step):
            raise DamageError(f"batch {number}: its rows and its series' lengths differ")
    return scalars


def _copy(column: np.ndarray) -> np.ndarray:
    copy = column.copy()
    copy.setflags(write=False)
    return copy


def _read_tags(header: dict[str, Any]) -> dict[str, TagInfo]:
    infos = [
        (plugin, DataClass(kind), description, _bytes(content))
        for plugin, kind, description, content in header["tag_infos"]
    ]
    tags: dict[str, TagInfo] = {}
    for tag, index, display in zip(
        header["tags"], header["tag_info"], header["tag_display"], strict=True
    ):
        plugin, kind, description, content = infos[index]
        tags[tag] = TagInfo(plugin, kind, tag if display is None else display, description, content)
    return tags


def _bytes(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _columns(batch: Any) -> Columns:
    step, wall_time, value = (batch.column(i) for i in (1, 2, 3))  # not the tag codes
    if step.null_count or wall_time.null_count or value.null_count:
        raise DamageError("a scalar batch with nulls")
    columns = (
        tables.view(step, np.int64),
        tables.view(wall_time, np.float64),
        tables.view(value, np.float64),
    )
    if any(len(column) != batch.num_rows for column in columns):
        raise DamageError("a scalar column shorter than its batch")
    return columns


def _file_entry(item: list[Any]) -> FileEntry:
    path, offset, size, head_crc, tail_crc = item
    return FileEntry(FileState(path, offset, size), head_crc, tail_crc)


def _read_sampled(
    reservoirs: list[list[Any]], points: dict[str, list[Any]]
) -> dict[str, dict[str, Sampled]]:
    """Deal the points out to their reservoirs, in the order they were written."""
    result: dict[str, dict[str, Sampled]] = {"tensors": {}, "blobs": {}}
    taken = {"tensors": 0, "blobs": 0}
    for kind, tag, size, seen, count, rng in reservoirs:
        start = taken[kind]
        taken[kind] = end = start + count
        state = None if rng is None else _bytes(rng)
        result[kind][tag] = Sampled(size, seen, state, points[kind][start:end])
    return result
