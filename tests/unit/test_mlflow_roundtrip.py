"""MLflow both ways, against a real tracking server started here (SQLite store, local artifacts).

lumiboard -> MLflow (``Experiment.to_mlflow``, ``lumiboard mlflow-export``) and MLflow ->
lumiboard (``mlflow+http://...`` log directories), including a run logged the way the
TensorBoard guides show it: ``mlflow.log_param`` / ``log_metric``, the TensorBoard log
directory logged with ``mlflow.log_artifacts(logdir, "tensorboard_logs")`` and a
``tensorboard.log_dir`` tag.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mlflow")

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow_support import mlflow_server
from starlette.testclient import TestClient

import lumiboard
from lumiboard import SummaryWriter
from lumiboard.cli import main
from lumiboard.reader import mlflow_fetch, mlflow_mirror, mlflow_source
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as url:
        yield url


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Mirrors and caches under the test's directory; every listing syncs (no rate limit).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    monkeypatch.setattr(mlflow_source, "MIN_INTERVAL_SECONDS", 0.0)


def _write_logdir(root: Path, runs: dict[str, float], steps: int) -> int:
    """Runs with hparams and two scalar tags; returns the number of scalar points."""
    points = 0
    for name, lr in runs.items():
        with SummaryWriter(str(root / name)) as writer:
            writer.add_hparams(
                {"lr": lr, "optimizer": "adam", "layers": 3, "augment": True},
                {"accuracy": 0.5 + lr},
                run_name=".",
            )
            points += 1
            for step in range(steps):
                writer.add_scalar("loss", 1.0 / (step + 1) + lr, step)
                writer.add_scalar("accuracy (val)", step / steps, step)
                points += 2
    return points


def _mirrored_points(experiment: lumiboard.experiment.Experiment, prefix: str) -> int:
    """Scalar points of the runs mirrored from MLflow metrics (not their event-file runs)."""
    frame = experiment.scalars()
    metric_runs = frame["run"].astype(str).str.fullmatch(rf"{prefix}/[^/]+")
    return int(metric_runs.sum())


def test_export_then_read_back(server: str, tmp_path: Path) -> None:
    logdir = tmp_path / "sweep"
    written = _write_logdir(logdir, {"lr_0.1": 0.1, "lr_0.01": 0.01}, steps=150)
    local = lumiboard.read(str(logdir), cache=False)

    report = local.to_mlflow(server, "sweep", lumiboard_url="http://localhost:6006/")
    event_files = sorted(logdir.glob("*/events.out.tfevents.*"))
    assert (report.points, report.created, report.artifacts) == (written, 2, len(event_files))
    assert report.params == 8  # 4 hparams x 2 runs
    assert report.renamed == {"accuracy (val)": "accuracy _val_"}

    client = MlflowClient(server)
    listed = client.search_runs([report.experiment_id])
    found = {r.data.tags["lumiboard.run"]: r for r in listed}
    assert sorted(found) == ["lr_0.01", "lr_0.1"]
    run = found["lr_0.1"]
    assert (run.info.run_name, run.info.status) == ("lr_0.1", "FINISHED")
    assert run.data.params == {"lr": "0.1", "optimizer": "adam", "layers": "3", "augment": "True"}
    assert run.data.tags["tensorboard.log_dir"] == str(logdir / "lr_0.1")
    assert run.data.tags["lumiboard.url"] == "http://localhost:6006/?runs=lr_0.1"
    history = client.get_metric_history(run.info.run_id, "loss")
    expected = local.scalars(runs=["lr_0.1"], tags=["loss"])
    assert [m.step for m in history] == expected["step"].tolist()
    assert [m.value for m in history] == pytest.approx(expected["value"].tolist())
    assert [m.timestamp for m in history] == np.round(expected["wall_time"] * 1000).astype(
        int
    ).tolist()
    artifacts = client.list_artifacts(run.info.run_id, "tensorboard_logs")
    assert sorted(a.path for a in artifacts) == sorted(
        f"tensorboard_logs/{path.name}" for path in event_files if path.parent.name == "lr_0.1"
    )

    # Again: nothing new, nothing sent.
    again = local.to_mlflow(server, "sweep")
    assert (again.points, again.params, again.artifacts, again.created) == (0, 0, 0, 0)

    # MLflow -> lumiboard: every point sent is read back, params are the hparams.
    back = lumiboard.read(f"mlflow+{server}?experiment=sweep", cache=False)
    assert _mirrored_points(back, "sweep") == report.points
    assert set(back.runs()) >= {"sweep/lr_0.1", "sweep/lr_0.01", "sweep/lr_0.1/tensorboard_logs"}
    loss = back.scalars(runs=["sweep/lr_0.1"], tags=["loss"])
    assert loss["value"].tolist() == pytest.approx(expected["value"].tolist())

    # One more point: one more sent, one more read back.
    with SummaryWriter(str(logdir / "lr_0.1")) as writer:
        writer.add_scalar("loss", 0.05, 150)
    local.reload()
    more = local.to_mlflow(server, "sweep")
    assert (more.points, more.artifacts) == (1, 1)  # the new point, and the new event file
    back.reload()
    assert _mirrored_points(back, "sweep") == report.points + 1
    assert back.scalars(runs=["sweep/lr_0.1"], tags=["loss"])["step"].max() == 150


def test_guide_run_with_every_dashboard(server: str, tmp_path: Path) -> None:
    """A run logged as the TensorBoard guides show it, served from ``mlflow+http://``."""
    tb_dir = tmp_path / "tb"
    mlflow.set_tracking_uri(server)
    mlflow.set_experiment("guide")
    with mlflow.start_run(run_name="baseline") as active:
        mlflow.log_param("learning_rate", 0.001)
        mlflow.log_param("batch_size", 64)
        mlflow.log_param("optimizer", "adam")
        with SummaryWriter(str(tb_dir / "train")) as writer:
            for step in range(40):
                mlflow.log_metric("loss", 2.0 / (step + 1), step=step)
                writer.add_scalar("tb/loss", 2.0 / (step + 1), step)
                writer.add_histogram("weights", np.linspace(-1, 1, 50) * step, step)
        mlflow.log_artifacts(str(tb_dir), "tensorboard_logs")
        mlflow.set_tag("tensorboard.log_dir", str(tb_dir))
    run_id = active.info.run_id

    reloader = Reloader(f"mlflow+{server}?experiment=guide")
    reloader.reload()
    assert sorted(reloader.runs) == ["guide/baseline", "guide/baseline/tensorboard_logs/train"]
    with TestClient(create_app(reloader)) as client:
        status = client.get("/data/status").json()
        page = f"{server}/#/experiments/{active.info.experiment_id}/runs/{run_id}"
        assert status["links"] == {
            "guide/baseline": {"mlflow": page},
            "guide/baseline/tensorboard_logs/train": {"mlflow": page},
        }
        assert status["skipped"] == {}
        table = client.get("/data/plugin/hparams/table").json()
        session = next(s for s in table["sessions"] if s["run"] == "guide/baseline")
        names = [column["name"] for column in table["hparams"]]
        assert dict(zip(names, session["hparams"], strict=True)) == {
            "batch_size": 64, "learning_rate": 0.001, "optimizer": "adam"
        }  # fmt: skip
        listing = client.get("/data/plugins_listing").json()
        assert all(listing[name]["enabled"] for name in ("scalars", "histograms", "hparams"))
        tags = client.get("/data/plugin/histograms/tags").json()
        assert "weights" in tags["guide/baseline/tensorboard_logs/train"]
        loss = client.get(
            "/data/plugin/scalars/scalars", params={"run": "guide/baseline", "tag": "loss"}
        ).json()
        assert [step for _, step, _ in loss] == list(range(40))


