"""Demo data for the Profile dashboard: synthetic PyTorch profiler traces.

``write_demo`` writes a two-rank data-parallel job (``profile/ddp``) as Kineto
would: host operators launching kernels through runtime calls (shared
``correlation``), NCCL all-reduce kernels overlapping the backward pass,
memory events, and ``ProfilerStep#N`` annotations. No GPU or torch needed.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path
from typing import Any

import orjson

KERNELS = (
    ("volta_sgemm_128x64_nn", 40.0),
    (
        "sm80_xmma_gemm_f16f16_f16f32_f32_tn_n_tilesize128x128x32_stage4_warpsize2x2x1_tensor16x8x16",
        25.0,
    ),
    ("void at::native::vectorized_elementwise_kernel<4, at::native::AddFunctor<float>>", 4.0),
    ("void cudnn::bn_fw_tr_1C11_kernel_NCHW<float, float, int, 512, true, 1>", 12.0),
)


def synthetic_trace(
    rank: int = 0, steps: int = 4, ops_per_step: int = 60, seed: int = 0
) -> dict[str, Any]:
    """A trace document: ``steps`` steps of ``ops_per_step`` operators, each launching a kernel."""
    rng = random.Random(seed * 1000 + rank)
    pid, tid, stream, comm_stream = 100 + rank, 100 + rank, 7, 20
    events: list[dict[str, Any]] = []
    correlation = 0
    now = 1_000.0
    gpu_free = now
    allocated = 0
    for step in range(steps):
        step_start = now
        for i in range(ops_per_step):
            name = (
                "aten::linear" if i % 3 == 0 else "aten::add_" if i % 3 == 1 else "aten::batch_norm"
            )
            op_dur = rng.uniform(20, 40)
            events.append(
                _x("cpu_op", name, pid, tid, now, op_dur, {"Input Dims": [[64, 128], [128]]})
            )
            correlation += 1
            launch = now + op_dur * 0.3
            events.append(
                _x(
                    "cuda_runtime",
                    "cudaLaunchKernel",
                    pid,
                    tid,
                    launch,
                    5.0,
                    {"correlation": correlation},
                )
            )
            kernel, mean = KERNELS[i % len(KERNELS)]
            start = max(gpu_free, launch + 5.0)
            duration = mean * rng.uniform(0.8, 1.2)
            args = {
                "correlation": correlation,
                "device": rank,
                "stream": stream,
                "blocks per SM": rng.uniform(0.3, 4.0),
                "est. achieved occupancy %": rng.uniform(20, 90),
            }
            events.append(_x("kernel", kernel, 0, stream, start, duration, args))
            gpu_free = start + duration
            size = 64 * 128 * 4
            allocated += size
            events.append(_memory(pid, tid, now + 1, size, allocated, 0x7000 + correlation))
            if i % 2:
                allocated -= size
                events.append(
                    _memory(pid, tid, now + op_dur - 1, -size, allocated, 0x7000 + correlation)
                )
            now += op_dur + rng.uniform(1, 5)
        # The gradient all-reduce, overlapping the last kernels.
        correlation += 1
        events.append(
            _x(
                "cpu_op",
                "nccl:all_reduce",
                pid,
                tid,
                now,
                15.0,
                {"Collective name": "allreduce", "In msg nelems": 1 << 20, "dtype": "Float"},
            )
        )
        events.append(
            _x(
                "cuda_runtime",
                "cudaLaunchKernel",
                pid,
                tid,
                now + 2,
                5.0,
                {"correlation": correlation},
            )
        )
        nccl_start = now + 8 - 300.0 * (rank + 1) / 4
        nccl = "ncclDevKernel_AllReduce_Sum_f32_RING_LL(ncclDevComm*, unsigned long, ncclWork*)"
        events.append(
            _x(
                "kernel",
                nccl,
                0,
                comm_stream,
                max(nccl_start, step_start),
                400.0,
                {"correlation": correlation, "device": rank},
            )
        )
        now += 20.0
        gpu_free = max(gpu_free, nccl_start + 400.0)
        events.append(
            _x(
                "user_annotation",
                f"ProfilerStep#{step}",
                pid,
                tid,
                step_start,
                now - step_start,
                {},
            )
        )
        now += 10.0
    events.append(
        {"ph": "M", "name": "process_labels", "pid": 0, "tid": 0, "args": {"labels": f"GPU {rank}"}}
    )
    events.append(
        {
            "ph": "M",
            "name": "thread_name",
            "pid": 0,
            "tid": stream,
            "args": {"name": f"stream {stream}"},
        }
    )
    events.append(
        {
            "ph": "M",
            "name": "thread_name",
            "pid": 0,
            "tid": comm_stream,
            "args": {"name": f"stream {comm_stream} (NCCL)"},
        }
    )
    events.append(
        {"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": "python"}}
    )
    device = {"id": rank, "name": "Demo GPU", "totalGlobalMem": 16 << 30}
    device.update({"computeMajor": 8, "computeMinor": 0, "numSms": 108})
    return {"schemaVersion": 1, "deviceProperties": [device], "traceEvents": events}


def _x(
    cat: str, name: str, pid: int, tid: int, ts: float, dur: float, args: dict[str, Any]
) -> dict[str, Any]:
    return {
        "ph": "X",
        "cat": cat,
        "name": name,
        "pid": pid,
        "tid": tid,
        "ts": round(ts, 3),
        "dur": round(dur, 3),
        "args": args,
    }


def _memory(pid: int, tid: int, ts: float, size: int, allocated: int, addr: int) -> dict[str, Any]:
    args = {
        "Total Reserved": 1 << 28,
        "Total Allocated": allocated,
        "Bytes": size,
        "Device Id": 0,
        "Device Type": 1,
        "Addr": addr,
    }
    return {
        "ph": "i",
        "s": "t",
        "cat": "cpu_instant_event",
        "name": "[memory]",
        "pid": pid,
        "tid": tid,
        "ts": round(ts, 3),
        "args": args,
    }


def write_trace(
    directory: Path, worker: str, span: int, document: dict[str, Any], gzip_: bool = True
) -> Path:
    """Write ``document`` as ``<worker>.<span>.pt.trace.json[.gz]`` (the trace handler's name)."""
    directory.mkdir(parents=True, exist_ok=True)
    data = orjson.dumps(document)
    path = directory / f"{worker}.{span}.pt.trace.json{'.gz' if gzip_ else ''}"
    path.write_bytes(gzip.compress(data, compresslevel=5) if gzip_ else data)
    return path


def write_demo(logdir: Path) -> None:
    """A two-rank job under ``logdir/profile/ddp``, two profiling sessions each."""
    for rank in range(2):
        for session in range(2):
            document = synthetic_trace(rank, steps=4, ops_per_step=80, seed=session)
            write_trace(
                logdir / "profile" / "ddp",
                f"rank{rank}",
                1_700_000_000_000 + session * 1000 + rank,
                document,
            )
