"""Discovery of TensorFlow, Keras and JAX profiles, over the real fixtures under
``tests/fixtures/xplane`` (written by scripts/make_xplane_fixtures.py and
scripts/make_jax_profile_fixtures.py) and small layouts made here.

The facts about what the fixtures hold are computed here from the raw proto (with the
generated ``xplane_pb2``), not from lumiboard's decoder, so that a regenerated fixture
that lost them fails here rather than in a view's test.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from lumiboard.format.proto import xplane_pb2
from lumiboard.plugins.profile import routes as profile_routes
from lumiboard.plugins.profile.cache import TraceCache
from lumiboard.plugins.profile.discover import Listing, TraceIndex, list_traces
from lumiboard.reader.discover import Source
from lumiboard.reader.reload import Reloader
from lumiboard.server import errors
from lumiboard.server.context import Context, ServerOptions
from lumiboard.store.provider import Provider

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "xplane"
SPAN = "2026_01_01_00_00_00"
JAX = FIXTURES / "jax" / "plugins" / "profile" / SPAN
TF = FIXTURES / "tf" / "plugins" / "profile" / SPAN
MULTI = FIXTURES / "multi" / "plugins" / "profile" / SPAN
KERAS = FIXTURES / "keras" / "train" / "plugins" / "profile" / SPAN
P = "/data/plugin/profile"


def _files(listing: Listing) -> dict[str, dict[str, dict[str, str]]]:
    """run -> worker -> span -> the listed file's basename."""
    return {
        run: {
            worker: {span: Path(file.path).name for span, file in spans.items()}
            for worker, spans in workers.items()
        }
        for run, workers in listing.items()
    }


def _list(root: Path | str) -> dict[str, dict[str, dict[str, str]]]:
    return _files(list_traces([Source(None, str(root))]))


def _touch(root: Path, *relatives: str) -> None:
    for relative in relatives:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"x")


def _space(path: Path) -> xplane_pb2.XSpace:
    space = xplane_pb2.XSpace()
    space.ParseFromString(path.read_bytes())
    return space


def _stats(plane: xplane_pb2.XPlane, event: xplane_pb2.XEvent) -> dict[str, Any]:
    """An event's stats by name, references resolved to the referenced name."""
    stats: dict[str, Any] = {}
    for stat in event.stats:
        kind = stat.WhichOneof("value")
        value = getattr(stat, kind) if kind else None
        if kind == "ref_value":
            value = plane.stat_metadata[value].name
        stats[plane.stat_metadata[stat.metadata_id].name] = value
    return stats


