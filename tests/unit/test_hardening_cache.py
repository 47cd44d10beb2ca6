"""A cache never trusted wrong: checksummed, every field checked, read safely.

Issue 11 item 6: bit flips in a cache's columns, tensor table or footer were
served as wrong values, truncating a mapped cache killed the process with
SIGBUS, and a FIFO at the cache path hung start-up.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from pyarrow import ipc

from lumiboard.plugins.base import DataClass
from lumiboard.reader.discover import Run
from lumiboard.reader.ingest import RunLoader
from lumiboard.reader.reload import Reloader
from lumiboard.reader.tail import FileState
from lumiboard.store import cache, cache_check, cache_format, cache_tables, encoding
from lumiboard.store.cache_check import DamageError
from lumiboard.store.cache_format import FileEntry, Sampled, Snapshot
from lumiboard.store.runs import BlobPoint, BlobRef, RunData, TagInfo, TensorPoint
from lumiboard.writer.summary_writer import SummaryWriter

WALL = 1_700_000_000.0


# ---- a small snapshot of every kind of thing a cache holds -------------------------------


def small_snapshot(rng: bool = True) -> Snapshot:
    tags = {
        "loss": TagInfo("scalars", DataClass.SCALAR, "loss"),
        "lr": TagInfo("scalars", DataClass.SCALAR, "learning rate"),
        "w": TagInfo("histograms", DataClass.TENSOR, "w", "weights", b"\x08\x01"),
        "note": TagInfo("text", DataClass.TENSOR, "note"),
        "img": TagInfo("images", DataClass.BLOB_SEQUENCE, "img"),
    }
    steps = np.arange(4, dtype=np.int64)
    state = np.arange(625, dtype="<u4").tobytes() if rng else None
    return Snapshot(
        location="/logs/train",
        samples={"histograms": 2},
        files=[FileEntry(FileState("/logs/train/events.out.tfevents.1", 40, 90), 7, 9)],
        tag_kinds={"loss": 1, "lr": 1, "w": 2, "note": 2, "img": 2},
        loader={"file_version": 2.0, "most_recent_step": 3, "seen_start": True},
        start_time=WALL,
        skipped={"": 1},
        tags=tags,
        scalars={
            "loss": encoding.encode(steps, steps + WALL, 1.0 / (steps + 1.0)),
            "lr": encoding.encode(steps[:2], steps[:2] + WALL, np.array([0.5, 0.25])),
        },
        tensors={
            "w": Sampled(
                2,
                5,
                state,
                [
                    TensorPoint(1, WALL + 1, np.arange(6.0).reshape(2, 3)),
                    TensorPoint(3, WALL + 3, np.arange(3, dtype=np.int32)),
                ],
            ),
            "note": Sampled(None, 1, None, [TensorPoint(2, WALL + 2, np.array([b"hi"], object))]),
        },
        blobs={
            "img": Sampled(
                None, 1, None, [BlobPoint(2, WALL + 2, BlobRef("/logs/train/e", 5, 7, 0), 1)]
            )
        },
    )


def plain(snapshot: Snapshot) -> dict[str, Any]:
    """A snapshot in comparable form (arrays as lists, with their dtype and shape)."""
    fields = {f.name: getattr(snapshot, f.name) for f in dataclasses.fields(snapshot)}
    fields["scalars"] = {
        tag: [(c.dtype.str, c.tolist()) for c in encoding.decode(blocks)]
        for tag, blocks in snapshot.scalars.items()
    }
    for kind in ("tensors", "blobs"):
        fields[kind] = {
            tag: (
                s.size,
                s.seen,
                s.rng,
                [
                    (p.step, p.wall_time, p.array.dtype.str, p.array.shape, p.array.tolist())
                    if isinstance(p, TensorPoint)
                    else p
                    for p in s.items
                ],
            )
            for tag, s in getattr(snapshot, kind).items()
        }
    return fields


def write(path: Path, snapshot: Snapshot) -> tuple[Path, bytes]:
    cache_format.write_snapshot(str(path), snapshot)
    return path, path.read_bytes()


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, bytes]:
    return write(tmp_path / "run.arrow", small_snapshot())


def test_a_small_snapshot_round_trips(written: tuple[Path, bytes]) -> None:
    path, _ = written
    assert plain(cache_format.read_snapshot(str(path))) == plain(small_snapshot())


# ---- bit flips ---------------------------------------------------------------------------


def test_a_flipped_bit_anywhere_is_caught_or_harmless(tmp_path: Path) -> None:
    # One bit of every byte (bit = position % 8, so every bit position is
    # tried): the header, each column, the tensor and blob tables, the footer.
    # Either the file is refused, or what it serves is exactly what was written.
    # (No random state: its 3 kB of base64 would only make the header longer.)
    path, original = write(tmp_path / "run.arrow", small_snapshot(rng=False))
    expected = plain(small_snapshot(rng=False))
    wrong, refused = [], 0
    for position in range(len(original)):
        damaged = bytearray(original)
        damaged[position] ^= 1 << (position % 8)
        path.write_bytes(damaged)
        try:
            snapshot = cache_format.read_snapshot(str(path))
        except Exception:
            refused += 1
            continue
        if plain(snapshot) != expected:
            wrong.append(position)
    assert wrong == [], f"{len(wrong)} flips served wrong values, at {wrong[:10]}"
    # The rest fell where no reader looks: padding, the schema's first copy
    # (readers use the footer's), the unused tag codes.
    assert refused > len(original) // 2


def restore(cache_dir: Path, run: Run) -> tuple[bool, RunLoader]:
    loader = RunLoader(RunData(run.name))
    return cache.RunCache(cache_dir).restore(loader, run), loader


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    with SummaryWriter(root / "train") as writer:
        for step in range(30):
            writer.add_scalar("loss", 1.0 / (step + 1), step, walltime=WALL + step)
            writer.add_scalar("lr", step * 0.5, step, walltime=WALL + step)
            if step % 3 == 0:
                writer.add_histogram("w", np.arange(step + 3.0), step, walltime=WALL)
    return root


def columns(reloader: Reloader) -> dict[str, list[list[float]]]:
    run = reloader.runs["train"]
    return {tag: [c.tolist() for c in s.columns()] for tag, s in run.scalars.items()}


def value_position(data: bytes) -> int:
    """Where the cache file holds the value 1/3 (loss at step 2, stored as the float32 it is)."""
    return data.index(np.float32(1.0 / 3).tobytes())


def footer_tag_position(data: bytes) -> int:
    """Where the footer's header names the tag "loss" (the last copy of the schema)."""
    return data.rindex(b'"loss"') + 1


