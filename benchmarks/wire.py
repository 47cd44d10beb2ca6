"""Bytes on the wire and time for a 50-run chart card: lumiboard beside TensorBoard, per encoding.

Generates (once, under ``--workdir``; shared with ``benchmarks/http.py``) a log directory of
``--runs`` runs x 1 scalar tag x ``--steps`` steps (default 50 x 10,000 = 500,000 points), then
starts, one after the other, lumiboard (``--no-cache``) and TensorBoard's Rust data server
(``--load_fast=true --samples_per_plugin scalars=STEPS``, so both answer every point), each on a
free port with ``--reload_interval 0``. For each ``Accept-Encoding`` (identity, gzip, br,
zstd) it posts TensorBoard's ``scalars_multirun`` form for every run ``--requests`` times over
one keep-alive connection (after one untimed warm-up) and prints, per contender and encoding:
the encoding answered, the bytes on the wire (the body as sent), the median time to the last
byte on loopback, the median time to decode it on the client, and an estimate over a
100 Mbit/s link (loopback time + bytes x 8 / 100e6). Each compressed answer is checked to
decode to the identity answer byte for byte.

Usage::

    .venv/bin/python benchmarks/wire.py                       # 50 runs x 10,000 steps
    .venv/bin/python benchmarks/wire.py --runs 10 --steps 2000 --requests 3
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import bench_support
from bench_support import ENCODINGS, decoders, post, print_table, wire_row


def main(argv: list[str] | None = None) -> int:
    args, bench, chosen, runs, tag = bench_support.card_contenders(argv, __doc__.split("\n", 1)[0])
    decoding = decoders()
    form = urlencode([("tag", tag), *[("runs", run) for run in runs]]).encode()
    print(
        f"{args.runs} runs x {args.steps:,} steps, one tag: POST scalars_multirun; "
        f"{args.requests} timed requests per encoding; {os.cpu_count()} CPUs",
        flush=True,
    )
    rows: list[list[str]] = []
    for contender in chosen:
        log = args.workdir / f"wire-{re.sub(r'[^a-z0-9]+', '_', contender.name.lower())}.log"
        serving = bench.ready_client(contender, log, runs, [tag], args.steps, args.timeout)
        try:
            with serving as (client, _):
                rows += _measure(client, contender.name, args.requests, form, decoding)
        except bench.NotReadyError as error:
            rows.append([contender.name, "-", str(error), "", "", "", ""])
    print_table(
        [
            "contender",
            "asked",
            "answered",
            "MB on wire",
            "ms (loopback)",
            "decode ms",
            "ms @100Mbit/s",
        ],
        rows,
    )
    return 0


def _measure(
    client: Any,
    name: str,
    requests: int,
    form: bytes,
    decoding: dict[str, Callable[[bytes], bytes]],
) -> list[list[str]]:
    """A row per encoding asked: ``form`` posted to ``scalars_multirun`` over ``client``."""
    rows = []
    identity: bytes | None = None
    for asked in ENCODINGS:
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "accept-encoding": asked,
        }
        answered, size, times, decode_times = "", 0, [], []
        for attempt in range(requests + 1):
            body, answered, elapsed = post(
                client, "/data/plugin/scalars/scalars_multirun", form, headers, what=f"{name}: "
            )
            size = len(body)
            decode = decoding.get(answered)
            started = time.perf_counter()
            plain = decode(body) if decode is not None else None
            decode_time = time.perf_counter() - started
            if attempt == 0:  # warm-up, untimed; the identity answer is the reference
                if asked == "identity":
                    identity = plain
                elif plain is not None and identity is not None and plain != identity:
                    raise AssertionError(f"{name}: {answered} decodes differently")
                continue
            times.append(elapsed)
            decode_times.append(decode_time)
        rows.append(wire_row(name, asked, answered, size, times, decode_times))
    return rows


if __name__ == "__main__":
    sys.exit(main())
