"""The graphs, projector and profile plugins: lumiboard's routes beside TensorBoard's, in one run.

Both servers run in this process, as the route tests build them: lumiboard's whole app behind a
Starlette ``TestClient`` and TensorBoard's own WSGI app (the Python loader, loaded once,
synchronously) behind a ``werkzeug`` test client, over the same generated log directory. No
request asks for gzip (TensorBoard would compress its text answers; lumiboard never does), so
the figures are each handler's own cost, the body read in full.

1. **graphs**: one ``GraphDef`` of ``--graph-nodes`` nodes (default 20,000) in four levels of
   name scopes, each with two inputs and an ``_output_shapes`` attr, written as
   ``Event.graph_def`` with lumiboard's ``EventFileWriter``. Timed: ``/data/plugin/graphs/graph``
   (pbtxt) on both, and lumiboard's ``/graph_json`` (kept in its cache after the first answer).
   Target: lumiboard's first ``/graph`` answer no slower than TensorBoard's.
2. **projector**: one embedding of ``--emb-rows`` x ``--emb-dims`` float32 (default 50,000 x
   64) with a label per row, written by ``lumiboard.SummaryWriter.add_embedding`` (a TSV, as
   TensorBoard's writers write it). Timed: ``/runs``, ``/tensor`` and ``/metadata`` on both, in
   the order the dashboard asks them. TensorBoard's plugin reads every config and parses every
   tensor on ``/runs`` (and on any route that finds the configs unread), so its first
   ``/tensor`` is served from memory: the target compares the first ``/runs`` + ``/tensor`` of
   each, which must stay within 1.5x TensorBoard's, and both must serve every row and label.
3. **profile**: a synthetic PyTorch profiler trace of about ``--trace-events`` events (default
   200,000; ``lumiboard.plugins.profile.demo.synthetic_trace``), gzipped as the demo writes it.
   TensorBoard has no profile plugin installed (torch-tb-profiler is deprecated), so the
   baseline is the standard library's ``json.load`` of the same file (gunzipped on the fly);
   ``orjson.loads`` (lumiboard's parser) is shown too. Timed: lumiboard's ``/overview`` (the
   first answer reads and parses the file), ``/operators`` and ``/trace`` (default window). The
   peak RSS growth of one first ``/overview``, and of one ``json.load``, is measured in a fresh
   child process each. Target: the first ``/overview`` under 5x ``json.load``.

**first ms** is the median over ``--cold`` cold starts (default 3) of the first answer: each
start builds fresh apps and asks for a file neither has seen (a copy of the graph or trace; for
the projector, TensorBoard's plugin is new and lumiboard's tensor cache is cleared). **repeat
ms** is the median of ``--repeat`` more requests (default 5) in the last start. The tables give
response bytes too; below them, one PASS/FAIL line per target::

    .venv/bin/python benchmarks/plugins.py            # about a minute on 2 cores
    .venv/bin/python benchmarks/plugins.py --check    # exit status 1 when a target fails
    .venv/bin/python benchmarks/plugins.py --only graphs --graph-nodes 100000 --cold 1
"""

from __future__ import annotations

# Run as a script, this folder comes first on sys.path, and its ``http.py`` would shadow the
# standard library's ``http`` package (which starlette imports). Drop that entry first.
import os
import sys

if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import contextlib
import gc
import gzip
import json
import logging
import math
import shutil
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np

MB = 1 << 20
STAGES = ("graphs", "projector", "profile")
#: Targets: lumiboard / TensorBoard (graphs, projector), lumiboard / json.load (profile).
GRAPH_RATIO = 1.0
TENSOR_RATIO = 1.5
OVERVIEW_RATIO = 5.0


# ---- the two apps (as tests/unit/route_support.py builds them) ------------------------------


def tensorboard_client(logdir: Path) -> Any:
    """TensorBoard's own WSGI app over ``logdir``, loaded once, synchronously (Python loader)."""
    from tensorboard import default, program  # type: ignore[import-untyped]
    from tensorboard.backend import application  # type: ignore[import-untyped]
    from tensorboard.backend.event_processing import data_ingester  # type: ignore[import-untyped]
    from werkzeug.test import Client

    board = program.TensorBoard(plugins=default.get_plugins())
    board.configure(
        argv=[
            "tensorboard",
            "--logdir",
            str(logdir),
            "--load_fast=false",
            "--reload_task=blocking",
            "--reload_interval=0",
        ]
    )
    ingester = data_ingester.LocalDataIngester(board.flags)
    ingester.start()  # blocking: returns once everything is loaded
    app = application.TensorBoardWSGIApp(
        board.flags,
        board.plugin_loaders,
        ingester.data_provider,
        board.assets_zip_provider,
        ingester.deprecated_multiplexer,
    )
    return Client(app)


