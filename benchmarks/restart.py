"""Restarts: the cache's first start and a warm restart, against a cold start and TensorBoard.

Every contender is the real command in a fresh process, on the same log directory (written
fast by ``scale_data.py``: one run's event file encoded once, copied to every run; default
50 runs x 20 tags x 10,000 steps = 10M points), read once beforehand so every contender
finds the files in the OS page cache:

1. **TensorBoard (Rust)**: ``tensorboard --load_fast=true --reload_interval 0``;
2. **lumiboard --no-cache**: the cold start;
3. **lumiboard, first start**: the cache on, its directory empty (the load writes it);
4. **lumiboard, warm restart**: the cache filled by 3. (after 3. was stopped as a user stops
   it, SIGTERM: the server saves what it has not saved yet before it exits).

Each is timed from spawning the process until every scalar is queryable over HTTP:
``/data/plugin/scalars/tags`` lists every run and tag, and the last tag of every run serves
its final step (its CSV answer's last line; polled every 50 ms at first, then every 0.5% of
the time elapsed). The
lumiboard lines run ``--repeat`` times, in turns (cold, first, warm, cold, ...), and report
the median. Targets (issue 18, item 4): warm restart <= 0.25 x the cold start; first start
<= 1.05 x ``--no-cache``.

    .venv/bin/python benchmarks/restart.py --points 1M          # develop
    .venv/bin/python benchmarks/restart.py                      # 10M points
"""

from __future__ import annotations

# Run as a script, this folder comes first on sys.path, and it holds scripts named like
# standard modules (``http.py`` shadows the ``http`` that urllib imports): drop that entry first.
import os
import sys

import bench_support

if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import importlib.util
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


ingest = bench_support.sibling("ingest")  # process trees, RSS polling, TensorBoard's command line
scale_data = bench_support.sibling("scale_data")  # fast log directories

TARGET_WARM = 0.25
TARGET_FIRST = 1.05


@dataclass
class Start:
    """One start of a server: until every scalar is queryable."""

    total_s: float | None = None
    peak_rss: int = 0
    note: str = ""


def lumiboard_cmd(logdir: Path, port: int, extra: list[str]) -> list[str]:
    command = str(Path(sys.executable).with_name("lumiboard"))
    address = ["--host", "127.0.0.1", "--port", str(port)]
    return [command, "--logdir", str(logdir), *address, "--reload_interval", "0", *extra]


def wait_ready(
    proc: Any, port: int, runs: list[str], tags: list[str], steps: int, timeout: float
) -> float | None:
    """Poll until every run lists every tag and its last tag serves step ``steps - 1``;
    the monotonic time then (None: timed out or exited)."""
    base = f"http://127.0.0.1:{port}/data/plugin/scalars"
    spawned = time.monotonic()
    wanted, done = set(tags), set()
    while time.monotonic() < spawned + timeout:
        if proc.poll() is not None:
            return None
        try:
            listed = ingest.http_json(f"{base}/tags", 10)
            if all(wanted <= set(listed.get(run, {})) for run in runs):
                for run in runs:
                    if (
                        run not in done
                        and bench_support.last_step(base, run, tags[-1]) == steps - 1
                    ):
                        done.add(run)
                if len(done) == len(runs):
                    return time.monotonic()
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            pass
        time.sleep(max(ingest.HTTP_POLL_S, (time.monotonic() - spawned) / 200))
    return None


def serve(
    command: list[str],
    port: int,
    layout: tuple[list[str], list[str], int],
    log: Path,
    timeout: float,
    after: Any = None,
) -> Start:
    """Spawn ``command``, time it until ready, run ``after(proc, port)`` if given, stop it
    (SIGTERM, as a user's Ctrl+C or a service manager; killed if it lingers)."""
    result = Start()
    with log.open("wb") as err:
        spawned = time.monotonic()
        proc = ingest.spawn(command, subprocess.DEVNULL, err)
        monitor = ingest.MemoryMonitor(proc.pid)
        try:
            ready = wait_ready(proc, port, *layout, timeout)
            if ready is None:
                result.note = f"not ready (status {proc.poll()}), see {log}"
                return result
            result.total_s = ready - spawned
            if after is not None:
                after(proc, port)
            monitor.sample()
        finally:
            with_term = proc.poll() is None
            if with_term:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=600)
                except subprocess.TimeoutExpired:
                    result.note = "did not stop on SIGTERM"
            monitor.stop()
            result.peak_rss = monitor.peak
            ingest._kill_tree(proc)
    return result


def compile_package() -> None:
    """Byte-compile lumiboard, as an installed package is: with PYTHONDONTWRITEBYTECODE set (or a
    source tree being edited) every start would compile the modules changed since, ~0.1 s."""
    spec = importlib.util.find_spec("lumiboard")
    assert spec is not None
    for location in spec.submodule_search_locations or ():
        subprocess.run([sys.executable, "-m", "compileall", "-q", location], check=False)


