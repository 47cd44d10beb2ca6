"""``GET /data/health`` and ``Experiment.health()``: every run's flags, in the contract's shape.

A log directory with a healthy run, a run that goes NaN, a run whose loss blows up and a
run with gradient norms and an alert is served; the answer is compared whole. A reload
after more points arrive reads only the series that changed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from route_support import get_json, lumiboard_client, strict_json
from starlette.testclient import TestClient

import lumiboard
from lumiboard import SummaryWriter
from lumiboard.alerts import alert
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app
from lumiboard.store import health_state
from lumiboard.store.health_state import SeriesState

COLUMNS = ["run", "tag", "kind", "level", "step", "wall_time", "value", "message"]


def _loss(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (2.3 * np.exp(-np.arange(n) / 60.0) + 0.1) * np.exp(rng.normal(0.0, 0.05, n))


def _write(root: Path) -> None:
    with SummaryWriter(str(root / "healthy")) as writer:
        for step, value in enumerate(_loss(300, 0)):
            writer.add_scalar("loss", value, step, walltime=1_000.0 + step)
    with SummaryWriter(str(root / "nan")) as writer:
        for step, value in enumerate(_loss(300, 1)):
            writer.add_scalar("loss", math.nan if step >= 120 else value, step, walltime=2e3 + step)
    with SummaryWriter(str(root / "diverged")) as writer:
        loss = _loss(300, 2)
        loss[200:] *= np.exp(np.arange(100) / 10.0)
        for step, value in enumerate(loss):
            writer.add_scalar("train/loss", value, step, walltime=3e3 + step)
    with SummaryWriter(str(root / "watched")) as writer:
        norms = np.exp(np.random.default_rng(3).normal(0.0, 0.2, 300))
        norms[250] = 5e4
        for step, value in enumerate(norms):
            writer.add_scalar("gradient_norm/(total)", value, step, walltime=4e3 + step)
        alert("Learning rate lowered", "to 1e-4", level="warning", writer=writer, step=150)
        writer.add_scalar("accuracy", 0.5, 0, walltime=3_999.0)


def test_health_flags_every_run_in_the_contract_shape(tmp_path: Path) -> None:
    _write(tmp_path)
    with lumiboard_client(tmp_path) as client:
        response = client.get("/data/health")
    assert response.status_code == 200
    body = strict_json(response.text)  # NaN travels as the string "NaN", never a bare token
    assert set(body) == {"flags", "counts", "computed_at"}
    flags = body["flags"]
    for flag in flags:
        assert list(flag) == COLUMNS
    assert [(f["run"], f["tag"], f["kind"], f["level"], f["step"]) for f in flags] == [
        ("nan", "loss", "nonfinite", "error", 120),
        ("diverged", "train/loss", "divergence", "warning", flags[1]["step"]),
        ("watched", "alerts", "alert", "warning", 150),
        ("watched", "gradient_norm/(total)", "exploding_gradients", "error", 250),
    ]
    assert 200 <= flags[1]["step"] <= 220
    nan, diverged, alerted, exploded = flags
    assert nan["value"] == "NaN"
    assert nan["wall_time"] == 2_120.0
    assert nan["message"] == "loss is NaN from step 120 on (first non-finite value)"
    assert diverged["message"].startswith(f"train/loss diverged from step {diverged['step']}")
    assert alerted["value"] is None
    assert alerted["message"] == "Learning rate lowered: to 1e-4"
    assert exploded["value"] == pytest.approx(5e4)
    assert body["counts"] == {
        "nan": {"error": 1, "warning": 0, "info": 0},
        "diverged": {"error": 0, "warning": 1, "info": 0},
        "watched": {"error": 1, "warning": 1, "info": 0},
    }


def test_health_of_some_runs_and_strict_parameters(tmp_path: Path) -> None:
    _write(tmp_path)
    with lumiboard_client(tmp_path) as client:
        one = get_json(client, "/data/health", run="nan")
        assert [flag["run"] for flag in one["flags"]] == ["nan"]
        assert list(one["counts"]) == ["nan"]
        two = get_json(client, "/data/health", run=["watched", "healthy"])
        assert {flag["run"] for flag in two["flags"]} == {"watched"}
        assert get_json(client, "/data/health", run="healthy")["flags"] == []
        for bad in ("nope", ""):
            response = client.get("/data/health", params={"run": bad})
            assert response.status_code == 404
            assert response.json() == {"error": f"no run named {bad!r}"}


def test_an_empty_log_directory_has_no_flags(tmp_path: Path) -> None:
    with lumiboard_client(tmp_path) as client:
        body = get_json(client, "/data/health")
    assert body["flags"] == []
    assert body["counts"] == {}
    assert isinstance(body["computed_at"], float)


def test_a_reload_reads_only_the_series_that_grew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path)
    read: list[int] = []
    update_all = health_state.update_all

    def counting(items: Iterable[tuple[SeriesState, np.ndarray, np.ndarray]]) -> None:
        items = list(items)
        read.extend(len(value) - state.count for state, _, value in items)  # points read
        update_all(items)

    monkeypatch.setattr(health_state, "update_all", counting)
    reloader = Reloader(str(tmp_path))
    reloader.reload()
    with TestClient(create_app(reloader)) as client:
        assert len(get_json(client, "/data/health")["flags"]) == 4
        assert sorted(read) == [1, 300, 300, 300, 300]
        read.clear()
        with SummaryWriter(str(tmp_path / "healthy")) as writer:
            writer.add_scalar("loss", math.inf, 300, walltime=1_300.0)
        reloader.reload()
        flags = get_json(client, "/data/health")["flags"]
        assert read == [1]  # one series changed, by one point
        assert ("healthy", "nonfinite", 300) in [(f["run"], f["kind"], f["step"]) for f in flags]
        assert flags[0]["value"] == "Infinity"


def test_experiment_health_is_a_dataframe_of_the_flags(tmp_path: Path) -> None:
    _write(tmp_path)
    experiment = lumiboard.read(tmp_path, cache=False)
    frame = experiment.health()
    assert list(frame.columns) == COLUMNS
    assert frame[["run", "kind", "step"]].astype(str).values.tolist() == [
        ["nan", "nonfinite", "120"],
        ["diverged", "divergence", str(frame["step"][1])],
        ["watched", "alert", "150"],
        ["watched", "exploding_gradients", "250"],
    ]
    assert math.isnan(frame["value"][0])
    assert math.isnan(frame["value"][2])  # an alert has no value
    assert str(frame["step"].dtype) == "int64"
    only = experiment.health(runs=["watched"])
    assert set(only["run"]) == {"watched"}
    empty = experiment.health(runs="healthy")
    assert list(empty.columns) == COLUMNS
    assert len(empty) == 0
