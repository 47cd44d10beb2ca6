"""Responsiveness under load: ``/data/runs`` latency while heavy requests and a live writer run.

One event loop serves every connection of lumiboard's server, so work done on it (encoding a
2M-point CSV, a catastrophic regex) delays every other answer. This script serves a generated
log directory with the real server (``python -m lumiboard``, uvicorn, ``--reload_interval 1``)
and measures, from other processes, how long ``GET /data/runs`` takes in these phases:

1. **idle**: one client polling ``/data/runs`` every 10 ms, nothing else;
2. **one CSV**: the same while one ``GET /data/plugin/scalars/scalars?format=csv`` of a
   ``--big-points`` series (default 2M) is answered;
3. **clients** (the report's scenario): ``--clients`` polling clients (default 50), each
   every ``--period`` s asking what the web app asks on a reload (``/data/status``,
   ``/data/runs``, ``/data/plugins_listing``, ``/data/plugin/scalars/tags`` and one
   chart's ``POST /data/plugin/scalars/series`` over every run), while a writer process
   adds ``--write-rate`` points/s to a live run; then the writer stops and every point it
   wrote must be served;
4. **clients + CSVs**: the same (another live run) while one more client downloads the big
   CSV over and over, with no pause (``--no-downloads`` skips this phase);
5. **ReDoS** (``--redos``): ``/data/plugin/hparams/session_groups`` requests whose
   ``filterRegexp`` backtracks catastrophically on the trials' string hparams with Python's
   ``re`` (``(.|.|.)*x``, the report's, then ``(.|.|.)*_$``) while ``/data/runs`` is
   polled. Last, since a server without the fix stays stuck.

Each line gives the requests, p50 / p99 / max latency (ms, the body read in full) and the
errors (connection errors, timeouts after ``--timeout`` s, non-200 answers). Targets (phase
3): ``/data/runs`` p99 under 200 ms, no errors, every written point served.

``--src DIR`` serves another checkout's ``src`` (``PYTHONPATH``), e.g. the code before a
change: ``git worktree add /tmp/before HEAD``, then ``--src /tmp/before/src``.
``--tensorboard`` runs phases 1 to 4 against TensorBoard (``--load_fast=true``) too, with the
requests its own web app makes (``scalars_multirun`` instead of ``series``; it samples the CSV
to 1,000 points, so its heavy request is light).

Usage::

    .venv/bin/python benchmarks/responsive.py                  # about 3 minutes on 2 cores
    .venv/bin/python benchmarks/responsive.py --redos --check
    .venv/bin/python benchmarks/responsive.py --src /tmp/before/src --redos
"""

from __future__ import annotations

# benchmarks/http.py, beside this file, would shadow the standard library's ``http`` package
# (run as a script, this folder comes first on sys.path): drop that entry first.
import os
import sys

if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import asyncio
import atexit
import contextlib
import http.client
import json
import multiprocessing
import random
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

MB = 1 << 20
BIG_RUN, BIG_TAG = "big", "big/loss"
LIVE_RUN = "live"
LIVE_TAGS = ("live/loss", "live/accuracy", "live/lr", "live/grad_norm")
#: The report's pattern (the regex package sees that no value holds an "x" and stops at
#: once), and one no engine can cut short: every value holds a "_", none ends with one.
EVIL_REGEXES = ("(.|.|.)*x", "(.|.|.)*_$")
#: Process groups to kill at exit (each server runs in its own session).
_LIVE: set[int] = set()


# ---- the log directory ---------------------------------------------------------------------


def _write_run(job: tuple[str, int, int, int, str]) -> None:
    import numpy as np

    from lumiboard import SummaryWriter

    directory, index, tags, steps, prefix = job
    rng = np.random.default_rng(index)
    values = rng.standard_normal((steps, tags)).tolist()
    names = [f"{prefix}{t:02d}" for t in range(tags)]
    with SummaryWriter(directory) as writer:
        add = writer.add_scalar
        for step in range(steps):
            row = values[step]
            for t, name in enumerate(names):
                add(name, row[t], step, walltime=1.7e9 + step)


def _write_big(directory: str, points: int) -> None:
    import numpy as np

    from lumiboard import SummaryWriter

    values = np.random.default_rng(7).standard_normal(points).tolist()
    with SummaryWriter(directory) as writer:
        add = writer.add_scalar
        for step, value in enumerate(values):
            add(BIG_TAG, value, step, walltime=1.7e9 + step * 0.01)


