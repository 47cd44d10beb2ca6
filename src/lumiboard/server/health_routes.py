"""``/data/health``: the health flags of every run (or of the runs asked for).

The flags come from :mod:`lumiboard.store.health` (the rules are in
:mod:`lumiboard.store.health_rules`); the index is shared with the webhook, and a
request after a reload reads only the series that changed. It runs on the bulk side of
the worker pool: the first request reads every point of every series (1,000 runs x 50
tags x 1,000 points: ~2.5 s on a loaded 2-core machine; then ~60 ms while nothing
changes), and requests waiting for it must not hold the threads other routes need.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard.server import workers
from lumiboard.server.context import context
from lumiboard.server.responses import json_response
from lumiboard.store.health import index_for


@workers.off_loop_bulk
def health(request: Request) -> Response:
    """``{"flags": [...], "counts": {run: {level: n}}, "computed_at": t}``; ``run``
    (repeatable) keeps those runs (an unknown one: 404)."""
    runs = request.query_params.getlist("run") or None
    report = index_for(context(request).provider).report(runs)
    return json_response(report.to_json())


ROUTES = [Route("/data/health", health)]
