"""Three torchrun processes (gloo, CPU) writing with each ``ranks=`` mode, read back by TensorBoard.

One launch runs the three modes in turn. Each process logs ``STEPS`` points of
``loss`` (``rank * 1000 + step``, so a point says who wrote it) and of an
all-reduced value. The event files are then read one by one with TensorBoard's
own ``EventAccumulator``: a file holding two processes' points, or missing one,
fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch.distributed")

WORLD = 3
STEPS = 40

WORKER = """
import json, os, sys

import torch
import torch.distributed as dist

from lumiboard import SummaryWriter

root, steps = sys.argv[1], int(sys.argv[2])
dist.init_process_group("gloo")
rank = dist.get_rank()
report = {"rank": rank, "pid": os.getpid(), "modes": {}}
for mode in ("all", "zero", "separate"):
    writer = SummaryWriter(os.path.join(root, "logs", mode), ranks=mode, max_queue=7)
    info = writer.rank_info
    report["modes"][mode] = [info.rank, info.world_size, info.local_rank, info.source]
    for step in range(steps):
        reduced = torch.tensor([float(rank + step)])
        dist.all_reduce(reduced)
        writer.add_scalar("loss", rank * 1000 + step, step)
        writer.add_scalar("reduced", reduced.item(), step)
    writer.close()
    dist.barrier()
dist.destroy_process_group()
with open(os.path.join(root, f"report_{rank}.json"), "w") as out:
    json.dump(report, out)
"""


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("torchrun")
    script = root / "worker.py"
    script.write_text(WORKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "OMPI_", "PMI_"))}
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "TF_CONFIG"):
        env.pop(name, None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc_per_node={WORLD}", str(script), str(root), str(STEPS)]
    result = subprocess.run(
        command, check=False, capture_output=True, text=True, env=env, timeout=180
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    reports = {}
    for rank in range(WORLD):
        report = json.loads((root / f"report_{rank}.json").read_text())
        reports[report["rank"]] = report
    return root / "logs", reports


def points(event_file: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of one event file, as TensorBoard reads it."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    accumulator = ea.EventAccumulator(str(event_file), size_guidance={ea.SCALARS: 0})
    accumulator.Reload()
    return {
        tag: [(e.step, e.value) for e in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }


def expected(rank: int) -> dict[str, list[tuple[int, float]]]:
    return {
        "loss": [(step, float(rank * 1000 + step)) for step in range(STEPS)],
        # sum over the ranks of (rank + step): the all_reduce ran between the writes.
        "reduced": [(step, float(WORLD * step + sum(range(WORLD)))) for step in range(STEPS)],
    }


def event_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith("events.out.tfevents."))


def owner(event_file: Path, reports: dict[int, dict[str, Any]]) -> int:
    # events.out.tfevents.<time>.<host>.<pid>.<n>: the pid says which rank made the file.
    pid = int(event_file.name.split(".")[-2])
    (rank,) = [r for r, report in reports.items() if report["pid"] == pid]
    return rank


def test_every_rank_knows_its_place(job: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    _, reports = job
    for rank, report in reports.items():
        for mode in ("all", "zero", "separate"):
            # The process group answers; torchrun's LOCAL_RANK agrees and gives the local rank.
            assert report["modes"][mode] == [rank, WORLD, rank, "torch.distributed"]


def test_all_every_process_writes_its_own_file(job: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    logs, reports = job
    files = event_files(logs / "all")
    assert len(files) == WORLD
    assert sorted(owner(f, reports) for f in files) == list(range(WORLD))
    for event_file in files:
        assert points(event_file) == expected(owner(event_file, reports))


def test_zero_only_rank_zero_writes(job: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    logs, reports = job
    files = event_files(logs / "zero")
    assert [owner(f, reports) for f in files] == [0]
    assert points(files[0]) == expected(0)
    assert sorted(p.name for p in (logs / "zero").iterdir()) == [files[0].name]


def test_separate_one_run_per_rank(job: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    logs, reports = job
    runs = sorted(p.name for p in (logs / "separate").iterdir())
    assert runs == [f"rank_{k}" for k in range(WORLD)]
    for k in range(WORLD):
        files = event_files(logs / "separate" / f"rank_{k}")
        assert [owner(f, reports) for f in files] == [k]
        assert points(files[0]) == expected(k)
