"""HTTP routes of the projector plugin, under ``/data/plugin/projector``.

TensorBoard's routes keep their paths and shapes: ``/runs`` (runs with a
``projector_config.pbtxt``), ``/info?run`` (the config as JSON, paths as the
config gives them, ``tensorShape`` filled in), ``/tensor?run&name[&num_rows]``
(raw little-endian float32), ``/metadata?run&name[&num_rows]`` (TSV text),
``/bookmarks?run&name`` (JSON) and ``/sprite_image?run&name`` (the image).

Differences: every row is served (no sample); errors are JSON, 404 for an
unknown run or embedding, 400 for a file that cannot be served (outside the
run directory, missing, bad content: the message names the line), 413 for a
file over the size cap (``data.MAX_BYTES``), 422 for values lumiboard cannot
read (a TF checkpoint; HDF5 without h5py; integers). Keras 3's embeddings
(``train/keras_embedding.ckpt-<epoch>.weights.h5``, :mod:`.h5_tensors`) are read,
and ``/tensor`` then says which dataset in ``X-Tensor-Source``; a Keras
``log_dir`` (the config beside ``train/``) is a run of its own here.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard.format.proto import projector_pb2
from lumiboard.plugins.projector import data, errors
from lumiboard.reader.mlflow_uri import is_mlflow
from lumiboard.server import workers
from lumiboard.server.context import Context, context, query
from lumiboard.server.errors import BadRequestError
from lumiboard.server.responses import json_response
from lumiboard.store.provider import NotFoundError
from lumiboard.writer import fs

TAB_NAME = "Projector"

T = TypeVar("T")


def list_projector_runs(ctx: Context) -> dict[str, str]:
    """``{run: directory}`` of every run with a projector config, in name order.

    Runs are the reloader's (directories with event files, as TensorBoard's
    multiplexer knows them); as in TensorBoard, the log directory itself
    counts too (as ``.``, or as the source's name) when it holds a config.
    """
    reloader = ctx.reloader
    logdirs = ctx.logdirs()
    found: dict[str, str] = {}
    for run in ctx.provider.list_runs():
        location = reloader.location(run)
        if location is not None and data.read_config(location, logdirs) is not None:
            found[run] = location
    found.update(
        (run, location)
        for run, location in _keras_log_dirs(ctx, found)
        if data.read_config(location, logdirs) is not None
    )
    sources = reloader.sources
    for source in sources:
        name = "." if len(sources) == 1 and source.name is None else source.name
        if name is None or name in found or reloader.location(name) is not None:
            continue
        if is_mlflow(source.location):  # runs mirrored from MLflow: no directory of its own
            continue
        if data.read_config(source.location, logdirs) is not None:
            found[name] = source.location
    return dict(sorted(found.items()))


def _keras_log_dirs(ctx: Context, known: dict[str, str]) -> list[tuple[str, str]]:
    """``(name, directory)`` of each parent of a ``<name>/train`` run that is no run itself.

    Keras's callback writes ``projector_config.pbtxt`` into its ``log_dir`` and the event
    files into ``log_dir/train`` and ``log_dir/validation``: the ``log_dir`` has no event file
    of its own. Only runs below a log directory count (never the parent of one).
    """
    reloader = ctx.reloader
    parents: list[tuple[str, str]] = []
    for run in ctx.provider.list_runs():
        name, _, last = run.rpartition("/")
        location = reloader.location(run)
        if last != "train" or not name or name in known or location is None:
            continue
        if reloader.location(name) is not None:
            continue
        trimmed = location.rstrip("/\\")
        parent = trimmed.rsplit("/", 1)[0] if fs.is_remote(trimmed) else os.path.dirname(trimmed)
        parents.append((name, parent))
    return parents


def _run_dir(request: Request, run: str) -> str:
    location = list_projector_runs(context(request)).get(run)
    if location is None:
        raise NotFoundError(f"no projector config in run {run!r}")
    return location


def _config(request: Request) -> tuple[str, str, projector_pb2.ProjectorConfig]:
    run = query(request, "run")
    run_dir = _run_dir(request, run)
    config = data.read_config(run_dir, context(request).logdirs())
    if config is None:  # removed since it was listed
        raise NotFoundError(f"no projector config in run {run!r}")
    return run, run_dir, config


def _embedding(request: Request) -> tuple[str, str, projector_pb2.EmbeddingInfo]:
    run, run_dir, embedding, _ = _embedding_and_config(request)
    return run, run_dir, embedding


def _embedding_and_config(
    request: Request,
) -> tuple[str, str, projector_pb2.EmbeddingInfo, projector_pb2.ProjectorConfig]:
    run, run_dir, config = _config(request)
    name = query(request, "name")
    embedding = data.find_embedding(config, name)
    if embedding is None:
        raise NotFoundError(f"run {run!r} has no embedding {name!r}")
    return run, run_dir, embedding, config


def _num_rows(request: Request) -> int | None:
    text = request.query_params.get("num_rows")
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise BadRequestError("query parameter num_rows must be integer > 0")
    return value


async def _off_loop(work: Callable[[], T]) -> T:
    """File reads and parsing run on the bulk pool: a big TSV must not stall other requests."""
    try:
        return await workers.run_bulk(work)
    except errors.TooLargeError as error:
        raise HTTPException(413, str(error)) from None
    except errors.UnreadableError as error:
        raise HTTPException(422, str(error)) from None
    except errors.AssetError as error:
        raise BadRequestError(str(error)) from None
    except OSError as error:
        raise BadRequestError(f"cannot read the file: {error.strerror or error}") from None


async def runs(request: Request) -> Response:
    """``[run, ...]``: the runs with embeddings."""
    listing = await workers.run(list_projector_runs, context(request))
    return json_response(list(listing))


async def info(request: Request) -> Response:
    """The run's ``ProjectorConfig`` as JSON, each embedding's ``tensorShape`` filled in."""
    _, run_dir, config = await workers.run(_config, request)
    logdirs = context(request).logdirs()

    def fill() -> None:
        for embedding in config.embeddings:
            if embedding.tensor_shape:
                continue
            try:  # a Keras embedding (no tensor_path) is read from its HDF5 checkpoint
                tensor = data.read_tensor(run_dir, embedding, logdirs, config)
            except (ValueError, OSError):
                continue  # /tensor says what is wrong with it
            embedding.tensor_shape.extend(tensor.shape)

    await workers.run_bulk(fill)
    return json_response(data.config_json(config))


async def tensor(request: Request) -> Response:
    """Every row (or the first ``num_rows``) as raw little-endian float32, row-major."""
    num_rows = _num_rows(request)
    _, run_dir, embedding, config = await workers.run(_embedding_and_config, request)
    logdirs = context(request).logdirs()

    def work() -> tuple[bytes, str, str | None]:
        matrix, source = data.read_tensor_and_source(run_dir, embedding, logdirs, config)
        if num_rows is not None:
            matrix = matrix[:num_rows]
        # The copy into bytes can be big (GBs): off the event loop too.
        body = matrix.astype("<f4", copy=False).tobytes()
        return body, f"{matrix.shape[0]},{matrix.shape[1]}", source

    body, shape, source = await _off_loop(work)
    headers = {"X-Tensor-Shape": shape}
    if source is not None:  # which dataset of an HDF5 checkpoint, and why that one
        headers["X-Tensor-Source"] = _header_text(source)
    return Response(body, media_type="application/octet-stream", headers=headers)


def _header_text(text: str) -> str:
    """Printable ASCII (a layer's name may be anything), at most 1,000 characters."""
    return "".join(c if " " <= c <= "~" else f"\\u{ord(c):04x}" for c in text[:1000])


async def metadata(request: Request) -> Response:
    """The metadata TSV (a header line when it has several columns), optionally cut."""
    num_rows = _num_rows(request)
    run, run_dir, embedding = await workers.run(_embedding, request)
    if not embedding.metadata_path:
        raise BadRequestError(f"embedding {embedding.tensor_name!r} of run {run!r} has no metadata")
    path = embedding.metadata_path
    logdirs = context(request).logdirs()

    def work() -> str:
        raw = data.read_bytes(data.resolve(run_dir, path, logdirs), "metadata", path)
        return data.metadata_text(raw, num_rows, path)

    text = await _off_loop(work)
    return Response(text, media_type="text/plain; charset=utf-8")


async def bookmarks(request: Request) -> Response:
    """The bookmarks file the config names (JSON, checked to be JSON)."""
    run, run_dir, embedding = await workers.run(_embedding, request)
    if not embedding.bookmarks_path:
        raise BadRequestError(
            f"embedding {embedding.tensor_name!r} of run {run!r} has no bookmarks"
        )
    path = embedding.bookmarks_path
    logdirs = context(request).logdirs()

    def work() -> bytes:
        raw = data.read_bytes(data.resolve(run_dir, path, logdirs), "bookmarks", path)
        try:
            orjson.loads(raw)  # up to the size cap: parsed off the event loop
        except orjson.JSONDecodeError as error:
            raise BadRequestError(f"bookmarks file {path!r} is not JSON: {error}") from None
        return raw

    return Response(await _off_loop(work), media_type="application/json")


_IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


async def sprite_image(request: Request) -> Response:
    """The sprite sheet's bytes with its sniffed image type (PNG, JPEG, GIF, BMP, WebP)."""
    run, run_dir, embedding = await workers.run(_embedding, request)
    path = embedding.sprite.image_path
    if not path:
        raise BadRequestError(
            f"embedding {embedding.tensor_name!r} of run {run!r} has no sprite image"
        )
    logdirs = context(request).logdirs()
    raw = await _off_loop(
        lambda: data.read_bytes(data.resolve(run_dir, path, logdirs), "sprite", path)
    )
    media = next((kind for magic, kind in _IMAGE_TYPES if raw.startswith(magic)), None)
    if media is None and raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        media = "image/webp"
    if media is None:
        raise BadRequestError(f"sprite file {path!r} is not a PNG, JPEG, GIF, BMP or WebP image")
    return Response(raw, media_type=media)


ROUTES = [
    Route("/runs", runs),
    Route("/info", info),
    Route("/tensor", tensor),
    Route("/metadata", metadata),
    Route("/bookmarks", bookmarks),
    Route("/sprite_image", sprite_image),
]


#: How long ``is_active``'s answer is reused (seconds): the listing is asked on every reload.
ACTIVE_TTL = 2.0
#: id(context) -> (the context, weakly; when; the answer). The weak reference tells a live
#: context from a new one that got a dead one's id.
_active: dict[int, tuple[weakref.ref[Context], float, bool]] = {}


def is_active(ctx: Context) -> bool:
    """Whether the tab is enabled: some run (or the log directory) has embeddings.

    The projector keeps no events, so ``/data/plugins_listing`` asks this
    rather than the provider's tags; the answer is kept ``ACTIVE_TTL`` seconds.
    """
    now = time.monotonic()
    cached = _active.get(id(ctx))
    if cached is not None and cached[0]() is ctx and now - cached[1] < ACTIVE_TTL:
        return cached[2]
    active = bool(list_projector_runs(ctx))
    _active[id(ctx)] = (weakref.ref(ctx), now, active)
    return active