def _events(space: xplane_pb2.XSpace) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(plane, line, event name, stats) of every timed event."""
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                if event.WhichOneof("data") == "offset_ps":
                    name = plane.event_metadata[event.metadata_id].name
                    yield plane.name, line.name, name, _stats(plane, event)


# ---- the fixtures' layouts ------------------------------------------------------------


def test_jax_profile_at_the_log_directory_root_is_run_dot_and_its_xplane_is_chosen() -> None:
    assert sorted(path.name for path in JAX.iterdir()) == [
        "host.trace.json.gz",
        "host.xplane.pb",
        "perfetto_trace.json.gz",
    ]
    # The JSON traces are the xplane's copies: the host's xplane is listed, once.
    assert _list(FIXTURES / "jax") == {".": {"host": {SPAN: "host.xplane.pb"}}}


def test_tensorflow_profile_is_run_dot_with_one_worker() -> None:
    assert _list(FIXTURES / "tf") == {".": {"host": {SPAN: "host.xplane.pb"}}}


def test_keras_profile_is_run_train() -> None:
    assert _list(FIXTURES / "keras") == {"train": {"host": {SPAN: "host.xplane.pb"}}}


def test_two_hosts_are_two_workers_of_one_run() -> None:
    assert _list(FIXTURES / "multi") == {
        ".": {"host-a": {SPAN: "host-a.xplane.pb"}, "host-b": {SPAN: "host-b.xplane.pb"}}
    }


def test_every_fixture_under_one_log_directory() -> None:
    # Each fixture directory is a run of its own: the run names show where they came from.
    assert _list(FIXTURES) == {
        "jax": {"host": {SPAN: "host.xplane.pb"}},
        "keras/train": {"host": {SPAN: "host.xplane.pb"}},
        "multi": {"host-a": {SPAN: "host-a.xplane.pb"}, "host-b": {SPAN: "host-b.xplane.pb"}},
        "tf": {"host": {SPAN: "host.xplane.pb"}},
    }


# ---- JSON traces in a session directory ---------------------------------------------------


def test_a_host_with_only_its_json_trace_gets_that_file(tmp_path: Path) -> None:
    shutil.copyfile(JAX / "host.trace.json.gz", tmp_path / "x")
    session = tmp_path / "plugins" / "profile" / SPAN
    session.mkdir(parents=True)
    shutil.copyfile(JAX / "host.trace.json.gz", session / "host.trace.json.gz")
    shutil.copyfile(JAX / "perfetto_trace.json.gz", session / "perfetto_trace.json.gz")
    assert _list(tmp_path) == {".": {"host": {SPAN: "host.trace.json.gz"}}}


def test_perfetto_trace_alone_is_listed_as_worker_perfetto(tmp_path: Path) -> None:
    _touch(tmp_path, f"run/plugins/profile/{SPAN}/perfetto_trace.json.gz")
    assert _list(tmp_path) == {"run": {"perfetto": {SPAN: "perfetto_trace.json.gz"}}}


def test_perfetto_trace_is_left_out_beside_any_host_file(tmp_path: Path) -> None:
    session = f"plugins/profile/{SPAN}"
    _touch(tmp_path, f"{session}/a.xplane.pb", f"{session}/perfetto_trace.json.gz")
    _touch(tmp_path, f"b/{session}/b.trace.json.gz", f"b/{session}/perfetto_trace.json.gz")
    assert _list(tmp_path) == {
        ".": {"a": {SPAN: "a.xplane.pb"}},
        "b": {"b": {SPAN: "b.trace.json.gz"}},
    }


def test_each_host_gets_its_own_best_file(tmp_path: Path) -> None:
    session = f"plugins/profile/{SPAN}"
    _touch(
        tmp_path,
        f"{session}/a.xplane.pb",
        f"{session}/a.trace.json.gz",
        f"{session}/b.trace.json.gz",
        "plugins/profile/2026_01_02_00_00_00/a.trace.json.gz",
    )
    assert _list(tmp_path) == {
        ".": {
            "a": {SPAN: "a.xplane.pb", "2026_01_02_00_00_00": "a.trace.json.gz"},
            "b": {SPAN: "b.trace.json.gz"},
        }
    }


def test_json_traces_outside_a_session_directory_are_not_traces(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "run/host.trace.json.gz",
        "run/perfetto_trace.json.gz",
        "plugins/profile/host.trace.json.gz",  # no span directory
        f"plugins/{SPAN}/host.trace.json.gz",
        f"plugins/profile/{SPAN}/deeper/host.trace.json.gz",
        f"plugins/profile/{SPAN}/host.trace.json",  # JAX writes it gzipped only
    )
    assert _list(tmp_path) == {}


def test_an_xplane_outside_a_session_directory_is_a_worker_of_its_directory(
    tmp_path: Path,
) -> None:
    _touch(tmp_path, "run/host.xplane.pb", "host.trace.json.gz")
    assert _list(tmp_path) == {"run": {"host": {"default": "host.xplane.pb"}}}


def test_pytorch_traces_keep_their_rules_inside_a_session_directory(tmp_path: Path) -> None:
    session = f"r/plugins/profile/{SPAN}"
    _touch(tmp_path, f"{session}/w.5.pt.trace.json.gz", "r/w.pt.trace.json.gz")
    # A PyTorch trace is a worker of its own directory's run, never a host's JSON trace.
    assert _list(tmp_path) == {
        f"{session}": {"w": {"5": "w.5.pt.trace.json.gz"}},
        "r": {"w": {"default": "w.pt.trace.json.gz"}},
    }


def test_remote_log_directories_follow_the_same_rules() -> None:
    url = f"memory://lumiboard-xplane/{uuid.uuid4().hex[:12]}"
    fs = fsspec.filesystem("memory")
    base = url.removeprefix("memory://")
    try:
        for relative in (
            f"plugins/profile/{SPAN}/a.xplane.pb",
            f"plugins/profile/{SPAN}/a.trace.json.gz",
            f"plugins/profile/{SPAN}/perfetto_trace.json.gz",
            f"run/plugins/profile/{SPAN}/b.trace.json.gz",
            f"only/plugins/profile/{SPAN}/perfetto_trace.json.gz",
            "loose/host.trace.json.gz",
        ):
            fs.pipe(f"{base}/{relative}", b"x")
        assert _list(url) == {
            ".": {"a": {SPAN: "a.xplane.pb"}},
            "only": {"perfetto": {SPAN: "perfetto_trace.json.gz"}},
            "run": {"b": {SPAN: "b.trace.json.gz"}},
        }
    finally:
        fs.rm(base, recursive=True)


# ---- what the fixtures hold (from the raw proto) -----------------------------------------


def test_jax_fixture_has_train_steps_and_xla_ops_on_a_host_thread() -> None:
    space = _space(JAX / "host.xplane.pb")
    events = list(_events(space))
    steps = [stats for _, _, name, stats in events if name == "train"]
    assert [step["step_num"] for step in steps] == [0, 1, 2, 3, 4]
    ops = [
        (plane, line, name, stats)
        for plane, line, name, stats in events
        if "hlo_op" in stats and "hlo_module" in stats
    ]
    assert len(ops) == 30  # 6 XLA ops a step (fusions and dots) by 5 steps
    assert {plane for plane, _, _, _ in ops} == {"/host:CPU"}
    assert {line for _, line, _, _ in ops} == {"python"}  # the CPU client runs them inline
    assert {stats["hlo_module"] for _, _, _, stats in ops} == {"jit_train_step"}
    assert all(name == stats["hlo_op"] for _, _, name, stats in ops)
    assert Counter(name for _, _, name, _ in ops)["dot.2"] == 5
    assert [plane.name for plane in space.planes] == [
        "/host:metadata",
        "/host:CPU",
        "Task Environment",
    ]


def test_jax_json_traces_hold_the_xplane_host_events() -> None:
    space = _space(JAX / "host.xplane.pb")
    names = Counter(name for plane, _, name, _ in _events(space) if plane == "/host:CPU")
    for file in ("host.trace.json.gz", "perfetto_trace.json.gz"):
        trace = json.loads(gzip.decompress((JAX / file).read_bytes()))
        complete = [event for event in trace["traceEvents"] if event.get("ph") == "X"]
        assert Counter(event["name"] for event in complete) == names, file
        steps = [event for event in complete if event["name"] == "train"]
        assert [event["args"]["step_num"] for event in steps] == ["0", "1", "2", "3", "4"]


def test_tensorflow_fixture_has_train_steps_and_tf_ops() -> None:
    space = _space(TF / "host.xplane.pb")
    events = list(_events(space))
    steps = [(line, stats) for _, line, name, stats in events if name == "train"]
    assert [stats["step_num"] for _, stats in steps] == [0, 1, 2, 3, 4]
    assert {line for line, _ in steps} == {"python"}
    ops = [
        (line, name)
        for _, line, name, _ in events
        if re.fullmatch(r"[\w./-]+:_?[A-Z]\w*", name) and line.startswith("tf_Compute")
    ]
    types = Counter(name.rsplit(":", 1)[1] for _, name in ops)
    assert {"MatMul", "ReadVariableOp", "AssignSubVariableOp"} & set(types)
    assert sum(types.values()) >= 5 * 20  # a few dozen ops a step
    assert [plane.name for plane in space.planes] == ["/host:CPU", "Task Environment"]


def test_multi_host_fixture_holds_two_profiles() -> None:
    spaces = [_space(MULTI / f"{host}.xplane.pb") for host in ("host-a", "host-b")]
    for space in spaces:
        steps = [stats["step_num"] for _, _, name, stats in _events(space) if name == "train"]
        assert steps == [0, 1, 2, 3, 4]


# ---- the runs route -------------------------------------------------------------------


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(profile_routes, "INDEX", TraceIndex(ttl=0.0))
    monkeypatch.setattr(profile_routes, "CACHE", TraceCache())
    reloader = Reloader(str(FIXTURES))
    app = Starlette(
        routes=[Mount(P, routes=profile_routes.ROUTES)], exception_handlers=errors.HANDLERS
    )
    app.state.context = Context(reloader, Provider(reloader.runs), ServerOptions())
    with TestClient(app) as test_client:
        yield test_client


def test_runs_route_lists_every_fixture(client: TestClient) -> None:
    response = client.get(f"{P}/runs")
    assert response.status_code == 200, response.text
    runs = response.json()["runs"]
    listed = {
        run: {worker: [(s["span"], s["file"]) for s in spans] for worker, spans in workers.items()}
        for run, workers in runs.items()
    }
    assert listed == {
        "jax": {"host": [(SPAN, "host.xplane.pb")]},
        "keras/train": {"host": [(SPAN, "host.xplane.pb")]},
        "multi": {
            "host-a": [(SPAN, "host-a.xplane.pb")],
            "host-b": [(SPAN, "host-b.xplane.pb")],
        },
        "tf": {"host": [(SPAN, "host.xplane.pb")]},
    }
    assert runs["jax"]["host"][0]["size"] == (JAX / "host.xplane.pb").stat().st_size
    # Each listed profile is read (the trace view is computed for every format).
    for run, workers in listed.items():
        for worker in workers:
            trace = client.get(f"{P}/trace", params={"run": run, "worker": worker})
            assert trace.status_code == 200, (run, worker, trace.text)
            assert trace.json()["total"] > 100


def test_runs_route_serves_a_json_only_jax_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = tmp_path / "plugins" / "profile" / SPAN
    session.mkdir(parents=True)
    shutil.copyfile(JAX / "host.trace.json.gz", session / "host.trace.json.gz")
    monkeypatch.setattr(profile_routes, "INDEX", TraceIndex(ttl=0.0))
    monkeypatch.setattr(profile_routes, "CACHE", TraceCache())
    reloader = Reloader(str(tmp_path))
    app = Starlette(
        routes=[Mount(P, routes=profile_routes.ROUTES)], exception_handlers=errors.HANDLERS
    )
    app.state.context = Context(reloader, Provider(reloader.runs), ServerOptions())
    with TestClient(app) as test_client:
        runs = test_client.get(f"{P}/runs").json()["runs"]
        assert [(s["span"], s["file"]) for s in runs["."]["host"]] == [(SPAN, "host.trace.json.gz")]
        trace = test_client.get(f"{P}/trace", params={"run": ".", "worker": "host"}).json()
        expected = json.loads(gzip.decompress((session / "host.trace.json.gz").read_bytes()))
        complete = [event for event in expected["traceEvents"] if event.get("ph") == "X"]
        assert trace["total"] == len(complete)
