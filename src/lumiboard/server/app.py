"""The ASGI application: core routes, plugin routes, the web app, auth, prefix."""

from __future__ import annotations

from collections.abc import Collection

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from lumiboard.plugins import base
from lumiboard.reader.reload import Reloader
from lumiboard.server import core, errors, health_routes, static
from lumiboard.server.auth import HostCheck, TokenAuth
from lumiboard.server.compression import Compression
from lumiboard.server.conditional import Conditional
from lumiboard.server.context import Context, ServerOptions
from lumiboard.store.provider import Provider


class SecurityHeaders:
    """``X-Content-Type-Options: nosniff`` on every response, as TensorBoard sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-content-type-options", b"nosniff"),
                ]
            await send(message)

        await self.app(scope, receive, wrapped)  # type: ignore[arg-type]


async def index(request: Request) -> Response:
    page = static.index_page()
    return page if page is not None else await static.not_built(request)


def _routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [Route("/", index), *core.ROUTES, *health_routes.ROUTES]
    routes.extend(
        Mount(f"/data/plugin/{plugin.name}", routes=plugin.routes)  # type: ignore[arg-type]
        for plugin in base.served_plugins()
    )
    directory = static.static_dir()
    if directory is not None and (directory / "assets").is_dir():
        routes.append(Mount("/assets", app=static.AssetFiles(directory=directory / "assets")))
    return routes


def create_app(
    reloader: Reloader,
    options: ServerOptions | None = None,
    auth_token: str | None = None,
    path_prefix: str = "",
    allowed_hosts: Collection[str] | None = None,
) -> Starlette:
    """The app serving ``reloader``'s data.

    ``path_prefix`` (e.g. ``/tb``) mounts everything under it, for reverse
    proxies; the web app builds only relative URLs, so it works at any prefix.
    ``auth_token`` (None: no auth; never empty) is required on every request.
    ``allowed_hosts`` (None: any) are the ``Host`` names answered beyond local
    ones: a server on loopback gets ``()`` (see ``auth.allowed_hosts``).
    """
    if auth_token is not None and not auth_token:
        # An empty token must not mean "no auth": a script's unset variable would open the server.
        raise ValueError("auth_token is empty: give a token, or None for no auth")
    inner = Starlette(routes=_routes(), exception_handlers=errors.HANDLERS)
    if options is None:
        location = ",".join(
            source.location if source.name is None else f"{source.name}:{source.location}"
            for source in reloader.sources
        )
        options = ServerOptions(data_location=location)
    inner.state.context = Context(reloader, Provider(reloader.runs), options)
    prefix = path_prefix.rstrip("/")
    # Compression outermost: every answer, the auth and host checks' errors too. Conditional
    # inside it: the tag names the identity bytes, and a 304 skips the compression.
    middleware = [Middleware(Compression), Middleware(Conditional), Middleware(SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.append(Middleware(HostCheck, allowed=allowed_hosts))
    if auth_token is not None:
        middleware.append(Middleware(TokenAuth, token=auth_token, path_prefix=prefix))
    if not prefix:
        outer = Starlette(routes=[Mount("/", app=inner)], middleware=middleware)
    else:

        async def to_prefix(request: Request) -> Response:
            query = request.url.query
            return RedirectResponse(prefix + "/" + (f"?{query}" if query else ""))

        outer = Starlette(
            routes=[Route(prefix, to_prefix), Mount(prefix, app=inner), Route("/", to_prefix)],
            middleware=middleware,
            # Paths outside the prefix get the same JSON 404 as those inside
            # (500s are the inner app's: handled, and logged, once).
            exception_handlers={HTTPException: errors.http_error},
        )
    outer.state.context = inner.state.context
    return outer
