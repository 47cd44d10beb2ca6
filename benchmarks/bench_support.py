"""What several benchmark scripts share: loading a sibling script, timing POSTs, printing tables.

The scripts of this folder are run as scripts (``python benchmarks/x.py``), so this folder is
``sys.path[0]`` and ``import bench_support`` finds this file. Several of them are named like
standard modules (``http.py`` would shadow the ``http`` that ``urllib.request`` imports), so a
script that drops this folder from ``sys.path`` imports this module before it does, and loads
the other scripts by path (:func:`sibling`). Nothing here imports ``http`` at module level.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent

ENCODINGS = ("identity", "gzip", "br", "zstd")
LINK_BITS_PER_S = 100e6
MB = 1e6


def sibling(name: str) -> ModuleType:
    """The script ``name``.py of this folder, imported by path (once; the folder may be off
    ``sys.path``). Registered in ``sys.modules`` because dataclasses look their module up."""
    module_name = f"_bench_{name}"
    loaded = sys.modules.get(module_name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(module_name, HERE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def last_step(base: str, run: str, tag: str) -> int | None:
    """The step of the last point a server gives for (run, tag) at ``base`` (its scalars
    plugin's URL), or None before its first point. The whole CSV answer (``format=csv``,
    TensorBoard's too) is read and only its last line parsed: parsing the JSON answer cost the
    poller more than the server, on the same cores (~4 ms a 10,000-point series)."""
    import urllib.parse
    import urllib.request  # here, not at module level: it imports ``http``

    query = urllib.parse.urlencode({"run": run, "tag": tag, "format": "csv"})
    with urllib.request.urlopen(f"{base}/scalars?{query}", timeout=60) as response:
        text = response.read().decode()
    last = text.rstrip().rsplit("\n", 1)[-1].split(",")
    try:
        return int(last[1])
    except (IndexError, ValueError):  # only the header: no point yet
        return None


def add_card_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the 50-run chart card's log directory (``--runs``, ``--steps``,
    ``--workdir``, shared with ``http.py``) and the servers' ``--timeout``."""
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "lumiboard-bench-http"
    )


def card_logdir(args: argparse.Namespace) -> tuple[ModuleType, Path, list[str], str]:
    """``http.py``; the chart card's log directory under ``args.workdir`` (``args.runs`` runs
    x 1 tag x ``args.steps`` steps, written by ``http.py`` once, then reused); its runs; its tag."""
    bench = sibling("http")
    args.workdir.mkdir(parents=True, exist_ok=True)
    logdir = bench.generate(args.workdir, args.runs, 1, args.steps)
    return bench, logdir, [f"run_{r:03d}" for r in range(args.runs)], "metric_00"


def card_contenders(
    argv: list[str] | None, description: str, requests: int = 5
) -> tuple[argparse.Namespace, ModuleType, list[Any], list[str], str]:
    """The command line of a card benchmark (the card's flags, ``--requests``,
    ``--skip-tensorboard``) parsed; ``http.py``; lumiboard and TensorBoard's Rust server set to
    keep every point of the card's log directory (its files read once into the page cache, for
    both alike); the card's runs and tag."""
    parser = argparse.ArgumentParser(description=description)
    add_card_arguments(parser)
    parser.add_argument("--requests", type=int, default=requests, help="timed requests per row")
    parser.add_argument("--skip-tensorboard", action="store_true")
    args = parser.parse_args(argv)
    bench, logdir, runs, tag = card_logdir(args)
    for path in logdir.rglob("*tfevents*"):
        path.read_bytes()
    chosen = bench.contenders(logdir, with_python=False)
    # A reservoir as big as a series keeps every point (0 would keep none in the Rust server).
    chosen[1].command += ["--samples_per_plugin", f"scalars={args.steps}"]
    if args.skip_tensorboard:
        chosen = chosen[:1]
    return args, bench, chosen, runs, tag


def decoders() -> dict[str, Callable[[bytes], bytes]]:
    """A decoder per ``Content-Encoding`` this Python can decode (br, zstd when installed)."""
    found: dict[str, Callable[[bytes], bytes]] = {"identity": bytes, "gzip": gzip.decompress}
    try:
        import brotli  # type: ignore[import-untyped]

        found["br"] = brotli.decompress
    except ImportError:
        pass
    try:
        import zstandard

        found["zstd"] = lambda data: zstandard.ZstdDecompressor().decompress(data)
    except ImportError:
        pass
    return found


def post(
    client: Any, path: str, body: bytes, headers: dict[str, str], what: str = ""
) -> tuple[bytes, str, float]:
    """One POST over ``client.connection`` (keep-alive): the body as sent, the encoding it
    was answered in, and the seconds to its last byte. Raises on any status but 200."""
    start = time.perf_counter()
    client.connection.request("POST", path, body, headers)
    response = client.connection.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"{what}{response.status} {data[:200]!r}")
    return data, response.getheader("content-encoding") or "identity", elapsed


def wire_row(
    first: str,
    asked: str,
    answered: str,
    size: int,
    times: list[float],
    decode_times: list[float],
) -> list[str]:
    """A row of the wire tables: MB on the wire, median ms on loopback, median decode ms, and
    the estimate over a 100 Mbit/s link (loopback time + bytes x 8 / 100e6)."""
    loopback = statistics.median(times)
    return [
        first,
        asked,
        answered,
        f"{size / MB:.2f}",
        f"{loopback * 1e3:.0f}",
        f"{statistics.median(decode_times) * 1e3:.0f}",
        f"{(loopback + size * 8 / LINK_BITS_PER_S) * 1e3:.0f}",
    ]


def print_table(header: list[str], rows: list[list[str]], left: int = 3) -> None:
    """The rows under their header, the first ``left`` columns to the left, the rest right."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print()
    for index, row in enumerate(table):
        print(
            "  ".join(
                c.ljust(w) if i < left else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if index == 0:
            print("  ".join("-" * w for w in widths))
