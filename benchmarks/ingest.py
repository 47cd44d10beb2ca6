"""Ingest cost: lumiboard vs TensorBoard (Rust and Python loaders) vs tbparse, in one run.

Generates a log directory with tensorboardX (``--runs`` runs x ``--tags`` scalar tags x
``--steps`` steps, one ``add_scalar`` call per point; default 50 x 20 x 10,000 = 10M points),
kept under ``--workdir`` so a second invocation reuses it, then measures each contender in a
fresh process, one after the other, on the same files (read once beforehand, so every
contender finds them in the OS page cache):

1. **lumiboard cold, no cache**: ``Reloader(logdir).reload()``, then every series is read
   once through ``Provider`` (the store consolidates its chunks on the first read);
2. **lumiboard cold, empty cache**: the same with ``cache_dir`` an empty directory, so the
   load also writes the persistent cache;
3. **lumiboard warm**: the same again, with the cache filled by 2.
   (2. and 3. are left out, with a line saying so, while ``Reloader`` has no ``cache_dir``);
4. **TensorBoard --load_fast=true** (the Rust data server) and
5. **TensorBoard --load_fast=false** (the Python loader), both with ``--reload_interval 0``
   (one load), polled over HTTP until ``/data/plugin/scalars/tags`` lists every run and tag
   and the last tag of every run serves its final step (the last record of the run's file),
   after which every series is fetched once to count the points kept;
6. **tbparse**: ``SummaryReader(logdir).scalars``.
7. **lumiboard server** (memory): ``python -m lumiboard serve --no-cache`` polled as
   TensorBoard is, then every series read once over HTTP (CSV: every point); its **steady**
   resident memory (process tree, median of 5 samples a second after the last read) minus
   the same server's on an empty log directory, per point kept, printed next to RustBoard's
   measured the same way (issue 18: at most 12 bytes a point at 10M and 30M points).

For each: **total s**, from spawning the process until every point is queryable (what a
user waits for; lumiboard: until ``reload()`` returns); **load s**, the load alone
(lumiboard: ``reload()``; RustBoard: its own "Finished load cycle" log line; TensorBoard's
Python loader: its "Load took" log line; tbparse: the ``SummaryReader`` call); **peak RSS**
of the whole process tree (the process and all its children, RSS summed, polled every
20 ms, over the process's whole life, the count/read of every series included);
**baseline**, the RSS before loading (lumiboard and tbparse: after their imports;
TensorBoard: serving an empty log directory); **points kept**; and **bytes/point** =
(peak - baseline) / points kept.

It also times ``lumiboard.store.downsample.reduce_series`` reducing a 1M-point series to
2,000 buckets (median of 20 calls). Targets (DESIGN.md §5)::

    each cold lumiboard total s < RustBoard total s, every point kept
    warm lumiboard load s < cold lumiboard (empty cache) load s / 10
    each lumiboard (peak - baseline) / points < 32 bytes
    reduce 1M points to 2,000 buckets < 20 ms
    lumiboard server steady (resident - empty-logdir baseline) / points <= 12 bytes

Usage::

    python benchmarks/ingest.py --runs 50 --tags 20 --steps 1000     # 1M points
    python benchmarks/ingest.py --check     # default size; exit status 1 if a target fails
    python benchmarks/ingest.py --profile   # also: cProfile of cold lumiboard loads
    # 30M points without generating them: the 10M runs hard-linked three times over
    # (cp -al .../run_000 ...-r150-t20-s10000/run_050 ...), then
    python benchmarks/ingest.py --logdir $WORKDIR/logdir-r150-t20-s10000 --skip python

Every contender has a time limit (``--timeout``); a process tree that overruns it, or that is
left when the benchmark exits, is killed.
"""

from __future__ import annotations

# Run as a script, this folder comes first on sys.path, and it holds scripts named like
# standard modules (``http.py`` shadows the ``http`` that urllib imports): drop that entry first.
import os
import sys

if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import atexit
import contextlib
import gc
import importlib
import inspect
import json
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import psutil

TARGET_BYTES_PER_POINT = 32.0
#: Issue 18: the server's process tree, steady, minus its empty-logdir baseline.
TARGET_STEADY_BYTES_PER_POINT = 12.0
TARGET_REDUCE_MS = 20.0
TARGET_WARM_FRACTION = 1 / 10
REDUCE_POINTS = 1_000_000
REDUCE_BUCKETS = 2000
REDUCE_REPEAT = 20
TB_SAMPLES = 1000  # TensorBoard's default reservoir size for scalars
POLL_S = 0.02  # memory polling period
HTTP_POLL_S = 0.05  # readiness polling period for TensorBoard (at first)

