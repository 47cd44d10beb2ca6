"""Compressed answers: JSON, CSV and other text above :data:`MINIMUM_SIZE` bytes, in the
best encoding the client accepts (``Accept-Encoding``): zstd, brotli or gzip.

A chart card of 50 runs x 10,000 points is 19.7 MB of JSON: gzip sends 7.7 MB of it,
zstd 7.0 MB and brotli 6.8 MB. The levels are tuned for the time to the last byte, not the
ratio (the answer is made per request, never cached): measured on that card
(``benchmarks/wire.py``), each level picked sends it soonest over links from 10 Mbit/s up.

brotli (PyPI ``brotli``) and zstd (PyPI ``zstandard``, or the standard library's
``compression.zstd`` from Python 3.14) are optional (``pip install lumiboard[wire]``):
without them a client accepting them gets gzip. Browsers send ``br`` and ``zstd`` in
``Accept-Encoding`` only over HTTPS (behind a TLS proxy, say): over plain HTTP they get
gzip, as do scripts (``requests``, ``httpx``) without those packages.

Never compressed: answers under :data:`MINIMUM_SIZE`, bodies of other media types
(images, audio, blobs are compressed already), answers already carrying a
``Content-Encoding``, partial (206) and range answers, bodiless statuses, ``HEAD``
requests, and streamed answers (a body sent in pieces without a declared length, or over
:data:`MAXIMUM_GATHERED`; event streams), which go out as they come. Files of the web app
(their length declared) are gathered and compressed. ``Vary: Accept-Encoding`` is sent
on every answer that could have been compressed, so caches keep the encodings apart.
"""

from __future__ import annotations

import gzip
import importlib.util
from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lumiboard.server import workers

#: Bodies smaller than this go out as they are: compression would gain a few hundred bytes
#: at most, and cost a header's worth and some CPU.
MINIMUM_SIZE = 1024
#: Bodies at least this big are compressed on the worker pool, not on the event loop
#: (zlib, brotli and zstd release the GIL while they work).
OFF_LOOP_SIZE = 256 * 1024
#: A body sent in pieces with its length declared (a file: the web app's scripts, 2.6 MB
#: in all, 0.9 MB gzipped) is gathered and compressed up to this size; others stream as sent.
MAXIMUM_GATHERED = 16 << 20
#: zlib level 1 (its fast strategy): the card in 7.7 MB and ~0.13 s; level 5: 7.1 MB, ~0.5 s;
#: level 6 (zlib's default): 7.1 MB, ~0.7 s.
GZIP_LEVEL = 1
#: brotli quality 2: 6.75 MB in ~0.19 s; quality 4: 6.3 MB in ~0.48 s (slower to the last
#: byte on any link faster than ~10 Mbit/s); quality 11 (its default) takes seconds.
BROTLI_QUALITY = 2
#: zstd level 1: 7.0 MB in ~0.05 s, the fastest of the three; level 3 (its default):
#: 7.1 MB in ~0.1 s.
ZSTD_LEVEL = 1

#: Media types compressed (``text/*`` too, but for event streams).
COMPRESSIBLE = frozenset(
    (
        "application/json",
        "application/javascript",
        "application/xml",
        "application/x-ndjson",
        # The /series answer's typed arrays: the 50-run card, 2.9 MB, gzips to 1.4 MB.
        "application/vnd.lumiboard.series",
        "image/svg+xml",
    )
)

Compressor = Callable[[bytes], bytes]


def _gzip(body: bytes) -> bytes:
    # mtime=0: the same answer compresses to the same bytes (ETags, tests, caches).
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def _brotli(body: bytes) -> bytes:
    import brotli  # type: ignore[import-untyped,import-not-found,unused-ignore]

    compressed: bytes = brotli.compress(body, quality=BROTLI_QUALITY)
    return compressed


def _zstd(body: bytes) -> bytes:
    if _STD_ZSTD:  # Python 3.14's standard library
        from compression import zstd  # type: ignore[import-not-found,unused-ignore]

        compressed: bytes = zstd.compress(body, level=ZSTD_LEVEL)
        return compressed
    import zstandard  # type: ignore[import-not-found,unused-ignore]

    # A compressor per call: one must not be shared between threads. The content size in
    # the frame header lets a decoder size its output at once.
    encoder = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True)
    return bytes(encoder.compress(body))


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


_STD_ZSTD = _installed("compression.zstd")


def available_encodings() -> dict[str, Compressor]:
    """The encodings this installation can send, best first (ties in ``q`` go to the first).

    Looked up without importing: brotli and zstandard load on the first answer they encode
    (an idle server's memory stays as small as it can)."""
    found: dict[str, Compressor] = {}
    if _STD_ZSTD or _installed("zstandard"):
        found["zstd"] = _zstd
    if _installed("brotli"):
        found["br"] = _brotli
    found["gzip"] = _gzip
    return found


