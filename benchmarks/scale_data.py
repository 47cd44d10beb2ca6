"""Log directories for ``scale.py``, written fast: one run's event file is encoded once, in
bulk, and copied to every other run.

A run holds ``tags`` scalar tags written at each of ``steps`` steps, one ``simple_value`` per
event, as tensorboardX's ``add_scalar`` writes them (a ``file_version`` event first). Every run
has the same points (a decaying curve with noise, float32 values as ``simple_value`` keeps
them); runs differ only in their directory and file name. That is all a loader sees: each file
is opened, read and decoded on its own, so copies cost what distinct files cost. Directories are
named by their size, kept under the work directory and reused by the next invocation.
"""

from __future__ import annotations

import os
import shutil
import struct
import time
from pathlib import Path

import numpy as np

from lumiboard.format.tfrecord import encode_record

MB = 1024 * 1024


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_run(tags: int, steps: int, seed: int = 0) -> bytes:
    """The bytes of one event file: a file version, then ``steps`` x ``tags`` scalar events.

    The ``Event`` messages are built by hand (wall_time = field 1 double, step = field 2
    varint, summary = field 5 holding one ``Value``: tag = field 1, simple_value = field 2
    float), the same bytes protobuf writes for them.
    """
    rng = np.random.default_rng(seed)
    names = [f"metric_{t:02d}".encode() for t in range(tags)]
    step_numbers = np.arange(steps)
    curve = np.exp(-step_numbers / max(steps / 3, 1))
    noise = rng.standard_normal((steps, tags)) * 0.05
    values = (curve[:, None] * (1 + np.arange(tags)[None, :] / tags) + noise).astype("<f4")
    walls = (1.7e9 + step_numbers * 0.1).astype("<f8")
    version = b"\x09" + struct.pack("<d", 1.7e9) + b"\x1a\x0dbrain.Event:2"
    parts = [encode_record(version)]
    tag_fields = [b"\x0a" + _varint(len(name)) + name for name in names]
    for i in range(steps):
        head = (
            b"\x09" + walls[i].tobytes() + b"\x10" + _varint(i)
            if i
            else b"\x09" + walls[i].tobytes()
        )
        row = values[i]
        for t in range(tags):
            value = tag_fields[t] + b"\x15" + row[t].tobytes()
            summary = b"\x0a" + _varint(len(value)) + value
            parts.append(encode_record(head + b"\x2a" + _varint(len(summary)) + summary))
    return b"".join(parts)


def run_names(runs: int) -> list[str]:
    width = max(3, len(str(runs - 1)))
    return [f"run_{r:0{width}d}" for r in range(runs)]


def generate(root: Path, runs: int, tags: int, steps: int) -> Path:
    """The log directory of this size under ``root``, written once (then reused)."""
    logdir = root / f"scale-r{runs}-t{tags}-s{steps}"
    if logdir.is_dir():
        return logdir
    partial = root / f"{logdir.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    started = time.perf_counter()
    data = encode_run(tags, steps)
    for index, name in enumerate(run_names(runs)):
        directory = partial / name
        directory.mkdir()
        path = directory / f"events.out.tfevents.{1700000000 + index}.scale.{index}.0"
        path.write_bytes(data)
    partial.rename(logdir)
    print(
        f"  wrote {runs * tags * steps:,} points ({runs} runs, {len(data) * runs / MB:.1f} MB) "
        f"in {time.perf_counter() - started:.1f} s -> {logdir}",
        flush=True,
    )
    return logdir


def empty_logdir(root: Path) -> Path:
    """An empty log directory under ``root``."""
    path = root / "scale-empty"
    path.mkdir(parents=True, exist_ok=True)
    for entry in os.listdir(path):  # stays empty
        shutil.rmtree(path / entry, ignore_errors=True)
    return path
