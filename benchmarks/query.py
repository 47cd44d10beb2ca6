"""Query cost: one scalar series reduced for a chart, lumiboard vs TensorBoard's reservoir.

lumiboard keeps every point and reduces at query time (``lumiboard.store.downsample``): per
equal-width x bucket it keeps the first, min, max and last point, so no spike is hidden.
TensorBoard keeps a 1,000-point reservoir sample per tag at ingest time
(``tensorboard.backend.event_processing.reservoir.Reservoir``) and serves that.

For each case (1M and 10M points, the full range and a 1% zoom, 2,000 buckets for a 2,000-px
chart) the script reports the median of ``--repeat`` timed calls. It then times TensorBoard's
reservoir taking 1M points, and counts how many of 10 injected spikes each approach shows::

    python benchmarks/query.py            # table and PASS/FAIL line
    python benchmarks/query.py --check    # exit status 1 if the target fails

Target (DESIGN.md §5): a 1M-point series reduced for a 2,000-px chart in under 20 ms.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lumiboard.store.downsample import XAxis, reduce_series

TARGET_POINTS = 1_000_000
TARGET_MS = 20.0
BUCKETS = 2000
SPIKES = 10
RESERVOIR_SIZE = 1000  # TensorBoard's default for scalars (DEFAULT_SIZE_GUIDANCE)


@dataclass(frozen=True)
class Case:
    label: str
    points: int
    step_range: tuple[int | None, int | None] | None
    x: XAxis = "step"
    dtype: Any = np.float64


def make_series(n: int, dtype: Any = np.float64, seed: int = 0) -> tuple[np.ndarray, ...]:
    """A noisy loss curve: steps 0..n-1, wall_time 20 steps a second, 10 spikes injected."""
    rng = np.random.default_rng(seed)
    step = np.arange(n, dtype=np.int64)
    wall_time = 1.7e9 + step * 0.05
    value = (np.exp(-step / (n / 5)) + 0.05 * rng.standard_normal(n)).astype(dtype)
    spikes = spike_positions(n)
    value[spikes] = 25.0  # ten one-point spikes, far above the noise
    return step, wall_time, value, spikes


def spike_positions(n: int) -> np.ndarray:
    return np.linspace(n // (2 * SPIKES), n - n // (2 * SPIKES), SPIKES).astype(np.int64) + 7


def median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm up: page in the columns, import-time work
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def time_reduction(cases: list[Case], repeat: int) -> dict[str, float]:
    print(f"lumiboard reduce_series, {BUCKETS} buckets, median of {repeat} runs")
    print(f"  {'case':<34} {'in range':>10} {'out':>6} {'ms':>8}")
    results: dict[str, float] = {}
    series: dict[tuple[int, str], tuple[np.ndarray, ...]] = {}
    for case in cases:
        key = (case.points, np.dtype(case.dtype).name)
        if key not in series:
            series.clear()  # keep one series in memory at a time (10M points: 240 MB)
            series[key] = make_series(case.points, case.dtype)
        step, wall_time, value, _ = series[key]

        call = functools.partial(
            reduce_series, step, wall_time, value, BUCKETS, case.step_range, case.x
        )
        out = call()
        ms = median_ms(call, repeat)
        results[case.label] = ms
        print(f"  {case.label:<34} {out.total:>10,} {len(out.step):>6,} {ms:>8.2f}")
    return results


def time_reservoir(n: int, repeat: int) -> None:
    """TensorBoard's ingest-time sampling of one tag, and the spikes each approach shows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # import-time deprecation noise from the reference
        from tensorboard.backend.event_processing.reservoir import (  # type: ignore[import-untyped]
            Reservoir,
        )

    step, wall_time, value, spikes = make_series(n)
    steps = step.tolist()

    def fill() -> Any:
        reservoir = Reservoir(RESERVOIR_SIZE)
        add = reservoir.AddItem
        for s in steps:
            add("loss", s)
        return reservoir

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        reservoir = fill()
        times.append(time.perf_counter() - start)
    kept = np.asarray(reservoir.Items("loss"), dtype=np.int64)
    start = time.perf_counter()
    reservoir.Items("loss")
    read_ms = (time.perf_counter() - start) * 1e3

    ours = reduce_series(step, wall_time, value, BUCKETS)
    tb_spikes = int(np.isin(spikes, kept).sum())
    our_spikes = int(np.isin(spikes, ours.step).sum())
    print()
    print(f"tensorboard Reservoir(size={RESERVOIR_SIZE}), {n:,} points of one tag")
    print(f"  AddItem x {n:,} (at ingest, median of {repeat}): {statistics.median(times):8.3f} s")
    print(f"  Items() (what a query reads):          {read_ms:8.3f} ms, {len(kept):,} points")
    print(f"spikes shown (of {SPIKES} one-point spikes injected):")
    print(f"  tensorboard reservoir sample ({len(kept):,} points): {tb_spikes:>2} / {SPIKES}")
    print(f"  lumiboard reduce_series ({len(ours.step):,} points):   {our_spikes:>2} / {SPIKES}")
    print(
        "  (each point survives a reservoir of 1,000 with probability ~1000/n: "
        f"~{SPIKES * RESERVOIR_SIZE / n:.2f} spikes expected)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the target fails")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per case (median)")
    parser.add_argument(
        "--sizes", default="1000000,10000000", help="comma-separated series lengths"
    )
    parser.add_argument(
        "--reservoir-repeat", type=int, default=3, help="timed fills of TensorBoard's reservoir"
    )
    args = parser.parse_args(argv)

    sizes = [int(size) for size in args.sizes.split(",")]
    cases: list[Case] = []
    for n in sizes:
        name = f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n:,}"
        zoom = (n // 2, n // 2 + n // 100 - 1)
        cases.append(Case(f"{name}, full range", n, None))
        cases.append(Case(f"{name}, 1% zoom", n, zoom))
        if n == TARGET_POINTS:
            cases.append(Case(f"{name}, full range, x=wall_time", n, None, "wall_time"))
            cases.append(Case(f"{name}, full range, float32", n, None, dtype=np.float32))

    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    results = time_reduction(cases, args.repeat)
    time_reservoir(TARGET_POINTS, args.reservoir_repeat)

    print()
    failed = False
    target_label = f"{TARGET_POINTS / 1e6:g}M, full range"
    if target_label in results:
        ms = results[target_label]
        ok = ms < TARGET_MS
        failed |= not ok
        verdict = "PASS" if ok else "FAIL"
        print(f"{verdict}: {target_label} to {BUCKETS} buckets: {ms:.2f} ms (< {TARGET_MS:g} ms)")
    else:
        print(f"(no {TARGET_POINTS:,}-point case in --sizes: target not checked)")
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
