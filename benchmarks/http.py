"""HTTP latency of the scalars routes: lumiboard's server beside TensorBoard's, in one run.

Generates a log directory with lumiboard's SummaryWriter (``--runs`` runs x ``--tags`` scalar
tags x ``--steps`` steps; default 20 x 10 x 10,000 = 2M points), kept under ``--workdir`` and
reused by the next invocation. Then starts, one after the other, each as a subprocess on a free
port with ``--reload_interval 0`` (one load):

1. **lumiboard** (``python -m lumiboard --no-cache``);
2. **TensorBoard --load_fast=true** (the Rust data server);
3. **TensorBoard --load_fast=false** (the Python loader), only with ``--tb-python`` (slow to
   load: about a minute per million points).

Each is waited for until it serves every run and tag (``/data/plugin/scalars/tags`` lists them
all and the last tag of every run serves the final step), which is reported as **ready s**
(from spawning the process). Then every series is fetched once, untimed (warm-up; it also counts
the points each server returns), and ``--requests`` requests are timed, sequentially, over one
keep-alive ``http.client`` connection, the same (run, tag) list for every contender:

- ``GET /data/plugin/scalars/scalars?run&tag`` (TensorBoard's route; TensorBoard returns its
  1,000-point reservoir sample, lumiboard every point);
- ``POST /data/plugin/scalars/scalars_multirun`` (form: one tag, every run), as TensorBoard's
  scalars dashboard asks for a chart;
- lumiboard only: ``POST /data/plugin/scalars/series`` with ``buckets=1000``, for one run and
  for every run of a tag (what lumiboard's dashboard asks for a chart).

Each line of the table gives p50, p99 and mean latency (ms, the response body read in full),
requests per second, the points per response (median) and the bytes per response (median).
Every contender has ``--timeout`` seconds to become ready and to answer; its process tree is
killed when it overruns, when it is done, and at exit.

Usage::

    .venv/bin/python benchmarks/http.py                                  # 20 x 10 x 10,000
    .venv/bin/python benchmarks/http.py --runs 10 --tags 5 --steps 5000 --requests 500
    .venv/bin/python benchmarks/http.py --tb-python                      # also the Python loader
"""

from __future__ import annotations

# This file is named like the standard library's ``http`` package: run as a script, its folder
# comes first on sys.path and would shadow it. Drop that entry before anything imports ``http``.
import os
import sys

if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import atexit
import base64
import contextlib
import http.client
import json
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

MB = 1 << 20
BUCKETS = 1000
#: Process groups to kill at exit (each contender runs in its own session).
_LIVE: set[int] = set()


# ---- the log directory -----------------------------------------------------------------


def _write_run(job: tuple[str, int, int, int]) -> int:
    """One run: ``tags`` noisy loss curves of ``steps`` points, written step by step."""
    import numpy as np

    from lumiboard import SummaryWriter

    directory, index, tags, steps = job
    rng = np.random.default_rng(index)
    names = [f"metric_{t:02d}" for t in range(tags)]
    step_numbers = np.arange(steps)
    curve = np.exp(-step_numbers / max(steps / 3, 1))
    values = (curve[:, None] + 0.05 * rng.standard_normal((steps, tags))).tolist()
    walls = (1.7e9 + index + step_numbers * 0.1).tolist()
    with SummaryWriter(directory) as writer:
        add = writer.add_scalar
        for step in range(steps):
            row, wall = values[step], walls[step]
            for t, name in enumerate(names):
                add(name, row[t], step, walltime=wall)
    return tags * steps


