"""HTTP routes of the text plugin, under ``/data/plugin/text``.

TensorBoard's routes keep their paths and shapes: ``/tags`` gives
``{run: [tag, ...]}`` and ``/text?run&tag[&markdown=false]`` gives
``[{wall_time, step, text}]`` in step order, ``text`` being sanitized HTML
(``render.py``). lumiboard adds ``min_step`` / ``max_step`` to ``/text``, and
``/steps`` (the steps of one series without their text), and answers an
unknown run or tag with 404 where TensorBoard answers ``[]``.

Rendering is CPU work (Python-Markdown), so it runs on the worker pool (as
every route here: reading a series waits on the loader's run lock), and
each value's HTML is kept while the value is: a live reload re-sends it
without rendering it again.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard.plugins.text.render import render_text
from lumiboard.server import workers
from lumiboard.server.context import context, query, query_int
from lumiboard.server.errors import BadRequestError
from lumiboard.server.responses import json_response
from lumiboard.store.provider import NotFoundError
from lumiboard.store.runs import TensorPoint

TAB_NAME = "Text"
PLUGIN = "text"
#: Rendered values kept (an entry is dropped sooner when its value leaves the store).
CACHE_ENTRIES = 4_096


class _HtmlCache:
    """HTML by (value array, markdown), held while that array is alive.

    Keyed by ``id`` with a weak reference to check the array is still the
    same object (an ``id`` is reused once its object is freed).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[int, bool], tuple[weakref.ref[np.ndarray], str]] = (
            OrderedDict()
        )

    def html(self, array: np.ndarray, enable_markdown: bool) -> str:
        key = (id(array), enable_markdown)
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0]() is array:
                self._items.move_to_end(key)
                return found[1]
        rendered = render_text(array, enable_markdown)
        with self._lock:
            self._items[key] = (weakref.ref(array), rendered)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return rendered


_CACHE = _HtmlCache(CACHE_ENTRIES)


@workers.off_loop
def tags(request: Request) -> Response:
    """``{run: [tag, ...]}`` for every run with text."""
    listing = context(request).provider.list_tags(plugin=PLUGIN)
    return json_response({run: sorted(by_tag) for run, by_tag in listing.items()})


def _points(request: Request) -> list[TensorPoint]:
    """The kept values of ``run``/``tag`` in the requested step range; 404 when unknown."""
    run, tag = query(request, "run"), query(request, "tag")
    provider = context(request).provider
    info = provider.tag_info(run, tag)
    if info.plugin_name != PLUGIN:
        raise NotFoundError(f"run {run!r} has no text tag {tag!r}")
    min_step = _optional_step(request, "min_step")
    max_step = _optional_step(request, "max_step")
    if min_step is not None and max_step is not None and min_step > max_step:
        raise BadRequestError("'min_step' must not exceed 'max_step'")
    return [
        point
        for point in provider.read_tensors(run, tag)
        if (min_step is None or point.step >= min_step)
        and (max_step is None or point.step <= max_step)
    ]


@workers.off_loop
def text(request: Request) -> Response:
    """``[{wall_time, step, text}]``: each value as sanitized HTML, in step order."""
    points = _points(request)
    # As TensorBoard: anything but "false" renders markdown.
    enable_markdown = request.query_params.get("markdown") != "false"
    return json_response(
        [
            {
                "wall_time": point.wall_time,
                "step": point.step,
                "text": _CACHE.html(point.array, enable_markdown),
            }
            for point in points
        ]
    )


@workers.off_loop
def steps(request: Request) -> Response:
    """``[{wall_time, step}]``: the kept steps of one series, without rendering anything."""
    points = _points(request)
    return json_response([{"wall_time": p.wall_time, "step": p.step} for p in points])


def _optional_step(request: Request, name: str) -> int | None:
    return query_int(request, name, -(2**63), 2**63 - 1)  # steps are int64


ROUTES = [
    Route("/tags", tags),
    Route("/text", text),
    Route("/steps", steps),
]
