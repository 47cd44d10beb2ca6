"""Run discovery: lumiboard's ``list_runs`` vs TensorBoard's walker, in one run.

Builds a local log directory of ``--runs`` run directories (10 groups, so names
look like ``group3/run042``) with 2 event files each, then times, on the same
tree with a warm OS cache:

- ``lumiboard``: ``list_runs(parse_logdir(logdir))``: run names, and each run's
  event files sorted, with their sizes;
- ``tensorboard``: ``io_wrapper.GetLogdirSubdirectories`` with run names made
  as ``EventMultiplexer.AddRunsFromDirectory`` does (it lists no files or
  sizes: its directory watcher does that later, per run).

Each figure is the median of ``--repeat`` runs. The target: lumiboard under
100 ms for 1,000 runs (the server re-lists every reload)::

    python benchmarks/discover.py            # table and a PASS/FAIL line
    python benchmarks/discover.py --check    # exit status 1 if the target fails
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lumiboard.reader.discover import list_runs, parse_logdir

#: Seconds to list 1,000 runs of 2 files, at most.
TARGET_S = 0.100
TARGET_RUNS = 1000


def build_tree(root: Path, runs: int) -> None:
    for index in range(runs):
        run = root / f"group{index % 10}" / f"run{index // 10:03d}"
        run.mkdir(parents=True)
        (run / f"events.out.tfevents.{1700000000 + index}.host.1.0").write_bytes(b"x" * 64)
        (run / f"events.out.tfevents.{1700000100 + index}.host.1.1.v2").write_bytes(b"x" * 32)


def lumiboard_names(logdir: str) -> set[str]:
    return set(list_runs(parse_logdir(logdir)))


def tensorboard_names(logdir: str) -> set[str]:
    from tensorboard.backend.event_processing import io_wrapper

    return {
        os.path.relpath(subdir, logdir).replace(os.sep, "/")
        for subdir in io_wrapper.GetLogdirSubdirectories(logdir)
    }


def median_seconds(function: Callable[[str], set[str]], logdir: str, repeat: int) -> float:
    function(logdir)  # warm up: imports, OS cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(logdir)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=TARGET_RUNS)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--check", action="store_true", help="exit 1 if the target fails")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        logdir = os.path.join(directory, "logs")
        build_tree(Path(logdir), args.runs)
        ours = lumiboard_names(logdir)
        if len(ours) != args.runs:
            print(f"FAIL lumiboard found {len(ours)} runs, not {args.runs}")
            return 1
        rows = [("lumiboard", median_seconds(lumiboard_names, logdir, args.repeat))]
        try:
            theirs = tensorboard_names(logdir)
        except ImportError:
            print("tensorboard is not installed: timing lumiboard alone")
        else:
            if theirs != ours:
                print(f"FAIL run names differ: {sorted(theirs ^ ours)[:5]} ...")
                return 1
            rows.append(("tensorboard", median_seconds(tensorboard_names, logdir, args.repeat)))

    print(f"{args.runs} runs x 2 event files, median of {args.repeat}")
    print(f"{'':<12} {'ms':>9} {'µs/run':>9}")
    for name, seconds in rows:
        print(f"{name:<12} {seconds * 1e3:>9.2f} {seconds * 1e6 / args.runs:>9.2f}")
    if len(rows) == 2:
        print(f"tensorboard / lumiboard: {rows[1][1] / rows[0][1]:.1f}x")

    budget = TARGET_S * args.runs / TARGET_RUNS
    ok = rows[0][1] < budget
    print(f"{'PASS' if ok else 'FAIL'} list_runs {rows[0][1] * 1e3:.1f} ms < {budget * 1e3:.0f} ms")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
