"""What the page says of the server: a log directory that does not exist (until it is created),
a missing native scanner, and the log directory in the page title."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_support import UI, Server
from playwright.sync_api import expect

from lumiboard import SummaryWriter


def test_a_missing_logdir_is_said_until_it_is_created(
    ui: UI, serve: Callable[..., Server], tmp_path: Path
) -> None:
    missing = tmp_path / "later" / "logs"
    server = serve(missing)
    assert f"warning: log directory {missing} does not exist" in server.output()
    ui.open(server.url)
    banner = ui.page.get_by_test_id("server-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(f"Log directory {missing} does not exist")
    expect(ui.page.get_by_test_id("server-notice-native")).to_have_count(0)  # the build has it
    expect(ui.page).to_have_title("logs — lumiboard")
    assert ui.page.evaluate("() => document.title") == "logs — lumiboard"
    ui.screenshot("missing-logdir")

    # Created (with a run) while the page is open: the next status poll clears the banner.
    with SummaryWriter(str(missing / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    expect(banner).to_have_count(0)
    expect(ui.page.get_by_test_id("run-row")).to_have_count(1)
    ui.screenshot("created")


def test_window_title_wins_over_the_logdir(
    ui: UI, serve: Callable[..., Server], tmp_path: Path
) -> None:
    logdir = tmp_path / "runs"
    logdir.mkdir()
    server = serve(logdir, "--window_title", "My experiment")
    ui.open(server.url)
    expect(ui.page).to_have_title("My experiment")
    expect(ui.page.get_by_test_id("server-banner")).to_have_count(0)


def test_a_server_without_the_native_scanner_says_so(
    ui: UI, serve: Callable[..., Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server's Python cannot import the C module, as an install built without a compiler.
    hide = tmp_path / "hide_native"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\nsys.modules['lumiboard.reader._native'] = None  # import fails\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(hide))
    logdir = tmp_path / "runs"
    logdir.mkdir()
    server = serve(logdir)
    assert re.search(r"warning: lumiboard's native scanner is not built", server.output())
    ui.open(server.url)
    notice = ui.page.get_by_test_id("server-notice-native")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("about 100× slower")
    expect(ui.page).to_have_title("runs — lumiboard")
    ui.screenshot("no-native-scanner")
