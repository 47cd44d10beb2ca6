"""Resident memory of loaded scalars: at most 12 bytes a point (issue 18 item 1).

The columns themselves take ~5-8 bytes a point (test_encoding); these check
the process: what a load leaves resident once its raw chunks are encoded and
freed, and that a load hands freed heap pages back to the system.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lumiboard.reader import ingest
from lumiboard.reader.reload import Reloader
from lumiboard.writer.summary_writer import SummaryWriter

_SCRIPT = """
import gc, sys
import numpy as np
from lumiboard.reader import ingest
from lumiboard.store.runs import RunData

def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) * 1024

rng = np.random.default_rng(0)
run = RunData('big')
gc.collect()
before = rss()
points = 0
# As the scanner hands them: 20 tags, 2,000 points of each per pass.
for start in range(0, 100_000, 2_000):
    for tag in range(20):
        step = np.arange(start, start + 2_000, dtype=np.int64)
        wall = 1.7e9 + step * 0.5 + rng.uniform(0, 0.01, len(step))
        value = rng.standard_normal(len(step)).astype(np.float32).astype(np.float64)
        run.scalar_series(f'tag{tag}').append(step, wall, value)
        points += len(step)
for series in run.scalars.values():
    series.blocks()
ingest._trim_heap()
gc.collect()
print(points, (rss() - before) / points)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc for RSS")
def test_two_million_loaded_points_stay_under_twelve_bytes_each() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr
    points, per_point = done.stdout.split()
    assert int(points) == 2_000_000
    assert float(per_point) <= 12, f"{per_point} bytes resident per point"


def _logdir(root: Path) -> Path:
    with SummaryWriter(root / "train") as writer:
        for step in range(50):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
    return root


def test_a_large_load_returns_freed_heap_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trims: list[int] = []
    monkeypatch.setattr(ingest, "_trim_heap", lambda: trims.append(1))
    monkeypatch.setattr(ingest, "_TRIM_BYTES", 1)
    reloader = Reloader(str(_logdir(tmp_path / "big")))
    reloader.reload()
    assert trims
    assert len(reloader.runs["train"].scalars["loss"]) == 50
    # A small load (below _TRIM_BYTES) does not pay for it.
    trims.clear()
    monkeypatch.setattr(ingest, "_TRIM_BYTES", 1 << 40)
    Reloader(str(_logdir(tmp_path / "small"))).reload()
    assert trims == []


def test_trimming_is_harmless_anywhere() -> None:
    ingest._trim_heap()  # glibc: trims; elsewhere: nothing, never an error
    ingest._trim_heap()
