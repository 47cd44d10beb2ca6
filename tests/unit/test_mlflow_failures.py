"""``mlflow+http://`` log directories when the tracking server fails: down, 5xx, hanging.

A stand-in server (``mlflow_support.FakeTracking``) answers the REST calls the reader
makes, so a test decides when it fails. Nothing may raise into the reload pass or make a
route answer 500; what was read stays; a run that cannot be synced is counted in
``/data/status`` like an unreadable event file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mlflow")

from mlflow_support import FakeTracking, free_port, run_json
from starlette.testclient import TestClient

import lumiboard
from lumiboard import SummaryWriter
from lumiboard.reader import mlflow_source
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app

API = "/api/2.0/mlflow"
EXPERIMENT = {"experiment_id": "1", "name": "exp", "lifecycle_stage": "active"}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # MLflow's client retries a 5xx for minutes by default; the source must cope either way.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    monkeypatch.setattr(mlflow_source, "MIN_INTERVAL_SECONDS", 0.0)


@pytest.fixture
def fake() -> Iterator[FakeTracking]:
    server = FakeTracking()
    try:
        yield server
    finally:
        server.close()


def _serve(fake: FakeTracking, runs: dict[str, list[tuple[int, int, float]]]) -> dict[str, bool]:
    """Answer for experiment ``exp`` holding ``runs`` (run id -> its ``loss`` points); the
    returned switches make a run's history answer 500 (``broken[run_id] = True``)."""
    broken: dict[str, bool] = {}

    def history(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if broken.get(body["run_id"]):
            return 500, {"error_code": "INTERNAL_ERROR", "message": "database is locked"}
        points = [
            {"key": "loss", "timestamp": t, "step": s, "value": v}
            for t, s, v in runs[body["run_id"]]
        ]
        return 200, {"metrics": points}

    def search(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = [
            run_json(run_id, f"run_{run_id}", {"loss": points[-1]})
            for run_id, points in runs.items()
        ]
        return 200, {"runs": found}

    def get(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        points = runs[body["run_id"]]
        return 200, {"run": run_json(body["run_id"], f"run_{body['run_id']}", {"loss": points[-1]})}

    fake.routes[f"{API}/experiments/get-by-name"] = lambda body: (200, {"experiment": EXPERIMENT})
    fake.routes[f"{API}/runs/search"] = search
    fake.routes[f"{API}/runs/get"] = get
    fake.routes[f"{API}/metrics/get-history"] = history
    return broken


def test_a_server_that_is_down_gives_no_runs_and_no_error(caplog: pytest.LogCaptureFixture) -> None:
    location = f"mlflow+http://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.WARNING, logger="lumiboard.reader.mlflow_source"):
        experiment = lumiboard.read(location, cache=False)
        experiment.reload()
    assert experiment.runs() == []
    warnings = [r.getMessage() for r in caplog.records if "cannot read" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per pass
    reloader = Reloader(location)
    reloader.reload()
    with TestClient(create_app(reloader)) as client:
        for route in ("/data/runs", "/data/status", "/data/plugins_listing"):
            assert client.get(route).status_code == 200


def test_runs_stay_while_the_server_is_down_and_count_as_unreadable(fake: FakeTracking) -> None:
    _serve(fake, {"a1": [(1_700_000_000_000 + i, i, float(i)) for i in range(10)]})
    reloader = Reloader(f"mlflow+{fake.url}?experiment=exp")
    reloader.reload()
    with TestClient(create_app(reloader)) as client:
        assert client.get("/data/runs").json() == ["exp/run_a1"]
        assert client.get("/data/status").json()["skipped"] == {}

        fake.health = 503  # e.g. a proxy in front of a stopped server
        reloader.reload()
        status = client.get("/data/status").json()
        assert status["skipped"] == {"exp/run_a1": {"": 1}}
        loss = client.get(
            "/data/plugin/scalars/scalars", params={"run": "exp/run_a1", "tag": "loss"}
        )
        assert len(loss.json()) == 10  # what was read is still served

        fake.health = 200
        reloader.reload()
        assert client.get("/data/status").json()["skipped"] == {}


def test_a_run_whose_history_fails_is_counted_and_the_others_read(fake: FakeTracking) -> None:
    points = [(1_700_000_000_000 + i, i, float(i)) for i in range(5)]
    broken = _serve(fake, {"good": points, "bad": points})
    broken["bad"] = True
    reloader = Reloader(f"mlflow+{fake.url}?experiment=exp")
    reloader.reload()
    with TestClient(create_app(reloader)) as client:
        assert client.get("/data/status").json()["skipped"] == {"exp/run_bad": {"": 1}}
        assert len(reloader.runs["exp/run_good"].scalars["loss"]) == 5
        assert "loss" not in reloader.runs["exp/run_bad"].scalars

        broken["bad"] = False
        reloader.reload()
        assert client.get("/data/status").json()["skipped"] == {}
        assert len(reloader.runs["exp/run_bad"].scalars["loss"]) == 5


def test_a_hanging_server_delays_a_pass_but_never_stops_it(
    fake: FakeTracking, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(fake, {"slow": [(1_700_000_000_000, 0, 1.0)]})
    monkeypatch.setattr(mlflow_source, "FIRST_WAIT_SECONDS", 0.2)
    fake.hang.clear()
    experiment = lumiboard.read(f"mlflow+{fake.url}?experiment=exp", cache=False)
    assert experiment.runs() == []  # the pass ended; the sync goes on
    fake.hang.set()
    experiment.reload()  # waits for the sync in flight (at most WAIT_SECONDS)
    assert experiment.runs() == ["exp/run_slow"]
    assert len(experiment.scalars()) == 1


def test_a_named_mlflow_source_beside_a_directory(
    fake: FakeTracking, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``--logdir_spec tracked:mlflow+...,local:/path``: both sources' runs, prefixed; the
    plugins that look at a source's own directory leave the MLflow one alone."""
    _serve(fake, {"a1": [(1_700_000_000_000, 0, 1.0)]})
    with SummaryWriter(str(tmp_path / "logs" / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    reloader = Reloader(f"tracked:mlflow+{fake.url}?experiment=exp,local:{tmp_path / 'logs'}")
    with caplog.at_level(logging.WARNING):
        reloader.reload()
        with TestClient(create_app(reloader)) as client:
            assert sorted(client.get("/data/runs").json()) == ["local/run", "tracked/exp/run_a1"]
            for route in ("/data/plugins_listing", "/data/plugin/projector/runs"):
                assert client.get(route).status_code == 200
    assert [record.getMessage() for record in caplog.records] == []