def test_live_points_and_a_history_rewritten(server: str, tmp_path: Path) -> None:
    client = MlflowClient(server)
    experiment_id = client.create_experiment("live")
    run_id = client.create_run(experiment_id, run_name="training").info.run_id
    start = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric("loss", float(i), start + i, i) for i in range(30)])
    experiment = lumiboard.read(f"mlflow+{server}?experiment=live", cache=False)
    assert len(experiment.scalars()) == 30

    client.log_batch(run_id, metrics=[Metric("loss", 30.0, start + 30, 30)])
    client.log_metric(run_id, "lr", 0.5, timestamp=start + 30, step=30)
    experiment.reload()
    assert len(experiment.scalars(tags=["loss"])) == 31
    assert experiment.scalars(tags=["lr"])["value"].tolist() == [0.5]

    # A point older than the last one read lands inside the history: the run is read again.
    client.log_batch(run_id, metrics=[Metric("loss", -1.0, start + 5, 99)])
    experiment.reload()
    loss = experiment.scalars(tags=["loss"])
    assert len(loss) == 32
    assert -1.0 in loss["value"].tolist()


def test_experiments_and_histories_are_paged(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = MlflowClient(server)
    experiment_id = client.create_experiment("paged")
    start = int(time.time() * 1000)
    for index in range(5):
        run_id = client.create_run(experiment_id, run_name=f"r{index}").info.run_id
        client.log_batch(run_id, metrics=[Metric("x", float(i), start + i, i) for i in range(23)])
    monkeypatch.setattr(mlflow_source, "SEARCH_PAGE", 2)  # three pages of runs
    monkeypatch.setattr(mlflow_fetch, "PAGE", 4)  # six pages of each history
    experiment = lumiboard.read(f"mlflow+{server}?experiment=paged", cache=False)
    assert experiment.runs() == [f"paged/r{index}" for index in range(5)]
    counts = experiment.scalars().groupby("run", observed=True).size()
    assert counts.tolist() == [23] * 5


def test_cli_export(server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logdir = tmp_path / "cli_logs"
    written = _write_logdir(logdir, {"only": 0.2}, steps=20)
    argv = ["mlflow-export", str(logdir), "--tracking-uri", server, "--no-cache"]
    assert main([*argv, "--experiment", "cli"]) == 0
    out = capsys.readouterr().out
    assert f"{written} points" in out
    assert "1 runs (1 new)" in out
    assert main([*argv, "--experiment", "cli"]) == 0
    assert "0 points" in capsys.readouterr().out
    assert main(["mlflow-export", str(logdir), "--no-cache", "--tracking-uri", ""]) == 2
    assert "--tracking-uri" in capsys.readouterr().err


def test_log_dir_tag_read_directly_and_deleted_runs_go(server: str, tmp_path: Path) -> None:
    """A run whose artifacts hold no event files shows the directory its
    ``tensorboard.log_dir`` tag names; a run deleted in MLflow leaves lumiboard too."""
    with SummaryWriter(str(tmp_path / "tb" / "eval")) as writer:
        writer.add_scalar("tb/accuracy", 0.75, 3)
    client = MlflowClient(server)
    experiment_id = client.create_experiment("tagged")
    kept = client.create_run(experiment_id, run_name="kept").info.run_id
    client.set_tag(kept, "tensorboard.log_dir", str(tmp_path / "tb"))
    client.log_metric(kept, "loss", 1.0, step=0)
    gone = client.create_run(experiment_id, run_name="gone").info.run_id
    client.set_tag(gone, "tensorboard.log_dir", "/a/path/of/the/training/machine")

    experiment = lumiboard.read(f"mlflow+{server}?experiment=tagged", cache=False)
    assert experiment.runs() == ["tagged/gone", "tagged/kept", "tagged/kept/tensorboard_logs/eval"]
    accuracy = experiment.scalars(runs=["tagged/kept/tensorboard_logs/eval"])
    assert accuracy[["tag", "step", "value"]].values.tolist() == [["tb/accuracy", 3, 0.75]]

    client.delete_run(gone)
    experiment.reload()
    assert experiment.runs() == ["tagged/kept", "tagged/kept/tensorboard_logs/eval"]


def test_a_run_resumed_below_its_latest_step(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Points below the latest step (a run resumed from a checkpoint) leave MLflow's latest
    point as it was; a running run's metrics are still read on (every 30 s; here each pass)."""
    monkeypatch.setattr(mlflow_mirror, "METRIC_RECHECK_SECONDS", 0.0)
    client = MlflowClient(server)
    run_id = client.create_run(client.create_experiment("resumed"), run_name="r").info.run_id
    start = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric("loss", 1.0, start + i, i) for i in range(30)])
    experiment = lumiboard.read(f"mlflow+{server}?experiment=resumed", cache=False)
    assert len(experiment.scalars()) == 30
    resumed = [Metric("loss", 0.5, start + 100 + i, 10 + i) for i in range(5)]
    client.log_batch(run_id, metrics=resumed)
    experiment.reload()
    assert len(experiment.scalars()) == 35
    assert experiment.scalars()["value"].tolist().count(0.5) == 5


def test_export_of_a_run_resumed_from_a_checkpoint(server: str, tmp_path: Path) -> None:
    """Steps below the latest one already in MLflow, written after the last export (a
    ``purge_step`` restart), are sent; nothing else is sent again."""
    with SummaryWriter(str(tmp_path / "logs" / "run")) as writer:
        for step in range(30):
            writer.add_scalar("loss", 1.0, step)
    local = lumiboard.read(str(tmp_path / "logs"), cache=False)
    assert local.to_mlflow(server, "checkpoint").points == 30
    with SummaryWriter(str(tmp_path / "logs" / "run"), purge_step=10) as writer:
        for step in range(10, 15):
            writer.add_scalar("loss", 0.5, step)
    local.reload()
    report = local.to_mlflow(server, "checkpoint")
    assert report.points == 5
    history = MlflowClient(server).get_metric_history(report.runs[0].run_id, "loss")
    assert sorted(m.step for m in history if m.value == 0.5) == list(range(10, 15))
    assert local.to_mlflow(server, "checkpoint").points == 0
