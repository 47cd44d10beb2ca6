"""A large Keras XSpace profile: time to the first ``/overview`` against a protobuf parse.

The profile is made from the real Keras fixture
(``tests/fixtures/xplane/keras/train/plugins/profile/2026_01_01_00_00_00/host.xplane.pb``, 688
host events over 3 steps): the events of each line of its ``/host:CPU`` plane are repeated with
their offsets shifted by one fixture's span per copy, keeping their stats and metadata, so the
step markers (``Profiled batch`` with ``step_num``) repeat too, renumbered (copy ``k`` holds steps
``3k + 1`` to ``3k + 3``), as a longer profile of the same model would. Copies are added until the
file holds at least ``--events`` events (default 200,000). With ``--gpu``, each copy also gets
``--kernels`` GPU kernels on a synthetic ``/device:GPU:0`` plane (device capability stats; one
``Stream #7(Compute)`` line; each kernel with ``correlation_id``, ``context_id``,
``kernel_details`` as ``regs:.. static_shared:.. dynamic_shared:.. grid:x,y,z block:x,y,z
occ_pct:..``, ``hlo_module``, ``hlo_op`` and ``tf_op``) and, on a ``/host:CUPTI`` plane, the
``cuLaunchKernel`` call that launched it, with the same ``correlation_id`` (the stat names of
``xla/tsl/profiler/utils/xplane_schema``). The file is written to
``<tmp>/train/plugins/profile/2026_01_01_00_00_00/host.xplane.pb``, where Keras puts it.

Timed, one after the other:

1. **parse**: ``xplane_pb2.XSpace().ParseFromString(data)``, the bytes in memory (best of
   ``--repeat``, default 5): the baseline;
2. **server**: the real server (``python -m lumiboard --logdir <tmp>``, uvicorn) on a free port,
   started and waited for (``/data/runs`` answers), then the first
   ``GET /data/plugin/profile/runs`` and the first
   ``GET /data/plugin/profile/overview?run=train&worker=host``: the latter reads and decodes the
   file, then computes the view (the file is in the page cache: it was just written). The
   server's peak RSS (``VmHWM``) and RSS are read after the overview;
3. **in-process**: ``lumiboard.plugins.profile.xplane.parse_xspace(data)``, then the overview
   the route computes (``routes._compute_overview``), each timed once.

Only public entry points are used (the HTTP routes, ``parse_xspace``, the routes' overview), so
the script keeps working while their insides change. Target: the server's first ``/runs`` +
``/overview`` at most 3x the parse. Exit status 0 whatever the verdict, unless ``--check``.

Usage::

    .venv/bin/python benchmarks/profile_xplane.py                 # about 10 s on 2 cores
    .venv/bin/python benchmarks/profile_xplane.py --gpu           # with a GPU plane and launches
    .venv/bin/python benchmarks/profile_xplane.py --events 1000000 --keep /tmp/big-xplane
"""

from __future__ import annotations

# Run as a script, this folder comes first on sys.path, and its ``http.py`` would shadow the
# standard library's ``http`` package (which urllib and starlette import). Drop that entry first.
import os
import sys

if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import contextlib
import gc
import json
import math
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

MB = 1 << 20
REPO = Path(__file__).resolve().parents[1]
SPAN = "2026_01_01_00_00_00"
FIXTURE = REPO / "tests/fixtures/xplane/keras/train/plugins/profile" / SPAN / "host.xplane.pb"
HOST_PLANE = "/host:CPU"
STEP_STAT = "step_num"
#: Target: the first /runs + /overview of the server over the protobuf parse.
TARGET_RATIO = 3.0
#: Kernels of the synthetic GPU plane: (name, hlo_op, tf_op as ``name:type``, registers, grid,
#: block, occupancy %).
KERNELS = (
    ("ampere_sgemm_64x32_sliced1x4_nn", "dot.3", "sequential/dense/MatMul:MatMul", 56, 8, 128, 50),
    (
        "ampere_fp16_s16816gemm_fp16_128x128_ldg8_f2f_stages_32x5_nn",
        "dot.7",
        "sequential/dense_1/MatMul:MatMul",
        232,
        16,
        256,
        25,
    ),
    ("loop_add_fusion", "add.2", "sequential/dense/BiasAdd:BiasAdd", 16, 4, 128, 100),
    ("loop_maximum_fusion", "maximum.1", "sequential/dense/Relu:Relu", 16, 4, 128, 100),
    ("input_reduce_fusion", "reduce.5", "mean_squared_error/Mean:Mean", 32, 1, 256, 100),
    ("loop_multiply_fusion", "multiply.9", "Adam/mul:Mul", 18, 2, 128, 100),
)
SLOTS_PER_KERNEL = 10  # a kernel takes 6 of its 10 slots, its launch 2 slots before it


