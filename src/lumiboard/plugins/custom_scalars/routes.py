"""HTTP routes of the custom scalars plugin, under ``/data/plugin/custom_scalars``.

TensorBoard's routes keep their paths and shapes (``custom_scalars_plugin.py``):
``/layout`` (the runs' layouts merged, as JSON), ``/scalars?run&tag=<regex>``
(``{regex_valid, tag_to_events}``) and ``/download_data?run&tag&format``.
lumiboard's dashboard uses ``POST /series``: the scalars plugin's reduced
columns for every (run, tag) that one chart's regexes match.

Tag regexes are Python regexes applied with ``match`` (anchored at the start,
as TensorBoard). A user's regex must not hang or exhaust the server, so it is
compiled and matched with the ``regex`` package (a required dependency; its
``VERSION0`` is ``re``'s syntax), never ``re``:

- a pattern longer than :data:`MAX_PATTERN_LENGTH`, one that ``re`` cannot
  parse, or one whose counted repeats are large (a bound over
  :data:`MAX_REPEAT_BOUND`, or nested bounds whose product exceeds
  :data:`MAX_REPEAT_PRODUCT`: ``regex`` expands counted repeats when it
  compiles, so ``(?:(?:a{1000}){1000}){1000}`` would take all memory) is
  invalid before it is compiled; compiled patterns are not cached;
- all of one request's matching runs under a time budget
  (:data:`MATCH_SECONDS`) and a regex that exceeds it counts as invalid;
- the compiling and matching run in a worker thread, not on the event loop.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
import regex  # type: ignore[import-untyped]  # no stubs; a required dependency
from google.protobuf import json_format
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lumiboard.plugins.custom_scalars.data import (
    CONFIG_TAG,
    PLUGIN_NAME,
    layout_from_array,
    merge_layouts,
)
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
from lumiboard.store.provider import NotFoundError, Provider

TAB_NAME = "Custom Scalars"
#: Time all of one request's regex matching may take (with the ``regex`` package).
MATCH_SECONDS = 0.5
MAX_PATTERN_LENGTH = 1_000
#: The largest bound of one counted repeat (``{m,n}``: ``n``, or ``m`` when unbounded).
MAX_REPEAT_BOUND = 1_000
#: The largest product of the bounds of nested counted repeats.
MAX_REPEAT_PRODUCT = 10_000
MAX_REGEXES = 64
#: Runs one ``/series`` body may name.
MAX_RUNS = 1_000
#: (run, tag) series one ``/series`` answer holds at most; more are left out (``truncated``).
MAX_SERIES = 500
MAX_BUCKETS = 20_000

_REPEATS = tuple(
    getattr(re._constants, name)  # type: ignore[attr-defined]
    for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(re._constants, name)  # type: ignore[attr-defined]
)
_UNBOUNDED = re._constants.MAXREPEAT  # type: ignore[attr-defined]
_SubPattern = re._parser.SubPattern  # type: ignore[attr-defined]


class RegexTimeoutError(Exception):
    """A regex took longer than the request's matching budget."""


#: A compiled tag regex: ``matcher(tag, deadline)``; raises RegexTimeoutError.
Matcher = Callable[[str, float], bool]


def _check_repeats(parsed: Any) -> None:
    """ValueError when a parsed pattern's counted repeats are too large.

    That is, one bound over :data:`MAX_REPEAT_BOUND`, or nested bounds whose product is
    over :data:`MAX_REPEAT_PRODUCT`. Iterative: a deeply nested pattern is no recursion.
    """
    stack: list[tuple[Any, int]] = [(parsed, 1)]
    while stack:
        node, outer = stack.pop()
        if isinstance(node, _SubPattern):
            for op, av in node:
                if op not in _REPEATS:
                    stack.append((av, outer))
                    continue
                low, high, inner = av
                bound = low if high == _UNBOUNDED else high
                if bound > MAX_REPEAT_BOUND:
                    raise ValueError(f"a counted repeat over {MAX_REPEAT_BOUND}")
                product = outer * max(bound, 1)
                if product > MAX_REPEAT_PRODUCT:
                    raise ValueError(f"nested counted repeats over {MAX_REPEAT_PRODUCT} in all")
                stack.append((inner, product))
        elif isinstance(node, list | tuple):
            stack.extend((item, outer) for item in node)


