"""HTTP routes of the graphs plugin, under ``/data/plugin/graphs``.

TensorBoard's routes keep their paths and shapes (``tb:plugins/graph/graphs_plugin.py``):
``/info`` (which graph kinds each run and tag has), ``/graph`` (a ``GraphDef`` as pbtxt: the
run's graph, a traced op graph or, with ``conceptual=true``, a Keras model) and
``/run_metadata`` (pbtxt). lumiboard's dashboard asks ``/graph_json`` (the same graphs as
compact JSON, see :mod:`.convert`) and ``/run_metadata_json`` (per-node compute time and
memory). Graphs are large and rarely change, so the JSON routes answer with an ETag naming
the stored blob (a reload that finds the same graph answers 304) and keep the last few
conversions in memory. The graph routes run on the bulk worker pool
(:mod:`lumiboard.server.workers`): parsing, converting and printing a big graph take seconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard.plugins.graphs import data
from lumiboard.plugins.graphs.convert import (
    GraphError,
    function_graphs,
    graph_json,
    limit_attrs,
    merge_graphs,
    parse_graph,
    parse_run_metadata,
    run_metadata_json,
)
from lumiboard.plugins.graphs.keras import keras_to_graph_def
from lumiboard.server import workers
from lumiboard.server.context import context, query, query_int
from lumiboard.server.errors import BadRequestError
from lumiboard.store.buildcache import BuildCache
from lumiboard.store.provider import NotFoundError, Provider
from lumiboard.store.runs import BlobRef

TAB_NAME = "Graphs"
PBTXT = "text/x-protobuf"
#: The TF plugins' content is the version string "1"; TensorBoard ignores other versions.
_VERSION = b"1"
#: Op graphs traced by TensorFlow (``trace_export``): with and without a profile.
_OP_GRAPH_PLUGINS = (data.PLUGIN_NAME_RUN_METADATA, data.PLUGIN_NAME_RUN_METADATA_WITH_GRAPH)
#: Run metadata with step stats, in TensorBoard's order of preference.
_PROFILE_PLUGINS = (data.PLUGIN_NAME_TAGGED_RUN_METADATA, data.PLUGIN_NAME_RUN_METADATA)
#: Conversions kept (JSON bytes), and their total size.
_CACHE_ENTRIES = 8
_CACHE_BYTES = 256 << 20


# ---- /info --------------------------------------------------------------------------------


def _tags(provider: Provider, plugin: str, versioned: bool) -> dict[str, list[str]]:
    """{run: [tag]} of a graph plugin; TF's plugins must carry content ``1``, as TensorBoard."""
    return {
        run: [tag for tag, info in tags.items() if not versioned or info.plugin_content == _VERSION]
        for run, tags in provider.list_tags(plugin=plugin).items()
    }


def info_json(provider: Provider) -> dict[str, Any]:
    """``{run: {run, run_graph, tags: {tag: {tag, conceptual_graph, op_graph, profile}}}}``."""
    result: dict[str, Any] = {}

    def run_row(run: str) -> dict[str, Any]:
        item: dict[str, Any] = result.setdefault(run, {"run": run, "tags": {}, "run_graph": False})
        return item

    def tag_row(run: str, tag: str) -> dict[str, Any]:
        item: dict[str, Any] = run_row(run)["tags"].setdefault(
            tag, {"tag": tag, "conceptual_graph": False, "op_graph": False, "profile": False}
        )
        return item

    # The order of TensorBoard's info_impl, so that keys come out in the same order.
    kinds: list[tuple[str, tuple[str, ...]]] = [
        (data.PLUGIN_NAME_RUN_METADATA_WITH_GRAPH, ("op_graph",)),
        (data.PLUGIN_NAME_RUN_METADATA, ("profile", "op_graph")),
        (data.PLUGIN_NAME_KERAS_MODEL, ("conceptual_graph",)),
    ]
    for plugin, flags in kinds:
        for run, tags in _tags(provider, plugin, True).items():
            for tag in tags:
                tag_item = tag_row(run, tag)
                for flag in flags:
                    tag_item[flag] = True
    for run, tags in _tags(provider, data.PLUGIN_NAME, False).items():
        if data.RUN_GRAPH_TAG in tags:
            run_row(run)["run_graph"] = True
    for run, tags in _tags(provider, data.PLUGIN_NAME_TAGGED_RUN_METADATA, False).items():
        for tag in tags:
            tag_row(run, tag)["profile"] = True
    return result


@workers.off_loop
def info(request: Request) -> Response:
    """Every run with a graph, and per tag which kinds of graph it holds."""
    return Response(
        orjson.dumps(info_json(context(request).provider)), media_type="application/json"
    )


# ---- reading the stored graphs --------------------------------------------------------------


def _latest(provider: Provider, run: str, tag: str, plugins: tuple[str, ...]) -> BlobRef:
    """The newest stored value of ``run``/``tag`` if the tag belongs to one of ``plugins``."""
    info = provider.tag_info(run, tag)
    if info.plugin_name not in plugins:
        raise NotFoundError(f"run {run!r} has no {' or '.join(plugins)} data under tag {tag!r}")
    points = provider.read_blob_sequence(run, tag)
    if not points:
        raise NotFoundError(f"run {run!r} has no data under tag {tag!r}")
    return points[-1].ref


def _graph_ref(
    provider: Provider, run: str, tag: str | None, conceptual: bool
) -> tuple[str, BlobRef]:
    """(kind, reference) of the graph a ``/graph`` request names, as TensorBoard picks it."""
    if conceptual:
        if tag is None:
            raise BadRequestError("a conceptual graph needs the query parameter 'tag'")
        return "keras", _latest(provider, run, tag, (data.PLUGIN_NAME_KERAS_MODEL,))
    if tag is None:
        try:
            return "graph", _latest(provider, run, data.RUN_GRAPH_TAG, (data.PLUGIN_NAME,))
        except NotFoundError:
            raise NotFoundError(f"run {run!r} has no run graph") from None
    return "run_metadata", _latest(provider, run, tag, _OP_GRAPH_PLUGINS)


