"""TensorFlow and Keras files (``shared/fixtures/tf2_keras``) on every dashboard's routes.

Each route of lumiboard answers what TensorBoard's own app answers on the same files: Keras'
``TensorBoard(histogram_freq=1)`` callback histograms (and their distributions), the
``tf.summary`` histogram, image, audio and text summaries, and a Keras hparams sweep written
with ``tensorboard.plugins.hparams.api``. Blob URLs differ by design (opaque keys), so for
images and audio the listings are compared without them, and the bytes behind them are compared.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from route_support import get_json, get_ok, lumiboard_client, tensorboard_client
from starlette.testclient import TestClient
from werkzeug.test import Client

SHARED = Path(os.environ.get("LUMIBOARD_SHARED", Path(__file__).resolve().parents[3] / "shared"))
FIXTURES = SHARED / "fixtures" / "tf2_keras"


@pytest.fixture(scope="module", params=["keras_fit", "tf_summary"])
def both(request: pytest.FixtureRequest) -> Iterator[tuple[TestClient, Client]]:
    logdir = FIXTURES / request.param
    assert logdir.is_dir(), f"missing fixture {logdir} (../shared must sit beside the repo)"
    with lumiboard_client(logdir) as ours:
        yield ours, tensorboard_client(logdir)


def _series(client: TestClient | Client, plugin: str) -> list[tuple[str, str]]:
    tags = get_json(client, f"/data/plugin/{plugin}/tags")
    return sorted((run, tag) for run, by_tag in tags.items() for tag in by_tag)


@pytest.mark.parametrize("plugin", ["histograms", "distributions", "images", "audio", "text"])
def test_tags_match_tensorboard(both: tuple[TestClient, Client], plugin: str) -> None:
    ours, theirs = both
    assert _series(ours, plugin) == _series(theirs, plugin)


@pytest.mark.parametrize(
    ("plugin", "route"), [("histograms", "histograms"), ("distributions", "distributions")]
)
def test_tensor_series_match_tensorboard(
    both: tuple[TestClient, Client], plugin: str, route: str
) -> None:
    ours, theirs = both
    series = _series(ours, plugin)
    if plugin == "histograms":
        assert series, "the fixture has histograms"
    for run, tag in series:
        mine = get_json(ours, f"/data/plugin/{plugin}/{route}", run=run, tag=tag)
        tb = get_json(theirs, f"/data/plugin/{plugin}/{route}", run=run, tag=tag)
        # TensorBoard's routes serve an evenly spaced sample of 51 points at most; these
        # fixtures hold fewer, so every point must agree.
        assert len(tb) < 51
        assert mine == tb, (run, tag)


@pytest.mark.parametrize(
    ("plugin", "route", "blob"),
    [("images", "images", "individualImage"), ("audio", "audio", "individualAudio")],
)
def test_blob_listings_and_bytes_match_tensorboard(
    both: tuple[TestClient, Client], plugin: str, route: str, blob: str
) -> None:
    ours, theirs = both
    for run, tag in _series(ours, plugin):
        mine = get_json(ours, f"/data/plugin/{plugin}/{route}", run=run, tag=tag, sample=0)
        tb = get_json(theirs, f"/data/plugin/{plugin}/{route}", run=run, tag=tag, sample=0)
        assert [(e["step"], e["wall_time"]) for e in mine] == [
            (e["step"], e["wall_time"]) for e in tb
        ]
        for entry_mine, entry_tb in zip(mine, tb, strict=True):
            a = get_ok(ours, f"/data/plugin/{plugin}/{blob}?{entry_mine['query']}")
            b = get_ok(theirs, f"/data/plugin/{plugin}/{blob}?{entry_tb['query']}")
            assert a.content == b.data
            assert (
                a.headers["content-type"].split(";")[0] == b.headers["content-type"].split(";")[0]
            )


def test_text_entries_match_tensorboard(both: tuple[TestClient, Client]) -> None:
    ours, theirs = both
    for run, tag in _series(ours, "text"):
        mine = get_json(ours, "/data/plugin/text/text", run=run, tag=tag)
        tb = get_json(theirs, "/data/plugin/text/text", run=run, tag=tag)
        assert [(e["step"], e["wall_time"]) for e in mine] == [
            (e["step"], e["wall_time"]) for e in tb
        ]
        assert all("<table" in e["text"] for e in mine) == all("<table" in e["text"] for e in tb)


def _post(client: TestClient | Client, route: str, body: dict[str, Any]) -> Any:
    url = f"/data/plugin/hparams/{route}"
    if isinstance(client, TestClient):
        response = client.post(url, json=body)
        assert response.status_code == 200, response.text
        return response.json()
    answer = client.post(url, data=json.dumps(body), content_type="application/json")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return json.loads(answer.get_data(as_text=True))


def test_keras_hparams_sweep_matches_tensorboard() -> None:
    logdir = FIXTURES / "sweep"
    statuses = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]
    request = {"experimentName": "", "allowedStatuses": statuses, "startIndex": 0, "sliceSize": 100}
    with lumiboard_client(logdir) as ours:
        theirs = tensorboard_client(logdir)
        experiment = _post(ours, "experiment", {"experimentName": ""})
        assert experiment == _post(theirs, "experiment", {"experimentName": ""})
        groups = _post(ours, "session_groups", request)
        assert groups == _post(theirs, "session_groups", request)
    assert groups["totalSize"] == 3