def _write_trials(root: Path, trials: int) -> None:
    from lumiboard import SummaryWriter

    with SummaryWriter(str(root / "hparams")) as writer:
        for trial in range(trials):
            # Long strings: what a catastrophic regex backtracks over.
            hparams = {
                "optimizer": f"adam_with_warmup_and_cosine_decay_{trial:03d}",
                "lr": 10.0 ** -(trial % 5),
            }
            writer.add_hparams(hparams, {"hparam/accuracy": trial / trials}, run_name=f"t{trial}")


def generate(root: Path, runs: int, tags: int, steps: int, big_points: int) -> Path:
    """The log directory of this size under ``root``, generated once, then reused."""
    logdir = root / f"logdir-r{runs}-t{tags}-s{steps}-b{big_points}"
    if logdir.is_dir():
        print(f"reusing {logdir}")
        return logdir
    partial = root / f"{logdir.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    print(f"generating {runs} runs x {tags} tags x {steps:,} steps and {big_points:,} points ...")
    started = time.perf_counter()
    jobs = [(str(partial / f"run_{r:03d}"), r, tags, steps, "metric_") for r in range(runs)]
    with multiprocessing.Pool(max(1, min(os.cpu_count() or 1, 4))) as pool:
        big = pool.apply_async(_write_big, (str(partial / BIG_RUN), big_points))
        pool.map(_write_run, jobs)
        big.get()
    _write_trials(partial, 20)
    partial.rename(logdir)
    print(f"  done in {time.perf_counter() - started:.1f} s -> {logdir}")
    return logdir


def live_writer(directory: str, rate: float, stop: Any, written: Any) -> None:
    """Adds ``rate`` points/s (over :data:`LIVE_TAGS`) until ``stop`` is set; counts them."""
    from lumiboard import SummaryWriter

    writer = SummaryWriter(directory, flush_secs=1)
    per_tick = max(1, round(rate * 0.01 / len(LIVE_TAGS)))  # one batch every 10 ms
    step, started = 0, time.monotonic()
    while not stop.is_set():
        for _ in range(per_tick):
            for index, tag in enumerate(LIVE_TAGS):
                writer.add_scalar(tag, (step % 1000) / 1000 + index, step)
            step += 1
        ahead = started + step * len(LIVE_TAGS) / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    writer.close()
    written.value = step


# ---- servers ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _kill_all() -> None:
    for group in list(_LIVE):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    _LIVE.clear()


atexit.register(_kill_all)


@dataclass
class Server:
    name: str
    command: list[str]
    port: int
    lumiboard: bool
    env: dict[str, str] = field(default_factory=dict)


def servers(logdir: Path, args: argparse.Namespace) -> list[Server]:
    python = sys.executable
    port = _free_port()
    env = {"PYTHONPATH": str(args.src)} if args.src else {}
    found = [
        Server(
            "lumiboard" + (f" ({args.src})" if args.src else ""),
            [python, "-m", "lumiboard", "--logdir", str(logdir), "--port", str(port),
             "--host", "127.0.0.1", "--reload_interval", "1", "--no-cache"],
            port,
            lumiboard=True,
            env=env,
        )
    ]  # fmt: skip
    if args.tensorboard:
        port = _free_port()
        found.append(
            Server(
                "TensorBoard --load_fast=true",
                [python, "-m", "tensorboard.main", "--logdir", str(logdir), "--port", str(port),
                 "--host", "127.0.0.1", "--reload_interval", "1", "--load_fast=true"],
                port,
                lumiboard=False,
            )
        )  # fmt: skip
    return found


