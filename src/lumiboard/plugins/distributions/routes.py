"""HTTP routes of the distributions plugin, under ``/data/plugin/distributions``.

Distributions show the histograms plugin's series (``DATA_PLUGIN``), each
histogram compressed to nine percentile values as TensorBoard does
(``compressor.py``). Routes and shapes are TensorBoard's: ``/tags`` and
``/distributions?run&tag`` giving ``[[wall_time, step, [[basis_point, value] x 9]], ...]``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard.plugins.distributions.compressor import compress_histogram
from lumiboard.plugins.histograms.routes import (
    cleanse,
    list_tag_infos,
    parse_samples,
    read_histograms,
    sample_evenly,
)
from lumiboard.server import workers
from lumiboard.server.context import context, query
from lumiboard.server.responses import json_response

TAB_NAME = "Distributions"
DATA_PLUGIN = "histograms"


@workers.off_loop
def tags(request: Request) -> Response:
    """``{run: {tag: {displayName, description}}}``: the histogram tags."""
    return json_response(list_tag_infos(context(request).provider))


@workers.off_loop
def distributions(request: Request) -> Response:
    """Each kept histogram of one series as ``[wall_time, step, [[bp, value] x 9]]``."""
    run, tag = query(request, "run"), query(request, "tag")
    samples = parse_samples(request)
    points = sample_evenly(read_histograms(context(request).provider, run, tag), samples)
    body = [
        [
            point.wall_time,
            point.step,
            [[bp, cleanse(value)] for bp, value in compress_histogram(point.array)],
        ]
        for point in points
    ]
    return json_response(body)


ROUTES = [
    Route("/tags", tags),
    Route("/distributions", distributions),
]
