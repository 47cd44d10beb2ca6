"""The profile plugin's routes over the real CUDA fixture, torch CPU traces and broken files.

Expected numbers are recomputed here from the raw JSON (kernel totals, operator counts, steps,
memory peaks), independently of the plugin's parser.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from lumiboard.plugins.profile import routes as profile_routes
from lumiboard.plugins.profile.cache import TraceCache
from lumiboard.plugins.profile.discover import TraceIndex
from lumiboard.reader.reload import Reloader
from lumiboard.server import errors
from lumiboard.server.context import Context, ServerOptions
from lumiboard.store.provider import Provider

FIXTURE = next(
    Path("/work/shared/fixtures/torch_profiler/resnet18_cuda").glob("*.pt.trace.json.gz")
)
P = "/data/plugin/profile"


def _app(logdir: Path | str) -> TestClient:
    """The plugin's routes mounted as the server mounts them (caches: the module's)."""
    reloader = Reloader(str(logdir))
    app = Starlette(
        routes=[Mount(P, routes=profile_routes.ROUTES)], exception_handlers=errors.HANDLERS
    )
    app.state.context = Context(reloader, Provider(reloader.runs), ServerOptions())
    return TestClient(app)


def _write_cpu_trace(directory: Path, worker: str, steps: int = 4, gzip_: bool = False) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    activities = [torch.profiler.ProfilerActivity.CPU]
    handler = torch.profiler.tensorboard_trace_handler(
        str(directory), worker_name=worker, use_gzip=gzip_
    )
    schedule = torch.profiler.schedule(wait=0, warmup=1, active=steps, repeat=1)
    with torch.profiler.profile(
        activities=activities,
        schedule=schedule,
        on_trace_ready=handler,
        record_shapes=True,
        profile_memory=True,
        with_stack=True,
    ) as prof:
        for _ in range(steps + 1):
            model(torch.randn(8, 16)).sum().backward()
            prof.step()


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("profile")
    (root / "resnet").mkdir()
    shutil.copy(FIXTURE, root / "resnet" / FIXTURE.name)
    _write_cpu_trace(root / "cpu" / "nested", "rank0")
    _write_cpu_trace(root / "cpu" / "nested", "rank1", gzip_=True)
    bad = root / "bad"
    bad.mkdir()
    (bad / "notjson.1.pt.trace.json").write_text("this is not json")
    raw = FIXTURE.read_bytes()
    (bad / "cutgz.2.pt.trace.json.gz").write_bytes(raw[: len(raw) // 2])
    (bad / "badgz.3.pt.trace.json.gz").write_bytes(b"\x1f\x8b\x08garbage-garbage")
    text = gzip.decompress(raw)
    (bad / "truncated.4.pt.trace.json").write_bytes(text[: int(len(text) * 0.6)])
    (bad / "noevents.5.pt.trace.json").write_text('{"schemaVersion": 1}')
    (bad / "unrelated.json").write_text("{}")
    return root


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own trace index (listed anew on every request) and parse cache."""
    monkeypatch.setattr(profile_routes, "INDEX", TraceIndex(ttl=0.0))
    monkeypatch.setattr(profile_routes, "CACHE", TraceCache())


@pytest.fixture(scope="module")
def client(logdir: Path) -> Iterator[TestClient]:
    with _app(logdir) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def raw() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(gzip.decompress(FIXTURE.read_bytes()))["traceEvents"]
    return events


