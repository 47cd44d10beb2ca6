"""The Overview, Operators, Kernels and Memory views computed from XSpace profiles.

Real CPU profiles (Keras ``profile_batch``, ``tf.profiler.experimental``, ``jax.profiler.trace``:
tests/fixtures/xplane, written by scripts/make_xplane_fixtures.py and
scripts/make_jax_profile_fixtures.py) and a GPU profile built here with the proto (no GPU
was at hand to record one). Expected figures are computed from the raw proto with the
generated ``xplane_pb2``, not from lumiboard's decoder.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lumiboard.format.proto import xplane_pb2
from lumiboard.plugins.profile import memory, ops, overview, ranges, routes, xspace_wire
from lumiboard.plugins.profile.trace import Trace, parse_trace, read_bytes
from lumiboard.plugins.profile.xplane import parse_xspace
from lumiboard.plugins.profile.xplane_kinds import classify_chrome

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "xplane"
SESSION = "plugins/profile/2026_01_01_00_00_00"
PROFILES = {
    "keras": FIXTURES / "keras" / "train" / SESSION / "host.xplane.pb",
    "tf": FIXTURES / "tf" / SESSION / "host.xplane.pb",
    "jax": FIXTURES / "jax" / SESSION / "host.xplane.pb",
}
JAX_JSON = FIXTURES / "jax" / SESSION / "host.trace.json.gz"
#: How TensorFlow names an op's TraceMe: ``<op name>:<op type>``.
TF_OP = re.compile(r"^[^:\s]+:[A-Za-z_]\w*$")


def _raw(path: Path) -> list[dict[str, Any]]:
    """Every timed event of a profile, from the proto: name, display, times (µs), stats."""
    space = xplane_pb2.XSpace.FromString(path.read_bytes())
    events = []
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.stat_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                if event.WhichOneof("data") != "offset_ps":
                    continue
                meta = plane.event_metadata[event.metadata_id]
                stats = {names[s.metadata_id]: s for s in event.stats}
                events.append(
                    {
                        "name": meta.name,
                        "shown": meta.display_name or meta.name,
                        "start": (line.timestamp_ns * 1000 + event.offset_ps) / 1e6,
                        "duration": event.duration_ps / 1e6,
                        "stats": stats,
                    }
                )
    return events


def _trace(name: str) -> Trace:
    return parse_xspace(PROFILES[name].read_bytes())


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_steps_are_the_profilers_step_markers(name: str) -> None:
    markers = sorted(
        (event["start"], event["duration"], event["stats"]["step_num"].int64_value)
        for event in _raw(PROFILES[name])
        if "step_num" in event["stats"]
    )
    assert len(markers) >= 3  # Keras profile_batch=(2, 4); 5 steps in the TF and JAX loops
    steps = overview.breakdown(_trace(name))["steps"]
    assert [row["step"] for row in steps] == [str(number) for _, _, number in markers]
    # Only the host ran: a step lasts exactly as long as its marker.
    assert [row["duration"] for row in steps] == pytest.approx([d for _, d, _ in markers])
    first = markers[0][0]
    starts = [row["start"] - steps[0]["start"] for row in steps]
    assert starts == pytest.approx([start - first for start, _, _ in markers], abs=1e-3)
    for row in steps:  # every microsecond of a step is given to one role
        shares = sum(row[role] for role in overview.ROLES) + row["Other"]
        assert shares == pytest.approx(row["duration"])
        assert row["CPU Exec"] > 0.5 * row["duration"]
        assert row["Kernel"] == 0.0


def test_keras_input_wait_is_the_data_loader_share() -> None:
    """The loop waiting on tf.data (IteratorGetNext) is the step's input time."""
    raw = _raw(PROFILES["keras"])
    waits = [e for e in raw if e["name"] == "IteratorGetNextOp::DoCompute"]
    assert waits
    steps = overview.breakdown(_trace("keras"))["steps"]
    assert sum(row["DataLoader"] for row in steps) > 0
    assert sum(row["DataLoader"] for row in steps) <= sum(e["duration"] for e in waits) + 1e-6


@pytest.mark.parametrize("name", ["keras", "tf"])
def test_operators_are_the_tensorflow_ops(name: str) -> None:
    raw = [event for event in _raw(PROFILES[name]) if TF_OP.match(event["name"])]
    want = Counter(event["shown"] for event in raw)
    assert want["ReadVariableOp"] > 0
    rows = ops.operators(_trace(name), "operation")
    assert {row["name"]: row["calls"] for row in rows} == dict(want)
    totals = {row["name"]: row["host_total"] for row in rows}
    for op in want:
        expected = sum(event["duration"] for event in raw if event["shown"] == op)
        assert totals[op] == pytest.approx(expected)
    assert all(0 <= row["host_self"] <= row["host_total"] + 1e-9 for row in rows)


