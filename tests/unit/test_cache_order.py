"""A first start with the cache serves every run before it writes any cache file."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lumiboard.reader.ingest import RunLoader
from lumiboard.reader.reload import Reloader
from lumiboard.store.cache import RunCache
from lumiboard.writer.summary_writer import SummaryWriter


def test_caches_are_written_once_every_run_is_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for run in ("a", "b", "c", "d"):
        with SummaryWriter(tmp_path / "logs" / run) as writer:
            for step in range(50):
                writer.add_scalar("loss", 1.0 / (step + 1), step)
    reloader = Reloader(str(tmp_path / "logs"), cache_dir=tmp_path / "cache", workers=2)
    seen: list[tuple[bool, int]] = []
    save = RunCache.save

    def spy(self: RunCache, loader: RunLoader, location: str, force: bool = False) -> bool:
        loaded = sum(len(run.scalars.get("loss", ())) == 50 for run in reloader.runs.values())
        seen.append((reloader.progress().loading, loaded))
        return save(self, loader, location, force)

    monkeypatch.setattr(RunCache, "save", spy)
    reloader.reload()
    assert seen == [(False, 4)] * 4  # every save after the pass, with every run served
    assert len(list((tmp_path / "cache").glob("*.arrow"))) == 4


def test_runs_without_a_cache_file_load_before_the_format_is_imported(tmp_path: Path) -> None:
    # pyarrow (the cache format) costs a first start ~0.1 s before its first run loads.
    with SummaryWriter(tmp_path / "logs" / "a") as writer:
        writer.add_scalar("loss", 1.0, 0)
    script = (
        "import sys\n"
        "from lumiboard.reader.discover import list_runs, parse_logdir\n"
        "from lumiboard.reader.ingest import RunLoader\n"
        "from lumiboard.store.cache import RunCache\n"
        "from lumiboard.store.runs import RunData\n"
        "[run] = list_runs(parse_logdir(sys.argv[1])).values()\n"
        "assert not RunCache(sys.argv[2]).restore(RunLoader(RunData('a')), run)\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'pyarrow'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "logs"), str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _wait(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_server_writes_its_caches_after_a_delay_or_at_stop(tmp_path: Path) -> None:
    for run in ("a", "b"):
        with SummaryWriter(tmp_path / "logs" / run) as writer:
            writer.add_scalar("loss", 1.0, 0)
    cache_dir = tmp_path / "cache"
    reloader = Reloader(str(tmp_path / "logs"), cache_dir=cache_dir)
    reloader.save_delay = 3600.0  # the first answers of a start are not slowed by writes
    reloader.start(interval=0)
    _wait(lambda: reloader.progress().passes == 1)
    assert set(reloader.runs) == {"a", "b"}
    assert not list(cache_dir.glob("*.arrow"))
    reloader.stop()  # a stop writes them at once
    assert len(list(cache_dir.glob("*.arrow"))) == 2

    quick = Reloader(str(tmp_path / "logs"), cache_dir=tmp_path / "other")
    quick.save_delay = 0.0
    quick.start(interval=0)
    _wait(lambda: len(list((tmp_path / "other").glob("*.arrow"))) == 2)
    quick.stop()


def test_a_restart_restores_while_its_caller_builds_the_server(tmp_path: Path) -> None:
    for run in ("a", "b"):
        with SummaryWriter(tmp_path / "logs" / run) as writer:
            for step in range(20):
                writer.add_scalar("loss", 1.0 / (step + 1), step)
    Reloader(str(tmp_path / "logs"), cache_dir=tmp_path / "cache").reload()  # fills the cache
    reloader = Reloader(str(tmp_path / "logs"), cache_dir=tmp_path / "cache")
    # Restored on a thread of its own, before any pass: served as soon as restored.
    _wait(lambda: sum(len(run.scalars.get("loss", ())) for run in reloader.runs.values()) == 40)
    assert reloader.progress().passes == 0
    reloader.reload()  # the first pass finds them restored: nothing read from the files
    assert reloader.progress().bytes_done == 0
    assert set(reloader.runs) == {"a", "b"}


def test_the_served_first_pass_reuses_the_restores_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lumiboard.reader import reload as reload_module

    for run in ("a", "b"):
        with SummaryWriter(tmp_path / "logs" / run) as writer:
            writer.add_scalar("loss", 1.0, 0)
    listings: list[int] = []
    original = reload_module.discover_runs

    def counted(sources: Any) -> Any:
        found = original(sources)
        listings.append(len(found.runs))
        return found

    monkeypatch.setattr(reload_module, "discover_runs", counted)
    # A direct reload() lists what is on disk now, whatever the restore listed before.
    reloader = Reloader(str(tmp_path / "logs"), cache_dir=tmp_path / "cache")
    with SummaryWriter(tmp_path / "logs" / "c") as writer:
        writer.add_scalar("loss", 1.0, 0)
    reloader.reload()
    assert set(reloader.runs) == {"a", "b", "c"}
    assert len(listings) == 2  # the restore's, then the pass's own
    assert listings[-1] == 3
    # The background loop's first pass (a server's), right after the restore, takes the
    # restore's listing instead of listing thousands of runs again; later passes list.
    listings.clear()
    served = Reloader(str(tmp_path / "logs"), cache_dir=tmp_path / "cache")
    served.start(interval=0.05)
    _wait(lambda: served.progress().passes >= 2)
    served.stop()
    assert listings[0] == 3
    assert len(listings) == served.progress().passes
    assert set(served.runs) == {"a", "b", "c"}


def test_an_empty_cache_directory_is_not_searched_run_by_run(tmp_path: Path) -> None:
    cache = RunCache(tmp_path / "cache")
    assert cache.holds_nothing()  # missing
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "notes.txt").write_text("not a cache file")
    assert cache.holds_nothing()
    with SummaryWriter(tmp_path / "logs" / "a") as writer:
        writer.add_scalar("loss", 1.0, 0)
    Reloader(str(tmp_path / "logs"), cache_dir=tmp_path / "cache").reload()  # writes one
    assert not cache.holds_nothing()
    restarted = Reloader(str(tmp_path / "logs"), cache_dir=tmp_path / "cache")
    restarted.reload()
    assert restarted.progress().bytes_done == 0  # restored, not read
