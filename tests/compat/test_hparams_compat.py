"""The real TensorBoard hparams plugin and lumiboard's routes answer the same on our files.

Logdirs are written with ``lumiboard.hparams`` (a declared experiment, and an
inferred one) and with lumiboard's ``add_hparams`` (torch's layout: a sub-run
per trial); TensorBoard's own handlers (``get_experiment``,
``list_session_groups``, ``download_data``) run in-process over its
multiplexer, and their JSON (``plugin_util.proto_to_json``) is compared with
what lumiboard's server answers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from starlette.testclient import TestClient
from tensorboard import context, plugin_util  # type: ignore[import-untyped]
from tensorboard.backend.event_processing import (  # type: ignore[import-untyped]
    data_provider,
    plugin_event_multiplexer,
)
from tensorboard.plugins import base_plugin  # type: ignore[import-untyped]
from tensorboard.plugins.hparams import (  # type: ignore[import-untyped]
    api_pb2,
    backend_context,
    download_data,
    get_experiment,
    list_session_groups,
)

from lumiboard import SummaryWriter, summary
from lumiboard import hparams as hp
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app
from lumiboard.server.context import ServerOptions

BASE = "/data/plugin/hparams"
ALL = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


def write_declared(root: Path) -> None:
    lr = hp.HParam("lr", hp.RealInterval(1e-4, 1.0))
    opt = hp.HParam("optimizer", hp.Discrete(["adam", "sgd"]))
    layers = hp.HParam("layers", hp.IntInterval(1, 8))
    with summary.create_file_writer(str(root)).as_default():
        hp.hparams_config(
            [lr, opt, layers],
            [hp.Metric("accuracy", group="validation"), hp.Metric("loss", display_name="Loss")],
        )
    for index in range(5):
        name = f"trial{index}"
        with SummaryWriter(root / name) as writer:
            values = {lr: 10.0 ** -(index % 3 + 1), opt: ["adam", "sgd"][index % 2], layers: index}
            hp.hparams(values, trial_id=name, writer=writer)
            for step in range(6):
                writer.add_scalar("loss", 3.0 / (step + 1 + index), step)
            if index != 4:
                hp.session_end(["success", "failure", "running", "unknown"][index], writer=writer)
        if index != 3:
            with SummaryWriter(root / name / "validation") as writer:
                writer.add_scalar("accuracy", 0.5 + 0.1 * index, 5)


def write_inferred(root: Path) -> None:
    for index in range(4):
        with SummaryWriter(root / f"run{index}") as writer:
            hp.hparams(
                {
                    "lr": 0.1 * (index + 1),
                    "fast": index % 2 == 0,
                    "act": ["relu", "gelu"][index % 2],
                },
                writer=writer,
            )
            writer.add_scalar("loss", 1.0 / (index + 1), 3)
        with SummaryWriter(root / f"run{index}" / "eval") as writer:
            writer.add_scalar("acc", 0.2 * index, 1)
    with SummaryWriter(root / "no_session") as writer:
        writer.add_scalar("other", 1.0, 0)


def write_add_hparams(root: Path) -> None:
    with SummaryWriter(root) as writer:
        for index, (rate, batch) in enumerate([(0.1, 32), (0.01, 64), (0.001, 128)]):
            writer.add_hparams(
                {"lr": rate, "bsize": batch, "optim": "adam"},
                {"hparam/accuracy": 0.8 + 0.05 * index, "hparam/loss": 1.0 - 0.2 * index},
                run_name=f"trial_{index}",
            )
            writer.add_scalar("train/loss", 1.0 / (index + 1), index)


WRITERS = {"declared": write_declared, "inferred": write_inferred, "add_hparams": write_add_hparams}


class Both:
    """TensorBoard's handlers and lumiboard's client over one log directory."""

    def __init__(self, root: Path, client: TestClient) -> None:
        multiplexer = plugin_event_multiplexer.EventMultiplexer(size_guidance={"tensors": 0})
        multiplexer.AddRunsFromDirectory(str(root))
        multiplexer.Reload()
        provider = data_provider.MultiplexerDataProvider(multiplexer, str(root))
        self.tb_context = backend_context.Context(
            base_plugin.TBContext(logdir=str(root), multiplexer=multiplexer, data_provider=provider)
        )
        self.client = client

    def tb_experiment(self, request: dict[str, Any]) -> dict[str, Any]:
        proto = json_format.Parse(json.dumps(request), api_pb2.GetExperimentRequest())
        handler = get_experiment.Handler(context.RequestContext(), self.tb_context, "", proto)
        result: dict[str, Any] = json.loads(plugin_util.proto_to_json(handler.run()))
        return result

    def tb_groups(self, request: dict[str, Any]) -> dict[str, Any]:
        proto = json_format.Parse(json.dumps(request), api_pb2.ListSessionGroupsRequest())
        handler = list_session_groups.Handler(context.RequestContext(), self.tb_context, "", proto)
        result: dict[str, Any] = json.loads(plugin_util.proto_to_json(handler.run()))
        return result

    def tb_download(self, request: dict[str, Any], fmt: str, visible: list[bool]) -> Any:
        proto = json_format.Parse(json.dumps(request), api_pb2.ListSessionGroupsRequest())
        ctx = context.RequestContext()
        groups = list_session_groups.Handler(ctx, self.tb_context, "", proto).run()
        experiment = get_experiment.Handler(ctx, self.tb_context, "", proto).run()
        body, _ = download_data.Handler(self.tb_context, experiment, groups, fmt, visible).run()
        return body

    def ours(self, route: str, request: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(f"{BASE}/{route}", json=request)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture(params=sorted(WRITERS))
def both(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Both]:
    WRITERS[request.param](tmp_path)
    reloader = Reloader(str(tmp_path))
    reloader.reload()
    with TestClient(create_app(reloader, ServerOptions())) as client:
        yield Both(tmp_path, client)


def normalized(data: Any) -> Any:
    """Order-free where TensorBoard's order is arbitrary (sets, dict iteration)."""
    if isinstance(data, dict):
        out = {key: normalized(value) for key, value in data.items()}
        for key in ("domainDiscrete", "metricValues", "metricInfos"):
            if key in out:
                out[key] = sorted(out[key], key=lambda item: json.dumps(item, sort_keys=True))
        return out
    if isinstance(data, list):
        return [normalized(item) for item in data]
    if isinstance(data, float):
        return round(data, 9) if math.isfinite(data) else data
    return data


