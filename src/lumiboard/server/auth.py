"""Token authentication, as Jupyter does it.

When a token is set, every request must carry it: as ``?token=`` (the URL the
server prints), as ``Authorization: Bearer <token>``, or as the cookie the
server sets after the first good ``?token=``, so the web app's own requests
need nothing more.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs, quote, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "lumiboard_token"


class TokenAuth:
    """ASGI middleware rejecting requests without the token (401, JSON)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        text = scope.get("query_string", b"").decode("utf-8", "surrogateescape")
        query = parse_qs(text).get("token", [""])[0]
        headers = {
            key.decode("latin-1").lower(): value.decode("utf-8", "surrogateescape")
            for key, value in scope["headers"]
        }
        bearer = headers.get("authorization", "")
        bearer = bearer[7:] if bearer.lower().startswith("bearer ") else ""
        cookie = _cookie(headers.get("cookie", ""), COOKIE)
        if self._good(query):
            await self.app(scope, receive, self._setting_cookie(send, scope))
            return
        if self._good(bearer) or self._good(cookie):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b'{"error":"a valid token is required: open the URL the server printed"}'
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _good(self, candidate: str) -> bool:
        # Bytes: compare_digest rejects str holding non-ASCII characters.
        return bool(candidate) and hmac.compare_digest(
            candidate.encode("utf-8", "surrogateescape"), self.token.encode("utf-8")
        )

    def _setting_cookie(self, send: Send, scope: Scope) -> Send:
        path = (scope.get("root_path") or "") + "/"
        value = f"{COOKIE}={quote(self.token, safe='')}; Path={path}; HttpOnly; SameSite=Strict"

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"set-cookie", value.encode())],
                }
            await send(message)

        return wrapped


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return unquote(value)
    return ""
