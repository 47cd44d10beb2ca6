"""HTTP routes of the images plugin, under ``/data/plugin/images``.

TensorBoard's routes and shapes: ``/tags``, ``/images?run&tag&sample`` (one
entry per kept step that has image ``sample``, each with the ``query`` that
fetches it) and ``/individualImage?blob_key``, which serves the bytes with the
MIME type sniffed from them (PNG, JPEG, GIF so ``add_video`` animates, BMP).

Images are read by reference: the listing reads a few bytes of each step for
its width and height (cached per step), the image route reads one event, and
its answer is cached by the browser for good (see ``server/blobs.py``).
"""

from __future__ import annotations

import functools
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard.plugins.images.data import PLUGIN_NAME, detect_mime_type
from lumiboard.server import blobs, workers
from lumiboard.server.context import context, query
from lumiboard.server.responses import json_response
from lumiboard.store.provider import NotFoundError, Provider
from lumiboard.store.runs import BlobRef

TAB_NAME = "Images"
logger = logging.getLogger(__name__)
#: Widths and heights at or above this are not believed (the listing leaves them out).
MAX_SIZE = 2**31


@workers.off_loop
def tags(request: Request) -> Response:
    return json_response(blobs.list_blob_tags(context(request).provider, PLUGIN_NAME))


def _list_images(provider: Provider, run: str, tag: str, sample: int) -> list[dict[str, object]]:
    info = provider.tag_info(run, tag)
    if info.plugin_name != PLUGIN_NAME:
        raise NotFoundError(f"run {run!r} has no image tag {tag!r}")
    entries: list[dict[str, object]] = []
    for point in provider.read_blob_sequence(run, tag):
        if point.count <= sample:
            continue
        key = blobs.encode_blob_key(blobs.key_for(run, tag, point, sample))
        entry: dict[str, object] = {
            "wall_time": point.wall_time,
            "step": point.step,
            "query": f"blob_key={key}",
        }
        size = image_size(point.ref)
        if size is not None:
            entry["width"], entry["height"] = size
        entries.append(entry)
    return entries


@workers.off_loop
def images(request: Request) -> Response:
    """``[{wall_time, step, query, width?, height?}]`` for image ``sample`` of each kept step."""
    run, tag = query(request, "run"), query(request, "tag")
    sample = blobs.sample_parameter(request)
    return json_response(_list_images(context(request).provider, run, tag, sample))


async def individual_image(request: Request) -> Response:
    """The bytes of one image, with its sniffed MIME type and caching headers."""
    text = query(request, "blob_key")
    key = blobs.decode_blob_key(text)
    provider = context(request).provider
    point = await workers.run(blobs.find_blob, provider, key, PLUGIN_NAME)
    etag = blobs.etag(text)
    if blobs.not_modified(request, etag):
        return blobs.not_modified_response(etag)
    data = await blobs.read_blob_bytes(provider, point, key.sample)
    return blobs.blob_response(data, detect_mime_type(data), etag)


@functools.lru_cache(maxsize=16_384)
def image_size(ref: BlobRef) -> tuple[int, int] | None:
    """``(width, height)`` of the images at ``ref``, from the first bytes of its value:
    a legacy ``Summary.Image`` (``image`` = 4: ``height`` = 1, ``width`` = 2) or the
    tensor's first two strings (``tensor`` = 8, ``string_val`` = 8). None when unreadable."""
    peek = blobs.EventPeek(ref)
    try:
        start, end = peek.value()
        image = peek.field(start, end, 4)
        if image is not None:
            numbers = {n: v for n, wire, v, _ in peek.fields(*image) if wire == 0 and n in (1, 2)}
            if 1 in numbers and 2 in numbers:
                return _checked(numbers[2], numbers[1])
            return None
        tensor = peek.field(start, end, 8)
        if tensor is None:
            return None
        sizes = []
        for nth in (0, 1):
            found = peek.field(*tensor, 8, nth)
            if found is None or found[1] - found[0] > 20:
                return None
            digits = peek.read(found[0], found[1] - found[0])
            if not digits.isdigit():  # bytes.isdigit: ASCII digits only
                return None
            sizes.append(int(digits))
        return _checked(sizes[0], sizes[1])
    except (ValueError, OSError, NotFoundError) as error:
        logger.debug("no image size at %s: %s", ref, error)
        return None


def _checked(width: int, height: int) -> tuple[int, int] | None:
    """``(width, height)`` when both are plausible sizes (``0 < n < 2**31``), else None:
    the event file is untrusted, and a varint of up to 2**70 (or a negative int32, which
    protobuf writes as 2**64 - 1) would not even serialize as JSON."""
    if 0 < width < MAX_SIZE and 0 < height < MAX_SIZE:
        return width, height
    return None


ROUTES = [
    Route("/tags", tags),
    Route("/images", images),
    Route("/individualImage", individual_image),
]
