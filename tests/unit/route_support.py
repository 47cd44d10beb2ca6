"""Helpers shared by the route tests: lumiboard's app and TensorBoard's app over one log directory.

Imported by the test modules (``from route_support import ...``); pytest puts this directory on
``sys.path`` because ``tests/unit`` is not a package.

* :func:`lumiboard_client` serves a log directory with lumiboard's app (Starlette ``TestClient``).
* :func:`tensorboard_client` serves it with TensorBoard's own WSGI app (``werkzeug.test.Client``,
  the Python loader, loaded once and synchronously), so the same requests can be compared.
* :func:`route_fixtures` makes a route-test module's ``logdir``, ``client`` and ``tensorboard``
  fixtures over the log directory its writer function writes.
* :func:`get_ok` and :func:`get_json` request a route of either client and insist on a 200.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient
from tensorboard import default, program  # type: ignore[import-untyped]
from tensorboard.backend import application  # type: ignore[import-untyped]
from tensorboard.backend.event_processing import data_ingester  # type: ignore[import-untyped]
from werkzeug.test import Client

from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app
from lumiboard.server.context import ServerOptions


@contextmanager
def lumiboard_client(
    logdir: str | Path, samples: dict[str, int | None] | None = None, **options: Any
) -> Iterator[TestClient]:
    """lumiboard's app over ``logdir``, loaded once; ``options`` are :class:`ServerOptions` fields.

    ``data_location`` defaults to ``logdir``; ``samples`` goes to the :class:`Reloader`.
    """
    reloader = Reloader(str(logdir), samples=samples)
    reloader.reload()
    server_options = ServerOptions(**{"data_location": str(logdir), **options})
    with TestClient(create_app(reloader, server_options)) as client:
        yield client


def tensorboard_client(logdir: str | Path) -> Client:
    """TensorBoard's own WSGI app over ``logdir``, loaded once, synchronously (Python loader)."""
    board = program.TensorBoard(plugins=default.get_plugins())
    board.configure(
        argv=[
            "tensorboard",
            "--logdir",
            str(logdir),
            "--load_fast=false",
            "--reload_task=blocking",
            "--reload_interval=0",
        ]
    )
    ingester = data_ingester.LocalDataIngester(board.flags)
    ingester.start()  # blocking: returns once everything is loaded
    app = application.TensorBoardWSGIApp(
        board.flags,
        board.plugin_loaders,
        ingester.data_provider,
        board.assets_zip_provider,
        ingester.deprecated_multiplexer,
    )
    return Client(app)


def route_fixtures(write: Callable[[Path], None]) -> tuple[Any, Any, Any]:
    """A route-test module's module-scoped fixtures: ``logdir`` (written once by ``write``),
    ``client`` (lumiboard's app over it) and ``tensorboard`` (TensorBoard's app over it)::

        logdir, client, tensorboard = route_fixtures(_write_logdir)
    """

    @pytest.fixture(scope="module")
    def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
        root = tmp_path_factory.mktemp("logs")
        write(root)
        return root

    @pytest.fixture(scope="module")
    def client(logdir: Path) -> Iterator[TestClient]:
        with lumiboard_client(logdir) as test_client:
            yield test_client

    @pytest.fixture(scope="module")
    def tensorboard(logdir: Path) -> Client:
        return tensorboard_client(logdir)

    return logdir, client, tensorboard


def get_ok(client: TestClient | Client, url: str, **params: Any) -> Any:
    """The response to ``GET url?params`` (lumiboard's or TensorBoard's client), asserted 200."""
    if params:
        url = f"{url}?{urlencode(params, doseq=True)}"
    response = client.get(url)
    assert response.status_code == 200, (url, response.text)
    return response


def get_json(client: TestClient | Client, url: str, **params: Any) -> Any:
    """The JSON body of ``GET url?params`` (lumiboard's or TensorBoard's client), asserted 200."""
    return json.loads(get_ok(client, url, **params).text)


def strict_json(text: str) -> Any:
    """Python's json, refusing the bare NaN / Infinity tokens that browsers cannot parse."""

    def refuse(token: str) -> None:
        raise AssertionError(f"bare {token} in JSON")

    return json.loads(text, parse_constant=refuse)
