"""HTTP routes of the custom scalars plugin, under ``/data/plugin/custom_scalars``.

TensorBoard's routes keep their paths and shapes (``custom_scalars_plugin.py``):
``/layout`` (the runs' layouts merged, as JSON), ``/scalars?run&tag=<regex>``
(``{regex_valid, tag_to_events}``) and ``/download_data?run&tag&format``.
lumiboard's dashboard uses ``POST /series``: the scalars plugin's reduced
columns for every (run, tag) that one chart's regexes match.

Tag regexes are Python regexes applied with ``match`` (anchored at the start,
as TensorBoard). A user's regex must not hang or exhaust the server: it is
checked, compiled and matched by :mod:`lumiboard.store.patterns` (bounded
repeats, no compile cache, one time budget for all of one request's matching;
a regex refused or too slow counts as invalid), in a worker thread.
"""

from __future__ import annotations

from typing import Any

import orjson
from google.protobuf import json_format
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lumiboard.plugins.custom_scalars.data import (
    CONFIG_TAG,
    PLUGIN_NAME,
    layout_from_array,
    merge_layouts,
)
from lumiboard.server import workers
from lumiboard.server.context import body_int, body_step, context, query
from lumiboard.server.errors import BadRequestError
from lumiboard.server.responses import (
    attachment,
    float64_base64,
    json_response,
    tensorboard_csv,
    tensorboard_triples,
)
from lumiboard.store.downsample import XAxis
from lumiboard.store.patterns import Budget, PatternError, filter_names
from lumiboard.store.provider import NotFoundError, Provider

TAB_NAME = "Custom Scalars"
MAX_REGEXES = 64
#: Runs one ``/series`` body may name.
MAX_RUNS = 1_000
#: (run, tag) series one ``/series`` answer holds at most; more are left out (``truncated``).
MAX_SERIES = 500
MAX_BUCKETS = 20_000


def _scalar_tags(provider: Provider, run: str) -> list[str]:
    return list(provider.list_tags(plugin="scalars", runs=[run]).get(run, {}))


async def layout(request: Request) -> Response:
    """The layouts of all runs merged (runs in name order, as TensorBoard); ``{}`` if none."""
    return await workers.run(_layout, context(request).provider)


def _layout(provider: Provider) -> Response:
    layouts = []
    for run, tags in sorted(provider.list_tags(plugin=PLUGIN_NAME).items()):
        if CONFIG_TAG not in tags:
            continue
        points = provider.read_tensors(run, CONFIG_TAG)
        try:  # the newest layout of the run (TensorBoard reads the run's last one)
            layouts.append(layout_from_array(points[-1].array))
        except (ValueError, IndexError):
            continue  # a damaged layout: the other runs' still show
    if not layouts:
        return json_response({})
    merged = merge_layouts(layouts)
    return json_response(
        json_format.MessageToDict(merged, always_print_fields_with_no_presence=True)
    )


async def scalars(request: Request) -> Response:
    """``{regex_valid, tag_to_events: {tag: [[wall_time, step, value], ...]}}`` for one run.

    An empty, invalid or too slow regex gives ``regex_valid: false`` (and ``error``,
    lumiboard's addition); an unknown run gives no tags, as TensorBoard.
    """
    run = query(request, "run")
    pattern = request.query_params.get("tag", "")
    provider = context(request).provider
    if not pattern:
        return json_response({"regex_valid": False, "tag_to_events": {}})
    return await workers.run_bulk(_scalars, provider, run, pattern)


def _scalars(provider: Provider, run: str, pattern: str) -> Response:
    try:
        run_tags = _scalar_tags(provider, run)
    except NotFoundError:
        run_tags = []
    try:
        matched = filter_names(pattern, run_tags, Budget.start(), anchored=True)
    except PatternError as error:
        return json_response({"regex_valid": False, "tag_to_events": {}, "error": str(error)})
    parts = []
    for tag in matched:
        columns = provider.read_scalars(run, tag)
        triples = tensorboard_triples(columns.wall_time, columns.step, columns.value)
        parts.append(orjson.dumps(tag) + b":" + triples)
    body = b'{"regex_valid":true,"tag_to_events":{' + b",".join(parts) + b"}}"
    return Response(body, media_type="application/json")


async def download_data(request: Request) -> Response:
    """Every point of one (run, tag): CSV (``format=csv``) or JSON triples (any other format).

    As TensorBoard, which hands this to the scalars plugin: ``tag`` is a tag, not a regex.
    """
    run, tag = query(request, "run"), query(request, "tag")
    csv = request.query_params.get("format") == "csv"
    return await workers.run_bulk(_download_data, context(request).provider, run, tag, csv)


