"""Check the writer with CUDA tensors and a real profiler trace (run on a GPU machine).

Usage: ``python scripts/check_cuda.py OUTDIR``. Writes every kind of data from
CUDA tensors (float32, float16, bfloat16), a graph of a CUDA model and a
profiler trace with CUDA activity, reads it all back with TensorBoard's reader
and prints one line per check; exits non-zero on any failure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.util import tensor_util

from lumiboard import SummaryWriter, summary


def main(outdir: str) -> int:  # noqa: PLR0915 - one linear list of checks
    if not torch.cuda.is_available():
        print("FAIL no CUDA device")
        return 1
    root = Path(outdir)
    dev = torch.device("cuda")
    checks: list[tuple[str, bool]] = []
    with SummaryWriter(root / "cuda") as writer:
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            name = str(dtype).split(".")[-1]
            writer.add_scalar(f"scalar/{name}", torch.tensor(1.25, device=dev, dtype=dtype), 1)
            values = torch.linspace(-1, 1, 10_000, device=dev, dtype=dtype)
            writer.add_histogram(f"hist/{name}", values, 1)
            writer.add_image(f"image/{name}", torch.rand(3, 8, 8, device=dev).to(dtype), 1)
            writer.add_embedding(torch.rand(5, 3, device=dev).to(dtype), tag=f"emb_{name}")
        writer.add_video("video", torch.rand(1, 4, 3, 8, 8, device=dev), 1)
        writer.add_audio("audio", torch.rand(100, device=dev) * 2 - 1, 1)
        writer.add_pr_curve("pr", torch.rand(50, device=dev) > 0.5, torch.rand(50, device=dev), 1)
        writer.add_mesh("mesh", torch.rand(1, 10, 3, device=dev))
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU()).to(dev)
        writer.add_graph(model, torch.zeros(2, 4, device=dev))
    functional = summary.create_file_writer(str(root / "trace"))
    with functional.as_default(step=0):
        summary.trace_on(graph=True, profiler=True)
        model(torch.ones(2, 4, device=dev))
        torch.cuda.synchronize()
        checks.append(("trace_export", summary.trace_export("model", step=0)))
    functional.close()

    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(root))
    mux.Reload()
    for name in ("float32", "float16", "bfloat16"):
        (event,) = mux.Tensors("cuda", f"scalar/{name}")
        checks.append(
            (f"scalar {name}", float(tensor_util.make_ndarray(event.tensor_proto)) == 1.25)
        )
        (hist,) = mux.Tensors("cuda", f"hist/{name}")
        buckets = tensor_util.make_ndarray(hist.tensor_proto)
        checks.append((f"histogram {name}", int(buckets[:, 2].sum()) == 10_000))
        checks.append((f"image {name}", bool(mux.Tensors("cuda", f"image/{name}"))))
    checks.append(("video", bool(mux.Tensors("cuda", "video"))))
    checks.append(("audio", bool(mux.Tensors("cuda", "audio"))))
    pr = tensor_util.make_ndarray(mux.Tensors("cuda", "pr")[0].tensor_proto)
    checks.append(("pr curve", pr.shape == (6, 127) and np.isfinite(pr).all()))
    checks.append(("mesh", bool(mux.Tensors("cuda", "mesh_VERTEX"))))
    graph = mux.Graph("cuda")
    checks.append(("graph (CUDA model)", any("linear" in n.op for n in graph.node)))
    devices = {n.device for n in graph.node}
    print("graph devices:", devices)
    checks.append(("trace graph", bool(mux.Graph("trace").node)))
    traces = list((root / "trace").glob("*.pt.trace.json"))
    cuda_events = 0
    if traces:
        events = json.loads(traces[0].read_text())["traceEvents"]
        cuda_events = sum(
            1 for e in events if e.get("cat") in ("kernel", "gpu_memcpy", "cuda_runtime")
        )
    checks.append((f"profiler trace with CUDA events ({cuda_events})", cuda_events > 0))
    failed = 0
    for label, ok in checks:
        print("PASS" if ok else "FAIL", label)
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
