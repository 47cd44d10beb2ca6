"""The profile routes over a real Keras profile (``tests/fixtures/xplane/keras``, written by
scripts/make_xplane_fixtures.py) and damaged copies of it.

Expected figures are computed here from the raw proto (with the generated ``xplane_pb2``),
not from lumiboard's decoder.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from lumiboard.format.proto import xplane_pb2
from lumiboard.plugins.profile import routes as profile_routes
from lumiboard.plugins.profile.cache import TraceCache
from lumiboard.plugins.profile.discover import TraceIndex
from lumiboard.reader.reload import Reloader
from lumiboard.server import errors
from lumiboard.server.context import Context, ServerOptions
from lumiboard.store.provider import Provider

KERAS = Path(__file__).resolve().parents[1] / "fixtures" / "xplane" / "keras"
SPAN = "2026_01_01_00_00_00"
PROFILE = KERAS / "train" / "plugins" / "profile" / SPAN / "host.xplane.pb"
P = "/data/plugin/profile"
TRAIN = {"run": "train", "worker": "host"}


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile_routes, "INDEX", TraceIndex(ttl=0.0))
    monkeypatch.setattr(profile_routes, "CACHE", TraceCache())


def _app(logdir: Path) -> TestClient:
    reloader = Reloader(str(logdir))
    app = Starlette(
        routes=[Mount(P, routes=profile_routes.ROUTES)], exception_handlers=errors.HANDLERS
    )
    app.state.context = Context(reloader, Provider(reloader.runs), ServerOptions())
    return TestClient(app)


def _session(root: Path, run: str, host: str, data: bytes, span: str = SPAN) -> None:
    directory = (root / run if run != "." else root) / "plugins" / "profile" / span
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{host}.xplane.pb").write_bytes(data)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log directory with profiles only: Keras's layout, a root-level (JAX) one, a cut one."""
    root = tmp_path_factory.mktemp("xplane")
    shutil.copytree(KERAS, root, dirs_exist_ok=True)
    data = PROFILE.read_bytes()
    _session(root, ".", "jaxhost", data, span="2026_01_02_00_00_00")
    _session(root, "bad", "cut", data[: len(data) // 2])
    return root


@pytest.fixture(scope="module")
def client(logdir: Path) -> Iterator[TestClient]:
    with _app(logdir) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def raw() -> list[tuple[str, str, float, float]]:
    """Every timed event of the fixture: (plane, name, start µs, duration µs), from the proto."""
    space = xplane_pb2.XSpace()
    space.ParseFromString(PROFILE.read_bytes())
    events = []
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                if event.WhichOneof("data") != "offset_ps":
                    continue
                meta = plane.event_metadata[event.metadata_id]
                start = (line.timestamp_ns * 1000 + event.offset_ps) / 1e6
                events.append(
                    (plane.name, meta.display_name or meta.name, start, event.duration_ps / 1e6)
                )
    return events


def _get(client: TestClient, route: str, **params: Any) -> Any:
    response = client.get(f"{P}/{route}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_runs_list_profile_sessions_as_xprof_does(client: TestClient) -> None:
    runs = _get(client, "runs")["runs"]
    assert set(runs) == {"train", ".", "bad"}
    assert runs["train"] == {
        "host": [
            {
                "span": SPAN,
                "file": "host.xplane.pb",
                "size": PROFILE.stat().st_size,
                "mtime": runs["train"]["host"][0]["mtime"],
            }
        ]
    }
    assert [s["span"] for s in runs["."]["jaxhost"]] == ["2026_01_02_00_00_00"]


def test_trace_has_every_event_with_its_name_and_time(
    client: TestClient, raw: list[tuple[str, str, float, float]]
) -> None:
    assert len(raw) > 100  # a real profile, not an empty one
    full = _get(client, "trace", **TRAIN)
    assert full["total"] == len(raw)
    assert not full["truncated"]
    events = full["events"]
    names = [full["names"][i] for i in events["name"]]
    assert Counter(names) == Counter(name for _, name, _, _ in raw)
    origin = min(start for _, _, start, _ in raw)
    assert full["origin"] == pytest.approx(origin)
    got = sorted(zip(names, events["start"], events["duration"], strict=True))
    want = sorted((name, start - origin, dur) for _, name, start, dur in raw)
    for (name, start, dur), (name_, start_, dur_) in zip(got, want, strict=True):
        assert name == name_
        assert start == pytest.approx(start_, abs=1e-3)
        assert dur == pytest.approx(dur_, abs=1e-3)
    assert "Profiled batch" in names  # Keras's step marker
    tracks = {track["name"] for track in full["tracks"]}
    assert "/host:CPU (0) · python" in tracks
    step = events["id"][names.index("Profiled batch")]
    detail = _get(client, "event", id=step, **TRAIN)
    assert detail["name"] == "Profiled batch"
    assert isinstance(detail["args"]["step_num"], int)


def test_root_level_profile_is_read_too(client: TestClient, raw: list[Any]) -> None:
    assert _get(client, "trace", run=".", worker="jaxhost")["total"] == len(raw)


@pytest.mark.parametrize("route", ["overview", "operators"])
def test_views_with_data_are_computed(client: TestClient, route: str) -> None:
    data = _get(client, route, **TRAIN)
    assert data["computed"] is True
    assert not any("holds no" in warning for warning in data["warnings"]), data


@pytest.mark.parametrize(
    ("route", "told"), [("kernels", "no GPU activity"), ("memory", "no allocator events")]
)
def test_views_without_data_say_what_to_record(client: TestClient, route: str, told: str) -> None:
    data = _get(client, route, **TRAIN)
    assert any(told in warning for warning in data["warnings"]), data
    assert data["computed"] is False  # the dashboard then shows the warning, not zeros
    trace = _get(client, "trace", **TRAIN)
    assert not any(told in warning for warning in trace["warnings"])
    assert trace["computed"] is True


def test_distributed_view_summarises_the_worker(client: TestClient, raw: list[Any]) -> None:
    (worker,) = _get(client, "distributed", run="train")["workers"]
    assert worker["worker"] == "host"
    markers = [event for event in raw if event[1] == "Profiled batch"]
    mean = sum(event[3] for event in markers) / len(markers)
    assert worker["step_time"] == pytest.approx(mean, abs=1e-3)  # CPU only: the markers' time


def test_a_truncated_profile_answers_422(client: TestClient) -> None:
    response = client.get(f"{P}/trace", params={"run": "bad", "worker": "cut"})
    assert response.status_code == 422
    assert "damaged or truncated" in response.json()["error"]
    assert response.json()["file"] == "cut.xplane.pb"


def test_bit_flipped_profiles_never_answer_500(tmp_path: Path) -> None:
    data = PROFILE.read_bytes()
    for index, position in enumerate(range(0, len(data), max(1, len(data) // 40))):
        flipped = bytearray(data)
        flipped[position] ^= 1 << (index % 8)
        _session(tmp_path, "flip", f"h{index}", bytes(flipped))
    with _app(tmp_path) as client:
        workers = _get(client, "runs")["runs"]["flip"]
        assert len(workers) > 30
        for worker in workers:
            for route in ("trace", "overview", "operators", "kernels", "memory"):
                response = client.get(f"{P}/{route}", params={"run": "flip", "worker": worker})
                assert response.status_code in (200, 422), (worker, route, response.text)
