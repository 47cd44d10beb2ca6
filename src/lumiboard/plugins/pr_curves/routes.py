"""HTTP routes of the PR curves plugin, under ``/data/plugin/pr_curves``.

TensorBoard's two routes, same paths and JSON shapes (``pr_curves_plugin.py``):
``/tags`` and ``/pr_curves?run=a&run=b&tag=t``. Each step's curve is cut
after the last threshold where TP + FP > 0, as TensorBoard's ``_make_pr_entry``
does (``data.curve``). Series keep 100 curves by default (TensorBoard's
sampling; ``--samples_per_plugin pr_curves=N`` changes it).
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard.plugins.pr_curves.data import PLUGIN_NAME, ROWS, curve
from lumiboard.server import workers
from lumiboard.server.context import context
from lumiboard.server.errors import BadRequestError
from lumiboard.server.responses import json_response, tag_json
from lumiboard.store.provider import NotFoundError

TAB_NAME = "PR Curves"


@workers.off_loop
def tags(request: Request) -> Response:
    """``{run: {tag: {displayName, description}}}`` for every PR-curve tag."""
    listing = context(request).provider.list_tags(plugin=PLUGIN_NAME)
    return json_response(
        {
            run: {tag: tag_json(info) for tag, info in by_tag.items()}
            for run, by_tag in listing.items()
        }
    )


@workers.off_loop
def pr_curves(request: Request) -> Response:
    """``{run: [{wall_time, step, precision, recall, thresholds, true_positives, ...}]}``.

    Every requested run must hold the tag (TensorBoard answers 400 otherwise;
    lumiboard 404, naming the run).
    """
    runs = request.query_params.getlist("run")
    if not runs:
        raise BadRequestError("missing query parameter 'run' (repeat it for several runs)")
    tag = request.query_params.get("tag")
    if not tag:
        raise BadRequestError("missing query parameter 'tag'")
    provider = context(request).provider
    result: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        if run in result:
            continue
        info = provider.tag_info(run, tag)
        if info.plugin_name != PLUGIN_NAME:
            raise NotFoundError(f"run {run!r} has no PR-curve tag {tag!r}")
        result[run] = [
            _entry(point.step, point.wall_time, point.array)
            for point in provider.read_tensors(run, tag)
        ]
    return json_response(result)


def _entry(step: int, wall_time: float, array: Any) -> dict[str, Any]:
    try:
        drawn = curve(array)
    except ValueError as error:  # a malformed tensor in the file: say so, never a 500
        raise BadRequestError(f"step {step}: {error}") from None
    entry: dict[str, Any] = {"wall_time": wall_time, "step": step}
    for name in ("precision", "recall"):
        entry[name] = _cleanse(getattr(drawn, name).tolist())
    for name in ROWS[:4]:
        entry[name] = getattr(drawn, name).tolist()
    entry["thresholds"] = drawn.thresholds.tolist()
    return entry


def _cleanse(values: list[float]) -> list[float | str]:
    """Non-finite floats as TensorBoard's JSON writes them (``"NaN"``, ``"Infinity"``)."""
    if all(math.isfinite(value) for value in values):
        return list(values)
    return [
        value
        if math.isfinite(value)
        else ("NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))
        for value in values
    ]


ROUTES = [
    Route("/tags", tags),
    Route("/pr_curves", pr_curves),
]
