"""MLflow both ways: a log directory sent to MLflow, then read back from MLflow.

Run it (needs ``pip install "lumiboard[mlflow]"``; a few seconds, no server)::

    python examples/mlflow_roundtrip.py

It writes three small training runs with hyperparameters, sends them to an MLflow tracking
store in a temporary SQLite database (``Experiment.to_mlflow``, what ``lumiboard
mlflow-export`` does), sends them again (nothing new: nothing sent), then reads the
experiment back as lumiboard runs through an ``mlflow+`` log directory and prints the
figures. Against a tracking server instead::

    mlflow server --port 5000 &
    python examples/mlflow_roundtrip.py --tracking-uri http://127.0.0.1:5000
    lumiboard --logdir "mlflow+http://127.0.0.1:5000?experiment=mlflow_roundtrip"

The served runs are ``mlflow_roundtrip/<run>`` (their metrics, with the params as
hyperparameters in HParams and the runs table) and ``mlflow_roundtrip/<run>/tensorboard_logs``
(their event files, sent as artifacts); each links to its MLflow page in the runs panel.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time

import lumiboard
from lumiboard import SummaryWriter

EXPERIMENT = "mlflow_roundtrip"
STEPS = 500


def write_runs(logdir: str) -> None:
    for lr in (0.3, 0.1, 0.03):
        with SummaryWriter(os.path.join(logdir, f"lr_{lr}")) as writer:
            writer.add_hparams({"lr": lr, "optimizer": "sgd", "batch_size": 64}, {}, run_name=".")
            for step in range(STEPS):
                loss = 2.0 * math.exp(-lr * step / 50) + 0.05
                writer.add_scalar("loss/train", loss, step)
                writer.add_scalar("accuracy", 1.0 - loss / 2.1, step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tracking-uri", help="an MLflow tracking URI (default: a temporary SQLite file)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lumiboard-mlflow-") as scratch:
        os.chdir(scratch)  # MLflow keeps a database's artifacts in ./mlruns
        os.environ["XDG_CACHE_HOME"] = os.path.join(scratch, "cache")  # the mirror's cache
        uri = args.tracking_uri or f"sqlite:///{os.path.join(scratch, 'mlflow.db')}"
        logdir = os.path.join(scratch, "runs")
        write_runs(logdir)
        local = lumiboard.read(logdir, cache=False)

        started = time.perf_counter()
        sent = local.to_mlflow(uri, EXPERIMENT)
        print(f"sent: {sent} in {time.perf_counter() - started:.2f} s")
        print(f"again: {local.to_mlflow(uri, EXPERIMENT)}")

        started = time.perf_counter()
        back = lumiboard.read(f"mlflow+{uri}?experiment={EXPERIMENT}", cache=False)
        scalars = back.scalars()
        from_metrics = scalars[~scalars["run"].astype(str).str.endswith("/tensorboard_logs")]
        print(f"read back in {time.perf_counter() - started:.2f} s: runs {back.runs()}")
        print(f"points sent {sent.points}, read back from MLflow metrics {len(from_metrics)}")
        assert len(from_metrics) == sent.points


if __name__ == "__main__":
    main()
