"""Growth: load time and memory as points and runs grow, lumiboard beside TensorBoard's Rust
data server, in one run (issue 18 items 1, 3, 4 and 8).

Log directories are written fast (``scale_data.py``: one run encoded in bulk, copied to every
other run), kept under ``--workdir`` and reused. For each size, every contender runs in a fresh
process, one after the other, on the same files (read once beforehand: all in the page cache):

- **lumiboard load**: ``Reloader(logdir).reload()`` in a child process (``ingest.py``'s child:
  the load alone, then every series read once), its peak RSS;
- **lumiboard serve**: ``lumiboard --logdir`` (the real server with its defaults, its cache in
  an emptied directory: a first start), timed from spawning the process until every scalar
  is served over HTTP;
- **TensorBoard**: ``tensorboard --load_fast=true --samples_per_plugin=scalars=1000000000``
  (the Rust data server keeping every point, as lumiboard does; ``scalars=0`` keeps none
  there), timed the same way; its own load step is the "Finished load cycle" line of the
  data server's log.

"Every scalar is served": ``/data/plugin/scalars/tags`` lists every run and tag, and for every
run the last tag's series ends at the last step written (``scalars`` per run up to 100 runs, in
CSV, whose last line is the last point; ``scalars_multirun`` in batches of 500 above, read
whole and parsed only at each run's last point), polled
every 50 ms at first, then every 0.5% of the time elapsed. RSS is the whole process tree's
(TensorBoard and its data server), polled every 20 ms: **peak**, and **steady** once everything
is served.

Rows: points (``--points``, default 1M,10M: 50 runs x 20 tags x points/1000 steps) and runs
(``--runs``, default 10,100,500,2000, each x 5 tags x 100 steps). Then the empty-logdir line:
the tree RSS of each server on an empty log directory once it has answered its first request.

Targets (PASS/FAIL; ``--check``: exit status 1 on a FAIL)::

    2,000 runs: lumiboard load s <= RustBoard's load cycle
    2,000 runs: lumiboard serve s <= 0.5 x TensorBoard's
    1M points: lumiboard serve s <= 0.3 x TensorBoard's; 10M points: <= 0.15 x
    empty logdir: lumiboard RSS <= TensorBoard's

Usage::

    python benchmarks/scale.py                          # 1M, 10M points; 10 -> 2,000 runs
    python benchmarks/scale.py --points 1M --runs 10,2000 --check
    python benchmarks/scale.py --points 1M,10M,30M,100M  # the whole table (needs the memory)
"""

from __future__ import annotations

# This folder holds scripts named like standard modules (``http.py``): drop it from sys.path
# and load the helpers by file.
import os
import sys

import bench_support

if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import atexit
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

_HERE = os.path.dirname(os.path.abspath(__file__))


ingest = bench_support.sibling("ingest")
scale_data = bench_support.sibling("scale_data")

MB = 1024 * 1024
POINT_SHAPE = (50, 20)  # runs, tags of a points row; steps = points / 1000
RUN_SHAPE = (5, 100)  # tags, steps of a runs row
MULTIRUN_BATCH = 500
KEEP_ALL = 1_000_000_000  # TensorBoard's --samples_per_plugin for scalars
TARGET_RUNS_LOAD = 1.0  # lumiboard load / RustBoard load, 2,000 runs
TARGET_RUNS_SERVE = 0.5  # lumiboard serve / TensorBoard serve, 2,000 runs
TARGET_STARTUP = {1_000_000: 0.3, 10_000_000: 0.15}  # lumiboard serve / TensorBoard serve


@dataclass
class Served:
    """One server, spawned and polled until every scalar is served."""

    serve_s: float | None = None
    load_s: float | None = None  # TensorBoard: its data server's own load cycle
    peak_rss: int | None = None
    steady_rss: int | None = None
    note: str = ""


@dataclass
class Row:
    label: str
    points: int
    runs: int
    lumi_load: Any = None  # ingest.Result
    lumi: Served | None = None
    tb: Served | None = None


def parse_count(text: str) -> int:
    match = re.fullmatch(r"([0-9.]+)\s*([kKmM]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a count: {text!r}")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def counts(text: str) -> list[int]:
    return [parse_count(item) for item in text.split(",") if item.strip()]


def label(count: int) -> str:
    if count >= 1_000_000 and count % 1_000_000 == 0:
        return f"{count // 1_000_000}M"
    return f"{count:,}"


# ---- serving and polling -----------------------------------------------------------------