def page_in(logdir: Path) -> None:
    for path in logdir.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                while handle.read(1 << 24):
                    pass


def parse_points(text: str) -> int:
    scale = {"K": 10**3, "M": 10**6, "G": 10**9}
    text = text.strip().upper()
    if text and text[-1] in scale:
        return int(float(text[:-1]) * scale[text[-1]])
    return int(text)


def layout_for(points: int, runs: int, tags: int) -> tuple[int, int, int]:
    steps = max(1, points // (runs * tags))
    return runs, tags, steps


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", default="10M", help="scalar points in all (10M, 1M ...)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--workdir", default=os.path.join(tempfile.gettempdir(), "lumiboard-bench-restart")
    )
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--no-tensorboard", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    runs, tags, steps = layout_for(parse_points(args.points), args.runs, args.tags)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    logdir = scale_data.generate(workdir, runs, tags, steps)
    page_in(logdir)
    compile_package()
    layout = (scale_data.run_names(runs), [f"metric_{t:02d}" for t in range(tags)], steps)
    points = runs * tags * steps
    print(f"{points:,} points: {runs} runs x {tags} tags x {steps} steps, {logdir}", flush=True)

    results: dict[str, list[Start]] = {"cold": [], "first": [], "warm": []}
    cache = workdir / "cache"
    for turn in range(args.repeat):
        port = ingest.free_port()
        results["cold"].append(
            serve(
                lumiboard_cmd(logdir, port, ["--no-cache"]),
                port,
                layout,
                workdir / "cold.log",
                args.timeout,
            )
        )
        shutil.rmtree(cache, ignore_errors=True)
        port = ingest.free_port()
        results["first"].append(
            serve(
                lumiboard_cmd(logdir, port, ["--cache-dir", str(cache)]),
                port,
                layout,
                workdir / "first.log",
                args.timeout,
            )
        )
        port = ingest.free_port()
        results["warm"].append(
            serve(
                lumiboard_cmd(logdir, port, ["--cache-dir", str(cache)]),
                port,
                layout,
                workdir / "warm.log",
                args.timeout,
            )
        )
        line = ", ".join(f"{k} {fmt(v[-1].total_s)} s" for k, v in results.items())
        print(f"  turn {turn + 1}: {line}", flush=True)

    tensorboard = None
    if not args.no_tensorboard:
        port = ingest.free_port()
        tensorboard = serve(
            ingest.tensorboard_cmd(logdir, port, True),
            port,
            layout,
            workdir / "tensorboard.log",
            args.timeout,
        )

    def median(name: str) -> float | None:
        times = [r.total_s for r in results[name] if r.total_s is not None]
        return statistics.median(times) if times else None

    cold, first, warm = median("cold"), median("first"), median("warm")
    print()
    print(f"{'contender':34} {'start to queryable s':>21} {'peak RSS MB':>12}  note")
    rows = [
        (
            "TensorBoard (Rust, load_fast)",
            tensorboard.total_s if tensorboard else None,
            tensorboard.peak_rss if tensorboard else 0,
            tensorboard.note if tensorboard else "skipped",
        ),
        ("lumiboard --no-cache (cold)", cold, max(r.peak_rss for r in results["cold"]), ""),
        ("lumiboard first start (cache on)", first, max(r.peak_rss for r in results["first"]), ""),
        ("lumiboard warm restart", warm, max(r.peak_rss for r in results["warm"]), ""),
    ]
    for name, total, rss, note in rows:
        print(f"{name:34} {fmt(total):>21} {rss / ingest.MB:>12.0f}  {note}")
    warm_ratio, first_ratio = ratio(warm, cold), ratio(first, cold)
    tb = tensorboard.total_s if tensorboard else None
    print()
    print(
        f"warm restart / cold start: {fmt(warm_ratio, '.3f')} (target <= {TARGET_WARM})"
        f"  {ingest.verdict(None if warm_ratio is None else warm_ratio <= TARGET_WARM)}"
    )
    print(
        f"first start / --no-cache:  {fmt(first_ratio, '.3f')} (target <= {TARGET_FIRST})"
        f"  {ingest.verdict(None if first_ratio is None else first_ratio <= TARGET_FIRST)}"
    )
    print(
        f"cold / TensorBoard: {fmt(ratio(cold, tb), '.3f')}; warm / TensorBoard: "
        f"{fmt(ratio(warm, tb), '.3f')}"
    )
    failed = any(
        r is None or r > target
        for r, target in ((warm_ratio, TARGET_WARM), (first_ratio, TARGET_FIRST))
    )
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
