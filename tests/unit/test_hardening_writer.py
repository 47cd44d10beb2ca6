"""The writer when writes fail: a full disk (a real tmpfs, or a fake one) and failed uploads.

What must hold: the file never has a partial record followed by more data;
every ``add_*``, ``flush()`` and ``close()`` raises while writes fail; the
accepted events are kept and written once space is freed; ``close()`` reports
what it could not write. Files are read back with TensorBoard's own loader,
lumiboard's reader, and a strict framing check (both CRCs of every record, no
bytes after the last whole record).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from disk_support import fill_disk
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

import lumiboard
from lumiboard.format.proto import event_pb2
from lumiboard.format.tfrecord import masked_crc32c
from lumiboard.writer import fs
from lumiboard.writer.event_file import EventFileWriter, EventWriteError
from lumiboard.writer.summary_writer import SummaryWriter

# ---- helpers ----------------------------------------------------------------


def frames(data: bytes) -> tuple[list[bytes], int]:
    """Whole records of ``data`` (both CRCs checked) and the bytes left after them."""
    records, offset = [], 0
    while offset + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        (length_crc,) = struct.unpack_from("<I", data, offset + 8)
        assert masked_crc32c(data[offset : offset + 8]) == length_crc, f"bad length at {offset}"
        end = offset + 12 + length + 4
        if end > len(data):
            break
        payload = data[offset + 12 : offset + 12 + length]
        (data_crc,) = struct.unpack_from("<I", data, end - 4)
        assert masked_crc32c(payload) == data_crc, f"bad data at {offset}"
        records.append(payload)
        offset = end
    return records, len(data) - offset


def whole_file_steps(path: Path) -> list[int]:
    """Steps of a file that must hold whole records only (nothing after the last)."""
    records, left = frames(path.read_bytes())
    assert left == 0, f"{left} bytes after the last whole record of {path.name}"
    return summary_steps(records)


def summary_steps(records: list[bytes]) -> list[int]:
    events = [event_pb2.Event.FromString(record) for record in records]
    assert events[0].file_version == "brain.Event:2"
    return [event.step for event in events if event.HasField("summary")]


def event_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if "tfevents" in p.name)


def tensorboard_steps(directory: Path) -> list[int]:
    """Steps as TensorBoard's loader reads them, file after file in name order."""
    return [
        event.step
        for path in event_files(directory)
        for event in EventFileLoader(str(path)).Load()
        if event.HasField("summary")
    ]


def lumiboard_steps(directory: Path) -> list[int]:
    table = lumiboard.read(directory, cache=False).scalars()
    return [int(step) for step in table["step"]]


def scalar_event(step: int) -> event_pb2.Event:
    event = event_pb2.Event(step=step, wall_time=time.time())
    event.summary.value.add(tag="loss", simple_value=float(step))
    return event


