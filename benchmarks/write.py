"""Writer cost: lumiboard vs torch.utils.tensorboard vs tensorboardX, in one run.

For each operation (``add_scalar``, ``add_histogram`` of 10k float32 values,
``add_image`` of a 3x64x64 uint8 image) and each library, with the library's
default writer settings and a fresh temporary log directory:

1. warm up (the same calls, another tag), ``flush()``, note the bytes on disk;
2. time ``n`` calls: the per-call cost the training loop sees (*loop*);
3. time ``close()`` too: work a writer deferred to a background thread or to
   close is counted in *end-to-end* (loop + close, per call);
4. bytes the ``n`` calls added on disk, after close.

Each measurement is repeated (``--repeat``) and the median is reported. The
targets compare lumiboard with torch; both the loop and the end-to-end cost
must meet them::

    python benchmarks/write.py            # table and PASS/FAIL lines
    python benchmarks/write.py --check    # exit status 1 if a target fails
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: lumiboard's cost as a fraction of torch's, at most (DESIGN.md §5).
TARGETS = {"add_scalar": 1 / 3, "add_histogram": 1 / 2, "add_image": 1 / 2}


@dataclass(frozen=True)
class Operation:
    name: str
    calls: int
    payload: Any
    #: Calls ``writer.<name>`` for steps ``start .. start + count - 1``.
    run: Callable[[Any, str, Any, int, int], None]


@dataclass(frozen=True)
class Result:
    loop_s: float
    total_s: float
    bytes_written: int


def scalar_calls(writer: Any, tag: str, payload: Any, start: int, count: int) -> None:
    add = writer.add_scalar
    for step in range(start, start + count):
        add(tag, step * 0.001, step)


def histogram_calls(writer: Any, tag: str, values: Any, start: int, count: int) -> None:
    add = writer.add_histogram
    for step in range(start, start + count):
        add(tag, values, step)


def image_calls(writer: Any, tag: str, image: Any, start: int, count: int) -> None:
    add = writer.add_image
    for step in range(start, start + count):
        add(tag, image, step)


def writer_factories() -> dict[str, Callable[[str], Any]]:
    """Each library's SummaryWriter, with its own defaults."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # import-time deprecation noise from the references
        import tensorboardX
        from torch.utils.tensorboard import SummaryWriter as TorchWriter

        from lumiboard import SummaryWriter as LumiboardWriter
    return {
        "lumiboard": LumiboardWriter,
        "torch": TorchWriter,
        "tensorboardX": tensorboardX.SummaryWriter,
    }


def disk_bytes(directory: str) -> int:
    return sum(path.stat().st_size for path in Path(directory).rglob("*") if path.is_file())


def measure_once(factory: Callable[[str], Any], operation: Operation) -> Result:
    with tempfile.TemporaryDirectory(prefix="lumiboard-bench-") as logdir:
        writer = factory(logdir)
        warmup = max(10, operation.calls // 20)
        operation.run(writer, "warmup", operation.payload, 0, warmup)
        writer.flush()
        before = disk_bytes(logdir)
        gc.collect()
        start = time.perf_counter()
        operation.run(writer, "bench", operation.payload, warmup, operation.calls)
        loop_end = time.perf_counter()
        writer.close()
        end = time.perf_counter()
        return Result(loop_end - start, end - start, disk_bytes(logdir) - before)


def measure(factory: Callable[[str], Any], operation: Operation, repeat: int) -> Result:
    runs = [measure_once(factory, operation) for _ in range(repeat)]
    return Result(
        statistics.median(r.loop_s for r in runs),
        statistics.median(r.total_s for r in runs),
        int(statistics.median(r.bytes_written for r in runs)),
    )


def operations(args: argparse.Namespace) -> list[Operation]:
    rng = np.random.default_rng(0)
    values = rng.standard_normal(10_000).astype(np.float32)
    image = rng.integers(0, 256, size=(3, 64, 64), dtype=np.uint8)
    return [
        Operation("add_scalar", args.n_scalar, None, scalar_calls),
        Operation("add_histogram", args.n_histogram, values, histogram_calls),
        Operation("add_image", args.n_image, image, image_calls),
    ]


def per_call_us(seconds: float, calls: int) -> float:
    return seconds / calls * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-scalar", type=int, default=20_000, help="add_scalar calls")
    parser.add_argument("--n-histogram", type=int, default=300, help="add_histogram calls")
    parser.add_argument("--n-image", type=int, default=300, help="add_image calls")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    args = parser.parse_args(argv)
    if min(args.n_scalar, args.n_histogram, args.n_image, args.repeat) < 1:
        parser.error("sizes and --repeat must be at least 1")

    factories = writer_factories()
    started = time.perf_counter()
    results: dict[tuple[str, str], Result] = {}
    header = (
        f"{'operation':<14} {'library':<13} {'calls':>6} {'loop µs/call':>13} "
        f"{'e2e µs/call':>12} {'bytes':>11} {'bytes/call':>11}"
    )
    print(header)
    print("-" * len(header))
    for operation in operations(args):
        for library, factory in factories.items():
            result = measure(factory, operation, args.repeat)
            results[operation.name, library] = result
            print(
                f"{operation.name:<14} {library:<13} {operation.calls:>6} "
                f"{per_call_us(result.loop_s, operation.calls):>13.1f} "
                f"{per_call_us(result.total_s, operation.calls):>12.1f} "
                f"{result.bytes_written:>11,} {result.bytes_written / operation.calls:>11.1f}"
            )
        print()

    print(f"{'operation':<14} {'loop ratio':>10} {'e2e ratio':>10} {'target':>7}  verdict")
    print("   (lumiboard / torch per-call cost; both ratios must meet the target)")
    failed = False
    for name, target in TARGETS.items():
        ours, theirs = results[name, "lumiboard"], results[name, "torch"]
        loop_ratio = ours.loop_s / theirs.loop_s
        total_ratio = ours.total_s / theirs.total_s
        ok = loop_ratio <= target and total_ratio <= target
        failed |= not ok
        print(
            f"{name:<14} {loop_ratio:>10.3f} {total_ratio:>10.3f} {target:>7.3f}  "
            f"{'PASS' if ok else 'FAIL'}"
        )
    print(
        f"\n{sys.platform}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"median of {args.repeat}; whole run {time.perf_counter() - started:.1f} s"
    )
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
