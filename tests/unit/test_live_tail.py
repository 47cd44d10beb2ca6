"""Reading while another process writes: points and runs appear as they are flushed.

A child process writes with lumiboard's SummaryWriter (flushing often, so the
reader meets half-written records) while the test reloads in a loop.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from lumiboard.reader.reload import Reloader
from lumiboard.store.provider import NotFoundError, Provider

STEPS = 300
RUNS = 5
TIMEOUT = 30.0


def start_writer(code: str, logdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(logdir)])


def scalar_steps(provider: Provider, run: str, tag: str) -> list[int]:
    try:
        return [int(step) for step in provider.read_scalars(run, tag).step]
    except NotFoundError:
        return []


WRITE_SCALARS = f"""
    import sys, time
    from lumiboard import SummaryWriter

    with SummaryWriter(sys.argv[1], flush_secs=0.01, max_queue=3) as writer:
        for step in range({STEPS}):
            writer.add_scalar("loss", step * 0.5, step)
            writer.add_scalar("acc", -step, step, new_style=True)
            time.sleep(0.003)
"""


def test_points_appear_incrementally_never_twice(tmp_path: Path) -> None:
    reloader = Reloader(str(tmp_path))
    provider = Provider(reloader.runs)
    writer = start_writer(WRITE_SCALARS, tmp_path)
    seen: list[int] = []
    deadline = time.monotonic() + TIMEOUT
    try:
        while writer.poll() is None and time.monotonic() < deadline:
            reloader.reload()
            steps = scalar_steps(provider, ".", "loss")
            # Always a prefix of what is written: in order, no point twice.
            assert steps == list(range(len(steps)))
            assert len(steps) >= (seen[-1] if seen else 0)
            seen.append(len(steps))
            time.sleep(0.005)
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()
    assert writer.returncode == 0

    reloader.reload()
    assert any(0 < count < STEPS for count in seen), seen  # read while it grew
    loss = provider.read_scalars(".", "loss")
    assert loss.step.tolist() == list(range(STEPS))
    np.testing.assert_array_equal(loss.value, np.arange(STEPS) * 0.5)
    assert provider.read_scalars(".", "acc").value.tolist() == [-s for s in range(STEPS)]
    assert reloader.runs["."].skipped == {}

    reloader.reload()  # nothing new: nothing read twice
    assert len(provider.read_scalars(".", "loss").step) == STEPS


WRITE_RUNS = f"""
    import sys, time
    from pathlib import Path
    from lumiboard import SummaryWriter

    for number in range({RUNS}):
        with SummaryWriter(Path(sys.argv[1]) / f"run{{number}}", flush_secs=0.01) as writer:
            for step in range(20):
                writer.add_scalar("loss", number + step, step)
        time.sleep(0.15)
"""


def test_new_runs_appear_on_the_next_reload(tmp_path: Path) -> None:
    reloader = Reloader(str(tmp_path), workers=2)
    provider = Provider(reloader.runs)
    writer = start_writer(WRITE_RUNS, tmp_path)
    counts: list[int] = []
    reloader.start(interval=0.01)  # the server's background reloading
    deadline = time.monotonic() + TIMEOUT
    try:
        while writer.poll() is None and time.monotonic() < deadline:
            counts.append(len(provider.list_runs()))
            time.sleep(0.01)
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()
        reloader.stop()
    assert writer.returncode == 0
    assert counts == sorted(counts)  # runs are never lost
    assert any(0 < count < RUNS for count in counts), counts

    reloader.reload()
    assert sorted(provider.list_runs()) == [f"run{number}" for number in range(RUNS)]
    for number in range(RUNS):
        loss = provider.read_scalars(f"run{number}", "loss")
        assert loss.step.tolist() == list(range(20))
        assert loss.value.tolist() == [number + step for step in range(20)]
