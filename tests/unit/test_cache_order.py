"""A first start with the cache serves every run before it writes any cache file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
