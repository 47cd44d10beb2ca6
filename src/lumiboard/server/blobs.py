"""Blob keys and the responses that serve blobs (images, audio) by reference.

A blob key names one blob the way a user would: run, tag, step, wall time and
sample index, plus a short fingerprint of where the value lies in its event
file. It is url-safe base64 of a JSON array, opaque to clients (TensorBoard's
frontends treat ``blob_key`` as opaque too). The server never trusts it: a key
that does not decode to exactly that shape is a 400, and one that decodes is
only ever *looked up* among the blob sequences the store holds (a 404 when
absent), so no file path or offset from a client is ever read.

Because the key pins the bytes (a rewritten run has other event files, so
another fingerprint), a blob's response never changes: it is served with a
strong ``ETag`` and ``Cache-Control: private, max-age=31536000, immutable``,
and ``If-None-Match`` is answered with 304 without reading the event file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from lumiboard.plugins.text.render import description_html
from lumiboard.reader.tail import read_range
from lumiboard.server.errors import BadRequestError
from lumiboard.store.provider import NotFoundError, Provider
from lumiboard.store.runs import BlobPoint, BlobRef

#: Longer keys are refused before decoding (a run and a tag of ~2,000 characters each fit).
MAX_KEY_LENGTH = 8192
CACHE_CONTROL = "private, max-age=31536000, immutable"
_KEY_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")
_FINGERPRINT_LENGTH = 11  # 8 bytes of SHA-256, base64 without padding


@dataclass(frozen=True)
class BlobKey:
    """What a blob key names. ``wall_time`` is kept as ``float.hex()``: exact, NaN included."""

    run: str
    tag: str
    step: int
    wall_time: str
    sample: int
    fingerprint: str


def fingerprint(ref: BlobRef) -> str:
    """A short digest of where a value lies: its event file's name, offset and length.

    The file's base name (writers put time, host and pid in it) rather than its
    path, so the key stays valid when the log directory is moved or mounted elsewhere.
    A name that is not valid text (lone surrogates) is hashed with ``surrogatepass``.
    """
    where = f"{posixpath.basename(ref.path.replace(chr(92), '/'))}:{ref.offset}:{ref.length}"
    digest = hashlib.sha256(where.encode("utf-8", "surrogatepass")).digest()[:8]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def key_for(run: str, tag: str, point: BlobPoint, sample: int) -> BlobKey:
    """The key of blob ``sample`` of one stored step."""
    return BlobKey(run, tag, point.step, point.wall_time.hex(), sample, fingerprint(point.ref))


def encode_blob_key(key: BlobKey) -> str:
    """The key as url-safe text (``[A-Za-z0-9_-]``, no padding)."""
    body = orjson.dumps([key.run, key.tag, key.step, key.wall_time, key.sample, key.fingerprint])
    return base64.urlsafe_b64encode(body).decode("ascii").rstrip("=")


def decode_blob_key(text: str) -> BlobKey:
    """The key ``text`` names; :class:`BadRequestError` for anything else."""
    if not text or len(text) > MAX_KEY_LENGTH or not _KEY_CHARACTERS.fullmatch(text):
        raise BadRequestError("invalid blob_key")
    try:
        body = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        fields = orjson.loads(body)
    except (binascii.Error, ValueError):
        raise BadRequestError("invalid blob_key") from None
    if not isinstance(fields, list) or len(fields) != 6:
        raise BadRequestError("invalid blob_key")
    run, tag, step, wall_time, sample, digest = fields
    valid = (
        isinstance(run, str)
        and isinstance(tag, str)
        and _is_int(step)
        and -(2**63) <= step < 2**63
        and isinstance(wall_time, str)
        and _is_float_hex(wall_time)
        and _is_int(sample)
        and 0 <= sample < 2**31
        and isinstance(digest, str)
        and len(digest) == _FINGERPRINT_LENGTH
        and _KEY_CHARACTERS.fullmatch(digest) is not None
    )
    if not valid:
        raise BadRequestError("invalid blob_key")
    return BlobKey(run, tag, step, wall_time, sample, digest)


def find_blob(provider: Provider, key: BlobKey, plugin: str) -> BlobPoint:
    """The stored step ``key`` names, in a series of ``plugin``; 404 naming what is missing.

    Only the store's own references are returned: the key selects among them.
    """
    info = provider.tag_info(key.run, key.tag)
    if info.plugin_name != plugin:
        raise NotFoundError(f"run {key.run!r} has no {plugin} tag {key.tag!r}")
    for point in provider.read_blob_sequence(key.run, key.tag):
        if (
            point.step == key.step
            and point.wall_time.hex() == key.wall_time
            and fingerprint(point.ref) == key.fingerprint
        ):
            if key.sample >= point.count:
                raise NotFoundError(
                    f"sample {key.sample} out of range (step {key.step} has {point.count})"
                )
            return point
    raise NotFoundError(
        f"run {key.run!r}, tag {key.tag!r} holds no such blob at step {key.step}"
        " (the run was rewritten, or the step was sampled out)"
    )


def list_blob_tags(provider: Provider, plugin: str) -> dict[str, dict[str, dict[str, object]]]:
    """``{run: {tag: {displayName, description, samples}}}``: ``samples`` is the most
    blobs any kept step of the series holds."""
    result: dict[str, dict[str, dict[str, object]]] = {}
    for run, tags in provider.list_tags(plugin=plugin).items():
        result[run] = {}
        for tag, info in tags.items():
            points = provider.read_blob_sequence(run, tag)
            result[run][tag] = {
                "displayName": info.display_name or tag,
                "description": description_html(info.description),
                "samples": max((point.count for point in points), default=0),
            }
    return result


def sample_parameter(request: Request) -> int:
    """The optional ``sample`` index (default 0): 400 unless a non-negative integer."""
    text = request.query_params.get("sample", "0")
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise BadRequestError(f"'sample' must be a non-negative integer, got {text!r}")
    return int(text)


def etag(key_text: str) -> str:
    """A strong ETag for the bytes at ``key_text`` (the key pins them)."""
    return '"' + hashlib.sha256(key_text.encode("ascii")).hexdigest()[:32] + '"'


def not_modified(request: Request, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag`` (or is ``*``)."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    candidates = {item.strip().removeprefix("W/") for item in header.split(",")}
    return tag in candidates or "*" in candidates


async def read_blob_bytes(provider: Provider, point: BlobPoint, sample: int) -> bytes:
    """The blob's bytes, read from its event file now (off the event loop: it may be large)."""
    return await run_in_threadpool(provider.read_blob, point.ref, sample)


