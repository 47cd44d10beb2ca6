"""The Overview: steps, the step-time breakdown, GPU metrics and recommendations.

Follows torch-tb-profiler's definitions:

- **steps** are the ``ProfilerStep#N`` annotations (in an XSpace profile, the step
  markers: events whose stats hold ``step_num``, else the device's ``Steps``
  line, see :mod:`.xplane_kinds`); a step also lasts until the
  device work its runtime calls launched has finished, and starts no earlier
  than the previous step ended (without steps: one step over all host activity);
  trailing steps whose kernels the profiler may have missed (fewer than 80 % of
  the previous step's device activities) are dropped, as there;
- each microsecond of a step is given to the first busy kind, in the order
  Kernel, Memcpy, Memset, Communication, Runtime, DataLoader, CPU Exec; what
  is left is Other (DataLoader is the loop waiting for its next batch: PyTorch's
  DataLoader ``__next__``, tf.data's ``IteratorGetNext``);
- **GPU utilization** is the share of the steps' time a device runs a kernel;
  **estimated SM efficiency** weighs each kernel by ``min(blocks per SM, 1)``;
  **estimated achieved occupancy** is the duration-weighted mean of the
  kernels' ``est. achieved occupancy %``.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np

from lumiboard.plugins.profile import ranges
from lumiboard.plugins.profile.trace import DEVICE_CATEGORIES, RUNTIME_CATEGORIES, STEP_NAME, Trace
from lumiboard.plugins.profile.xplane_kinds import is_input_wait

ROLES = ("Kernel", "Memcpy", "Memset", "Communication", "Runtime", "DataLoader", "CPU Exec")
HOST_CATEGORIES = ("cpu_op", "user_annotation", "python_function", "tf_data")
#: XLA's collective ops (their kernels and host ops are named so).
XLA_COLLECTIVES = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "collective-permute")


def is_communication(name: str) -> bool:
    """A collective's kernel or op (NCCL, gloo, c10d, XLA's collectives)."""
    lowered = name.lower()
    return "nccl" in lowered or lowered.startswith(("c10d::", "gloo:", *XLA_COLLECTIVES))


def steps(trace: Trace) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(names, starts, ends)`` of the steps (see the module docstring)."""
    memo = trace.memo.get("steps")
    if memo is None:
        memo = trace.memo["steps"] = _steps(trace)
    return memo


def _steps(trace: Trace) -> tuple[list[str], np.ndarray, np.ndarray]:
    annotation = trace.category_mask("user_annotation", "cpu_op")
    found: list[tuple[float, float, str]] = []
    step_names = {i: m[1] for i, n in enumerate(trace.names) if (m := STEP_NAME.match(n))}
    for index in np.flatnonzero(annotation & np.isin(trace.name, list(step_names))):
        start = float(trace.ts[index])
        found.append((start, start + float(trace.dur[index]), step_names[int(trace.name[index])]))
    if not found:
        found = _marked_steps(trace)
    found.sort()
    if not found:
        host = trace.category_mask(*HOST_CATEGORIES)
        if not host.any():
            return [], np.zeros(0), np.zeros(0)
        start, end = float(trace.ts[host].min()), float((trace.ts + trace.dur)[host].max())
        return ["0"], np.array([start]), np.array([end])
    names = [name for _, _, name in found]
    starts = np.array([s for s, _, _ in found])
    ends = np.array([e for _, e, _ in found])
    device_end, launched = _device_ends(trace, starts, ends)
    if launched.sum() == 0:
        return names, starts, ends
    previous = starts[0]
    for i in range(len(starts)):
        starts[i] = max(previous, starts[i])
        ends[i] = max(ends[i], device_end[i], starts[i])
        previous = ends[i]
    keep = len(starts)
    while keep > 0 and launched[keep - 1] == 0:
        keep -= 1
    if keep > 1 and launched[keep - 2] * 0.8 > launched[keep - 1]:
        keep -= 1
    keep = max(keep, 1)
    return names[:keep], starts[:keep], ends[:keep]


