"""The web app's chart series, JSON beside the binary answer: bytes on the wire and time.

Generates (once, under ``--workdir``; shared with ``benchmarks/http.py`` and ``wire.py``) a
log directory of ``--runs`` runs x 1 scalar tag x ``--steps`` steps (default 50 x 10,000),
starts lumiboard (``--no-cache``), and posts the ``/series`` request of one chart card (every
run, ``--buckets`` buckets, as the app does) ``--requests`` times per form and encoding over
one keep-alive connection, after one untimed warm-up. The forms: JSON (the default, base64
float64 columns) and binary (``Accept: application/vnd.lumiboard.series``). Printed per form
and encoding (identity, gzip, br, zstd): the encoding answered, bytes on the wire, the median
time to the last byte on loopback (the server's time: reduction, encoding, compression), the
median time for Python to decode it to numpy columns, and an estimate over a 100 Mbit/s link.
The binary answer is checked to decode to the JSON answer's numbers bit for bit.

With ``--browser`` (Chromium, ``/usr/bin/chromium``, via Playwright) the page itself fetches
both forms (the browser's own ``Accept-Encoding``: gzip over plain HTTP) and times, median of
``--requests``: fetch to decoded typed arrays, and the decoding alone (``JSON.parse`` plus
base64, as ``decodeSeries``; the header and typed-array views, as ``decodeSeriesBinary``).

The table (no TensorBoard column: TensorBoard has no such route; its ``scalars_multirun``
answer for the same card is in ``wire.py``)::

    .venv/bin/python benchmarks/series_binary.py                   # 50 runs x 10,000 steps
    .venv/bin/python benchmarks/series_binary.py --browser
    .venv/bin/python benchmarks/series_binary.py --runs 10 --steps 2000 --requests 3
"""

from __future__ import annotations

import argparse
import base64
import os
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

import bench_support
import numpy as np
import orjson
from bench_support import ENCODINGS, MB, decoders, post, print_table, wire_row

from lumiboard.plugins.scalars.series_binary import MEDIA_TYPE

FORMS = {"json": "application/json", "binary": MEDIA_TYPE}
COLUMNS = ("step", "wall_time", "value")
Columns = dict[str, dict[str, Any]]


def decode_json(body: bytes) -> Columns:
    answer = orjson.loads(body)
    return {
        run: {
            "total": c["total"],
            **{k: np.frombuffer(base64.b64decode(c[k]), dtype="<f8") for k in COLUMNS},
        }
        for run, c in answer["runs"].items()
    }


def decode_binary(body: bytes) -> Columns:
    (length,) = struct.unpack_from("<I", body, 4)
    meta = orjson.loads(body[8 : 8 + length])
    offset = 8 + length
    offset += -offset % 8
    runs: Columns = {}
    for run in meta["runs"]:
        columns: dict[str, Any] = {"total": run["total"]}
        for name in COLUMNS:
            dtype = np.dtype("<" + run[name])
            columns[name] = np.frombuffer(body, dtype, run["count"], offset).astype(np.float64)
            offset += run["count"] * dtype.itemsize
            offset += -offset % 8
        runs[run["run"]] = columns
    return runs


DECODE: dict[str, Callable[[bytes], Columns]] = {"json": decode_json, "binary": decode_binary}


