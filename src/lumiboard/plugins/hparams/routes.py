"""HTTP routes of the hparams plugin, under ``/data/plugin/hparams``.

TensorBoard's routes keep their paths and shapes (protobuf's JSON mapping of
``api.proto``): ``/experiment``, ``/session_groups``, ``/metric_evals`` and
``/download_data``, each taking its request as a POST JSON body or as
``?request=<json>``. lumiboard's dashboard uses ``/table``: every session at
once (hparams, status, last/min/max of each metric), which the browser sorts
and filters itself; a session with hparams but no metrics still has its row.

Requests are parsed on the event loop; reading the sweep (every run), filtering
(``filterRegexp`` is bounded: :mod:`lumiboard.store.patterns`) and encoding run
on the worker pool (:mod:`lumiboard.server.workers`).
"""

from __future__ import annotations

from typing import Any

import orjson
from google.protobuf import json_format
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard.format.proto import hparams_pb2
from lumiboard.plugins.hparams.data import PLUGIN_NAME
from lumiboard.plugins.hparams.downloads import EXTENSIONS, FORMATS, render, table_cells
from lumiboard.plugins.hparams.framework import RunFiles, has_framework_hparams
from lumiboard.plugins.hparams.groups import groups_json, list_groups
from lumiboard.plugins.hparams.requests import (
    load_json,
    parse_experiment_request,
    parse_groups_request,
    parse_metric_evals_request,
)
from lumiboard.plugins.hparams.sessions import (
    Sweep,
    hparam_columns,
    hparam_text,
    json_number,
    metric_run,
    read_sweep,
    status_name,
)
from lumiboard.server import workers
from lumiboard.server.context import Context, context
from lumiboard.server.errors import BadRequestError
from lumiboard.server.responses import attachment, json_response, tensorboard_triples
from lumiboard.store.provider import Provider

TAB_NAME = "HParams"


async def _request_text(request: Request) -> bytes | str | None:
    """The request's JSON, unparsed: a POST body, or ``?request=``. The routes parse it on
    the worker pool (a body may be large; its ``colParams`` too)."""
    if request.method == "POST":
        return await request.body()
    return request.query_params.get("request")


def run_files(ctx: Context) -> RunFiles:
    """Where the runs' directories are: Lightning's ``hparams.yaml`` lies beside the event files."""
    return RunFiles(ctx.reloader.location, tuple(ctx.logdirs()))


def is_active(ctx: Context) -> bool:
    """The tab is enabled by hparams summaries, or by hparams a framework's own logger kept."""
    if ctx.provider.list_tags(plugin=PLUGIN_NAME):
        return True
    return has_framework_hparams(ctx.provider, run_files(ctx))


def experiment_proto(sweep: Sweep, include_metrics: bool, limit: int) -> hparams_pb2.Experiment:
    """The experiment as TensorBoard's ``get_experiment`` answers: hparams that differ
    first, then by name; at most ``limit`` of them (0: all)."""
    experiment = hparams_pb2.Experiment()
    experiment.CopyFrom(sweep.experiment)
    infos = sorted(experiment.hparam_infos, key=lambda info: (not info.differs, info.name))
    del experiment.hparam_infos[:]
    experiment.hparam_infos.extend(infos[:limit] if limit > 0 else infos)
    if not include_metrics:
        del experiment.metric_infos[:]
    return experiment


def _proto_json(message: Any) -> dict[str, Any]:
    converted: dict[str, Any] = json_format.MessageToDict(
        message, always_print_fields_with_no_presence=True
    )
    return converted


async def experiment(request: Request) -> Response:
    """``GetExperimentRequest`` -> ``Experiment``."""
    text = await _request_text(request)

    def answer(provider: Provider) -> Response:
        parsed = parse_experiment_request(load_json(text))
        sweep = read_sweep(provider, run_files(context(request)))
        proto = experiment_proto(sweep, parsed.include_metrics, parsed.hparams_limit)
        return json_response(_proto_json(proto))

    return await workers.run(answer, context(request).provider)


async def session_groups(request: Request) -> Response:
    """``ListSessionGroupsRequest`` -> ``{sessionGroups, totalSize}``."""
    text = await _request_text(request)

    def answer(provider: Provider) -> Response:
        parsed = parse_groups_request(load_json(text))
        sweep = read_sweep(provider, run_files(context(request)))
        groups, total = list_groups(sweep, parsed)
        metrics = sweep.metric_keys if parsed.include_metrics else []
        return json_response(groups_json(groups, total, metrics))

    return await workers.run(answer, context(request).provider)


async def metric_evals(request: Request) -> Response:
    """``ListMetricEvalsRequest`` -> ``[[wall_time, step, value], ...]`` of one session's metric."""
    text = await _request_text(request)

    def answer(provider: Provider) -> Response:
        session, (group, tag) = parse_metric_evals_request(load_json(text))
        columns = provider.read_scalars(metric_run(session, group), tag)
        return Response(
            tensorboard_triples(columns.wall_time, columns.step, columns.value),
            media_type="application/json",
        )

    return await workers.run_bulk(answer, context(request).provider)


