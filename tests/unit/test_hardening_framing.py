"""TFRecord framing under damage: huge length headers and resyncing (issue 11, items 2 and 10).

Every test runs the reader with the native scanner and with the pure-Python
one (``scan_python``, the fallback when the C code is not built).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lumiboard.format import tfrecord
from lumiboard.format.proto import event_pb2, summary_pb2
from lumiboard.format.tfrecord import Damage, Record, encode_record, masked_crc32c, read_records
from lumiboard.reader import ingest, scan, tail
from lumiboard.reader.ingest import RunLoader
from lumiboard.reader.reload import Reloader
from lumiboard.store.runs import RunData

WALL = 1_600_000_000.0
SCANNERS = ["native", "python"] if scan.NATIVE else ["python"]


@contextlib.contextmanager
def scanner(kind: str) -> Iterator[None]:
    """Read with the native scanner, or force the pure-Python one."""
    saved = scan._native
    if kind == "python":
        scan._native = None
    try:
        yield
    finally:
        scan._native = saved


def version() -> bytes:
    return encode_record(
        event_pb2.Event(wall_time=WALL, file_version="brain.Event:2").SerializeToString()
    )


def scalar(step: int, tag: str = "a") -> bytes:
    event = event_pb2.Event(step=step, wall_time=WALL + step)
    event.summary.value.add(tag=tag, simple_value=float(step) / 4)
    return encode_record(event.SerializeToString())


def image(step: int, size: int) -> bytes:
    event = event_pb2.Event(step=step, wall_time=WALL + step)
    picture = summary_pb2.Summary.Image(height=1, width=1, encoded_image_string=b"x" * size)
    event.summary.value.add(tag="image", image=picture)
    return encode_record(event.SerializeToString())


def header(length: int, good_crc: bool = True) -> bytes:
    raw = struct.pack("<Q", length)
    crc = masked_crc32c(raw)
    return raw + struct.pack("<I", crc if good_crc else crc ^ 1)


def scalars(run: RunData, tag: str = "a") -> list[tuple[int, float]]:
    series = run.scalars.get(tag)
    if series is None:
        return []
    columns = series.columns()
    return list(zip(columns[0].tolist(), columns[2].tolist(), strict=True))


def expected(steps: range | list[int]) -> list[tuple[int, float]]:
    return [(step, step / 4) for step in steps]


class Reads:
    """Spies on every read of event-file bytes (the chunk reads and tail's own)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ranges: list[tuple[int, int]] = []
        real = tail.read_range

        def spy(path: str, start: int, end: int) -> bytes:
            self.ranges.append((start, end))
            # A read this size would be the bug itself: fail before making it.
            assert end - start <= max(tail.CHUNK_BYTES, tail.MAX_RECORD_BYTES), (start, end)
            return real(path, start, end)

        monkeypatch.setattr(tail, "read_range", spy)
        monkeypatch.setattr(ingest, "read_range", spy)

    def total(self) -> int:
        return sum(end - start for start, end in self.ranges)


def load(path: Path, loader: RunLoader | None = None) -> RunLoader:
    loader = loader or RunLoader(RunData("."))
    loader.load([(str(path), path.stat().st_size)])
    return loader


def event_file(directory: Path) -> Path:
    return directory / "events.out.tfevents.1600000000.host"


# ---- huge length headers ---------------------------------------------------------------


@pytest.mark.parametrize("kind", SCANNERS)
def test_a_valid_2_pow_60_header_is_one_counted_skip(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = event_file(tmp_path)
    head = version() + b"".join(scalar(s) for s in range(3))
    path.write_bytes(head + header(2**60))
    reads = Reads(monkeypatch)
    with scanner(kind), caplog.at_level(logging.WARNING):
        reloader = Reloader(str(tmp_path))
        reloader.reload()
        run = reloader.runs["."]
        # Counted at once: no header still being written has a good checksum
        # and a length no Event can have.
        assert run.skipped == {"": 1}
        with path.open("ab") as handle:
            handle.write(b"".join(scalar(s) for s in range(3, 6)))
        reloader.reload()
        reloader.reload()
    assert scalars(run) == expected(range(6))
    assert run.skipped == {"": 1}
    assert [r.getMessage() for r in caplog.records if "too large" in r.getMessage()] == [
        f"run .: skipped record too large at byte {len(head)} of {path}"
    ]
    assert max(end - start for start, end in reads.ranges) <= tail.CHUNK_BYTES


@pytest.mark.parametrize("kind", SCANNERS)
def test_a_1_gib_record_is_skipped_unread(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sparse file: the 1 GiB costs no disk, and reading it whole would cost
    # 1 GiB of memory (the spy fails before such a read).
    path = event_file(tmp_path)
    length = 2**30
    with path.open("wb") as handle:
        handle.write(version() + scalar(0) + header(length))
        handle.seek(length, os.SEEK_CUR)
        handle.write(b"\0" * 4 + scalar(1))
    reads = Reads(monkeypatch)
    with scanner(kind):
        loader = load(path)
    assert scalars(loader.run) == expected([0, 1])
    assert loader.run.skipped == {"": 1}
    state = loader.files[str(path)]
    assert state.offset == path.stat().st_size
    assert state.skipped_bytes == 12 + length + 4
    assert reads.total() < 3 * tail.CHUNK_BYTES  # the windows before and at the header


@pytest.mark.parametrize("kind", SCANNERS)
def test_a_record_over_the_limit_waits_while_written_then_is_skipped(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tail, "CHUNK_BYTES", 1024)
    monkeypatch.setattr(tail, "MAX_RECORD_BYTES", 4096)
    big = image(1, 10_000)
    data = version() + scalar(0) + big + scalar(2)
    path = event_file(tmp_path)
    path.write_bytes(data[: len(data) - len(scalar(2)) - 100])
    reads = Reads(monkeypatch)
    with scanner(kind):
        loader = load(path)
        assert loader.run.skipped == {}  # still being written: not damage yet
        path.write_bytes(data)
        load(path, loader)
    assert scalars(loader.run) == expected([0, 2])
    assert loader.run.skipped == {"": 1}
    assert "image" not in loader.run.tags
    assert max(end - start for start, end in reads.ranges) <= 1024


@pytest.mark.parametrize("kind", SCANNERS)
def test_a_record_under_the_limit_is_waited_for_then_read(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tail, "CHUNK_BYTES", 1024)
    big = image(1, 10_000)
    data = version() + scalar(0) + big + scalar(2)
    path = event_file(tmp_path)
    cut = len(version() + scalar(0)) + 12 + 5000  # the header and half the payload
    path.write_bytes(data[:cut])
    with scanner(kind):
        loader = load(path)
        assert loader.files[str(path)].offset == len(version() + scalar(0))
        path.write_bytes(data)
        load(path, loader)
    assert scalars(loader.run) == expected([0, 2])
    assert loader.run.skipped == {}
    assert len(loader.run.blobs["image"].items) == 1


def test_read_range_never_asks_for_more_than_the_file_has(tmp_path: Path) -> None:
    path = tmp_path / "small"
    path.write_bytes(b"abc")
    assert tail.read_range(str(path), 1, 2**40) == b"bc"  # was a MemoryError
    assert tail.read_range(str(path), 5, 2**62) == b""


def test_read_records_skips_huge_lengths_unread(tmp_path: Path) -> None:
    path = tmp_path / "records"
    good = [encode_record(b"one"), encode_record(b"two")]
    path.write_bytes(good[0] + header(2**60) + good[1])
    with path.open("rb") as stream:  # read(2**60) on a real file was a MemoryError
        results = list(read_records(stream))
    assert results == [
        Record(0, b"one"),
        Damage(len(good[0]), "record too large"),
        Record(len(good[0]) + 12, b"two"),
    ]


def test_read_records_skips_a_record_over_max_record_by_its_length() -> None:
    blob = encode_record(b"x" * 100) + encode_record(b"kept")
    results = list(read_records(io.BytesIO(blob), max_record=50))
    assert results == [Damage(0, "record too large"), Record(116, b"kept")]


# ---- resync after a bad length checksum ----------------------------------------------


@pytest.mark.parametrize("kind", SCANNERS)
def test_a_flipped_length_byte_costs_one_record(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    records = [version()] + [scalar(s) for s in range(10)]
    damaged = bytearray(records[4])
    damaged[1] ^= 0x40  # the length says 16 KiB more
    records[4] = bytes(damaged)
    path = event_file(tmp_path)
    path.write_bytes(b"".join(records))
    with scanner(kind), caplog.at_level(logging.WARNING):
        reloader = Reloader(str(tmp_path))
        reloader.reload()
        reloader.reload()
    run = reloader.runs["."]
    assert scalars(run) == expected([0, 1, 2, 4, 5, 6, 7, 8, 9])
    assert run.skipped == {"": 1}
    assert sum("bad length checksum" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("kind", SCANNERS)
def test_a_broken_header_at_the_end_waits_then_resyncs_once(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = version() + b"".join(scalar(s) for s in range(3))
    garbage = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    path = event_file(tmp_path)
    path.write_bytes(head + b"\0" * 12 + garbage)
    reads = Reads(monkeypatch)
    with scanner(kind):
        loader = load(path)
        state = loader.files[str(path)]
        # Nothing follows the broken header yet: perhaps a header still being
        # written, so no skip is counted and the offset stays before it.
        assert loader.run.skipped == {}
        assert state.offset == len(head)
        searched = reads.total()
        assert searched >= len(garbage)
        load(path, loader)  # nothing new: the garbage is not searched again
        assert reads.total() - searched <= 12
        with path.open("ab") as handle:
            handle.write(b"".join(scalar(s) for s in range(3, 6)))
        before = reads.total()
        load(path, loader)
        assert reads.total() - before < 2 * len(b"".join(scalar(s) for s in range(3, 6))) + 64
    assert scalars(loader.run) == expected(range(6))
    assert loader.run.skipped == {"": 1}
    assert state.skipped_bytes == 12 + len(garbage)


@pytest.mark.parametrize("kind", SCANNERS)
def test_a_header_that_was_not_written_yet_is_read_once_it_is(kind: str, tmp_path: Path) -> None:
    # A file system that shows a file's new size before its bytes: zeros first.
    records = [version(), scalar(0), scalar(1), scalar(2)]
    path = event_file(tmp_path)
    path.write_bytes(b"".join(records[:2]) + b"\0" * len(records[2]))
    with scanner(kind):
        loader = load(path)
        assert loader.run.skipped == {}
        path.write_bytes(b"".join(records))
        load(path, loader)
    assert scalars(loader.run) == expected([0, 1, 2])
    assert loader.run.skipped == {}


@pytest.mark.parametrize("kind", SCANNERS)
def test_resync_crosses_chunks_and_confirms_frames_longer_than_one(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tail, "CHUNK_BYTES", 256)
    garbage = np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    big = image(1, 3000)  # the first frame after the damage spans many chunks
    path = event_file(tmp_path)
    path.write_bytes(version() + scalar(0) + header(7, good_crc=False) + garbage + big + scalar(2))
    reads = Reads(monkeypatch)
    with scanner(kind):
        loader = load(path)
    assert scalars(loader.run) == expected([0, 2])
    assert len(loader.run.blobs["image"].items) == 1
    assert loader.run.skipped == {"": 1}
    assert max(end - start for start, end in reads.ranges) <= len(big)


# ---- property: one damaged byte costs at most its record ------------------------------

_STEPS = st.integers(2, 30)


def _flip(blob: bytes, position: int, mask: int) -> bytes:
    damaged = bytearray(blob)
    damaged[position] ^= mask
    return bytes(damaged)


@given(_STEPS, st.data())
@settings(max_examples=200, deadline=None)
def test_one_flipped_byte_costs_only_its_record(count: int, data: st.DataObject) -> None:
    records = [version()] + [
        scalar(step) if step % 5 else image(step, 40 * step) for step in range(count)
    ]
    blob = b"".join(records)
    position = data.draw(st.integers(0, len(blob) - 1))
    damaged = _flip(blob, position, data.draw(st.integers(1, 255)))
    hit, hit_start, start = 0, 0, 0
    for index, record in enumerate(records):
        if start <= position < start + len(record):
            hit, hit_start = index, start
        start += len(record)
    # The last record's header broken: perhaps one still being written, so
    # reading waits before it, counting nothing (a static reader sees damage).
    waits = hit == len(records) - 1 and position - hit_start < 12
    want = [step for step in range(count) if step % 5 and step + 1 != hit]
    images = [step for step in range(count) if not step % 5 and step + 1 != hit]
    with tempfile.TemporaryDirectory() as directory:
        path = event_file(Path(directory))
        path.write_bytes(damaged)
        for kind in SCANNERS:
            with scanner(kind):
                loader = load(path)
            assert scalars(loader.run) == expected(want)
            kept = loader.run.blobs["image"].items if images else []
            assert [point.step for point in kept] == images
            assert loader.run.skipped == ({} if waits else {"": 1})
            assert loader.files[str(path)].offset == (hit_start if waits else len(blob))
    # The pure-Python reader of whole streams: the same records, nothing else.
    results = list(read_records(io.BytesIO(damaged)))
    assert [r.data for r in results if isinstance(r, Record)] == [
        record[12:-4] for index, record in enumerate(records) if index != hit
    ]
    assert [r.offset for r in results if isinstance(r, Damage)] == [
        sum(len(record) for record in records[:hit])
    ]


# ---- the resync's search: native and pure Python --------------------------------------

_PIECES = st.lists(
    st.one_of(
        st.binary(max_size=40).map(lambda data: ("garbage", data)),
        st.binary(max_size=60).map(lambda data: ("frame", encode_record(data))),
        st.integers(0, 2**64 - 1).map(lambda n: ("header", header(n))),
    ),
    max_size=8,
)


@pytest.mark.skipif(not scan.NATIVE, reason="the native scanner is not built")
@given(_PIECES, st.data())
@settings(max_examples=400, deadline=None)
def test_native_find_frame_equals_python(
    pieces: list[tuple[str, bytes]], data: st.DataObject
) -> None:
    blob = b"".join(piece for _, piece in pieces)
    if blob and data.draw(st.booleans()):
        blob = _flip(blob, data.draw(st.integers(0, len(blob) - 1)), 1)
    blob = blob[: data.draw(st.integers(0, len(blob)))]
    start = data.draw(st.integers(0, len(blob) + 2))
    max_record = data.draw(st.sampled_from([0, 10, 60, 2**31 - 1]))
    native = scan.find_frame(blob, start, max_record)
    assert native == tfrecord.find_frame(blob, start, max_record)
    found, _ = native
    if found >= 0:
        length = tfrecord.read_length(blob[found : found + 12])
        assert length is not None
        assert length <= max_record
        assert masked_crc32c(blob[found + 12 : found + 12 + length]) == int.from_bytes(
            blob[found + 12 + length : found + 16 + length], "little"
        )


def test_python_find_frame_searches_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tfrecord, "_SEARCH_BLOCK", 7)
    garbage = np.random.default_rng(2).integers(0, 256, 100, dtype=np.uint8).tobytes()
    frame = encode_record(b"payload")
    assert tfrecord.find_frame(garbage + frame, 0, 100) == (100, -1)
    assert tfrecord.find_frame(garbage + frame[:-1], 0, 100) == (-1, 100)
    assert tfrecord.find_frame(garbage + frame, 101, 100) == (-1, -1)


def test_search_frame_reads_in_windows_and_resumes() -> None:
    garbage = np.random.default_rng(3).integers(0, 256, 1000, dtype=np.uint8).tobytes()
    frame = encode_record(b"y" * 300)
    blob = garbage + frame
    asked: list[tuple[int, int]] = []

    def read(start: int, end: int) -> bytes:
        asked.append((start, end))
        return blob[start:end]

    assert tfrecord.search_frame(read, 0, len(blob), max_record=1000, window=64) == (1000, 1000)
    assert max(end - start for start, end in asked) <= 64
    # Its data not all there yet: a frame perhaps still being written.
    assert tfrecord.search_frame(read, 0, len(blob) - 1, max_record=1000, window=64) == (-1, 1000)
    # Too long for the limit: searched through, as damage.
    assert tfrecord.search_frame(read, 0, len(blob), max_record=100, window=64) == (
        -1,
        len(blob) - 11,
    )


@pytest.mark.parametrize("kind", SCANNERS)
def test_a_record_being_written_is_not_read_again_every_pass(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = image(1, 100_000)
    data = version() + scalar(0) + big + scalar(2)
    path = event_file(tmp_path)
    path.write_bytes(data[: len(data) - len(scalar(2)) - 50_000])
    reads = Reads(monkeypatch)
    with scanner(kind):
        loader = load(path)
        before = reads.total()
        load(path, loader)  # the record is still not whole: only its header is read again
        load(path, loader)
        assert reads.total() - before == 2 * 12
        path.write_bytes(data)
        load(path, loader)
    assert scalars(loader.run) == expected([0, 2])
    assert len(loader.run.blobs["image"].items) == 1


# ---- remote event files (fsspec): the same bounded reads --------------------------------


def test_remote_files_resync_and_skip_with_bounded_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    root = f"memory://lumiboard-framing/{os.getpid()}-{id(monkeypatch)}"
    flipped = bytearray(scalar(3))
    flipped[0] ^= 0x08
    data = (
        version()
        + b"".join(scalar(s) for s in range(3))
        + bytes(flipped)
        + scalar(4)
        + header(2**60)
        + scalar(5)
    )
    memory.pipe_file(f"{root}/events.out.tfevents.1600000000.host", data)
    asked: list[int] = []
    real = type(memory).cat_file

    def cat_file(
        self: object, path: str, start: int | None = None, end: int | None = None
    ) -> bytes:
        asked.append((end or 0) - (start or 0))
        return bytes(real(self, path, start=start, end=end))

    monkeypatch.setattr(type(memory), "cat_file", cat_file)
    try:
        for kind in SCANNERS:
            with scanner(kind):
                reloader = Reloader(root)
                reloader.reload()
            run = reloader.runs["."]
            assert scalars(run) == expected([0, 1, 2, 4, 5])
            assert run.skipped == {"": 2}
    finally:
        memory.rm(root, recursive=True)
    assert max(asked) <= tail.CHUNK_BYTES


def test_the_record_limit_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("LUMIBOARD_MAX_RECORD_BYTES", raising=False)
    assert tail._max_record_bytes() == 256 * 1024 * 1024
    monkeypatch.setenv("LUMIBOARD_MAX_RECORD_BYTES", str(2**40))
    assert tail._max_record_bytes() == tfrecord.MAX_EVENT_BYTES  # protobuf's limit
    monkeypatch.setenv("LUMIBOARD_MAX_RECORD_BYTES", "1e9")
    with caplog.at_level(logging.WARNING):
        assert tail._max_record_bytes() == 256 * 1024 * 1024
    assert "not a number" in caplog.text