def tensor_position(data: bytes) -> int:
    """The middle of the tensor table (histograms)."""
    reader = ipc.open_file(pa.py_buffer(data))
    _, custom = reader.get_batch_with_custom_metadata(reader.num_record_batches - 1)
    table = custom[b"lumiboard.tensors"]
    return data.index(table) + len(table) // 2


@pytest.mark.parametrize("where", [value_position, footer_tag_position, tensor_position])
def test_a_flipped_cache_is_deleted_logged_once_and_read_from_the_event_files(
    logdir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    where: Callable[[bytes], int],
) -> None:
    cache_dir = tmp_path / "cache"
    expected = columns(_load(logdir, None))
    _load(logdir, cache_dir)
    path = Path(cache.cache_path(cache_dir, str(logdir / "train")))
    data = bytearray(path.read_bytes())
    data[where(bytes(data))] ^= 0x04
    path.write_bytes(data)
    with caplog.at_level(logging.WARNING, logger="lumiboard.store.cache"):
        warm = _load(logdir, cache_dir)
    assert columns(warm) == expected
    assert caplog.text.count("damaged cache") == 1
    # Deleted, then rebuilt by the load: whole again.
    assert path.read_bytes() != bytes(data)
    assert columns(_load(logdir, cache_dir)) == expected


def _load(logdir: Path, cache_dir: Path | None) -> Reloader:
    reloader = Reloader(str(logdir), cache_dir=cache_dir)
    reloader.reload()
    return reloader


# ---- every field checked ----------------------------------------------------------------