def same_numbers(a: Columns, b: Columns) -> bool:
    return list(a) == list(b) and all(
        a[run]["total"] == b[run]["total"]
        and all(a[run][k].tobytes() == b[run][k].tobytes() for k in COLUMNS)
        for run in a
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    bench_support.add_card_arguments(parser)
    parser.add_argument("--buckets", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=5, help="timed requests per row")
    parser.add_argument("--browser", action="store_true", help="also time the page's decoding")
    args = parser.parse_args(argv)
    bench, logdir, runs, tag = bench_support.card_logdir(args)
    request = orjson.dumps({"tag": tag, "runs": runs, "buckets": args.buckets, "x": "step"})
    lumiboard = bench.contenders(logdir, with_python=False)[0]
    log = args.workdir / "series-binary-lumiboard.log"
    print(
        f"{args.runs} runs x {args.steps:,} steps, one tag: POST /series, {args.buckets} "
        f"buckets; {args.requests} timed requests per row; {os.cpu_count()} CPUs",
        flush=True,
    )
    with bench.ready_client(lumiboard, log, runs, [tag], args.steps, args.timeout) as (client, _):
        rows = _measure(client, request, args.requests)
        browser_rows = _browser(lumiboard.port, request, args.requests) if args.browser else []
    print_table(
        ["form", "asked", "answered", "MB on wire", "ms (loopback)", "decode ms", "ms @100Mbit/s"],
        rows,
    )
    if browser_rows:
        print_table(
            ["form (Chromium)", "answered", "MB on wire", "fetch+decode ms", "decode ms"],
            browser_rows,
        )
    return 0


def _measure(client: Any, request: bytes, requests: int) -> list[list[str]]:
    decoding = decoders()
    rows: list[list[str]] = []
    reference: Columns | None = None
    for form, accept in FORMS.items():
        for asked in ENCODINGS:
            headers = {
                "content-type": "application/json",
                "accept": accept,
                "accept-encoding": asked,
            }
            answered, size, times, decode_times = "", 0, [], []
            for attempt in range(requests + 1):
                body, answered, elapsed = post(
                    client, "/data/plugin/scalars/series", request, headers
                )
                size = len(body)
                decode = decoding.get(answered)
                if decode is None:
                    break
                started = time.perf_counter()
                columns = DECODE[form](decode(body))
                decode_time = time.perf_counter() - started
                if attempt == 0:  # untimed warm-up; the JSON answer is the reference
                    if reference is None:
                        reference = columns
                    elif not same_numbers(reference, columns):
                        raise AssertionError(f"{form} {answered}: not the JSON answer's numbers")
                    continue
                times.append(elapsed)
                decode_times.append(decode_time)
            if not times:
                rows.append([form, asked, f"{answered} (no decoder here)", "", "", "", ""])
                continue
            rows.append(wire_row(form, asked, answered, size, times, decode_times))
    return rows


#: Run in the page: fetch each form, time fetch-to-columns and the decoding alone. The
#: decoders do what the app's do (core/api.ts decodeSeries, core/seriesBinary.ts).
_PAGE_SCRIPT = """
async ([body, mediaType, requests]) => {
  const fromB64 = Uint8Array.fromBase64;
  const f64 = (text) => {
    let bytes;
    if (fromB64) bytes = fromB64(text);
    else {
      const s = atob(text);
      bytes = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    }
    return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
  };
  const decodeJson = (text) => {
    const raw = JSON.parse(text);
    const runs = {};
    for (const [run, c] of Object.entries(raw.runs))
      runs[run] = {
        total: c.total, step: f64(c.step), wall_time: f64(c.wall_time), value: f64(c.value),
      };
    return runs;
  };
  const size = { i4: 4, i8: 8, f4: 4, f8: 8 };
  const widen = (buffer, offset, count, dtype) => {
    if (dtype === 'f8') return new Float64Array(buffer, offset, count);
    if (dtype === 'f4') return Float64Array.from(new Float32Array(buffer, offset, count));
    if (dtype === 'i4') return Float64Array.from(new Int32Array(buffer, offset, count));
    return Float64Array.from(new BigInt64Array(buffer, offset, count), Number);
  };
  const decodeBinary = (buffer) => {
    const length = new DataView(buffer).getUint32(4, true);
    const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, length)));
    let offset = 8 + length;
    offset += (8 - (offset % 8)) % 8;
    const runs = {};
    for (const r of meta.runs) {
      const cols = { total: r.total };
      for (const name of ['step', 'wall_time', 'value']) {
        cols[name] = widen(buffer, offset, r.count, r[name]);
        offset += r.count * size[r[name]];
        offset += (8 - (offset % 8)) % 8;
      }
      runs[r.run] = cols;
    }
    return runs;
  };
  const out = {};
  for (const [form, accept] of [['json', 'application/json'], ['binary', mediaType]]) {
    const total = [], decode = [];
    let points = 0, encoding = '';
    for (let i = 0; i <= requests; i++) {
      const t0 = performance.now();
      const response = await fetch('data/plugin/scalars/series', {
        method: 'POST', headers: { 'Content-Type': 'application/json', Accept: accept }, body,
      });
      const payload = form === 'json' ? await response.text() : await response.arrayBuffer();
      const t1 = performance.now();
      encoding = response.headers.get('content-encoding') || 'identity';
      const runs = form === 'json' ? decodeJson(payload) : decodeBinary(payload);
      const t2 = performance.now();
      points = Object.values(runs).reduce((n, c) => n + c.value.length, 0);
      if (i === 0) continue;
      total.push(t2 - t0);
      decode.push(t2 - t1);
    }
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const entry = performance.getEntriesByType('resource')
      .filter((e) => e.name.endsWith('/series')).pop();
    out[form] = {
      total: median(total), decode: median(decode), points, encoding,
      wire: entry ? entry.encodedBodySize : 0,
    };
    performance.clearResourceTimings();
  }
  return out;
}
"""


def _browser(port: int, request: bytes, requests: int) -> list[list[str]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu"],
            headless=True,
        )
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        got: dict[str, Any] = page.evaluate(_PAGE_SCRIPT, [request.decode(), MEDIA_TYPE, requests])
        browser.close()
    points = {form: result["points"] for form, result in got.items()}
    if len(set(points.values())) != 1:
        raise AssertionError(f"the forms decoded to different point counts: {points}")
    return [
        [
            form,
            result["encoding"],
            f"{result['wire'] / MB:.2f}",
            f"{result['total']:.0f}",
            f"{result['decode']:.1f}",
        ]
        for form, result in got.items()
    ]


if __name__ == "__main__":
    sys.exit(main())