# ---- the profile ------------------------------------------------------------------------------


@dataclass
class Profile:
    data: bytes
    copies: int
    events: int
    host_events: int
    steps: int
    kernels: int


def _stat_ids(plane: Any) -> dict[str, int]:
    return {meta.name: key for key, meta in plane.stat_metadata.items()}


def _repeat_host(plane: Any, copies: int) -> tuple[int, int]:
    """Repeat each line's events ``copies`` times in all; ``(span_ps, steps per copy)``."""
    step_id = _stat_ids(plane).get(STEP_STAT)
    starts, ends, steps = [], [], 0
    for line in plane.lines:
        base = line.timestamp_ns * 1000
        for event in line.events:
            starts.append(base + event.offset_ps)
            ends.append(base + event.offset_ps + event.duration_ps)
            for stat in event.stats:
                if stat.metadata_id == step_id:
                    steps = max(steps, stat.int64_value or stat.uint64_value)
    # One fixture's span plus 2% between copies: no copy overlaps the next one.
    span = (max(ends) - min(starts)) * 102 // 100
    for line in plane.lines:
        originals = list(line.events)
        for copy in range(1, copies):
            shift = copy * span
            for original in originals:
                event = line.events.add()
                event.CopyFrom(original)
                event.offset_ps += shift
                for stat in event.stats:
                    if stat.metadata_id == step_id:
                        if stat.WhichOneof("value") == "uint64_value":
                            stat.uint64_value += copy * steps
                        else:
                            stat.int64_value += copy * steps
    return span, steps


def _stat_metadata(plane: Any, names: tuple[str, ...]) -> dict[str, int]:
    ids = {}
    for key, name in enumerate(names, start=1):
        plane.stat_metadata[key].id = key
        plane.stat_metadata[key].name = name
        ids[name] = key
    return ids