def test_experiment_matches(both: Both) -> None:
    for request in ({}, {"includeMetrics": False}, {"hparamsLimit": 2}):
        assert normalized(both.ours("experiment", request)) == normalized(
            both.tb_experiment(request)
        )


REQUESTS: list[dict[str, Any]] = [
    {"allowedStatuses": ALL, "sliceSize": 100},
    {"allowedStatuses": ["STATUS_SUCCESS", "STATUS_UNKNOWN"], "sliceSize": 2, "startIndex": 1},
    {
        "allowedStatuses": ALL,
        "sliceSize": 100,
        "colParams": [{"hparam": "lr", "order": "ORDER_DESC"}],
    },
    {
        "allowedStatuses": ALL,
        "sliceSize": 100,
        "colParams": [
            {"metric": {"tag": "loss"}, "order": "ORDER_ASC"},
            {"metric": {"group": "validation", "tag": "accuracy"}, "order": "ORDER_DESC"},
        ],
    },
    {
        "allowedStatuses": ALL,
        "sliceSize": 100,
        "colParams": [
            {"hparam": "lr", "filterInterval": {"minValue": 0.005, "maxValue": 0.5}},
            {"hparam": "optimizer", "filterDiscrete": ["adam"]},
        ],
    },
    {
        "allowedStatuses": ALL,
        "sliceSize": 100,
        "colParams": [
            {"hparam": "act", "filterRegexp": "^re"},
            {"metric": {"group": "eval", "tag": "acc"}, "order": "ORDER_DESC"},
        ],
    },
    {
        "allowedStatuses": ALL,
        "sliceSize": 100,
        "colParams": [{"hparam": "lr", "includeInResult": True}],
    },
]


@pytest.mark.parametrize("request_body", REQUESTS)
def test_session_groups_match(both: Both, request_body: dict[str, Any]) -> None:
    ours = both.ours("session_groups", request_body)
    theirs = both.tb_groups(request_body)
    assert normalized(ours) == normalized(theirs)


def test_download_csv_matches(both: Both) -> None:
    request = {"allowedStatuses": ALL, "sliceSize": 100}
    experiment = both.tb_experiment({})
    width = len(experiment["hparamInfos"]) + len(experiment["metricInfos"])
    visible = [True] * width
    theirs = both.tb_download(request, "csv", visible)
    response = both.client.get(
        f"{BASE}/download_data",
        params={"format": "csv", "request": json.dumps(request)},
    )
    ours = response.text
    # Metric headers differ by design where a metric has a group ("group/tag" vs "tag").
    our_lines, their_lines = ours.splitlines(), theirs.splitlines()
    assert our_lines[1:] == their_lines[1:]
    groups = [info["name"]["group"] for info in experiment["metricInfos"]]
    if not any(groups):
        assert our_lines[0] == their_lines[0]