@contextlib.contextmanager
def started(server: Server, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            server.command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore", **server.env},
        )
    _LIVE.add(process.pid)
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        _LIVE.discard(process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


# ---- an HTTP/1.1 client on asyncio streams (light: 50 of them share one process) -------------


class Connection:
    """One keep-alive connection; a failed request closes it (the next one reconnects)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str = ""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        if body or method == "POST":
            head += f"Content-Length: {len(body)}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            await self.reader.readuntil(b"\r\n")
            data = b"".join(parts)
        else:
            data = await self.reader.read()
        if headers.get("connection") == "close":
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Line:
    phase: str
    route: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    note: str = ""

    def row(self) -> list[str]:
        if not self.latencies:
            return [self.phase, self.route, "0", "-", "-", "-", str(self.errors)]
        ms = sorted(x * 1e3 for x in self.latencies)
        p99 = ms[min(len(ms) - 1, max(0, round(0.99 * len(ms)) - 1))]
        return [
            self.phase,
            self.route,
            f"{len(ms):,}",
            f"{statistics.median(ms):.1f}",
            f"{p99:.1f}",
            f"{ms[-1]:.1f}",
            str(self.errors),
        ]

    def p99(self) -> float:
        ms = sorted(x * 1e3 for x in self.latencies)
        return ms[min(len(ms) - 1, max(0, round(0.99 * len(ms)) - 1))] if ms else float("inf")


async def timed(
    connection: Connection, line: Line, timeout: float, method: str, path: str, body: bytes = b""
) -> bytes | None:
    content_type = "application/x-www-form-urlencoded" if path.endswith("multirun") else ""
    if method == "POST" and not content_type:
        content_type = "application/json"
    start = time.perf_counter()
    try:
        status, data = await asyncio.wait_for(
            connection.request(method, path, body, content_type), timeout
        )
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
        connection.close()
        line.errors += 1
        line.latencies.append(time.perf_counter() - start)
        return None
    line.latencies.append(time.perf_counter() - start)
    if status != 200:
        line.errors += 1
        return None
    return data


async def poll_runs(port: int, line: Line, stop: asyncio.Event, timeout: float) -> None:
    """``/data/runs`` every 10 ms until ``stop``."""
    connection = Connection(port)
    while not stop.is_set():
        await timed(connection, line, timeout, "GET", "/data/runs")
        await asyncio.sleep(0.01)
    connection.close()


def fetch(port: int, path: str, timeout: float, body: bytes | None = None) -> tuple[int, bytes]:
    """One blocking request on its own connection (for the heavy requests, in threads)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request("GET" if body is None else "POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def csv_path() -> str:
    return "/data/plugin/scalars/scalars?" + urlencode(
        {"run": BIG_RUN, "tag": BIG_TAG, "format": "csv"}
    )


def heavy_loop(port: int, stop: Any, out: Any, timeout: float) -> None:
    """Downloads the big CSV over and over until ``stop`` (its own process)."""
    latencies, errors = [], 0
    while not stop.is_set():
        started = time.perf_counter()
        try:
            status, _ = fetch(port, csv_path(), timeout)
            errors += status != 200
        except OSError:
            errors += 1
        latencies.append(time.perf_counter() - started)
    out.put((latencies, errors))


# ---- phases ------------------------------------------------------------------------------------


async def wait_ready(port: int, runs: list[str], deadline: float) -> None:
    connection = Connection(port)
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, asyncio.IncompleteReadError):
            status, data = await connection.request("GET", "/data/plugin/scalars/tags")
            if status == 200 and set(runs) <= set(json.loads(data)):
                connection.close()
                return
        connection.close()
        await asyncio.sleep(0.2)
    raise TimeoutError("the server did not list every run in time")


async def phase_idle(port: int, seconds: float, timeout: float) -> Line:
    line = Line("idle", "GET /data/runs")
    stop = asyncio.Event()
    task = asyncio.create_task(poll_runs(port, line, stop, timeout))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    return line


async def phase_one_csv(port: int, timeout: float) -> list[Line]:
    runs = Line("one CSV", "GET /data/runs")
    heavy = Line("one CSV", f"GET {BIG_TAG} CSV")
    stop = asyncio.Event()
    task = asyncio.create_task(poll_runs(port, runs, stop, timeout))
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    try:
        status, body = await asyncio.to_thread(fetch, port, csv_path(), timeout)
        heavy.errors += status != 200
        heavy.note = f"{len(body) / MB:.0f} MB"
    except OSError:
        heavy.errors += 1
    heavy.latencies.append(time.perf_counter() - started)
    await asyncio.sleep(0.2)
    stop.set()
    await task
    return [runs, heavy]


async def poller(
    port: int,
    routes: list[tuple[str, str, str, bytes]],
    lines: dict[str, Line],
    stop: asyncio.Event,
    period: float,
    timeout: float,
    rng: random.Random,
) -> None:
    """One web app on auto-reload: a reload's requests, in the app's order, every ``period``."""
    connection = Connection(port)
    await asyncio.sleep(rng.uniform(0, period))
    while not stop.is_set():
        begun = time.monotonic()
        for key, method, path, body in routes:
            await timed(connection, lines[key], timeout, method, path, body)
        await asyncio.sleep(max(0.0, period - (time.monotonic() - begun)))
    connection.close()


def reload_routes(server: Server, runs: list[str], tags: list[str], rng: random.Random) -> Any:
    tag = rng.choice(tags)
    chart: tuple[str, str, str, bytes]
    if server.lumiboard:
        body = json.dumps({"tag": tag, "runs": runs, "buckets": 1000}).encode()
        chart = ("POST series (all runs)", "POST", "/data/plugin/scalars/series", body)
    else:
        form = urlencode([("tag", tag), *[("runs", run) for run in runs]]).encode()
        chart = ("POST scalars_multirun", "POST", "/data/plugin/scalars/scalars_multirun", form)
    return [
        ("GET /data/status", "GET", "/data/status" if server.lumiboard else "/data/logdir", b""),
        ("GET /data/runs", "GET", "/data/runs", b""),
        ("GET /data/plugins_listing", "GET", "/data/plugins_listing", b""),
        ("GET scalars/tags", "GET", "/data/plugin/scalars/tags", b""),
        chart,
    ]


async def phase_load(
    server: Server,
    logdir: Path,
    runs: list[str],
    tags: list[str],
    args: argparse.Namespace,
    downloads: bool,
) -> tuple[list[Line], str]:
    """The polling clients and the writer (and with ``downloads``, the CSV loop)."""
    live = LIVE_RUN + ("_csv" if downloads else "")
    rng = random.Random(args.seed)
    context = multiprocessing.get_context("spawn")
    stop_writer, stop_heavy = context.Event(), context.Event()
    written = context.Value("q", 0)
    heavy_out = context.Queue()
    writer = context.Process(
        target=live_writer, args=(str(logdir / live), args.write_rate, stop_writer, written)
    )
    heavy = context.Process(
        target=heavy_loop, args=(server.port, stop_heavy, heavy_out, args.timeout)
    )
    phase = f"{args.clients} clients" + (" + CSVs" if downloads else "")
    plans = [reload_routes(server, runs, tags, rng) for _ in range(args.clients)]
    lines = {key: Line(phase, key) for key, *_ in plans[0]}  # the same names in every plan
    writer.start()
    if downloads:
        heavy.start()
    stop = asyncio.Event()
    clients = [
        asyncio.create_task(
            poller(server.port, plan, lines, stop, args.period, args.timeout, random.Random(i))
        )
        for i, plan in enumerate(plans)
    ]
    await asyncio.sleep(args.seconds)
    stop.set()
    stop_heavy.set()
    await asyncio.gather(*clients)
    stop_writer.set()
    await asyncio.to_thread(writer.join, 60)
    served = await served_points(server, live, written.value, args.timeout)
    if not downloads:
        return list(lines.values()), served
    heavy_line = Line(phase, f"GET {BIG_TAG} CSV (loop)")
    with contextlib.suppress(Exception):
        latencies, errors = await asyncio.to_thread(heavy_out.get, True, args.timeout + 30)
        heavy_line.latencies, heavy_line.errors = latencies, errors
    await asyncio.to_thread(heavy.join, 30)
    return [*lines.values(), heavy_line], served


async def served_points(server: Server, live: str, written: int, timeout: float) -> str:
    """Until every written point of the live run is served (each tag), or ``timeout``."""
    connection = Connection(server.port)
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        for tag in LIVE_TAGS:
            path = "/data/plugin/scalars/scalars?" + urlencode({"run": live, "tag": tag})
            with contextlib.suppress(OSError, ValueError, asyncio.IncompleteReadError):
                status, data = await connection.request("GET", path)
                counts[tag] = len(json.loads(data)) if status == 200 else 0
        if all(counts.get(tag) == written for tag in LIVE_TAGS):
            break
        await asyncio.sleep(0.5)
    connection.close()
    served = min(counts.values(), default=0)
    if not server.lumiboard:
        verdict = "TensorBoard keeps a 1,000-point sample per series"
    else:
        verdict = "every point served" if served == written else "POINTS MISSING"
    return (
        f"{live}: {written:,} steps x {len(LIVE_TAGS)} tags written, {served:,} served per "
        f"tag: {verdict}"
    )


async def phase_redos(port: int, timeout: float) -> list[Line]:
    runs = Line("ReDoS", "GET /data/runs")
    lines = [runs]
    stop = asyncio.Event()
    task = asyncio.create_task(poll_runs(port, runs, stop, timeout))
    await asyncio.sleep(0.2)
    for regexp in EVIL_REGEXES:
        evil = Line("ReDoS", f"session_groups filterRegexp {regexp}")
        lines.append(evil)
        request = {
            "colParams": [{"hparam": "optimizer", "filterRegexp": regexp}],
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE"],
            "startIndex": 0,
            "sliceSize": 100,
        }
        started = time.perf_counter()
        try:
            path, body = "/data/plugin/hparams/session_groups", json.dumps(request).encode()
            status, body = await asyncio.to_thread(fetch, port, path, timeout, body)
            evil.note = f"{status} {body[:100].decode(errors='replace')}"
        except OSError as error:
            evil.errors += 1
            evil.note = f"no answer: {error}"
        evil.latencies.append(time.perf_counter() - started)
    await asyncio.sleep(0.2)
    stop.set()
    await task
    return lines


# ---- main --------------------------------------------------------------------------------------


def print_table(lines: list[Line]) -> None:
    header = ["phase", "route", "n", "p50 ms", "p99 ms", "max ms", "errors"]
    rows = [header] + [line.row() for line in lines]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for index, row in enumerate(rows):
        cells = [c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]) for i, c in enumerate(row)]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))
    for line in lines:
        if line.note:
            print(f"  {line.phase}, {line.route}: {line.note}")