def read_graph(provider: Provider, kind: str, ref: BlobRef) -> Any:
    """The ``GraphDef`` stored at ``ref``; :class:`GraphError` when it cannot be read."""
    blob = provider.read_blob(ref)
    if kind == "keras":
        try:
            config = orjson.loads(blob)
            return keras_to_graph_def(config)
        except (
            orjson.JSONDecodeError,
            ValueError,
            TypeError,
            LookupError,  # IndexError, KeyError: a config whose references do not resolve
            RecursionError,
        ) as error:
            raise GraphError(f"the stored Keras model config cannot be read ({error})") from None
    if kind == "graph":
        return parse_graph(blob)
    return merge_graphs(function_graphs(blob))


def _graph_params(request: Request) -> tuple[str, str | None, bool]:
    run = query(request, "run")
    tag = request.query_params.get("tag")
    # As TensorBoard: only "true" asks for the conceptual graph.
    return run, tag, request.query_params.get("conceptual") == "true"


def _graph_error(run: str, error: GraphError) -> BadRequestError:
    return BadRequestError(f"run {run!r}: {error}")


@workers.off_loop_bulk
def graph(request: Request) -> Response:
    """A graph as pbtxt (``text/x-protobuf``), attrs over ``limit_attr_size`` bytes removed."""
    run, tag, conceptual = _graph_params(request)
    limit = query_int(request, "limit_attr_size", -(2**63), 2**63 - 1)
    large_attrs_key = request.query_params.get("large_attrs_key")
    provider = context(request).provider
    kind, ref = _graph_ref(provider, run, tag, conceptual)
    try:
        graph_def = read_graph(provider, kind, ref)
        limit_attrs(graph_def, limit, large_attrs_key)
    except GraphError as error:
        raise _graph_error(run, error) from None
    except ValueError as error:
        raise BadRequestError(str(error)) from None
    return Response(str(graph_def), media_type=PBTXT)


@workers.off_loop_bulk
def run_metadata(request: Request) -> Response:
    """A tag's ``RunMetadata`` as pbtxt."""
    tag, run = query(request, "tag"), query(request, "run")
    provider = context(request).provider
    ref = _latest(provider, run, tag, _PROFILE_PLUGINS)
    try:
        metadata = parse_run_metadata(provider.read_blob(ref))
    except GraphError as error:
        raise _graph_error(run, error) from None
    return Response(str(metadata), media_type=PBTXT)


# ---- lumiboard's JSON routes ------------------------------------------------------------


#: Converted graphs (JSON), step stats: seconds to build for a big graph.
_answers: BuildCache[tuple[Any, ...], bytes] = BuildCache(_CACHE_ENTRIES, _CACHE_BYTES, len)


def _cached(key: tuple[Any, ...], build: Callable[[], bytes]) -> bytes:
    """``build()``'s bytes, kept for the next request with the same key (built once)."""
    return _answers.get(key, build)


def _etag(key: tuple[Any, ...]) -> str:
    return '"' + hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest() + '"'


def _json_answer(request: Request, key: tuple[Any, ...], build: Callable[[], bytes]) -> Response:
    """``build()`` as JSON with an ETag; 304 when the client holds that version."""
    etag = _etag(key)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(_cached(key, build), media_type="application/json", headers=headers)


@workers.off_loop_bulk
def graph_json_route(request: Request) -> Response:
    """A graph as lumiboard's compact JSON (see :func:`.convert.graph_json`).

    ``?run&tag&conceptual`` as ``/graph``; the answer also says which it is
    (``run``, ``tag``, ``kind``: ``op`` or ``conceptual``) and its ``key`` (the ETag).
    """
    run, tag, conceptual = _graph_params(request)
    provider = context(request).provider
    kind, ref = _graph_ref(provider, run, tag, conceptual)
    # The answer names the question (run, tag, kind), so they are part of the key.
    key = ("graph_json", kind, ref, run, tag, conceptual)

    def build() -> bytes:
        try:
            body = graph_json(read_graph(provider, kind, ref))
        except GraphError as error:
            raise _graph_error(run, error) from None
        body.update(
            run=run,
            tag=tag,
            kind="conceptual" if conceptual else "op",
            key=_etag(key).strip('"'),
        )
        return orjson.dumps(body)

    return _json_answer(request, key, build)


@workers.off_loop_bulk
def run_metadata_json_route(request: Request) -> Response:
    """A tag's step stats per node: ``{devices, nodes: {name: {device, compute_micros,
    memory_bytes, output_bytes}}}`` (see :func:`.convert.run_metadata_json`)."""
    tag, run = query(request, "tag"), query(request, "run")
    provider = context(request).provider
    ref = _latest(provider, run, tag, _PROFILE_PLUGINS)
    key = ("run_metadata_json", ref, run, tag)

    def build() -> bytes:
        try:
            body = run_metadata_json(parse_run_metadata(provider.read_blob(ref)))
        except GraphError as error:
            raise _graph_error(run, error) from None
        body.update(run=run, tag=tag)
        return orjson.dumps(body)

    return _json_answer(request, key, build)


ROUTES = [
    Route("/info", info),
    Route("/graph", graph),
    Route("/run_metadata", run_metadata),
    Route("/graph_json", graph_json_route),
    Route("/run_metadata_json", run_metadata_json_route),
]
