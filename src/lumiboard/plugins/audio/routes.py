"""HTTP routes of the audio plugin, under ``/data/plugin/audio``.

TensorBoard's routes and shapes: ``/tags``, ``/audio?run&tag&sample`` (one
entry per kept step that has clip ``sample``: ``wall_time``, ``step``,
``label``, ``contentType``, ``query``) and ``/individualAudio?blob_key&content_type``.

Additions: each ``/audio`` entry also gives the clip's ``sampleRate``,
``channels``, ``bitsPerSample`` and ``duration`` from its WAV header, and its
label where the writer stored one (TensorBoard's v1 ``audio.summary.op``
writes ``[k, 2]`` (wav, label) tensors; TensorBoard serves every label as
""). Both are read by reference, a few bytes of each step, and cached.
"""

from __future__ import annotations

import codecs
import functools
import logging
import math
from dataclasses import dataclass
from urllib.parse import urlencode

from google.protobuf.message import DecodeError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard.plugins.audio.data import (
    DEFAULT_MIME_TYPE,
    PLUGIN_NAME,
    WavHeader,
    mime_type,
    parse_wav_header,
)
from lumiboard.server import blobs, workers
from lumiboard.server.context import context, query
from lumiboard.server.errors import BadRequestError
from lumiboard.server.responses import json_response
from lumiboard.store.provider import NotFoundError, Provider
from lumiboard.store.runs import BlobPoint, BlobRef

TAB_NAME = "Audio"
logger = logging.getLogger(__name__)
#: The content types ``individualAudio`` serves (TensorBoard's list).
ALLOWED_MIME_TYPES = frozenset({"audio/wav", DEFAULT_MIME_TYPE})
#: Bytes of a clip read for its header.
HEAD_BYTES = 512
#: Bytes of a label kept: a longer one is cut to its first ``MAX_LABEL_BYTES - 3`` bytes
#: (at a character boundary) and ends in "…", so the cached listing stays small.
MAX_LABEL_BYTES = 4_096
ELLIPSIS = "\u2026"


@dataclass(frozen=True)
class Clip:
    """What the listing says about one clip."""

    label: str
    header: WavHeader | None


@workers.off_loop
def tags(request: Request) -> Response:
    """``{run: {tag: {displayName, description, samples}}}`` (``samples``: clips per step)."""
    return json_response(blobs.list_blob_tags(context(request).provider, PLUGIN_NAME))


def _series_mime_type(content: bytes) -> str:
    try:
        return mime_type(content)
    except DecodeError:
        return DEFAULT_MIME_TYPE


def _list_audio(provider: Provider, run: str, tag: str, sample: int) -> list[dict[str, object]]:
    info = provider.tag_info(run, tag)
    if info.plugin_name != PLUGIN_NAME:
        raise NotFoundError(f"run {run!r} has no audio tag {tag!r}")
    content_type = _series_mime_type(info.plugin_content)
    entries: list[dict[str, object]] = []
    for point in provider.read_blob_sequence(run, tag):
        if point.count <= sample:
            continue
        key = blobs.encode_blob_key(blobs.key_for(run, tag, point, sample))
        clip = read_clip(point.ref, sample)
        header = clip.header if clip is not None else None
        entries.append(
            {
                "wall_time": point.wall_time,
                "step": point.step,
                "label": clip.label if clip is not None else "",
                "contentType": content_type,
                "query": urlencode({"blob_key": key, "content_type": content_type}),
                "sampleRate": header.sample_rate if header else None,
                "channels": header.channels if header else None,
                "bitsPerSample": header.bits_per_sample if header else None,
                "duration": header.duration if header else None,
            }
        )
    return entries


@workers.off_loop
def audio(request: Request) -> Response:
    """One entry per kept step that has clip ``sample``."""
    run, tag = query(request, "run"), query(request, "tag")
    sample = blobs.sample_parameter(request)
    return json_response(_list_audio(context(request).provider, run, tag, sample))


