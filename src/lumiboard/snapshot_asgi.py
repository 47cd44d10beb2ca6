"""Requests to lumiboard's ASGI app inside this process, without a socket or an HTTP client.

A snapshot stores the answers of the app's own routes, so the web app opened from the file
gets exactly what a server would have sent. The app is called the way a server calls it (one
ASGI ``http`` scope per request); nothing listens and nothing leaves the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.types import ASGIApp, Message

#: What ``encodeURIComponent`` leaves as it is, besides letters, digits and ``-_.~``
#: (which ``quote`` never escapes).
_COMPONENT_SAFE = "!*'()"


def request_key(path: str, pairs: Sequence[tuple[str, str]] = ()) -> str:
    """The key an answer is stored under: ``path?k=v&...`` with the parameters sorted by
    name (values of one name keep their order), each part as ``encodeURIComponent`` writes it.

    The web app computes the same key from the URL it builds (``snapshot/keys.ts``), so the
    order and encoding of its query parameters do not matter.
    """
    ordered = sorted(pairs, key=lambda pair: pair[0])
    query = "&".join(
        f"{quote(name, safe=_COMPONENT_SAFE)}={quote(value, safe=_COMPONENT_SAFE)}"
        for name, value in ordered
    )
    path = path.lstrip("/")
    return f"{path}?{query}" if query else path


@dataclass(frozen=True)
class Answer:
    """One response: its status, media type and body."""

    status: int
    media_type: str
    body: bytes


class AppCaller:
    """Calls ``app`` as a server would, one GET (or POST) at a time."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def get(self, path: str, pairs: Sequence[tuple[str, str]] = ()) -> Answer:
        return await self.request("GET", path, pairs)

    async def request(
        self,
        method: str,
        path: str,
        pairs: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> Answer:
        query = urlencode(list(pairs)).encode("ascii")
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode("utf-8"),
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", b"localhost"), (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 0),
            "server": ("localhost", 80),
        }
        sent = False
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                # The client stays connected: a response that listens for a disconnect
                # waits here until it is done and cancels the wait.
                await asyncio.Event().wait()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))

        await self._app(scope, receive, send)
        media_type = next(
            (value.decode("latin-1") for name, value in headers if name.lower() == b"content-type"),
            "application/octet-stream",
        )
        return Answer(status, media_type.split(";", 1)[0].strip(), b"".join(chunks))
