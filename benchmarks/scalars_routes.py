"""Route time of the scalars answers, in process (no sockets, no other server).

Builds a store in memory (``--runs`` runs x 5 tags x 100 steps, and one run whose tags hold
``--points`` points each) and times, median of ``--repeat`` calls each, what the routes do
once the data is read:

- ``/tags`` (every run's scalar tags): a build (after a change of the store) and an answer
  while nothing changed (the one kept);
- ``/scalars`` of one long series, as JSON (TensorBoard's triples) and CSV;
- ``scalars_multirun`` for one tag and every run;
- the same, through Starlette's ``TestClient`` (``Accept-Encoding: identity``), to show what a
  request adds.

Usage::

    .venv/bin/python benchmarks/scalars_routes.py                # 2,000 runs, 10,000 points
    .venv/bin/python benchmarks/scalars_routes.py --runs 200 --points 100000
"""

from __future__ import annotations

# benchmarks/http.py, beside this script, would shadow the standard library's ``http``
# (Starlette's test client imports it): drop the script's folder from the path first.
import os
import sys

if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np
from starlette.testclient import TestClient

from lumiboard.plugins.base import DataClass
from lumiboard.plugins.scalars import routes
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app
from lumiboard.server.responses import tensorboard_csv, tensorboard_triples
from lumiboard.store.runs import RunData, TagInfo

TAGS = 5
STEPS = 100
LONG_RUN = "long"


def _store(runs: int, points: int) -> Reloader:
    reloader = Reloader(tempfile.mkdtemp(prefix="lumiboard-routes-"))
    rng = np.random.default_rng(0)
    for index in range(runs + 1):
        name = LONG_RUN if index == runs else f"run_{index:05d}/train"
        run = RunData(name)
        run.start_time = 1.7e9 + index
        count = points if name == LONG_RUN else STEPS
        for number in range(TAGS):
            tag = f"loss/tag_{number}"
            run.tags[tag] = TagInfo("scalars", DataClass.SCALAR, display_name=tag)
            run.scalar_series(tag).append(
                np.arange(count),
                1.7e9 + np.arange(count) * 0.123456,
                rng.standard_normal(count).astype(np.float32),
            )
        reloader.runs[name] = run
    return reloader


def _median_ms(call: Callable[[], object], repeat: int) -> float:
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2_000)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    reloader = _store(args.runs, args.points)
    client = TestClient(create_app(reloader), headers={"Accept-Encoding": "identity"})
    provider = client.app.state.context.provider  # type: ignore[attr-defined]
    listing = routes.tag_listing(provider)
    columns = provider.read_scalars(LONG_RUN, "loss/tag_0")
    names = provider.list_runs()
    scalars = f"/data/plugin/scalars/scalars?run={LONG_RUN}&tag=loss/tag_0"
    rows = [
        (f"/tags build ({args.runs:,} runs x {TAGS} tags)", listing._build),
        ("/tags answer, nothing changed", listing.answer),
        (
            f"/scalars JSON, {args.points:,} points",
            lambda: tensorboard_triples(columns.wall_time, columns.step, columns.value),
        ),
        (
            f"/scalars CSV, {args.points:,} points",
            lambda: tensorboard_csv(columns.wall_time, columns.step, columns.value),
        ),
        (
            f"scalars_multirun, {len(names):,} runs",
            lambda: routes._scalars_multirun(provider, "loss/tag_1", names),
        ),
        ("GET /tags (TestClient)", lambda: client.get("/data/plugin/scalars/tags")),
        ("GET /scalars JSON (TestClient)", lambda: client.get(scalars)),
        ("GET /scalars CSV (TestClient)", lambda: client.get(scalars + "&format=csv")),
    ]
    print(f"{'what':<44} {'median ms':>10}")
    for label, call in rows:
        print(f"{label:<44} {_median_ms(call, args.repeat):>10.3f}")


if __name__ == "__main__":
    main()
