"""Who may use the server: the token (as Jupyter does it) and the Host check.

When a token is set, every request must carry it: as ``?token=`` (the URL the
server prints), as ``Authorization: Bearer <token>``, or as the cookie the
server sets after the first good ``?token=``, so the web app's own requests
need nothing more. A browser opening a page with ``?token=`` is redirected to
the same URL without it, so the token leaves the address bar, the history and
every link copied from there.

A server listening on loopback only answers requests for local names
(``localhost``, ``127.0.0.1``, ``[::1]``, ``*.localhost``): a web page whose
own name an attacker re-points at 127.0.0.1 (DNS rebinding) could otherwise
read it from the user's browser, as Jupyter guards against too.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
from collections.abc import Collection, Iterable
from urllib.parse import quote, unquote, unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "lumiboard_token"

#: Addresses meaning "every interface": no Host check there, remote users are expected.
EVERY_INTERFACE = ("", "0.0.0.0", "::")


def cookie_name(token: str) -> str:
    """The cookie's name, one per token.

    Cookies ignore ports: two servers on one machine with one name would
    overwrite each other's cookie, and the first would answer 401 from then on.
    The name holds a short hash of the token, which only the holder of the
    cookie (who has the token itself) ever sees.
    """
    return f"{COOKIE}_{hashlib.sha256(token.encode('utf-8')).hexdigest()[:12]}"


class TokenAuth:
    """ASGI middleware rejecting requests without the token (401, JSON)."""

    def __init__(self, app: ASGIApp, token: str, path_prefix: str = "") -> None:
        if not token:
            raise ValueError("the auth token is empty: give a token, or None for no auth")
        self.app = app
        self.token = token
        self.cookie = cookie_name(token)
        # The cookie goes only to this server's paths (RFC 6265: "/tb" matches "/tb"
        # and "/tb/...", not "/tbx").
        self.cookie_path = path_prefix.rstrip("/") or "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        text = scope.get("query_string", b"").decode("utf-8", "surrogateescape")
        queried = _query_tokens(text)
        headers = _headers(scope)
        bearer = headers.get("authorization", "")
        bearer = bearer[7:] if bearer.lower().startswith("bearer ") else ""
        cookies = _cookies(headers.get("cookie", ""), self.cookie)
        by_query = any(self._good(candidate) for candidate in queried)
        if not (by_query or self._good(bearer) or any(self._good(c) for c in cookies)):
            await _refuse(
                scope, send, 401, "a valid token is required: open the URL the server printed"
            )
            return
        if queried and _is_navigation(scope, headers):
            await self._redirect_without_token(scope, send, text, set_cookie=by_query)
        elif by_query:
            await self.app(scope, receive, self._setting_cookie(send))
        else:
            await self.app(scope, receive, send)

    def _good(self, candidate: str) -> bool:
        # Bytes: compare_digest rejects str holding non-ASCII characters.
        return bool(candidate) and hmac.compare_digest(
            candidate.encode("utf-8", "surrogateescape"), self.token.encode("utf-8")
        )

    def _set_cookie_header(self) -> tuple[bytes, bytes]:
        # Lax, not Strict: a link to the app opened from another site (a chat, a wiki)
        # must carry the cookie, now that links no longer carry the token. Cross-site
        # requests other than top-level GET navigations still go without it.
        value = (
            f"{self.cookie}={quote(self.token, safe='')}; Path={self.cookie_path}; "
            "HttpOnly; SameSite=Lax"
        )
        return b"set-cookie", value.encode("latin-1")

    def _setting_cookie(self, send: Send) -> Send:
        header = self._set_cookie_header()

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        return wrapped

    async def _redirect_without_token(
        self, scope: Scope, send: Send, query: str, set_cookie: bool
    ) -> None:
        """303 to the same URL less its ``token`` parameters (the others kept, as sent)."""
        kept = "&".join(part for part in query.split("&") if part and not _is_token_pair(part))
        raw_path: bytes = scope.get("raw_path") or quote(scope["path"]).encode()
        # Relative ("./name"), so it lands right behind a proxy that strips a prefix
        # the server never sees; "./" keeps a name holding ":" from reading as a scheme.
        location = b"./" + raw_path.rsplit(b"/", 1)[-1]
        if kept:
            location += b"?" + kept.encode("utf-8", "surrogateescape")
        headers = [
            (b"location", location),
            (b"cache-control", b"no-store"),
            (b"content-length", b"0"),
        ]
        if set_cookie:
            headers.append(self._set_cookie_header())
        await send({"type": "http.response.start", "status": 303, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


class HostCheck:
    """ASGI middleware refusing requests for a name the server does not answer to (403, JSON).

    Local names are always allowed; ``allowed`` adds exact names and, for an
    entry starting with ``.``, that domain and every name under it.
    """

    def __init__(self, app: ASGIApp, allowed: Collection[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(normalize_host(name) for name in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            header = _headers(scope).get("host")
            # No Host header: not a browser (every browser sends one), so not a rebinding.
            if header is not None and not self._allows(normalize_host(header)):
                name = header[:100]
                await _refuse(
                    scope,
                    send,
                    403,
                    f"host {name!r} is not allowed: this server listens on a local address "
                    "and answers only requests for local names (localhost, 127.0.0.1, [::1]), "
                    "a guard against DNS rebinding. To serve this name, start lumiboard with "
                    f"--allowed-hosts {normalize_host(name) or 'NAME'} (or --bind_all to listen "
                    "on every interface)",
                )
                return
        await self.app(scope, receive, send)

    def _allows(self, name: str) -> bool:
        if is_local_host(name) or name in self.allowed:
            return True
        return any(
            entry.startswith(".") and (name == entry[1:] or name.endswith(entry))
            for entry in self.allowed
        )


def allowed_hosts(bind_host: str, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """The names a server listening on ``bind_host`` answers to, beyond local names.

    None means every name: the server listens on every interface (remote users
    reach it under names it cannot know), or ``extra`` holds ``*``. A specific
    non-local address answers to itself and to this machine's host name.
    """
    names = {normalize_host(name) for name in extra if name.strip()}
    if "*" in names or bind_host in EVERY_INTERFACE:
        return None
    if not is_local_host(normalize_host(bind_host)):
        names |= {normalize_host(bind_host), normalize_host(socket.gethostname())}
    return frozenset(names)


def normalize_host(header: str) -> str:
    """A Host header's name: lower case, without port, brackets or a final dot."""
    name = header.strip().lower()
    if name.startswith("["):  # [v6]:port
        name = name[1 : name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:  # name:port (a bare IPv6 address has several colons)
        name = name.partition(":")[0]
    return name.rstrip(".")


def is_local_host(name: str) -> bool:
    """Whether ``name`` (normalized) can only mean this machine: a loopback name or address."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def _headers(scope: Scope) -> dict[str, str]:
    return {
        key.decode("latin-1").lower(): value.decode("utf-8", "surrogateescape")
        for key, value in scope["headers"]
    }


def _query_tokens(query: str) -> list[str]:
    """Every ``token`` value in the raw query (empty ones included: they are stripped too)."""
    return [
        unquote_plus(part.partition("=")[2])
        for part in query.split("&")
        if part and _is_token_pair(part)
    ]


def _is_token_pair(part: str) -> bool:
    return unquote_plus(part.partition("=")[0]) == "token"


def _is_navigation(scope: Scope, headers: dict[str, str]) -> bool:
    """Whether a browser is opening this URL as a page (its address bar would show the token).

    Scripts (``curl``, ``requests``: ``Accept: */*``) keep getting the answer
    itself, as documented; a redirect would cost them the body.
    """
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    mode = headers.get("sec-fetch-mode")
    if mode is not None:
        return mode == "navigate"
    return "text/html" in headers.get("accept", "")


async def _refuse(scope: Scope, send: Send, status: int, error: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _cookies(header: str, name: str) -> list[str]:
    # Every cookie of that name: a browser may hold one per path and sends them all.
    values = []
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            values.append(unquote(value))
    return values