def test_jax_operators_are_the_xla_ops() -> None:
    raw = [event for event in _raw(PROFILES["jax"]) if "hlo_op" in event["stats"]]
    want = Counter(event["shown"] for event in raw)
    assert sum(want.values()) == 30  # 6 XLA ops in each of 5 steps
    rows = ops.operators(_trace("jax"), "operation")
    assert {row["name"]: row["calls"] for row in rows} == dict(want)


def test_jax_json_export_reads_as_its_xplane() -> None:
    """JAX's ``<host>.trace.json.gz`` (read when no .xplane.pb was kept) gives the same views."""
    from_json = parse_trace(read_bytes(str(JAX_JSON)))
    classify_chrome(from_json)
    from_proto = _trace("jax")
    assert from_json.metadata["format"] == "xplane"
    json_steps = overview.breakdown(from_json)["steps"]
    proto_steps = overview.breakdown(from_proto)["steps"]
    assert [r["step"] for r in json_steps] == [r["step"] for r in proto_steps]
    assert [r["duration"] for r in json_steps] == pytest.approx(
        [r["duration"] for r in proto_steps], abs=1e-3
    )
    assert {r["name"]: r["calls"] for r in ops.operators(from_json, "operation")} == {
        r["name"]: r["calls"] for r in ops.operators(from_proto, "operation")
    }


def test_a_pytorch_trace_is_not_reclassified(tmp_path: Path) -> None:
    trace = parse_trace(
        b'{"traceEvents": [{"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, '
        b'"tid": 1, "ts": 1, "dur": 2}]}'
    )
    classify_chrome(trace)
    assert trace.categories == ["cpu_op"]
    assert "format" not in trace.metadata


def _gpu_space() -> xplane_pb2.XSpace:
    """A TensorFlow GPU profile's shape: a host thread running a TF op that launches a kernel
    (shared ``correlation_id``), the GPU plane's stream with the kernel and a copy, device
    capabilities as plane stats, and the BFC allocator's events."""
    space = xplane_pb2.XSpace(hostnames=["gpuhost"])
    host = space.planes.add(id=1, name="/host:CPU")
    stat_names = [
        "step_num", "correlation_id", "allocation_bytes", "bytes_allocated", "bytes_reserved",
        "addr", "allocator_name", "kernel_details", "core_count", "compute_cap_major",
        "compute_cap_minor", "memory_size", "device_vendor",
    ]  # fmt: skip
    sid = {name: i + 1 for i, name in enumerate(stat_names)}
    for plane in (host,):
        for name, key in sid.items():
            plane.stat_metadata[key].CopyFrom(xplane_pb2.XStatMetadata(id=key, name=name))
    for key, name in enumerate(
        [
            "train",
            "dense/MatMul:MatMul",
            "cuLaunchKernel",
            "MemoryAllocation",
            "MemoryDeallocation",
        ],
        start=1,
    ):
        host.event_metadata[key].CopyFrom(xplane_pb2.XEventMetadata(id=key, name=name))
    thread = host.lines.add(id=1, name="python", timestamp_ns=1_000)
    for step in range(2):
        base = step * 100_000_000  # 100 µs apart, in ps
        marker = thread.events.add(metadata_id=1, offset_ps=base, duration_ps=50_000_000)
        marker.stats.add(metadata_id=sid["step_num"], int64_value=step)
        thread.events.add(metadata_id=2, offset_ps=base + 5_000_000, duration_ps=20_000_000)
        launch = thread.events.add(metadata_id=3, offset_ps=base + 6_000_000, duration_ps=4_000_000)
        launch.stats.add(metadata_id=sid["correlation_id"], uint64_value=10 + step)
        alloc = thread.events.add(metadata_id=4, offset_ps=base + 7_000_000, duration_ps=0)
        for name, value in (
            ("allocation_bytes", 4096),
            ("bytes_allocated", 4096 * (step + 1)),
            ("bytes_reserved", 1 << 20),
            ("addr", 0xABC0 + step),
        ):
            alloc.stats.add(metadata_id=sid[name], int64_value=value)
        alloc.stats.add(metadata_id=sid["allocator_name"], str_value="GPU_0_bfc")
        free = thread.events.add(metadata_id=5, offset_ps=base + 40_000_000, duration_ps=0)
        for name, value in (
            ("allocation_bytes", 4096),
            ("bytes_allocated", 4096 * step),
            ("addr", 0xABC0 + step),
        ):
            free.stats.add(metadata_id=sid[name], int64_value=value)
        free.stats.add(metadata_id=sid["allocator_name"], str_value="GPU_0_bfc")
    gpu = space.planes.add(id=2, name="/device:GPU:0")
    for name, key in sid.items():
        gpu.stat_metadata[key].CopyFrom(xplane_pb2.XStatMetadata(id=key, name=name))
    gpu.stats.add(metadata_id=sid["core_count"], int64_value=80)
    gpu.stats.add(metadata_id=sid["compute_cap_major"], int64_value=8)
    gpu.stats.add(metadata_id=sid["compute_cap_minor"], int64_value=0)
    gpu.stats.add(metadata_id=sid["memory_size"], uint64_value=40 << 30)
    gpu.stats.add(metadata_id=sid["device_vendor"], str_value="Nvidia")
    gpu.event_metadata[1].CopyFrom(xplane_pb2.XEventMetadata(id=1, name="volta_sgemm_128x64_nn"))
    gpu.event_metadata[2].CopyFrom(xplane_pb2.XEventMetadata(id=2, name="MemcpyH2D"))
    stream = gpu.lines.add(id=7, name="Stream #7(Compute)", timestamp_ns=1_000)
    for step in range(2):
        base = step * 100_000_000
        kernel = stream.events.add(
            metadata_id=1, offset_ps=base + 12_000_000, duration_ps=30_000_000
        )
        kernel.stats.add(metadata_id=sid["correlation_id"], uint64_value=10 + step)
        kernel.stats.add(
            metadata_id=sid["kernel_details"],
            str_value="regs:64 static_shared:0 dynamic_shared:4096 grid:160,1,1 "
            "block:256,1,1 occ_pct:25",
        )
        stream.events.add(metadata_id=2, offset_ps=base + 1_000_000, duration_ps=2_000_000)
    return space


