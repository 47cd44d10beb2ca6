"""Profiles that TensorFlow, Keras and JAX write (``*.xplane.pb``), read without TensorFlow.

Expected figures are computed here from the raw proto (with the generated ``xplane_pb2``),
not from lumiboard's decoder.
"""

from __future__ import annotations

import contextlib

import pytest

from lumiboard.format.proto import xplane_pb2
from lumiboard.plugins.profile.trace import TraceError
from lumiboard.plugins.profile.xplane import parse_xspace


def _space() -> xplane_pb2.XSpace:
    """A host plane (two lines, a nested pair of events, a referenced stat) and a GPU plane."""
    space = xplane_pb2.XSpace(hostnames=["worker0"], warnings=["buffer full"])
    host = space.planes.add(id=1, name="/host:CPU")
    host.stat_metadata[1].CopyFrom(xplane_pb2.XStatMetadata(id=1, name="step_num"))
    host.stat_metadata[2].CopyFrom(xplane_pb2.XStatMetadata(id=2, name="tf_op"))
    host.stat_metadata[3].CopyFrom(xplane_pb2.XStatMetadata(id=3, name="MatMul:MatMul"))
    host.event_metadata[10].CopyFrom(xplane_pb2.XEventMetadata(id=10, name="Profiled batch"))
    host.event_metadata[11].CopyFrom(
        xplane_pb2.XEventMetadata(id=11, name="raw", display_name="MatMul")
    )
    python = host.lines.add(id=7, name="python", timestamp_ns=2_000)
    step = python.events.add(metadata_id=10, offset_ps=1_500_000, duration_ps=9_000_000)
    step.stats.add(metadata_id=1, int64_value=3)
    op = python.events.add(metadata_id=11, offset_ps=2_000_000, duration_ps=1_250_000)
    op.stats.add(metadata_id=2, ref_value=3)
    python.events.add(metadata_id=11, num_occurrences=4)  # aggregated: no time
    compute = host.lines.add(id=8, name="tf_Compute/-42", timestamp_ns=3_000)
    compute.events.add(metadata_id=11, offset_ps=0, duration_ps=500_000)
    gpu = space.planes.add(id=2, name="/device:GPU:0")
    gpu.stat_metadata[1].CopyFrom(xplane_pb2.XStatMetadata(id=1, name="clock_rate"))
    gpu.stats.add(metadata_id=1, uint64_value=1_410_000)
    gpu.event_metadata[1].CopyFrom(xplane_pb2.XEventMetadata(id=1, name="volta_sgemm"))
    stream = gpu.lines.add(id=1, name="Stream #1", display_name="Stream #1(MemcpyH2D)")
    stream.timestamp_ns = 4_000
    stream.events.add(metadata_id=1, offset_ps=0, duration_ps=2_000_000)
    return space


def test_planes_lines_and_events_become_processes_threads_and_complete_events() -> None:
    trace = parse_xspace(_space().SerializeToString())
    assert len(trace.ts) == 4  # the aggregated event is left out, and said so
    assert any("aggregated" in warning for warning in trace.warnings)
    assert "profiler warning: buffer full" in trace.warnings
    rows = sorted(
        (trace.tracks[t].name, trace.names[n], ts, dur, trace.categories[c])
        for t, n, ts, dur, c in zip(
            trace.track.tolist(),
            trace.name.tolist(),
            trace.ts.tolist(),
            trace.dur.tolist(),
            trace.cat.tolist(),
            strict=True,
        )
    )
    assert rows == [
        ("/host:CPU (0) · python", "MatMul", 4.0, 1.25, "user_annotation"),
        ("/host:CPU (0) · python", "Profiled batch", 3.5, 9.0, "step"),  # it has a step_num
        ("/host:CPU (0) · tf_Compute/-42", "MatMul", 3.0, 0.5, "user_annotation"),
        ("GPU 0 · Stream #1(MemcpyH2D)", "volta_sgemm", 4.0, 2.0, "kernel"),
    ]
    assert [track.kind for track in trace.tracks] == ["cpu", "cpu", "gpu"]
    args = {
        (trace.names[n], ts): a
        for n, ts, a in zip(trace.name.tolist(), trace.ts.tolist(), trace.args, strict=True)
    }
    assert args[("Profiled batch", 3.5)] == {"step_num": 3}
    # The reference resolved; the metadata's own name kept beside the display name shown.
    assert args[("MatMul", 4.0)] == {"name": "raw", "tf_op": "MatMul:MatMul"}
    assert args[("MatMul", 3.0)] == {"name": "raw"}
    assert trace.metadata["hostnames"] == ["worker0"]
    assert trace.metadata["planes"][1] == {
        "id": 2,
        "name": "/device:GPU:0",
        "stats": {"clock_rate": 1_410_000},
    }


@pytest.mark.parametrize("cut", [1, 7, 40, -3])
def test_a_truncated_space_is_a_trace_error(cut: int) -> None:
    data = _space().SerializeToString()
    with pytest.raises(TraceError, match="damaged or truncated"):
        parse_xspace(data[:cut])


def test_bit_flips_never_raise_anything_but_trace_error() -> None:
    data = bytearray(_space().SerializeToString())
    for index in range(len(data)):
        for bit in (0, 3, 7):
            flipped = bytearray(data)
            flipped[index] ^= 1 << bit
            with contextlib.suppress(TraceError):
                parse_xspace(bytes(flipped))
