"""Browser tests: Debian's chromium driven by Playwright against a real ``lumiboard`` server.

Fixtures:

- ``browser``: one headless chromium for the session (``/usr/bin/chromium``; a downloaded
  browser is never used).
- ``serve(logdir, *flags)``: starts ``python -m lumiboard --logdir D --port 0
  --reload_interval 1 --no-cache`` as a subprocess in its own process group, reads the URL it
  prints, waits for ``data/runs`` to answer, and kills the whole group at teardown.
- ``logdir`` / ``board``: the session's log directory (several runs, known values) and a server
  on it.
- ``ui``: a fresh browser context and page with helpers; every console error and page error is
  collected and asserted absent at teardown, and a screenshot of the page is saved to
  ``artifacts/e2e/<test>.png`` (``-FAILED`` on failure) whatever the outcome.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    UI,
    VIEWPORT,
    Server,
    start_server,
    stop_server,
    write_session_logdir,
)
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

# expect() waits as long as the rest (its own default is 5 s): a loaded 2-core CI is slow.
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``serve(logdir, *flags, token=None)``: a server for this test, stopped at its end."""
    started: list[Server] = []

    def start(logdir: Path, *flags: str, token: str | None = None) -> Server:
        log = tmp_path / f"server-{len(started)}.log"
        server = start_server(logdir, log, *flags, token=token)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_server(server.process)
    for server in started:
        assert server.process.returncode is not None
        # Nothing left of its process group.
        with pytest.raises(ProcessLookupError):
            os.killpg(server.process.pid, 0)


@pytest.fixture(scope="session")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("logs")
    write_session_logdir(root)
    return root


@pytest.fixture(scope="session")
def board(logdir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server on the session's log directory (read only: no test writes there)."""
    server = start_server(logdir, tmp_path_factory.mktemp("server") / "server.log")
    yield server
    stop_server(server.process)


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session", autouse=True)
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def ui(
    browser: Browser, serve: Callable[..., Server], request: pytest.FixtureRequest
) -> Iterator[UI]:
    # Depends on `serve` so that the page closes before this test's servers stop (a page left
    # open would log their refused connections as console errors).
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, color_scheme="light")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    helper = UI(page, name)

    def on_console(message: Any) -> None:
        if message.type == "error":
            helper.errors.append(f"console: {message.text} ({message.location})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: helper.errors.append(f"page error: {error}"))
    page.on("request", lambda r: helper.requests.append(r.url))
    try:
        yield helper
    finally:
        failed = any(
            getattr(getattr(request.node, f"report_{when}", None), "failed", False)
            for when in ("setup", "call")
        )
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}{'-FAILED' if failed else ''}.png"))
        finally:
            context.close()
    assert helper.errors == [], "\n".join(helper.errors)
