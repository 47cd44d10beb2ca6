"""Density at 1440 px: the first load shows at least two cards per row on every card dashboard.

The Scalars Settings pane is closed on first load (its width goes to the cards) and remembered
open once the user opens it; Text, PR curves, Custom scalars and Mesh cards fill the row with the
same responsive grid as the scalar cards. Cards per row: cards whose top offsets are equal.
A card alone in its group spans the row on those four. Screenshots in light and dark are saved
under artifacts/e2e/.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from e2e_support import UI, Server
from playwright.sync_api import expect

from lumiboard import SummaryWriter

WIDTH, HEIGHT = 1440, 900
TAGS = 4  # of each kind: enough for two rows of two


def _write(root: Path) -> None:
    rng = np.random.default_rng(0)
    for run in ("alpha", "beta"):
        with SummaryWriter(str(root / run)) as writer:
            writer.add_custom_scalars(
                {
                    "Losses": {f"chart {k}": ["Multiline", [f"loss/{k}"]] for k in range(TAGS)},
                    "Solo": {"lone chart": ["Multiline", ["loss/0"]]},
                }
            )
            for step in range(20):
                for k in range(TAGS):
                    writer.add_scalar(f"loss/{k}", math.exp(-step / (10 + k)), step)
            for k in range(TAGS):
                writer.add_text(f"note/{k}", f"run {run}, note {k}", 0)
                labels = rng.integers(0, 2, 200)
                writer.add_pr_curve(f"pr/{k}", labels, rng.random(200), 0)
                points = rng.normal(size=(1, 100, 3)).astype(np.float32)
                writer.add_mesh(f"mesh/{k}", points, global_step=0)
    # One card alone in its group, on each dashboard but Scalars.
    with SummaryWriter(str(root / "alpha")) as writer:
        writer.add_text("solo/text", "alone in its group", 0)
        writer.add_pr_curve("solo/pr", rng.integers(0, 2, 200), rng.random(200), 0)
        writer.add_mesh("solo/mesh", rng.normal(size=(1, 50, 3)).astype(np.float32), global_step=0)


@pytest.fixture
def board(tmp_path: Path, serve: Callable[..., Server]) -> Server:
    _write(tmp_path / "logs")
    return serve(tmp_path / "logs")


def _per_row(ui: UI, selector: str) -> list[int]:
    """How many visible cards share each top offset, top row first."""
    tops = ui.page.locator(selector).evaluate_all(
        "els => els.filter((e) => e.offsetParent !== null)"
        ".map((e) => Math.round(e.getBoundingClientRect().top))"
    )
    rows = Counter(tops)
    return [rows[top] for top in sorted(rows)]


def _check(ui: UI, board: Server, tab: str, selector: str, shot: str) -> None:
    page = ui.page
    if tab:
        ui.open(board.base + f"?tab={tab}")
    expect(page.locator(selector).first).to_be_visible()
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length >= n", arg=[selector, 2]
    )
    ui.settle()
    rows = _per_row(ui, selector)
    assert rows, tab
    assert rows[0] >= 2, (tab or "scalars", rows)
    if tab:
        # A lone card uses the row: as wide as its group's grid, not one column of it.
        lone = page.locator(selector).filter(has_text="solo" if tab != "custom_scalars" else "lone")
        widths = lone.first.evaluate(
            "(el) => [el.getBoundingClientRect().width,"
            " el.parentElement.getBoundingClientRect().width]"
        )
        assert widths[0] > 0.95 * widths[1], (tab, widths)
        lone.first.scroll_into_view_if_needed()
        ui.screenshot(f"{shot}-lone")
        page.locator(selector).first.scroll_into_view_if_needed()
    ui.screenshot(f"{shot}-light")
    page.emulate_media(color_scheme="dark")
    ui.settle()
    ui.screenshot(f"{shot}-dark")
    page.emulate_media(color_scheme="light")


def test_two_cards_per_row_at_1440_on_every_card_dashboard(ui: UI, board: Server) -> None:
    page = ui.page
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    ui.open(board.url)
    ui.wait_charts(cards=TAGS, runs=2)
    # First load: the Settings pane is closed and the scalar cards share the rows.
    expect(page.get_by_test_id("settings-pane")).to_have_count(0)
    expect(page.get_by_test_id("settings-toggle")).to_have_attribute("aria-pressed", "false")
    _check(ui, board, "", "[data-testid=scalar-card]", "scalars")
    for tab in ("text", "pr_curves", "custom_scalars", "mesh"):
        card = {"text": "text-card", "pr_curves": "pr-card", "custom_scalars": "cs-card"}
        _check(ui, board, tab, f"[data-testid={card.get(tab, 'mesh-card')}]", tab)


def test_settings_pane_remembered_once_opened(ui: UI, board: Server) -> None:
    page = ui.page
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    ui.open(board.url)
    ui.wait_charts(cards=TAGS, runs=2)
    expect(page.get_by_test_id("settings-pane")).to_have_count(0)
    ui.open_settings()
    # Even with the pane open, two scalar cards fit beside each other at 1440 px.
    assert _per_row(ui, "[data-testid=scalar-card]")[0] >= 2
    ui.screenshot("settings-open")
    page.reload()
    ui.wait_charts(cards=TAGS, runs=2)
    expect(page.get_by_test_id("settings-pane")).to_be_visible()
