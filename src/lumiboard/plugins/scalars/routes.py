"""HTTP routes of the scalars plugin, under ``/data/plugin/scalars``.

TensorBoard's routes (``/tags``, ``/scalars`` with ``format=json|csv``,
``POST /scalars_multirun``) keep their paths and shapes, and every point is
served (TensorBoard serves a 1,000-point sample). lumiboard's dashboard uses
``/series``: columns for many runs of one tag at once, reduced server-side to
what a chart of a given width can show without hiding a spike, and refined
when a step range (a zoom) is given.

Every route reads and encodes on a worker pool (:mod:`lumiboard.server.workers`);
those answering with every point on the bulk pool: a series of millions of points
takes seconds to write as CSV.
"""

from __future__ import annotations

import functools
import threading
import weakref
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lumiboard.plugins.base import DataClass
from lumiboard.plugins.scalars import series_binary
from lumiboard.server import workers
from lumiboard.server.context import body_int, body_step, context, query
from lumiboard.server.errors import BadRequestError
from lumiboard.server.responses import (
    attachment,
    csv_long_rows,
    float64_base64,
    json_response,
    tag_json,
    tensorboard_csv,
    tensorboard_triples,
)
from lumiboard.store.downsample import Reduced, XAxis
from lumiboard.store.provider import NotFoundError, Provider
from lumiboard.store.runs import RunData, TagInfo

TAB_NAME = "Scalars"
PLUGIN_NAME = "scalars"
MAX_BUCKETS = 20_000
#: Form fields of one ``scalars_multirun`` request: the tag and up to 100,000 runs.
MAX_MULTIRUN_FIELDS = 100_001
#: The largest urlencoded ``scalars_multirun`` form read (100,000 names of ~600 bytes).
MAX_FORM_BYTES = 64 << 20


@workers.off_loop
def tags(request: Request) -> Response:
    """``{run: {tag: {displayName, description}}}`` for every scalar tag."""
    body = tag_listing(context(request).provider).answer()
    return Response(body, media_type="application/json")


class TagListing:
    """The ``/tags`` answer of one provider, built once per change of its store.

    Clients poll ``/tags`` (the app, scripts waiting for a run): 2,000 runs answer ~600 KB,
    tens of ms to build, while nothing changed. The answer is kept with the
    :meth:`Provider.listing_key <lumiboard.store.provider.Provider.listing_key>` it was
    built under, and reused while that key is the same and no tag left out for having
    no points yet has some now (a tag is created just before its first points are
    stored). The reloader's listeners are no help: they run once a whole pass is done,
    and a first pass shows each run as soon as it is read.

    When the store changed, only the runs that changed are listed again: each run's part
    of the answer is kept with its :meth:`RunData.listing_version
    <lumiboard.store.runs.RunData.listing_version>`, so a first pass over thousands of
    runs, polled all along, costs each poll the runs read since the last one, not all.
    """

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.builds = 0
        self._lock = threading.Lock()
        #: (key, answer, tags without points): replaced at once, read without the lock.
        self._built: tuple[tuple[int, int], bytes, list[tuple[RunData, str]]] | None = None
        #: run name -> its part of the last answer. Used under the lock.
        self._parts: dict[str, _RunPart] = {}

    def answer(self) -> bytes:
        """The listing's JSON, built again only when the store changed."""
        found = self._current()
        if found is not None:
            return found
        with self._lock:  # one build at a time; a waiting request takes its result
            found = self._current()
            if found is not None:
                return found
            key = self.provider.listing_key()  # before reading: a change after shows
            body, empty = self._build()
            self._built = (key, body, empty)
            self.builds += 1
            return body

    def _current(self) -> bytes | None:
        built = self._built
        if built is None or built[0] != self.provider.listing_key():
            return None
        _, body, empty = built
        if any(len(run.scalars.get(tag, ())) for run, tag in empty):
            return None
        return body

    def _build(self) -> tuple[bytes, list[tuple[RunData, str]]]:
        # Provider.list_tags(plugin="scalars") and the tags it leaves out for having no
        # points, in one pass (a scalars tag's data is its ScalarSeries).
        parts: dict[str, _RunPart] = {}
        empty: list[tuple[RunData, str]] = []
        for name in self.provider.list_runs():
            try:
                run = self.provider.run(name)
            except NotFoundError:
                continue  # dropped by a reload since it was listed
            kept = self._parts.get(name)
            if (
                kept is None
                or kept.run is not run
                or kept.version != run.listing_version()
                or any(len(run.scalars.get(tag, ())) for tag in kept.empty)
            ):
                kept = _run_part(name, run)
            parts[name] = kept
            empty.extend((run, tag) for tag in kept.empty)
        self._parts = parts
        listed = [part.body for part in parts.values() if part.body is not None]
        return b"{" + b",".join(listed) + b"}", empty


class _RunPart(NamedTuple):
    """One run's part of the ``/tags`` answer, as read at ``version`` of ``run``."""

    run: RunData
    version: tuple[int, int]
    body: bytes | None  # ``"name":{tag: entry, ...}``; None when it lists no tag
    empty: list[str]  # its scalars tags without points yet


