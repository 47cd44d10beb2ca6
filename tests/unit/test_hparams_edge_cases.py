"""HParams answers in the situations real sweeps run into, against TensorBoard where it decides.

- a run resumed from a checkpoint writes lower steps again, later: its metric is the value
  written last (TensorBoard's ``read_last_scalars``), not the one of the highest step;
- torch's ``add_hparams`` declares each call's own types: a column whose values mix numbers and
  strings becomes a string column in the table, its values as its domain writes them;
- ``AGGREGATION_MAX`` over sessions tied on the metric picks the first, as TensorBoard's ``max``;
- a NaN metric (a diverged run) sorts as missing, after every measured session.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from route_support import lumiboard_client, tensorboard_client
from starlette.testclient import TestClient
from werkzeug.test import Client

from lumiboard import SummaryWriter
from lumiboard import hparams as hp

ALL = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]
GROUPS = "/data/plugin/hparams/session_groups"


def _post(client: TestClient | Client, url: str, body: dict[str, Any]) -> Any:
    if isinstance(client, TestClient):
        response = client.post(url, json=body)
        assert response.status_code == 200, response.text
        return response.json()
    answer = client.post(url, data=json.dumps(body), content_type="application/json")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return json.loads(answer.get_data(as_text=True))


def _metric(groups: Any, session: str, tag: str) -> tuple[float, int]:
    for group in groups["sessionGroups"]:
        for found in group["sessions"]:
            if found["name"] == session:
                for metric in found["metricValues"]:
                    if metric["name"]["tag"] == tag:
                        return metric["value"], metric["trainingStep"]
    raise AssertionError(f"{session} has no {tag}")


def test_a_resumed_run_reports_the_value_written_last(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path / "run") as writer:
        hp.hparams({"lr": 0.1}, writer=writer)
        for step in range(11):
            writer.add_scalar("acc", step / 10, step, walltime=1000.0 + step)
    with SummaryWriter(tmp_path / "run") as writer:  # resumed from the checkpoint of step 5
        for step in range(5, 8):
            writer.add_scalar("acc", 0.5 + step / 100, step, walltime=2000.0 + step)
    request = {"allowedStatuses": ALL, "sliceSize": 100}
    with lumiboard_client(tmp_path) as ours:
        mine = _metric(_post(ours, GROUPS, request), "run", "acc")
        table = ours.get("/data/plugin/hparams/table").json()
    theirs = _metric(_post(tensorboard_client(tmp_path), GROUPS, request), "run", "acc")
    assert mine == theirs
    assert mine == (pytest.approx(0.57), 7)
    assert table["sessions"][0]["metrics"][0]["step"] == 7


def test_mixed_types_make_a_string_column(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as writer:
        writer.add_hparams({"milestones": 30, "lr": 0.1}, {"m/acc": 0.5}, run_name="t1")
        writer.add_hparams({"milestones": "30,60", "lr": 0.2}, {"m/acc": 0.6}, run_name="t2")
        writer.add_hparams({"milestones": 10, "lr": 0.3}, {"m/acc": 0.7}, run_name="t3")
    with lumiboard_client(tmp_path) as ours:
        table = ours.get("/data/plugin/hparams/table").json()
    names = [column["name"] for column in table["hparams"]]
    milestones = table["hparams"][names.index("milestones")]
    assert milestones["type"] == "string"
    values = [session["hparams"][names.index("milestones")] for session in table["sessions"]]
    assert sorted(values) == sorted(milestones["domain"]["discrete"]) == ["10.0", "30,60", "30.0"]
    lr = table["hparams"][names.index("lr")]
    assert lr["type"] == "number"


def _tied_sweep(root: Path) -> None:
    for name, acc, loss in (("s1", 0.8, 1.0), ("s2", 0.8, 2.0), ("s3", 0.6, 3.0)):
        with SummaryWriter(root / name) as writer:
            hp.hparams({"lr": 0.1}, trial_id="g1", writer=writer)
            writer.add_scalar("acc", acc, 5)
            writer.add_scalar("loss", loss, 5)


def test_max_aggregation_picks_the_first_of_tied_sessions(tmp_path: Path) -> None:
    _tied_sweep(tmp_path)
    request = {
        "allowedStatuses": ALL,
        "sliceSize": 100,
        "aggregationType": "AGGREGATION_MAX",
        "aggregationMetric": {"group": "", "tag": "acc"},
    }
    with lumiboard_client(tmp_path) as ours:
        mine = _post(ours, GROUPS, request)
    theirs = _post(tensorboard_client(tmp_path), GROUPS, request)
    loss = [m for m in mine["sessionGroups"][0]["metricValues"] if m["name"]["tag"] == "loss"]
    assert loss[0]["value"] == 1.0
    assert mine["sessionGroups"][0]["metricValues"] == theirs["sessionGroups"][0]["metricValues"]


def test_nan_metrics_sort_after_measured_sessions(tmp_path: Path) -> None:
    for lr, (name, acc) in enumerate((("a", 0.5), ("b", float("nan")), ("c", 0.9))):
        with SummaryWriter(tmp_path / name) as writer:
            hp.hparams({"lr": lr}, trial_id=name, writer=writer)
            writer.add_scalar("acc", acc, 1)
    for order in ("ORDER_DESC", "ORDER_ASC"):
        request = {
            "allowedStatuses": ALL,
            "sliceSize": 100,
            "colParams": [{"metric": {"group": "", "tag": "acc"}, "order": order}],
        }
        with lumiboard_client(tmp_path) as ours:
            groups = _post(ours, GROUPS, request)["sessionGroups"]
        names = [group["name"] for group in groups]
        expected = ["c", "a", "b"] if order == "ORDER_DESC" else ["a", "c", "b"]
        assert names == expected, order
