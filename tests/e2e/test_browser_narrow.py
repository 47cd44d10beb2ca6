"""Narrow screens: every dashboard at 800 px and on a phone (390 px, touch).

Checked on what is laid out: no toolbar or header element reaches past the viewport's right
edge unless it sits in a container that scrolls sideways (the header tabs, a wide table), the
page itself never scrolls sideways, the runs panel starts collapsed (an overlay drawer on a
phone), and a tap on a chart shows its tooltip. Screenshots of each dashboard, light and dark.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from e2e_support import ARTIFACTS, TIMEOUT_MS, UI, Server, start_server, stop_server
from playwright.sync_api import Browser, expect

from lumiboard import SummaryWriter
from lumiboard.plugins.profile.demo import synthetic_trace, write_trace

DASHBOARDS = ["scalars", "images", "histograms", "text", "hparams", "graphs", "profile", "health"]

# Elements of the header and toolbars (and tables) cut off on the right: past the viewport's
# edge or past the edge of an ancestor that clips or scrolls them (a toolbar must wrap, not
# scroll; a wide table scrolls inside its own box). A cell inside a table is the table's affair.
OVERFLOW_JS = """(width) => {
  const out = [];
  for (const el of document.querySelectorAll(
      '.header *, .toolbar *, [class*=toolbar] *, [data-testid=dashboard] table')) {
    if (el.tagName !== 'TABLE' && el.closest('table')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    let clip = width;
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible')
        clip = Math.min(clip, p.getBoundingClientRect().right);
    }
    if (r.right > clip + 1)
      out.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(r.right)}` +
               ` clip=${Math.round(clip)}`);
  }
  return out;
}"""


class Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(x))


@pytest.fixture(scope="module")
def narrow_board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("narrow_logs")
    rng = np.random.default_rng(0)
    for i, run in enumerate(["a_long_experiment_name/lr=0.001", "b_other_run/lr=0.01"]):
        with SummaryWriter(str(root / run)) as writer:
            for step in range(20):
                writer.add_scalar("loss/train", 1.0 / (step + 1 + i), step)
                writer.add_scalar("accuracy", step / 20 + 0.1 * i, step)
                writer.add_histogram("weights", rng.normal(i, 1, 200), step)
            writer.add_image("sample", rng.random((3, 16, 16)), 0)
            writer.add_text(
                "note",
                "| a | b | c | d | e | f |\n|---|---|---|---|---|---|\n" + "| long cell " * 6 + "|",
                0,
            )
            writer.add_hparams({"lr": 0.001 * (i + 1), "batch": 32}, {"hparam/acc": 0.5 + i / 10})
            writer.add_graph(Tiny(), torch.zeros(1, 4))
    for rank in range(2):
        write_trace(root / "ddp", f"rank{rank}", 1_700_000_000_000 + rank, synthetic_trace(rank))
    server = start_server(root, tmp_path_factory.mktemp("narrow_server") / "server.log")
    yield server
    stop_server(server.process)


def _page(browser: Browser, width: int, scheme: str, name: str) -> UI:
    context = browser.new_context(
        viewport={"width": width, "height": 844 if width < 600 else 900},
        has_touch=width < 600,
        is_mobile=False,
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    helper = UI(page, name)
    page.on("pageerror", lambda error: helper.errors.append(f"page error: {error}"))
    return helper


def _open(ui: UI, server: Server, tab: str) -> None:
    sep = "&" if "?" in server.url else "?"
    ui.open(f"{server.url}{sep}tab={tab}")
    ui.page.wait_for_load_state("networkidle")
    ui.settle()


@pytest.mark.parametrize("width", [800, 390])
def test_every_dashboard_fits(browser: Browser, narrow_board: Server, width: int) -> None:
    problems: dict[str, list[str]] = {}
    for scheme in ("light", "dark"):
        ui = _page(browser, width, scheme, f"narrow-{width}")
        try:
            for tab in DASHBOARDS:
                _open(ui, narrow_board, tab)
                panel = ui.page.get_by_test_id("runs-panel")
                # Below ~900 px the runs panel starts as a rail: the dashboard gets the room.
                expect(panel).to_have_attribute("data-collapsed", "true")
                over = ui.page.evaluate(OVERFLOW_JS, width)
                scroll = ui.page.evaluate("() => document.documentElement.scrollWidth")
                if scroll > width + 1:
                    over.append(f"page scrollWidth={scroll}")
                if over:
                    problems[f"{scheme}/{tab}"] = over[:6]
                ui.page.screenshot(path=str(ARTIFACTS / f"narrow-{width}-{tab}-{scheme}.png"))
            assert not ui.errors, ui.errors
        finally:
            ui.page.context.close()
    assert not problems, problems


def test_phone_runs_drawer_and_tap_tooltip(browser: Browser, narrow_board: Server) -> None:
    ui = _page(browser, 390, "light", "narrow-phone")
    try:
        _open(ui, narrow_board, "scalars")
        # The runs panel opens as a drawer over the dashboard, and closes again.
        ui.page.get_by_test_id("runs-panel-toggle").tap()
        panel = ui.page.get_by_test_id("runs-panel")
        expect(panel).to_have_attribute("data-collapsed", "false")
        box = panel.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 390
        assert getComputedStyle_position(ui) == "fixed"
        ui.page.screenshot(path=str(ARTIFACTS / "narrow-390-runs-drawer.png"))
        ui.page.get_by_test_id("runs-panel-toggle").first.tap()
        expect(panel).to_have_attribute("data-collapsed", "true")

        # A tap on a chart shows its tooltip (no hover on a touch screen).
        chart = ui.page.locator("[data-testid=scalar-card] [data-testid=chart-canvas]").first
        chart.scroll_into_view_if_needed()
        cbox = chart.bounding_box()
        assert cbox is not None
        ui.page.touchscreen.tap(cbox["x"] + cbox["width"] * 0.6, cbox["y"] + cbox["height"] * 0.5)
        expect(ui.page.get_by_test_id("chart-tooltip").first).to_be_visible()
        ui.page.screenshot(path=str(ARTIFACTS / "narrow-390-tap-tooltip.png"))
    finally:
        ui.page.context.close()


def getComputedStyle_position(ui: UI) -> str:
    position: str = ui.page.get_by_test_id("runs-panel").evaluate(
        "(el) => getComputedStyle(el).position"
    )
    return position
