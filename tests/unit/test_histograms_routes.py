"""The histograms routes: TensorBoard's shapes (checked against its app), the dashboard's
``/multirun`` route, sampling, and errors as JSON.

The log directory holds histograms written by lumiboard's SummaryWriter (legacy
``HistogramProto``), its TF2-style API (``[k, 3]`` tensors) and torch's SummaryWriter, plus
a scalar and a text tag (tensors of other plugins must not be served as histograms).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from route_support import get_json, lumiboard_client, route_fixtures, strict_json
from starlette.testclient import TestClient
from torch.utils import tensorboard as torch_tb

from lumiboard import SummaryWriter, summary
from lumiboard.plugins.histograms.routes import sample_evenly
from lumiboard.store.runs import TensorPoint

BASE = "/data/plugin/histograms"
STEPS = 12  # under TensorBoard's 51-sample route limit: it serves every histogram too


def _write_logdir(root: Path) -> None:
    rng = np.random.default_rng(0)
    with SummaryWriter(str(root / "lumi")) as writer:
        for step in range(STEPS):
            writer.add_histogram("weights", rng.normal(step, 1.0, 500), step, walltime=100.0 + step)
            writer.add_histogram("layer/bias", rng.uniform(-1, 1, 50), step, bins=8)
        writer.add_scalar("loss", 1.0, 0)
        writer.add_text("note", "not a histogram", 0)
    tf2 = summary.create_file_writer(str(root / "tf2"))
    with tf2.as_default():
        for step in range(STEPS):
            summary.histogram("weights", rng.normal(-step, 2.0, 300), step=step)
        summary.histogram("constant", np.full(10, 3.0), step=0)
        summary.histogram("empty", np.array([]), step=0)
    tf2.close()
    writer = torch_tb.SummaryWriter(str(root / "torch run"))
    for step in range(STEPS):
        writer.add_histogram("weights", rng.normal(0.5 * step, 1.0, 400), step)
    writer.close()


logdir, client, tensorboard = route_fixtures(_write_logdir)


def _get(client: TestClient, route: str, **params: Any) -> Any:
    return get_json(client, f"{BASE}/{route}", **params)


def test_tags_lists_histogram_series_only(client: TestClient, tensorboard: Any) -> None:
    tags = _get(client, "tags")
    assert tags == {
        "lumi": {
            "weights": {"displayName": "weights", "description": ""},
            "layer/bias": {"displayName": "layer/bias", "description": ""},
        },
        "tf2": {
            "weights": {"displayName": "weights", "description": ""},
            "constant": {"displayName": "constant", "description": ""},
            "empty": {"displayName": "empty", "description": ""},
        },
        "torch run": {"weights": {"displayName": "weights", "description": ""}},
    }
    theirs = _get(tensorboard, "tags")
    assert {run: set(by_tag) for run, by_tag in theirs.items()} == {
        run: set(by_tag) for run, by_tag in tags.items()
    }


def test_histograms_equal_tensorboards(client: TestClient, tensorboard: Any) -> None:
    for run, by_tag in _get(client, "tags").items():
        for tag in by_tag:
            ours = _get(client, "histograms", run=run, tag=tag)
            theirs = _get(tensorboard, "histograms", run=run, tag=tag)
            assert ours == theirs, (run, tag)


def test_histograms_shape_and_legacy_upgrade(client: TestClient) -> None:
    points = _get(client, "histograms", run="lumi", tag="weights")
    assert [p[1] for p in points] == list(range(STEPS))
    assert [p[0] for p in points] == [100.0 + s for s in range(STEPS)]
    for _, step, rows in points:
        array = np.array(rows)
        assert array.ndim == 2
        assert array.shape[1] == 3
        assert np.all(array[:, 0] <= array[:, 1])
        assert array[:, 2].sum() == 500
        # The rows are contiguous and centred near the step (normal(step, 1)).
        assert np.array_equal(array[1:, 0], array[:-1, 1])
        centre = float((array[:, 2] * (array[:, 0] + array[:, 1]) / 2).sum() / 500)
        assert abs(centre - step) < 0.3
    constant = _get(client, "histograms", run="tf2", tag="constant")
    assert constant[0][2][-1] == [3.0, 3.0, 10.0]
    assert _get(client, "histograms", run="tf2", tag="empty")[0][2] == [[0.0, 0.0, 0.0]] * 30


def test_samples_keeps_first_and_last(client: TestClient) -> None:
    points = _get(client, "histograms", run="tf2", tag="weights", samples=4)
    assert [p[1] for p in points] == [0, 4, 7, 11]
    assert len(_get(client, "histograms", run="tf2", tag="weights", samples=100)) == STEPS


def test_sample_evenly() -> None:
    points = [TensorPoint(step, 0.0, np.zeros((0, 3))) for step in range(10)]
    assert sample_evenly(points, None) == points
    assert [p.step for p in sample_evenly(points, 1)] == [9]
    assert [p.step for p in sample_evenly(points, 2)] == [0, 9]
    assert [p.step for p in sample_evenly(points, 3)] == [0, 4, 9]  # 4.5 rounds to even
    assert len(sample_evenly(points, 9)) == 9


def test_multirun(client: TestClient) -> None:
    body = _get(client, "multirun", tag="weights", runs=["lumi", "torch run", "nope"])
    assert body["tag"] == "weights"
    assert list(body["runs"]) == ["lumi", "torch run"]
    assert body["runs"]["lumi"] == _get(client, "histograms", run="lumi", tag="weights")
    every = _get(client, "multirun", tag="weights", samples=3)
    assert sorted(every["runs"]) == ["lumi", "tf2", "torch run"]
    assert all([p[1] for p in s] == [0, 6, 11] for s in every["runs"].values())
    assert _get(client, "multirun", tag="missing") == {"tag": "missing", "runs": {}}


@pytest.mark.parametrize(
    ("route", "params", "status", "words"),
    [
        ("histograms", {"tag": "weights"}, 400, "'run'"),
        ("histograms", {"run": "lumi"}, 400, "'tag'"),
        ("histograms", {"run": "nope", "tag": "weights"}, 404, "'nope'"),
        ("histograms", {"run": "lumi", "tag": "nope"}, 404, "'nope'"),
        ("histograms", {"run": "lumi", "tag": "loss"}, 404, "'loss'"),
        ("histograms", {"run": "lumi", "tag": "note"}, 404, "'note'"),
        ("histograms", {"run": "lumi", "tag": "weights", "samples": "x"}, 400, "samples"),
        ("histograms", {"run": "lumi", "tag": "weights", "samples": "0"}, 400, "samples"),
        ("multirun", {}, 400, "'tag'"),
        ("multirun", {"tag": "weights", "samples": "-3"}, 400, "samples"),
    ],
)
def test_errors_are_json(
    client: TestClient, route: str, params: dict[str, str], status: int, words: str
) -> None:
    response = client.get(f"{BASE}/{route}?{urlencode(params)}")
    assert response.status_code == status
    assert words in response.json()["error"]


def test_non_finite_numbers_are_tensorboard_strings(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "odd")) as writer:
        writer.add_histogram_raw(
            "odd", np.nan, np.inf, 3, 1.0, 1.0, [1.0, 2.0], [1.0, np.inf], global_step=0
        )
    with lumiboard_client(tmp_path) as client:
        response = client.get(f"{BASE}/histograms?run=odd&tag=odd")
        assert response.status_code == 200
        rows = strict_json(response.text)[0][2]
        assert rows == [["NaN", 1.0, 1.0], [1.0, "Infinity", "Infinity"]]
        assert client.get(f"{BASE}/multirun?tag=odd").status_code == 200