def _run_part(name: str, run: RunData) -> _RunPart:
    """One run's part of the ``/tags`` answer, read now."""
    entries = {}
    empty = []
    with run.lock:
        version = run.listing_version()  # before reading: a change after shows
        for tag, info in run.tags.items():
            if info.plugin_name != PLUGIN_NAME:
                continue
            if len(run.scalars.get(tag, ())):
                entries[tag] = _tag_entry(info.display_name, info.description)
            else:
                empty.append(tag)
    body = orjson.dumps({name: entries})[1:-1] if entries else None
    return _RunPart(run, version, body, empty)


_listings: weakref.WeakKeyDictionary[Provider, TagListing] = weakref.WeakKeyDictionary()
_listings_lock = threading.Lock()


def tag_listing(provider: Provider) -> TagListing:
    """The :class:`TagListing` of ``provider`` (one per provider, made on first use)."""
    with _listings_lock:
        listing = _listings.get(provider)
        if listing is None:
            listing = _listings[provider] = TagListing(provider)
        return listing


@functools.lru_cache(maxsize=4096)
def _tag_entry(display_name: str, description: str) -> dict[str, str]:
    # Runs share their tags' names and descriptions: each rendered (markdown) once.
    # The same dict for each: orjson writes it again, nobody changes it.
    return tag_json(TagInfo(PLUGIN_NAME, DataClass.SCALAR, display_name, description))


@workers.off_loop_bulk
def scalars(request: Request) -> Response:
    """Every point of one series: ``[[wall_time, step, value], ...]`` or CSV."""
    run, tag = query(request, "run"), query(request, "tag")
    columns = context(request).provider.read_scalars(run, tag)
    fmt = request.query_params.get("format", "json")
    if fmt == "csv":
        body = tensorboard_csv(columns.wall_time, columns.step, columns.value)
        return PlainTextResponse(
            body,
            media_type="text/csv",
            headers={"Content-Disposition": attachment(f"{run}_{tag}.csv")},
        )
    if fmt != "json":
        raise BadRequestError(f"format must be json or csv, got {fmt!r}")
    body_json = tensorboard_triples(columns.wall_time, columns.step, columns.value)
    return Response(body_json, media_type="application/json")


async def scalars_multirun(request: Request) -> Response:
    """TensorBoard's POST form (``tag``, repeated ``runs``): ``{run: [[wt, step, v], ...]}``.

    Up to :data:`MAX_MULTIRUN_FIELDS` fields (TensorBoard answers 2,000 runs; Starlette's
    form parser stops at 1,000 fields), a 413 above.
    """
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        # parse_qsl (C speed, bounded) rather than the form parser's callback per field.
        body = await _bounded_body(request, MAX_FORM_BYTES)
        fields = await workers.run(_urlencoded_fields, body)
        tags = [value for name, value in fields if name == "tag"]
        tag: object = tags[0] if tags else None
        runs = [value for name, value in fields if name == "runs"]
    else:
        try:
            # As a context manager: files uploaded in a (hostile) multipart form are closed.
            async with request.form(max_fields=MAX_MULTIRUN_FIELDS) as form:
                tag = form.get("tag")
                runs = [run for run in form.getlist("runs") if isinstance(run, str)]
        except HTTPException as error:
            if "Too many fields" in str(error.detail):
                raise _too_many() from None
            raise
    if not isinstance(tag, str):
        raise BadRequestError("missing form field 'tag'")
    return await workers.run_bulk(_scalars_multirun, context(request).provider, tag, runs)


def _too_many() -> HTTPException:
    return HTTPException(
        413, f"at most {MAX_MULTIRUN_FIELDS - 1:,} runs per scalars_multirun request"
    )


async def _bounded_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the form is over {limit >> 20} MiB")
        chunks.append(chunk)
    return b"".join(chunks)