def test_gpu_profile_kernels_launches_and_device_facts() -> None:
    trace = parse_xspace(_gpu_space().SerializeToString())
    table = ops.kernels(trace, "kernel_operator")
    (row,) = table["kernels"]
    assert row["name"] == "volta_sgemm_128x64_nn"
    assert row["operator"] == "MatMul"  # its launch ran inside the TF op (correlation_id)
    assert row["calls"] == 2
    assert row["total"] == pytest.approx(60.0)
    assert row["blocks_per_sm"] == pytest.approx(160 / 80)
    assert row["occupancy"] == pytest.approx(25.0)
    (op,) = [r for r in ops.operators(trace, "operation") if r["name"] == "MatMul"]
    assert op["device_self"] == pytest.approx(60.0)
    assert op["calls"] == 2
    (device,) = overview.devices(trace)
    assert device == {
        "id": 0, "name": "Nvidia", "memory": 40 << 30, "compute_capability": "8.0", "sms": 80,
    }  # fmt: skip
    answer = routes._compute_overview(trace)
    steps = answer["breakdown"]["steps"]
    assert [r["step"] for r in steps] == ["0", "1"]
    # A step lasts until the kernel it launched ends (12 + 30 µs < 50 µs: the marker's end).
    assert [r["duration"] for r in steps] == pytest.approx([50.0, 50.0])
    assert [r["Kernel"] for r in steps] == pytest.approx([30.0, 30.0])
    assert [r["Memcpy"] for r in steps] == pytest.approx([2.0, 2.0])
    (gpu,) = answer["gpu"]
    assert gpu["utilization"] == pytest.approx(0.6)
    assert gpu["achieved_occupancy"] == pytest.approx(25.0)


def test_gpu_profile_memory_from_the_allocator_events() -> None:
    trace = parse_xspace(_gpu_space().SerializeToString())
    view = memory.memory(trace)
    (device,) = view["devices"]
    assert device["device"] == "GPU0"
    assert device["allocated"] == [4096.0, 0.0, 8192.0, 4096.0]
    assert device["peak_allocated"] == 8192.0
    assert device["peak_reserved"] == float(1 << 20)
    rows = view["events"]
    assert [r["size"] for r in rows] == [4096, 4096]
    assert [r["duration"] for r in rows] == pytest.approx([33.0, 33.0])
    assert [r["operator"] for r in rows] == ["MatMul", "MatMul"]  # made inside the TF op