def cached_headers(tag: str) -> dict[str, str]:
    return {"ETag": tag, "Cache-Control": CACHE_CONTROL}


def not_modified_response(tag: str) -> Response:
    return Response(status_code=304, headers=cached_headers(tag))


def blob_response(data: bytes, media_type: str, tag: str) -> Response:
    """The bytes of one blob with its caching headers."""
    return Response(data, media_type=media_type, headers=cached_headers(tag))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_float_hex(text: str) -> bool:
    if len(text) > 40:
        return False
    try:
        float.fromhex(text)
    except (ValueError, OverflowError):  # "0x1p99999" overflows
        return False
    return True


# ---- peeking into a value by reference ------------------------------------------------------
#
# A listing wants a little of each step: an image's width and height, a clip's WAV header and
# label. These lie near the start of the event (protobuf writes fields in number order: the
# legacy Image's height and width and a tensor's shape come before the bytes) or right after one
# string whose length its header gives, so they are read in 4 KiB windows, never whole events.

WINDOW = 4096


class EventPeek:
    """Pieces of one event payload, read from its file in windows on demand."""

    def __init__(self, ref: BlobRef) -> None:
        self.ref = ref
        self._windows: dict[int, bytes] = {}

    def read(self, start: int, size: int) -> bytes:
        """Bytes ``[start, start + size)`` of the payload (fewer at its end)."""
        end = min(start + size, self.ref.length)
        parts = []
        position = start
        while position < end:
            index = position // WINDOW
            window = self._windows.get(index)
            if window is None:
                low = index * WINDOW
                high = min(low + WINDOW, self.ref.length)
                try:
                    window = read_range(
                        self.ref.path, self.ref.offset + low, self.ref.offset + high
                    )
                except OSError:  # deleted or unreadable since it was read
                    window = b""
                if len(window) != high - low:
                    raise NotFoundError("the event file no longer holds this blob")
                self._windows[index] = window
            inner = position - index * WINDOW
            piece = window[inner : inner + end - position]
            parts.append(piece)
            position += len(piece)
        return b"".join(parts)

    def varint(self, position: int) -> tuple[int, int]:
        """The varint at ``position`` and the position after it."""
        data = self.read(position, 10)
        value = shift = 0
        for offset, byte in enumerate(data):
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value, position + offset + 1
            shift += 7
        raise ValueError("truncated varint")

    def fields(self, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
        """``(number, wire_type, a, b)`` of each field in ``[start, end)``: for a
        length-delimited field its bytes are ``[a, b)``; for a varint ``a`` is the value."""
        position = start
        while position < end:
            key, position = self.varint(position)
            number, wire_type = key >> 3, key & 7
            if wire_type == 0:
                value, position = self.varint(position)
                yield number, 0, value, position
            elif wire_type == 2:
                length, body = self.varint(position)
                position = body + length
                if position > end:
                    raise ValueError("a field runs past its message")
                yield number, 2, body, position
            elif wire_type in (1, 5):
                size = 8 if wire_type == 1 else 4
                yield number, wire_type, position, position + size
                position += size
            else:
                raise ValueError(f"unsupported wire type {wire_type}")

    def field(self, start: int, end: int, number: int, nth: int = 0) -> tuple[int, int] | None:
        """The bytes ``[a, b)`` of the ``nth`` occurrence of length-delimited field ``number``."""
        seen = 0
        for found, wire_type, a, b in self.fields(start, end):
            if found == number and wire_type == 2:
                if seen == nth:
                    return a, b
                seen += 1
        return None

    def value(self) -> tuple[int, int]:
        """The ``Summary.Value`` the reference names (``Event.summary`` = 5, ``value`` = 1)."""
        summary = self.field(0, self.ref.length, 5)
        if summary is None:
            raise ValueError("the event holds no summary")
        value = self.field(*summary, 1, self.ref.index)
        if value is None:
            raise ValueError("the summary holds no such value")
        return value