def _set(*keys: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(header: dict[str, Any]) -> None:
        target = header
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


FORGED: dict[str, Callable[[dict[str, Any]], None]] = {
    "a flag as a number": _set("loader", "seen_start", value=1),
    "a step as a float": _set("loader", "most_recent_step", value=3.0),
    "a tag as a number": _set("tags", 0, value=5),
    "a tag info index out of range": _set("tag_info", 0, value=99),
    "a negative index": _set("tag_info", 0, value=-1),
    "an unknown data class": _set("tag_infos", 0, 1, value=99),
    "an unknown tag kind": _set("tag_kinds", "loss", value=7),
    "a file offset past its size": _set("files", 0, 1, value=91),
    "a file identity that is not a checksum": _set("files", 0, 3, value="no"),
    "a checksum out of range": _set("files", 0, 4, value=2**32),
    "a negative skip count": _set("skipped", "", value=-1),
    "a negative sample size": _set("samples", "histograms", value=-1),
    "more points kept than the reservoir's size": _set("reservoirs", 0, 2, value=1),
    "fewer points seen than kept": _set("reservoirs", 0, 3, value=1),
    "an unknown reservoir kind": _set("reservoirs", 0, 0, value="scalars"),
    "a repeated tag": _set("scalar_tags", 1, value="loss"),
    "series lengths that disagree": _set("scalar_counts", value=[4]),
    "a batch of no series": _set("scalar_batches", value=[2, 0]),
    "a series' checksum": _set("scalar_crcs", 0, value=0),
    "more blocks than points": _set("scalar_blocks", 1, value=3),
    "a table's checksum": _set("aux", "tensors", value=0),
    "a missing table": _set("aux", value={"blobs": 0}),
    "an unknown field": _set("extra", value=1),
    "a start time as text": _set("start_time", value="1"),
}


@pytest.mark.parametrize("forgery", FORGED.values(), ids=FORGED.keys())
def test_every_header_field_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forgery: Callable[[dict[str, Any]], None]
) -> None:
    # Written with a valid checksum over the forged header: only the field
    # checks stand between it and the store.
    real = cache_format._header

    def forged(*args: Any) -> dict[str, Any]:
        header = real(*args)
        forgery(header)
        return header

    monkeypatch.setattr(cache_format, "_header", forged)
    path = str(tmp_path / "run.arrow")
    cache_format.write_snapshot(path, small_snapshot())
    with pytest.raises(DamageError):
        cache_format.read_snapshot(path)


def _tensor_shapes(value: Any) -> Callable[..., dict[str, Any]]:
    real = cache_tables._tensor_columns

    def forged(rows: Any) -> dict[str, Any]:
        result = real(rows)
        result["shape"] = cache_tables._lists(
            [len(shape) for shape in value],
            cache_tables.numbers([n for shape in value for n in shape], np.int64),
        )
        return result

    return forged


@pytest.mark.parametrize(
    ("shapes", "dtype"),
    [
        ([[-2, -3], [3], [1]], None),  # negative dimensions, same product
        ([[2, 2], [3], [1]], None),  # fewer values than its bytes
        ([[2, 3], [3], [1]], "|V8"),  # not a number nor a string
        ([[2, 3], [3], [1]], "(2,)<f8"),  # a sub-array dtype
    ],
)
def test_every_tensor_row_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shapes: list[list[int]], dtype: str | None
) -> None:
    monkeypatch.setattr(cache_tables, "_tensor_columns", _tensor_shapes(shapes))
    if dtype is not None:
        real_texts = cache_tables.texts
        texts = lambda items: real_texts([dtype if i == "<f8" else i for i in items])  # noqa: E731
        monkeypatch.setattr(cache_tables, "texts", texts)
    path = str(tmp_path / "run.arrow")
    snapshot = small_snapshot()
    if dtype is not None:  # the scalar tags' dictionary goes through texts too
        snapshot = dataclasses.replace(snapshot, scalars={})
    cache_format.write_snapshot(path, snapshot)
    with pytest.raises(DamageError):
        cache_format.read_snapshot(path)


def test_a_blob_reference_out_of_range_is_refused(tmp_path: Path) -> None:
    snapshot = small_snapshot()
    bad = Sampled(None, 1, None, [BlobPoint(2, WALL, BlobRef("/logs/train/e", -5, 7, 0), 1)])
    path = str(tmp_path / "run.arrow")
    cache_format.write_snapshot(path, dataclasses.replace(snapshot, blobs={"img": bad}))
    with pytest.raises(DamageError):
        cache_format.read_snapshot(path)


