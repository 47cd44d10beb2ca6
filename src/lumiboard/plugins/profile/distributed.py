"""The Distributed view: per worker, computation/communication overlap and collective stats.

As torch-tb-profiler: per step, **computation** is kernel time (host operator
time when no kernel ran), **communication** is collective kernel time (NCCL),
**overlap** the time both run, and **other** the rest of the step. Collectives
are grouped by their name (``Collective name`` when ``record_param_comms``
recorded it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lumiboard.plugins.profile import overview, ranges
from lumiboard.plugins.profile.ops import op_tree
from lumiboard.plugins.profile.trace import Trace

DTYPE_BYTES = {
    "Float": 4,
    "Half": 2,
    "BFloat16": 2,
    "Double": 8,
    "Long": 8,
    "Int": 4,
    "Byte": 1,
    "Char": 1,
    "Bool": 1,
}


def overlap(trace: Trace) -> dict[str, float]:
    """Mean per-step microseconds of computation, communication, overlap and other."""
    names, starts, ends = overview.steps(trace)
    roles = overview.role_ranges(trace)
    compute = roles["Kernel"] if len(roles["Kernel"][0]) else roles["CPU Exec"]
    comm = roles["Communication"]
    if not len(comm[0]):
        comm = _host_communication(trace)
    both = ranges.intersect(compute, comm)
    sums = {"computation": 0.0, "communication": 0.0, "overlap": 0.0, "other": 0.0}
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        c = ranges.total(ranges.clip(compute, start, end))
        m = ranges.total(ranges.clip(comm, start, end))
        o = ranges.total(ranges.clip(both, start, end))
        sums["computation"] += c
        sums["communication"] += m
        sums["overlap"] += o
        sums["other"] += (end - start) + o - c - m
    count = max(len(names), 1)
    return {key: value / count for key, value in sums.items()}


def _host_communication(trace: Trace) -> ranges.Ranges:
    mask = _communication_ops(trace)
    return ranges.merge(trace.ts[mask], trace.ts[mask] + trace.dur[mask])


def _communication_ops(trace: Trace) -> np.ndarray:
    flags = np.array(
        [overview.is_communication(n) or n == "record_param_comms" for n in trace.names], dtype=bool
    )
    named = flags[trace.name] if len(flags) else np.zeros(0, dtype=bool)
    return np.asarray(named & trace.category_mask("cpu_op", "user_annotation"), dtype=bool)


def collectives(trace: Trace) -> list[dict[str, Any]]:
    """Per collective: calls, host and device time, bytes moved when recorded."""
    tree = op_tree(trace)
    groups: dict[str, dict[str, Any]] = {}
    for index in np.flatnonzero(_communication_ops(trace)).tolist():
        args = trace.args[index] or {}
        name = str(args.get("Collective name") or trace.names[int(trace.name[index])])
        row = groups.setdefault(
            name, {"name": name, "calls": 0, "host_time": 0.0, "device_time": 0.0, "bytes": 0}
        )
        row["calls"] += 1
        row["host_time"] += float(trace.dur[index])
        row["device_time"] += tree.device_total.get(index, 0.0)
        count = args.get("In msg nelems")
        if isinstance(count, int) and not isinstance(count, bool) and 0 <= count < 2**53:
            # Kept within JSON's exact integers: a garbled count must not overflow the answer.
            row["bytes"] = min(
                2**53, row["bytes"] + count * DTYPE_BYTES.get(str(args.get("dtype")), 4)
            )
    # Collective kernels without a recognisable operator still count, by kernel name.
    kernel = trace.category_mask("kernel")
    for index in np.flatnonzero(kernel).tolist():
        name = trace.names[int(trace.name[index])]
        if overview.is_communication(name) and tree.launcher.get(index, -1) < 0:
            row = groups.setdefault(
                name, {"name": name, "calls": 0, "host_time": 0.0, "device_time": 0.0, "bytes": 0}
            )
            row["calls"] += 1
            row["device_time"] += float(trace.dur[index])
    return sorted(groups.values(), key=lambda r: (-r["device_time"], -r["host_time"], r["name"]))
