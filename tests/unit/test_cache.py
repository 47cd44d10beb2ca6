"""The persistent cache: a warm restart equals a cold load and reads only new bytes."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyarrow import ipc

from lumiboard.demo import write_demo
from lumiboard.format.proto import event_pb2
from lumiboard.format.tfrecord import encode_record
from lumiboard.reader import scan as scanner
from lumiboard.reader.discover import Run, list_runs, parse_logdir
from lumiboard.reader.ingest import RunLoader
from lumiboard.reader.reload import Reloader
from lumiboard.store import cache, cache_format, encoding
from lumiboard.store.runs import RunData
from lumiboard.writer.summary_writer import SummaryWriter

WALL = 1_700_000_000.0


# ---- helpers ----------------------------------------------------------------------------


def dump(reloader: Reloader) -> dict[str, Any]:
    """Everything a reloader holds, in comparable form."""
    result: dict[str, Any] = {}
    for name, run in sorted(reloader.runs.items()):
        loader = reloader.loader(name)
        assert loader is not None
        result[name] = {
            "tags": run.tags,
            "scalars": {
                tag: [column.tolist() for column in series.columns()]
                for tag, series in run.scalars.items()
            },
            "tensors": {
                tag: (
                    reservoir.size,
                    reservoir.seen,
                    [
                        (p.step, p.wall_time, p.array.dtype.str, p.array.shape, p.array.tolist())
                        for p in reservoir.items
                    ],
                )
                for tag, reservoir in run.tensors.items()
            },
            "blobs": {
                tag: (reservoir.size, reservoir.seen, reservoir.items)
                for tag, reservoir in run.blobs.items()
            },
            "start_time": run.start_time,
            "skipped": run.skipped,
            "files": {p: (s.offset, s.size) for p, s in loader.files.items()},
            "tag_kinds": loader.tag_kinds,
            **{name: getattr(loader, name) for name in cache_format.LOADER_FIELDS},
        }
    return result


def load(logdir: Path | str, cache_dir: Path | None, **options: Any) -> Reloader:
    reloader = Reloader(str(logdir), cache_dir=cache_dir, **options)
    reloader.reload()
    return reloader


def cold(logdir: Path | str, **options: Any) -> dict[str, Any]:
    """What a load without any cache gives."""
    return dump(load(logdir, None, **options))


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(base offset, bytes) of every scanner call."""
    calls: list[tuple[int, int]] = []
    real = scanner.scan

    def spy(buffer: bytes | memoryview, base_offset: int, *args: Any) -> scanner.Scan:
        calls.append((base_offset, len(buffer)))
        return real(buffer, base_offset, *args)

    monkeypatch.setattr(scanner, "scan", spy)
    return calls


def write_run(directory: Path, steps: range = range(30)) -> None:
    with SummaryWriter(directory) as writer:
        for step in steps:
            writer.add_scalar("loss", 1.0 / (step + 1), step, walltime=WALL + step)
            writer.add_scalar("lr", step * 0.5, step, new_style=True, walltime=WALL + step)
            if step % 3 == 0:
                writer.add_histogram("w", np.arange(step + 3.0), step, walltime=WALL)
                writer.add_text("note", f"step {step}", step, walltime=WALL)
                writer.add_image("img", np.full((3, 4, 4), step % 255, np.uint8), step)


def event_file(run: Path) -> Path:
    (path,) = [p for p in run.iterdir() if "tfevents" in p.name]
    return path


def append(path: Path, steps: range, histograms: bool = True) -> int:
    """Append records (scalars and histograms) to an event file; return bytes added."""
    records = []
    for step in steps:
        event = event_pb2.Event(step=step, wall_time=WALL + step)
        event.summary.value.add(tag="loss", simple_value=1.0 / (step + 1))
        records.append(encode_record(event.SerializeToString()))
        if histograms:
            event = event_pb2.Event(step=step, wall_time=WALL + step)
            value = event.summary.value.add(tag="w")
            value.histo.min, value.histo.max, value.histo.num = 0.0, float(step), 3.0
            value.histo.bucket_limit.extend([1.0, 2.0])
            value.histo.bucket.extend([1.0, 2.0])
            records.append(encode_record(event.SerializeToString()))
    data = b"".join(records)
    with path.open("ab") as handle:
        handle.write(data)
    return len(data)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    write_run(root / "train")
    write_run(root / "eval", range(10))
    return root


