"""The PR curves routes answer as TensorBoard's ``pr_curves`` plugin, checked against it in-process.

The log directory holds curves from lumiboard's ``add_pr_curve`` / ``add_pr_curve_raw``, torch's
``add_pr_curve``, and a summary built as TensorBoard's ``pr_curve.summary.pb`` builds it (its
metadata and tensor helpers; ``pb`` itself needs TensorFlow).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from route_support import get_json, route_fixtures
from starlette.testclient import TestClient
from tensorboard.compat.proto import summary_pb2  # type: ignore[import-untyped]
from tensorboard.plugins.pr_curve import metadata  # type: ignore[import-untyped]
from tensorboard.util import tensor_util  # type: ignore[import-untyped]
from torch.utils import tensorboard as torch_tb

from lumiboard import SummaryWriter
from lumiboard.plugins.pr_curves.summary import compute_curve

PR = "/data/plugin/pr_curves"
STEPS = 4


def _data(step: int, size: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(step)
    labels = rng.random(size) < 0.4
    predictions = np.clip(labels * 0.3 + rng.random(size) * 0.7, 0, 1).astype(np.float32)
    return labels, predictions


def _write_logdir(root: Path) -> None:
    with SummaryWriter(str(root / "lumi")) as writer:
        for step in range(STEPS):
            labels, predictions = _data(step)
            writer.add_pr_curve("pr/a", labels, predictions, step, walltime=100.0 + step)
            writer.add_pr_curve("pr/few", labels, predictions * 0.5, step, num_thresholds=11)
        raw = compute_curve(*_data(9), 21)
        writer.add_pr_curve_raw("raw", *raw, global_step=3, num_thresholds=21)
        writer.add_scalar("loss", 1.0, 0)
    torch_writer = torch_tb.SummaryWriter(str(root / "torch"))
    for step in range(STEPS):
        labels, predictions = _data(step + 10)
        torch_writer.add_pr_curve("pr/a", labels, predictions, step)
    _add_tensorboard_summary(torch_writer)
    torch_writer.close()


def _add_tensorboard_summary(torch_writer: Any) -> None:
    """A ``pr_curves`` summary as TensorBoard's own ``summary.pb`` builds it (TF-free parts)."""
    curve = compute_curve(*_data(42), 33).astype(np.float32)
    value = summary_pb2.Summary.Value(
        tag="tb_pb",
        metadata=metadata.create_summary_metadata(
            display_name="TB curve", description="made by TB", num_thresholds=33
        ),
        tensor=tensor_util.make_tensor_proto(curve),
    )
    torch_writer._get_file_writer().add_summary(summary_pb2.Summary(value=[value]), 5)


logdir, client, tensorboard = route_fixtures(_write_logdir)


def test_tags_as_tensorboard(client: TestClient, tensorboard: Any) -> None:
    ours = client.get(f"{PR}/tags").json()
    theirs = get_json(tensorboard, f"{PR}/tags")
    assert {run: set(tags) for run, tags in ours.items()} == {
        run: set(tags) for run, tags in theirs.items() if tags
    }
    assert set(ours["lumi"]) == {"pr/a", "pr/few", "raw"}
    info = ours["torch"]["tb_pb"]
    assert info == {"displayName": "TB curve", "description": "<p>made by TB</p>"}
    assert info == theirs["torch"]["tb_pb"]


def test_pr_curves_equal_tensorboard(client: TestClient, tensorboard: Any) -> None:
    compared = 0
    for run, tags in get_json(tensorboard, f"{PR}/tags").items():
        for tag in tags:
            query = urlencode({"run": run, "tag": tag})
            response = client.get(f"{PR}/pr_curves?{query}")
            assert response.status_code == 200, response.text
            ours = response.json()
            theirs = get_json(tensorboard, f"{PR}/pr_curves?{query}")
            assert ours == theirs, (run, tag)
            compared += 1
    assert compared == 5


def test_shape_and_trimming(client: TestClient) -> None:
    query = urlencode([("run", "lumi"), ("run", "torch"), ("tag", "pr/a")])
    body = client.get(f"{PR}/pr_curves?{query}").json()
    assert set(body) == {"lumi", "torch"}
    assert [entry["step"] for entry in body["lumi"]] == list(range(STEPS))
    entry = body["lumi"][0]
    assert set(entry) == {
        "wall_time", "step", "precision", "recall", "thresholds",
        "true_positives", "false_positives", "true_negatives", "false_negatives",
    }  # fmt: skip
    assert entry["wall_time"] == 100.0
    lengths = {len(value) for key, value in entry.items() if isinstance(value, list)}
    assert len(lengths) == 1
    # Thresholds are linspace(0, 1, 127), cut after the last one with TP + FP > 0.
    count = lengths.pop()
    assert entry["thresholds"] == pytest.approx(np.linspace(0, 1, 127)[:count].tolist())
    labels, predictions = _data(0)
    expected = compute_curve(labels, predictions, 127)
    assert entry["true_positives"] == expected[0, :count].astype(int).tolist()
    assert entry["false_negatives"] == expected[3, :count].astype(int).tolist()
    # Predictions * 0.5 never reach 0.5: thresholds above are cut.
    few = client.get(f"{PR}/pr_curves?{urlencode({'run': 'lumi', 'tag': 'pr/few'})}").json()
    assert max(few["lumi"][0]["thresholds"]) <= 0.5


def test_errors_are_json(client: TestClient) -> None:
    cases = {
        f"{PR}/pr_curves?tag=pr/a": 400,
        f"{PR}/pr_curves?run=lumi": 400,
        f"{PR}/pr_curves?run=lumi&tag=": 400,
        f"{PR}/pr_curves?run=nope&tag=pr/a": 404,
        f"{PR}/pr_curves?run=lumi&tag=nope": 404,
        f"{PR}/pr_curves?run=lumi&tag=loss": 404,
        f"{PR}/pr_curves?run=lumi&run=nope&tag=pr/a": 404,
    }
    for url, status in cases.items():
        response = client.get(url)
        assert response.status_code == status, (url, response.text)
        assert "error" in response.json()
