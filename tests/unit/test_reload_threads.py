"""Where a pass reads each run: large runs (or remote ones) on the thread pool, small ones on
the pass's own thread meanwhile (GIL-bound: handing thousands of them to threads cost more
than it saved), every point read either way."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lumiboard import SummaryWriter
from lumiboard.reader import reload as reload_module
from lumiboard.reader.ingest import RunLoader
from lumiboard.reader.reload import Reloader


def _run(root: Path, name: str, steps: int) -> int:
    with SummaryWriter(root / name) as writer:
        for step in range(steps):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
    return sum(path.stat().st_size for path in (root / name).iterdir())


def test_large_runs_go_to_the_pool_and_small_ones_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = [_run(tmp_path, name, 3) for name in ("s1", "s2", "s3")]
    large = [_run(tmp_path, name, 400) for name in ("l1", "l2")]
    assert max(small) < min(large)
    monkeypatch.setattr(reload_module, "POOL_BYTES", min(large))
    threads: dict[str, str] = {}
    original = RunLoader.load

    def load(self: RunLoader, *args: object, **kwargs: object) -> int:
        threads[self.run.name] = threading.current_thread().name
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RunLoader, "load", load)
    reloader = Reloader(str(tmp_path))
    here = threading.current_thread().name
    reloader.reload()
    assert {name: threads[name] == here for name in threads} == {
        "s1": True,
        "s2": True,
        "s3": True,
        "l1": False,
        "l2": False,
    }
    assert all(threads[name].startswith("lumiboard-ingest") for name in ("l1", "l2"))
    counts = {name: len(run.scalars["loss"]) for name, run in reloader.runs.items()}
    assert counts == {"s1": 3, "s2": 3, "s3": 3, "l1": 400, "l2": 400}
    progress = reloader.progress()
    assert (progress.runs_done, progress.bytes_done) == (5, sum(small) + sum(large))


def test_only_small_runs_start_no_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a", "b"):
        _run(tmp_path, name, 5)

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pass of small runs started a thread pool")

    monkeypatch.setattr(reload_module, "ThreadPoolExecutor", no_pool)
    reloader = Reloader(str(tmp_path))
    reloader.reload()
    assert {name: len(run.scalars["loss"]) for name, run in reloader.runs.items()} == {
        "a": 5,
        "b": 5,
    }
