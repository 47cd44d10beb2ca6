"""MLflow both ways through a tracking URI that needs no server: ``sqlite:///path/mlflow.db``."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("mlflow")

from mlflow import MlflowClient

import lumiboard
from lumiboard import SummaryWriter
from lumiboard.reader import mlflow_runs, mlflow_source
from lumiboard.reader.reload import Reloader


# MLflow's SQL store uses a loader strategy SQLAlchemy 2.1 deprecates (not ours to fix).
@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
def test_sqlite_uri_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # MLflow puts a database's artifacts under ./mlruns
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(mlflow_source, "MIN_INTERVAL_SECONDS", 0.0)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with SummaryWriter(str(tmp_path / "logs" / "a")) as writer:
        writer.add_hparams({"lr": 1e-4, "depth": 12}, {"score": 0.9}, run_name=".")
        for step in range(-2, 60):  # negative steps too: MLflow steps are int64
            writer.add_scalar("loss", 100.0 / (step + 3), step)

    report = lumiboard.read(str(tmp_path / "logs"), cache=False).to_mlflow(uri, "local")
    assert (report.points, report.params) == (63, 2)
    run_id = report.runs[0].run_id
    assert MlflowClient(uri).get_run(run_id).data.params == {"lr": "0.0001", "depth": "12"}

    back = lumiboard.read(f"mlflow+{uri}?experiment=local", cache=False)
    assert back.runs() == ["local/a", "local/a/tensorboard_logs"]
    loss = back.scalars(runs=["local/a"], tags=["loss"])
    assert loss["step"].tolist() == list(range(-2, 60))
    assert len(back.scalars(runs=["local/a"])) == report.points
    # A database has no web page: no link.
    reloader = Reloader(f"mlflow+{uri}?experiment=local")
    reloader.reload()
    assert mlflow_runs.page_of(reloader.location("local/a")) is None
