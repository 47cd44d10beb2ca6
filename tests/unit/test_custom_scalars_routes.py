"""The custom scalars routes answer as TensorBoard's ``custom_scalars`` plugin, checked in-process.

Two runs carry layouts (lumiboard's ``add_custom_scalars`` and torch's), overlapping in one
category; both log scalars, NaN included. lumiboard's ``POST /series`` (the dashboard's route)
is checked on its own: regex matching, columns, and bounded work on hostile regexes.
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from route_support import get_json, lumiboard_client, tensorboard_client
from starlette.testclient import TestClient
from torch.utils import tensorboard as torch_tb

from lumiboard import SummaryWriter
from lumiboard.plugins.custom_scalars import routes

CS = "/data/plugin/custom_scalars"
LUMI_LAYOUT = {
    "Losses": {
        "all losses": ["Multiline", [r"loss/.*"]],
        "train only": ["Multiline", ["loss/train$"]],
    },
    "Accuracy": {"acc with bounds": ["Margin", ["acc", "acc_lo", "acc_hi"]]},
}
TORCH_LAYOUT = {
    "Losses": {
        "all losses": ["Multiline", [r"loss/.*"]],
        "val": ["Multiline", ["loss/val"]],
    },
    "Extra": {"anything": ["Multiline", ["a"]]},
}


def _write_logdir(root: Path) -> None:
    with SummaryWriter(str(root / "lumi")) as writer:
        writer.add_custom_scalars(LUMI_LAYOUT)
        for step in range(30):
            writer.add_scalar("loss/train", 1 / (step + 1), step, walltime=10.0 + step)
            writer.add_scalar("loss/val", math.nan if step == 3 else 2 / (step + 1), step)
            writer.add_scalar("acc", step / 30, step)
            writer.add_scalar("acc_lo", step / 30 - 0.1, step)
            writer.add_scalar("acc_hi", step / 30 + 0.1, step)
            writer.add_scalar("a" * 40 + "!", 1.0, step)
    torch_writer = torch_tb.SummaryWriter(str(root / "torch"))
    torch_writer.add_custom_scalars(TORCH_LAYOUT)
    for step in range(20):
        torch_writer.add_scalar("loss/train", 3.0 - step * 0.1, step)
        torch_writer.add_scalar("loss/val", 3.5 - step * 0.1, step)
    torch_writer.close()
    with SummaryWriter(str(root / "no_layout")) as writer:
        writer.add_scalar("loss/train", 0.5, 0)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cs_logs")
    _write_logdir(root)
    return root


@pytest.fixture(scope="module")
def client(logdir: Path) -> Iterator[TestClient]:
    with lumiboard_client(logdir) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def tensorboard(logdir: Path) -> Any:
    return tensorboard_client(logdir)


def test_layout_equals_tensorboard(client: TestClient, tensorboard: Any) -> None:
    ours = client.get(f"{CS}/layout").json()
    assert ours == get_json(tensorboard, f"{CS}/layout")
    titles = [category["title"] for category in ours["category"]]
    assert titles == ["Losses", "Accuracy", "Extra"]  # runs in name order: lumi, then torch
    losses = ours["category"][0]
    assert [chart["title"] for chart in losses["chart"]] == ["all losses", "train only", "val"]
    margin = ours["category"][1]["chart"][0]["margin"]["series"][0]
    assert margin == {"value": "acc", "lower": "acc_lo", "upper": "acc_hi"}


def test_layout_is_empty_object_without_layouts(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "run")) as writer:
        writer.add_scalar("x", 1.0, 0)
    with lumiboard_client(tmp_path) as bare:
        assert bare.get(f"{CS}/layout").json() == {}
        assert bare.get("/data/plugins_listing").json()["custom_scalars"]["enabled"] is False


@pytest.mark.parametrize(
    "pattern", ["loss/.*", "loss", "acc", "acc_.*", "train", ".*", "(", "", "a{2,1}", "zzz"]
)
@pytest.mark.parametrize("run", ["lumi", "torch", "no_layout", "nope"])
def test_scalars_equal_tensorboard(
    client: TestClient, tensorboard: Any, run: str, pattern: str
) -> None:
    query = urlencode({"run": run, "tag": pattern})
    response = client.get(f"{CS}/scalars?{query}")
    assert response.status_code == 200, response.text
    ours = response.json()
    theirs = get_json(tensorboard, f"{CS}/scalars?{query}")
    ours.pop("error", None)
    assert ours == theirs


def test_scalars_keeps_tensorboards_nan_strings(client: TestClient) -> None:
    body = client.get(f"{CS}/scalars?{urlencode({'run': 'lumi', 'tag': 'loss/val'})}").json()
    assert body["regex_valid"] is True
    assert body["tag_to_events"]["loss/val"][3][2] == "NaN"


@pytest.mark.parametrize("fmt", ["csv", "json", None])
def test_download_data_equals_tensorboard(
    client: TestClient, tensorboard: Any, fmt: str | None
) -> None:
    params = {"run": "lumi", "tag": "loss/val"} | ({"format": fmt} if fmt else {})
    query = urlencode(params)
    ours = client.get(f"{CS}/download_data?{query}")
    assert ours.status_code == 200
    theirs = tensorboard.get(f"{CS}/download_data?{query}").get_data(as_text=True)
    if fmt == "csv":
        assert ours.headers["content-type"].startswith("text/csv")
        assert ours.text == theirs
    else:
        assert ours.json() == json.loads(theirs)


def test_errors_are_json(client: TestClient) -> None:
    cases = {
        f"{CS}/scalars?tag=loss": 400,
        f"{CS}/download_data?run=lumi": 400,
        f"{CS}/download_data?tag=acc": 400,
        f"{CS}/download_data?run=lumi&tag=nope": 404,
        f"{CS}/download_data?run=nope&tag=acc": 404,
    }
    for url, status in cases.items():
        response = client.get(url)
        assert response.status_code == status, (url, response.text)
        assert "error" in response.json()


def test_catastrophic_regex_is_bounded(client: TestClient) -> None:
    if routes._REGEX is None:
        pytest.skip("the regex package is not installed: matching is not time-bounded")
    evil = "(a|aa)+$"  # exponential backtracking on "aaa...a!"
    started = time.monotonic()
    body = client.get(f"{CS}/scalars?{urlencode({'run': 'lumi', 'tag': evil})}").json()
    assert time.monotonic() - started < 5 * routes.MATCH_SECONDS + 2
    assert body["regex_valid"] is False
    assert "longer than" in body["error"]
    response = client.post(
        f"{CS}/series", json={"regexes": [evil, "loss/train"], "runs": ["lumi"], "buckets": 100}
    )
    assert response.status_code == 200
    verdicts = response.json()["regexes"]
    assert verdicts[0]["regex_valid"] is False
    assert time.monotonic() - started < 10 * routes.MATCH_SECONDS + 4


def test_overlong_regex_is_invalid(client: TestClient) -> None:
    pattern = "a" * (routes.MAX_PATTERN_LENGTH + 1)
    body = client.get(f"{CS}/scalars?{urlencode({'run': 'lumi', 'tag': pattern})}").json()
    assert body["regex_valid"] is False


def _column(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f8")


def test_series_matches_regexes_over_runs(client: TestClient) -> None:
    request = {
        "regexes": ["loss/.*", "acc$", "("],
        "runs": ["lumi", "torch", "nope"],
        "buckets": 1000,
        "x": "step",
    }
    body = client.post(f"{CS}/series", json=request).json()
    assert [v["regex_valid"] for v in body["regexes"]] == [True, True, False]
    assert body["truncated"] is False
    pairs = {(tag, run) for tag, by_run in body["tags"].items() for run in by_run}
    assert pairs == {
        ("loss/train", "lumi"), ("loss/val", "lumi"), ("acc", "lumi"),
        ("loss/train", "torch"), ("loss/val", "torch"),
    }  # fmt: skip
    columns = body["tags"]["loss/train"]["lumi"]
    assert columns["total"] == 30
    assert _column(columns["step"]).tolist() == list(range(30))
    assert _column(columns["wall_time"])[0] == 10.0
    assert _column(columns["value"]) == pytest.approx([1 / (s + 1) for s in range(30)])
    ranged = client.post(
        f"{CS}/series", json=request | {"min_step": 5, "max_step": 9, "x": "relative"}
    ).json()
    # The range, and the neighbour on each side (the line runs on to the chart's edges).
    assert _column(ranged["tags"]["loss/train"]["lumi"]["step"]).tolist() == list(range(4, 11))


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"runs": ["lumi"]}',
        b'{"regexes": "loss", "runs": ["lumi"]}',
        b'{"regexes": ["loss"], "runs": "lumi"}',
        b'{"regexes": ["loss"], "runs": [], "buckets": 0}',
        b'{"regexes": ["loss"], "runs": [], "buckets": true}',
        b'{"regexes": ["loss"], "runs": [], "x": "time"}',
        b'{"regexes": ["loss"], "runs": [], "min_step": "1"}',
    ],
)
def test_series_rejects_bad_bodies(client: TestClient, body: bytes) -> None:
    response = client.post(f"{CS}/series", content=body)
    assert response.status_code == 400
    assert "error" in response.json()
