"""Operator and kernel statistics.

Host times come from nesting: on each thread, an operator's **self** time is
its duration less its direct children's (operators, annotations and Python
functions on the same thread). Device time goes to the operator whose runtime
call launched it (the innermost operator enclosing the call, matched to the
kernel, memcpy or memset by ``args.correlation``); an operator's device
**total** adds its descendants'. Call stacks are the chains of enclosing
``python_function`` events (recorded with ``with_stack=True``), or the
``Call stack`` argument older versions wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lumiboard.plugins.profile.trace import DEVICE_CATEGORIES, RUNTIME_CATEGORIES, STEP_NAME, Trace

#: Kernel-name fragments of kernels that run on tensor cores (NVIDIA's PyProf list, as
#: torch-tb-profiler uses, plus the Hopper/cutlass names that appeared since).
TENSOR_CORE_PATTERNS = (
    "h884", "s884", "h1688", "s1688", "hmma", "i8816", "16816", "dgrad_1x1_stride_2x2",
    "first_layer_wgrad_kernel", "conv1x1", "conv2d_c1_k1", "direct_group", "xmma_implicit_gemm",
    "xmma_sparse_conv", "xmma_warp_specialized_implicit_gemm", "xmma_gemm", "xmma_sparse_gemm",
    "c1688", "gmma", "tensorop", "wgmma",
    # cuDNN/cuBLAS "xmma" templates run on tensor cores (fprop/dgrad/wgrad, tf32/f16/bf16)...
    "xmma",
)  # fmt: skip
#: ...unless the name says the math runs on the CUDA cores (cuBLAS' FP32 ``ffma`` variants).
NOT_TENSOR_CORE = ("_ffma_",)
MAX_STACKS = 5
MAX_FRAMES = 30


def uses_tensor_cores(kernel_name: str) -> bool:
    return any(pattern in kernel_name for pattern in TENSOR_CORE_PATTERNS) and not any(
        pattern in kernel_name for pattern in NOT_TENSOR_CORE
    )


@dataclass
class OpTree:
    """Per operator event (index into the trace): host self, device self/total, call stack."""

    ops: np.ndarray  # indices of cpu_op events
    host_self: dict[int, float]
    device_self: dict[int, float]
    device_total: dict[int, float]
    stacks: dict[int, tuple[str, ...]]
    #: device event index -> the operator that launched it (-1: none).
    launcher: dict[int, int]


def op_tree(trace: Trace) -> OpTree:
    memo = trace.memo.get("op_tree")
    if memo is None:
        memo = trace.memo["op_tree"] = _op_tree(trace)
    return memo


def _op_tree(trace: Trace) -> OpTree:
    op_cat = {i for i, c in enumerate(trace.categories) if c == "cpu_op"}
    python_cat = {i for i, c in enumerate(trace.categories) if c == "python_function"}
    runtime_cat = {i for i, c in enumerate(trace.categories) if c in RUNTIME_CATEGORIES}
    device = np.flatnonzero(trace.category_mask(*DEVICE_CATEGORIES) & (trace.correlation >= 0))
    device_of_corr: dict[int, list[int]] = {}
    for index in device.tolist():
        device_of_corr.setdefault(int(trace.correlation[index]), []).append(index)
    host = np.flatnonzero(
        trace.category_mask("cpu_op", "user_annotation", "python_function", *RUNTIME_CATEGORIES)
    )
    host_self: dict[int, float] = {}
    device_self: dict[int, float] = {}
    parent: dict[int, int] = {}
    stacks: dict[int, tuple[str, ...]] = {}
    launcher: dict[int, int] = {}
    by_track: dict[int, list[int]] = {}
    for index in host.tolist():
        by_track.setdefault(int(trace.track[index]), []).append(index)
    # Only PyTorch's older traces hold a "Call stack" arg (an XSpace's are not read for it).
    legacy_stacks = trace.metadata.get("format") != "xplane"
    ts, dur, cat = trace.ts, trace.dur, trace.cat
    for indices in by_track.values():
        # Events are time-sorted; equal starts: the longer one encloses the shorter.
        indices.sort(key=lambda i: (ts[i], -dur[i]))
        open_: list[int] = []  # enclosing events, outermost first
        for index in indices:
            start = ts[index]
            while open_ and ts[open_[-1]] + dur[open_[-1]] <= start:
                open_.pop()
            code = int(cat[index])
            if code in runtime_cat:
                # A runtime call is part of its operator's self time (it is no operator).
                owner = next((j for j in reversed(open_) if int(cat[j]) in op_cat), -1)
                for launched in device_of_corr.get(int(trace.correlation[index]), []):
                    launcher[launched] = owner
                    if owner >= 0:
                        device_self[owner] = device_self.get(owner, 0.0) + float(dur[launched])
                continue
            if open_:
                up = open_[-1]
                host_self[up] = host_self.get(up, float(dur[up])) - float(dur[index])
            if code in op_cat:
                parent[index] = next((j for j in reversed(open_) if int(cat[j]) in op_cat), -1)
                host_self.setdefault(index, float(dur[index]))
                frames = [
                    trace.names[int(trace.name[j])]
                    for j in reversed(open_)
                    if int(cat[j]) in python_cat
                ]
                legacy = (trace.args[index] or {}).get("Call stack") if legacy_stacks else None
                if frames:
                    stacks[index] = tuple(frames[:MAX_FRAMES])
                elif isinstance(legacy, str) and legacy:
                    stacks[index] = tuple(legacy.split(";")[:MAX_FRAMES])
            open_.append(index)
    ops = np.asarray(sorted(parent), dtype=np.int64)
    device_total = dict(device_self)
    # Children start no earlier than their parent: latest first adds each child before its parent.
    for index in sorted(parent, key=lambda i: (ts[i], -dur[i]), reverse=True):
        up = parent[index]
        if up >= 0 and index in device_total:
            device_total[up] = device_total.get(up, 0.0) + device_total[index]
    return OpTree(ops, host_self, device_self, device_total, stacks, launcher)


def _shape_key(args: dict[str, Any] | None) -> str:
    dims = (args or {}).get("Input Dims")
    return str(dims) if dims is not None else ""


def operators(trace: Trace, group_by: str) -> list[dict[str, Any]]:
    """Per operator (or operator and input shapes): calls, host and device self/total times."""
    tree = op_tree(trace)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for index in tree.ops.tolist():
        name = trace.names[int(trace.name[index])]
        if STEP_NAME.match(name):
            continue
        shape = _shape_key(trace.args[index]) if group_by == "operation_input_shape" else ""
        row = groups.get((name, shape))
        if row is None:
            row = groups[(name, shape)] = {
                "name": name, "input_shape": shape if group_by == "operation_input_shape" else None,
                "calls": 0, "host_self": 0.0, "host_total": 0.0, "device_self": 0.0,
                "device_total": 0.0, "stacks": {},
            }  # fmt: skip
        row["calls"] += 1
        row["host_self"] += max(tree.host_self.get(index, 0.0), 0.0)
        row["host_total"] += float(trace.dur[index])
        row["device_self"] += tree.device_self.get(index, 0.0)
        row["device_total"] += tree.device_total.get(index, 0.0)
        stack = tree.stacks.get(index)
        if stack:
            row["stacks"][stack] = row["stacks"].get(stack, 0) + 1
    rows = []
    for row in groups.values():
        stacks = sorted(row.pop("stacks").items(), key=lambda item: -item[1])[:MAX_STACKS]
        row["stacks"] = [{"frames": list(frames), "calls": calls} for frames, calls in stacks]
        rows.append(row)
    rows.sort(key=lambda r: (-r["device_self"], -r["host_self"], r["name"]))
    return rows


def tensor_core_share(trace: Trace) -> float:
    """The share of kernel time spent in kernels that run on tensor cores (by their names)."""
    indices = np.flatnonzero(trace.category_mask("kernel"))
    total = float(trace.dur[indices].sum()) if len(indices) else 0.0
    if total <= 0:
        return 0.0
    uses = np.array([uses_tensor_cores(name) for name in trace.names], dtype=bool)
    return float(trace.dur[indices][uses[trace.name[indices]]].sum()) / total


def kernels(trace: Trace, group_by: str) -> dict[str, Any]:
    """Per kernel (or kernel and launching operator): calls, durations, blocks per SM, occupancy."""
    tree = op_tree(trace)
    indices = np.flatnonzero(trace.category_mask("kernel"))
    trace.args_of(indices.tolist())  # decoded at once (an XSpace's), read below
    groups: dict[tuple[str, str], list[int]] = {}
    for index in indices.tolist():
        name = trace.names[int(trace.name[index])]
        op = ""
        if group_by == "kernel_operator":
            owner = tree.launcher.get(index, -1)
            op = trace.names[int(trace.name[owner])] if owner >= 0 else ""
        groups.setdefault((name, op), []).append(index)
    rows: list[dict[str, Any]] = []
    tc_time = 0.0
    for (name, op), members in groups.items():
        idx = np.asarray(members)
        dur = trace.dur[idx]
        blocks = np.array([_arg(trace.args[i], "blocks per SM") for i in members])
        occ = np.array([_arg(trace.args[i], "est. achieved occupancy %") for i in members])
        tensor = uses_tensor_cores(name)
        if tensor:
            tc_time += float(dur.sum())
        rows.append(
            {
                "name": name, "operator": op if group_by == "kernel_operator" else None,
                "calls": len(members), "total": float(dur.sum()), "mean": float(dur.mean()),
                "min": float(dur.min()), "max": float(dur.max()),
                "blocks_per_sm": _weighted(blocks, dur), "occupancy": _weighted(occ, dur),
                "tensor_cores": tensor,
            }
        )  # fmt: skip
    rows.sort(key=lambda r: (-r["total"], r["name"]))
    kernel_time = float(trace.dur[indices].sum()) if len(indices) else 0.0
    return {
        "kernels": rows,
        "total": kernel_time,
        "tensor_core_time": tc_time,
        "tensor_core_share": tc_time / kernel_time if kernel_time > 0 else 0.0,
    }


def _arg(args: dict[str, Any] | None, key: str) -> float:
    value = (args or {}).get(key)
    return (
        float(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else float("nan")
    )


def _weighted(values: np.ndarray, weights: np.ndarray) -> float | None:
    has = ~np.isnan(values)
    weight = float(weights[has].sum())
    if not has.any():
        return None
    if weight <= 0:
        return float(values[has].mean())
    return float((values[has] * weights[has]).sum() / weight)