def lumiboard_cmd(logdir: Path, port: int, cache_dir: Path) -> list[str]:
    """``lumiboard --logdir`` as a user starts it (the cache on), the cache in ``cache_dir``,
    emptied first: every start measured is a first start."""
    shutil.rmtree(cache_dir, ignore_errors=True)
    return [
        sys.executable,
        "-m",
        "lumiboard.cli",
        "--logdir",
        str(logdir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--reload_interval",
        "0",
        "--cache-dir",
        str(cache_dir),
    ]


def tensorboard_cmd(logdir: Path, port: int) -> list[str]:
    # Every point kept: the Rust data server reads "scalars=0" as zero points, not "all".
    return [*ingest.tensorboard_cmd(logdir, port, True), f"--samples_per_plugin=scalars={KEEP_ALL}"]


def _post(url: str, fields: list[tuple[str, str]], timeout: float) -> bytes:
    body = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return bytes(response.read())


def last_steps(answer: bytes) -> dict[str, int]:
    """run -> the step of its last point, from a ``scalars_multirun`` answer
    (``{"run": [[wall_time, step, value], ...], ...}``, with or without blanks) read whole
    but parsed only at each run's last point: parsing every point (~2.5 MB a batch of 500
    runs x 100 points) cost the poller more than either server, on the same cores. For
    this benchmark's run names (no quote or bracket in them); a run without points is
    left out."""
    steps: dict[str, int] = {}
    at = 0
    while True:
        opened = _OPENED.search(answer, at)
        if opened is None:
            return steps
        if answer[opened.end() : opened.end() + 1] == b"]":  # "run": []
            at = opened.end() + 1
            continue
        closed = _CLOSED.search(answer, opened.end())
        if closed is None:
            return steps
        last = answer[answer.rfind(b"[", opened.end(), closed.start()) + 1 : closed.start()]
        steps[opened.group(1).decode()] = int(last.split(b",")[1])
        at = closed.end()


_OPENED = re.compile(rb'"([^"]*)"\s*:\s*\[\s*')
_CLOSED = re.compile(rb"\]\s*\]")


def _all_served(base: str, runs: list[str], tag: str, last: int, done: set[str]) -> bool:
    """Whether every run's ``tag`` ends at step ``last`` (runs found so are added to ``done``)."""
    todo = [run for run in runs if run not in done]
    if len(runs) <= 100:
        for run in todo:
            if bench_support.last_step(base, run, tag) == last:
                done.add(run)
    else:
        for start in range(0, len(todo), MULTIRUN_BATCH):
            batch = todo[start : start + MULTIRUN_BATCH]
            fields = [("tag", tag), *(("runs", run) for run in batch)]
            steps = last_steps(_post(f"{base}/scalars_multirun", fields, 120))
            done.update(run for run in batch if steps.get(run) == last)
    return len(done) == len(runs)


def serve(
    cmd: list[str],
    port: int,
    runs: list[str],
    tags: list[str],
    last: int,
    log: Path,
    timeout: float,
) -> Served:
    """Spawn ``cmd`` (a server on ``port``) and time it until every scalar is served."""
    result = Served()
    base = f"http://127.0.0.1:{port}/data/plugin/scalars"
    wanted = set(tags)
    with log.open("wb") as err:
        spawned = time.monotonic()
        proc = ingest.spawn(cmd, subprocess.DEVNULL, err)
        monitor = ingest.MemoryMonitor(proc.pid)
        try:
            done: set[str] = set()
            while time.monotonic() < spawned + timeout:
                if proc.poll() is not None:
                    result.note = f"exited early (status {proc.returncode}), see {log}"
                    return result
                try:
                    listed = ingest.http_json(f"{base}/tags", 30)
                    if all(wanted <= set(listed.get(run, {})) for run in runs) and _all_served(
                        base, runs, tags[-1], last, done
                    ):
                        result.serve_s = time.monotonic() - spawned
                        break
                except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                    pass
                time.sleep(max(ingest.HTTP_POLL_S, (time.monotonic() - spawned) / 200))
            else:
                result.note = f"timed out after {timeout:.0f} s"
            time.sleep(0.5)  # settle: what a server holds once it has served everything
            result.steady_rss = ingest.tree_rss(psutil.Process(proc.pid))
        finally:
            result.peak_rss = monitor.stop()
            ingest._kill_tree(proc)
    found = re.findall(r"Finished load cycle \(([0-9.]+)(m?s)\)", log.read_text(errors="replace"))
    if found:
        number, unit = found[0]
        result.load_s = float(number) / (1000 if unit == "ms" else 1)
    return result


def empty_rss(cmd: list[str], port: int, timeout: float) -> int | None:
    """Tree RSS of a server on an empty log directory, once it has answered a request."""
    proc = ingest.spawn(cmd, subprocess.DEVNULL, subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ingest.http_json(f"http://127.0.0.1:{port}/data/runs", 5)
                break
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                time.sleep(ingest.HTTP_POLL_S)
        else:
            return None
        time.sleep(1.0)
        root = psutil.Process(proc.pid)
        return int(sorted(ingest.tree_rss(root) for _ in range(5))[2])
    finally:
        ingest._kill_tree(proc)


# ---- one row ----------------------------------------------------------------------------


def measure_row(row: Row, logdir: Path, tags: int, steps: int, args: argparse.Namespace) -> None:
    workdir = Path(args.workdir)
    runs = scale_data.run_names(row.runs)
    tag_names = [f"metric_{t:02d}" for t in range(tags)]
    ingest.warm_page_cache(logdir)
    name = re.sub(r"[^a-z0-9]+", "-", row.label.lower()).strip("-")
    print(f"[{row.label}] lumiboard load ...", flush=True)
    result, data = ingest.run_python_child(
        f"lumiboard-load-{name}",
        ["--child", "lumiboard", "--logdir", str(logdir)],
        workdir,
        args.timeout,
    )
    row.lumi_load = result
    if data is not None and data["points"] != row.points:
        result.note = f"COUNT MISMATCH: {data['points']:,} loaded, {row.points:,} expected"
    print(f"[{row.label}] lumiboard serve ...", flush=True)
    port = ingest.free_port()
    row.lumi = serve(
        lumiboard_cmd(logdir, port, Path(args.workdir) / "lumiboard-cache"),
        port,
        runs,
        tag_names,
        steps - 1,
        workdir / f"lumiboard-serve-{name}.log",
        args.timeout,
    )
    if "tensorboard" not in args.skip:
        print(f"[{row.label}] TensorBoard (Rust, keep-all) ...", flush=True)
        port = ingest.free_port()
        row.tb = serve(
            tensorboard_cmd(logdir, port),
            port,
            runs,
            tag_names,
            steps - 1,
            workdir / f"tensorboard-{name}.log",
            args.timeout,
        )


# ---- report -----------------------------------------------------------------------------


def fmt(value: float | None, spec: str) -> str:
    """``value`` formatted, or "-" (as wide as the column) when it was not measured."""
    if value is None:
        width = re.match(r"\d*", spec)
        return "-".rjust(int(width.group())) if width and width.group() else "-"
    return format(value, spec)


def ratio(mine: float | None, theirs: float | None) -> float | None:
    return None if mine is None or not theirs else mine / theirs


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'size':<22} {'lumi load s':>11} {'Rust load s':>11} {'ratio':>6} "
        f"{'lumi serve s':>12} {'TB serve s':>10} {'ratio':>6} "
        f"{'lumi peak MB':>12} {'TB peak MB':>10} {'lumi B/pt':>9} {'TB B/pt':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        load = row.lumi_load.load_s if row.lumi_load is not None else None
        lumi, tb = row.lumi or Served(), row.tb or Served()
        lumi_peak = lumi.peak_rss and lumi.peak_rss / MB
        tb_peak = tb.peak_rss and tb.peak_rss / MB
        print(
            f"{row.label:<22} {fmt(load, '11.2f')} {fmt(tb.load_s, '11.2f')} "
            f"{fmt(ratio(load, tb.load_s), '6.2f')} {fmt(lumi.serve_s, '12.2f')} "
            f"{fmt(tb.serve_s, '10.2f')} {fmt(ratio(lumi.serve_s, tb.serve_s), '6.2f')} "
            f"{fmt(lumi_peak, '12.0f')} {fmt(tb_peak, '10.0f')} "
            f"{fmt(lumi.steady_rss and lumi.steady_rss / row.points, '9.1f')} "
            f"{fmt(tb.steady_rss and tb.steady_rss / row.points, '8.1f')}"
        )
        for who, note in (
            ("lumiboard load", row.lumi_load.note if row.lumi_load is not None else ""),
            ("lumiboard serve", lumi.note),
            ("TensorBoard", tb.note),
        ):
            if note:
                print(f"{'':<22} {who}: {note}")


def verdict(ok: bool | None) -> str:
    return "PASS" if ok else ("FAIL" if ok is not None else "FAIL (not measured)")


def checks(
    rows: list[Row], empty: tuple[int | None, int | None] | None
) -> list[tuple[str, bool | None]]:
    out: list[tuple[str, bool | None]] = []
    many = next((row for row in rows if row.runs == 2000 and row.label.endswith("runs")), None)
    if many is not None:
        load = many.lumi_load.load_s if many.lumi_load is not None else None
        rust = many.tb.load_s if many.tb is not None else None
        value = ratio(load, rust)
        out.append(
            (
                f"2,000 runs: lumiboard load {fmt(load, '.2f')} s <= RustBoard's load cycle "
                f"{fmt(rust, '.2f')} s (ratio {fmt(value, '.2f')})",
                None if value is None else value <= TARGET_RUNS_LOAD,
            )
        )
        lumi = many.lumi.serve_s if many.lumi is not None else None
        tb = many.tb.serve_s if many.tb is not None else None
        value = ratio(lumi, tb)
        out.append(
            (
                f"2,000 runs: lumiboard serve {fmt(lumi, '.2f')} s <= {TARGET_RUNS_SERVE} x "
                f"TensorBoard's {fmt(tb, '.2f')} s (ratio {fmt(value, '.2f')})",
                None if value is None else value <= TARGET_RUNS_SERVE,
            )
        )
    for row in rows:
        target = TARGET_STARTUP.get(row.points) if row.label.endswith("points") else None
        if target is None:
            continue
        lumi = row.lumi.serve_s if row.lumi is not None else None
        tb = row.tb.serve_s if row.tb is not None else None
        value = ratio(lumi, tb)
        out.append(
            (
                f"start-up {row.label}: process start to every scalar served {fmt(lumi, '.2f')} s "
                f"<= {target} x TensorBoard (Rust, keep-all) {fmt(tb, '.2f')} s "
                f"(ratio {fmt(value, '.2f')})",
                None if value is None else value <= target,
            )
        )
    if empty is not None:
        lumi_rss, tb_rss = empty
        out.append(
            (
                f"empty logdir: lumiboard RSS {fmt(lumi_rss and lumi_rss / MB, '.1f')} MiB <= "
                f"TensorBoard's {fmt(tb_rss and tb_rss / MB, '.1f')} MiB (after the first answer)",
                None if lumi_rss is None or tb_rss is None else lumi_rss <= tb_rss,
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--points",
        type=counts,
        default=counts("1M,10M"),
        help="points rows, e.g. 1M,10M,30M,100M (50 runs x 20 tags each)",
    )
    parser.add_argument(
        "--runs",
        type=counts,
        default=counts("10,100,500,2000"),
        help="runs rows, each run 5 tags x 100 steps",
    )
    parser.add_argument(
        "--workdir",
        default=os.path.join(tempfile.gettempdir(), "lumiboard-bench-scale"),
        help="where log directories and logs are kept between invocations",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per contender")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["tensorboard", "empty"],
        help="leave TensorBoard, or the empty-logdir line, out",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    args = parser.parse_args(argv)

    atexit.register(ingest._kill_all)
    signal.signal(signal.SIGTERM, ingest._on_signal)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"{os.cpu_count()} CPUs; work directory {workdir}; "
        f"timeout {args.timeout:.0f} s per contender",
        flush=True,
    )

    rows: list[Row] = []
    plans = []
    for points in args.points:
        runs, tags = POINT_SHAPE
        steps = max(1, points // (runs * tags))
        plans.append((Row(f"{label(points)} points", runs * tags * steps, runs), tags, steps))
    for runs in args.runs:
        tags, steps = RUN_SHAPE
        plans.append((Row(f"{runs:,} runs", runs * tags * steps, runs), tags, steps))
    for row, tags, steps in plans:
        logdir = scale_data.generate(workdir, row.runs, tags, steps)
        measure_row(row, logdir, tags, steps, args)
        rows.append(row)

    empty = None
    if "empty" not in args.skip:
        print("empty logdir ...", flush=True)
        directory = scale_data.empty_logdir(workdir)
        port = ingest.free_port()
        lumi_rss = empty_rss(lumiboard_cmd(directory, port, workdir / "lumiboard-cache"), port, 120)
        tb_rss = None
        if "tensorboard" not in args.skip:
            port = ingest.free_port()
            tb_rss = empty_rss(tensorboard_cmd(directory, port), port, 120)
        empty = (lumi_rss, tb_rss)

    print()
    print(
        "load s: lumiboard's Reloader.reload() / RustBoard's 'Finished load cycle'; serve s: "
        "process start until every scalar is served over HTTP (TensorBoard: Rust data server, "
        "keeping every point); peak MB: process tree; B/pt: steady tree RSS / points"
    )
    print_table(rows)
    if empty is not None:
        lumi_rss, tb_rss = empty
        print(
            f"{'empty logdir RSS MiB':<22} lumiboard {fmt(lumi_rss and lumi_rss / MB, '.1f')}, "
            f"TensorBoard {fmt(tb_rss and tb_rss / MB, '.1f')}"
        )
    print()
    results = checks(rows, empty)
    for text, ok in results:
        print(f"{verdict(ok)}: {text}")
    failed = any(not ok for _, ok in results)
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