def _add_gpu(space: Any, start_ps: int, span_ps: int, copies: int, per_copy: int) -> int:
    """A ``/device:GPU:0`` plane with ``per_copy`` kernels per copy and the ``/host:CUPTI``
    plane of their launches; the count of kernels."""
    gpu = space.planes.add(id=space.planes[-1].id + 1, name="/device:GPU:0")
    cupti = space.planes.add(id=gpu.id + 1, name="/host:CUPTI")
    names = (
        "correlation_id", "context_id", "kernel_details", "hlo_module", "hlo_op", "tf_op",
        "device_vendor", "clock_rate", "core_count", "memory_bandwidth", "memory_size",
        "compute_cap_major", "compute_cap_minor",
    )  # fmt: skip
    stats = _stat_metadata(gpu, names)
    launch_stats = _stat_metadata(cupti, ("correlation_id", "context_id"))
    facts = {
        "clock_rate": 1_410_000,  # kHz
        "core_count": 108,
        "memory_bandwidth": 1_555_000_000_000,  # bytes/s
        "memory_size": 40 * 1024**3,
        "compute_cap_major": 8,
        "compute_cap_minor": 0,
    }
    gpu.stats.add(metadata_id=stats["device_vendor"], str_value="Nvidia")
    for name, value in facts.items():
        gpu.stats.add(metadata_id=stats[name], uint64_value=value)
    for key, (name, *_) in enumerate(KERNELS, start=1):
        gpu.event_metadata[key].id = key
        gpu.event_metadata[key].name = name
        gpu.event_metadata[key].display_name = name
    cupti.event_metadata[1].id = 1
    cupti.event_metadata[1].name = "cuLaunchKernel"
    line_ns = start_ps // 1000
    stream = gpu.lines.add(id=7, display_id=7, name="Stream #7(Compute)", timestamp_ns=line_ns)
    thread = cupti.lines.add(id=4242, display_id=4242, name="4242", timestamp_ns=line_ns)
    slot = span_ps // (per_copy * SLOTS_PER_KERNEL)
    correlation = 0
    for copy in range(copies):
        for index in range(per_copy):
            correlation += 1
            name, hlo_op, tf_op, regs, grid, block, occupancy = KERNELS[index % len(KERNELS)]
            at = copy * span_ps + index * SLOTS_PER_KERNEL * slot + 2 * slot
            kernel = stream.events.add(
                metadata_id=index % len(KERNELS) + 1, offset_ps=at, duration_ps=6 * slot
            )
            details = (
                f"regs:{regs} static_shared:0 dynamic_shared:{0 if regs < 100 else 49152} "
                f"grid:{grid},1,1 block:{block},1,1 occ_pct:{occupancy}"
            )
            kernel.stats.add(metadata_id=stats["correlation_id"], uint64_value=correlation)
            kernel.stats.add(metadata_id=stats["context_id"], uint64_value=1)
            kernel.stats.add(metadata_id=stats["kernel_details"], str_value=details)
            kernel.stats.add(metadata_id=stats["hlo_module"], str_value="a_inference_train_279")
            kernel.stats.add(metadata_id=stats["hlo_op"], str_value=hlo_op)
            kernel.stats.add(metadata_id=stats["tf_op"], str_value=tf_op)
            launch = thread.events.add(metadata_id=1, offset_ps=at - 2 * slot, duration_ps=slot)
            launch.stats.add(metadata_id=launch_stats["correlation_id"], uint64_value=correlation)
            launch.stats.add(metadata_id=launch_stats["context_id"], uint64_value=1)
    return correlation


def make_profile(events: int, gpu: bool, kernels: int) -> Profile:
    from lumiboard.format.proto import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(FIXTURE.read_bytes())
    host = next(plane for plane in space.planes if plane.name == HOST_PLANE)
    per_copy = sum(len(line.events) for line in host.lines) + (2 * kernels if gpu else 0)
    copies = max(1, math.ceil(events / per_copy))
    span, steps = _repeat_host(host, copies)
    start = min(line.timestamp_ns * 1000 + line.events[0].offset_ps for line in host.lines)
    launched = _add_gpu(space, start, span, copies, kernels) if gpu else 0
    total = sum(len(line.events) for plane in space.planes for line in plane.lines)
    host_events = sum(len(line.events) for line in host.lines)
    return Profile(space.SerializeToString(), copies, total, host_events, steps * copies, launched)


# ---- timing -----------------------------------------------------------------------------------


def best_parse(data: bytes, repeat: int) -> float:
    from lumiboard.format.proto import xplane_pb2

    times = []
    for _ in range(repeat):
        space = xplane_pb2.XSpace()
        started = time.perf_counter()
        space.ParseFromString(data)
        times.append(time.perf_counter() - started)
        del space
    return min(times)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str, timeout: float) -> tuple[float, int, bytes]:
    """``(seconds, status, body)`` of one GET, the body read in full."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
            body = answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    return time.perf_counter() - started, status, body


@contextlib.contextmanager
def server(logdir: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    command = [sys.executable, "-m", "lumiboard", "--logdir", str(logdir), "--port", str(port),
               "--host", "127.0.0.1", "--reload_interval", "0", "--no-cache"]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    try:
        yield process, port
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


def wait_ready(process: subprocess.Popen[bytes], port: int, log: Path, deadline: float) -> float:
    """Seconds until ``/data/runs`` answers (profile runs are listed from the log directory
    given, not from the loaded runs, so nothing else needs waiting for)."""
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        with contextlib.suppress(OSError):
            _, status, _ = _get(port, "/data/runs", 5)
            if status == 200:
                return time.perf_counter() - started
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer in time:\n{log.read_text()}")


def _proc_status(pid: int) -> dict[str, int]:
    """The ``kB`` lines of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``), in bytes."""
    found = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as handle:
        for line in handle:
            name, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                found[name] = int(value.split()[0]) * 1024
    return found


def memory(pid: int) -> tuple[int | None, int | None]:
    """``(peak RSS, RSS)`` of a process and its children: ``VmHWM``/``VmRSS`` from ``/proc``
    where there is one, else psutil's RSS (no peak)."""
    try:
        import psutil

        found = psutil.Process(pid)
        pids = [pid] + [child.pid for child in found.children(recursive=True)]
    except ImportError:
        psutil, pids = None, [pid]
    peak = rss = 0
    for each in pids:
        status = _proc_status(each)
        if status:
            peak += status.get("VmHWM", 0)
            rss += status.get("VmRSS", 0)
        elif psutil is not None:
            with contextlib.suppress(psutil.Error):
                rss += psutil.Process(each).memory_info().rss
    return (peak or None), (rss or None)


