"""The Images dashboard in a browser, on images written by lumiboard and by torch.

Solid colours that differ by step are read back from the rendered ``<img>`` (an element
screenshot), so the tests see what the user sees: the right step after a card's slider moves,
every card after the global slider moves, the right image of a multi-image step, a drawn box,
an animated GIF, and a step written while the page is open.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from e2e_support import UI, Server
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, expect

from lumiboard import SummaryWriter, summary

torch_tb = pytest.importorskip("torch.utils.tensorboard")

RED, GREEN, BLUE, YELLOW, MAGENTA = (
    (230, 30, 30),
    (30, 200, 30),
    (30, 30, 230),
    (230, 220, 30),
    (220, 30, 220),
)
LUMI_COLORS = [RED, GREEN, BLUE, YELLOW]  # steps 0, 1, 2, 3
TORCH_COLORS = {0: BLUE, 2: RED}  # torch logs steps 0 and 2


def _solid(color: tuple[int, int, int], height: int = 6, width: int = 8) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = color
    return image


def _write(root: Path) -> None:
    with SummaryWriter(str(root / "lumi")) as writer:
        for step, color in enumerate(LUMI_COLORS):
            writer.add_image("samples", _solid(color), step, dataformats="HWC")
        writer.add_image("live", _solid(GREEN), 0, dataformats="HWC")
        video = np.zeros((1, 6, 3, 16, 16))
        for frame in range(6):
            video[0, frame, frame % 3] = 1.0
        writer.add_video("media/video", video, 0, fps=6)
        writer.add_image_with_boxes(
            "media/boxes", np.zeros((3, 48, 48)), np.array([[6, 6, 42, 42]]), 0, labels=["cat"]
        )
    functional_writer = summary.create_file_writer(str(root / "lumi"))
    with functional_writer.as_default(step=0):
        batch = np.stack([_solid(c, 4, 4) for c in (RED, GREEN, BLUE)])
        summary.image("multi", batch, step=0, max_outputs=3)
    functional_writer.close()
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib import pyplot

    writer = torch_tb.SummaryWriter(str(root / "torch"))
    for step, color in TORCH_COLORS.items():
        writer.add_image("samples", _solid(color).transpose(2, 0, 1), step)
    writer.add_image_with_boxes("media/boxes", np.zeros((3, 48, 48)), np.array([[6, 6, 42, 42]]), 0)
    figure = pyplot.figure(figsize=(3, 2), dpi=60)
    figure.gca().plot([0, 1, 2, 3], [0, 2, 1, 3], color="black", linewidth=3)
    writer.add_figure("media/figure", figure, 0)
    writer.close()


def _card(ui: UI, run: str, tag: str) -> Locator:
    return ui.page.locator(f"[data-testid=image-card][data-run='{run}'][data-tag='{tag}']")


def _pixels(image: Locator) -> np.ndarray:
    expect(image).to_be_visible()
    image.page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    png = image.screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _center(image: Locator) -> tuple[int, int, int]:
    pixels = _pixels(image)
    height, width, _ = pixels.shape
    r, g, b = pixels[height // 2, width // 2]
    return int(r), int(g), int(b)


def _close(color: tuple[int, int, int], expected: tuple[int, int, int], tol: int = 12) -> bool:
    return max(abs(a - b) for a, b in zip(color, expected, strict=True)) <= tol


def _wait_color(card: Locator, expected: tuple[int, int, int]) -> None:
    image = card.get_by_test_id("image")
    last = None
    for _ in range(50):
        try:
            last = _center(image)
        except PlaywrightError:  # the <img> was replaced (new step, or a live reload) meanwhile
            card.page.wait_for_timeout(100)
            continue
        if _close(last, expected):
            return
        card.page.wait_for_timeout(100)
    raise AssertionError(f"shown colour {last}, expected {expected}")


def _slide(slider: Locator, index: int) -> None:
    slider.evaluate(
        "(el, value) => { el.value = String(value);"
        " el.dispatchEvent(new Event('input', { bubbles: true })); }",
        index,
    )


def test_images_dashboard(ui: UI, serve: Callable[..., Server], tmp_path: Path) -> None:
    root = tmp_path / "logs"
    _write(root)
    server = serve(root)
    ui.open(server.base + "?tab=images")
    page = ui.page
    cards = page.get_by_test_id("image-card")
    # lumi: samples, live, multi, video, boxes; torch: samples, boxes, figure.
    expect(cards).to_have_count(8)

    lumi, torch = _card(ui, "lumi", "samples"), _card(ui, "torch", "samples")
    expect(lumi).to_have_attribute("data-step", "3")  # the newest step first
    _wait_color(lumi, YELLOW)
    _wait_color(torch, RED)
    # The run's colour on the card: its swatch and the image frame's edge.
    swatch = lumi.get_by_test_id("run-swatch").evaluate(
        "(el) => getComputedStyle(el).backgroundColor"
    )
    frame = lumi.locator(".image-card__frame").evaluate(
        "(el) => getComputedStyle(el).borderLeftColor"
    )
    assert swatch == frame
    assert swatch != torch.get_by_test_id("run-swatch").evaluate(
        "(el) => getComputedStyle(el).backgroundColor"
    )
    # A small image fills the card, its pixels kept sharp.
    image = lumi.get_by_test_id("image")
    assert image.evaluate("(img) => img.clientWidth") > 300
    assert image.evaluate("(img) => getComputedStyle(img).imageRendering") == "pixelated"

    # Live: a step written now appears without a reload (the card follows the newest step).
    live = _card(ui, "lumi", "live")
    _wait_color(live, GREEN)
    with SummaryWriter(str(root / "lumi")) as writer:
        writer.add_image("live", _solid(MAGENTA), 7, dataformats="HWC")
    expect(live).to_have_attribute("data-step", "7", timeout=20_000)
    _wait_color(live, MAGENTA)

    # One card's slider: lumi back to step 1 (green); torch does not move.
    _slide(lumi.get_by_test_id("step-slider"), 1)
    expect(lumi).to_have_attribute("data-step", "1")
    expect(lumi.get_by_test_id("step-slider-label")).to_contain_text("step 1")
    _wait_color(lumi, GREEN)
    expect(torch).to_have_attribute("data-step", "2")

    # The global slider: every card goes to its last step at or below the chosen one.
    global_slider = page.get_by_test_id("global-step")
    steps = [0, 1, 2, 3, 7]
    expect(global_slider).to_have_attribute("max", str(len(steps) - 1))
    _slide(global_slider, steps.index(1))
    expect(lumi).to_have_attribute("data-step", "1")
    expect(torch).to_have_attribute("data-step", "0")  # torch has 0 and 2: 0 is at or below 1
    expect(live).to_have_attribute("data-step", "0")
    _wait_color(torch, BLUE)
    _slide(global_slider, steps.index(3))
    expect(lumi).to_have_attribute("data-step", "3")
    expect(torch).to_have_attribute("data-step", "2")
    _wait_color(lumi, YELLOW)
    _wait_color(torch, RED)
    ui.screenshot("global-step-3")

    # The sample index of a multi-image step.
    multi = _card(ui, "lumi", "multi")
    _wait_color(multi, RED)
    multi.get_by_test_id("sample-index").fill("2")
    expect(multi).to_have_attribute("data-sample", "2")
    _wait_color(multi, BLUE)

    # Brightness: a CSS filter on every image, and Reset.
    _slide(page.get_by_test_id("brightness"), 0.5)
    expect(image).to_have_css("filter", "brightness(0.5) contrast(1)")
    dimmed = _center(image)
    assert _close(dimmed, (YELLOW[0] // 2, YELLOW[1] // 2, YELLOW[2] // 2), tol=20), dimmed
    page.get_by_test_id("image-reset").click()
    expect(image).to_have_css("filter", "none")

    # Video: an animated GIF, displayed.
    video = _card(ui, "lumi", "media/video").get_by_test_id("image")
    expect(video).to_be_visible()
    response = page.request.get(server.base + str(video.get_attribute("src")))
    assert response.headers["content-type"] == "image/gif"
    assert "immutable" in response.headers["cache-control"]
    assert Image.open(io.BytesIO(response.body())).n_frames == 6
    assert _pixels(video).max() > 100  # a coloured frame is drawn

    # Boxes drawn by both writers are visible in the pixels.
    for run in ("lumi", "torch"):
        pixels = _pixels(_card(ui, run, "media/boxes").get_by_test_id("image"))
        red = (pixels[..., 0] > 150) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)
        assert red.sum() > 200, run

    # The matplotlib figure: a white canvas with a dark line.
    figure = _pixels(_card(ui, "torch", "media/figure").get_by_test_id("image"))
    assert (figure.min(axis=2) > 230).mean() > 0.5
    assert (figure.max(axis=2) < 80).sum() > 100

    # Actual size: the 8-pixel image at its own size.
    page.get_by_test_id("actual-size").check()
    expect(image).to_have_js_property("clientWidth", 8)
    page.get_by_test_id("actual-size").uncheck()

    # The tag filter.
    page.get_by_test_id("tag-filter").fill("media/")
    expect(cards).to_have_count(4)
    ui.screenshot("filtered")


def test_images_dark_mode(ui: UI, serve: Callable[..., Server], tmp_path: Path) -> None:
    root = tmp_path / "logs"
    with SummaryWriter(str(root / "run")) as writer:
        writer.add_image("samples", _solid(YELLOW), 0, dataformats="HWC")
    server = serve(root)
    ui.open(server.base + "?tab=images&darkMode=true")
    card = _card(ui, "run", "samples")
    _wait_color(card, YELLOW)
    background = card.evaluate("(el) => getComputedStyle(el).backgroundColor")
    numbers = [int(float(x)) for x in background[background.index("(") + 1 : -1].split(",")[:3]]
    assert max(numbers) < 90, background  # a dark card
    ui.screenshot("dark")


def test_images_empty_and_no_run_selected(
    ui: UI, serve: Callable[..., Server], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    with SummaryWriter(str(empty / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    server = serve(empty)
    ui.open(server.base + "?tab=images")
    state = ui.page.get_by_test_id("empty-state")
    expect(state).to_be_visible()
    expect(state).to_contain_text('writer.add_image("samples", img, step)')
    ui.screenshot("empty")

    with_images = tmp_path / "images"
    with SummaryWriter(str(with_images / "run")) as writer:
        writer.add_image("samples", _solid(RED), 0, dataformats="HWC")
    other = serve(with_images)
    ui.open(other.base + "?tab=images&runFilter=nomatch")
    expect(ui.page.get_by_test_id("no-runs-selected")).to_be_visible()