# ---- warm equals cold --------------------------------------------------------------------


def write_torch_run(directory: Path) -> None:
    tensorboard = pytest.importorskip("torch.utils.tensorboard")
    writer = tensorboard.SummaryWriter(str(directory))
    for step in range(20):
        writer.add_scalar("torch/loss", 1.0 / (step + 1), step)
        writer.add_scalars("torch/multi", {"a": step, "b": -step}, step)
        if step % 5 == 0:
            writer.add_histogram("torch/w", np.random.default_rng(step).normal(size=100), step)
            writer.add_image("torch/img", np.zeros((3, 4, 4), np.uint8), step)
            writer.add_text("torch/note", f"step {step}", step)
    writer.close()


def test_warm_restart_equals_cold_load(tmp_path: Path, scans: list[tuple[int, int]]) -> None:
    logdir = tmp_path / "logs"
    write_demo(logdir, steps=60)
    write_torch_run(logdir / "torch")
    expected = cold(logdir)
    cache_dir = tmp_path / "cache"

    first = load(logdir, cache_dir)
    assert dump(first) == expected
    assert len(list(cache_dir.glob("*.arrow"))) == len(expected)

    scans.clear()
    warm = load(logdir, cache_dir)
    assert scans == []  # nothing parsed again
    assert dump(warm) == expected
    assert warm.progress().bytes_total == 0


def test_samples_per_plugin_are_kept_with_their_sampling_state(
    logdir: Path, tmp_path: Path
) -> None:
    samples: dict[str, int | None] = {"histograms": 2, "text": 1, "images": 3}
    cache_dir = tmp_path / "cache"
    load(logdir, cache_dir, samples=samples)
    warm = load(logdir, cache_dir, samples=samples)
    assert dump(warm) == cold(logdir, samples=samples)
    # Sampling goes on as it would have: same points as a cold load after more data.
    append(event_file(logdir / "train"), range(30, 60))
    warm.reload()
    expected = cold(logdir, samples=samples)
    assert dump(warm) == expected
    warm.stop()
    assert dump(load(logdir, cache_dir, samples=samples)) == expected