@dataclass
class Served:
    ready: float
    runs: float
    overview: float
    #: The first /overview of each further copy of the file (a fresh decode in a warm server).
    further: list[float]
    status: int
    answer: dict[str, Any]
    rss_before: int | None
    peak: int | None
    rss_after: int | None


def time_server(logdir: Path, timeout: float, copies: int = 0) -> Served:
    log = logdir.parent / "server.log"
    with server(logdir, log) as (process, port):
        ready = wait_ready(process, port, log, time.perf_counter() + 120)
        _, rss_before = memory(process.pid)
        runs, status, body = _get(port, "/data/plugin/profile/runs", timeout)
        listed = json.loads(body)["runs"]
        if status != 200 or "host" not in listed.get("train", {}):
            raise RuntimeError(f"/data/plugin/profile/runs lists no train/host: {body[:500]!r}")
        query = urlencode({"run": "train", "worker": "host"})
        overview, status, body = _get(port, f"/data/plugin/profile/overview?{query}", timeout)
        peak, rss_after = memory(process.pid)
        answer = json.loads(body) if body.startswith(b"{") else {"error": body[:500].decode()}
        further = []
        for copy in range(2, copies + 2):
            query = urlencode({"run": f"train{copy}", "worker": "host"})
            seconds, _, _ = _get(port, f"/data/plugin/profile/overview?{query}", timeout)
            further.append(seconds)
    return Served(ready, runs, overview, further, status, answer, rss_before, peak, rss_after)


def time_in_process(data: bytes) -> tuple[float, float, dict[str, Any]]:
    """Seconds of ``parse_xspace`` and of the routes' overview computation; the overview."""
    from lumiboard.plugins.profile import routes
    from lumiboard.plugins.profile.xplane import parse_xspace

    compute: Callable[[Any], dict[str, Any]] = routes._compute_overview
    gc.collect()
    started = time.perf_counter()
    trace = parse_xspace(data)
    parsed = time.perf_counter()
    answer = compute(trace)
    done = time.perf_counter()
    return parsed - started, done - parsed, answer


# ---- printing ---------------------------------------------------------------------------------


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / MB:,.0f} MB"


def _steps(answer: dict[str, Any]) -> str:
    steps = (answer.get("breakdown") or {}).get("steps")
    return f"{len(steps):,} steps" if isinstance(steps, list) else "no steps"