def _marked_steps(trace: Trace) -> list[tuple[float, float, str]]:
    """The steps an XSpace profile marks: host step markers (named by their ``step_num``),
    else the device's ``Steps`` line; a marker inside another one is not a step of its own."""
    for category in ("step", "device_step"):
        indices = np.flatnonzero(trace.category_mask(category))
        if len(indices):
            break
    else:
        return []
    found: list[tuple[float, float, str]] = []
    end = -np.inf
    outer: list[int] = []
    for index in indices.tolist():  # in time order
        stop = float(trace.ts[index] + trace.dur[index])
        if stop > end:  # not nested in the previous step
            outer.append(index)
            end = stop
    for position, (index, args) in enumerate(zip(outer, trace.args_of(outer), strict=True)):
        start, stop = float(trace.ts[index]), float(trace.ts[index] + trace.dur[index])
        number = (args or {}).get("step_num")
        label = str(number) if isinstance(number, int | str) else str(position)
        found.append((start, stop, label))
    return found


def _device_ends(
    trace: Trace, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per step: the latest end of device work launched inside it, and how much was launched."""
    runtime = np.flatnonzero(trace.category_mask(*RUNTIME_CATEGORIES) & (trace.correlation >= 0))
    device = np.flatnonzero(trace.category_mask(*DEVICE_CATEGORIES) & (trace.correlation >= 0))
    device_end = np.full(len(starts), -np.inf)
    launched = np.zeros(len(starts), dtype=np.int64)
    if not len(runtime) or not len(device):
        return device_end, launched
    by_corr = dict(
        zip(
            trace.correlation[device].tolist(), (trace.ts + trace.dur)[device].tolist(), strict=True
        )
    )
    r_start, r_end = trace.ts[runtime], trace.ts[runtime] + trace.dur[runtime]
    step = np.searchsorted(starts, r_start, side="right") - 1
    for i, index in enumerate(runtime.tolist()):
        s = step[i]
        if s < 0 or r_end[i] > ends[s]:
            continue  # launched outside any step, or straddling its end
        end = by_corr.get(int(trace.correlation[index]))
        if end is not None:
            launched[s] += 1
            device_end[s] = max(device_end[s], end)
    return device_end, launched


def role_ranges(trace: Trace) -> dict[str, ranges.Ranges]:
    """Busy ranges of each kind of activity (merged), before priorities apply."""
    end = trace.ts + trace.dur
    names = trace.names
    communication = np.array([is_communication(n) for n in names], dtype=bool)
    comm = communication[trace.name] if len(names) else np.zeros(0, dtype=bool)
    kernel = trace.category_mask("kernel")
    loader_names = np.array(
        [
            (n.startswith("enumerate(DataLoader)#") and n.endswith(".__next__")) or is_input_wait(n)
            for n in names
        ],
        dtype=bool,
    )
    loader = (
        loader_names[trace.name] if len(names) else np.zeros(0, dtype=bool)
    ) & trace.category_mask(*HOST_CATEGORIES)
    step_names = np.array([bool(STEP_NAME.match(n)) for n in names], dtype=bool)
    is_step = step_names[trace.name] if len(names) else np.zeros(0, dtype=bool)
    masks = {
        "Kernel": kernel & ~comm,
        "Memcpy": trace.category_mask("gpu_memcpy"),
        "Memset": trace.category_mask("gpu_memset"),
        "Communication": kernel & comm,
        "Runtime": trace.category_mask(*RUNTIME_CATEGORIES),
        "DataLoader": loader,
        "CPU Exec": trace.category_mask(*HOST_CATEGORIES) & ~loader & ~is_step,
    }
    return {role: ranges.merge(trace.ts[mask], end[mask]) for role, mask in masks.items()}


def breakdown(trace: Trace) -> dict[str, Any]:
    """Per step: its duration and the microseconds given to each role, plus their mean."""
    names, starts, ends = steps(trace)
    roles = role_ranges(trace)
    slots = ranges.merge(starts, ends)
    given: dict[str, ranges.Ranges] = {}
    for role in ROLES:
        given[role] = ranges.intersect(slots, roles[role])
        slots = ranges.subtract(slots, given[role])
    given["Other"] = slots
    # Per role, its time in every step at once (a long profile has thousands of steps).
    columns = {
        "start": starts - trace.start,
        "duration": ends - starts,
        **{role: ranges.covered(r, starts, ends) for role, r in given.items()},
    }
    keys = ("step", *columns)
    rows = [
        dict(zip(keys, values, strict=True))
        for values in zip(names, *(column.tolist() for column in columns.values()), strict=True)
    ]
    mean = {
        key: float(np.mean(columns[key])) if rows else 0.0 for key in ("duration", *ROLES, "Other")
    }
    return {"roles": [*ROLES, "Other"], "steps": rows, "mean": mean}


def gpu_metrics(trace: Trace) -> list[dict[str, Any]]:
    """Per device: utilization, estimated SM efficiency and achieved occupancy over the steps."""
    _, starts, ends = steps(trace)
    kernel = np.flatnonzero(trace.category_mask("kernel"))
    if not len(kernel) or not len(starts):
        return []
    span = ranges.merge(starts, ends)
    span_time = ranges.total(span)
    devices: dict[int, list[int]] = {}
    for index, found in zip(kernel.tolist(), trace.args_of(kernel.tolist()), strict=True):
        args = found or {}
        device = args.get("device", 0)
        devices.setdefault(device if isinstance(device, int) else 0, []).append(index)
    result = []
    for device, indices in sorted(devices.items()):
        idx = np.asarray(indices)
        start, end = trace.ts[idx], trace.ts[idx] + trace.dur[idx]
        busy = ranges.total(ranges.intersect(span, ranges.merge(start, end)))
        clipped = np.clip(np.minimum(end, span[1][-1]) - np.maximum(start, span[0][0]), 0, None)
        blocks = np.array([_arg(trace.args[i], "blocks per SM") for i in indices])
        occupancy = np.array([_arg(trace.args[i], "est. achieved occupancy %") for i in indices])
        has_blocks, has_occ = ~np.isnan(blocks), ~np.isnan(occupancy)
        sm = (
            float(np.sum(np.minimum(blocks[has_blocks], 1.0) * clipped[has_blocks]))
            if has_blocks.any()
            else None
        )
        occ_weight = float(np.sum(clipped[has_occ]))
        occ = (
            float(np.sum(occupancy[has_occ] * clipped[has_occ]) / occ_weight)
            if occ_weight > 0
            else None
        )
        result.append(
            {
                "device": device,
                "utilization": busy / span_time if span_time > 0 else 0.0,
                "sm_efficiency": sm / span_time if sm is not None and span_time > 0 else None,
                "achieved_occupancy": occ,
                "kernel_time": float(np.sum(trace.dur[idx])),
            }
        )
    return result


def _arg(args: dict[str, Any] | None, key: str) -> float:
    value = (args or {}).get(key)
    return (
        float(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else float("nan")
    )


def devices(trace: Trace) -> list[dict[str, Any]]:
    """The GPUs the trace describes (``deviceProperties``)."""
    found = trace.metadata.get("deviceProperties")
    result = []
    for item in found if isinstance(found, list) else []:
        if not isinstance(item, dict):
            continue
        major, minor = item.get("computeMajor"), item.get("computeMinor")
        result.append(
            {
                "id": item.get("id"),
                "name": item.get("name"),
                "memory": item.get("totalGlobalMem"),
                "compute_capability": f"{major}.{minor}" if major is not None else None,
                "sms": item.get("numSms"),
            }
        )
    return result


#: Plane stats an XSpace's host summary names, with their labels (JAX writes its versions).
_HOST_FACTS = (("jax_version", "jax"), ("jaxlib_version", "jaxlib"))


def host_summary(trace: Trace) -> str | None:
    """What an XSpace profile says of where and when it was recorded (hosts, the profiling
    session's start and length, framework versions); None for other traces."""
    if trace.metadata.get("format") != "xplane":
        return None
    parts = []
    hosts = [str(name) for name in trace.metadata.get("hostnames") or []]
    if hosts:
        parts.append(("host " if len(hosts) == 1 else "hosts ") + ", ".join(hosts))
    stats: dict[str, Any] = {}
    for plane in trace.metadata.get("planes") or []:
        stats.update(plane.get("stats") or {})
    start, stop = stats.get("profile_start_time"), stats.get("profile_stop_time")
    if isinstance(start, int) and start > 0:
        when = datetime.datetime.fromtimestamp(start / 1e9, datetime.UTC)
        text = f"profiled {when:%Y-%m-%d %H:%M:%S} UTC"
        if isinstance(stop, int) and stop > start:
            text += f" for {(stop - start) / 1e6:,.1f} ms"
        parts.append(text)
    parts.extend(f"{label} {stats[key]}" for key, label in _HOST_FACTS if stats.get(key))
    return " · ".join(parts) or None