def generate(root: Path, runs: int, tags: int, steps: int) -> Path:
    """The log directory of this size under ``root``, generated once, then reused."""
    logdir = root / f"logdir-r{runs}-t{tags}-s{steps}"
    if logdir.is_dir():
        print(f"reusing {logdir}")
        return logdir
    partial = root / f"{logdir.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    jobs = [(str(partial / f"run_{r:03d}"), r, tags, steps) for r in range(runs)]
    workers = max(1, min(os.cpu_count() or 1, runs))
    print(f"generating {runs * tags * steps:,} points with lumiboard ({workers} processes) ...")
    started = time.perf_counter()
    with Pool(workers) as pool:
        written = sum(pool.imap_unordered(_write_run, jobs))
    partial.rename(logdir)
    size = sum(p.stat().st_size for p in logdir.rglob("*") if p.is_file())
    print(
        f"  {written:,} points, {size / MB:.1f} MB in {time.perf_counter() - started:.1f} s "
        f"-> {logdir}"
    )
    return logdir


# ---- processes ---------------------------------------------------------------------------


def _kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill the contender's whole process group (TensorBoard's data server included)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    _LIVE.discard(process.pid)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _kill_all() -> None:
    for group in list(_LIVE):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    _LIVE.clear()


atexit.register(_kill_all)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Contender:
    name: str
    command: list[str]
    port: int
    #: Routes only lumiboard has are skipped for the others.
    lumiboard: bool


def contenders(logdir: Path, with_python: bool) -> list[Contender]:
    python = sys.executable
    port = _free_port()
    found = [
        Contender(
            "lumiboard",
            [
                python,
                "-m",
                "lumiboard",
                "--logdir",
                str(logdir),
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--reload_interval",
                "0",
                "--no-cache",
            ],
            port,
            lumiboard=True,
        )
    ]
    modes = ["true", "false"] if with_python else ["true"]
    for mode in modes:
        port = _free_port()
        found.append(
            Contender(
                f"TensorBoard --load_fast={mode}",
                [
                    python,
                    "-m",
                    "tensorboard.main",
                    "--logdir",
                    str(logdir),
                    "--port",
                    str(port),
                    "--host",
                    "127.0.0.1",
                    "--reload_interval",
                    "0",
                    f"--load_fast={mode}",
                ],
                port,
                lumiboard=False,
            )
        )
    return found


@contextlib.contextmanager
def started(contender: Contender, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            contender.command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, killed as a whole
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    _LIVE.add(process.pid)
    try:
        yield process
    finally:
        _kill_tree(process)


# ---- HTTP ----------------------------------------------------------------------------------


class Client:
    """One keep-alive connection; each call reads the whole body."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                # A server that closed the kept-alive connection: reconnect once.
                self.connection.close()
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.timeout
                )
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, path: str) -> Any:
        status, body = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
        return json.loads(body)

    def close(self) -> None:
        self.connection.close()


class NotReadyError(Exception):
    """A server that exited or ran out of time before it served every series (the message
    says why, and where its log is)."""


@contextlib.contextmanager
def ready_client(
    contender: Contender,
    log: Path,
    runs: list[str],
    tags: list[str],
    steps: int,
    timeout: float,
) -> Iterator[tuple[Client, float]]:
    """``contender`` started (its output in ``log``) and serving every series (:func:`wait_ready`):
    a keep-alive client to it and the seconds that took. The client is closed and the server
    stopped afterwards. :class:`NotReadyError` if it never got there."""
    spawned = time.monotonic()
    with started(contender, log) as process:
        client = Client(contender.port, timeout=timeout)
        try:
            try:
                wait_ready(client, process, runs, tags, steps, spawned + timeout)
            except (TimeoutError, RuntimeError) as error:
                raise NotReadyError(f"not ready: {error} (log: {log})") from None
            ready = time.monotonic() - spawned
            print(f"  {contender.name}: ready in {ready:.1f} s", flush=True)
            yield client, ready
        finally:
            client.close()


def scalars_path(run: str, tag: str) -> str:
    return "/data/plugin/scalars/scalars?" + urlencode({"run": run, "tag": tag})


def wait_ready(
    client: Client,
    process: subprocess.Popen[bytes],
    runs: list[str],
    tags: list[str],
    steps: int,
    deadline: float,
) -> None:
    """Until every run and tag is listed and every run's last tag serves its final step."""
    pause = 0.05
    done: set[str] = set()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"exited with status {process.returncode} before it was ready")
        with contextlib.suppress(OSError, http.client.HTTPException, RuntimeError, ValueError):
            listed = client.json("/data/plugin/scalars/tags")
            if all(set(tags) <= set(listed.get(run, {})) for run in runs):
                for run in runs:
                    if run not in done:
                        points = client.json(scalars_path(run, tags[-1]))
                        if points and points[-1][1] == steps - 1:
                            done.add(run)
                if len(done) == len(runs):
                    return
        if time.monotonic() > deadline:
            raise TimeoutError("not ready")
        time.sleep(pause)
        pause = min(pause * 1.5, 1.0)