@contextlib.contextmanager
def lumiboard_client(logdir: Path) -> Iterator[Any]:
    """lumiboard's whole app over ``logdir``, loaded once."""
    from starlette.testclient import TestClient

    from lumiboard.reader.reload import Reloader
    from lumiboard.server.app import create_app
    from lumiboard.server.context import ServerOptions

    reloader = Reloader(str(logdir))
    reloader.reload()
    with TestClient(create_app(reloader, ServerOptions(data_location=str(logdir)))) as client:
        yield client


def fetch(client: Any, url: str) -> tuple[float, bytes]:
    """(seconds, body) of ``GET url``, the body read in full; a non-200 answer raises."""
    start = time.perf_counter()
    response = client.get(url)
    body = response.get_data() if hasattr(response, "get_data") else response.content
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: {response.status_code} {body[:300]!r}")
    return elapsed, bytes(body)


def url(route: str, **params: Any) -> str:
    return f"{route}?{urlencode(params)}" if params else route


# ---- measuring and printing -----------------------------------------------------------------


@dataclass
class Series:
    """One route of one contender: its first answers (one per cold start) and its repeats."""

    contender: str
    route: str
    note: str = ""
    firsts: list[float] = field(default_factory=list)
    repeats: list[float] = field(default_factory=list)
    size: int | None = None

    def take(self, client: Any, path: str, repeat: int = 0) -> bytes:
        """The first answer of a fresh app, then ``repeat`` more; the body."""
        seconds, body = fetch(client, path)
        self.firsts.append(seconds)
        self.repeats += [fetch(client, path)[0] for _ in range(repeat)]
        self.size = len(body)
        return body

    @property
    def first(self) -> float:
        return statistics.median(self.firsts) if self.firsts else math.nan

    @property
    def repeat(self) -> float:
        return statistics.median(self.repeats) if self.repeats else math.nan


@dataclass
class Target:
    ok: bool
    text: str


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1e3:,.1f}"


def print_table(title: str, rows: list[Series]) -> None:
    header = ["contender", "route", "first ms", "repeat ms", "bytes", "note"]
    cells = [header] + [
        [
            row.contender,
            row.route,
            _ms(row.first),
            _ms(row.repeat),
            "-" if row.size is None else f"{row.size:,}",
            row.note,
        ]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, line in enumerate(cells):
        text = [
            cell.ljust(widths[i]) if i in (0, 1, 5) else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        ]
        print("  ".join(text).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))


def ratio_target(name: str, ours: float, theirs: float, limit: float, against: str) -> Target:
    ratio = ours / theirs
    return Target(
        ratio <= limit,
        f"{name}: lumiboard {ours * 1e3:,.0f} ms = {ratio:.2f}x {against} "
        f"({theirs * 1e3:,.0f} ms), target <= {limit:g}x",
    )


# ---- 1. graphs --------------------------------------------------------------------------------

OPS = ("MatMul", "BiasAdd", "Relu", "AddV2", "Conv2D", "Mul")


def big_graph(nodes: int) -> Any:
    """``nodes`` nodes in 4 levels of name scopes; each (but the 2 inputs) has 2 inputs."""
    from lumiboard.format.proto import graph_pb2, tensor_shape_pb2, types_pb2

    graph = graph_pb2.GraphDef()
    graph.versions.producer = 1
    names: list[str] = []
    dims = [tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in (-1, 256)]
    for i in range(nodes):
        scope = f"model/stage_{i // 5000}/block_{i // 250 % 20}/unit_{i // 10 % 25}"
        if i < 2:
            name, op, inputs = f"input_{i}", "Placeholder", []
        else:
            name, op = f"{scope}/{OPS[i % len(OPS)].lower()}_{i}", OPS[i % len(OPS)]
            inputs = [names[i - 1], f"{names[max(0, i - 37)]}:0"]
        node = graph.node.add(name=name, op=op, input=inputs, device="/device:GPU:0")
        node.attr["T"].type = types_pb2.DT_FLOAT
        node.attr["_output_shapes"].list.shape.add(dim=dims)
        names.append(name)
    return graph


def write_graphs(logdir: Path, nodes: int, copies: int) -> int:
    """The same graph as the run graph of ``copies`` log directories ``graph_<i>``; its size."""
    from lumiboard.format.proto import event_pb2
    from lumiboard.writer.event_file import EventFileWriter

    blob = big_graph(nodes).SerializeToString()
    for copy in range(copies):
        writer = EventFileWriter(logdir / f"graph_{copy}")
        writer.add_event(event_pb2.Event(wall_time=time.time(), graph_def=blob))
        writer.close()
    return len(blob)