def _download_data(provider: Provider, run: str, tag: str, csv: bool) -> Response:
    columns = provider.read_scalars(run, tag)
    if csv:
        return PlainTextResponse(
            tensorboard_csv(columns.wall_time, columns.step, columns.value),
            media_type="text/csv",
            headers={"Content-Disposition": attachment(f"{run}_{tag}.csv")},
        )
    body = tensorboard_triples(columns.wall_time, columns.step, columns.value)
    return Response(body, media_type="application/json")


async def series(request: Request) -> Response:
    """Reduced columns of every (run, tag) that one chart's regexes match (the dashboard's route).

    JSON body: ``{"regexes": [str], "runs": [str], "buckets": int, "x":
    "step"|"wall_time"|"relative", "min_step": int?, "max_step": int?}``.
    Answer: ``{"regexes": [{"regex_valid", "error"}], "tags": {tag: {run:
    {total, step, wall_time, value}}}, "truncated": bool}`` (columns as the
    scalars plugin's ``/series`` sends them). A run named twice counts once.
    """
    return await workers.run(_series, context(request).provider, await request.body())


def _series(provider: Provider, raw: bytes) -> Response:
    regexes, runs, buckets, step_range, axis = _series_request(raw)
    listing = provider.list_tags(plugin="scalars", runs=[r for r in runs if _known(provider, r)])
    all_tags = sorted({tag for tags in listing.values() for tag in tags})
    budget = Budget.start()  # one for all the regexes of the request
    verdicts: list[dict[str, Any]] = []
    matched: set[str] = set()
    for pattern in regexes:
        try:
            matched.update(
                filter_names(pattern, all_tags, budget, anchored=True) if pattern else []
            )
            verdicts.append({"regex_valid": bool(pattern), "error": None if pattern else "empty"})
        except PatternError as error:
            verdicts.append({"regex_valid": False, "error": str(error)})
    result: dict[str, dict[str, Any]] = {}
    count, truncated = 0, False
    for tag in sorted(matched):
        for run in runs:
            if tag not in listing.get(run, {}):
                continue
            if count >= MAX_SERIES:
                truncated = True
                break
            try:
                reduced = provider.read_scalars_reduced(run, tag, buckets, step_range, axis)
            except ValueError as error:  # e.g. x=wall_time over non-finite wall times
                raise BadRequestError(f"run {run!r}, tag {tag!r}: {error}") from None
            result.setdefault(tag, {})[run] = {
                "total": reduced.total,
                "step": float64_base64(reduced.step),
                "wall_time": float64_base64(reduced.wall_time),
                "value": float64_base64(reduced.value),
            }
            count += 1
    return json_response({"regexes": verdicts, "tags": result, "truncated": truncated})


def _series_request(
    raw: bytes,
) -> tuple[list[str], list[str], int, tuple[int | None, int | None], XAxis]:
    """``/series``'s body checked: (regexes, runs once each, buckets, step range, x axis)."""
    body = _json_body(raw)
    regexes = _strings(body.get("regexes"), "regexes")
    runs = _strings(body.get("runs", []), "runs")
    if len(regexes) > MAX_REGEXES:
        raise BadRequestError(f"at most {MAX_REGEXES} regexes")
    if len(runs) > MAX_RUNS:
        raise BadRequestError(f"at most {MAX_RUNS} runs")
    buckets = body_int(body.get("buckets", 1000), "buckets")
    if not 1 <= buckets <= MAX_BUCKETS:
        raise BadRequestError(f"'buckets' must be in [1, {MAX_BUCKETS}]")
    step_range = (body_step(body.get("min_step"), "min_step"),
                  body_step(body.get("max_step"), "max_step"))  # fmt: skip
    x = body.get("x", "step")
    if x not in ("step", "wall_time", "relative"):
        raise BadRequestError("'x' must be step, wall_time or relative")
    return regexes, list(dict.fromkeys(runs)), buckets, step_range, x


def _known(provider: Provider, run: str) -> bool:
    try:
        provider.run(run)
    except NotFoundError:
        return False
    return True


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BadRequestError(f"the body must be JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    return body


def _strings(value: object, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadRequestError(f"{name!r} must be a list of strings")
    return value


ROUTES = [
    Route("/layout", layout),
    Route("/scalars", scalars),
    Route("/download_data", download_data),
    Route("/series", series, methods=["POST"]),
]
