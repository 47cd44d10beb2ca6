"""The Memory view: allocator curves per device and the allocation events.

Kineto writes one ``[memory]`` instant event per allocation (``Bytes`` > 0) and
release (``Bytes`` < 0), with the allocator's ``Total Allocated`` and (for
CUDA's caching allocator) ``Total Reserved`` just after it. An allocation is
paired with the next release of the same address on the same device; its
operator is the innermost ``cpu_op`` running on the thread at that moment.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from lumiboard.plugins.profile.trace import Trace

#: Curve points sent per device at most (peaks kept: each bucket keeps its highest point).
MAX_POINTS = 20_000
#: Allocation rows sent at most (the largest allocations first when there are more).
MAX_EVENTS = 50_000


def device_label(device_type: int, device_id: int) -> str:
    """``CPU``, ``GPU0`` ... (Kineto's DeviceType: 0 CPU, 1 CUDA)."""
    if device_type == 0:
        return "CPU"
    if device_type == 1:
        return f"GPU{max(device_id, 0)}"
    return f"device {device_type}:{device_id}"


def memory(trace: Trace) -> dict[str, Any]:
    events = trace.memory
    origin = trace.start
    devices = []
    labels = np.array(
        [
            device_label(int(t), int(i))
            for t, i in zip(events.device_type, events.device_id, strict=True)
        ],
        dtype=object,
    )
    for label in sorted(set(labels.tolist()), key=lambda text: (text != "CPU", text)):
        mask = labels == label
        ts = events.ts[mask] - origin
        allocated, reserved = events.total_allocated[mask], events.total_reserved[mask]
        keep = _reduce(allocated)
        has_reserved = not np.isnan(reserved).all()
        devices.append(
            {
                "device": label,
                "time": ts[keep].tolist(),
                "allocated": _clean(allocated[keep]),
                "reserved": _clean(reserved[keep]) if has_reserved else None,
                "peak_allocated": _peak(allocated),
                "peak_reserved": _peak(reserved) if has_reserved else None,
            }
        )
    rows, truncated = _allocations(trace, labels)
    return {"devices": devices, "events": rows, "truncated": truncated}


def _reduce(values: np.ndarray) -> np.ndarray:
    """Indices to draw: all, or each bucket's highest point plus the last one."""
    count = len(values)
    if count <= MAX_POINTS:
        return np.arange(count)
    edges = np.linspace(0, count, MAX_POINTS // 2 + 1).astype(np.int64)
    filled = np.nan_to_num(values, nan=-np.inf)
    picks = [a + int(np.argmax(filled[a:b])) for a, b in itertools.pairwise(edges) if b > a]
    picks.extend(edges[:-1].tolist())
    picks.append(count - 1)
    return np.unique(np.asarray(picks, dtype=np.int64))


def _clean(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values.tolist()]


def _peak(values: np.ndarray) -> float | None:
    return None if np.isnan(values).all() else float(np.nanmax(values))


def _allocations(trace: Trace, labels: np.ndarray) -> tuple[list[dict[str, Any]], bool]:
    events = trace.memory
    origin = trace.start
    operators = _operators_at(trace)
    open_: dict[tuple[str, int], int] = {}
    rows: list[dict[str, Any]] = []
    for i in range(len(events.ts)):
        size = int(events.bytes[i])
        key = (str(labels[i]), int(events.addr[i]))
        if size > 0:
            open_[key] = len(rows)
            rows.append(
                {
                    "device": key[0],
                    "operator": operators[i],
                    "size": size,
                    "allocation_time": float(events.ts[i]) - origin,
                    "release_time": None,
                    "duration": None,
                }
            )
        elif size < 0:
            found = open_.pop(key, None)
            if found is not None:
                row = rows[found]
                row["release_time"] = float(events.ts[i]) - origin
                row["duration"] = row["release_time"] - row["allocation_time"]
    if len(rows) <= MAX_EVENTS:
        return rows, False
    largest = sorted(range(len(rows)), key=lambda r: -rows[r]["size"])[:MAX_EVENTS]
    return [rows[r] for r in sorted(largest)], True


def _operators_at(trace: Trace) -> list[str | None]:
    """For each memory event, the innermost cpu_op running on its thread then."""
    events = trace.memory
    result: list[str | None] = [None] * len(events.ts)
    ops = np.flatnonzero(trace.category_mask("cpu_op"))
    by_track: dict[int, list[int]] = {}
    for index in ops.tolist():
        by_track.setdefault(int(trace.track[index]), []).append(index)
    mem_by_track: dict[int, list[int]] = {}
    for i, track in enumerate(events.track.tolist()):
        mem_by_track.setdefault(track, []).append(i)
    ts, dur = trace.ts, trace.dur
    for track, members in mem_by_track.items():
        candidates = sorted(by_track.get(track, []), key=lambda j: (ts[j], -dur[j]))
        stack: list[int] = []
        k = 0
        for i in members:  # time-sorted
            moment = events.ts[i]
            while k < len(candidates) and ts[candidates[k]] <= moment:
                start = ts[candidates[k]]
                while stack and ts[stack[-1]] + dur[stack[-1]] <= start:
                    stack.pop()
                stack.append(candidates[k])
                k += 1
            while stack and ts[stack[-1]] + dur[stack[-1]] < moment:
                stack.pop()
            if stack:
                result[i] = trace.names[int(trace.name[stack[-1]])]
    return result