def test_other_sample_sizes_rebuild(logdir: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    load(logdir, cache_dir, samples={"histograms": 2})
    warm = load(logdir, cache_dir, samples={"histograms": 5})
    assert dump(warm) == cold(logdir, samples={"histograms": 5})


@pytest.mark.parametrize("limit", [1, 100, cache_format.BATCH_BYTES])
def test_series_are_batched_whole_as_encoded_blocks(
    logdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    monkeypatch.setattr(cache_format, "BATCH_BYTES", limit)
    cache_dir = tmp_path / "cache"
    load(logdir, cache_dir)
    warm = load(logdir, cache_dir)
    assert dump(warm) == cold(logdir)
    # One row per encoded block, rows grouped by tag; any series read back alone.
    path = cache_file(cache_dir, logdir, "eval")
    table = ipc.open_file(str(path)).read_all()
    assert table.column_names == ["tag", "block"]
    tags = table.column("tag").to_pylist()
    assert tags == sorted(tags, key=["loss", "lr"].index)
    step, _, value = cache_format.read_series_mapped(str(path), "loss")
    assert step.tolist() == list(range(10))
    assert value.dtype == np.float32  # written as simple_value: exactly float32


# ---- only new bytes ----------------------------------------------------------------------


def test_appended_bytes_are_the_only_ones_read(
    logdir: Path, tmp_path: Path, scans: list[tuple[int, int]]
) -> None:
    cache_dir = tmp_path / "cache"
    load(logdir, cache_dir).stop()
    path = event_file(logdir / "train")
    old_size = path.stat().st_size
    added = append(path, range(30, 40))

    scans.clear()
    warm = load(logdir, cache_dir)
    assert scans == [(old_size, added)]  # from the cached offset, the new bytes only
    assert warm.progress().bytes_total == added
    assert dump(warm) == cold(logdir)

    # The new state was saved: the next restart reads nothing.
    scans.clear()
    again = load(logdir, cache_dir)
    assert scans == []
    assert dump(again) == dump(warm)


def test_a_new_file_in_a_cached_run_is_read(logdir: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    load(logdir, cache_dir)
    write_run(logdir / "train", range(30, 35))
    assert dump(load(logdir, cache_dir)) == cold(logdir)


def test_new_points_append_after_mapped_columns(logdir: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    load(logdir, cache_dir)
    warm = load(logdir, cache_dir)
    series = warm.runs["train"].scalars["loss"]
    # The encoded blocks are views of the cache file's bytes, installed as they are.
    blocks = series.blocks()
    assert blocks
    assert all(not block.flags.owndata for block in blocks)
    step, _, _ = series.columns()
    assert not step.flags.writeable
    assert series.columns()[0].ctypes.data == step.ctypes.data  # decoded once, kept
    append(event_file(logdir / "train"), range(30, 33), histograms=False)
    warm.reload()
    assert series.columns()[0].tolist() == [*range(30), 30, 31, 32]


# ---- stale caches ------------------------------------------------------------------------


def test_replaced_file_is_detected_and_read_again(
    logdir: Path, tmp_path: Path, scans: list[tuple[int, int]]
) -> None:
    cache_dir = tmp_path / "cache"
    load(logdir, cache_dir)
    path = event_file(logdir / "train")
    size = path.stat().st_size
    # Same name, other bytes, longer: only the identity check can tell.
    path.unlink()
    path.write_bytes(b"")
    append(path, range(100, 100 + size // 100))
    assert path.stat().st_size >= size

    scans.clear()
    warm = load(logdir, cache_dir)
    assert scans[0][0] == 0  # read from its start
    assert dump(warm) == cold(logdir)


def test_replaced_file_with_the_same_start_is_detected(logdir: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    load(logdir, cache_dir)
    path = event_file(logdir / "train")
    data = bytearray(path.read_bytes())
    assert len(data) > 2 * cache.IDENTITY_BYTES
    data[-100:] = bytes(reversed(data[-100:]))  # damaged near the end
    path.write_bytes(bytes(data))
    assert dump(load(logdir, cache_dir)) == cold(logdir)


def test_shrunk_file_is_detected(logdir: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    load(logdir, cache_dir)
    path = event_file(logdir / "train")
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)
    assert dump(load(logdir, cache_dir)) == cold(logdir)


def test_removed_file_is_detected(logdir: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    write_run(logdir / "train", range(30, 35))  # a second file
    load(logdir, cache_dir)
    event_file_paths = sorted(p for p in (logdir / "train").iterdir() if "tfevents" in p.name)
    event_file_paths[0].unlink()
    assert dump(load(logdir, cache_dir)) == cold(logdir)


def cache_file(cache_dir: Path, logdir: Path, run: str) -> Path:
    return Path(cache.cache_path(cache_dir, str(logdir / run)))


@pytest.mark.parametrize(
    "damage",
    ["random", "truncated", "empty", "flipped header"],
)
def test_damaged_cache_is_deleted_and_rebuilt(
    logdir: Path, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    cache_dir = tmp_path / "cache"
    load(logdir, cache_dir)
    path = cache_file(cache_dir, logdir, "train")
    data = path.read_bytes()
    if damage == "random":
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        position = data.rindex(b'"scalar_tags"')  # in the footer's schema
        path.write_bytes(data[:position] + b'"scalar_tagz"' + data[position + 13 :])
    with caplog.at_level(logging.WARNING, logger="lumiboard.store.cache"):
        warm = load(logdir, cache_dir)
    assert dump(warm) == cold(logdir)
    assert "damaged cache" in caplog.text
    # Rebuilt (rewritten by the pass), and read without complaint next time.
    assert path.read_bytes() != b""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lumiboard.store.cache"):
        assert dump(load(logdir, cache_dir)) == cold(logdir)
    assert caplog.text == ""


@pytest.mark.parametrize("field", ["FORMAT_VERSION", "__version__"])
def test_cache_of_another_version_is_ignored(
    logdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    cache_dir = tmp_path / "cache"
    with monkeypatch.context() as patch:
        patch.setattr(cache_format, field, 0 if field == "FORMAT_VERSION" else "0.0.0")
        load(logdir, cache_dir)
    restored: list[int] = []
    real = cache.install

    def install(*args: Any) -> None:
        restored.append(1)
        real(*args)

    monkeypatch.setattr(cache, "install", install)
    assert dump(load(logdir, cache_dir)) == cold(logdir)
    assert restored == []
    # Rewritten in the current version: used next time.
    load(logdir, cache_dir)
    assert restored == [1, 1]


def test_the_cache_knows_every_field_of_a_loader_and_a_run() -> None:
    # A field added to RunLoader or RunData must be cached too (or listed
    # here as not needed): a restored run would otherwise read on differently.
    loader = RunLoader(RunData("run"))
    # _purge_mark lives from a purge_step's file version to its START, the next record.
    known = {"run", "files", "tag_kinds", "_samples", "_logged", "_purge_mark"}
    known.add("trim")  # set by the reloader that owns the loader, not the run's state
    known |= set(cache_format.LOADER_FIELDS)
    assert set(vars(loader)) == known
    cached = {"name", "tags", "scalars", "tensors", "blobs", "start_time", "skipped", "lock"}
    # _run_stamp: this process's count of the run's changes (tag listings), set anew by
    # every attribute a restore sets.
    assert {field.name for field in dataclasses.fields(RunData)} == cached | {"_run_stamp"}


# ---- options -----------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return home


def test_default_dir(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert cache.default_dir() == str(home / ".cache" / "lumiboard")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_dir() == str(tmp_path / "xdg" / "lumiboard")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")  # ignored, as the XDG spec says
    assert cache.default_dir() == str(home / ".cache" / "lumiboard")


def test_disabled_cache_writes_nothing(logdir: Path, home: Path, tmp_path: Path) -> None:
    before = sorted(tmp_path.rglob("*"))
    reloader = load(logdir, None)
    reloader.stop()
    assert reloader.cache is None
    assert sorted(tmp_path.rglob("*")) == before


def test_cache_dir_is_honoured(logdir: Path, home: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "elsewhere" / "cache"
    load(logdir, cache_dir)
    names = sorted(p.name for p in cache_dir.iterdir())
    expected = sorted(cache_file(cache_dir, logdir, run).name for run in ("train", "eval"))
    assert names == expected
    assert not (home / ".cache").exists()


def test_unwritable_cache_dir_serves_on(
    logdir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="lumiboard.store.cache"):
        reloader = load(logdir, blocker / "cache")
        reloader.reload()
    assert dump(reloader) == cold(logdir)
    assert caplog.text.count("cannot write cache") == 2  # once per run


def test_saves_are_spaced_while_a_run_changes_and_flushed_at_stop(
    logdir: Path, tmp_path: Path, scans: list[tuple[int, int]]
) -> None:
    cache_dir = tmp_path / "cache"
    reloader = load(logdir, cache_dir)
    path = cache_file(cache_dir, logdir, "train")
    written = path.stat().st_mtime_ns
    append(event_file(logdir / "train"), range(30, 32))
    reloader.reload()
    assert path.stat().st_mtime_ns == written  # saved less than SAVE_INTERVAL ago
    reloader.stop()
    assert path.stat().st_mtime_ns != written
    scans.clear()
    warm = load(logdir, cache_dir)
    assert scans == []
    assert dump(warm) == cold(logdir)


def test_background_reloader_saves_at_stop(logdir: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    reloader = Reloader(str(logdir), cache_dir=cache_dir)
    reloader.start(interval=0.05)
    deadline = time.monotonic() + 10
    while reloader.progress().passes < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    append(event_file(logdir / "train"), range(30, 32))
    reloader.stop()
    assert dump(load(logdir, cache_dir)) == cold(logdir)


# ---- remote logdirs ----------------------------------------------------------------------


@pytest.fixture
def memory_logdir() -> Iterator[str]:
    fsspec = pytest.importorskip("fsspec")
    name = f"memory://lumiboard-cache-{os.getpid()}-{time.monotonic_ns()}"
    yield name
    fsspec.filesystem("memory").rm(name.removeprefix("memory://"), recursive=True)


def test_remote_logdir_is_cached(
    memory_logdir: str, tmp_path: Path, scans: list[tuple[int, int]]
) -> None:
    fsspec = pytest.importorskip("fsspec")
    with SummaryWriter(f"{memory_logdir}/train") as writer:
        for step in range(20):
            writer.add_scalar("loss", 1.0 / (step + 1), step, walltime=WALL + step)
            writer.add_image("img", np.zeros((3, 2, 2), np.uint8), step, walltime=WALL)
    cache_dir = tmp_path / "cache"
    expected = dump(load(memory_logdir, cache_dir))
    scans.clear()
    assert dump(load(memory_logdir, cache_dir)) == expected
    assert scans == []

    # A replaced remote file (same name, other bytes) is read again.
    filesystem = fsspec.filesystem("memory")
    (name,) = [p for p in filesystem.find(memory_logdir) if "tfevents" in p]
    data = filesystem.cat_file(name)
    filesystem.pipe_file(name, data[:100] + bytes(reversed(data[100:200])) + data[200:])
    warm = load(memory_logdir, cache_dir)
    assert scans
    # Read again from its start: the file version (applied without a scanner call), then on.
    assert scans[0][0] == 12 + int.from_bytes(data[:8], "little") + 4
    assert dump(warm) == cold(memory_logdir)


# ---- a restart maps, it does not import or parse ----------------------------------------


def test_warm_restart_imports_no_pandas(logdir: Path, tmp_path: Path) -> None:
    # pyarrow's pa.array() and Array.to_numpy() import pandas (0.5 s, 40 MB):
    # the cache must build and read its arrays without them.
    cache_dir = tmp_path / "cache"
    script = (
        "import sys\n"
        "from lumiboard.reader import scan\n"
        "from lumiboard.reader.reload import Reloader\n"
        "calls, real = [], scan.scan\n"
        "scan.scan = lambda *args: calls.append(1) or real(*args)\n"
        f"r = Reloader({str(logdir)!r}, cache_dir={str(cache_dir)!r})\n"
        "r.reload()\n"
        "r.runs['train'].scalars['loss'].columns()\n"
        "assert 'pandas' not in sys.modules, 'pandas imported'\n"
        "print('parsed' if calls else 'mapped')\n"
    )
    for expected in ("parsed", "mapped"):  # cold (writes the cache), then warm
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == expected


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc for RSS")
def test_warm_restart_memory_stays_under_32_bytes_per_point(tmp_path: Path) -> None:
    # 1M points built in memory (no event files needed: a run with no files
    # is valid), cached, then restored and queried in a fresh process.
    run = RunData("big")
    rng = np.random.default_rng(0)
    for index in range(10):
        steps = np.arange(100_000, dtype=np.int64)
        run.scalar_series(f"tag{index}").append(steps, steps + WALL, rng.random(len(steps)))
    assert cache.RunCache(tmp_path).save(RunLoader(run), "big-location")
    script = (
        "import gc\n"
        "from lumiboard.reader.discover import Run\n"
        "from lumiboard.reader.ingest import RunLoader\n"
        "from lumiboard.store import cache\n"
        "from lumiboard.store import cache_format  # pyarrow: not counted as points\n"
        "from lumiboard.store.runs import RunData\n"
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS'):\n"
        "            return int(line.split()[1]) * 1024\n"
        "loader = RunLoader(RunData('big'))\n"
        f"store = cache.RunCache({str(tmp_path)!r})\n"
        "gc.collect()\n"
        "before = rss()\n"
        "assert store.restore(loader, Run('big', 'big-location', ()))\n"
        "points = 0\n"
        "for series in loader.run.scalars.values():\n"
        "    step, wall_time, value = series.columns()\n"
        "    points += len(step)\n"
        "    float(step.sum() + wall_time.sum() + value.sum())\n"
        "gc.collect()\n"
        "print(points, (rss() - before) / points)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    points, per_point = done.stdout.split()
    assert int(points) == 1_000_000
    assert float(per_point) < 32, f"{per_point} bytes resident per point"


@pytest.fixture(scope="module")
def cached_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run, bytes]:
    root = tmp_path_factory.mktemp("fuzz")
    write_run(root / "logs" / "train")
    load(root / "logs", root / "cache")
    (run,) = list_runs(parse_logdir(str(root / "logs"))).values()
    return root / "cache", run, Path(cache.cache_path(root / "cache", run.location)).read_bytes()


@given(st.data())
@settings(max_examples=150, deadline=None)
def test_damaged_cache_never_raises(
    cached_run: tuple[Path, Run, bytes], data: st.DataObject
) -> None:
    cache_dir, run, original = cached_run
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8), label="flips")):
        position = data.draw(st.integers(0, len(damaged) - 1), label="at")
        damaged[position] = data.draw(st.integers(0, 255), label="byte")
    cut = data.draw(st.integers(0, len(damaged)), label="cut")
    Path(cache.cache_path(cache_dir, run.location)).write_bytes(bytes(damaged[:cut]))
    loader = RunLoader(RunData("train"))
    if cache.RunCache(cache_dir).restore(loader, run):
        for series in loader.run.scalars.values():
            series.columns()
    else:  # untouched: read from the event files
        assert not loader.files
        assert not loader.run.tags


def test_tag_infos_round_trip_each_distinct_one_stored_once(tmp_path: Path) -> None:
    from lumiboard.plugins.base import DataClass
    from lumiboard.store.runs import TagInfo

    tags = {
        "loss": TagInfo("scalars", DataClass.SCALAR, "loss", "", b""),
        "acc": TagInfo("scalars", DataClass.SCALAR, "accuracy", "", b""),  # own display name
        "img": TagInfo("images", DataClass.BLOB_SEQUENCE, "img", "a *picture*", b"\x00\xff"),
        "txt": TagInfo("text", DataClass.TENSOR, "", "", b"\x08\x01"),  # empty display name
        "img2": TagInfo("images", DataClass.BLOB_SEQUENCE, "img2", "a *picture*", b"\x00\xff"),
    }
    loader = {"file_version": None, "most_recent_step": -1, "seen_start": False}
    kinds = dict.fromkeys(tags, 1)
    snapshot = cache_format.Snapshot("/logs/run", {}, [], kinds, loader, None, {}, tags, {}, {}, {})
    path = str(tmp_path / "run.arrow")
    cache_format.write_snapshot(path, snapshot)
    assert cache_format.read_snapshot(path).tags == tags
    with open(path, "rb") as handle:
        header = ipc.open_file(handle).schema.metadata[b"lumiboard.cache"]
    assert len(json.loads(header)["tag_infos"]) == 3


def test_installed_series_are_complete() -> None:
    # A series installed from a cache's blocks takes new points as any other.
    step = np.arange(3, dtype=np.int64)
    blocks = cache.ScalarSeries.from_blocks(
        encoding.encode(step, step.astype(np.float64), step.astype(np.float64))
    ).blocks()
    series = cache.ScalarSeries.from_blocks(blocks)
    series.append(np.array([3]), np.array([3.0]), np.array([4.0]))
    assert [column.tolist() for column in series.columns()] == [
        [0, 1, 2, 3],
        [0.0, 1.0, 2.0, 3.0],
        [0.0, 1.0, 2.0, 4.0],
    ]
