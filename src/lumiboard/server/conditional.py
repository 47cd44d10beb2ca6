"""Conditional answers: a JSON or text answer names its bytes with an ``ETag``, and a client
that sends the same tag back (``If-None-Match``) gets ``304 Not Modified`` with no body.

The app asks every dashboard's routes again on each auto-reload (every few seconds). Most
answers have not changed since the last ask: a graph, a finished profile's trace, a text
card. With the tag the app keeps what it has (no download, no parse, no new drawing: a
100,000-event trace is not laid out again, a hovered chart keeps its tooltip) and the
server skips the compression of the answer.

The tag is a hash of the answer's identity bytes, made after the route answered: routes need
no change, and two answers with the same bytes get the same tag whatever made them. It is a
weak tag (``W/"..."``): the bytes on the wire depend on the encoding the client accepts.

Tagged: ``GET`` (and ``HEAD``) answers with status 200, a JSON or text media type, and the whole
body in one piece (as routes send them; streams are left alone), not tagged already (blobs carry
their own strong tags) and not encoded already. Every tagged answer also says ``Cache-Control:
private, no-cache`` (a browser keeps it but asks before using it again; a shared proxy keeps
nothing, as answers may sit behind a token) unless the route said otherwise. A 304 keeps the
headers RFC 9110 lists for it, with the ``Vary: Accept-Encoding`` its 200 would have had (the
compression outside adds it to the 200 only), and any ``Set-Cookie`` (the token's cookie).
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lumiboard.server import workers
from lumiboard.server.compression import compressible, vary_on_encoding

#: Bodies at least this big are hashed on the worker pool (hashlib releases the GIL).
OFF_LOOP_SIZE = 1 << 20

_TAGGED_MEDIA = frozenset(("application/json", "application/x-ndjson", "text/csv", "text/plain"))
#: Headers a 304 keeps (RFC 9110, 15.4.5): the rest describe a body that is not sent.
_KEPT_ON_304 = frozenset(
    ("cache-control", "content-location", "date", "etag", "expires", "set-cookie", "vary")
)
#: What a tagged answer says about caching unless its route said something.
CACHE_CONTROL = "private, no-cache"


def tagged_media(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media in _TAGGED_MEDIA or media.endswith("+json")


def etag_of(body: bytes) -> str:
    """The weak tag of an answer's identity bytes."""
    return f'W/"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def matches(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (the weak comparison: ``W/`` aside)."""
    opaque = etag.removeprefix("W/")
    for raw in if_none_match.split(","):
        item = raw.strip()
        if item == "*" or item.removeprefix("W/") == opaque:
            return True
    return False


class Conditional:
    """ASGI middleware: tags answers and answers 304 to a matching ``If-None-Match``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        asked = Headers(scope=scope).get("if-none-match")
        await _Answer(asked, send).run(self.app, scope, receive)


class _Answer:
    """One request's answer: its start held back until the body (one piece) is tagged."""

    def __init__(self, asked: str | None, send: Send) -> None:
        self.asked, self.send = asked, send
        #: The start message while it is held (None once sent, or never held).
        self.start: Message | None = None

    async def run(self, app: ASGIApp, scope: Scope, receive: Receive) -> None:
        await app(scope, receive, self.receive_message)

    async def receive_message(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if _candidate(message):
                self.start = message
            else:
                await self.send(message)
            return
        start, self.start = self.start, None
        if start is None:
            await self.send(message)
            return
        if message["type"] != "http.response.body" or message.get("more_body", False):
            # A stream, or something other than a body: it goes out as the route made it.
            await self.send(start)
            await self.send(message)
            return
        body: bytes = message.get("body", b"")
        if len(body) >= OFF_LOOP_SIZE:
            etag = await workers.run_bulk(etag_of, body)
        else:
            etag = etag_of(body)
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        headers["etag"] = etag
        if "cache-control" not in headers:
            headers["cache-control"] = CACHE_CONTROL
        if self.asked is not None and matches(self.asked, etag):
            if compressible(headers.get("content-type", "")):
                vary_on_encoding(headers)
            kept = [(k, v) for k, v in headers.raw if k.decode("latin-1").lower() in _KEPT_ON_304]
            await self.send({**start, "status": 304, "headers": kept})
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await self.send({**start, "headers": headers.raw})
        await self.send(message)


def _candidate(start: Message) -> bool:
    if start["status"] != 200:
        return False
    headers = Headers(raw=start.get("headers", []))
    if "etag" in headers or "content-encoding" in headers or "content-range" in headers:
        return False
    return tagged_media(headers.get("content-type", ""))
