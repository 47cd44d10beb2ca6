"""The Custom Scalars dashboard in a real browser, on layouts written by lumiboard and torch.

A multiline chart draws one series per matching (run, tag); a margin chart draws each run's
value line over a shaded band; categories from both runs' layouts are merged, and a category
written ``closed`` starts collapsed.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from e2e_support import UI, Server, chromatic, color_pixels, non_background, rgb
from PIL import Image
from playwright.sync_api import expect

from lumiboard import SummaryWriter
from lumiboard.format.proto import custom_scalars_pb2

LAYOUT = {
    "Losses": {
        "all losses": ["Multiline", [r"loss/.*"]],
        "train only": ["Multiline", ["loss/train$"]],
    },
    "Accuracy": {"acc band": ["Margin", ["acc", "acc_lo", "acc_hi"]]},
}
TORCH_LAYOUT = {
    "Losses": {"all losses": ["Multiline", [r"loss/.*"]]},
    "Torch": {"val": ["Multiline", ["loss/val"]]},
}


def _write(root: Path) -> None:
    with SummaryWriter(str(root / "lumi")) as writer:
        writer.add_custom_scalars(LAYOUT)
        for step in range(100):
            writer.add_scalar("loss/train", 2 * math.exp(-step / 30) + 0.1, step)
            writer.add_scalar("loss/val", 2.2 * math.exp(-step / 40) + 0.2, step)
            acc = 0.9 * (1 - math.exp(-step / 25))
            writer.add_scalar("acc", acc, step)
            writer.add_scalar("acc_lo", acc - 0.15, step)
            writer.add_scalar("acc_hi", acc + 0.15, step)
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    torch_writer = torch_tb.SummaryWriter(str(root / "torch"))
    torch_writer.add_custom_scalars(TORCH_LAYOUT)
    for step in range(100):
        torch_writer.add_scalar("loss/train", 1.5 * math.exp(-step / 20) + 0.3, step)
        torch_writer.add_scalar("loss/val", 1.7 * math.exp(-step / 25) + 0.4, step)
        torch_writer.add_scalar("loss/test", 1.8 * math.exp(-step / 25) + 0.45, step)
    torch_writer.close()
    # A third run whose layout has a category marked closed (lumiboard's writer takes dicts,
    # so the Layout proto is written directly).
    closed = custom_scalars_pb2.Layout(
        category=[
            custom_scalars_pb2.Category(
                title="Hidden",
                closed=True,
                chart=[
                    custom_scalars_pb2.Chart(
                        title="train",
                        multiline=custom_scalars_pb2.MultilineChartContent(tag=["loss/train"]),
                    )
                ],
            )
        ]
    )
    with SummaryWriter(str(root / "zz_closed")) as writer:
        writer._add_layout(closed)


def _canvas(ui: UI, title: str) -> np.ndarray:
    canvas = ui.page.locator(
        f"[data-testid=cs-card][data-title='{title}'] [data-testid=chart-canvas]"
    )
    return np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")).astype(np.int16)


def _wait_series(ui: UI, title: str, count: int) -> None:
    ui.page.wait_for_function(
        """([title, count]) => {
          const c = document.querySelector(
            `[data-testid=cs-card][data-title='${title}'] [data-testid=chart]`);
          return c && c.dataset.series === String(count)
            && c.querySelector('[data-testid=chart-canvas]');
        }""",
        arg=[title, count],
    )
    ui.settle()


def test_categories_multiline_and_margin(ui: UI, serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path / "logs")
    server: Server = serve(tmp_path / "logs")
    ui.open(server.base + "?tab=custom_scalars&smoothing=0")
    page = ui.page
    categories = page.get_by_test_id("cs-category")
    expect(categories).to_have_count(4)
    titles = [c.get_attribute("data-title") for c in categories.all()]
    assert titles == ["Losses", "Accuracy", "Torch", "Hidden"]
    # "Losses" merged from both runs, the duplicate chart kept once.
    losses = page.locator("[data-testid=cs-category][data-title='Losses'] [data-testid=cs-card]")
    expect(losses).to_have_count(2)
    # The closed category starts collapsed, and opens on a click.
    hidden = page.locator("[data-testid=cs-category][data-title='Hidden']")
    expect(hidden.get_by_test_id("cs-card")).to_have_count(0)
    hidden.get_by_test_id("group-toggle").click()
    expect(hidden.get_by_test_id("cs-card")).to_have_count(1)

    # loss/.* matches loss/train + loss/val in lumi and loss/train, val, test in torch.
    _wait_series(ui, "all losses", 5)
    _wait_series(ui, "train only", 2)
    _wait_series(ui, "val", 2)
    image = _canvas(ui, "all losses")
    card_bg = rgb(
        page.locator("[data-testid=cs-card]").first.evaluate(
            "(el) => getComputedStyle(el).backgroundColor"
        )
    )
    assert non_background(image, card_bg) > 2_000
    for run in ("lumi", "torch"):
        assert color_pixels(image, ui.run_color(run)) > 100, run

    # The margin chart: one value line with a band (a wide area tinted in the run's colour).
    _wait_series(ui, "acc band", 1)
    margin_chart = page.locator("[data-testid=cs-card][data-title='acc band'] [data-testid=chart]")
    expect(margin_chart).to_have_attribute("data-bands", "1")
    band_image = _canvas(ui, "acc band")
    line_image = _canvas(ui, "train only")
    # The band fills far more coloured area than thin lines do.
    assert chromatic(band_image, min_chroma=20) > 3 * chromatic(line_image, min_chroma=20)
    assert color_pixels(band_image, ui.run_color("lumi")) > 100
    ui.screenshot("dashboard")

    # Tooltip: hovering names the (run, tag) series.
    box = margin_chart.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.4)
    expect(page.locator("[data-testid=chart-tooltip]:visible")).to_contain_text("lumi · acc")

    # Runs follow the selection: unchecking torch leaves lumi's two loss series.
    page.locator("[data-testid=run-checkbox][data-run='torch']").uncheck()
    _wait_series(ui, "all losses", 2)


def test_invalid_regex_and_empty_state(ui: UI, serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with SummaryWriter(str(tmp_path / "logs" / "run")) as writer:
        writer.add_custom_scalars({"Bad": {"broken": ["Multiline", ["loss(", "loss"]]}})
        for step in range(10):
            writer.add_scalar("loss", 1 / (step + 1), step)
    server: Server = serve(tmp_path / "logs")
    ui.open(server.base + "?tab=custom_scalars")
    expect(ui.page.get_by_test_id("cs-invalid")).to_contain_text("loss(")
    _wait_series(ui, "broken", 1)

    with SummaryWriter(str(tmp_path / "empty" / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    other = serve(tmp_path / "empty")
    ui.open(other.base + "?tab=custom_scalars")
    empty = ui.page.get_by_test_id("empty-state")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("add_custom_scalars")