# ---- measuring -------------------------------------------------------------------------------


@dataclass
class Line:
    contender: str
    route: str
    latencies: list[float] = field(default_factory=list)
    points: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    note: str = ""

    def row(self) -> list[str]:
        if not self.latencies:
            return [self.contender, self.route, "-", "-", "-", "-", "-", "-", "-"]
        ms = sorted(x * 1e3 for x in self.latencies)
        p99 = ms[min(len(ms) - 1, max(0, round(0.99 * len(ms)) - 1))]
        total = sum(self.latencies)
        return [
            self.contender,
            self.route,
            f"{len(ms)}",
            f"{statistics.median(ms):.2f}",
            f"{p99:.2f}",
            f"{statistics.fmean(ms):.2f}",
            f"{len(ms) / total:.0f}",
            f"{statistics.median(self.points):,.0f}" if self.points else "-",
            f"{statistics.median(self.sizes) / 1024:,.0f}",
        ]


Request = tuple[str, str, bytes | None, dict[str, str] | None]
Counter = Callable[[bytes], int]


def timed(
    client: Client,
    requests: list[Request],
    warmup: list[Request],
    count: Counter,
    line: Line,
    deadline: float,
) -> None:
    """Warm-up (untimed; counts points and bytes), then every request timed."""
    for method, path, body, headers in warmup:
        status, data = client.request(method, path, body, headers)
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status} {data[:200]!r}")
        line.points.append(count(data))
        line.sizes.append(len(data))
    clock = time.perf_counter
    for method, path, body, headers in requests:
        start = clock()
        status, data = client.request(method, path, body, headers)
        line.latencies.append(clock() - start)
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status} {data[:200]!r}")
        if time.monotonic() > deadline:
            line.note = f"stopped after {len(line.latencies)} requests (--timeout)"
            return


def _count_triples(data: bytes) -> int:
    return len(json.loads(data))


def _count_multirun(data: bytes) -> int:
    return sum(len(points) for points in json.loads(data).values())


