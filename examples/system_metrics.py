"""System metrics next to the training curves: one argument, or one call for any writer.

Run it (about 3 s on CPU; numpy only, psutil for most metrics, nvidia-ml-py for GPUs)::

    python examples/system_metrics.py runs/system

then ``lumiboard --logdir runs/system`` (or ``tensorboard --logdir runs/system``):
the ``system`` section holds ``system/cpu_percent``, ``system/process_rss_mib``,
``system/disk_write_mib_per_s``, ... and, on a machine with NVIDIA GPUs,
``system/gpu0/utilization_percent`` and the rest (the module
``lumiboard.writer.system_metrics`` lists every tag). A sample's step is its index,
not the training step: pick the "Relative" x axis to line them up with the loss.

Two ways in:

- ``SummaryWriter(log_dir, system_metrics=True)``: every 10 s (a number of
  seconds sets the interval); ``close()`` stops it;
- ``monitor(writer, interval=10)``: the same for any writer, here the TF2-style
  one from ``summary.create_file_writer``; ``.stop()`` ends it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import numpy as np

from lumiboard import SummaryWriter, summary
from lumiboard.writer.system_metrics import monitor


def train(seconds: float, report: Callable[[float, int], object]) -> None:
    # A stand-in for training: matrix products (CPU) and a growing buffer (memory).
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((256, 256))
    kept = []
    step, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        batch = rng.standard_normal((512, 256))
        loss = float(np.mean((batch @ weights) ** 2)) / (step + 1)
        kept.append(batch)  # about 1 MiB per step
        report(loss, step)
        step += 1


def main() -> None:
    log_dir = sys.argv[1] if len(sys.argv) > 1 else "runs/system"

    # 1. The PyTorch-style writer: one argument (0.25 s here to see a few points).
    with SummaryWriter(os.path.join(log_dir, "torch_style"), system_metrics=0.25) as writer:
        train(1.5, lambda loss, step: writer.add_scalar("loss", loss, step))

    # 2. Any writer: monitor() (here the TF2-style one).
    tf2 = summary.create_file_writer(os.path.join(log_dir, "tf2_style"))
    handle = monitor(tf2, interval=0.25)
    with tf2.as_default():
        train(1.0, lambda loss, step: summary.scalar("loss", loss, step=step))
    handle.stop()
    tf2.close()

    import lumiboard

    scalars = lumiboard.read(log_dir, cache=False).scalars(tags="^system/")
    for run, rows in scalars.groupby("run"):
        tags = sorted(rows["tag"].unique())
        print(f"{run}: {len(tags)} system tags, {rows['step'].max() + 1} samples, e.g. {tags[:3]}")


if __name__ == "__main__":
    main()
