"""The profile plugin's analyses on small hand-made traces with known answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from lumiboard.plugins.profile import distributed, ops, overview, ranges, timeline
from lumiboard.plugins.profile.discover import list_traces, parse_name
from lumiboard.plugins.profile.trace import Trace, TraceError, parse_trace
from lumiboard.reader.discover import Source


def _x(
    cat: str, name: str, ts: float, dur: float, tid: int = 1, pid: int = 1, **args: Any
) -> dict[str, Any]:
    return {
        "ph": "X",
        "cat": cat,
        "name": name,
        "ts": ts,
        "dur": dur,
        "pid": pid,
        "tid": tid,
        "args": args,
    }


def _trace(events: list[dict[str, Any]]) -> Trace:
    return parse_trace(orjson.dumps({"traceEvents": events}))


def test_ranges_algebra() -> None:
    merged = ranges.merge(np.array([5.0, 0.0, 20.0]), np.array([12.0, 10.0, 30.0]))
    assert merged[0].tolist() == [0.0, 20.0]
    assert merged[1].tolist() == [12.0, 30.0]
    other = ranges.merge(np.array([8.0]), np.array([25.0]))
    both = ranges.intersect(merged, other)
    assert list(zip(*both, strict=True)) == [(8.0, 12.0), (20.0, 25.0)]
    rest = ranges.subtract(merged, other)
    assert list(zip(*rest, strict=True)) == [(0.0, 8.0), (25.0, 30.0)]
    assert ranges.total(rest) == 13.0
    assert ranges.total(ranges.intersect(merged, ranges.EMPTY)) == 0.0


def test_breakdown_gives_each_microsecond_to_one_role() -> None:
    # Step 0..100: runtime 5..15 launches a kernel 10..30; a memcpy 20..40; operator 0..50.
    trace = _trace(
        [
            _x("user_annotation", "ProfilerStep#7", 0, 100),
            _x("cpu_op", "aten::mm", 0, 50),
            _x("cuda_runtime", "cudaLaunchKernel", 5, 10, correlation=1),
            _x("kernel", "volta_h884gemm", 10, 20, tid=7, pid=0, correlation=1, device=0,
               **{"blocks per SM": 0.5, "est. achieved occupancy %": 40}),
            _x("gpu_memcpy", "Memcpy HtoD", 20, 20, tid=7, pid=0, correlation=2),
        ]
    )  # fmt: skip
    result = overview.breakdown(trace)
    step = result["steps"][0]
    assert step["step"] == "7"
    assert step["duration"] == 100
    assert (step["Kernel"], step["Memcpy"], step["Runtime"]) == (20, 10, 5)
    assert step["CPU Exec"] == 15
    assert step["Other"] == 50
    gpu = overview.gpu_metrics(trace)[0]
    assert gpu["utilization"] == pytest.approx(0.2)
    assert gpu["sm_efficiency"] == pytest.approx(0.1)  # 20 us at half the SMs over 100 us
    assert gpu["achieved_occupancy"] == pytest.approx(40)
    rows = ops.operators(trace, "operation")
    assert rows[0]["name"] == "aten::mm"
    assert rows[0]["device_self"] == 20  # the kernel it launched; the memcpy has no runtime call
    kernels = ops.kernels(trace, "kernel")
    assert kernels["tensor_core_share"] == 1.0


def test_step_extends_to_its_device_work() -> None:
    trace = _trace(
        [
            _x("user_annotation", "ProfilerStep#0", 0, 10),
            _x("cuda_runtime", "cudaLaunchKernel", 2, 1, correlation=1),
            _x("kernel", "k", 5, 20, tid=7, pid=0, correlation=1),
            _x("user_annotation", "ProfilerStep#1", 12, 10),
            _x("cuda_runtime", "cudaLaunchKernel", 13, 1, correlation=2),
            _x("kernel", "k", 26, 4, tid=7, pid=0, correlation=2),
        ]
    )
    names, starts, ends = overview.steps(trace)
    assert names == ["0", "1"]
    assert starts.tolist() == [0, 25]
    assert ends.tolist() == [25, 30]


def test_host_self_time_and_nesting_depth() -> None:
    trace = _trace(
        [
            _x("cpu_op", "outer", 0, 100),
            _x("cpu_op", "inner", 10, 30),
            _x("cpu_op", "inner", 50, 20),
            _x("cpu_op", "leaf", 15, 5),
            _x("cpu_op", "other thread", 0, 10, tid=2),
        ]
    )
    rows = {row["name"]: row for row in ops.operators(trace, "operation")}
    assert rows["outer"]["host_self"] == 50
    assert rows["outer"]["host_total"] == 100
    assert rows["inner"]["calls"] == 2
    assert rows["inner"]["host_self"] == 45
    depth = timeline.depths(trace)
    by_name = {trace.names[int(n)]: int(d) for n, d in zip(trace.name, depth, strict=True)}
    assert by_name["outer"] == 0
    assert by_name["leaf"] == 2
    assert by_name["other thread"] == 0


def test_distributed_overlap() -> None:
    trace = _trace(
        [
            _x("user_annotation", "ProfilerStep#0", 0, 100),
            _x("kernel", "gemm", 0, 40, tid=7, pid=0),
            _x("kernel", "ncclKernel_AllReduce_RING_LL_Sum_float", 30, 30, tid=8, pid=0),
        ]
    )
    assert distributed.overlap(trace) == {
        "computation": 40,
        "communication": 30,
        "overlap": 10,
        "other": 40,
    }
    assert distributed.collectives(trace)[0]["calls"] == 1


def test_trace_file_names_and_listing(tmp_path: Path) -> None:
    assert parse_name("host_123.1700000000000.pt.trace.json.gz") == ("host_123", "1700000000000")
    assert parse_name("worker0.pt.trace.json") == ("worker0", "default")
    assert parse_name("a.b.12.pt.trace.json") == ("a.b", "12")
    assert parse_name("events.out.tfevents.1") is None
    for relative in ("a/w.2.pt.trace.json", "a/w.10.pt.trace.json", "b/c/x.pt.trace.json.gz"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("{}")
    listing = list_traces([Source(None, str(tmp_path))])
    assert list(listing) == ["a", "b/c"]
    assert list(listing["a"]["w"]) == ["2", "10"]  # numeric span order
    two = list_traces([Source("x", str(tmp_path / "a")), Source(None, str(tmp_path / "b"))])
    assert sorted(two) == ["b/c", "x"]


def test_parse_errors() -> None:
    with pytest.raises(TraceError, match="malformed"):
        parse_trace(b"{nope")
    with pytest.raises(TraceError, match="traceEvents"):
        parse_trace(b'{"traceEvents": 3}')
    odd = _trace(
        [{"ph": "X", "ts": "x"}, 5, {"ph": "X", "ts": 1, "dur": -3, "pid": "p", "tid": None}]
    )
    assert len(odd.ts) == 1
    assert odd.dur[0] == 0


def test_trace_cache_keeps_a_distributed_job_and_bounds_bytes(tmp_path: Path) -> None:
    """The 8 traces of an 8-rank job stay parsed together (a /distributed request no longer
    parses every rank again), and the parsed bytes kept stay under the budget."""
    from lumiboard.plugins.profile.cache import TraceCache, approx_bytes
    from lumiboard.plugins.profile.demo import synthetic_trace, write_trace

    for rank in range(8):
        document = synthetic_trace(rank, steps=2, ops_per_step=10)
        write_trace(tmp_path / "job", f"rank{rank}", 1, document)
    workers = list_traces([Source(None, str(tmp_path))])["job"]
    files = [file for spans in workers.values() for file in spans.values()]
    assert len(files) == 8
    cache = TraceCache()
    first = [cache.get(file) for file in files]
    assert all(cache.get(file) is trace for file, trace in zip(files, first, strict=True))
    budget = approx_bytes(first[0]) * 2
    small = TraceCache(max_bytes=budget)
    kept = [small.get(file) for file in files]
    assert small.get(files[-1]) is kept[-1]  # the newest stays
    assert small.get(files[0]) is not kept[0]  # the oldest had to go, and is parsed again


def test_parsing_pauses_the_collector_and_always_resumes_it() -> None:
    import gc

    from lumiboard.plugins.profile.trace import gc_paused

    assert gc.isenabled()
    with gc_paused():
        with gc_paused():  # another thread's parse, overlapping
            assert not gc.isenabled()
        assert not gc.isenabled()  # still one parse under way
    assert gc.isenabled()
    with pytest.raises(TraceError):
        parse_trace(b"not json")
    assert gc.isenabled()  # resumed after a failed parse too


def test_salvaging_a_hopeless_file_gives_up_after_a_few_parses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each salvage try parses the whole file again: a file full of "}" that is no JSON costs
    a handful of parses, not one per brace."""
    from lumiboard.plugins.profile import trace as trace_module

    calls = []
    real = orjson.loads

    def counting(data: bytes) -> Any:
        calls.append(len(data))
        return real(data)

    monkeypatch.setattr(trace_module.orjson, "loads", counting)
    with pytest.raises(TraceError):
        parse_trace(b'{"traceEvents": [' + b'{"x": }' * 10_000)
    assert 1 < len(calls) <= 1 + trace_module._SALVAGE_TRIES
