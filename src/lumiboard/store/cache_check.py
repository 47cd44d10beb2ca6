"""What a cache file must pass before any of it is served.

A cache file sits in a directory anyone with the user's rights can write to,
on disks that flip bits; :mod:`lumiboard.store.cache_format` trusts none of it:

- :func:`read_file` opens only a regular file, without following a link or
  blocking (a FIFO at the path would block ``open`` until a writer came), and
  reads it into memory: a *mapped* file truncated under the process kills it
  with SIGBUS at the next access, and the checksums read every byte anyway;
- :func:`crc` is CRC32C (``google-crc32c``, C-accelerated: ~20 GB/s), kept in
  the header for each scalar series' blocks and each auxiliary table,
  and for the header itself under its own key: a flipped bit anywhere in the
  data, or a footer that points a column at other bytes, is a mismatch;
- :func:`check_header` checks the type, the range and the consistency of
  every field of the JSON header (lengths that must agree, indices within
  their lists, names that must be unique) before anything is built from it.

Any failure raises :class:`DamageError`, and the caller deletes the cache.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Collection
from typing import Any, TypeVar

import google_crc32c
import numpy as np

from lumiboard.plugins.base import DataClass
from lumiboard.reader.scan import OTHER, SCALAR

T = TypeVar("T")

_INT64 = 2**63
_CRC = 2**32
_DATA_CLASSES = frozenset(kind.value for kind in DataClass)
_TAG_KINDS = frozenset((SCALAR, OTHER))
#: The auxiliary tables, in the order they are written.
AUX_NAMES = ("tensors", "blobs")
#: O_NONBLOCK: opening a FIFO for reading blocks until a writer opens it;
#: O_NOFOLLOW: the cache never writes links, so one at its path is not ours.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
#: Arrow's buffer alignment; the read buffer starts on it, as a mapping would.
_ALIGNMENT = 64


class DamageError(ValueError):
    """The cache file is not one this version wrote, whole and unchanged."""


# ---- reading the file ------------------------------------------------------------------


def read_file(path: str, max_bytes: int | None = None) -> np.ndarray:
    """The bytes of the regular file at ``path``, read-only, 64-byte aligned.

    Raises FileNotFoundError when there is none, DamageError when something
    else than a regular file is there, it is larger than ``max_bytes`` (a
    sparse file or another program's data at the cache path must not be read
    whole), or it changes size while read.
    """
    # lstat first, so that a device or FIFO is not even opened; fstat after,
    # for what was actually opened (the path may change in between).
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise DamageError("not a regular file")
    handle = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise DamageError("not a regular file")
        size = info.st_size
        if max_bytes is not None and size > max_bytes:
            raise DamageError(f"{size} bytes, more than its run could need ({max_bytes})")
        raw = np.empty(size + _ALIGNMENT, np.uint8)
        start = -raw.ctypes.data % _ALIGNMENT
        data = raw[start : start + size]
        view = data.data  # a memoryview of it
        done = 0
        while done < size:  # one read is capped (2 GiB on Linux)
            count = os.readv(handle, [view[done:]])
            if count == 0:
                raise DamageError("shorter than when it was opened")
            done += count
        if os.read(handle, 1):
            raise DamageError("longer than when it was opened")
    finally:
        os.close(handle)
    data.setflags(write=False)  # views of it are served: the store never writes in place
    return data


def crc(data: Any, start: int = 0) -> int:
    """CRC32C of a contiguous buffer (bytes, a numpy array, a pyarrow Buffer),
    or of ``start``'s data followed by it."""
    value: int = google_crc32c.extend(start, data)
    return value


# ---- the header's fields ---------------------------------------------------------------


def _fail(what: str, value: object) -> DamageError:
    text = repr(value)
    return DamageError(f"bad {what}: {text[:80]}{'...' if len(text) > 80 else ''}")


def integer(value: object, what: str = "integer", low: int = -_INT64, high: int = _INT64) -> int:
    """``value`` if it is an int (not a bool) in ``[low, high)``."""
    if type(value) is not int or not low <= value < high:
        raise _fail(what, value)
    return value


def count(value: object, what: str = "count") -> int:
    return integer(value, what, 0)


def optional_count(value: object, what: str = "count") -> int | None:
    return None if value is None else count(value, what)


def checksum(value: object, what: str = "checksum") -> int:
    return integer(value, what, 0, _CRC)


def number(value: object, what: str = "number") -> float:
    """``value`` as a float if it is a JSON number (NaN and infinities included)."""
    if type(value) not in (int, float):
        raise _fail(what, value)
    return float(value)  # type: ignore[arg-type]


def optional_number(value: object, what: str = "number") -> float | None:
    return None if value is None else number(value, what)


def flag(value: object, what: str = "flag") -> bool:
    if type(value) is not bool:
        raise _fail(what, value)
    return value


def text(value: object, what: str = "text") -> str:
    if type(value) is not str:
        raise _fail(what, value)
    return value


def optional_text(value: object, what: str = "text") -> str | None:
    return None if value is None else text(value, what)