def bench_graphs(root: Path, args: argparse.Namespace) -> tuple[list[Series], list[Target]]:
    logdir = root / "graphs"
    started = time.perf_counter()
    size = write_graphs(logdir, args.graph_nodes, args.cold)
    print(
        f"graphs: {args.graph_nodes:,} nodes, GraphDef {size / MB:.1f} MB, "
        f"written in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    # Each cold start serves its own copy (the run ".") with fresh apps: lumiboard keeps its
    # /graph_json conversions per stored graph, so a copy is a graph it has not seen.
    graph = url("/data/plugin/graphs/graph", run=".")
    graph_json = url("/data/plugin/graphs/graph_json", run=".")
    tb = Series("TensorBoard", "/graph (pbtxt)")
    ours = Series("lumiboard", "/graph (pbtxt)")
    ours_json = Series("lumiboard", "/graph_json", "repeats: from its cache")
    loads: dict[str, list[float]] = {"TensorBoard": [], "lumiboard": []}
    same = True
    nodes = 0
    for cold in range(args.cold):
        directory = logdir / f"graph_{cold}"
        started = time.perf_counter()
        tensorboard = tensorboard_client(directory)
        loads["TensorBoard"].append(time.perf_counter() - started)
        with contextlib.ExitStack() as stack:
            started = time.perf_counter()
            client = stack.enter_context(lumiboard_client(directory))
            loads["lumiboard"].append(time.perf_counter() - started)
            pairs = [(tb, tensorboard), (ours, client)]
            if cold % 2:
                pairs.reverse()  # each answers first in turn: no order bias
            bodies = {series.contender: series.take(app, graph) for series, app in pairs}
            same = same and bodies["lumiboard"] == bodies["TensorBoard"]
            nodes = len(json.loads(ours_json.take(client, graph_json))["nodes"])
            if cold == args.cold - 1:
                for _ in range(args.repeat):  # interleaved, so that both see the same noise
                    for series, app in pairs:
                        series.repeats.append(fetch(app, graph)[0])
                    ours_json.repeats.append(fetch(client, graph_json)[0])
        del tensorboard
    ours.note = "same pbtxt as TensorBoard's" if same else "pbtxt DIFFERS from TensorBoard's"
    ours_json.note = f"{nodes:,} nodes; {ours_json.note}"
    print(
        "  apps loaded in (median): "
        + ", ".join(f"{name} {statistics.median(times):.2f} s" for name, times in loads.items())
    )
    targets = [
        ratio_target("graphs /graph first answer", ours.first, tb.first, GRAPH_RATIO, "TB's"),
        Target(
            same and nodes == args.graph_nodes,
            f"graphs: lumiboard's pbtxt {'equals' if same else 'differs from'} TensorBoard's; "
            f"/graph_json holds {nodes:,} of {args.graph_nodes:,} nodes",
        ),
    ]
    return [tb, ours, ours_json], targets


# ---- 2. projector -----------------------------------------------------------------------------


def write_embedding(logdir: Path, rows: int, dims: int) -> None:
    from lumiboard import SummaryWriter

    matrix = np.random.default_rng(0).standard_normal((rows, dims)).astype(np.float32)
    labels = [f"class_{i % 10}" for i in range(rows)]
    with SummaryWriter(str(logdir / "emb")) as writer:
        writer.add_embedding(matrix, metadata=labels, tag="emb")


def bench_projector(root: Path, args: argparse.Namespace) -> tuple[list[Series], list[Target]]:
    from lumiboard.plugins.projector import data as projector_data

    logdir = root / "projector"
    started = time.perf_counter()
    write_embedding(logdir, args.emb_rows, args.emb_dims)
    tsv = sum(p.stat().st_size for p in logdir.rglob("tensors.tsv"))
    print(
        f"projector: {args.emb_rows:,} x {args.emb_dims} float32, TSV {tsv / MB:.1f} MB, "
        f"written in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    runs = "/data/plugin/projector/runs"
    params = {"run": "emb", "name": "emb:00000"}
    tensor = url("/data/plugin/projector/tensor", **params)
    metadata = url("/data/plugin/projector/metadata", **params)
    want = args.emb_rows * args.emb_dims * 4
    table: list[Series] = []
    served: dict[str, tuple[int, int]] = {}
    #: Per contender and cold start: the first /runs plus the first /tensor.
    to_tensor: dict[str, list[float]] = {"TensorBoard": [], "lumiboard": []}

    def measure(name: str, client: Any, cold: int) -> None:
        if cold == 0:
            table.extend(
                [
                    Series(name, "/runs", "parses every tensor" if name == "TensorBoard" else ""),
                    Series(name, "/tensor"),
                    Series(name, "/metadata"),
                ]
            )
        listing, matrix, labels = (row for row in table if row.contender == name)
        repeat = args.repeat if cold == args.cold - 1 else 0
        listed = json.loads(listing.take(client, runs, repeat))
        deadline = time.monotonic() + 30
        while "emb" not in listed:  # not ready yet: asked again, as a dashboard would
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}'s projector never listed the run 'emb'")
            time.sleep(0.05)
            listed = json.loads(fetch(client, runs)[1])
        body = matrix.take(client, tensor, repeat)
        to_tensor[name].append(listing.firsts[-1] + matrix.firsts[-1])
        points = len(body) // (4 * args.emb_dims) if len(body) == want else -1
        matrix.note = f"{points:,} rows"
        count = labels.take(client, metadata, repeat).decode().count("\n")
        labels.note = f"{count:,} labels"
        served[name] = (points, count)

    for cold in range(args.cold):
        measure("TensorBoard", tensorboard_client(logdir), cold)  # a new plugin: empty caches
        projector_data.clear_cache()  # lumiboard's parsed tensors are kept per process
        with lumiboard_client(logdir) as client:
            measure("lumiboard", client, cold)
    everything = all(found == (args.emb_rows, args.emb_rows) for found in served.values())
    ours, theirs = (statistics.median(to_tensor[name]) for name in ("lumiboard", "TensorBoard"))
    targets = [
        ratio_target(
            "projector first /runs + /tensor", ours, theirs, TENSOR_RATIO, "TensorBoard's"
        ),
        Target(
            everything,
            "projector: every row served (tensor rows, labels): "
            + ", ".join(f"{name} {found[0]:,}, {found[1]:,}" for name, found in served.items())
            + f" of {args.emb_rows:,}",
        ),
    ]
    return table, targets


# ---- 3. profile -------------------------------------------------------------------------------

SPAN = "1700000000000"


def write_profiles(root: Path, events: int, steps: int, copies: int) -> tuple[Path, int, int]:
    """One synthetic trace of about ``events`` events in ``steps`` steps, as ``copies`` runs
    ``job_<i>`` (the same bytes): the first one's path, its event count and its JSON size."""
    import orjson

    from lumiboard.plugins.profile.demo import synthetic_trace, write_trace

    # Per operator: a host op, a launch, a kernel and 1.5 memory events.
    ops_per_step = max(1, round(events / steps / 4.5))
    document = synthetic_trace(rank=0, steps=steps, ops_per_step=ops_per_step, seed=0)
    path = write_trace(root / "job_0", "worker0", int(SPAN), document)
    for copy in range(1, copies):
        (root / f"job_{copy}").mkdir(parents=True)
        shutil.copyfile(path, root / f"job_{copy}" / path.name)
    return path, len(document["traceEvents"]), len(orjson.dumps(document))


def json_load(path: Path) -> Any:
    """The baseline: the standard library's ``json.load`` of the file, gunzipped on the fly."""
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def profile_urls(run: str) -> dict[str, str]:
    where = {"run": run, "worker": "worker0", "span": SPAN}
    return {
        route: url(f"/data/plugin/profile{route}", **where)
        for route in ("/overview", "/operators", "/trace")
    }


def _status_bytes(field_name: str) -> int:
    """A ``kB`` line of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), in bytes."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field_name} in /proc/self/status")


def rss_child(kind: str, path: str) -> None:
    """In a fresh process: one first ``/overview`` (or one ``json.load``); print the peak RSS
    growth in bytes: the peak (``VmHWM``, reset just before) less the RSS just before.

    Not ``ru_maxrss``: Linux keeps it across ``execve``, so the child would start with the
    parent's peak."""
    import lumiboard.plugins.profile.routes  # noqa: F401  (imported before the baseline)

    trace = Path(path)
    with lumiboard_client(trace.parents[1]) as client:  # in both, for the same baseline
        fetch(client, "/data/plugin/profile/runs")
        gc.collect()
        with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        before = _status_bytes("VmRSS")
        if kind == "lumiboard":
            fetch(client, profile_urls(trace.parent.name)["/overview"])
        else:
            json_load(trace)
        peak = _status_bytes("VmHWM")
    print(max(0, peak - before))


def peak_growth(kind: str, path: Path) -> int | None:
    command = [sys.executable, os.path.abspath(__file__), "--rss-child", kind, str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    if done.returncode != 0:
        print(f"  RSS child ({kind}) failed: {done.stderr.strip()[-500:]}")
        return None
    return int(done.stdout.strip().splitlines()[-1])


def bench_profile(root: Path, args: argparse.Namespace) -> tuple[list[Series], list[Target]]:
    import orjson

    logdir = root / "profile"
    started = time.perf_counter()
    path, count, size = write_profiles(logdir, args.trace_events, args.trace_steps, args.cold)
    print(
        f"profile: {count:,} events, {path.stat().st_size / MB:.1f} MB gzipped "
        f"({size / MB:.1f} MB of JSON), written in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    growth = {name: peak_growth(name, path) for name in ("lumiboard", "json")}
    baseline = Series("json.load (baseline)", "gunzip + json.load", "the target's baseline")
    fast = Series("orjson.loads (info)", "gunzip + orjson.loads", "lumiboard's JSON parser")
    json_load(path)  # warm-up (page cache, imports)
    for _ in range(args.cold):
        started = time.perf_counter()
        json_load(path)
        baseline.firsts.append(time.perf_counter() - started)
        started = time.perf_counter()
        orjson.loads(gzip.decompress(path.read_bytes()))
        fast.firsts.append(time.perf_counter() - started)
    baseline.size = fast.size = path.stat().st_size
    notes = {
        "/overview": "first parses the file",
        "/operators": "first computes the table",
        "/trace": "default window",
    }
    routes = {route: Series("lumiboard", route, note) for route, note in notes.items()}
    with lumiboard_client(logdir) as client:
        listed = json.loads(fetch(client, "/data/plugin/profile/runs")[1])["runs"]
        if "worker0" not in listed.get("job_0", {}):
            raise RuntimeError(f"lumiboard lists no trace of worker0 in job_0: {listed}")
        for cold in range(args.cold):  # another copy each time: a file not parsed yet
            gc.collect()
            repeat = args.repeat if cold == args.cold - 1 else 0
            for route, path_query in profile_urls(f"job_{cold}").items():
                body = routes[route].take(client, path_query, repeat)
                if route == "/overview":
                    kept = int(json.loads(body)["events"])
    routes["/overview"].note += f" ({kept:,} complete events)"
    for name, grown in growth.items():
        shown = "-" if grown is None else f"{grown / MB:,.0f} MB"
        print(f"  peak RSS growth, {name}: {shown}")
    targets = [
        ratio_target(
            "profile first /overview",
            routes["/overview"].first,
            baseline.first,
            OVERVIEW_RATIO,
            "json.load",
        )
    ]
    return [baseline, fast, *routes.values()], targets


# ---- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--graph-nodes", type=int, default=20_000)
    parser.add_argument("--emb-rows", type=int, default=50_000)
    parser.add_argument("--emb-dims", type=int, default=64)
    parser.add_argument("--trace-events", type=int, default=200_000)
    parser.add_argument("--trace-steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats per route")
    parser.add_argument("--cold", type=int, default=3, help="cold starts; 'first' is their median")
    parser.add_argument("--only", choices=STAGES, action="append", help="one stage (repeatable)")
    parser.add_argument("--workdir", type=Path, default=None, help="kept; default: a temp dir")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    parser.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(*args.rss_child)
        return 0
    args.cold, args.repeat = max(1, args.cold), max(1, args.repeat)

    # TensorBoard's loaders and plugins log and warn (no TensorFlow, deprecations).
    logging.getLogger("tensorboard").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    print(
        f"{os.cpu_count()} CPUs; in-process apps; 'first': median of {args.cold} cold starts "
        f"(fresh apps, unseen files); 'repeat': median of {args.repeat} more requests",
        flush=True,
    )
    benches = {"graphs": bench_graphs, "projector": bench_projector, "profile": bench_profile}
    tables: list[tuple[str, list[Series]]] = []
    targets: list[Target] = []
    with contextlib.ExitStack() as stack:
        if args.workdir is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lumi-plugins-")))
        else:
            root = args.workdir
            root.mkdir(parents=True, exist_ok=True)
        for stage in args.only or STAGES:
            found = [p for p in root.glob(f"{stage}*") if p.is_dir() and any(p.iterdir())]
            if found:
                raise SystemExit(f"{found[0]} is not empty: pick another --workdir")
            rows, checks = benches[stage](root, args)
            tables.append((stage, rows))
            targets += checks
    for stage, rows in tables:
        print_table(stage, rows)
    print()
    for target in targets:
        print(f"{'PASS' if target.ok else 'FAIL'} {target.text}")
    failed = not all(target.ok for target in targets)
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