def check_tag_regex(pattern: str) -> None:
    """ValueError (with the reason) when ``pattern`` is too long, not ``re``'s syntax or too big."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"regex longer than {MAX_PATTERN_LENGTH} characters")
    try:
        parsed = re._parser.parse(pattern)  # type: ignore[attr-defined]
    except (re.error, ValueError, OverflowError, RecursionError, MemoryError) as error:
        raise ValueError(str(error) or type(error).__name__) from None
    _check_repeats(parsed)


def compile_tag_regex(pattern: str) -> Matcher:
    """A matcher for ``pattern`` (``match`` semantics); ValueError when it is invalid."""
    check_tag_regex(pattern)
    try:
        compiled = regex.compile(pattern, flags=regex.VERSION0, cache_pattern=False)
    except (regex.error, ValueError, OverflowError, RecursionError, MemoryError) as error:
        raise ValueError(str(error) or type(error).__name__) from None

    def match_bounded(tag: str, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RegexTimeoutError
        try:
            return compiled.match(tag, timeout=remaining) is not None
        except TimeoutError:
            raise RegexTimeoutError from None

    return match_bounded


def match_tags(pattern: str, tags: Iterable[str], deadline: float) -> list[str]:
    """The tags ``pattern`` matches; ValueError (with the reason) when invalid or too slow."""
    too_slow = f"regex matching took longer than {MATCH_SECONDS} s (catastrophic backtracking?)"
    if time.monotonic() >= deadline:  # the budget is spent: compile nothing more
        raise ValueError(too_slow)
    matcher = compile_tag_regex(pattern)
    try:
        return [tag for tag in tags if matcher(tag, deadline)]
    except RegexTimeoutError:
        raise ValueError(too_slow) from None
    except MemoryError:
        raise ValueError("regex matching ran out of memory") from None


def _scalar_tags(provider: Provider, run: str) -> list[str]:
    return list(provider.list_tags(plugin="scalars", runs=[run]).get(run, {}))


async def layout(request: Request) -> Response:
    """The layouts of all runs merged (runs in name order, as TensorBoard); ``{}`` if none."""
    provider = context(request).provider
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
    return await run_in_threadpool(_scalars, provider, run, pattern)


def _scalars(provider: Provider, run: str, pattern: str) -> Response:
    try:
        run_tags = _scalar_tags(provider, run)
    except NotFoundError:
        run_tags = []
    try:
        matched = match_tags(pattern, run_tags, time.monotonic() + MATCH_SECONDS)
    except ValueError as error:
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
    columns = context(request).provider.read_scalars(run, tag)
    if request.query_params.get("format") == "csv":
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
    body = _json_body(await request.body())
    regexes = _strings(body.get("regexes"), "regexes")
    runs = _strings(body.get("runs", []), "runs")
    if len(regexes) > MAX_REGEXES:
        raise BadRequestError(f"at most {MAX_REGEXES} regexes")
    if len(runs) > MAX_RUNS:
        raise BadRequestError(f"at most {MAX_RUNS} runs")
    runs = list(dict.fromkeys(runs))
    buckets = body_int(body.get("buckets", 1000), "buckets")
    if not 1 <= buckets <= MAX_BUCKETS:
        raise BadRequestError(f"'buckets' must be in [1, {MAX_BUCKETS}]")
    step_range = (body_step(body.get("min_step"), "min_step"),
                  body_step(body.get("max_step"), "max_step"))  # fmt: skip
    x = body.get("x", "step")
    if x not in ("step", "wall_time", "relative"):
        raise BadRequestError("'x' must be step, wall_time or relative")
    axis: XAxis = x
    provider = context(request).provider
    answer = await run_in_threadpool(_series, provider, regexes, runs, buckets, step_range, axis)
    return json_response(answer)


def _series(
    provider: Provider,
    regexes: list[str],
    runs: list[str],
    buckets: int,
    step_range: tuple[int | None, int | None],
    axis: XAxis,
) -> dict[str, Any]:
    listing = provider.list_tags(plugin="scalars", runs=[r for r in runs if _known(provider, r)])
    all_tags = sorted({tag for tags in listing.values() for tag in tags})
    deadline = time.monotonic() + MATCH_SECONDS
    verdicts: list[dict[str, Any]] = []
    matched: set[str] = set()
    for pattern in regexes:
        try:
            matched.update(match_tags(pattern, all_tags, deadline) if pattern else [])
            verdicts.append({"regex_valid": bool(pattern), "error": None if pattern else "empty"})
        except ValueError as error:
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
    return {"regexes": verdicts, "tags": result, "truncated": truncated}


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
