"""The built web app (``lumiboard/static``), served from the package, offline."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

# Hashed asset names never change content: cache them for a year.
_IMMUTABLE = "public, max-age=31536000, immutable"
_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'self'"
)


def static_dir() -> Path | None:
    """The directory of the built frontend, or None when it was not built.

    ``LUMIBOARD_STATIC_DIR`` points elsewhere (a development build of ``frontend/``).
    """
    override = os.environ.get("LUMIBOARD_STATIC_DIR")
    path = Path(override) if override else Path(str(resources.files("lumiboard") / "static"))
    return path if (path / "index.html").is_file() else None


class AssetFiles(StaticFiles):
    """Static files with long-lived caching for the hashed assets."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["Cache-Control"] = _IMMUTABLE
        return response


def index_page() -> HTMLResponse | None:
    """index.html, never cached (its asset names change with each build); None when not built."""
    directory = static_dir()
    if directory is None:
        return None
    html = (directory / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(
        html, headers={"Cache-Control": "no-cache", "Content-Security-Policy": _csp()}
    )


def _csp() -> str:
    """The page's CSP. ``LUMIBOARD_FRAME_ANCESTORS`` (CSP sources) names the pages allowed
    to frame the app, only its own by default: the notebook magic sets it, since a notebook's
    output (Jupyter's port, VS Code's webview, Colab's frame) is another origin."""
    ancestors = os.environ.get("LUMIBOARD_FRAME_ANCESTORS", "").strip()
    if not ancestors or any(mark in ancestors for mark in ";,\r\n"):
        return _CSP  # one directive's sources, nothing more
    return _CSP.replace("frame-ancestors 'self'", f"frame-ancestors {ancestors}")


async def not_built(request: Request) -> Response:
    return HTMLResponse(
        "<!doctype html><title>lumiboard</title><p>lumiboard's web app is not built, so this "
        "page cannot show it (the HTTP API under <code>data/</code> works). "
        "Install a lumiboard wheel (<code>pip install lumiboard</code>), or install Node.js "
        "(20.19 or newer) and reinstall lumiboard from source.</p>",
        status_code=503,
    )