async def individual_audio(request: Request) -> Response:
    """The bytes of one clip, as ``content_type`` (default: the series' type)."""
    text = query(request, "blob_key")
    requested = request.query_params.get("content_type")
    if requested is not None and requested not in ALLOWED_MIME_TYPES:
        raise BadRequestError(f"content_type must be one of {sorted(ALLOWED_MIME_TYPES)}")
    key = blobs.decode_blob_key(text)
    provider = context(request).provider
    point, media_type = await workers.run(_find_clip, provider, key, requested)
    etag = blobs.etag(f"{text}.{media_type}")
    if blobs.not_modified(request, etag):
        return blobs.not_modified_response(etag)
    data = await blobs.read_blob_bytes(provider, point, key.sample)
    return blobs.blob_response(data, media_type, etag)


def _find_clip(
    provider: Provider, key: blobs.BlobKey, requested: str | None
) -> tuple[BlobPoint, str]:
    point = blobs.find_blob(provider, key, PLUGIN_NAME)
    return point, requested or _series_mime_type(provider.tag_info(key.run, key.tag).plugin_content)


@functools.lru_cache(maxsize=16_384)
def read_clip(ref: BlobRef, index: int) -> Clip | None:
    """Clip ``index``'s label and WAV header, from a few bytes of its value: a legacy
    ``Summary.Audio`` (``audio`` = 6, ``encoded_audio_string`` = 4) or a string tensor
    (``tensor`` = 8: ``tensor_shape`` = 2, ``string_val`` = 8) of ``[k]`` clips or
    ``[k, 2]`` (clip, label) pairs. None when unreadable."""
    peek = blobs.EventPeek(ref)
    try:
        start, end = peek.value()
        legacy = peek.field(start, end, 6)
        if legacy is not None:
            wav = peek.field(*legacy, 4) if index == 0 else None
            return None if wav is None else Clip("", _header(peek, wav))
        tensor = peek.field(start, end, 8)
        if tensor is None:
            return None
        stride = _stride(peek, tensor)
        if stride is None:
            return None
        wav = peek.field(*tensor, 8, index * stride)
        if wav is None:
            return None
        label = ""
        if stride >= 2:
            found = peek.field(*tensor, 8, index * stride + 1)
            if found is not None:
                label = _label(peek, found)
        return Clip(label, _header(peek, wav))
    except (ValueError, OSError, NotFoundError) as error:
        logger.debug("no clip header at %s: %s", ref, error)
        return None


def _label(peek: blobs.EventPeek, found: tuple[int, int]) -> str:
    """The label's text, capped at :data:`MAX_LABEL_BYTES` bytes (see there)."""
    size = found[1] - found[0]
    if size <= MAX_LABEL_BYTES:
        return peek.read(found[0], size).decode("utf-8", errors="replace")
    head = peek.read(found[0], MAX_LABEL_BYTES - len(ELLIPSIS.encode()))
    # Not final: a character cut in two at the end is left out, not replaced.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return decoder.decode(head, final=False) + ELLIPSIS


def _header(peek: blobs.EventPeek, wav: tuple[int, int]) -> WavHeader | None:
    size = wav[1] - wav[0]
    return parse_wav_header(peek.read(wav[0], min(size, HEAD_BYTES)), size)


def _stride(peek: blobs.EventPeek, tensor: tuple[int, int]) -> int | None:
    """Strings per clip: the product of the shape's inner sizes (``dim`` = 2, ``size`` = 1),
    as the store's projection onto the first axis reads it."""
    shape = peek.field(*tensor, 2)
    if shape is None:
        return 1
    sizes = []
    for number, wire_type, a, b in peek.fields(*shape):
        if number == 2 and wire_type == 2:
            size = next((v for n, w, v, _ in peek.fields(a, b) if n == 1 and w == 0), 0)
            sizes.append(size if size < 2**63 else size - 2**64)
    stride = math.prod(sizes[1:])
    return stride if stride > 0 else None


ROUTES = [
    Route("/tags", tags),
    Route("/audio", audio),
    Route("/individualAudio", individual_audio),
]