def print_table(rows: list[tuple[str, float, str]], parse: float) -> None:
    header = ("what", "ms", "x parse", "note")
    cells = [header] + [
        (what, f"{seconds * 1e3:,.1f}", f"{seconds / parse:,.1f}", note)
        for what, seconds, note in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    for index, line in enumerate(cells):
        text = [
            c.rjust(widths[i]) if i in (1, 2) else c.ljust(widths[i]) for i, c in enumerate(line)
        ]
        print("  ".join(text).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=200_000, help="at least this many events")
    parser.add_argument("--gpu", action="store_true", help="add a GPU plane and kernel launches")
    parser.add_argument("--kernels", type=int, default=60, help="GPU kernels per fixture copy")
    parser.add_argument("--repeat", type=int, default=5, help="parses; the best is the baseline")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per HTTP request")
    parser.add_argument("--keep", type=Path, default=None, help="write the log directory here")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target fails")
    parser.add_argument(
        "--copies",
        type=int,
        default=6,
        help="further copies of the file (runs train2...), each one's first /overview timed",
    )
    args = parser.parse_args(argv)

    print(f"{os.cpu_count()} CPUs; fixture {FIXTURE.relative_to(REPO)}", flush=True)
    started = time.perf_counter()
    profile = make_profile(args.events, args.gpu, max(1, args.kernels))
    gpu = f", {profile.kernels:,} GPU kernels + as many launches" if args.gpu else ""
    print(
        f"profile: {profile.events:,} events ({profile.host_events:,} on {HOST_PLANE}, "
        f"{profile.copies:,} copies of the fixture, {profile.steps:,} steps{gpu}), "
        f"{len(profile.data) / MB:.1f} MB, made in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lumi-xplane-")))
        else:
            root = args.keep
            shutil.rmtree(root / "logdir", ignore_errors=True)
        logdir = root / "logdir"
        target = logdir / "train/plugins/profile" / SPAN / "host.xplane.pb"
        target.parent.mkdir(parents=True)
        target.write_bytes(profile.data)
        for copy in range(2, max(0, args.copies) + 2):
            other = logdir / f"train{copy}/plugins/profile" / SPAN / "host.xplane.pb"
            other.parent.mkdir(parents=True)
            other.write_bytes(profile.data)
        print(f"written to {target} (and {max(0, args.copies)} copies)", flush=True)

        parse = best_parse(profile.data, max(1, args.repeat))
        print(f"parse: {parse * 1e3:,.1f} ms (best of {max(1, args.repeat)})", flush=True)
        served = time_server(logdir, args.timeout, max(0, args.copies))
        print(f"server: first /overview {served.overview:,.1f} s", flush=True)
    decoded, computed, answer = time_in_process(profile.data)

    if served.status != 200:
        print(f"the server's /overview answered {served.status}: {served.answer}")
    events = served.answer.get("events", answer.get("events"))
    first = served.runs + served.overview
    rows = [
        ("XSpace().ParseFromString (baseline)", parse, f"best of {max(1, args.repeat)}"),
        ("server: first GET /profile/runs", served.runs, "lists the profile"),
        (
            "server: first GET /profile/overview",
            served.overview,
            f"reads, decodes, computes; {events:,} events, {_steps(served.answer)}",
        ),
        ("server: /runs + /overview (target)", first, f"target <= {TARGET_RATIO:g}x parse"),
        *(
            [
                (
                    "server: /overview of a copy, median",
                    statistics.median(served.further),
                    f"{len(served.further)} copies, each decoded afresh; "
                    f"{min(served.further) * 1e3:.0f}-{max(served.further) * 1e3:.0f} ms",
                )
            ]
            if served.further
            else []
        ),
        ("in-process: parse_xspace(data)", decoded, ""),
        ("in-process: _compute_overview(trace)", computed, _steps(answer)),
        ("in-process: both", decoded + computed, ""),
    ]
    print()
    print_table(rows, parse)
    print()
    print(
        f"server: answering in {served.ready:.1f} s; RSS {_mb(served.rss_before)} "
        f"before the overview, {_mb(served.rss_after)} after, peak {_mb(served.peak)}"
    )
    ratio = first / parse
    ok = served.status == 200 and ratio <= TARGET_RATIO
    print(
        f"{'PASS' if ok else 'FAIL'} first /runs + /overview: {first * 1e3:,.0f} ms = "
        f"{ratio:.1f}x the protobuf parse ({parse * 1e3:,.0f} ms), target <= {TARGET_RATIO:g}x"
    )
    if served.further:
        median = statistics.median(served.further)
        print(
            f"the first /overview of a further copy (median of {len(served.further)}): "
            f"{median * 1e3:,.0f} ms = {median / parse:.1f}x the parse"
        )
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
