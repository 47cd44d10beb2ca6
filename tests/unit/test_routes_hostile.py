"""Every plugin route, asked odd or hostile things, answers a 4xx JSON error or a 200 — never a 500.

The log directory is the demo (every kind of data); each route is called with the real run and
tag of its plugin, with broken values for every parameter any plugin reads, and with no
parameters at all. POST routes get bodies that are not JSON, JSON of the wrong shape, and
objects whose fields have the wrong types.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from lumiboard.demo import write_demo
from lumiboard.plugins import base
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app

#: Query parameters some plugin reads, and broken values for them.
BROKEN_VALUES: dict[str, list[str]] = {
    "run": ["", "no such run", "../../etc/passwd", "\x00", "é" * 5000],
    "tag": ["", "no such tag", "(", "<script>alert(1)</script>", "(a|aa)+$" * 50],
    "sample": ["-1", "1e309", "NaN", "x", "99999999999999999999"],
    "step": ["-1", "NaN", "1.5", "x", "9" * 40],
    "samples": ["0", "-5", "x", "1e9"],
    "min_step": ["x", "NaN", "-" + "9" * 40],
    "max_step": ["x", "inf"],
    "blob_key": ["", "x", "A" * 10_000, "W10", "eyJhIjoxfQ", "../../x"],
    "content_type": ["text/html", "", "VERTEX\x00"],
    "format": ["xml", "", "csv\n"],
    "markdown": ["maybe", ""],
    "request": ["{", "[]", '{"colParams": 5}', '{"startIndex": -1, "sliceSize": "x"}', "null"],
    "runs": ["", "no such run"],
    # graphs
    "conceptual": ["maybe", "1" * 50],
    "limit_attr_size": ["-1", "x", "1e400", "9" * 40],
    "large_attrs_key": ["", "\x00", "k" * 10_000],
    # projector
    "name": ["", "no such tensor", "../projector_config.pbtxt", "/etc/passwd"],
    "num_rows": ["-1", "x", "NaN", "9" * 40],
    # profile
    "worker": ["", "no such worker", "../../x"],
    "span": ["", "x", "-1", "9" * 40],
    "group_by": ["", "nothing", "operation\x00"],
    "start": ["x", "NaN", "inf", "-1e400"],
    "end": ["x", "-inf", "1" * 400],
    "limit": ["0", "-1", "x", "9" * 40],
    "id": ["-1", "x", "1.5", "9" * 40],
}

BROKEN_BODIES: list[bytes] = [
    b"",
    b"{",
    b"[]",
    b"null",
    b'"text"',
    b'{"tag": 5, "runs": "x"}',
    b'{"tag": "loss", "runs": [1, 2], "buckets": "many"}',
    b'{"tag": "(", "runs": ["x"], "buckets": -1, "min_step": "a"}',
    b'{"colParams": [{"metric": 5}], "sliceSize": -1}',
    b'{"regexes": ["("], "runs": [null]}',
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = write_demo(tmp_path_factory.mktemp("demo") / "logs", steps=20)
    reloader = Reloader(str(root))
    reloader.reload()
    with TestClient(create_app(reloader), raise_server_exceptions=False) as test_client:
        yield test_client


def _plugin_routes() -> list[tuple[str, str, str]]:
    """(plugin, method, path) of every plugin route."""
    return [
        (plugin.name, method, f"/data/plugin/{plugin.name}{route.path}")
        for plugin in base.served_plugins()
        for route in plugin.routes
        if isinstance(route, Route)
        for method in sorted((route.methods or {"GET"}) - {"HEAD"})
    ]


def _real_run_and_tag(client: TestClient, plugin: str) -> tuple[str, str]:
    """A run and tag the plugin has (its ``/tags`` as ``{run: {tag: ...}}`` or ``{run: [tag]}``)."""
    if plugin == "graphs":
        info = client.get("/data/plugin/graphs/info").json()
        assert "graphs_demo" in info
        return "graphs_demo", "keras"
    if plugin == "projector":
        runs = client.get("/data/plugin/projector/runs").json()
        assert "projector" in runs
        return "projector", ""
    if plugin == "profile":
        runs = client.get("/data/plugin/profile/runs").json()
        assert runs
        return "profile/ddp", ""
    data_plugin = {"distributions": "histograms", "custom_scalars": "scalars"}.get(plugin, plugin)
    if data_plugin == "hparams":
        data_plugin = "scalars"
    response = client.get(f"/data/plugin/{data_plugin}/tags")
    assert response.status_code == 200, plugin
    for run, tags in response.json().items():
        if tags:
            return run, next(iter(tags))
    raise AssertionError(f"the demo has no {data_plugin} data")


def _check(response: Any, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict), (what, body)
        assert isinstance(body.get("error"), str), (what, body)
        assert "Traceback" not in body["error"], what


def test_every_plugin_has_routes(client: TestClient) -> None:
    plugins = {plugin for plugin, _, _ in _plugin_routes()}
    assert plugins == set(base.SERVED_PLUGIN_NAMES)
    assert len(plugins) == 13


def test_get_routes_survive_broken_parameters(client: TestClient) -> None:
    calls = 0
    for plugin, method, path in _plugin_routes():
        if method != "GET":
            continue
        run, tag = _real_run_and_tag(client, plugin)
        _check(client.get(path), f"{path} without parameters")
        for name, values in BROKEN_VALUES.items():
            for value in values:
                params = {"run": run, "tag": tag, name: value}
                _check(client.get(path, params=params), f"{path} {name}={value[:40]!r}")
                calls += 1
    assert calls > 500


def test_post_routes_survive_broken_bodies(client: TestClient) -> None:
    posts = [(p, path) for p, method, path in _plugin_routes() if method == "POST"]
    assert posts
    for (_, path), body in itertools.product(posts, BROKEN_BODIES):
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
        _check(response, f"POST {path} {body[:40]!r}")


def test_demo_data_is_served_by_every_dashboard(client: TestClient) -> None:
    """The demo holds every kind: each served plugin is enabled in the listing."""
    listing = client.get("/data/plugins_listing").json()
    disabled = [name for name, info in listing.items() if not info["enabled"]]
    assert not disabled, disabled


def test_tags_of_an_empty_logdir(tmp_path: Path) -> None:
    """A logdir without any data: every plugin's tags route answers an empty object."""
    (tmp_path / "empty").mkdir()
    reloader = Reloader(str(tmp_path / "empty"))
    reloader.reload()
    with TestClient(create_app(reloader), raise_server_exceptions=False) as empty:
        for plugin in ("scalars", "histograms", "distributions", "images", "audio", "pr_curves"):
            response = empty.get(f"/data/plugin/{plugin}/tags")
            assert response.status_code == 200, plugin
            assert response.json() == {}, plugin
        assert empty.get("/data/plugin/text/tags").json() == {}
        assert empty.get("/data/plugin/mesh/tags").json() == {}