def choose_encoding(accept_encoding: str, offered: list[str]) -> str | None:
    """The coding of ``offered`` (best first) that ``accept_encoding`` ranks highest, or
    None for identity. ``q=0`` refuses a coding; ``*`` stands for any coding not named."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, parameters = item.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        weight = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        weights[name] = weight
    best: tuple[float, int] | None = None
    chosen = None
    for rank, coding in enumerate(offered):
        weight = weights.get(coding, weights.get("*", 0.0))
        if weight <= 0:
            continue
        if best is None or (weight, -rank) > best:
            best, chosen = (weight, -rank), coding
    return chosen


def compressible(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    if media.startswith("text/"):
        return media != "text/event-stream"
    return media in COMPRESSIBLE or media.endswith("+json")


class Compression:
    """ASGI middleware: each answer compressed as the module says."""

    def __init__(self, app: ASGIApp, minimum_size: int = MINIMUM_SIZE) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.encodings = available_encodings()
        self.offered = list(self.encodings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "HEAD":
            await self.app(scope, receive, send)
            return
        accepted = Headers(scope=scope).get("accept-encoding", "")
        await _Answer(self, choose_encoding(accepted, self.offered), send).run(
            self.app, scope, receive
        )


class _Answer:
    """One request's answer: its start held back until the body shows whether to compress."""

    def __init__(self, owner: Compression, coding: str | None, send: Send) -> None:
        self.owner, self.coding, self.send = owner, coding, send
        #: The start message while it is held (None once sent, or never held).
        self.start: Message | None = None
        #: The pieces of a file's body gathered so far (None: not gathering).
        self.pieces: list[bytes] | None = None

    async def run(self, app: ASGIApp, scope: Scope, receive: Receive) -> None:
        await app(scope, receive, self.receive_message)

    async def receive_message(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if self._candidate(message):
                self.start = message
            else:
                await self.send(message)
            return
        if self.start is None:  # passing through, or after the (one) compressed body
            await self.send(message)
            return
        if message["type"] != "http.response.body":
            # Anything else while the start is held (a server's pathsend of a file,
            # trailers): the answer goes out as the app made it.
            await self._pass(message)
            return
        body: bytes = message.get("body", b"")
        if message.get("more_body", False) or self.pieces is not None:
            if self.pieces is None and not self._gathered():
                await self._pass(message)  # streamed, of unknown or great length
                return
            assert self.pieces is not None
            self.pieces.append(body)
            if message.get("more_body", False):
                return
            body = b"".join(self.pieces)
        await self._finish(body)

    def _candidate(self, start: Message) -> bool:
        """Whether the answer may be compressed, judged from its status and headers."""
        status = start["status"]
        if status < 200 or status in (204, 206, 304):
            return False
        headers = Headers(raw=start.get("headers", []))
        if "content-encoding" in headers or "content-range" in headers:
            return False
        if not compressible(headers.get("content-type", "")):
            return False
        length = headers.get("content-length")
        return length is None or not length.isdigit() or int(length) >= self.owner.minimum_size

    def _gathered(self) -> bool:
        """Whether a body sent in pieces is gathered to be compressed: a file (its length
        declared, at most :data:`MAXIMUM_GATHERED`: the web app's scripts), never a stream."""
        assert self.start is not None
        length = Headers(raw=self.start.get("headers", [])).get("content-length", "")
        if self.coding is None or not length.isdigit() or int(length) > MAXIMUM_GATHERED:
            return False
        self.pieces = []
        return True

    async def _pass(self, message: Message) -> None:
        start, self.start = self.start, None
        assert start is not None
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        vary_on_encoding(headers)
        await self.send({**start, "headers": headers.raw})
        if self.pieces:  # gathered before something else than a body came: sent first
            gathered = b"".join(self.pieces)
            await self.send({"type": "http.response.body", "body": gathered, "more_body": True})
        self.pieces = None
        await self.send(message)

    async def _finish(self, body: bytes) -> None:
        """Send the held start and ``body``, compressed when it is worth it."""
        if self.coding is None or len(body) < self.owner.minimum_size:
            await self._pass({"type": "http.response.body", "body": body, "more_body": False})
            return
        start, self.start = self.start, None
        assert start is not None
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        vary_on_encoding(headers)
        compress = self.owner.encodings[self.coding]
        if len(body) >= OFF_LOOP_SIZE:
            encoded = await workers.run_bulk(compress, body)
        else:
            encoded = compress(body)
        headers["content-encoding"] = self.coding
        headers["content-length"] = str(len(encoded))
        etag = headers.get("etag")
        if etag is not None and not etag.startswith("W/"):
            # The compressed bytes differ from the identity ones a strong tag names.
            headers["etag"] = "W/" + etag
        await self.send({**start, "headers": headers.raw})
        await self.send({"type": "http.response.body", "body": encoded, "more_body": False})


def vary_on_encoding(headers: MutableHeaders) -> None:
    """Add ``Accept-Encoding`` to ``Vary`` unless it (or ``*``) is there."""
    present = [item.strip().lower() for item in headers.get("vary", "").split(",")]
    if "accept-encoding" not in present and "*" not in present:
        headers.add_vary_header("Accept-Encoding")
