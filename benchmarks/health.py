"""Health flags: the cost of ``/data/health``'s work over a big experiment.

Builds, in memory (no event files: this times the rules, not the reader), ``--runs`` runs
of ``--tags`` scalar tags of ``--points`` points each: two loss tags, eight
``gradient_norm/*`` tags and the rest plain metrics, noisy decaying curves, one run in ten
with a NaN and one in ten with a blow-up. Then it times :meth:`HealthIndex.report`:

- **cold**: the first report, every point of every series read;
- **warm**: again, nothing changed (each series' column is checked, none is read);
- **live**: ``--live-runs`` runs get ``--append`` more points on every tag (a training
  job logging between two reloads), then a report (only the appended points are read).

::

    .venv/bin/python benchmarks/health.py                     # 1000 x 50 x 1000 = 50M points
    .venv/bin/python benchmarks/health.py --runs 100          # a quick one

Each figure is the median of ``--repeat`` runs (cold: a fresh index each time).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from lumiboard.store.columns import ScalarSeries
from lumiboard.store.health import HealthIndex
from lumiboard.store.provider import Provider
from lumiboard.store.runs import RunData


def _tags(count: int) -> list[str]:
    tags = ["loss", "val/loss"] + [f"gradient_norm/layer{k}.weight" for k in range(8)]
    tags += [f"metrics/m{k}" for k in range(count - len(tags))]
    return tags[:count]


def _curve(rng: np.random.Generator, start: int, n: int, total: int) -> np.ndarray:
    t = np.arange(start, start + n)
    return (2.0 * np.exp(-t / (total / 4)) + 0.1) * np.exp(rng.normal(0.0, 0.1, n))


def build(runs: int, tags: int, points: int, seed: int = 0) -> dict[str, RunData]:
    rng = np.random.default_rng(seed)
    step = np.arange(points, dtype=np.int64)
    wall_time = 1.7e9 + step.astype(np.float64)
    store: dict[str, RunData] = {}
    for r in range(runs):
        run = RunData(f"run_{r:04d}", start_time=float(r))
        for tag in _tags(tags):
            value = _curve(rng, 0, points, points)
            if r % 10 == 3 and tag == "loss":
                value[points // 2 :] = np.nan
            if r % 10 == 7 and tag == "loss":
                value[points // 2 :] *= np.exp(np.arange(points - points // 2) / 20.0)
            series = ScalarSeries()
            series.append(step, wall_time, value)
            series.columns()  # consolidated, as the loader leaves them
            run.scalars[tag] = series
        store[run.name] = run
    return store


def append(store: dict[str, RunData], runs: int, count: int, points: int) -> None:
    rng = np.random.default_rng(1)
    for run in list(store.values())[:runs]:
        for series in run.scalars.values():
            last = int(series.columns()[0][-1]) + 1
            step = np.arange(last, last + count, dtype=np.int64)
            series.append(step, 1.7e9 + step.astype(np.float64), _curve(rng, last, count, points))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=50)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--live-runs", type=int, default=10)
    parser.add_argument("--append", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    store = build(args.runs, args.tags, args.points)
    series = args.runs * args.tags
    total = series * args.points
    print(
        f"{args.runs} runs x {args.tags} tags x {args.points} points = {total / 1e6:.1f}M points "
        f"({time.perf_counter() - started:.1f} s to build)"
    )
    provider = Provider(store)
    cold, warm, live = [], [], []
    flags = 0
    for _ in range(args.repeat):
        index = HealthIndex(provider)
        started = time.perf_counter()
        flags = len(index.report().flags)
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        index.report()
        warm.append(time.perf_counter() - started)
    for _ in range(args.repeat):
        append(store, args.live_runs, args.append, args.points)
        started = time.perf_counter()
        index.report()
        live.append(time.perf_counter() - started)
    cold_s, warm_s, live_s = (statistics.median(times) for times in (cold, warm, live))
    print(f"flags: {flags}")
    print(
        f"cold: {cold_s:.2f} s ({cold_s / series * 1e6:.0f} us per series, "
        f"{total / cold_s / 1e6:.1f}M points/s)"
    )
    print(f"warm: {warm_s * 1e3:.0f} ms ({warm_s / series * 1e6:.1f} us per series)")
    print(
        f"live: {live_s * 1e3:.0f} ms ({args.live_runs} runs x {args.tags} tags "
        f"+{args.append} points each)"
    )


if __name__ == "__main__":
    main()
