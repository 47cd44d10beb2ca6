"""Following event files as they grow: offsets, truncated tails, damage, big records.

The scanner reads the whole records at the start of a window of bytes and stops
at the first one it cannot read whole; :func:`follow` then decides what comes
next, from the header there:

- fewer than 12 bytes, or a record still being written: wait for the next reload;
- a whole record longer than one window, at most :data:`MAX_RECORD_BYTES`:
  read it whole;
- a record longer than :data:`MAX_RECORD_BYTES` (its length checksum good):
  skipped without being read once the file holds it all, counted and logged;
  a length no ``Event`` can have (2 GiB or more) is damage, as below;
- a bad length checksum: *resync*, i.e. search on for the next whole frame
  (``format/tfrecord.py``) and read on from there; the damaged bytes cost the
  record they were in, counted as one skip. When no frame follows yet, the
  header may be one still being written (a file system that shows a file's
  new size before its bytes): wait, count nothing, and re-check it next time.
  How far the search got is kept, so a reload pass searches only new bytes.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from lumiboard.format import tfrecord
from lumiboard.format.tfrecord import FOOTER_SIZE, HEADER_SIZE, MAX_EVENT_BYTES
from lumiboard.reader import scan as scanner
from lumiboard.writer import fs

logger = logging.getLogger(__name__)

#: Bytes read per step; a record larger than this is read whole on its own.
CHUNK_BYTES = 32 * 1024 * 1024


def _max_record_bytes() -> int:
    text = os.environ.get("LUMIBOARD_MAX_RECORD_BYTES", "")
    try:
        limit = int(text) if text else 256 * 1024 * 1024
    except ValueError:
        logger.warning("LUMIBOARD_MAX_RECORD_BYTES=%r is not a number: using 256 MiB", text)
        limit = 256 * 1024 * 1024
    return max(0, min(limit, MAX_EVENT_BYTES))


#: Records longer than this are skipped (counted, logged), never read. Reading
#: a record costs about three times its size at once (its bytes, the payload,
#: the decoded Event); TensorBoard has no limit and reads a 1 GiB record whole.
#: 256 MiB keeps every image, audio clip, tensor and graph a dashboard can
#: show; the records past it are GraphDefs with their weights frozen in. Set
#: ``LUMIBOARD_MAX_RECORD_BYTES`` (at most protobuf's 2 GiB) to read those.
MAX_RECORD_BYTES = _max_record_bytes()


@dataclass
class FileState:
    """How far one event file has been read.

    ``offset`` is the end of the last whole record read (or skipped); bytes
    past it (a record still being written) are read again at the next reload.
    """

    path: str
    offset: int = 0
    size: int = 0
    #: The offset reading waits at (-1: none): a record not yet whole, or a
    #: broken header; while ``waiting == offset`` only its header is read
    #: again, and ``searched`` (where the search for a frame after a broken
    #: header resumes), ``searched_size`` (the file's size then: it resumes
    #: once the file has grown) and ``reported`` (the broken header was
    #: counted: an impossible length at once, a bad checksum when a frame
    #: follows) hold.
    waiting: int = -1
    searched: int = 0
    searched_size: int = 0
    reported: bool = False
    #: Bytes passed over: damaged spans resynced across, records over the limit.
    skipped_bytes: int = 0


def read_range(path: str, start: int, end: int) -> bytes:
    """Bytes ``[start, end)`` of a local file or an fsspec URL (fewer at its end)."""
    if end <= start:
        return b""
    if fs.is_remote(path):
        filesystem, key = fs.filesystem(path)
        return bytes(filesystem.cat_file(key, start=start, end=end))
    with open(path, "rb") as handle:
        # read(n) allocates n bytes first: never ask for more than the file has.
        end = min(end, os.fstat(handle.fileno()).st_size)
        if end <= start:
            return b""
        handle.seek(start)
        return handle.read(end - start)


def window_end(state: FileState) -> int:
    """Where the bytes to scan next end: one chunk past ``state.offset`` (at
    most ``state.size``), or only the header reading waits at: a record being
    written is not read again every reload pass."""
    step = HEADER_SIZE if state.waiting == state.offset else CHUNK_BYTES
    return min(state.size, state.offset + step)


def follow(state: FileState, window: bytes) -> tuple[bytes | None, list[tuple[int, str]]]:
    """What comes next when the scanner read nothing from ``window`` (the file
    from ``state.offset`` on); see the module docstring.

    Returns ``(record, skips)``: the bytes of one whole record to scan, or
    None; and the (offset, reason) of each thing skipped, ``state.offset``
    moved past them. None and no skips: wait for the file to grow.
    """
    if len(window) < HEADER_SIZE:
        return None, []
    length = tfrecord.read_length(window)
    start = state.offset
    if length is not None:
        end = start + HEADER_SIZE + length + FOOTER_SIZE
        if length <= MAX_RECORD_BYTES:
            if end > state.size or len(window) >= end - start:
                return _wait(state)  # still being written
            return read_range(state.path, start, end), []
        if end <= state.size:
            _skip_to(state, end)
            return None, [(start, "record too large")]
        if length <= MAX_EVENT_BYTES:
            return _wait(state)  # still being written: skipped once whole
    if state.waiting != start:
        _wait(state)
    reason = "bad length checksum" if length is None else "record too large"
    return None, _resync(state, window, reason)


def _wait(state: FileState) -> tuple[None, list[tuple[int, str]]]:
    """Wait at ``state.offset``: only its header is read again. The search
    state starts afresh: it was about the header as it was last seen."""
    state.waiting, state.searched, state.searched_size = state.offset, state.offset + 1, -1
    state.reported = False
    return None, []


def _resync(state: FileState, window: bytes, reason: str) -> list[tuple[int, str]]:
    """Search on for the next frame after the broken header at ``state.offset``
    (``window``: the file's bytes from there, searched first without reading them again)."""
    start = state.offset
    held = memoryview(window)

    def read(low: int, high: int) -> bytes | memoryview:
        if not start <= low < start + len(held):
            return read_range(state.path, low, high)
        if high <= start + len(held):
            return held[low - start : high - start]
        return bytes(held[low - start :]) + read_range(state.path, start + len(held), high)

    skips = []
    # An impossible length cannot be a header still being written: count it now.
    if reason == "record too large" and not state.reported:
        state.reported = True
        skips.append((start, reason))
    if state.size == state.searched_size:
        return skips  # nothing new to search
    state.searched_size = state.size
    found, state.searched = tfrecord.search_frame(
        read,
        state.searched,
        state.size,
        max_record=MAX_RECORD_BYTES,
        window=CHUNK_BYTES,
        find=scanner.find_frame,
    )
    if found < 0:
        return skips
    if not state.reported:
        skips.append((start, reason))
    _skip_to(state, found)
    return skips


def _skip_to(state: FileState, offset: int) -> None:
    state.skipped_bytes += offset - state.offset
    state.offset = offset
    state.waiting = -1
