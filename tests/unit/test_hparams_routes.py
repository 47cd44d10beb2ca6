"""The hparams routes: TensorBoard's shapes, request forms, filters, downloads, and /table."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from route_support import lumiboard_client
from starlette.testclient import TestClient

from lumiboard import SummaryWriter, summary
from lumiboard import hparams as hp
from lumiboard.plugins.hparams.downloads import latex_cell

BASE = "/data/plugin/hparams"
ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]
HOSTILE = 'a_b %50 & $x #1 {y} "q",\n<b>'


def _write(root: Path) -> None:
    lr = hp.HParam("lr", hp.RealInterval(1e-4, 1.0))
    opt = hp.HParam("optimizer", hp.Discrete(["adam", "sgd", HOSTILE]))
    wide = hp.HParam("wide", hp.Discrete([False, True]))
    with summary.create_file_writer(str(root)).as_default():
        hp.hparams_config(
            [lr, opt, wide],
            [hp.Metric("accuracy", group="validation", display_name="Acc"), hp.Metric("loss")],
        )
    trials = [
        ("t0", 0.1, "adam", True, "success"),
        ("t1", 0.01, "sgd", False, "failure"),
        ("t2", 0.5, HOSTILE, True, None),
        ("t3", 0.3, "adam", False, "running"),
    ]
    for index, (name, rate, optimizer, flag, status) in enumerate(trials):
        with SummaryWriter(root / name) as writer:
            hp.hparams({lr: rate, opt: optimizer, wide: flag}, trial_id=name, writer=writer)
            for step in range(5):
                writer.add_scalar("loss", 10.0 - step - index, step, walltime=100.0 + step)
            if status:
                hp.session_end(status, writer=writer)
        if name in ("t0", "t1"):
            with SummaryWriter(root / name / "validation") as writer:
                writer.add_scalar("accuracy", [0.7, math.nan][index], 4, walltime=200.0)
    # Two seeds of one group (same trial_id): aggregated by TensorBoard's rules.
    for seed, loss in (("s1", 2.0), ("s2", 4.0)):
        with SummaryWriter(root / "seeds" / seed) as writer:
            hp.hparams({lr: 0.2, opt: "sgd", wide: True}, trial_id="seeded", writer=writer)
            writer.add_scalar("loss", loss, 2)
            hp.session_end("success", writer=writer)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("hp")
    _write(root)
    with lumiboard_client(root) as test_client:
        yield test_client


def groups(client: TestClient, **request: Any) -> dict[str, Any]:
    body = {"startIndex": 0, "sliceSize": 100, "allowedStatuses": ALL_STATUSES, **request}
    response = client.post(f"{BASE}/session_groups", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def names(result: dict[str, Any]) -> list[str]:
    return [group["name"] for group in result["sessionGroups"]]


def test_listing_enables_the_tab(client: TestClient) -> None:
    listing = client.get("/data/plugins_listing").json()
    assert listing["hparams"]["enabled"] is True
    assert listing["hparams"]["tab_name"] == "HParams"


def test_experiment_get_and_post(client: TestClient) -> None:
    got = client.get(f"{BASE}/experiment", params={"request": "{}"}).json()
    posted = client.post(f"{BASE}/experiment", json={"experimentName": ""}).json()
    assert got == posted
    assert [info["name"] for info in got["hparamInfos"]] == ["lr", "optimizer", "wide"]
    assert got["hparamInfos"][0]["domainInterval"] == {"minValue": 0.0001, "maxValue": 1.0}
    assert got["hparamInfos"][1]["type"] == "DATA_TYPE_STRING"
    assert got["hparamInfos"][2]["domainDiscrete"] == [False, True]
    assert got["metricInfos"][0]["name"] == {"group": "validation", "tag": "accuracy"}
    assert got["metricInfos"][0]["displayName"] == "Acc"
    limited = client.post(
        f"{BASE}/experiment", json={"hparamsLimit": 1, "includeMetrics": False}
    ).json()
    assert [info["name"] for info in limited["hparamInfos"]] == ["lr"]
    assert limited["metricInfos"] == []


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("post", "experiment", b"{not json"),
        ("post", "session_groups", b"[1, 2]"),
        ("get", "session_groups", None),
        ("post", "session_groups", b'{"allowedStatuses": ["STATUS_BOGUS"]}'),
        ("post", "session_groups", b'{"colParams": [{"order": "ORDER_ASC"}]}'),
        ("post", "session_groups", b'{"colParams": [{"hparam": "x", "filterRegexp": "("}]}'),
        ("post", "session_groups", b'{"sliceSize": "many"}'),
        ("post", "session_groups", b'{"colParams": {"hparam": "x"}}'),
        ("post", "metric_evals", b"{}"),
        ("post", "experiment", b'{"includeMetrics": "yes"}'),
    ],
)
def test_bad_requests_are_400(
    client: TestClient, method: str, target: str, body: bytes | None
) -> None:
    if method == "post":
        response = client.post(f"{BASE}/{target}", content=body)
    else:
        response = client.get(f"{BASE}/{target}")
    assert response.status_code == 400, response.text
    assert "error" in response.json()


def test_session_groups_statuses_paging_and_shape(client: TestClient) -> None:
    everything = groups(client)
    assert everything["totalSize"] == 5
    assert names(everything) == ["seeded", "t0", "t1", "t2", "t3"]
    t0 = everything["sessionGroups"][1]
    assert t0["hparams"] == {"lr": 0.1, "optimizer": "adam", "wide": True}
    assert t0["sessions"][0]["status"] == "STATUS_SUCCESS"
    assert {m["name"]["tag"]: m["value"] for m in t0["metricValues"]} == {
        "accuracy": pytest.approx(0.7),
        "loss": 6.0,
    }
    t1 = everything["sessionGroups"][2]
    assert [m["value"] for m in t1["metricValues"] if m["name"]["tag"] == "accuracy"] == ["NaN"]
    # The mean of the group's sessions.
    seeded = everything["sessionGroups"][0]
    assert [s["name"] for s in seeded["sessions"]] == ["seeds/s1", "seeds/s2"]
    assert seeded["metricValues"] == [
        {
            "name": {"group": "", "tag": "loss"},
            "value": 3.0,
            "trainingStep": 2,
            "wallTimeSecs": seeded["metricValues"][0]["wallTimeSecs"],
        }
    ]
    only = groups(client, allowedStatuses=["STATUS_SUCCESS"])
    assert names(only) == ["seeded", "t0"]
    page = groups(client, startIndex=1, sliceSize=2)
    assert names(page) == ["t0", "t1"]
    assert page["totalSize"] == 5
    # TensorBoard's defaults: no status allowed and an empty slice.
    empty = client.get(f"{BASE}/session_groups", params={"request": "{}"}).json()
    assert empty == {"sessionGroups": [], "totalSize": 0}


def test_session_groups_get_equals_post(client: TestClient) -> None:
    body = {"allowedStatuses": ALL_STATUSES, "sliceSize": 3, "colParams": [{"hparam": "lr"}]}
    got = client.get(f"{BASE}/session_groups", params={"request": json.dumps(body)}).json()
    assert got == client.post(f"{BASE}/session_groups", json=body).json()


def test_sorting(client: TestClient) -> None:
    by_loss = groups(client, colParams=[{"metric": {"tag": "loss"}, "order": "ORDER_ASC"}])
    assert names(by_loss) == ["seeded", "t3", "t2", "t1", "t0"]
    by_lr = groups(client, colParams=[{"hparam": "lr", "order": "ORDER_DESC"}])
    assert names(by_lr) == ["t2", "t3", "seeded", "t0", "t1"]
    # Missing values last in both directions, unless missingValuesFirst.
    accuracy = {"group": "validation", "tag": "accuracy"}
    # Only t0 measured accuracy; t1's is NaN (a diverged run), which counts as missing, like
    # the others' (missing sessions keep their order).
    for order in ("ORDER_ASC", "ORDER_DESC"):
        ordered = groups(client, colParams=[{"metric": accuracy, "order": order}])
        assert names(ordered) == ["t0", "seeded", "t1", "t2", "t3"]
    first = groups(client, colParams=[{"metric": accuracy, "order": 1, "missingValuesFirst": True}])
    assert names(first) == ["seeded", "t1", "t2", "t3", "t0"]


def test_filters(client: TestClient) -> None:
    discrete = groups(client, colParams=[{"hparam": "optimizer", "filterDiscrete": ["adam"]}])
    assert names(discrete) == ["t0", "t3"]
    flags = groups(client, colParams=[{"hparam": "wide", "filterDiscrete": [True]}])
    assert names(flags) == ["seeded", "t0", "t2"]
    interval = groups(
        client,
        colParams=[{"hparam": "lr", "filterInterval": {"minValue": 0.05, "maxValue": 0.3}}],
    )
    assert names(interval) == ["seeded", "t0", "t3"]
    regexp = groups(client, colParams=[{"hparam": "optimizer", "filterRegexp": "^a"}])
    assert names(regexp) == ["t0", "t2", "t3"]
    metric = groups(
        client,
        colParams=[
            {
                "metric": {"group": "validation", "tag": "accuracy"},
                "filterInterval": {"minValue": 0, "maxValue": 1},
                "excludeMissingValues": True,
            }
        ],
    )
    assert names(metric) == ["t0"]
    include = groups(client, colParams=[{"hparam": "lr", "includeInResult": True}])
    assert all(set(group["hparams"]) == {"lr"} for group in include["sessionGroups"])


def test_aggregation_min_max(client: TestClient) -> None:
    loss = {"group": "", "tag": "loss"}
    low = groups(client, aggregationType="AGGREGATION_MIN", aggregationMetric=loss)
    high = groups(client, aggregationType="AGGREGATION_MAX", aggregationMetric=loss)
    assert low["sessionGroups"][0]["metricValues"][0]["value"] == 2.0
    assert high["sessionGroups"][0]["metricValues"][0]["value"] == 4.0


def test_metric_evals(client: TestClient) -> None:
    request = {"sessionName": "t0", "metricName": {"group": "", "tag": "loss"}}
    got = client.get(f"{BASE}/metric_evals", params={"request": json.dumps(request)}).json()
    assert got == [[100.0 + s, s, 10.0 - s] for s in range(5)]
    assert client.post(f"{BASE}/metric_evals", json=request).json() == got
    missing = {"sessionName": "nope", "metricName": {"tag": "loss"}}
    assert client.post(f"{BASE}/metric_evals", json=missing).status_code == 404


def download(client: TestClient, fmt: str, visibility: list[bool] | None = None) -> str:
    params = {
        "format": fmt,
        "request": json.dumps(
            {"allowedStatuses": ALL_STATUSES, "sliceSize": 100, "colParams": [{"hparam": "lr"}]}
        ),
    }
    if visibility is not None:
        params["columnsVisibility"] = json.dumps(visibility)
    response = client.get(f"{BASE}/download_data", params=params)
    assert response.status_code == 200, response.text
    ext = {"csv": "csv", "json": "json", "latex": "tex"}[fmt]
    assert f'filename="hparams_table.{ext}"' in response.headers["content-disposition"]
    return response.text


def test_download_csv_quotes(client: TestClient) -> None:
    rows = list(csv.reader(io.StringIO(download(client, "csv"))))
    assert rows[0] == ["lr", "optimizer", "wide", "Acc", "loss"]
    assert len(rows) == 6
    t2 = rows[4]
    assert t2[1] == HOSTILE  # commas, quotes and a newline survive the round trip
    assert t2[3] == ""  # no accuracy
    hidden = list(csv.reader(io.StringIO(download(client, "csv", [True, False, False, True]))))
    assert hidden[0] == ["lr", "Acc", "loss"]


def test_download_json(client: TestClient) -> None:
    data = json.loads(download(client, "json"))
    assert data["header"] == ["lr", "optimizer", "wide", "Acc", "loss"]
    assert data["rows"][1] == [0.1, "adam", True, pytest.approx(0.7), 6.0]
    assert data["rows"][2][3] == "NaN"
    assert data["rows"][3][3] is None


def test_download_latex_escapes(client: TestClient) -> None:
    text = download(client, "latex")
    assert text.startswith("\\begin{table}[tbp]\n\\begin{tabular}{lllll}\n")
    assert r"a\_b \%50 \& \$x \#1 \{y\}" in text
    assert "$0.1$ & adam & true & $0.7$ & $6$ \\\\" in text
    assert r"$\mathrm{NaN}$" in text
    assert "$0.01$ & sgd" in text
    assert latex_cell(1.5e-05) == "$1.5\\cdot 10^{-5}$"
    assert latex_cell(None) == "-"
    assert latex_cell(-math.inf) == "$-\\infty$"
    assert text.endswith("\\hline\n\\end{tabular}\n\\end{table}\n")


def test_download_bad_format(client: TestClient) -> None:
    response = client.get(f"{BASE}/download_data", params={"format": "xls", "request": "{}"})
    assert response.status_code == 400
    response = client.get(
        f"{BASE}/download_data", params={"columnsVisibility": "[1", "request": "{}"}
    )
    assert response.status_code == 400


def test_table_has_every_session(client: TestClient) -> None:
    table = client.get(f"{BASE}/table").json()
    assert table["declared"] is True
    assert [c["name"] for c in table["hparams"]] == ["lr", "optimizer", "wide"]
    assert table["hparams"][0]["domain"] == {"interval": [0.0001, 1.0]}
    assert table["hparams"][2]["domain"] == {"discrete": [False, True]}
    assert [(m["group"], m["tag"]) for m in table["metrics"]] == [
        ("validation", "accuracy"),
        ("", "loss"),
    ]
    runs = [s["run"] for s in table["sessions"]]
    assert runs == ["seeds/s1", "seeds/s2", "t0", "t1", "t2", "t3"]
    t1 = table["sessions"][3]
    assert t1["status"] == "failure"
    assert t1["group"] == "t1"
    assert t1["hparams"] == [0.01, "sgd", False]
    assert t1["metrics"][0]["value"] == "NaN"
    assert t1["metrics"][1] == {
        "value": 6.0 + 3.0 - 3.0 - 1.0 + 1.0 - 1.0,
        "step": 4,
        "wallTime": 104.0,
        "min": 5.0,
        "max": 9.0,
    }
    assert table["sessions"][4]["metrics"][0] is None
    assert table["sessions"][5]["status"] == "running"


def test_table_of_sessions_without_metrics(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path / "a") as writer:
        hp.hparams({"depth": 3, "act": "relu"}, writer=writer)
    with lumiboard_client(tmp_path) as test_client:
        table = test_client.get(f"{BASE}/table").json()
        listing = test_client.get("/data/plugins_listing").json()
    assert listing["hparams"]["enabled"] is True
    assert table["declared"] is False
    assert table["metrics"] == []
    assert [c["name"] for c in table["hparams"]] == ["act", "depth"]
    assert table["sessions"][0]["hparams"] == ["relu", 3.0]
    assert table["sessions"][0]["status"] == "unknown"