def listing(value: object, what: str, length: int | None = None) -> list[Any]:
    """``value`` if it is a list (of ``length`` items, when given)."""
    if type(value) is not list or (length is not None and len(value) != length):
        raise _fail(what, value)
    return value


def mapping(value: object, what: str, check: Callable[[object, str], T]) -> dict[str, T]:
    """``value`` if it is a dict of text keys, each value passing ``check``."""
    if type(value) is not dict:
        raise _fail(what, value)
    return {text(key, what): check(item, what) for key, item in value.items()}


def rows(value: object, what: str, width: int, length: int | None = None) -> list[list[Any]]:
    """A list of lists of ``width`` items each."""
    items = listing(value, what, length)
    for item in items:
        listing(item, what, width)
    return items


def unique(items: Collection[Any], what: str) -> None:
    if len(set(items)) != len(items):
        raise DamageError(f"{what} repeated")


def check_header(header: object, loader_fields: dict[str, Callable[[object, str], Any]]) -> None:
    """Raise DamageError unless every field of a cache's header is well-formed.

    ``format`` and ``lumiboard`` (the versions) are the caller's to check.
    """
    fields = mapping(header, "header", lambda value, _: value)
    expected = {
        *("format", "lumiboard", "location", "samples", "loader", "start_time", "tag_kinds"),
        *("skipped", "files", "tags", "tag_info", "tag_display", "tag_infos", "scalar_tags"),
        *("scalar_counts", "scalar_blocks", "scalar_batches", "scalar_crcs", "reservoirs"),
        "aux",
    }
    if set(fields) != expected:
        raise DamageError(f"header fields {sorted(fields)}")
    text(fields["location"], "location")
    mapping(fields["samples"], "samples", optional_count)
    loader = mapping(fields["loader"], "loader", lambda value, _: value)
    if set(loader) != set(loader_fields):
        raise _fail("loader fields", sorted(loader))
    for name, check in loader_fields.items():
        check(loader[name], name)
    optional_number(fields["start_time"], "start_time")
    kinds = mapping(fields["tag_kinds"], "tag kinds", integer)
    if not set(kinds.values()) <= _TAG_KINDS:
        raise _fail("tag kinds", sorted(set(kinds.values())))
    mapping(fields["skipped"], "skipped", count)
    _check_files(fields["files"])
    _check_tags(fields)
    _check_scalars(fields)
    _check_reservoirs(fields["reservoirs"])
    aux = mapping(fields["aux"], "aux", checksum)
    if not set(aux) <= set(AUX_NAMES):
        raise _fail("aux", sorted(aux))


def _check_files(value: object) -> None:
    files = rows(value, "files", 5)
    for path, offset, size, head_crc, tail_crc in files:
        text(path, "file path")
        count(offset, "file offset")
        integer(size, "file size", offset)
        checksum(head_crc, "file identity")
        checksum(tail_crc, "file identity")
    unique([item[0] for item in files], "file path")


def _check_tags(fields: dict[str, Any]) -> None:
    infos = rows(fields["tag_infos"], "tag infos", 4)
    for plugin, kind, description, content in infos:
        text(plugin, "plugin name")
        if integer(kind, "data class") not in _DATA_CLASSES:
            raise _fail("data class", kind)
        text(description, "description")
        text(content, "plugin content")  # base64: decoding checks it
    tags = [text(tag, "tag") for tag in listing(fields["tags"], "tags")]
    unique(tags, "tag")
    for index in listing(fields["tag_info"], "tag info", len(tags)):
        integer(index, "tag info index", 0, len(infos))
    for display in listing(fields["tag_display"], "tag display names", len(tags)):
        optional_text(display, "display name")


def _check_scalars(fields: dict[str, Any]) -> None:
    tags = [text(tag, "scalar tag") for tag in listing(fields["scalar_tags"], "scalar tags")]
    unique(tags, "scalar tag")
    points = listing(fields["scalar_counts"], "scalar counts", len(tags))
    blocks = listing(fields["scalar_blocks"], "scalar blocks", len(tags))
    for value, number in zip(points, blocks, strict=True):
        # A series of points has at least one block, and no block is empty.
        if not count(number, "scalar blocks") <= count(value, "scalar count") or (
            value and not number
        ):
            raise _fail("scalar blocks", [value, number])
    batches = [count(size, "batch size") for size in listing(fields["scalar_batches"], "batches")]
    if 0 in batches or sum(batches) != len(tags):
        raise _fail("batch sizes", batches)
    for value in listing(fields["scalar_crcs"], "scalar checksums", len(tags)):
        checksum(value)


def _check_reservoirs(value: object) -> None:
    reservoirs = rows(value, "reservoirs", 6)
    for kind, tag, size, seen, items, rng in reservoirs:
        if kind not in AUX_NAMES:
            raise _fail("reservoir kind", kind)
        text(tag, "reservoir tag")
        count(items, "reservoir items")
        integer(seen, "points seen", items)  # never fewer than the points kept
        if size is not None:
            integer(size, "reservoir size", max(1, items))  # never more points than its size
        optional_text(rng, "random state")  # base64: decoding checks it
    unique([(item[0], item[1]) for item in reservoirs], "reservoir")
