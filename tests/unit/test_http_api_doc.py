"""docs/HTTP_API.md and the server's routes stay in step.

Every route of the app (core routes, plugin mounts, the web app and its assets) must have a
``### METHOD /path`` heading in the document, and every such heading must be a route.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from lumiboard import SummaryWriter
from lumiboard.reader.reload import Reloader
from lumiboard.server import static
from lumiboard.server.app import create_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "HTTP_API.md"
HEADING = re.compile(r"^### (GET|POST|PUT|PATCH|DELETE) (/\S*)\s*$", re.MULTILINE)


@pytest.fixture
def reloader(tmp_path: Path) -> Reloader:
    with SummaryWriter(str(tmp_path / "logs" / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    loaded = Reloader(str(tmp_path / "logs"))
    loaded.reload()
    return loaded


@pytest.fixture
def built_frontend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the built web app, so the app mounts its assets whether or not it is built."""
    directory = tmp_path / "static"
    (directory / "assets").mkdir(parents=True)
    (directory / "index.html").write_text("<!doctype html><title>lumiboard</title>")
    (directory / "assets" / "app-1234.js").write_text("export {};")
    monkeypatch.setattr(static, "static_dir", lambda: directory)
    return directory


def _walk(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every endpoint; a mount without routes (static files) as ``{path}``."""
    for route in routes:
        if isinstance(route, Mount):
            if route.routes:
                yield from _walk(route.routes, prefix + route.path)
            else:
                yield "GET", f"{prefix}{route.path}/{{path}}"
        elif isinstance(route, Route):
            for method in sorted(route.methods or {"GET"}):
                if method != "HEAD":
                    yield method, prefix + route.path
        else:
            raise AssertionError(f"a route of an unexpected kind: {route!r}")


def _served(reloader: Reloader) -> set[tuple[str, str]]:
    return set(_walk(create_app(reloader).routes))


def _documented() -> list[tuple[str, str]]:
    return [(method, path) for method, path in HEADING.findall(DOC.read_text(encoding="utf-8"))]


def test_every_route_is_documented(reloader: Reloader, built_frontend: Path) -> None:
    served = _served(reloader)
    assert ("GET", "/data/runs") in served
    assert ("POST", "/data/plugin/scalars/scalars_multirun") in served
    assert ("GET", "/assets/{path}") in served
    missing = served - set(_documented())
    assert not missing, f"routes missing from {DOC.name}: {sorted(missing)}"


def test_every_documented_route_exists(reloader: Reloader, built_frontend: Path) -> None:
    documented = _documented()
    assert len(documented) == len(set(documented)), "a route is documented twice"
    unknown = set(documented) - _served(reloader)
    assert not unknown, f"{DOC.name} documents routes the server does not have: {sorted(unknown)}"


def test_documented_routes_answer(reloader: Reloader, built_frontend: Path) -> None:
    """Each documented route answers its method without a server error.

    The log directory holds one scalar series, so the core and scalars routes must answer 200;
    every other plugin's routes, asked about a run and tag they do not have (or without the
    parameters they need), must answer a 4xx with a JSON error, never a 500. (Each plugin's own
    tests check its answers on its data.)
    """
    with TestClient(create_app(reloader), raise_server_exceptions=False) as client:
        for method, path in _documented():
            url = path.replace("{path}", "app-1234.js")
            if method == "GET":
                response = client.get(url, params={"run": "run", "tag": "loss"})
            else:
                response = (
                    client.post(url, data={"tag": "loss", "runs": ["run"]})
                    if path.endswith("multirun")
                    else client.post(url, json={"tag": "loss"})
                )
            if not path.startswith("/data/plugin/") or path.startswith("/data/plugin/scalars/"):
                assert response.status_code == 200, (method, path, response.text)
            else:
                assert response.status_code < 500, (method, path, response.text)
                if response.status_code >= 400:
                    assert "error" in response.json(), (method, path, response.text)


def test_without_the_frontend_assets_are_not_mounted(
    reloader: Reloader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(static, "static_dir", lambda: None)
    assert not any(path.startswith("/assets") for _, path in _served(reloader))
    with TestClient(create_app(reloader)) as client:
        response = client.get("/")
    assert response.status_code == 503  # as documented under GET /
    assert "not built" in response.text


def _documented_keys(heading: str) -> set[str]:
    """Backticked names in the section under ``heading``."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"`([a-z_]+)`", section))


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/data/status", "### GET /data/status"),
        ("/data/environment", "### GET /data/environment"),
    ],
)
def test_documented_fields_match_the_response(reloader: Reloader, path: str, heading: str) -> None:
    with TestClient(create_app(reloader)) as client:
        keys = set(client.get(path).json())
    assert keys <= _documented_keys(heading)


def test_auth_and_prefix_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for needed in (
        "## Authentication",
        "## Path prefix",
        "## Errors",
        "Authorization: Bearer",
        "?token=",
        "LUMIBOARD_AUTH_TOKEN",
        "--path_prefix",
    ):
        assert needed in text, needed
