"""What one auto-reload of an unchanged 50-run chart card costs: lumiboard beside TensorBoard.

A dashboard asks for its data again on every reload (TensorBoard's every 30 s, lumiboard's every
``--reload_interval``, at least 2 s), whether anything changed or not. This script builds (once,
under ``--workdir``; shared with ``http.py`` and ``wire.py``) a log directory of ``--runs`` runs
x 1 tag x ``--steps`` steps, starts lumiboard (``--no-cache``) and TensorBoard's Rust data server
(keep-all), and times, over one keep-alive connection with ``Accept-Encoding: gzip``:

- TensorBoard: the card's ``scalars_multirun`` POST (its whole answer each time);
- lumiboard, the web app's chart request (``POST .../series``, binary, 1,000 buckets): the
  first ask, then a reload that sends the stamps it got (``known``): every run ``unchanged``;
- lumiboard: a ``GET`` of the tags listing, then the same with ``If-None-Match`` (a 304).

It prints, per request: the bytes on the wire, the median time to the last byte on loopback,
and an estimate over a 100 Mbit/s link. Each reload answer is checked to name every run
unchanged (or to be a 304).

Usage::

    .venv/bin/python benchmarks/reload.py                      # 50 runs x 10,000 steps
    .venv/bin/python benchmarks/reload.py --runs 10 --steps 2000 --requests 3
"""

from __future__ import annotations

import gzip
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import bench_support
from bench_support import LINK_BITS_PER_S, print_table

SERIES = "/data/plugin/scalars/series"
SERIES_MEDIA_TYPE = "application/vnd.lumiboard.series"


def main(argv: list[str] | None = None) -> int:
    args, bench, chosen, runs, tag = bench_support.card_contenders(argv, __doc__.split("\n", 1)[0])
    print(
        f"{args.runs} runs x {args.steps:,} steps, one tag, gzip; "
        f"{args.requests} timed requests per row; {os.cpu_count()} CPUs",
        flush=True,
    )
    rows: list[list[str]] = []
    for contender in chosen:
        log = args.workdir / f"reload-{contender.name.split()[0].lower()}.log"
        serving = bench.ready_client(contender, log, runs, [tag], args.steps, args.timeout)
        try:
            with serving as (client, _):
                if contender.lumiboard:
                    rows += _lumiboard(client, contender.name, runs, tag, args.requests)
                else:
                    rows.append(_tensorboard(client, contender.name, runs, tag, args.requests))
        except bench.NotReadyError as error:
            rows.append([contender.name, str(error), "", "", "", ""])
    header = ["contender", "request", "status", "kB on wire", "ms (loopback)", "ms @100Mbit/s"]
    print_table(header, rows, left=3)
    return 0


Call = Callable[[], tuple[int, bytes]]


def _tensorboard(client: Any, name: str, runs: list[str], tag: str, requests: int) -> list[str]:
    form = urlencode([("tag", tag), *[("runs", run) for run in runs]]).encode()
    headers = {"content-type": "application/x-www-form-urlencoded", "accept-encoding": "gzip"}
    path = "/data/plugin/scalars/scalars_multirun"
    return _timed(name, "card (scalars_multirun)", requests, _post(client, path, form, headers))


def _lumiboard(client: Any, name: str, runs: list[str], tag: str, requests: int) -> list[list[str]]:
    headers = {
        "content-type": "application/json",
        "accept": SERIES_MEDIA_TYPE,
        "accept-encoding": "gzip",
    }
    ask = {"tag": tag, "runs": runs, "buckets": 1000, "x": "step"}
    first = _post(client, SERIES, json.dumps(ask).encode(), headers)
    meta = _binary_meta(first()[1])
    stamps = {entry["run"]: entry["stamp"] for entry in meta["runs"]}
    assert set(stamps) == set(runs), "every run answered with a stamp"
    again = _post(client, SERIES, json.dumps({**ask, "known": stamps}).encode(), headers)

    def reload() -> tuple[int, bytes]:
        status, body = again()
        meta = _binary_meta(body)
        assert meta["runs"] == [], "no run sent again"
        assert meta.get("unchanged") == runs, "every run named unchanged"
        return status, body

    tags = "/data/plugin/scalars/tags"
    listing = _get(client, tags, {"accept-encoding": "gzip"})
    etag = listing()[2]
    asked = _get(client, tags, {"accept-encoding": "gzip", "if-none-match": etag})

    def revalidate() -> tuple[int, bytes]:
        status, body, _ = asked()
        assert status == 304, f"expected a 304, got {status}"
        return status, body

    return [
        _timed(name, "card, first ask (series)", requests, first),
        _timed(name, "card, reload (series + known)", requests, reload),
        _timed(name, "tags listing", requests, lambda: listing()[:2]),
        _timed(name, "tags listing, If-None-Match", requests, revalidate),
    ]


def _binary_meta(body: bytes) -> dict[str, Any]:
    plain = body if body.startswith(b"LBS1") else gzip.decompress(body)  # small: not compressed
    length = int.from_bytes(plain[4:8], "little")
    meta: dict[str, Any] = json.loads(plain[8 : 8 + length])
    return meta


def _post(client: Any, path: str, body: bytes, headers: dict[str, str]) -> Call:
    def call() -> tuple[int, bytes]:
        client.connection.request("POST", path, body, headers)
        response = client.connection.getresponse()
        data: bytes = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {data[:200]!r}")
        return response.status, data

    return call


def _get(client: Any, path: str, headers: dict[str, str]) -> Callable[[], tuple[int, bytes, str]]:
    def call() -> tuple[int, bytes, str]:
        client.connection.request("GET", path, headers=headers)
        response = client.connection.getresponse()
        data: bytes = response.read()
        if response.status not in (200, 304):
            raise RuntimeError(f"{path}: {response.status} {data[:200]!r}")
        return response.status, data, response.getheader("etag") or ""

    return call


def _timed(name: str, what: str, requests: int, call: Call) -> list[str]:
    call()  # warm-up, untimed
    times, size, status = [], 0, 0
    for _ in range(requests):
        started = time.perf_counter()
        status, body = call()
        times.append(time.perf_counter() - started)
        size = len(body)
    loopback = statistics.median(times)
    return [
        name,
        what,
        str(status),
        f"{size / 1000:,.1f}",
        f"{loopback * 1e3:.1f}",
        f"{(loopback + size * 8 / LINK_BITS_PER_S) * 1e3:.1f}",
    ]


if __name__ == "__main__":
    sys.exit(main())