async def download_data(request: Request) -> Response:
    """The session groups of a ``ListSessionGroupsRequest`` as a CSV, JSON or LaTeX file.

    ``?format=csv|json|latex&columnsVisibility=[bool, ...]&request=<json>`` (or the
    request as a POST body); without ``columnsVisibility`` every column is shown.
    """
    fmt = request.query_params.get("format", "csv")
    if fmt not in FORMATS:
        raise BadRequestError(f"format must be csv, json or latex, got {fmt!r}")
    visible = _visibility(request.query_params.get("columnsVisibility"))
    text = await _request_text(request)

    def answer(provider: Provider) -> Response:
        parsed = parse_groups_request(load_json(text))
        sweep = read_sweep(provider, run_files(context(request)))
        groups, _ = list_groups(sweep, parsed)
        proto = experiment_proto(sweep, parsed.include_metrics, 0)
        header, rows = table_cells(proto, groups, visible)
        return Response(
            render(fmt, header, rows),
            media_type=FORMATS[fmt],
            headers={"Content-Disposition": attachment(f"hparams_table.{EXTENSIONS[fmt]}")},
        )

    return await workers.run_bulk(answer, context(request).provider)


def _visibility(text: str | None) -> list[bool] | None:
    if text is None or text == "":
        return None
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRequestError("columnsVisibility must be a JSON list of booleans") from None
    if not isinstance(parsed, list) or not all(isinstance(item, bool) for item in parsed):
        raise BadRequestError("columnsVisibility must be a JSON list of booleans")
    return parsed


_TYPES = {
    hparams_pb2.DATA_TYPE_UNSET: "unset",
    hparams_pb2.DATA_TYPE_STRING: "string",
    hparams_pb2.DATA_TYPE_BOOL: "bool",
    hparams_pb2.DATA_TYPE_FLOAT64: "number",
}
_DATASETS = {
    hparams_pb2.DATASET_UNKNOWN: "unknown",
    hparams_pb2.DATASET_TRAINING: "training",
    hparams_pb2.DATASET_VALIDATION: "validation",
}


def _domain(info: hparams_pb2.HParamInfo) -> dict[str, Any] | None:
    if info.HasField("domain_interval"):
        interval = info.domain_interval
        return {"interval": [json_number(interval.min_value), json_number(interval.max_value)]}
    if info.HasField("domain_discrete"):
        return {"discrete": json_format.MessageToDict(info.domain_discrete)}
    return None


@workers.off_loop
def table(request: Request) -> Response:
    """Every session with its hparams and metrics: lumiboard's dashboard route.

    ``{declared, hparams: [column], metrics: [column], sessions: [{run, group, status,
    startTime, endTime, hparams: [value|null], metrics: [{value, step, wallTime, min,
    max}|null]}]}``, the lists of a session aligned with the columns. Non-finite
    numbers are the strings ``NaN``, ``Infinity`` and ``-Infinity``.
    """
    sweep = read_sweep(context(request).provider, run_files(context(request)))
    hparams = hparam_columns(sweep)
    metrics = list(sweep.experiment.metric_infos)
    sessions = []
    for session in sweep.sessions:
        values = []
        for info in hparams:
            value = session.hparams.get(info.name)
            if value is not None and info.type == hparams_pb2.DATA_TYPE_STRING:
                value = value if isinstance(value, str) else hparam_text(value)
            values.append(json_number(value) if isinstance(value, float) else value)
        found = []
        for metric in metrics:
            point = session.metrics.get((metric.name.group, metric.name.tag))
            found.append(
                None
                if point is None
                else {
                    "value": json_number(point.value),
                    "step": point.step,
                    "wallTime": json_number(point.wall_time),
                    "min": json_number(point.min),
                    "max": json_number(point.max),
                }
            )
        sessions.append(
            {
                "run": session.run,
                "group": session.group,
                "status": status_name(session.status),
                "startTime": json_number(session.start_time),
                "endTime": None if session.end_time is None else json_number(session.end_time),
                "hparams": values,
                "metrics": found,
            }
        )
    return json_response(
        {
            "declared": sweep.declared,
            "hparams": [
                {
                    "name": info.name,
                    "displayName": info.display_name,
                    "description": info.description,
                    "type": _TYPES.get(info.type, "unset"),
                    "domain": _domain(info),
                    "differs": info.differs,
                }
                for info in hparams
            ],
            "metrics": [
                {
                    "group": info.name.group,
                    "tag": info.name.tag,
                    "displayName": info.display_name,
                    "description": info.description,
                    "datasetType": _DATASETS.get(info.dataset_type, "unknown"),
                }
                for info in metrics
            ],
            "sessions": sessions,
        }
    )


ROUTES = [
    Route("/experiment", experiment, methods=["GET", "POST"]),
    Route("/session_groups", session_groups, methods=["GET", "POST"]),
    Route("/metric_evals", metric_evals, methods=["GET", "POST"]),
    Route("/download_data", download_data, methods=["GET", "POST"]),
    Route("/table", table),
]
