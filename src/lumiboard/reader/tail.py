"""Following event files as they grow: offsets, truncated tails, replaced files."""

from __future__ import annotations

from dataclasses import dataclass

from lumiboard.writer import fs

#: Bytes read per step; a record larger than this is read whole on its own.
CHUNK_BYTES = 32 * 1024 * 1024


@dataclass
class FileState:
    """How far one event file has been read.

    ``offset`` is the end of the last whole record read; bytes past it (a
    record still being written) are read again at the next reload. A file
    with a bad length checksum is ``dead`` from ``offset`` on: nothing after
    it can be found, as in TensorBoard's Rust loader.
    """

    path: str
    offset: int = 0
    size: int = 0
    dead: bool = False


def read_range(path: str, start: int, end: int) -> bytes:
    """Bytes ``[start, end)`` of a local file or an fsspec URL."""
    if end <= start:
        return b""
    if fs.is_remote(path):
        filesystem, key = fs.filesystem(path)
        return bytes(filesystem.cat_file(key, start=start, end=end))
    with open(path, "rb") as handle:
        handle.seek(start)
        return handle.read(end - start)