def test_event_details_decode_stats_on_demand() -> None:
    trace = parse_xspace(_gpu_space().SerializeToString())
    kernels = [i for i, c in enumerate(trace.cat.tolist()) if trace.categories[c] == "kernel"]
    args = trace.args[kernels[0]] or {}
    assert args["registers per thread"] == 64
    assert args["grid"] == [160, 1, 1]
    assert args["device"] == 0
    assert len(trace.args) == len(trace.ts)
    assert trace.args[-1] == trace.args[len(trace.ts) - 1]
    with pytest.raises(IndexError):
        trace.args[len(trace.ts)]


def test_epoch_timestamps_keep_their_picoseconds() -> None:
    """Lines stamped in nanoseconds since the epoch: times stay exact to the picosecond."""
    space = xplane_pb2.XSpace()
    plane = space.planes.add(id=1, name="/host:CPU")
    plane.event_metadata[1].CopyFrom(xplane_pb2.XEventMetadata(id=1, name="op"))
    line = plane.lines.add(id=1, name="t", timestamp_ns=1_796_000_000_123_456_789)
    line.events.add(metadata_id=1, offset_ps=1, duration_ps=1)
    line.events.add(metadata_id=1, offset_ps=2_000_001, duration_ps=1)
    trace = parse_xspace(space.SerializeToString())
    assert trace.metadata["time_base_ns"] == 1_796_000_000_000_000_000
    assert trace.ts.tolist() == pytest.approx([123_456.789001, 123_458.789001], abs=1e-9)
    assert float(trace.ts[1] - trace.ts[0]) == pytest.approx(2.0, abs=1e-9)


def test_covered_matches_clip_and_total_per_window() -> None:
    rng = np.random.default_rng(3)
    starts = rng.uniform(0, 1000, 300)
    merged = ranges.merge(starts, starts + rng.uniform(0, 20, 300))
    low = rng.uniform(-50, 1050, 500)
    high = low + rng.uniform(0, 100, 500)
    want = [ranges.total(ranges.clip(merged, a, b)) for a, b in zip(low, high, strict=True)]
    assert ranges.covered(merged, low, high).tolist() == pytest.approx(want, abs=1e-9)
    assert ranges.covered(ranges.EMPTY, low, high).tolist() == [0.0] * 500


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_without_the_native_decoder_the_views_are_the_same(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build without a compiler decodes with protobuf alone: same trace, same views."""
    native = _trace(name)
    monkeypatch.setattr(xspace_wire, "_xspace", None)
    fallback = _trace(name)
    for column in ("ts", "dur", "cat", "name", "track", "correlation"):
        assert getattr(fallback, column).tolist() == getattr(native, column).tolist(), column
    assert fallback.names == native.names
    assert list(fallback.args) == list(native.args)
    assert overview.breakdown(fallback) == overview.breakdown(native)
    assert ops.operators(fallback, "operation") == ops.operators(native, "operation")


def test_overview_tensor_core_share_is_the_kernel_tables() -> None:
    space = _gpu_space()
    gpu = space.planes[1]
    gpu.event_metadata[3].CopyFrom(xplane_pb2.XEventMetadata(id=3, name="sm80_xmma_gemm_f16"))
    gpu.lines[0].events.add(metadata_id=3, offset_ps=60_000_000, duration_ps=10_000_000)
    trace = parse_xspace(space.SerializeToString())
    share = ops.tensor_core_share(trace)
    assert share == pytest.approx(10 / 70)
    assert share == pytest.approx(ops.kernels(trace, "kernel")["tensor_core_share"])
    assert routes._compute_overview(trace)["tensor_core_share"] == pytest.approx(share)


def test_overview_says_where_and_when_the_profile_was_recorded() -> None:
    space = xplane_pb2.XSpace.FromString(PROFILES["jax"].read_bytes())
    facts: dict[str, Any] = {}
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.stat_metadata.items()}
        for stat in plane.stats:
            facts[names[stat.metadata_id]] = getattr(stat, stat.WhichOneof("value") or "")
    summary = routes._compute_overview(_trace("jax"))["host"]
    assert summary.startswith(f"host {space.hostnames[0]} · profiled ")
    length = (facts["profile_stop_time"] - facts["profile_start_time"]) / 1e6
    assert f"for {length:,.1f} ms" in summary
    assert f"jax {facts['jax_version']}" in summary
    pytorch = parse_trace(b'{"traceEvents": []}')
    assert overview.host_summary(pytorch) is None
