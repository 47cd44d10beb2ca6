"""The memory budget: series beyond it are spilled and read back from the cache, exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lumiboard.reader.reload import Reloader
from lumiboard.store import budget as budget_module
from lumiboard.store import health
from lumiboard.store.budget import MemoryBudget, note_read
from lumiboard.store.columns import ScalarSeries
from lumiboard.store.health import HealthIndex
from lumiboard.store.provider import Provider
from lumiboard.store.runs import RunData
from lumiboard.writer.summary_writer import SummaryWriter

WALL = 1_700_000_000.0
RUNS, TAGS, STEPS = ("a", "b", "c"), ("loss", "acc", "lr"), 1500


def write(logdir: Path, steps: range, runs: tuple[str, ...] = RUNS) -> None:
    for number, run in enumerate(runs):
        with SummaryWriter(logdir / run) as writer:
            for step in steps:
                for index, tag in enumerate(TAGS):
                    value = np.sin(step / (index + 2.0)) + number
                    writer.add_scalar(tag, value, step, walltime=WALL + step * 0.37)


def points(reloader: Reloader) -> dict[tuple[str, str], list[list[float]]]:
    provider = Provider(reloader.runs)
    return {
        (run, tag): [np.asarray(column).tolist() for column in vars(columns).values()]
        for run in provider.list_runs()
        for tag in sorted(reloader.runs[run].scalars)
        for columns in [provider.read_scalars(run, tag)]
    }


def resident(reloader: Reloader) -> int:
    return sum(s.nbytes for run in reloader.runs.values() for s in run.scalars.values())


def spilled(reloader: Reloader) -> int:
    return sum(s.spilled for run in reloader.runs.values() for s in run.scalars.values())


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    write(tmp_path / "logs", range(STEPS))
    return tmp_path / "logs"


def full_size(logdir: Path, tmp_path: Path) -> tuple[int, dict[tuple[str, str], list[list[float]]]]:
    reference = Reloader(logdir)
    reference.reload()
    return resident(reference), points(reference)


def test_a_logdir_over_the_budget_stays_under_it_and_serves_every_point(
    logdir: Path, tmp_path: Path
) -> None:
    size, expected = full_size(logdir, tmp_path)
    limit = size // 3
    reloader = Reloader(logdir, cache_dir=tmp_path / "cache", memory_budget=limit)
    reloader.reload()
    assert resident(reloader) <= limit
    assert spilled(reloader) >= len(expected) // 2
    assert points(reloader) == expected  # every point, read back exactly
    assert resident(reloader) <= limit  # reading does not load them back


def test_a_warm_restart_under_the_budget(logdir: Path, tmp_path: Path) -> None:
    size, expected = full_size(logdir, tmp_path)
    Reloader(logdir, cache_dir=tmp_path / "cache").reload()  # fills the cache
    limit = size // 4
    reloader = Reloader(logdir, cache_dir=tmp_path / "cache", memory_budget=limit)
    reloader.reload()
    assert reloader.progress().bytes_done == 0  # restored, not parsed
    assert resident(reloader) <= limit
    assert points(reloader) == expected


def test_appends_to_a_spilled_series(logdir: Path, tmp_path: Path) -> None:
    size, _ = full_size(logdir, tmp_path)
    limit = size // 3
    reloader = Reloader(logdir, cache_dir=tmp_path / "cache", memory_budget=limit)
    assert reloader.cache is not None
    reloader.cache.save_interval = 0  # a live run saved after every pass
    reloader.reload()
    before = {key for key, series in _series(reloader).items() if series.spilled}
    assert before
    write(logdir, range(STEPS, STEPS + 400))  # every run goes on (a new event file each)
    reloader.reload()
    write(tmp_path / "all", range(STEPS + 400))  # the same points, read in one go
    size_after, expected = full_size(tmp_path / "all", tmp_path)
    assert points(reloader) == expected
    assert resident(reloader) <= limit  # re-spilled after the save
    assert size_after > size


def test_the_least_recently_read_series_spill_first(tmp_path: Path) -> None:
    run = RunData("run")
    for tag in ("old", "read", "new"):
        run.scalar_series(tag).append(
            np.arange(1000), np.arange(1000, dtype=np.float64), np.ones(1000)
        )
    sizes = {tag: series.nbytes for tag, series in run.scalars.items()}
    reads: list[tuple[str, str]] = []

    def reader(path: str, tag: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        reads.append((path, tag))
        return np.arange(1000), np.arange(1000, dtype=np.float64), np.ones(1000)

    note_read(run.scalars["read"])
    budget = MemoryBudget(int(sizes["read"] * 1.2), reader)  # spills down to 85% of it
    freed = budget.enforce([(run, "cache.arrow")])
    assert {tag for tag, series in run.scalars.items() if series.spilled} == {"old", "new"}
    assert freed == sizes["old"] + sizes["new"]
    assert np.asarray(run.scalars["old"].columns()[0]).tolist() == list(range(1000))
    assert reads == [("cache.arrow", "old")]


def test_nothing_is_spilled_while_its_run_loads_or_before_it_is_saved() -> None:
    run, unsaved = RunData("run"), RunData("unsaved")
    for data in (run, unsaved):
        data.scalar_series("loss").append(np.arange(10), np.zeros(10), np.zeros(10))
    budget = MemoryBudget(1, lambda path, tag: (np.arange(0), np.zeros(0), np.zeros(0)))
    with budget.loading("run"):
        assert budget.enforce([(run, "cache.arrow"), (unsaved, None)]) == 0
    assert budget.enforce([(run, "cache.arrow"), (unsaved, None)]) > 0
    assert run.scalars["loss"].spilled
    assert not unsaved.scalars["loss"].spilled


def test_a_budget_needs_the_cache(logdir: Path) -> None:
    with pytest.raises(ValueError, match="needs the cache"):
        Reloader(logdir, memory_budget=1 << 20)
    with pytest.raises(ValueError, match="positive"):
        MemoryBudget(0)


def _series(reloader: Reloader) -> dict[tuple[str, str], ScalarSeries]:
    return {
        (name, tag): series
        for name, run in reloader.runs.items()
        for tag, series in run.scalars.items()
    }


def test_reads_are_ordered() -> None:
    first, second = RunData("x").scalar_series("a"), RunData("y").scalar_series("b")
    note_read(first)
    note_read(second)
    assert 0 < budget_module.last_read(first) < budget_module.last_read(second)


def test_series_restored_under_a_budget_do_not_keep_their_file_in_memory(
    logdir: Path, tmp_path: Path
) -> None:
    Reloader(logdir, cache_dir=tmp_path / "cache").reload()  # fills the cache
    plain = Reloader(logdir, cache_dir=tmp_path / "cache")
    plain.reload()
    assert all(block.base is not None for s in _series(plain).values() for block in s.blocks())
    # Under a budget: a run partly spilled keeps only its resident series' bytes.
    budgeted = Reloader(logdir, cache_dir=tmp_path / "cache", memory_budget=1 << 40)
    budgeted.reload()
    assert budgeted.progress().bytes_done == 0
    assert all(block.base is None for s in _series(budgeted).values() for block in s.blocks())


def test_a_deleted_cache_loses_nothing_under_a_budget(logdir: Path, tmp_path: Path) -> None:
    size, expected = full_size(logdir, tmp_path)
    reloader = Reloader(logdir, cache_dir=tmp_path / "cache", memory_budget=size // 3)
    reloader.reload()
    for path in (tmp_path / "cache").iterdir():
        path.unlink()
    provider = Provider(reloader.runs)
    run, tag = next(key for key, series in _series(reloader).items() if series.spilled)
    with pytest.raises(FileNotFoundError):
        provider.read_scalars(run, tag)
    reloader.reload()  # reads the runs spilled from it again from their event files
    assert points(reloader) == expected
    assert reloader.progress().bytes_done > 0
    reloader.reload()  # the other runs' caches written again: spillable again
    assert resident(reloader) <= size // 3
    assert points(reloader) == expected


def test_a_health_report_holds_a_bounded_share_of_the_columns(
    logdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SummaryWriter(logdir / "bad") as writer:
        for step in range(200):
            writer.add_scalar("loss", float("nan") if step == 150 else 1.0 / (step + 1), step)
    size, _ = full_size(logdir, tmp_path)
    reloader = Reloader(logdir, cache_dir=tmp_path / "cache", memory_budget=size // 3)
    reloader.reload()
    expected = HealthIndex(Provider(reloader.runs)).report().flags
    assert any(flag.run == "bad" for flag in expected)
    held: list[int] = []
    refresh = HealthIndex._refresh

    def spy(self: HealthIndex, changed: list[Any]) -> None:
        held.append(sum(len(change.value) for change in changed))
        refresh(self, changed)

    monkeypatch.setattr(health, "REFRESH_POINTS", 1)
    monkeypatch.setattr(HealthIndex, "_refresh", spy)
    flags = HealthIndex(Provider(reloader.runs)).report().flags
    assert repr(flags) == repr(expected)  # (repr: a flag's value may be NaN)
    assert max(held) <= len(TAGS) * STEPS  # one run's columns at a time, not every run's
