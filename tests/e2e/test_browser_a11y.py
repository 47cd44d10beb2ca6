"""Accessibility: axe-core finds no serious or critical violation on any dashboard; the skip
link, the ``h1`` and the Columns popover (Escape, outside click) work from the keyboard.

axe-core is a frontend devDependency (``frontend/node_modules/axe-core/axe.min.js``), evaluated
in the page and run on the whole document once the dashboard has drawn. One log directory
holds every kind of data, so every dashboard has something to show.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from e2e_support import REPO, UI, Server, start_server, stop_server
from playwright.sync_api import expect

from lumiboard import SummaryWriter
from lumiboard.plugins.profile.demo import synthetic_trace, write_trace

AXE = REPO / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
KERAS_PROFILE = REPO / "tests" / "fixtures" / "xplane" / "keras"

# The dashboard (its ``?tab=``) and what shows it has drawn.
DASHBOARDS = {
    "scalars": "[data-testid=scalar-card] [data-testid=chart-canvas]",
    "health": "[data-testid=health-view]",
    "custom_scalars": "[data-testid=cs-card]",
    "images": "[data-testid=image-card]",
    "audio": "[data-testid=audio-card]",
    "graphs": "[data-testid=graph-layout-done]",
    "distributions": "[data-testid=distribution-card]",
    "histograms": "[data-testid=histogram-card]",
    "text": "[data-testid=text-card]",
    "pr_curves": "[data-testid=pr-card]",
    "profile": "[data-testid=profile-dashboard]",
    "hparams": "[data-testid=hp-table]",
    "mesh": "[data-testid=mesh-card]",
    "projector": "[data-testid=projector-stage]",
}

# Violations known and not fixed yet, by dashboard: (axe rule id, why). Empty: none allowed.
ALLOWED: dict[str, set[str]] = {}


def _write(root: Path) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for run in ("alpha", "beta"):
        with SummaryWriter(str(root / run)) as writer:
            writer.add_custom_scalars({"Losses": {"loss": ["Multiline", ["loss"]]}})
            for step in range(30):
                nan = run == "beta" and step >= 20  # a Health flag
                writer.add_scalar("loss", math.nan if nan else math.exp(-step / 10), step)
            writer.add_image("sample", rng.random((3, 16, 16)), 0)
            tone = np.sin(np.linspace(0, 200, 8_000)).astype(np.float32)
            writer.add_audio("tone", tone, 0, sample_rate=8_000)
            writer.add_histogram("weights", rng.normal(size=200), 0)
            writer.add_histogram("weights", rng.normal(size=200) + 1, 1)
            writer.add_text("note", f"run **{run}**", 0)
            writer.add_pr_curve("pr", rng.integers(0, 2, 100), rng.random(100), 0)
            writer.add_mesh("cloud", rng.normal(size=(1, 50, 3)).astype(np.float32), global_step=0)
            writer.add_hparams(
                {"lr": 0.1 if run == "alpha" else 0.01, "opt": run},
                {"hparam/loss": 0.5},
                run_name=f"hp_{run}",
            )
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    with SummaryWriter(str(root / "alpha")) as writer:
        writer.add_graph(net, torch.zeros(1, 4))
        labels = [str(i % 3) for i in range(30)]
        writer.add_embedding(rng.normal(size=(30, 5)), metadata=labels, tag="points")
    write_trace(root / "torch_profile", "worker0", 1_700_000_000_000, synthetic_trace(0))
    shutil.copytree(KERAS_PROFILE, root / "keras_profile")


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("a11y")
    _write(root / "logs")
    server = start_server(root / "logs", root / "server.log")
    yield server
    stop_server(server.process)


def _axe(ui: UI) -> list[dict[str, object]]:
    """axe-core's violations on the page, serious and critical only."""
    # Evaluated, not added as a <script> tag: the app's CSP (script-src 'self') blocks inline
    # scripts, and a CSP-exempt context would test a page the user never gets.
    ui.page.evaluate(AXE.read_text(encoding="utf-8"))
    violations: list[dict[str, object]] = ui.page.evaluate(
        """async () => {
          const result = await axe.run(document, { resultTypes: ['violations'] });
          return result.violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                           nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
                           summary: (v.nodes[0].failureSummary || '').slice(0, 240) }));
        }"""
    )
    return violations


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("tab", list(DASHBOARDS))
def test_axe_finds_no_serious_violation(ui: UI, board: Server, tab: str, theme: str) -> None:
    assert AXE.is_file(), "run `npm ci` in frontend/ (axe-core is a devDependency)"
    page = ui.page
    scheme: Literal["light", "dark"] = "dark" if theme == "dark" else "light"
    page.emulate_media(color_scheme=scheme)  # the theme follows the browser's by default
    ui.open(f"{board.base}?tab={tab}")
    expect(page.get_by_test_id("dashboard")).to_have_attribute("data-plugin", tab)
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    page.locator(DASHBOARDS[tab]).first.wait_for(state="attached")
    ui.settle()
    violations = [v for v in _axe(ui) if v["id"] not in ALLOWED.get(tab, set())]
    ui.screenshot(f"a11y-{tab}-{theme}")
    assert not violations, violations


def test_skip_link_h1_and_columns_popover(ui: UI, board: Server) -> None:
    page = ui.page
    ui.open(f"{board.base}?tab=scalars")
    page.locator(DASHBOARDS["scalars"]).first.wait_for(state="attached")
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text("lumiboard")
    # The first Tab stop is the skip link; following it focuses the dashboard.
    page.keyboard.press("Tab")
    skip = page.get_by_test_id("skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("dashboard")).to_be_focused()
    # The Columns popover closes on Escape (focus back on its button) and on a click outside.
    columns = page.get_by_test_id("runs-columns")
    button = page.get_by_test_id("runs-columns-button")
    button.click()
    expect(columns).to_have_attribute("open", "")
    page.get_by_test_id("runs-column-toggle").first.focus()
    page.keyboard.press("Escape")
    expect(columns).not_to_have_attribute("open", "")
    expect(button).to_be_focused()
    button.click()
    expect(columns).to_have_attribute("open", "")
    page.get_by_test_id("dashboard").click(position={"x": 5, "y": 5})
    expect(columns).not_to_have_attribute("open", "")


def test_chart_card_tooltip_by_keyboard(ui: UI, board: Server) -> None:
    page = ui.page
    ui.open(f"{board.base}?tab=scalars")
    chart = page.locator("[data-testid=scalar-card] [data-testid=chart]").first
    chart.locator("[data-testid=chart-canvas]").wait_for()
    ui.settle()
    tooltip = page.get_by_test_id("chart-tooltip")
    chart.focus()
    expect(chart).to_be_focused()
    page.keyboard.press("ArrowRight")  # the first point
    expect(tooltip).to_be_visible()
    first = tooltip.inner_text()
    page.keyboard.press("ArrowRight")  # the next one: other values
    expect(tooltip).not_to_have_text(first)
    page.keyboard.press("End")
    expect(tooltip).to_be_visible()
    page.keyboard.press("Escape")
    expect(tooltip).to_be_hidden()
