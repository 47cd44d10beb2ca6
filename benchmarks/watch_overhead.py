"""Training-step overhead of ``lumiboard.watch(model, writer, log="all", log_freq=100)``.

A small CNN (conv 3->16, ReLU, max-pool, conv 16->32, ReLU, max-pool, linear 2048->128,
ReLU, linear 128->10) trains on random 32x32x3 batches of 64 on the CPU with SGD and
logs its loss with ``add_scalar`` at every step. Two copies train side by side in one
process, from the same seed and on the same batches: one without a watch, one watched
with ``log="all", log_freq=100`` (steps 0, 100, 200 ... log every kind). The machine
is shared and noisy, so their steps are interleaved (A B, then B A, ...): both copies
see the same load, and each step is timed alone, in wall time and in CPU time of the
training thread (``time.thread_time``; torch runs on that thread with ``--threads 1``;
the writer's own thread, which serializes the events, is not counted).

Per run (``--repeat`` runs of ``--steps`` steps after ``--warmup`` untimed ones) the
overhead is sum(watched steps) / sum(plain steps) - 1; the table gives the median and
the best run. Also: the median step that logs nothing (what the hooks cost on the
other 99 steps of 100) and the extra time of a logged step. Target: the median wall
overhead under 5 %::

    python benchmarks/watch_overhead.py            # about 1 min on 2 cores
    python benchmarks/watch_overhead.py --check    # exit status 1 if the target fails
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and its ``http.py`` would shadow the
# standard library's (which torch imports).
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import torch
from torch import nn

from lumiboard import SummaryWriter
from lumiboard.watching import unwatch, watch

#: Overhead of the median wall time, at most.
TARGET = 0.05
LOG_FREQ = 100


@dataclass
class Copy:
    """One model, its optimizer and writer, and the times of its timed steps."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    writer: SummaryWriter
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 8 * 8, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def make_copy(log_dir: Path) -> Copy:
    torch.manual_seed(0)
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return Copy(model, optimizer, SummaryWriter(log_dir))


def train_step(copy: Copy, x: torch.Tensor, y: torch.Tensor, step: int, timed: bool) -> None:
    wall, cpu = time.perf_counter(), time.thread_time()
    loss = nn.functional.cross_entropy(copy.model(x), y)
    copy.optimizer.zero_grad()
    loss.backward()
    copy.optimizer.step()
    copy.writer.add_scalar("loss", loss.item(), step)
    if timed:
        copy.cpu.append(time.thread_time() - cpu)
        copy.wall.append(time.perf_counter() - wall)


def run(args: argparse.Namespace, log_dir: Path) -> tuple[Copy, Copy]:
    """Train a plain and a watched copy, steps interleaved; return both with their times."""
    plain, watched = make_copy(log_dir / "plain"), make_copy(log_dir / "watched")
    generator = torch.Generator().manual_seed(1)
    batches = [
        (
            torch.randn(args.batch, 3, 32, 32, generator=generator),
            torch.randint(0, 10, (args.batch,), generator=generator),
        )
        for _ in range(8)
    ]
    for i in range(args.warmup):
        for copy in (plain, watched):
            train_step(copy, *batches[i % len(batches)], i, timed=False)
    watch(watched.model, watched.writer, log="all", log_freq=LOG_FREQ)
    for i in range(args.steps):
        x, y = batches[i % len(batches)]
        for copy in (plain, watched) if i % 2 == 0 else (watched, plain):
            train_step(copy, x, y, i, timed=True)
    unwatch(watched.model)
    for copy in (plain, watched):
        copy.writer.close()
    return plain, watched


def overhead(plain: list[float], watched: list[float]) -> float:
    return sum(watched) / sum(plain) - 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps before")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3, help="runs")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target fails")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run(args, Path(tmp) / str(r)) for r in range(args.repeat)]
    logged = range(0, args.steps, LOG_FREQ)
    rows = []
    for label, kind in (("wall", "wall"), ("CPU (training thread)", "cpu")):
        per_run = [
            (
                statistics.mean(getattr(plain, kind)),
                statistics.mean(getattr(watched, kind)),
                overhead(getattr(plain, kind), getattr(watched, kind)),
            )
            for plain, watched in runs
        ]
        quiet = [
            statistics.median(
                getattr(watched, kind)[i] / getattr(plain, kind)[i] - 1
                for i in range(args.steps)
                if i % LOG_FREQ
            )
            for plain, watched in runs
        ]
        extra = [
            statistics.mean(getattr(watched, kind)[i] - getattr(plain, kind)[i] for i in logged)
            for plain, watched in runs
        ]
        median = sorted(per_run, key=lambda entry: entry[2])[len(per_run) // 2]
        best = min(per_run, key=lambda entry: entry[2])
        rows.append((label, median, best, statistics.median(quiet), statistics.median(extra)))
    print(
        f"small CNN, batch {args.batch}, {args.steps} steps x {args.repeat} runs, "
        f"{args.threads} torch thread(s), log_freq={LOG_FREQ} "
        f"({len(logged)} logged steps a run), steps of the two copies interleaved\n"
    )
    print(
        "| per step | plain (median run) | watched | overhead (median run) | overhead (best run) "
        "| step that logs nothing | a logged step |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, median, best, quiet_overhead, extra in rows:
        print(
            f"| {label} | {median[0] * 1e3:.2f} ms | {median[1] * 1e3:.2f} ms "
            f"| {median[2] * 100:+.2f} % | {best[2] * 100:+.2f} % "
            f"| {quiet_overhead * 100:+.2f} % (median) | +{extra * 1e3:.1f} ms |"
        )
    wall_overhead = rows[0][1][2]
    ok = wall_overhead < TARGET
    verdict = "PASS" if ok else "FAIL"
    print(f"\nwall overhead {wall_overhead * 100:+.2f} % < {TARGET * 100:.0f} %: {verdict}")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
