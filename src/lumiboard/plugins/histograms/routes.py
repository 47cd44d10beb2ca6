"""HTTP routes of the histograms plugin, under ``/data/plugin/histograms``.

TensorBoard's routes keep their paths and shapes: ``/tags`` and
``/histograms?run&tag`` (``[[wall_time, step, [[left, right, count], ...]], ...]``,
non-finite numbers as TensorBoard's ``"NaN"``/``"Infinity"`` strings). The
dashboard uses ``/multirun``: one tag for many runs in one request, evenly
sampled to the number of histograms a chart can show.
"""

from __future__ import annotations

import math

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard.plugins.histograms.data import PLUGIN_NAME
from lumiboard.server import workers
from lumiboard.server.context import context, query, query_int
from lumiboard.server.responses import json_response, tag_json
from lumiboard.store.provider import NotFoundError, Provider
from lumiboard.store.runs import TensorPoint

TAB_NAME = "Histograms"
#: The most histograms ``samples`` may ask for per series (the store keeps 500 by default).
MAX_SAMPLES = 100_000

#: One histogram as TensorBoard's JSON: (wall_time, step, [[left, right, count], ...]).
Triple = tuple[float, int, list[list[float | str]]]


@workers.off_loop
def tags(request: Request) -> Response:
    """``{run: {tag: {displayName, description}}}`` for every histogram tag."""
    return json_response(list_tag_infos(context(request).provider))


@workers.off_loop
def histograms(request: Request) -> Response:
    """Every kept histogram of one series (or ``samples`` of them, evenly spaced)."""
    run, tag = query(request, "run"), query(request, "tag")
    samples = parse_samples(request)
    points = read_histograms(context(request).provider, run, tag)
    return json_response([to_triple(point) for point in sample_evenly(points, samples)])


@workers.off_loop
def multirun(request: Request) -> Response:
    """One tag for many runs: ``{"tag": T, "runs": {run: [triple, ...]}}``.

    ``?tag=T&runs=a&runs=b[&samples=N]``; no ``runs`` means every run with
    the tag. Runs without the tag are left out.
    """
    tag = query(request, "tag")
    samples = parse_samples(request)
    provider = context(request).provider
    runs = request.query_params.getlist("runs") or [
        run for run, by_tag in provider.list_tags(plugin=PLUGIN_NAME).items() if tag in by_tag
    ]
    result: dict[str, list[Triple]] = {}
    for run in runs:
        try:
            points = read_histograms(provider, run, tag)
        except NotFoundError:
            continue
        result[run] = [to_triple(point) for point in sample_evenly(points, samples)]
    return json_response({"tag": tag, "runs": result})


# ---- shared with the distributions plugin ----------------------------------------------------


def list_tag_infos(provider: Provider) -> dict[str, dict[str, dict[str, str]]]:
    """TensorBoard's tag index of the histogram series."""
    listing = provider.list_tags(plugin=PLUGIN_NAME)
    return {
        run: {tag: tag_json(info) for tag, info in by_tag.items()}
        for run, by_tag in listing.items()
    }


def read_histograms(provider: Provider, run: str, tag: str) -> list[TensorPoint]:
    """The kept points of a histogram series whose arrays are ``[k, 3]``.

    A tag of another plugin is "not found" (text and PR curves are tensors too);
    a value of another shape (a hostile or broken file) is left out.
    """
    if provider.tag_info(run, tag).plugin_name != PLUGIN_NAME:
        raise NotFoundError(f"run {run!r} has no histogram tag {tag!r}")
    return [point for point in provider.read_tensors(run, tag) if _is_histogram(point.array)]


def _is_histogram(array: np.ndarray) -> bool:
    return array.ndim == 2 and array.shape[1] == 3 and array.dtype.kind in "biuf"


def to_triple(point: TensorPoint) -> Triple:
    """``[wall_time, step, rows]`` with non-finite numbers as TensorBoard's strings."""
    rows = np.asarray(point.array, dtype=np.float64)
    listed: list[list[float]] = rows.tolist()
    if not np.isfinite(rows).all():
        return (point.wall_time, point.step, [[cleanse(x) for x in row] for row in listed])
    return (point.wall_time, point.step, listed)  # type: ignore[return-value]


def cleanse(number: float) -> float | str:
    """A float as JSON the way TensorBoard writes it: NaN/Inf as strings."""
    # TensorBoard's json_util.Cleanse: valid JSON that every parser reads.
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def parse_samples(request: Request) -> int | None:
    """The optional ``samples`` query parameter: a positive integer, or None (all)."""
    return query_int(request, "samples", 1, MAX_SAMPLES)


def sample_evenly(points: list[TensorPoint], samples: int | None) -> list[TensorPoint]:
    """At most ``samples`` points, evenly spaced, the first and the last always kept."""
    if samples is None or len(points) <= samples:
        return points
    if samples == 1:
        return [points[-1]]
    indices = np.unique(np.round(np.linspace(0, len(points) - 1, samples)).astype(np.int64))
    return [points[i] for i in indices.tolist()]


ROUTES = [
    Route("/tags", tags),
    Route("/histograms", histograms),
    Route("/multirun", multirun),
]
