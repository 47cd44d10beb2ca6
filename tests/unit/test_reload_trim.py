"""A reload pass hands freed heap pages back once, at its end, not after each large run (the
next run's reads would fault the pages back in); under a memory budget, run by run."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumiboard import SummaryWriter
from lumiboard.reader import ingest
from lumiboard.reader.reload import Reloader


def _logdir(root: Path, runs: int) -> Path:
    for index in range(runs):
        with SummaryWriter(root / f"run{index}") as writer:
            for step in range(20):
                writer.add_scalar("loss", 1.0 / (step + 1), step)
    return root


@pytest.fixture
def trims(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    done: list[int] = []
    monkeypatch.setattr(ingest, "_trim_heap", lambda: done.append(1))
    monkeypatch.setattr(ingest, "_TRIM_BYTES", 1)  # every run's load is "large"
    return done


def test_a_pass_of_many_large_runs_trims_once(tmp_path: Path, trims: list[int]) -> None:
    Reloader(str(_logdir(tmp_path / "one", 1)), workers=2).reload()
    one_run = len(trims)
    trims.clear()
    reloader = Reloader(str(_logdir(tmp_path / "logs", 4)), workers=2)
    reloader.reload()
    assert len(trims) == one_run  # as many trims for 4 runs as for 1: at the pass's end
    assert all(len(run.scalars["loss"]) == 20 for run in reloader.runs.values())
    trims.clear()
    reloader.reload()  # nothing new: nothing to hand back
    assert trims == []


def test_under_a_memory_budget_each_large_run_trims(tmp_path: Path, trims: list[int]) -> None:
    logdir = _logdir(tmp_path / "logs", 3)
    reloader = Reloader(str(logdir), cache_dir=tmp_path / "cache", memory_budget=1 << 30)
    reloader.reload()
    assert len(trims) == 3
