"""Out of core: a logdir larger than the memory budget, served whole (``--memory-budget``).

Writes a log directory of ``--points`` scalar points (default 100M: 50 runs x 20 tags x
100,000 steps, about 4.6 GB of event files; ``scale_data.py`` encodes one run's file once and
copies it to every run), reads it once so the files are in the OS page cache, then:

1. **lumiboard, first start**: ``lumiboard --logdir X --memory-budget B --cache-dir D`` (the
   cache directory empty), timed from spawn until every scalar is queryable (every run lists
   every tag over HTTP and the last tag of every run serves its final step); then every
   series is fetched once whole (``/data/plugin/scalars/scalars?format=csv``, every point),
   and the count of points checked; then ``/data/health`` once (every series' health flags,
   what the web app asks for when a page opens); then, after ``--settle`` seconds, the steady
   RSS;
2. **lumiboard, restart**: the same again with the cache filled by 1. (restored, then spilled
   run by run as it is restored);
3. **lumiboard without a budget** (``--no-budget-line`` leaves it out), and
4. **TensorBoard (Rust)**, for scale: it keeps 1,000 points per series (its default sampling),
   not every point (``--no-tensorboard`` leaves it out).

Peak RSS is of the whole process tree, polled every 20 ms over the process's life, the
fetch of every series included. Target (issue 18, item 2): every point queryable with the
server's resident memory under 2 GiB at 100M points.

    .venv/bin/python benchmarks/out_of_core.py --points 2M --budget 16M     # develop
    .venv/bin/python benchmarks/out_of_core.py                              # 100M, 256M budget
"""

from __future__ import annotations

# Run as a script, this folder comes first on sys.path, and it holds scripts named like
# standard modules (``http.py`` shadows the ``http`` that urllib imports): bench_support is
# imported from it, then that entry is dropped before anything imports ``http``.
import os
import sys

import bench_support

if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import contextlib
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

TARGET_RSS = 2 << 30


restart = bench_support.sibling("restart")  # servers timed until queryable
ingest, scale_data = restart.ingest, restart.scale_data


@dataclass
class Line:
    name: str
    start: object  # restart.Start
    points: int = 0
    fetch_s: float | None = None
    steady_rss: int = 0


def fetch_all(port: int, runs: list[str], tags: list[str]) -> int:
    """Every point of every series, fetched once; how many points.

    As CSV (TensorBoard's ``format=csv``, a header line then a line a point), counted by
    lines: parsing 100M points of JSON here would cost more than the server's answers.
    """
    base = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars"
    total = 0
    for run in runs:
        for tag in tags:
            query = urllib.parse.urlencode({"run": run, "tag": tag, "format": "csv"})
            with urllib.request.urlopen(f"{base}?{query}", timeout=600) as response:
                text = response.read()
            total += text.count(b"\n") - 1 + (not text.endswith(b"\n"))
    return total


def measure(
    name: str,
    command: list[str],
    port: int,
    layout: tuple[list[str], list[str], int],
    log: Path,
    timeout: float,
    settle: float,
) -> Line:
    line = Line(name, None)
    runs, tags, _ = layout

    def after(proc: Any, port: int) -> None:
        started = time.monotonic()
        line.points = fetch_all(port, runs, tags)
        line.fetch_s = time.monotonic() - started
        # What the web app asks for when a page opens: every series' health flags (lumiboard
        # only; TensorBoard has no such route). Counted in the peak RSS.
        with contextlib.suppress(urllib.error.URLError, OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/data/health", timeout=600).read()
        time.sleep(settle)
        line.steady_rss = ingest.tree_rss(psutil.Process(proc.pid))

    line.start = restart.serve(command, port, layout, log, timeout, after)
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", default="100M")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--budget", default="256M", help="--memory-budget given to lumiboard")
    parser.add_argument(
        "--workdir", default=os.path.join(tempfile.gettempdir(), "lumiboard-bench-out-of-core")
    )
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--no-tensorboard", action="store_true")
    parser.add_argument("--no-budget-line", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)

    runs, tags, steps = restart.layout_for(restart.parse_points(args.points), args.runs, args.tags)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    logdir = scale_data.generate(workdir, runs, tags, steps)
    restart.page_in(logdir)
    restart.compile_package()
    layout = (scale_data.run_names(runs), [f"metric_{t:02d}" for t in range(tags)], steps)
    points = runs * tags * steps
    on_disk = ingest.disk_bytes(logdir)
    print(f"{points:,} points ({on_disk / ingest.MB:,.0f} MB of event files), {logdir}")
    print(f"budget {args.budget}; the machine's cores are shared, so times are noisy", flush=True)

    cache = workdir / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    budgeted = ["--cache-dir", str(cache), "--memory-budget", args.budget]
    lines = []
    plan = [
        ("lumiboard first start, budget", budgeted),
        ("lumiboard restart, budget", budgeted),
    ]
    if not args.no_budget_line:
        plan.append(("lumiboard, no budget (--no-cache)", ["--no-cache"]))
    for name, extra in plan:
        port = ingest.free_port()
        log = workdir / f"{name.split(',')[0].replace(' ', '-')}-{len(lines)}.log"
        command = restart.lumiboard_cmd(logdir, port, extra)
        lines.append(measure(name, command, port, layout, log, args.timeout, args.settle))
        print(f"  {name}: done", flush=True)
    if not args.no_tensorboard:
        port = ingest.free_port()
        command = ingest.tensorboard_cmd(logdir, port, True)
        log = workdir / "tensorboard.log"
        lines.append(
            measure(
                "TensorBoard (Rust, 1,000/series)",
                command,
                port,
                layout,
                log,
                args.timeout,
                args.settle,
            )
        )

    print()
    header = f"{'contender':36} {'queryable s':>11} {'fetch all s':>11} {'points':>13}"
    print(header + f" {'peak RSS MB':>11} {'steady RSS MB':>13}  note")
    ok = None
    for line in lines:
        start = line.start
        total = getattr(start, "total_s", None)
        peak = getattr(start, "peak_rss", 0)
        print(
            f"{line.name:36} {restart.fmt(total):>11} {restart.fmt(line.fetch_s, '.1f'):>11} "
            f"{line.points:>13,} {peak / ingest.MB:>11,.0f} {line.steady_rss / ingest.MB:>13,.0f}"
            f"  {getattr(start, 'note', '')}"
        )
        if "budget" in line.name and "no budget" not in line.name:
            fine = total is not None and line.points == points and peak < TARGET_RSS
            ok = fine if ok is None else ok and fine
    print()
    print(f"every point served, peak RSS under 2 GiB with the budget: {ingest.verdict(ok)}")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
