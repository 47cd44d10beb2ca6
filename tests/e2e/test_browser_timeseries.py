"""The Time Series view in a browser: scalars, images and histograms of one tag group together.

The log directory writes all three types under shared prefixes (``loss/``, ``weights/``), so the
tests see one group holding a scalar chart, an image card and a histogram card; the type filter
hides a type; pins of an image card and a histogram card land in the Pinned section and survive a
reload (they live in the URL). Screenshots light and dark at 1440 px.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from e2e_support import UI, Server
from playwright.sync_api import Locator, expect

from lumiboard import SummaryWriter

WIDTH, HEIGHT = 1440, 900
LONG = 12


def _write(root: Path) -> None:
    rng = np.random.default_rng(0)
    for k, run in enumerate(("alpha", "beta")):
        with SummaryWriter(str(root / run)) as writer:
            for step in range(5):
                writer.add_scalar("loss/train", 1.0 / (step + 1 + k), step)
                writer.add_scalar("acc/top1", 0.1 * step + 0.05 * k, step)
                image = np.zeros((16, 16, 3), np.uint8)
                image[:, :, step % 3] = 200
                writer.add_image("loss/samples", image, step, dataformats="HWC")
                writer.add_histogram("loss/grad", rng.normal(step * 0.5, 1.0, 500), step)
                writer.add_histogram("weights/w", rng.normal(0, 1 + step, 500), step)
    # A long group (sorted last) for lazy rendering: its lower cards start far below the fold.
    with SummaryWriter(str(root / "alpha")) as writer:
        for k in range(LONG):
            writer.add_image(
                f"zz/img{k:02d}", np.full((8, 8, 3), 40 * (k % 6), np.uint8), 0, dataformats="HWC"
            )


@pytest.fixture
def board(tmp_path: Path, serve: Callable[..., Server]) -> Server:
    _write(tmp_path / "logs")
    return serve(tmp_path / "logs")


def _group(ui: UI, name: str) -> Locator:
    return ui.page.locator(f"[data-testid=card-group][data-group='{name}']")


def _kinds(scope: Locator) -> set[str]:
    cards = scope.locator("[data-testid=ts-card]")
    return {str(kind) for kind in cards.evaluate_all("(els) => els.map((e) => e.dataset.kind)")}


def test_one_group_mixes_three_types_and_the_type_filter_hides_one(ui: UI, board: Server) -> None:
    ui.page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    ui.open(f"{board.base}?tab=timeseries")
    expect(ui.page.locator("[data-testid=tab-timeseries]")).to_have_count(1)
    loss = _group(ui, "loss")
    # The scalar chart is drawn, the image shows, the histogram is drawn.
    expect(loss.locator("[data-kind=scalars] [data-testid=scalar-card]")).to_have_count(1)
    expect(loss.locator("[data-kind=images] [data-testid=image]")).to_have_count(2)
    expect(loss.locator("[data-kind=histograms] [data-testid=histogram-card]")).to_have_count(2)
    assert _kinds(loss) == {"scalars", "images", "histograms"}
    # The image card keeps its own step slider.
    expect(loss.locator("[data-kind=images] input[type=range]").first).to_be_visible()
    expect(_group(ui, "weights").locator("[data-kind=histograms]")).to_have_count(2)

    ui.page.get_by_test_id("ts-type-images").click()
    expect(loss.locator("[data-kind=images]")).to_have_count(0)
    assert _kinds(loss) == {"scalars", "histograms"}
    assert "tsTypes=scalars%2Chistograms" in ui.page.url
    ui.page.reload()
    expect(_group(ui, "loss").locator("[data-kind=histograms]")).to_have_count(2)
    expect(ui.page.locator("[data-kind=images]")).to_have_count(0)
    expect(ui.page.get_by_test_id("ts-type-images")).to_have_attribute("aria-pressed", "false")
    ui.page.get_by_test_id("ts-type-images").click()
    expect(_group(ui, "loss").locator("[data-kind=images]")).to_have_count(2)

    # The tag filter (the shared regex box) applies across the three types; it counts tags.
    ui.page.get_by_test_id("tag-filter").fill("grad|samples")
    expect(ui.page.locator("[data-kind=scalars]")).to_have_count(0)
    expect(ui.page.locator("[data-kind=images]")).to_have_count(2)
    expect(ui.page.locator("[data-kind=histograms]")).to_have_count(2)
    expect(ui.page.get_by_test_id("tag-count")).to_contain_text("2 of")


def test_pinning_an_image_and_a_histogram_card_survives_a_reload(ui: UI, board: Server) -> None:
    ui.page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    ui.open(f"{board.base}?tab=timeseries")
    loss = _group(ui, "loss")
    image = loss.locator("[data-kind=images][data-run=alpha]")
    histogram = loss.locator("[data-kind=histograms][data-run=beta]")
    expect(image.get_by_test_id("image")).to_be_visible()
    image.get_by_test_id("ts-pin").click()
    histogram.get_by_test_id("ts-pin").click()
    loss.locator("[data-kind=scalars] [data-testid=card-pin]").click()

    def check_pinned() -> None:
        pinned = ui.page.get_by_test_id("pinned-section")
        expect(pinned.locator("[data-testid=ts-card]")).to_have_count(3)
        expect(
            pinned.locator("[data-kind=images][data-run=alpha][data-tag='loss/samples']")
        ).to_have_count(1)
        expect(
            pinned.locator("[data-kind=histograms][data-run=beta][data-tag='loss/grad']")
        ).to_have_count(1)
        expect(pinned.locator("[data-kind=scalars][data-tag='loss/train']")).to_have_count(1)
        expect(pinned.locator("[data-testid=image]")).to_be_visible()
        pin = pinned.locator("[data-testid=ts-pin]").first
        expect(pin).to_have_attribute("aria-pressed", "true")

    check_pinned()
    ui.page.wait_for_function("() => location.search.includes('tsPinned')")
    ui.page.wait_for_function("() => location.search.includes('pinnedCards')")
    ui.page.reload()
    ui.page.get_by_test_id("dashboard").wait_for()
    check_pinned()
    ui.settle()
    ui.screenshot("timeseries-light-1440")
    ui.page.goto(ui.page.url + "&darkMode=true")
    check_pinned()
    ui.settle()
    ui.screenshot("timeseries-dark-1440")

    # Unpinning from the Pinned section takes the card out.
    pinned = ui.page.get_by_test_id("pinned-section")
    pinned.locator("[data-kind=images] [data-testid=ts-pin]").click()
    expect(pinned.locator("[data-testid=ts-card]")).to_have_count(2)


def test_off_screen_image_cards_load_only_when_scrolled_to(ui: UI, board: Server) -> None:
    ui.page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    ui.open(f"{board.base}?tab=timeseries")
    expect(_group(ui, "loss").locator("[data-kind=images] [data-testid=image]")).to_have_count(2)
    long = _group(ui, "zz")
    expect(long.locator("[data-testid=ts-card]")).to_have_count(LONG)
    last = long.locator(f"[data-tag='zz/img{LONG - 1:02d}']")
    # Below the fold: a placeholder, and nothing of it was asked for.
    expect(last.get_by_test_id("ts-placeholder")).to_have_count(1)
    asked = [url for url in ui.requests if "zz%2Fimg" in url or "zz/img" in url]
    assert not any(f"img{LONG - 1:02d}" in url for url in asked), asked
    last.scroll_into_view_if_needed()
    expect(last.get_by_test_id("image")).to_be_visible()
    expect(last.get_by_test_id("ts-placeholder")).to_have_count(0)