def _get(client: TestClient, route: str, **params: Any) -> Any:
    response = client.get(f"{P}/{route}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


RESNET = {"run": "resnet", "worker": "worker0"}


def test_runs_lists_workers_and_spans(client: TestClient) -> None:
    runs = _get(client, "runs")["runs"]
    assert set(runs) == {"resnet", "cpu/nested", "bad"}
    assert set(runs["cpu/nested"]) == {"rank0", "rank1"}
    assert runs["cpu/nested"]["rank1"][0]["file"].endswith(".pt.trace.json.gz")
    assert [s["span"] for s in runs["resnet"]["worker0"]] == [FIXTURE.name.split(".")[1]]
    assert "unrelated" not in json.dumps(runs)


def test_overview_steps_and_breakdown(client: TestClient, raw: list[dict[str, Any]]) -> None:
    data = _get(client, "overview", **RESNET)
    steps = [
        e
        for e in raw
        if e.get("name", "").startswith("ProfilerStep#") and e.get("cat") == "user_annotation"
    ]
    rows = data["breakdown"]["steps"]
    assert [row["step"] for row in rows] == [e["name"].split("#")[1] for e in steps]
    roles = data["breakdown"]["roles"]
    for row in rows:
        # Each microsecond goes to exactly one role.
        assert sum(row[role] for role in roles) == pytest.approx(row["duration"], abs=0.05)
        assert row["Kernel"] > 0
        assert row["CPU Exec"] > 0
        assert row["Communication"] == 0
    assert data["devices"][0]["name"] == "NVIDIA H100 80GB HBM3"
    gpu = data["gpu"][0]
    assert 0 < gpu["utilization"] < 1
    assert 0 < gpu["sm_efficiency"] <= gpu["utilization"]
    assert 0 < gpu["achieved_occupancy"] <= 100
    kernel_time = sum(e["dur"] for e in raw if e.get("cat") == "kernel")
    assert gpu["kernel_time"] == pytest.approx(kernel_time)
    assert data["events"] == sum(1 for e in raw if e.get("ph") == "X")
    assert data["recommendations"]  # 18% GPU utilization: there is advice to give


def test_kernels_match_raw_totals(client: TestClient, raw: list[dict[str, Any]]) -> None:
    data = _get(client, "kernels", **RESNET)
    kernels = [e for e in raw if e.get("cat") == "kernel"]
    assert data["total"] == pytest.approx(sum(e["dur"] for e in kernels))
    calls = Counter(e["name"] for e in kernels)
    assert {row["name"]: row["calls"] for row in data["kernels"]} == dict(calls)
    top = data["kernels"][0]
    durations = [e["dur"] for e in kernels if e["name"] == top["name"]]
    assert top["total"] == pytest.approx(sum(durations))
    assert (top["min"], top["max"]) == (
        pytest.approx(min(durations)),
        pytest.approx(max(durations)),
    )
    assert 0 <= data["tensor_core_share"] <= 1
    by_op = _get(client, "kernels", group_by="kernel_operator", **RESNET)
    assert sum(row["calls"] for row in by_op["kernels"]) == len(kernels)
    assert any(row["operator"] == "aten::cudnn_convolution" for row in by_op["kernels"])


def test_operators_counts_and_times(client: TestClient, raw: list[dict[str, Any]]) -> None:
    data = _get(client, "operators", **RESNET)
    rows = {row["name"]: row for row in data["operators"]}
    calls = Counter(e["name"] for e in raw if e.get("cat") == "cpu_op")
    assert rows["aten::empty"]["calls"] == calls["aten::empty"] == 400
    assert {name: row["calls"] for name, row in rows.items()} == dict(calls)
    for row in data["operators"]:
        assert row["host_self"] <= row["host_total"] + 1e-6
        assert row["device_self"] <= row["device_total"] + 1e-6
    # Every kernel, memcpy and memset launched from an operator is counted once as device self time.
    device = sum(e["dur"] for e in raw if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset"))
    assert 0.9 * device < sum(row["device_self"] for row in data["operators"]) <= device + 1e-3
    shaped = _get(client, "operators", group_by="operation_input_shape", **RESNET)["operators"]
    assert len(shaped) > len(rows)
    assert sum(r["calls"] for r in shaped if r["name"] == "aten::empty") == 400


def test_memory_curve_and_events(client: TestClient, raw: list[dict[str, Any]]) -> None:
    data = _get(client, "memory", **RESNET)
    gpu = next(d for d in data["devices"] if d["device"] == "GPU0")
    memory = [
        e["args"] for e in raw if e.get("name") == "[memory]" and e["args"]["Device Type"] == 1
    ]
    assert gpu["peak_allocated"] == max(a["Total Allocated"] for a in memory)
    assert gpu["peak_reserved"] == max(a["Total Reserved"] for a in memory)
    assert len(gpu["time"]) == len(memory)
    allocations = [row for row in data["events"] if row["device"] == "GPU0"]
    assert len(allocations) == sum(1 for a in memory if a["Bytes"] > 0)
    released = [row for row in allocations if row["release_time"] is not None]
    assert released
    assert all(row["duration"] >= 0 for row in released)
    assert any(row["operator"] == "aten::empty" for row in allocations)


def test_trace_window_and_cap(client: TestClient, raw: list[dict[str, Any]]) -> None:
    full = _get(client, "trace", **RESNET)
    complete = [e for e in raw if e.get("ph") == "X"]
    assert full["total"] == len(complete)
    assert not full["truncated"]
    events = full["events"]
    assert len(events["start"]) == len(complete)
    assert events["start"] == sorted(events["start"])
    kinds = {t["kind"] for t in full["tracks"]}
    assert {"cpu", "gpu"} <= kinds
    capped = _get(client, "trace", limit=100, **RESNET)
    assert capped["truncated"]
    assert len(capped["events"]["id"]) == 100
    longest = sorted((e["dur"] for e in complete), reverse=True)[:100]
    assert min(capped["events"]["duration"]) == pytest.approx(min(longest), abs=1e-3)
    window = _get(client, "trace", start=1000, end=2000, **RESNET)
    for start, duration in zip(
        window["events"]["start"], window["events"]["duration"], strict=True
    ):
        assert start <= 2000
        assert start + duration >= 1000
    assert 0 < window["total"] < full["total"]
    first = _get(client, "event", id=int(events["id"][0]), **RESNET)
    assert first["name"] == full["names"][events["name"][0]]


def test_cpu_traces_from_torch(client: TestClient) -> None:
    for worker in ("rank0", "rank1"):  # plain and gzipped
        params = {"run": "cpu/nested", "worker": worker}
        overview = _get(client, "overview", **params)
        assert len(overview["breakdown"]["steps"]) == 4
        assert overview["gpu"] == []
        assert overview["devices"] == []
        operators = {row["name"]: row for row in _get(client, "operators", **params)["operators"]}
        assert operators["aten::addmm"]["calls"] == 8  # two Linear layers, four steps
        assert operators["aten::addmm"]["stacks"]  # with_stack=True
        assert any("forward" in frame for frame in operators["aten::addmm"]["stacks"][0]["frames"])
        memory = _get(client, "memory", **params)
        assert memory["devices"][0]["device"] == "CPU"
    distributed = _get(client, "distributed", run="cpu/nested")
    assert [w["worker"] for w in distributed["workers"]] == ["rank0", "rank1"]
    assert all(w["overlap"]["computation"] > 0 for w in distributed["workers"])


@pytest.mark.parametrize(
    ("worker", "message"),
    [
        ("notjson", "malformed"),
        ("cutgz", "gzip"),
        ("badgz", "gzip"),
        ("noevents", "traceEvents"),
    ],
)
def test_broken_files_answer_422(client: TestClient, worker: str, message: str) -> None:
    response = client.get(f"{P}/overview", params={"run": "bad", "worker": worker})
    assert response.status_code == 422
    assert message in response.json()["error"]
    assert response.json()["file"].startswith(worker)


def test_truncated_json_is_salvaged(client: TestClient) -> None:
    data = _get(client, "kernels", run="bad", worker="truncated")
    assert data["warnings"]
    assert "truncated" in data["warnings"][0]
    assert data["kernels"]


def test_size_cap(logdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lumiboard.plugins.profile.trace.MAX_BYTES", 1000)
    with _app(logdir) as capped:
        response = capped.get(f"{P}/overview", params=RESNET)
    assert response.status_code == 422
    assert "LUMIBOARD_PROFILE_MAX_BYTES" in response.json()["error"]


@pytest.mark.parametrize(
    ("route", "params", "status"),
    [
        ("overview", {}, 400),
        ("overview", {"run": "resnet"}, 400),
        ("overview", {"run": "../../etc", "worker": "passwd"}, 404),
        ("overview", {"run": "resnet", "worker": "nobody"}, 404),
        ("overview", {"run": "resnet", "worker": "worker0", "span": "/etc/passwd"}, 404),
        ("operators", {**RESNET, "group_by": "nope"}, 400),
        ("kernels", {**RESNET, "group_by": "operation"}, 400),
        ("trace", {**RESNET, "start": "nan"}, 400),
        ("trace", {**RESNET, "start": "x"}, 400),
        ("trace", {**RESNET, "start": "10", "end": "5"}, 400),
        ("trace", {**RESNET, "limit": "0"}, 400),
        ("trace", {**RESNET, "limit": "1e9"}, 400),
        ("event", {**RESNET}, 400),
        ("event", {**RESNET, "id": ""}, 400),
        ("event", {**RESNET, "id": " 1"}, 400),
        ("event", {**RESNET, "id": "1_0"}, 400),
        ("event", {**RESNET, "id": "\u0661"}, 400),
        ("trace", {**RESNET, "limit": ""}, 400),
        ("trace", {**RESNET, "limit": "1_000"}, 400),
        ("trace", {**RESNET, "start": ""}, 400),
        ("trace", {**RESNET, "end": "1_0"}, 400),
        ("event", {**RESNET, "id": "99999999"}, 404),
        ("distributed", {}, 400),
        ("distributed", {"run": "nope"}, 404),
        ("distributed", {"run": "resnet", "span": "12"}, 404),
    ],
)
def test_hostile_parameters(
    client: TestClient, route: str, params: dict[str, str], status: int
) -> None:
    response = client.get(f"{P}/{route}", params=params)
    assert response.status_code == status, response.text
    assert "error" in response.json()


def test_new_trace_appears(tmp_path: Path) -> None:
    with _app(tmp_path) as live:
        assert _get(live, "runs")["runs"] == {}
        (tmp_path / "later").mkdir()
        shutil.copy(FIXTURE, tmp_path / "later" / FIXTURE.name)
        assert list(_get(live, "runs")["runs"]) == ["later"]


def test_out_of_range_numbers_do_not_break_a_trace(tmp_path: Path) -> None:
    """Integers beyond their columns' types (a garbled or hostile trace) are dropped, not a 500;
    a collective's byte count stays a JSON-safe integer."""
    events: list[dict[str, Any]] = [
        {"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#1", "pid": 1, "tid": 1,
         "ts": 0, "dur": 100, "args": {}},
        {"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, "tid": 1, "ts": 10,
         "dur": 50, "args": {"External id": 2**64 - 1, "correlation": 2**70}},
        {"ph": "X", "cat": "cpu_op", "name": "nccl:all_reduce", "pid": 1, "tid": 1, "ts": 70,
         "dur": 10, "args": {"In msg nelems": 2**63 - 1, "dtype": "Float"}},
        {"ph": "i", "name": "[memory]", "pid": 1, "tid": 1, "ts": 20, "s": "t",
         "args": {"Device Type": 300, "Device Id": 70000, "Bytes": 1e300, "Addr": -5,
                  "Total Allocated": 10, "Total Reserved": 20}},
    ]  # fmt: skip
    for rank in (0, 1):
        (tmp_path / "job").mkdir(exist_ok=True)
        (tmp_path / "job" / f"rank{rank}.1.pt.trace.json").write_text(
            json.dumps({"traceEvents": events})
        )
    with _app(tmp_path) as odd:
        for route in ("overview", "operators", "memory", "trace"):
            _get(odd, route, run="job", worker="rank0")
        distributed = _get(odd, "distributed", run="job")
        assert isinstance(distributed, dict)


def test_listing_survives_a_plugin_that_cannot_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin whose is_active raises is listed as inactive; the listing is not a 500."""
    from lumiboard.server.app import create_app

    def broken(ctx: Context) -> bool:
        raise OSError("too many levels of symbolic links")

    monkeypatch.setattr(profile_routes, "is_active", broken)
    from lumiboard.plugins import base

    base.served_plugins.cache_clear()
    try:
        reloader = Reloader(str(tmp_path))
        reloader.reload()
        with TestClient(create_app(reloader), raise_server_exceptions=False) as app:
            response = app.get("/data/plugins_listing")
            assert response.status_code == 200
            assert response.json()["profile"]["enabled"] is False
    finally:
        base.served_plugins.cache_clear()
