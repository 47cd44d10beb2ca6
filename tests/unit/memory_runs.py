"""A :class:`Reloader` whose runs are built in memory (no event files): many runs, fast.

Imported by the wire tests (``from memory_runs import memory_reloader``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lumiboard.plugins.base import DataClass
from lumiboard.reader.reload import Reloader
from lumiboard.store.runs import RunData, TagInfo


def memory_reloader(empty: Path, runs: int, points: int, tag: str = "loss") -> Reloader:
    """``runs`` runs ``run_0``... of one scalar tag of ``points`` float32 points each."""
    reloader = Reloader(str(empty))
    rng = np.random.default_rng(0)
    step = np.arange(points, dtype=np.int64)
    for index in range(runs):
        run = RunData(f"run_{index}")
        run.tags[tag] = TagInfo("scalars", DataClass.SCALAR)
        value = rng.standard_normal(points).astype(np.float32)
        run.scalar_series(tag).append(step, 1.7e9 + index + step * 0.5, value)
        reloader.runs[run.name] = run
    return reloader