async def measure(
    server: Server, logdir: Path, runs: list[str], tags: list[str], args: argparse.Namespace
) -> tuple[list[Line], list[str]]:
    log = args.workdir / f"{server.name.split()[0].lower()}.log"
    verdicts: list[str] = []
    with started(server, log):
        await wait_ready(server.port, runs, time.monotonic() + args.timeout * 10)
        print(f"  {server.name}: serving", flush=True)
        lines = [await phase_idle(server.port, 3.0, args.timeout)]
        lines += await phase_one_csv(server.port, args.timeout)
        load, served = await phase_load(server, logdir, runs, tags, args, downloads=False)
        print(f"  {served}", flush=True)
        lines += load
        if not args.no_downloads:
            more, served_too = await phase_load(server, logdir, runs, tags, args, downloads=True)
            print(f"  {served_too}", flush=True)
            lines += more
        if args.redos and server.lumiboard:
            lines += await phase_redos(server.port, args.timeout)
        for live in (LIVE_RUN, LIVE_RUN + "_csv"):
            shutil.rmtree(logdir / live, ignore_errors=True)
    if server.lumiboard:
        # The target is the report's scenario: the polling clients and the writer.
        runs_line = next(line for line in load if line.route == "GET /data/runs")
        errors = sum(line.errors for line in load)
        verdicts.append(
            f"{'PASS' if runs_line.p99() < 200 else 'FAIL'} {server.name}: /data/runs p99 "
            f"{runs_line.p99():.0f} ms with {args.clients} clients and a writer (target < 200 ms)"
        )
        verdicts.append(f"{'PASS' if errors == 0 else 'FAIL'} {server.name}: {errors} errors")
        verdicts.append(f"{'PASS' if 'every point' in served else 'FAIL'} {server.name}: {served}")
    return lines, verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--tags", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5_000)
    parser.add_argument("--big-points", type=int, default=2_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--period", type=float, default=1.0, help="seconds between reloads")
    parser.add_argument("--write-rate", type=float, default=10_000, help="live points/s")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load phase")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--redos", action="store_true", help="also the catastrophic regex")
    parser.add_argument(
        "--no-downloads", action="store_true", help="skip the load phase with the CSV loop"
    )
    parser.add_argument("--tensorboard", action="store_true", help="TensorBoard side by side")
    parser.add_argument("--src", type=Path, help="serve this checkout's src (PYTHONPATH)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "lumiboard-bench-responsive"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    args.workdir.mkdir(parents=True, exist_ok=True)
    logdir = generate(args.workdir, args.runs, args.tags, args.steps, args.big_points)
    for live in (LIVE_RUN, LIVE_RUN + "_csv"):
        shutil.rmtree(logdir / live, ignore_errors=True)
    runs = [f"run_{r:03d}" for r in range(args.runs)] + [BIG_RUN]
    tags = [f"metric_{t:02d}" for t in range(args.tags)]
    print(
        f"{args.runs} runs x {args.tags} tags x {args.steps:,} steps, one "
        f"{args.big_points:,}-point series; {args.clients} clients every {args.period:g} s for "
        f"{args.seconds:g} s, a writer at {args.write_rate:,.0f} points/s; {os.cpu_count()} CPUs",
        flush=True,
    )
    lines: list[Line] = []
    verdicts: list[str] = []
    for server in servers(logdir, args):
        found, said = asyncio.run(measure(server, logdir, runs, tags, args))
        lines += [Line(f"{server.name.split()[0]}: {x.phase}", x.route, x.latencies, x.errors,
                       x.note) for x in found]  # fmt: skip
        verdicts += said
    print()
    print_table(lines)
    print()
    for verdict in verdicts:
        print(verdict)
    return 1 if args.check and any(v.startswith("FAIL") for v in verdicts) else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    threading.current_thread().name = "main"
    sys.exit(main())