# ---- only regular files, never blocking ---------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_at_the_cache_path_does_not_hang_start_up(logdir: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    path = Path(cache.cache_path(cache_dir, str(logdir / "train")))
    os.mkfifo(path)
    script = (
        "import sys\n"
        "from lumiboard.reader.reload import Reloader\n"
        "r = Reloader(sys.argv[1], cache_dir=sys.argv[2])\n"
        "r.reload()\n"
        "print(len(r.runs['train'].scalars['loss']))\n"
    )
    # In a child: opening a FIFO for reading blocks until a writer comes.
    done = subprocess.run(
        [sys.executable, "-c", script, str(logdir), str(cache_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["30"]
    assert path.is_file()  # replaced by a cache of the run


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_swapped_in_after_the_check_does_not_block(tmp_path: Path) -> None:
    # The path is checked (lstat) before it is opened: a FIFO put there in
    # between must not block the open (O_NONBLOCK), and is refused after (fstat).
    fifo = tmp_path / "run.arrow"
    os.mkfifo(fifo)
    script = (
        "import os, sys\n"
        "from lumiboard.store import cache_check\n"
        "regular = os.stat(sys.executable)\n"
        "cache_check.os.lstat = lambda path: regular  # the check saw a regular file\n"
        "try:\n"
        "    cache_check.read_file(sys.argv[1])\n"
        "except cache_check.DamageError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(fifo)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "not a regular file"


def test_read_file_refuses_what_is_not_a_regular_file(written: tuple[Path, bytes]) -> None:
    path, original = written
    data = cache_check.read_file(str(path))
    assert data.tobytes() == original
    assert not data.flags.writeable
    assert data.ctypes.data % 64 == 0
    link = path.with_name("link.arrow")
    link.symlink_to(path)  # the cache never writes links: one is not its own file
    with pytest.raises(DamageError):
        cache_check.read_file(str(link))
    with pytest.raises(DamageError):
        cache_check.read_file(str(path.parent))
    if Path("/dev/null").exists():
        with pytest.raises(DamageError):
            cache_check.read_file("/dev/null")
    with pytest.raises(FileNotFoundError):
        cache_check.read_file(str(path.with_name("missing.arrow")))


# ---- a cache changed under a running process ----------------------------------------------


def test_truncating_the_cache_after_a_restore_does_not_kill_the_process(tmp_path: Path) -> None:
    # Columns of a mapped file are pages of that file: truncated in place (the
    # same inode, not replaced), touching them raised SIGBUS and killed the
    # process. Read into memory, they are the process's own.
    script = (
        "import os, sys\n"
        "import numpy as np\n"
        "from lumiboard.reader.discover import Run\n"
        "from lumiboard.reader.ingest import RunLoader\n"
        "from lumiboard.store import cache\n"
        "from lumiboard.store.runs import RunData\n"
        "directory = sys.argv[1]\n"
        "run = RunData('big')\n"
        "steps = np.arange(300_000)\n"
        "run.scalar_series('loss').append(steps, steps + 0.5, steps * 2.0)\n"
        "assert cache.RunCache(directory).save(RunLoader(run), 'big')\n"
        "loader = RunLoader(RunData('big'))\n"
        "assert cache.RunCache(directory).restore(loader, Run('big', 'big', ()))\n"
        "os.truncate(cache.cache_path(directory, 'big'), 0)\n"
        "step, wall_time, value = loader.run.scalars['loss'].columns()\n"
        "print(int(step.sum()), float(wall_time.sum()), float(value.sum(dtype=np.float64)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr}"
    total = 299_999 * 300_000 // 2
    assert done.stdout.split() == [str(total), str(total + 0.5 * 300_000), str(2.0 * total)]


# ---- memory ------------------------------------------------------------------------------


def held_bytes(array: np.ndarray) -> int:
    """The size of the memory ``array`` views and keeps alive."""
    base: Any = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    if isinstance(base, np.ndarray):
        return int(base.nbytes)
    while base.parent is not None:  # a pyarrow Buffer: a slice of its parent
        base = base.parent
    return int(base.size)


def test_scalar_columns_do_not_keep_a_large_tensor_table_in_memory(tmp_path: Path) -> None:
    snapshot = small_snapshot()
    big = [TensorPoint(step, WALL, np.zeros(100_000)) for step in range(4)]  # 3.2 MB
    path = str(tmp_path / "run.arrow")
    tensors = {"w": Sampled(None, 4, None, big)}
    cache_format.write_snapshot(path, dataclasses.replace(snapshot, tensors=tensors))
    blocks = [block for series in snapshot.scalars.values() for block in series]
    block = cache_format.read_snapshot(path).scalars["loss"][0]
    # A copy of the batch's blocks, not the file.
    assert held_bytes(block) == sum(block.nbytes for block in blocks)
    assert not block.flags.writeable
    # Without such a table, the blocks are views of the file's bytes (no copy).
    cache_format.write_snapshot(path, dataclasses.replace(snapshot, tensors={}))
    block = cache_format.read_snapshot(path).scalars["loss"][0]
    assert held_bytes(block) == os.path.getsize(path)
    assert not block.flags.writeable


def test_a_huge_sparse_file_at_the_cache_path_is_refused_unread(
    logdir: Path, tmp_path: Path
) -> None:
    # A sparse 8 GiB file (or another program's data) at the cache path must not be read whole:
    # a cache is never larger than a few times its run's event files.
    import tracemalloc

    cache_dir = tmp_path / "cache"
    expected = columns(_load(logdir, None))
    _load(logdir, cache_dir)
    path = Path(cache.cache_path(cache_dir, str(logdir / "train")))
    os.truncate(path, 8 << 30)
    tracemalloc.start()
    try:
        warm = _load(logdir, cache_dir)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert columns(warm) == expected
    assert peak < 256 << 20
    assert path.stat().st_size < 8 << 30  # deleted and rebuilt
