"""A first start with the cache serves every run before it writes any cache file."""

from __future__ import annotations

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