def add_until_refused(writer: EventFileWriter, steps: range) -> tuple[list[int], int]:
    """Add every step, catching the writer's errors: (accepted steps, refusals)."""
    accepted, refused = [], 0
    for step in steps:
        try:
            writer.add_event(scalar_event(step))
        except EventWriteError:
            refused += 1
        else:
            accepted.append(step)
    return accepted, refused


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs; skipped only where mounting is not permitted."""
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    command = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        # Lazily if a failed test left a file open: the mount must not outlive the test.
        if subprocess.run(["umount", str(mount_point)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=True)


# ---- a real full disk -------------------------------------------------------------


def test_full_tmpfs_keeps_whole_records_raises_until_freed_then_resumes(
    small_tmpfs: Path,
) -> None:
    filler = small_tmpfs / "filler"
    filler.write_bytes(b"\0" * (200 * 1024))  # ~56 KiB left: ~1,400 scalar records
    logdir = small_tmpfs / "run"
    writer = SummaryWriter(logdir, max_queue=10, flush_secs=3600)
    accepted = []
    for step in range(4000):
        # Once the thread has met the full disk, adds raise (how soon is up to the threads).
        with contextlib.suppress(EventWriteError):
            writer.add_scalar("loss", float(step), step)
            accepted.append(step)
    with pytest.raises(EventWriteError) as info:
        writer.flush()
    error = info.value
    assert isinstance(error, OSError)
    assert error.errno == errno.ENOSPC
    assert "ENOSPC" in str(error)
    (path,) = event_files(logdir)
    assert error.filename == str(path)
    assert error.pending > 0
    assert f"{error.pending} accepted events are kept" in str(error)
    # Still full: every call keeps raising, and the file holds whole records only.
    with pytest.raises(EventWriteError, match="this event was not added"):
        writer.add_scalar("loss", -1.0, 10**6)
    with pytest.raises(EventWriteError):
        writer.flush()
    on_disk = whole_file_steps(path)
    assert on_disk == accepted[: len(on_disk)]
    assert len(on_disk) + error.pending == len(accepted)

    filler.unlink()  # space is freed
    writer.flush()  # the kept events are written
    for step in range(4000, 4500):
        writer.add_scalar("loss", float(step), step)
        accepted.append(step)
    writer.close()

    assert whole_file_steps(path) == accepted
    assert tensorboard_steps(logdir) == accepted
    assert lumiboard_steps(logdir) == accepted


# ---- a fake full disk (runs everywhere) -------------------------------------------


def test_short_write_is_cut_back_and_retried_after_space_is_freed(tmp_path: Path) -> None:
    writer = EventFileWriter(tmp_path, max_queue=1000, flush_secs=3600)
    disk = fill_disk(writer, free=2000)  # ~60 records fit, the next write is short
    accepted, refused = add_until_refused(writer, range(200))
    assert (accepted, refused) == (list(range(200)), 0)  # no write was tried yet
    with pytest.raises(EventWriteError) as info:
        writer.flush()
    assert info.value.errno == errno.ENOSPC
    # The failed batch was cut back to its last whole record: those are written.
    on_disk = whole_file_steps(Path(writer.path))
    assert 0 < len(on_disk) < 200
    assert on_disk == list(range(len(on_disk)))
    assert info.value.pending == 200 - len(on_disk)
    assert disk.free == 0  # the short write did land before it was cut back

    more, refused = add_until_refused(writer, range(200, 300))
    assert (more, refused) == ([], 100)
    disk.free = None  # space is freed
    writer.flush()
    accepted += add_until_refused(writer, range(300, 350))[0]
    writer.close()

    assert accepted == list(range(200)) + list(range(300, 350))
    assert whole_file_steps(Path(writer.path)) == accepted
    assert tensorboard_steps(tmp_path) == accepted
    assert lumiboard_steps(tmp_path) == accepted


def test_every_call_raises_while_the_disk_is_full(tmp_path: Path) -> None:
    writer = EventFileWriter(tmp_path, max_queue=1, flush_secs=3600)
    fill_disk(writer, free=0)
    writer.add_event(scalar_event(0))
    with pytest.raises(EventWriteError):
        writer.flush()
    for attempt in range(1, 6):
        with pytest.raises(EventWriteError) as info:
            writer.add_event(scalar_event(attempt))
        assert info.value.refused == attempt
        assert isinstance(info.value, RuntimeError)  # what this error was before
        with pytest.raises(EventWriteError):
            writer.flush()
    with pytest.raises(EventWriteError, match="1 accepted events were not written and are lost"):
        writer.close()


def test_close_reports_the_events_it_could_not_write(tmp_path: Path) -> None:
    writer = EventFileWriter(tmp_path, max_queue=1000, flush_secs=3600)
    fill_disk(writer, free=3000)
    accepted, _ = add_until_refused(writer, range(50))
    writer.flush()  # these fit
    accepted += add_until_refused(writer, range(50, 150))[0]
    with pytest.raises(EventWriteError) as info:
        writer.close()
    on_disk = whole_file_steps(Path(writer.path))
    assert on_disk == list(range(len(on_disk)))  # the whole records that fitted
    assert 50 < len(on_disk) < 150
    lost = info.value.lost
    assert lost == len(accepted) - len(on_disk)
    assert f"{lost} accepted events were not written and are lost" in str(info.value)
    writer.close()  # closed already: nothing more to say


def test_a_tail_that_cannot_be_cut_back_ends_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = EventFileWriter(tmp_path, max_queue=1000, flush_secs=3600)
    fill_disk(writer, free=500)
    first = writer.path
    accepted, _ = add_until_refused(writer, range(40))

    def refuse(fd: int, length: int) -> None:
        raise OSError(errno.EIO, "cannot truncate")

    monkeypatch.setattr(os, "ftruncate", refuse)
    with pytest.raises(EventWriteError):
        writer.flush()
    monkeypatch.undo()
    writer.flush()  # the retry goes to a new file
    accepted += add_until_refused(writer, range(40, 60))[0]
    writer.close()

    assert writer.path != first
    records, left = frames(Path(first).read_bytes())
    assert left > 0  # the partial record is the last thing in that file
    kept = summary_steps(records)  # the whole records that landed before it
    assert 0 < len(kept) < 40
    # They count as written: the new file goes on after them, with no repeat.
    assert kept + whole_file_steps(Path(writer.path)) == accepted == list(range(60))
    assert tensorboard_steps(tmp_path) == accepted
    assert lumiboard_steps(tmp_path) == accepted


# ---- failed uploads ----------------------------------------------------------------


def test_failed_upload_at_a_rotation_keeps_every_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    url = f"memory://lumiboard-test/{uuid.uuid4().hex[:12]}"
    writer = EventFileWriter(url, max_queue=1000, flush_secs=3600, segment_bytes=400)
    try:
        accepted, _ = add_until_refused(writer, range(5))
        writer.flush()

        def outage(path: str, value: bytes, **kwargs: Any) -> None:
            raise OSError(errno.EIO, "upload failed")

        monkeypatch.setattr(memory, "pipe_file", outage)
        accepted += add_until_refused(writer, range(5, 40))[0]  # crosses rotations
        with pytest.raises(EventWriteError, match="upload failed") as info:
            writer.flush()
        assert info.value.pending == 35
        more, refused = add_until_refused(writer, range(40, 50))
        assert (more, refused) == ([], 10)
        monkeypatch.undo()  # the outage ends
        writer.flush()
        accepted += add_until_refused(writer, range(50, 60))[0]
        writer.close()

        names = sorted(p for p in memory.ls(url, detail=False) if "tfevents" in p)
        assert len(names) > 2
        for number, name in enumerate(names):
            (tmp_path / f"{number:03d}.tfevents").write_bytes(memory.cat_file(name))
        steps = [s for p in event_files(tmp_path) for s in whole_file_steps(p)]
        assert steps == accepted == list(range(40)) + list(range(50, 60))
        assert tensorboard_steps(tmp_path) == accepted
    finally:
        if memory.exists(url):
            memory.rm(url, recursive=True)


def test_summary_writer_flush_reaches_every_file_when_one_fails(tmp_path: Path) -> None:
    writer = SummaryWriter(tmp_path, max_queue=1000, flush_secs=3600)
    writer.add_scalars("loss", {"val": 0.5}, 1)  # a second file, in run loss_val
    main = writer._writer()
    fill_disk(main, free=0)
    writer.add_scalar("loss", 1.0, 1)
    with pytest.raises(EventWriteError):
        writer.flush()
    # The failing file did not stop the other one from being flushed.
    assert tensorboard_steps(tmp_path / "loss_val") == [1]
    sink: Any = main._sink
    sink._file.free = None
    writer.close()
    assert tensorboard_steps(tmp_path) == [1]


def test_loss_at_interpreter_exit_is_reported(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import errno, sys
        from lumiboard.writer.event_file import EventFileWriter
        from lumiboard.format.proto import event_pb2

        class Full:  # a disk with no space left
            def __init__(self, real):
                self.real = real
            def write(self, data):
                raise OSError(errno.ENOSPC, "No space left on device")
            def fileno(self):
                return self.real.fileno()
            def close(self):
                self.real.close()

        writer = EventFileWriter(sys.argv[1], flush_secs=3600)
        writer._sink._file = Full(writer._sink._file)
        for step in range(3):
            writer.add_event(event_pb2.Event(step=step))
        # no close: the exit hook closes the writer, and cannot write these
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "3 accepted events were not written and are lost" in result.stderr


# ---- whole small files (projector TSVs, configs) ------------------------------------


def test_small_file_on_a_full_disk_keeps_the_previous_one(small_tmpfs: Path) -> None:
    config = small_tmpfs / "run" / "projector_config.pbtxt"
    fs.write_file(str(config), b"embeddings {}\n")
    with pytest.raises(OSError, match="No space left") as info:
        fs.write_file(str(config), b"x" * (512 * 1024))  # twice the disk
    assert info.value.errno == errno.ENOSPC
    assert config.read_bytes() == b"embeddings {}\n"
    assert sorted(p.name for p in config.parent.iterdir()) == [config.name]


def test_small_file_write_that_fails_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "projector_config.pbtxt"
    fs.write_file(str(config), b"old\n")

    def full_disk(self: Path, data: bytes) -> int:
        with open(self, "wb") as handle:  # what fits lands, then the disk is full
            handle.write(data[:3])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match="No space left"):
        fs.write_file(str(config), b"new and longer\n")
    monkeypatch.undo()
    assert config.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == [config.name]


def test_the_error_is_public() -> None:
    from lumiboard.writer.event_file import EventWriteError

    assert lumiboard.EventWriteError is EventWriteError
    assert issubclass(EventWriteError, OSError)
    assert issubclass(EventWriteError, RuntimeError)
