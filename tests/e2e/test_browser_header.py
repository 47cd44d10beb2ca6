"""The header's dashboard tabs do not move once shown.

The Health tab comes from its own route (``data/health``), after the plugins listing, and sits
right after Scalars: drawn as soon as the listing arrived, every tab after Scalars moved right
when the health answer came. The header now lays out its tabs once both are known. A script
registered before the page loads samples every tab's box on each animation frame; the test
asserts each tab kept the box it was first shown at.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from e2e_support import UI, Server
from playwright.sync_api import expect

from lumiboard import SummaryWriter

# On every frame: each header tab's left edge and width, by name (the first box and any change).
SAMPLER = """
window.__tabBoxes = {};
const sample = () => {
  for (const el of document.querySelectorAll('nav.tabs [data-tab], nav.tabs summary')) {
    const name = el.dataset.tab || 'menu';
    const r = el.getBoundingClientRect();
    if (!r.width) continue;
    const box = Math.round(r.left) + ',' + Math.round(r.top) + ',' + Math.round(r.width);
    const seen = (window.__tabBoxes[name] ??= []);
    if (seen[seen.length - 1] !== box) seen.push(box);
  }
  requestAnimationFrame(sample);
};
requestAnimationFrame(sample);
"""


@pytest.fixture
def board(tmp_path: Path, serve: Callable[..., Server]) -> Server:
    root = tmp_path / "logs"
    rng = np.random.default_rng(0)
    with SummaryWriter(str(root / "diverged")) as writer:
        for step in range(40):
            writer.add_scalar("loss", math.exp(-step / 10) if step < 30 else math.nan, step)
        writer.add_text("note", "a note", 0)
        writer.add_image("sample", rng.random((3, 8, 8)), 0)
        writer.add_histogram("weights", rng.normal(size=100), 0)
    return serve(root)


def test_tabs_do_not_move_after_first_shown(ui: UI, board: Server) -> None:
    page = ui.page
    page.add_init_script(SAMPLER)
    ui.open(board.base)
    # The Health tab (a NaN loss) and the plugins' tabs are all shown, in order.
    health = page.locator("nav.tabs [data-tab='health']")
    expect(health).to_be_visible()
    expect(page.locator("nav.tabs [data-tab='histograms']")).to_be_visible()
    names = page.locator("nav.tabs [data-tab]").evaluate_all("els => els.map((e) => e.dataset.tab)")
    assert names[:2] == ["scalars", "health"], names
    # Some frames after the load: every tab still at the box it was first drawn at.
    page.wait_for_function("() => new Promise((done) => setTimeout(() => done(true), 1500))")
    boxes: dict[str, list[str]] = page.evaluate("window.__tabBoxes")
    assert set(names) <= set(boxes), boxes
    moved = {name: seen for name, seen in boxes.items() if len(seen) > 1}
    assert not moved, f"tabs moved after first shown: {moved}"