MB = 1024 * 1024


# ---- process trees ---------------------------------------------------------------------------

_LIVE: set[subprocess.Popen[bytes]] = set()


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` and every descendant (it leads its own session)."""
    try:
        parent = psutil.Process(proc.pid)
        family = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for member in family:  # anything that left the process group
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    _LIVE.discard(proc)


def _kill_all() -> None:
    for proc in list(_LIVE):
        _kill_tree(proc)


def _on_signal(signum: int, frame: Any) -> None:
    del frame
    _kill_all()
    raise SystemExit(128 + signum)


def spawn(cmd: list[str], stdout: Any, stderr: Any, env: dict[str, str] | None = None) -> Any:
    proc = subprocess.Popen(
        cmd,
        stdout=stdout,
        stderr=stderr,
        stdin=subprocess.PIPE,  # TensorBoard's data server dies when its stdin closes
        start_new_session=True,
        env=env,
    )
    _LIVE.add(proc)
    return proc


def tree_rss(root: psutil.Process) -> int:
    """RSS of ``root`` and all its descendants, summed."""
    try:
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for member in family:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += member.memory_info().rss
    return total


class MemoryMonitor:
    """Polls a process tree's RSS every ``POLL_S`` seconds on a thread; keeps the peak.

    Listing the descendants scans ``/proc``, so the family is listed again only every
    ``FAMILY_EVERY`` polls; the RSS of its members is read at every poll.
    """

    FAMILY_EVERY = 10

    def __init__(self, pid: int) -> None:
        self._root = psutil.Process(pid)
        self._family = [self._root]
        self._polls = 0
        self.peak = 0
        self.last = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(POLL_S)

    def sample(self) -> int:
        if self._polls % self.FAMILY_EVERY == 0:
            with contextlib.suppress(psutil.NoSuchProcess):
                self._family = [self._root, *self._root.children(recursive=True)]
        self._polls += 1
        rss = 0
        for member in self._family:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                rss += member.memory_info().rss
        if rss:
            self.last = rss
            self.peak = max(self.peak, rss)
        return rss

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


# ---- generating the log directory ------------------------------------------------------------


def _write_run(job: tuple[str, int, int, int]) -> int:
    """Write one run with tensorboardX ``add_scalar`` calls, step by step, every tag."""
    import numpy as np
    from tensorboardX import SummaryWriter

    directory, run_index, tags, steps = job
    rng = np.random.default_rng(run_index)
    names = [f"metric_{t:02d}" for t in range(tags)]
    writer = SummaryWriter(directory, max_queue=4096, flush_secs=600)
    add = writer.add_scalar
    start = 1.7e9 + run_index
    block = 10_000
    for first in range(0, steps, block):
        count = min(block, steps - first)
        step_numbers = np.arange(first, first + count)
        curve = np.exp(-step_numbers / max(steps / 3, 1))
        noise = rng.standard_normal((count, tags)) * 0.05
        values = (curve[:, None] * (1 + np.arange(tags)[None, :] / tags) + noise).tolist()
        walls = (start + step_numbers * 0.1).tolist()
        for i, step in enumerate(step_numbers.tolist()):
            row, wall = values[i], walls[i]
            for t, name in enumerate(names):
                add(name, row[t], step, wall)
    writer.close()
    return tags * steps


def generate(root: Path, runs: int, tags: int, steps: int) -> Path:
    """The log directory for this size under ``root``, generated once (then reused)."""
    logdir = root / f"logdir-r{runs}-t{tags}-s{steps}"
    if logdir.is_dir():
        print(f"reusing {logdir}")
        return logdir
    partial = root / f"{logdir.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    jobs = [(str(partial / f"run_{r:03d}"), r, tags, steps) for r in range(runs)]
    workers = max(1, min(os.cpu_count() or 1, runs))
    print(f"generating {runs * tags * steps:,} points with tensorboardX ({workers} processes) ...")
    started = time.perf_counter()
    with Pool(workers) as pool:
        written = sum(pool.imap_unordered(_write_run, jobs))
    partial.rename(logdir)
    print(
        f"  {written:,} points, {disk_bytes(logdir) / MB:.1f} MB in "
        f"{time.perf_counter() - started:.1f} s -> {logdir}"
    )
    return logdir


def disk_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def warm_page_cache(logdir: Path) -> None:
    """Read every file once, so no contender pays for (or profits from) the first disk read."""
    for path in logdir.rglob("*tfevents*"):
        with path.open("rb") as handle:
            while handle.read(16 * MB):
                pass


# ---- results ---------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    total_s: float | None = None
    load_s: float | None = None
    peak_rss: int | None = None
    baseline_rss: int | None = None
    points: int | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.total_s is not None

    @property
    def bytes_per_point(self) -> float | None:
        if self.peak_rss is None or self.baseline_rss is None or not self.points:
            return None
        return (self.peak_rss - self.baseline_rss) / self.points


# ---- in-process children (lumiboard, tbparse) --------------------------------------------------


def child_lumiboard(logdir: str, cache_dir: str | None) -> dict[str, Any]:
    started = time.monotonic()
    import numpy as np

    from lumiboard.reader.reload import Reloader
    from lumiboard.store.provider import Provider

    if cache_dir is not None:
        # The cache's imports (pyarrow) belong to the baseline, as every other import.
        importlib.import_module("lumiboard.store.cache")
    process = psutil.Process()
    gc.collect()
    imported = time.monotonic()
    baseline = process.memory_info().rss
    kwargs: dict[str, Any] = {}
    if cache_dir is not None:
        kwargs["cache_dir"] = cache_dir
    load_start = time.monotonic()
    reloader = Reloader(logdir, **kwargs)
    reloader.reload()
    load_end = time.monotonic()
    rss_loaded = process.memory_info().rss
    series = [s for run in reloader.runs.values() for s in run.scalars.values()]
    points = sum(len(s) for s in series)
    nbytes = sum(s.nbytes for s in series)
    # First read of every series (the store consolidates chunks on first read).
    provider = Provider(reloader.runs)
    read_points = 0
    last_steps = set()
    for _, _, columns in provider.iter_scalars():
        read_points += len(columns.step)
        if len(columns.step):
            last_steps.add(int(np.asarray(columns.step)[-1]))
    read_end = time.monotonic()
    gc.collect()
    rss_read = process.memory_info().rss
    for name in ("close", "stop"):  # let a cache writer finish, untimed
        method = getattr(reloader, name, None)
        if callable(method):
            method()
    return {
        "t_start": started,
        "t_imported": imported,
        "t_load_start": load_start,
        "t_load_end": load_end,
        "t_read_end": read_end,
        "baseline_rss": baseline,
        "rss_loaded": rss_loaded,
        "rss_read": rss_read,
        "points": points,
        "read_points": read_points,
        "nbytes": nbytes,
        "runs": len(reloader.runs),
        "series": len(series),
        "last_steps": sorted(last_steps),
    }


def child_tbparse(logdir: str) -> dict[str, Any]:
    started = time.monotonic()
    import warnings

    warnings.simplefilter("ignore")
    from tbparse import SummaryReader

    gc.collect()
    baseline = psutil.Process().memory_info().rss
    load_start = time.monotonic()
    frame = SummaryReader(logdir).scalars
    load_end = time.monotonic()
    return {
        "t_start": started,
        "t_load_start": load_start,
        "t_load_end": load_end,
        "baseline_rss": baseline,
        "points": len(frame),
    }


def child_profile(logdir: str, cache_dir: str | None, top: int) -> None:
    """cProfile of a cold lumiboard load, with the run pool made inline (one thread).

    cProfile sees only the thread it runs on, so the ``ThreadPoolExecutor`` of
    ``lumiboard.reader.reload`` is replaced by one that runs every task in the caller.
    """
    import cProfile
    import pstats

    from lumiboard.reader import reload as reload_module

    class InlineExecutor:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            del args, kwargs

        def __enter__(self) -> InlineExecutor:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def map(self, fn: Callable[[Any], Any], items: Any) -> Any:
            return map(fn, list(items))

    if hasattr(reload_module, "ThreadPoolExecutor"):
        reload_module.ThreadPoolExecutor = InlineExecutor  # type: ignore[misc,assignment]
    else:
        print("note: Reloader no longer uses ThreadPoolExecutor; worker threads not profiled")
    kwargs: dict[str, Any] = {}
    if cache_dir is not None:
        shutil.rmtree(cache_dir, ignore_errors=True)
        os.makedirs(cache_dir)
        kwargs["cache_dir"] = cache_dir
    reloader = reload_module.Reloader(logdir, **kwargs)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    reloader.reload()
    profiler.disable()
    elapsed = time.perf_counter() - started
    what = "an empty cache" if cache_dir is not None else "no cache"
    print(f"cold load with {what}, one thread, under cProfile: {elapsed:.2f} s")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)


def cache_supported() -> bool:
    from lumiboard.reader.reload import Reloader

    return "cache_dir" in inspect.signature(Reloader).parameters


def run_child(args: argparse.Namespace) -> int:
    if args.child == "lumiboard":
        result = child_lumiboard(args.logdir, args.cache_dir)
    elif args.child == "tbparse":
        result = child_tbparse(args.logdir)
    elif args.child == "profile":
        child_profile(args.logdir, args.cache_dir, args.profile_top)
        return 0
    else:
        raise SystemExit(f"unknown child {args.child!r}")
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# ---- running contenders ------------------------------------------------------------------------


def run_python_child(
    name: str, child_args: list[str], workdir: Path, timeout: float
) -> tuple[Result, dict[str, Any] | None]:
    """Run this script as a child; return the result (timed from spawn) and its JSON."""
    result = Result(name)
    log = workdir / (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".log")
    cmd = [sys.executable, os.path.abspath(__file__), *child_args]
    with log.open("wb") as err, tempfile.TemporaryFile() as out:
        spawned = time.monotonic()
        proc = spawn(cmd, out, err)
        monitor = MemoryMonitor(proc.pid)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            monitor.stop()
            _kill_tree(proc)
            result.note = f"timed out after {timeout:.0f} s"
            result.peak_rss = monitor.peak
            return result, None
        monitor.stop()
        _LIVE.discard(proc)
        out.seek(0)
        lines = out.read().decode(errors="replace").splitlines()
    data = next((json.loads(line[7:]) for line in lines if line.startswith("RESULT ")), None)
    if proc.returncode != 0 or data is None:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        result.note = f"failed (exit {proc.returncode}): {' | '.join(tail)}"
        return result, None
    result.peak_rss = monitor.peak
    result.baseline_rss = data["baseline_rss"]
    result.points = data["points"]
    result.load_s = data["t_load_end"] - data["t_load_start"]
    result.total_s = data["t_load_end"] - spawned
    result.extra["startup_s"] = data["t_load_start"] - spawned
    return result, data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(url: str, timeout: float = 30.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def tensorboard_cmd(logdir: Path, port: int, load_fast: bool) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "tensorboard.main",
        "--logdir",
        str(logdir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        f"--load_fast={'true' if load_fast else 'false'}",
        "--reload_interval",
        "0",
    ]
    if load_fast:
        cmd.append("--extra_data_server_flags=--verbose")  # logs "Finished load cycle (...)"
    else:
        cmd += ["--verbosity", "0"]  # INFO: logs "Load took ... secs" (a few lines per run)
    return cmd


def tensorboard_baseline(load_fast: bool, workdir: Path, timeout: float) -> int | None:
    """Tree RSS of a TensorBoard serving an empty log directory (its cost before data)."""
    return empty_baseline(
        lambda logdir, port: tensorboard_cmd(logdir, port, load_fast), workdir, timeout
    )


def steady_rss(pid: int) -> int:
    """Tree RSS once the process has settled: the median of 5 samples over a second."""
    time.sleep(1.0)
    root = psutil.Process(pid)
    samples = []
    for _ in range(5):
        samples.append(tree_rss(root))
        time.sleep(0.2)
    return int(statistics.median(samples))


def empty_baseline(
    command: Callable[[Path, int], list[str]], workdir: Path, timeout: float
) -> int | None:
    """Tree RSS of a server (``command(logdir, port)``) serving an empty log directory."""
    with tempfile.TemporaryDirectory(prefix="empty-logdir-", dir=workdir) as empty:
        port = free_port()
        proc = spawn(command(Path(empty), port), subprocess.DEVNULL, subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    http_json(f"http://127.0.0.1:{port}/data/plugin/scalars/tags", 5)
                    break
                except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                    time.sleep(HTTP_POLL_S)
            else:
                return None
            return steady_rss(proc.pid)
        finally:
            _kill_tree(proc)


def run_tensorboard(
    logdir: Path,
    runs: list[str],
    tags: list[str],
    steps: int,
    load_fast: bool,
    workdir: Path,
    timeout: float,
) -> Result:
    name = f"TensorBoard --load_fast={'true' if load_fast else 'false'}"
    result = Result(name)
    result.baseline_rss = tensorboard_baseline(load_fast, workdir, 120)
    port = free_port()
    base = f"http://127.0.0.1:{port}/data/plugin/scalars"
    log = workdir / f"tensorboard-load_fast-{str(load_fast).lower()}.log"
    wanted = set(tags)
    with log.open("wb") as err:
        spawned = time.monotonic()
        proc = spawn(tensorboard_cmd(logdir, port, load_fast), subprocess.DEVNULL, err)
        monitor = MemoryMonitor(proc.pid)
        try:
            deadline = spawned + timeout
            done: set[str] = set()
            ready_at = None
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    result.note = f"exited early (status {proc.returncode}), see {log}"
                    return result
                try:
                    listed = http_json(f"{base}/tags", 10)
                except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                    time.sleep(HTTP_POLL_S)
                    continue
                if all(wanted <= set(listed.get(run, {})) for run in runs):
                    for run in runs:
                        if run in done:
                            continue
                        query = urllib.parse.urlencode({"run": run, "tag": tags[-1]})
                        points = http_json(f"{base}/scalars?{query}", 30)
                        if points and points[-1][1] == steps - 1:
                            done.add(run)
                    if len(done) == len(runs):
                        ready_at = time.monotonic()
                        break
                # Poll less often as time goes on: at most 0.5% of the elapsed time lost,
                # and a slow loader is not slowed further by our requests.
                time.sleep(max(HTTP_POLL_S, (time.monotonic() - spawned) / 200))
            if ready_at is None:
                result.note = f"timed out after {timeout:.0f} s"
                result.peak_rss = monitor.peak
                return result
            result.total_s = ready_at - spawned
            # Count what it keeps: fetch every series once (counted in peak RSS, not in time).
            kept = 0
            for run in runs:
                for tag in tags:
                    query = urllib.parse.urlencode({"run": run, "tag": tag})
                    kept += len(http_json(f"{base}/scalars?{query}", 120))
            result.points = kept
            monitor.sample()
            result.peak_rss = monitor.peak
            result.extra["steady_rss"] = steady_rss(proc.pid)
        finally:
            monitor.stop()
            _kill_tree(proc)
    text = log.read_text(errors="replace")
    if load_fast:
        found = re.findall(r"Finished load cycle \(([0-9.]+)(m?s)\)", text)
        if found:
            number, unit = found[0]
            result.load_s = float(number) / (1000 if unit == "ms" else 1)
    else:
        found = re.findall(r"Load took ([0-9.]+) secs", text)
        if found:
            result.load_s = float(found[0])
    return result


def lumiboard_cmd(logdir: Path, port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "lumiboard", "serve", "--logdir", str(logdir)),
        *("--host", "127.0.0.1", "--port", str(port), "--reload_interval", "0", "--no-cache"),
    ]


def run_lumiboard_server(
    logdir: Path, runs: list[str], tags: list[str], steps: int, workdir: Path, timeout: float
) -> Result:
    """The lumiboard server's resident memory, as TensorBoard's is measured: its process
    tree serving the log directory (no cache), once every series has been read through
    HTTP (CSV: every point), minus the same server serving an empty log directory."""
    result = Result("lumiboard server")
    result.baseline_rss = empty_baseline(lumiboard_cmd, workdir, 120)
    port = free_port()
    base = f"http://127.0.0.1:{port}/data/plugin/scalars"
    log = workdir / "lumiboard-server.log"
    with log.open("wb") as err:
        spawned = time.monotonic()
        proc = spawn(lumiboard_cmd(logdir, port), subprocess.DEVNULL, err)
        monitor = MemoryMonitor(proc.pid)
        try:
            deadline = spawned + timeout
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    result.note = f"exited early (status {proc.returncode}), see {log}"
                    return result
                try:
                    listed = http_json(f"{base}/tags", 10)
                    if all(set(tags) <= set(listed.get(run, {})) for run in runs):
                        query = urllib.parse.urlencode({"run": runs[-1], "tag": tags[-1]})
                        points = http_json(f"{base}/scalars?{query}", 30)
                        if points and points[-1][1] == steps - 1:
                            break
                except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                    pass
                time.sleep(max(HTTP_POLL_S, (time.monotonic() - spawned) / 200))
            else:
                result.note = f"timed out after {timeout:.0f} s"
                return result
            result.total_s = time.monotonic() - spawned
            kept = 0
            for run in runs:
                for tag in tags:
                    query = urllib.parse.urlencode({"run": run, "tag": tag, "format": "csv"})
                    with urllib.request.urlopen(f"{base}/scalars?{query}", timeout=120) as answer:
                        kept += answer.read().count(b"\n") - 1  # the header line
            result.points = kept
            result.extra["steady_rss"] = steady_rss(proc.pid)
            monitor.sample()
            result.peak_rss = monitor.peak
        finally:
            monitor.stop()
            _kill_tree(proc)
    return result


def steady_per_point(result: Result) -> float | None:
    """(steady tree RSS - empty-logdir baseline) / points kept, or None if not measured."""
    steady = result.extra.get("steady_rss")
    if not result.ok or steady is None or result.baseline_rss is None or not result.points:
        return None
    return float((steady - result.baseline_rss) / result.points)


def print_memory(server: Result | None, rust: Result | None, expected: int) -> None:
    print(
        "resident memory, steady state (process tree after every series was read, "
        "minus the same server on an empty logdir):"
    )
    for result in (server, rust):
        if result is None:
            continue
        per_point = steady_per_point(result)
        if per_point is None:
            print(f"  {result.name}: not measured {result.note}")
            continue
        steady = result.extra["steady_rss"]
        assert result.baseline_rss is not None
        print(
            f"  {result.name:<34} {(steady - result.baseline_rss) / MB:9.1f} MB above "
            f"{result.baseline_rss / MB:.1f} MB, {result.points:,} points kept "
            f"(of {expected:,}): {per_point:.1f} B/point"
        )


def measure_reduce() -> float:
    """Median ms of ``reduce_series`` on a 1M-point series, 2,000 buckets."""
    import numpy as np

    from lumiboard.store.downsample import reduce_series

    rng = np.random.default_rng(0)
    step = np.arange(REDUCE_POINTS, dtype=np.int64)
    wall = 1.7e9 + step * 0.05
    value = np.exp(-step / (REDUCE_POINTS / 5)) + 0.05 * rng.standard_normal(REDUCE_POINTS)
    reduce_series(step, wall, value, REDUCE_BUCKETS)  # warm-up
    times = []
    for _ in range(REDUCE_REPEAT):
        started = time.perf_counter()
        reduce_series(step, wall, value, REDUCE_BUCKETS)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


# ---- report ------------------------------------------------------------------------------------


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(results: list[Result]) -> None:
    header = (
        f"{'contender':<30} {'total s':>9} {'load s':>9} {'peak RSS MB':>12} "
        f"{'baseline MB':>12} {'points kept':>13} {'bytes/point':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if not r.ok:
            print(f"{r.name:<30} {r.note}")
            continue
        print(
            f"{r.name:<30} {fmt(r.total_s, '9.2f')} {fmt(r.load_s, '9.2f')} "
            f"{fmt(r.peak_rss and r.peak_rss / MB, '12.1f')} "
            f"{fmt(r.baseline_rss and r.baseline_rss / MB, '12.1f')} "
            f"{fmt(r.points, '13,d')} {fmt(r.bytes_per_point, '12.1f')}"
            + (f"  ({r.note})" if r.note else "")
        )


def verdict(ok: bool | None) -> str:
    return "PASS" if ok else ("FAIL" if ok is not None else "FAIL (not measured)")


def run_lumiboard(
    logdir: Path, workdir: Path, expected: int, timeout: float
) -> tuple[list[Result], str]:
    """cold without a cache, cold with an empty cache, warm (that cache filled)."""
    variants = [("lumiboard cold, no cache", None)]
    note = ""
    cache_dir = workdir / "lumiboard-cache"
    if cache_supported():
        shutil.rmtree(cache_dir, ignore_errors=True)
        cache_dir.mkdir()
        variants += [("lumiboard cold, empty cache", cache_dir), ("lumiboard warm", cache_dir)]
    else:
        note = "lumiboard warm: not available (Reloader has no cache_dir option yet)"
    results = []
    for name, cache in variants:
        if name == "lumiboard warm" and not results[-1].ok:
            note = "lumiboard warm: skipped (the cold load with a cache failed)"
            break
        print(f"running {name} ...", flush=True)
        child = ["--child", "lumiboard", "--logdir", str(logdir)]
        if cache is not None:
            child += ["--cache-dir", str(cache)]
        result, data = run_python_child(name, child, workdir, timeout)
        results.append(result)
        if data is None:
            continue
        points = max(1, data["points"])
        result.extra.update(
            nbytes_per_point=data["nbytes"] / points,
            steady_per_point=(data["rss_read"] - data["baseline_rss"]) / points,
            first_read_s=data["t_read_end"] - data["t_load_end"],
        )
        if data["points"] != expected or data["read_points"] != expected:
            result.note = (
                f"COUNT MISMATCH: {data['points']:,} loaded, "
                f"{data['read_points']:,} read, {expected:,} expected"
            )
    return results, note


def targets(
    lumi: list[Result], rust: Result | None, reduce_ms: float
) -> list[tuple[str, bool | None]]:
    """(label, passed) per target; None: not measured (counts as a failure)."""
    colds = [r for r in lumi if "cold" in r.name]
    warm = next((r for r in lumi if r.name == "lumiboard warm"), None)
    checks: list[tuple[str, bool | None]] = []
    for cold in colds or [Result("lumiboard cold")]:
        if cold.ok and not cold.note and rust is not None and rust.ok:
            assert cold.total_s is not None
            assert rust.total_s is not None
            checks.append(
                (
                    f"{cold.name} {cold.total_s:.2f} s < RustBoard {rust.total_s:.2f} s "
                    "(spawn to every point queryable, every point kept)",
                    cold.total_s < rust.total_s,
                )
            )
        else:
            checks.append((f"{cold.name} faster than RustBoard", None))
    cached_cold = next((r for r in colds if r.name == "lumiboard cold, empty cache"), None)
    if (
        cached_cold is not None
        and cached_cold.ok
        and warm is not None
        and warm.ok
        and not warm.note
    ):
        assert cached_cold.load_s is not None
        assert warm.load_s is not None
        checks.append(
            (
                f"warm load {warm.load_s:.3f} s < cold load (empty cache) / 10 = "
                f"{cached_cold.load_s * TARGET_WARM_FRACTION:.3f} s",
                warm.load_s < cached_cold.load_s * TARGET_WARM_FRACTION,
            )
        )
    else:
        checks.append(("warm load < cold load / 10", None))
    for r in lumi or [Result("lumiboard")]:
        per_point = r.bytes_per_point
        if r.ok and not r.note and per_point is not None:
            checks.append(
                (
                    f"{r.name}: {per_point:.1f} bytes/point (peak RSS - baseline) "
                    f"< {TARGET_BYTES_PER_POINT:.0f}",
                    per_point < TARGET_BYTES_PER_POINT,
                )
            )
        else:
            checks.append((f"{r.name}: bytes/point < {TARGET_BYTES_PER_POINT:.0f}", None))
    checks.append(
        (
            f"reduce 1M points to 2,000 buckets {reduce_ms:.2f} ms < {TARGET_REDUCE_MS:.0f} ms",
            reduce_ms < TARGET_REDUCE_MS,
        )
    )
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--logdir", help="a log directory generated by this script, reused")
    parser.add_argument(
        "--workdir",
        default=os.path.join(tempfile.gettempdir(), "lumiboard-bench-ingest"),
        help="where generated log directories, logs and the cache are kept between runs",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per contender")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["lumiboard", "server", "rust", "python", "tbparse"],
        help="leave a contender out (repeatable)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile of a cold lumiboard load"
    )
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return run_child(args)

    atexit.register(_kill_all)
    signal.signal(signal.SIGTERM, _on_signal)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if args.logdir:
        logdir = Path(args.logdir)
        if not logdir.is_dir():
            parser.error(f"--logdir {logdir} is not a directory")
        match = re.search(r"-r(\d+)-t(\d+)-s(\d+)$", logdir.name)
        if match:  # named by this script: its size is known
            args.runs, args.tags, args.steps = map(int, match.groups())
    else:
        logdir = generate(workdir, args.runs, args.tags, args.steps)
    runs = [f"run_{r:03d}" for r in range(args.runs)]
    tags = [f"metric_{t:02d}" for t in range(args.tags)]
    expected = args.runs * args.tags * args.steps
    warm_page_cache(logdir)
    print(
        f"logdir {logdir}: {args.runs} runs x {args.tags} tags x {args.steps:,} steps = "
        f"{expected:,} points, {disk_bytes(logdir) / MB:.1f} MB; "
        f"{os.cpu_count()} CPUs; timeout {args.timeout:.0f} s per contender"
    )

    lumi: list[Result] = []
    cache_note = ""
    if "lumiboard" not in args.skip:
        lumi, cache_note = run_lumiboard(logdir, workdir, expected, args.timeout)
    results = list(lumi)
    server = None
    if "server" not in args.skip:
        print("running the lumiboard server ...", flush=True)
        server = run_lumiboard_server(logdir, runs, tags, args.steps, workdir, args.timeout)
        results.append(server)
    rust = None
    if "rust" not in args.skip:
        print("running TensorBoard --load_fast=true ...", flush=True)
        rust = run_tensorboard(logdir, runs, tags, args.steps, True, workdir, args.timeout)
        results.append(rust)
    if "python" not in args.skip:
        print("running TensorBoard --load_fast=false ...", flush=True)
        results.append(
            run_tensorboard(logdir, runs, tags, args.steps, False, workdir, args.timeout)
        )
    if "tbparse" not in args.skip:
        print("running tbparse ...", flush=True)
        tb_result, _ = run_python_child(
            "tbparse", ["--child", "tbparse", "--logdir", str(logdir)], workdir, args.timeout
        )
        results.append(tb_result)
    reduce_ms = measure_reduce()

    print()
    print_table(results)
    if cache_note:
        print(cache_note)
    for r in lumi:
        if r.ok:
            print(
                f"{r.name}: spawn to load start {r.extra['startup_s']:.2f} s; first read of "
                f"every series {r.extra['first_read_s']:.2f} s; columns "
                f"{r.extra['nbytes_per_point']:.1f} B/point; RSS after load and read "
                f"{r.extra['steady_per_point']:.1f} B/point above baseline"
            )
    if rust is not None and rust.ok:
        print(
            f"TensorBoard keeps at most {TB_SAMPLES} points per tag: expected "
            f"{args.runs * args.tags * min(args.steps, TB_SAMPLES):,}, RustBoard served "
            f"{rust.points:,}; its own load cycle took {fmt(rust.load_s, '.2f')} s"
        )
    print(
        f"reduce {REDUCE_POINTS:,} points to {REDUCE_BUCKETS:,} buckets: "
        f"{reduce_ms:.2f} ms (median of {REDUCE_REPEAT})"
    )
    if server is not None or rust is not None:
        print_memory(server, rust, expected)
    print()
    checks = targets(lumi, rust, reduce_ms)
    if server is not None:
        per_point = steady_per_point(server)
        label = f"lumiboard server steady bytes/point <= {TARGET_STEADY_BYTES_PER_POINT:.0f}"
        if per_point is not None and server.points != expected:
            per_point = None
            server.note = f"COUNT MISMATCH: {server.points:,} served, {expected:,} expected"
        if per_point is not None:
            label = (
                f"lumiboard server steady {per_point:.1f} bytes/point "
                f"<= {TARGET_STEADY_BYTES_PER_POINT:.0f} (issue 18)"
            )
        checks.append(
            (label, None if per_point is None else per_point <= TARGET_STEADY_BYTES_PER_POINT)
        )
    for label, ok in checks:
        print(f"{verdict(ok)}: {label}")

    if args.profile and "lumiboard" not in args.skip:
        caches = [None]
        if cache_supported():
            caches.append(str(workdir / "lumiboard-profile-cache"))
        for cache in caches:
            print("\nprofiling a cold lumiboard load ...", flush=True)
            child = ["--child", "profile", "--logdir", str(logdir)]
            child += ["--profile-top", str(args.profile_top)]
            if cache is not None:
                child += ["--cache-dir", cache]
            cmd = [sys.executable, os.path.abspath(__file__), *child]
            subprocess.run(cmd, check=False, timeout=args.timeout)
            if cache is not None:
                shutil.rmtree(cache, ignore_errors=True)
    failed = any(not ok for _, ok in checks)
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
