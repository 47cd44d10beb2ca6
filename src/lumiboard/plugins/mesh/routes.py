"""HTTP routes of the mesh plugin, under ``/data/plugin/mesh``.

TensorBoard's three routes, with its paths and shapes (``mesh_plugin.py``):
``/tags`` names the meshes of each run (one ``add_mesh`` call writes up to
three series, ``<name>_VERTEX``, ``_FACE`` and ``_COLOR``, grouped here by the
``name`` of their ``MeshPluginData``), ``/meshes`` lists each part's kept
steps with its metadata, and ``/data`` sends one part of one step as raw
little-endian bytes. Steps are the ones the reader kept (``--samples_per_plugin``,
100 by default); where a series holds two values for one step, the later wins.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from google.protobuf.message import DecodeError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard.format.proto import mesh_pb2
from lumiboard.plugins.mesh import data
from lumiboard.server import workers
from lumiboard.server.context import context, query
from lumiboard.server.errors import BadRequestError
from lumiboard.server.responses import json_response
from lumiboard.store.provider import NotFoundError, Provider
from lumiboard.store.runs import TagInfo, TensorPoint

TAB_NAME = "Mesh"
#: The parts ``/data`` serves, by the name its ``content_type`` parameter uses.
_PARTS = {
    "VERTEX": mesh_pb2.MeshPluginData.VERTEX,
    "FACE": mesh_pb2.MeshPluginData.FACE,
    "COLOR": mesh_pb2.MeshPluginData.COLOR,
}

Part = tuple[str, mesh_pb2.MeshPluginData]


def _plugin_data(info: TagInfo) -> mesh_pb2.MeshPluginData | None:
    try:
        return data.parse_plugin_data(info.plugin_content)
    except DecodeError:
        return None  # damaged metadata: the series is not shown


def _meshes(tags: dict[str, TagInfo]) -> dict[str, list[Part]]:
    """Mesh name -> its series (instance tag, metadata), in the order they were first seen."""
    found: dict[str, list[Part]] = {}
    for instance_tag, info in tags.items():
        parsed = _plugin_data(info)
        if parsed is not None:
            found.setdefault(parsed.name, []).append((instance_tag, parsed))
    return found


def _parts(provider: Provider, run: str, name: str) -> list[Part]:
    provider.run(run)  # 404 naming the run when there is none
    tags = provider.list_tags(plugin=data.PLUGIN_NAME, runs=[run]).get(run, {})
    parts = _meshes(tags).get(name)
    if not parts:
        raise NotFoundError(f"run {run!r} has no mesh named {name!r}")
    return parts


def _last_per_step(points: Iterable[TensorPoint]) -> list[TensorPoint]:
    """One value per step (the last written), in step order."""
    by_step: dict[int, TensorPoint] = {}
    for point in points:
        by_step[point.step] = point
    return [by_step[step] for step in sorted(by_step)]


_INTEGER = re.compile(r"-?[0-9]{1,19}")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]{1,5})?")


def _int_param(request: Request, name: str, default: str) -> int:
    text = request.query_params.get(name, default)
    if _INTEGER.fullmatch(text):
        return int(text)  # exact: a float would round steps above 2**53
    # TensorBoard parses ``step`` as a float, so "3.0" and "3e2" are integers too; only
    # ASCII forms ("١٢", "1_0" and " 3 " are what ``float`` would also take).
    if _FLOAT.fullmatch(text) is None:
        raise BadRequestError(f"{name!r} must be an integer, got {text!r}")
    number = float(text)
    if not math.isfinite(number) or number != int(number):
        raise BadRequestError(f"{name!r} must be an integer, got {text!r}")
    return int(number)


def _sample(request: Request) -> int:
    sample = _int_param(request, "sample", "0")
    if sample < 0:
        raise BadRequestError(f"'sample' must not be negative, got {sample}")
    return sample


@workers.off_loop
def tags(request: Request) -> Response:
    """``{run: {name: {samples}}}``: each run's meshes and their batch size."""
    listing = context(request).provider.list_tags(plugin=data.PLUGIN_NAME)
    result: dict[str, dict[str, dict[str, int]]] = {}
    for run, run_tags in listing.items():
        meshes = _meshes(run_tags)
        result[run] = {
            name: {"samples": int(parts[0][1].shape[0]) if parts[0][1].shape else 1}
            for name, parts in meshes.items()
        }
    return json_response(result)


@workers.off_loop
def meshes(request: Request) -> Response:
    """Every kept step of every part of one mesh, in step order:
    ``[{wall_time, step, content_type, components, config, data_shape}]``."""
    run, name = query(request, "run"), query(request, "tag")
    if "sample" in request.query_params:
        _sample(request)  # TensorBoard ignores it here; a bad one is still refused
    provider = context(request).provider
    entries: list[dict[str, Any]] = []
    for instance_tag, parsed in _parts(provider, run, name):
        entries.extend(
            {
                "wall_time": point.wall_time,
                "step": point.step,
                "content_type": parsed.content_type,
                "components": parsed.components,
                "config": parsed.json_config,
                "data_shape": list(parsed.shape),
            }
            for point in _last_per_step(provider.read_tensors(run, instance_tag))
        )
    entries.sort(key=lambda entry: entry["step"])  # stable: parts keep their order
    return json_response(entries)


@workers.off_loop_bulk
def mesh_data(request: Request) -> Response:
    """One part of one step as raw bytes: float32 vertices, int32 faces or uint8 colours."""
    run, name = query(request, "run"), query(request, "tag")
    kind = query(request, "content_type")
    content_type = _PARTS.get(kind)
    if content_type is None:
        raise BadRequestError(f"'content_type' must be VERTEX, FACE or COLOR, got {kind!r}")
    step = _int_param(request, "step", "0")
    sample = _sample(request)
    provider = context(request).provider
    instance = next(
        (tag for tag, parsed in _parts(provider, run, name) if parsed.content_type == content_type),
        None,
    )
    if instance is None:
        raise NotFoundError(f"mesh {name!r} of run {run!r} has no {kind} part")
    found = [point for point in provider.read_tensors(run, instance) if point.step == step]
    if not found:
        raise NotFoundError(f"mesh {name!r} of run {run!r} has no {kind} at step {step}")
    try:
        body = data.encode_part(found[-1].array, sample, content_type)
    except IndexError as error:
        raise NotFoundError(str(error)) from None
    except ValueError as error:
        raise NotFoundError(f"{kind} of mesh {name!r} at step {step}: {error}") from None
    return Response(body, media_type="application/octet-stream")


ROUTES = [
    Route("/tags", tags),
    Route("/meshes", meshes),
    Route("/data", mesh_data),
]
