"""The cache file of one run: an Apache Arrow IPC file, and what it holds.

:func:`write_snapshot` and :func:`read_snapshot` are an encode/decode pair for
a :class:`Snapshot` (everything a :class:`~lumiboard.reader.ingest.RunLoader`
holds for a run); :mod:`lumiboard.store.cache` decides when to use them.
The file holds:

- record batches of scalar *blocks* (``tag`` dictionary-encoded, ``block``:
  one encoded block of :mod:`lumiboard.store.encoding` per row), whole
  series per batch, each series' blocks in step order: read back, a block is
  a view of the file's bytes, installed as it is (never decoded or
  re-encoded on a restart), so the file is about as large as the points it
  holds are in memory (~8 bytes a point); :func:`read_series_mapped` reads
  one series' points through a memory map;
- the schema's metadata (``lumiboard.cache``, JSON): the cache format and
  lumiboard versions, the run's location, the reservoir sizes in force, the
  loader's own fields (:data:`LOADER_FIELDS`), the run's ``start_time``,
  ``tag_kinds`` and skipped counts, each event file's read state (path,
  offset, size) with its identity checksums, and the tag infos: each
  distinct (plugin, data class, description, content) once, each tag an
  index into those and its display name (null: the tag itself); each scalar
  series' points, blocks and the CRC32C of its blocks' bytes; and the CRC32C
  of each auxiliary table;
- the CRC32C of the header itself, under its own key of the schema's metadata;
- a last, empty batch whose custom metadata holds small Arrow IPC streams:
  tensor points (dtype, shape, raw bytes) and blob references, when any.

A restart reads one such file per run, so reading one costs little: the file
is read once into one buffer (:func:`~lumiboard.store.cache_check.read_file`:
not mapped, so that a file truncated under the process cannot kill it), the
header holds one entry per distinct tag info (not per tag), and series are
views of the batch's bytes.

:func:`read_snapshot` serves nothing it has not checked
(:mod:`lumiboard.store.cache_check`): every checksum, and every field's type,
range and consistency. It raises :class:`VersionError` for a file of another
format or lumiboard version, :class:`~lumiboard.store.cache_check.DamageError`
for a damaged one, and possibly some other exception (pyarrow's, ``OSError``...)
for anything else it cannot read.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import itertools
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
from lumiboard.store import cache_blocks, encoding
from lumiboard.store import cache_check as check
from lumiboard.store import cache_tables as tables
from lumiboard.store.cache_check import DamageError, crc
from lumiboard.store.runs import TagInfo

#: Bumped whenever the layout or the meaning of a field changes
#: (3: checksums of the header, the columns and the auxiliary tables;
#: 4: scalar series as encoded blocks, one checksum per series; 5: blocks
#: whose values may be delta-coded too; 6: differences around their median;
#: 7: int32 exception positions).
FORMAT_VERSION = 7

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
    #: Each series' encoded blocks (:mod:`lumiboard.store.encoding`), in step order.
    scalars: dict[str, list[np.ndarray]]
    tensors: dict[str, Sampled]
    blobs: dict[str, Sampled]


class VersionError(Exception):
    """A cache written by another cache format or lumiboard version."""


class SeriesNotFoundError(LookupError):
    """A cache file without the scalar series asked for."""


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
#: bytes: few batches to open on a restart, and a bounded copy when saving.
BATCH_BYTES = 8 << 20

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


_SCALAR_NAMES = ["tag", "block"]


def _write(sink: Any, snapshot: Snapshot) -> None:
    series = list(snapshot.scalars.values())
    groups = cache_blocks.groups(
        [sum(block.nbytes for block in blocks) for blocks in series], BATCH_BYTES
    )
    index = np.int8 if len(series) < 2**7 else np.int16 if len(series) < 2**15 else np.int32
    dictionary = tables.texts(list(snapshot.scalars))
    sampled = {
        "tensors": [(t, p) for t, s in snapshot.tensors.items() for p in s.items],
        "blobs": [(t, p) for t, s in snapshot.blobs.items() for p in s.items],
    }
    # Empty tables are not built at all: dictionary_encode loads pyarrow.compute
    # (~80 ms, ~20 MB), a cost a scalars-only run should not pay.
    aux = {name: tables.encode_table(name, found) for name, found in sampled.items() if found}
    crcs = [cache_blocks.series_crc(blocks) for blocks in series]
    header = json.dumps(_header(snapshot, groups, crcs, aux)).encode()
    schema = pa.schema(
        [
            ("tag", pa.dictionary(pa.from_numpy_dtype(index), pa.large_string())),
            ("block", pa.large_binary()),
        ],
        metadata={_HEADER_KEY: header, _CHECK_KEY: str(crc(header)).encode()},
    )

    def batch(positions: range) -> Any:
        parts = [series[position] for position in positions]
        counts = [len(part) for part in parts]
        codes = np.repeat(np.arange(positions.start, positions.stop, dtype=index), counts)
        column = cache_blocks.column([block for part in parts for block in part])
        tag = pa.DictionaryArray.from_arrays(tables.numbers(codes), dictionary)
        return pa.record_batch([tag, column], schema=schema)

    with ipc.new_file(sink, schema) as writer:
        for group in groups:
            writer.write_batch(batch(group))
        # Last, an empty batch carrying the tensor and blob tables, if any.
        custom = {_AUX[name]: data for name, data in aux.items()}
        writer.write_batch(batch(range(0)), custom_metadata=custom)


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
    snapshot: Snapshot, groups: list[range], crcs: list[int], aux: dict[str, bytes]
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
        "scalar_counts": [
            sum(encoding.info(block).points for block in blocks)
            for blocks in snapshot.scalars.values()
        ],
        "scalar_blocks": [len(blocks) for blocks in snapshot.scalars.values()],
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

    Scalar blocks are read-only views of the file's bytes, read into memory
    once (or, when the file holds much else, compact copies of them).
    """
    data = check.read_file(path, max_bytes)
    # Read as one buffer: the Arrow reader slices it instead of reading
    # through a file object, several times faster for a small file.
    reader = ipc.open_file(pa.py_buffer(data))
    header = _open(reader)
    scalars = cache_blocks.read_scalars(reader, header, len(data))
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