def _count_series(data: bytes) -> int:
    runs = json.loads(data)["runs"].values()
    return sum(len(base64.b64decode(run["step"])) // 8 for run in runs)


def measure(
    contender: Contender,
    runs: list[str],
    tags: list[str],
    steps: int,
    pairs: list[tuple[str, str]],
    args: argparse.Namespace,
    log: Path,
) -> list[Line]:
    lines = [
        Line(contender.name, "GET scalars (1 run)"),
        Line(contender.name, f"POST scalars_multirun ({len(runs)} runs)"),
    ]
    if contender.lumiboard:
        lines += [
            Line(contender.name, f"POST series buckets={BUCKETS} (1 run)"),
            Line(contender.name, f"POST series buckets={BUCKETS} ({len(runs)} runs)"),
        ]
    every = sorted({(run, tag) for run in runs for tag in tags})
    form = "application/x-www-form-urlencoded"
    json_type = {"content-type": "application/json"}

    def get(pair: tuple[str, str]) -> Request:
        return ("GET", scalars_path(*pair), None, None)

    def multirun(tag: str) -> Request:
        body = urlencode([("tag", tag), *[("runs", run) for run in runs]]).encode()
        return ("POST", "/data/plugin/scalars/scalars_multirun", body, {"content-type": form})

    def series(tag: str, names: list[str]) -> Request:
        body = json.dumps({"tag": tag, "runs": names, "buckets": BUCKETS}).encode()
        return ("POST", "/data/plugin/scalars/series", body, json_type)

    # Every run of a tag per request: a tenth as many (lumiboard's responses hold every point).
    by_tag = [tag for _, tag in pairs[: max(1, len(pairs) // 10)]]
    plans: list[tuple[list[Request], list[Request], Counter]] = [
        ([get(p) for p in pairs], [get(p) for p in every], _count_triples),
        ([multirun(t) for t in by_tag], [multirun(t) for t in tags], _count_multirun),
    ]
    if contender.lumiboard:
        plans += [
            (
                [series(t, [r]) for r, t in pairs],
                [series(t, [r]) for r, t in every],
                _count_series,
            ),
            ([series(t, runs) for t in by_tag], [series(t, runs) for t in tags], _count_series),
        ]
    try:
        with ready_client(contender, log, runs, tags, steps, args.timeout) as (client, ready):
            deadline = time.monotonic() + args.timeout
            try:
                for line, (requests, warmup, count) in zip(lines, plans, strict=True):
                    timed(client, requests, warmup, count, line, deadline)
                    if line.note:
                        break
            except (OSError, http.client.HTTPException, RuntimeError) as error:
                for line in lines:
                    line.note = line.note or f"failed: {error}"
    except NotReadyError as error:
        for line in lines:
            line.note = str(error)
        return lines
    for line in lines:
        line.note = line.note or f"ready in {ready:.1f} s"
    return lines


def print_table(lines: list[Line]) -> None:
    header = [
        "contender",
        "route",
        "n",
        "p50 ms",
        "p99 ms",
        "mean ms",
        "req/s",
        "points/resp",
        "KiB/resp",
    ]
    rows = [header] + [line.row() for line in lines]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))
    notes = [
        f"  {line.contender}, {line.route}: {line.note}"
        for line in lines
        if line.note and not line.note.startswith("ready in")
    ]
    ready = {line.contender: line.note for line in lines if line.note.startswith("ready in")}
    for name, note in ready.items():
        print(f"  {name}: {note}")
    for note in notes:
        print(note)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--tags", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1_000, help="timed requests per route")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds each contender has to become ready, and then to answer",
    )
    parser.add_argument(
        "--tb-python",
        action="store_true",
        help="also TensorBoard's Python loader (--load_fast=false)",
    )
    parser.add_argument("--skip-tensorboard", action="store_true")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "lumiboard-bench-http"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    args.workdir.mkdir(parents=True, exist_ok=True)
    logdir = generate(args.workdir, args.runs, args.tags, args.steps)
    runs = [f"run_{r:03d}" for r in range(args.runs)]
    tags = [f"metric_{t:02d}" for t in range(args.tags)]
    rng = random.Random(args.seed)
    pairs = [(rng.choice(runs), rng.choice(tags)) for _ in range(args.requests)]
    for path in logdir.rglob("*tfevents*"):  # into the page cache, for every contender alike
        path.read_bytes()

    chosen = contenders(logdir, args.tb_python)
    if args.skip_tensorboard:
        chosen = chosen[:1]
    print(
        f"{args.runs} runs x {args.tags} tags x {args.steps:,} steps = "
        f"{args.runs * args.tags * args.steps:,} points; {args.requests} timed requests per "
        f"route, sequential, one keep-alive connection; {os.cpu_count()} CPUs",
        flush=True,
    )
    lines: list[Line] = []
    for contender in chosen:
        log = args.workdir / f"{re.sub(r'[^a-z0-9]+', '_', contender.name.lower())}.log"
        lines += measure(contender, runs, tags, args.steps, pairs, args, log)
    print()
    print_table(lines)
    return 0


if __name__ == "__main__":
    # Ctrl+C: the process trees are killed by the atexit hook.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
