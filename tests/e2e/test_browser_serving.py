"""How the app is served: an empty log directory, ``--path_prefix`` and ``--auth-token``."""

from __future__ import annotations

import itertools
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from e2e_support import RUNS, TAGS, UI, Server, chromatic, non_background
from playwright.sync_api import expect


def test_empty_logdir_shows_what_to_log(
    ui: UI, serve: Callable[..., Server], tmp_path: Path
) -> None:
    empty = tmp_path / "nothing_yet"
    empty.mkdir()
    server = serve(empty)
    ui.open(server.url)
    state = ui.page.get_by_test_id("empty-state")
    expect(state).to_be_visible()
    expect(state).to_contain_text("No scalar data yet")
    expect(state).to_contain_text('writer.add_scalar("loss/train", loss, step)')
    expect(state).to_contain_text("lumiboard --logdir runs")
    expect(state).to_contain_text(str(empty))  # where the server looks
    expect(ui.page.get_by_test_id("scalar-card")).to_have_count(0)
    expect(ui.page.get_by_test_id("run-row")).to_have_count(0)


def test_path_prefix_serves_the_app_under_it(
    ui: UI, serve: Callable[..., Server], logdir: Path
) -> None:
    server = serve(logdir, "--path_prefix", "/tb")
    assert urlsplit(server.url).path == "/tb/"
    ui.open(server.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    for tag in TAGS:
        image = ui.canvas(tag)
        assert non_background(image, ui.background(tag)) > 2_000
        assert chromatic(image) > 1_000
    # Every request the app made stayed under the prefix (its URLs are relative).
    paths = {urlsplit(url).path for url in ui.requests if url.startswith("http")}
    assert any(p.startswith("/tb/data/plugin/scalars/") for p in paths)
    assert all(p.startswith("/tb/") for p in paths), sorted(paths)


def test_auth_token_url_opens_the_app(ui: UI, serve: Callable[..., Server], logdir: Path) -> None:
    token = "s3cret-Token_42"
    server = serve(logdir, "--auth-token", token, token=token)
    assert urlsplit(server.url).query == f"token={token}"
    # Without the token nothing is served ...
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(server.base + "data/runs", timeout=5)
    assert refused.value.code == 401
    # ... with the printed URL, the app and its data load (the server sets a cookie).
    ui.open(server.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    expect(ui.page.get_by_test_id("run-row")).to_have_count(len(RUNS))
    for tag in TAGS:
        assert non_background(ui.canvas(tag), ui.background(tag)) > 2_000
    # The page's own requests carry the cookie, so a fetch from it is authorized too.
    runs = ui.page.evaluate("() => fetch('data/runs').then((r) => r.json())")
    assert runs == RUNS
    cookies = ui.page.context.cookies()
    assert [c["name"].startswith("lumiboard_token_") for c in cookies] == [True]
    # The token left the address bar (the server redirected to the URL without it).
    assert "token" not in urlsplit(ui.page.url).query


def _tab_boxes(ui: UI) -> list[dict[str, float]]:
    return ui.page.locator("nav.tabs > .tab, nav.tabs > details > summary").evaluate_all(
        "els => els.map((e) => { const r = e.getBoundingClientRect();"
        " return {left: r.left, right: r.right}; })"
    )


@pytest.mark.parametrize("width", [1400, 800])
def test_header_tabs_that_do_not_fit_go_to_the_menu(
    ui: UI, serve: Callable[..., Server], tmp_path: Path, width: int
) -> None:
    """With every dashboard active (the demo), the tabs never overlap each other or the
    buttons on the right: those that do not fit are under "More", and one picked there is
    shown in the row."""
    from lumiboard.demo import write_demo

    server = serve(write_demo(tmp_path / "demo", steps=20))
    page = ui.page
    page.set_viewport_size({"width": width, "height": 800})
    ui.open(server.url)
    page.get_by_test_id("tab-scalars").first.wait_for()
    boxes = _tab_boxes(ui)
    for a, b in itertools.pairwise(boxes):
        assert a["right"] <= b["left"] + 0.5, boxes
    reload_left = page.get_by_test_id("reload-button").bounding_box()
    assert reload_left is not None
    assert boxes[-1]["right"] <= reload_left["x"], (boxes, reload_left)
    menu = page.get_by_test_id("inactive-menu")
    expect(menu.locator("summary")).to_contain_text("More")
    in_menu = menu.locator(".menu__item").evaluate_all("els => els.map((e) => e.dataset.testid)")
    assert "tab-projector" in in_menu
    menu.locator("summary").click()
    menu.get_by_test_id("tab-projector").click()
    page.wait_for_url(lambda url: "tab=projector" in url)
    expect(page.locator("nav.tabs > [data-testid=tab-projector]")).to_have_class("tab tab--active")
    boxes = _tab_boxes(ui)
    for a, b in itertools.pairwise(boxes):
        assert a["right"] <= b["left"] + 0.5, boxes
    ui.screenshot(f"tabs-{width}")