def _open(reader: Any) -> dict[str, Any]:
    """The checked header of an opened cache file, once its layout is checked too."""
    header = _read_header(reader.schema.metadata or {})
    schema = reader.schema
    if schema.names != _SCALAR_NAMES or schema.types[1] != pa.large_binary():
        raise DamageError("unexpected scalar columns")
    if reader.num_record_batches != len(header["scalar_batches"]) + 1:
        raise DamageError("unexpected number of batches")
    return header


Columns = tuple[np.ndarray, np.ndarray, np.ndarray]


def read_series_mapped(path: str, tag: str) -> Columns:
    """The points of one scalar series of the cache file at ``path`` as new
    (step int64, wall_time float64, value float32 or float64) arrays, sorted by step.

    The file is memory-mapped, so only the series' own bytes are read (and
    checked: its checksum, its blocks' layout). Raises
    :class:`SeriesNotFoundError` when the file holds no such series,
    :class:`VersionError` for a file of another version, :class:`DamageError`
    for a damaged one, ``OSError`` when it cannot be opened. A cache file is
    only ever replaced whole (renamed over), which leaves a mapping intact;
    one truncated in place while being read would still kill the process
    (SIGBUS), which is why the size is checked again right before the bytes
    are touched.
    """
    with pa.memory_map(path, "r") as source:
        try:
            reader = ipc.open_file(source)
            header = _open(reader)
        except (pa.ArrowException, ValueError, KeyError, TypeError) as error:
            if isinstance(error, (DamageError, VersionError)):
                raise
            raise DamageError(f"unreadable: {error}") from None
        tags = header["scalar_tags"]
        try:
            position = tags.index(tag)
        except ValueError:
            raise SeriesNotFoundError(f"no scalar series {tag!r} in {path}") from None
        # The batch holding it, and the position of that batch's first series.
        ends = list(itertools.accumulate(header["scalar_batches"]))
        number = bisect.bisect_right(ends, position)
        first = ends[number - 1] if number else 0
        try:
            batch = reader.get_batch(number)
        except (pa.ArrowException, ValueError) as error:
            raise DamageError(f"unreadable batch: {error}") from None
        if os.path.getsize(path) < source.size():
            raise DamageError("shorter than when it was mapped")
        data, offsets = cache_blocks.blocks_of(batch)
        row = sum(header["scalar_blocks"][first:position])
        rows = header["scalar_blocks"][position]
        if row + rows >= len(offsets):
            raise DamageError(f"batch {number}: fewer blocks than its series")
        blocks = cache_blocks.series_blocks(
            data,
            offsets,
            row,
            rows,
            header["scalar_counts"][position],
            header["scalar_crcs"][position],
        )
        return encoding.decode(blocks)


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