def _urlencoded_fields(body: bytes) -> list[tuple[str, str]]:
    # As Starlette's parser reads it: bytes as latin-1, %-escapes as UTF-8, blanks kept.
    try:
        return parse_qsl(
            body.decode("latin-1"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="replace",
            max_num_fields=MAX_MULTIRUN_FIELDS,
        )
    except ValueError:  # "Max number of fields exceeded"
        raise _too_many() from None


def _scalars_multirun(provider: Provider, tag: str, runs: list[str]) -> Response:
    parts = []
    for run in runs:
        try:
            columns = provider.read_scalars(run, tag)
        except NotFoundError:
            continue
        triples = tensorboard_triples(columns.wall_time, columns.step, columns.value)
        parts.append(orjson.dumps(run) + b":" + triples)
    return Response(b"{" + b",".join(parts) + b"}", media_type="application/json")


async def series(request: Request) -> Response:
    """Reduced columns of one tag for many runs (lumiboard's dashboard route).

    JSON body: ``{"tag": str, "runs": [str], "buckets": int, "min_step": int?,
    "max_step": int?, "x": "step"|"wall_time"|"relative", "known": {run: stamp}?}``.
    Each run's columns come as base64 little-endian float64 (exact, NaN and Inf kept),
    with the ``stamp`` of the points they were made from; runs without the tag are left
    out. A run of ``known`` whose points still have that stamp is named in ``unchanged``
    instead of sent (the client asks with the same reduction as before). A client sending ``Accept:
    application/vnd.lumiboard.series`` gets the same columns as typed arrays
    (:mod:`lumiboard.plugins.scalars.series_binary`).
    """
    binary = series_binary.accepts_binary(request.headers.get("accept", ""))
    return await workers.run(_series, context(request).provider, await request.body(), binary)


def _series(provider: Provider, raw: bytes, binary: bool = False) -> Response:
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BadRequestError(f"the body must be JSON: {error}") from None
    if not isinstance(body, dict) or not isinstance(body.get("tag"), str):
        raise BadRequestError("the body must be an object with a string 'tag'")
    runs = body.get("runs", [])
    if not isinstance(runs, list) or not all(isinstance(run, str) for run in runs):
        raise BadRequestError("'runs' must be a list of run names")
    buckets = body_int(body.get("buckets", 1000), "buckets")
    if not 1 <= buckets <= MAX_BUCKETS:
        raise BadRequestError(f"'buckets' must be in [1, {MAX_BUCKETS}]")
    min_step = body_step(body.get("min_step"), "min_step")
    max_step = body_step(body.get("max_step"), "max_step")
    if min_step is not None and max_step is not None and min_step > max_step:
        raise BadRequestError("'min_step' must not exceed 'max_step'")
    step_range = (min_step, max_step)
    x = body.get("x", "step")
    if x not in ("step", "wall_time", "relative"):
        raise BadRequestError("'x' must be step, wall_time or relative")
    axis: XAxis = x
    tag: str = body["tag"]
    known = body.get("known", {})
    if not isinstance(known, dict) or not all(isinstance(v, str) for v in known.values()):
        raise BadRequestError("'known' must be an object of run names to stamps")
    found: dict[str, Reduced] = {}
    stamps: dict[str, str] = {}
    unchanged: list[str] = []
    for run in runs:
        try:
            # The stamp before the points: a point appended in between is sent again later.
            stamp = provider.scalar_stamp(run, tag)
            if known.get(run) == stamp:
                unchanged.append(run)
                continue
            found[run] = provider.read_scalars_reduced(run, tag, buckets, step_range, axis)
            stamps[run] = stamp
        except NotFoundError:
            continue
        except ValueError as error:  # e.g. x=wall_time over non-finite wall times
            raise BadRequestError(f"run {run!r}: {error}") from None
    # The answer depends on Accept: caches must keep the two forms apart.
    vary = {"Vary": "Accept"}
    if binary:
        body_bytes = series_binary.encode_series(tag, list(found.items()), stamps, unchanged)
        return Response(body_bytes, media_type=series_binary.MEDIA_TYPE, headers=vary)
    result = {
        run: {
            "total": reduced.total,
            "stamp": stamps[run],
            "step": float64_base64(reduced.step),
            "wall_time": float64_base64(reduced.wall_time),
            "value": float64_base64(reduced.value),
        }
        for run, reduced in found.items()
    }
    answer: dict[str, Any] = {"tag": tag, "runs": result}
    if unchanged:
        answer["unchanged"] = unchanged
    return json_response(answer, headers=vary)


@workers.off_loop_bulk
def download(request: Request) -> Response:
    """Every point of one tag for many runs, as one file (never sampled).

    ``?tag=T[&runs=a&runs=b...]&format=csv|json``: no ``runs`` means every run
    with the tag. CSV is long (``run,step,wall_time,value``, properly quoted);
    JSON is ``{run: [[wall_time, step, value], ...]}`` (``scalars_multirun``'s shape).
    """
    tag = query(request, "tag")
    fmt = request.query_params.get("format", "csv")
    if fmt not in ("csv", "json"):
        raise BadRequestError(f"format must be csv or json, got {fmt!r}")
    provider = context(request).provider
    runs = request.query_params.getlist("runs") or [
        run for run, tags in provider.list_tags(plugin="scalars").items() if tag in tags
    ]
    found = []
    for run in runs:
        try:
            found.append((run, provider.read_scalars(run, tag)))
        except NotFoundError:
            continue
    if not found:
        raise NotFoundError(f"no run has the scalar tag {tag!r}")
    headers = {"Content-Disposition": attachment(f"{tag}_all_runs.{fmt}")}
    if fmt == "json":
        parts = [
            orjson.dumps(run) + b":" + tensorboard_triples(c.wall_time, c.step, c.value)
            for run, c in found
        ]
        return Response(
            b"{" + b",".join(parts) + b"}", media_type="application/json", headers=headers
        )
    body = [b"run,step,wall_time,value\r\n"]
    body.extend(csv_long_rows(run, c.step, c.wall_time, c.value) for run, c in found)
    return Response(b"".join(body), media_type="text/csv", headers=headers)


ROUTES = [
    Route("/tags", tags),
    Route("/scalars", scalars),
    Route("/scalars_multirun", scalars_multirun, methods=["POST"]),
    Route("/series", series, methods=["POST"]),
    Route("/download", download),
]
