"""A snapshot (``lumiboard snapshot``) opened from ``file://`` in chromium, with no server.

One log directory (scalars of two runs, an image per run, a text, hparams, histograms, a NaN
that raises a health flag) is written into one HTML file with the package's snapshot build of the
web app. The page is opened from disk and every request it makes is recorded: only the file
itself and the ``blob:``/``data:`` URLs it makes (images) are allowed, never http(s) or a
WebSocket. Scalar charts draw (coloured pixels), reduced per pixel in the page, and a run's CSV
downloads from the page; images show in their colours; the text, the HParams rows, histograms
and distributions show; a dashboard the snapshot lacks says so. ``cd frontend && npm run build``
first: it makes the snapshot build.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from e2e_support import ARTIFACTS, UI, chromatic, non_background
from PIL import Image
from playwright.sync_api import expect

from lumiboard import SummaryWriter
from lumiboard import hparams as hp
from lumiboard.snapshot import write_snapshot
from lumiboard.snapshot_page import build_dir

RUNS = ("alpha", "beta")
#: Steps of ``loss``: more than a chart keeps (about 4 per pixel column), so the page reduces.
STEPS = 4000
COLORS = {"alpha": (220, 40, 40), "beta": (30, 60, 210)}


def _write_logdir(root: Path) -> None:
    rng = np.random.default_rng(0)
    for index, run in enumerate(RUNS):
        with SummaryWriter(root / run) as writer:
            hp.hparams({"lr": 0.01 * (index + 1), "optimizer": "adam"}, writer=writer)
            for step in range(STEPS):
                loss = (1 + index) * math.exp(-step / 900) + 0.1 * math.sin(step / 7)
                if run == "beta" and step == STEPS - 1:
                    loss = math.nan
                writer.add_scalar("loss", loss, step)
                if step % 100 == 0:
                    writer.add_scalar("accuracy", 1 - math.exp(-step / 1000) / (1 + index), step)
                if step % 1000 == 0:
                    writer.add_histogram("weights", rng.normal(step / 1000, 1, 1000), step)
            image = np.zeros((24, 32, 3), np.uint8)
            image[:] = COLORS[run]
            writer.add_image("sample", image, 0, dataformats="HWC")
            writer.add_text("notes", f"**bold {run}** in a snapshot", 0)


@pytest.fixture(scope="module")
def snapshot_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_dir()  # the web app's snapshot build: `cd frontend && npm run build`
    root = tmp_path_factory.mktemp("snapshot")
    _write_logdir(root / "logs")
    report = write_snapshot(root / "logs", root / "report.html")
    return report.path


@pytest.fixture
def opened(ui: UI, snapshot_file: Path) -> Iterator[tuple[UI, list[str]]]:
    """``ui`` with its WebSockets recorded; at the end, no request but the file, data: and
    blob: URLs."""
    sockets: list[str] = []
    ui.page.on("websocket", lambda socket: sockets.append(socket.url))
    yield ui, sockets
    assert sockets == []
    schemes = {urlsplit(url).scheme for url in ui.requests}
    assert schemes <= {"file", "data", "blob"}, ui.requests
    files = {url.split("?", 1)[0] for url in ui.requests if url.startswith("file:")}
    assert files == {snapshot_file.as_uri()}


def _open(ui: UI, path: Path, tab: str | None = None) -> None:
    ui.open(path.as_uri() + (f"?tab={tab}" if tab else ""))
    expect(ui.page.get_by_test_id("snapshot-banner")).to_be_visible()


def test_scalars_draw_from_the_file_with_no_request(
    opened: tuple[UI, list[str]], snapshot_file: Path
) -> None:
    ui, _ = opened
    _open(ui, snapshot_file)
    page = ui.page
    expect(page.get_by_test_id("snapshot-logdir")).to_have_text(str(snapshot_file.parent / "logs"))
    expect(page.get_by_test_id("snapshot-banner")).to_contain_text("taken")
    # Read-only: nothing to reload.
    expect(page.get_by_test_id("reload-button")).to_have_count(0)
    expect(page.get_by_test_id("auto-reload")).to_have_count(0)

    ui.wait_charts(cards=2, runs=2)
    for tag in ("loss", "accuracy"):
        image = ui.canvas(tag, shot=tag)
        assert chromatic(image) > 300, tag  # the runs' coloured lines
        assert non_background(image, ui.background(tag)) > 1000, tag
    # Every point is in the file; the page reduced them for the chart's width.
    drawn = ui.points_drawn("loss")
    assert 200 < drawn < 2 * STEPS, drawn
    ui.screenshot("scalars")

    # A run's download is made in the page from the columns: every point, TensorBoard's CSV.
    ui.card("accuracy").get_by_test_id("card-download").click()
    with page.expect_download() as download:
        page.get_by_test_id("download-run-csv").click()
    csv = Path(download.value.path()).read_bytes().decode("utf-8")
    assert csv.startswith("Wall time,Step,Value\r\n")
    assert csv.count("\r\n") == 1 + STEPS // 100

    # A dashboard the snapshot lacks says so (the tab of a plugin without data here too).
    _open(ui, snapshot_file, tab="pr_curves")
    expect(page.get_by_test_id("dashboard-unavailable")).to_contain_text("not in this snapshot")


def test_images_text_hparams_histograms_show(
    opened: tuple[UI, list[str]], snapshot_file: Path
) -> None:
    ui, _ = opened
    page = ui.page

    _open(ui, snapshot_file, tab="images")
    images = page.get_by_test_id("image")
    expect(images).to_have_count(2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=image]')]"
        ".every((img) => img.complete && img.naturalWidth === 32)"
    )
    for run, color in COLORS.items():
        img = page.locator(f"[data-testid=image-card][data-run='{run}'] [data-testid=image]")
        assert (img.get_attribute("src") or "").startswith("blob:")
        pixels = np.asarray(Image.open(io.BytesIO(img.screenshot())).convert("RGB"), np.int16)
        centre = pixels[pixels.shape[0] // 2, pixels.shape[1] // 2]
        assert np.abs(centre - np.array(color)).max() <= 12, (run, centre)
    ui.screenshot("images")

    _open(ui, snapshot_file, tab="text")
    entries = page.get_by_test_id("text-html")
    expect(entries).to_have_count(2)
    expect(page.locator("[data-testid=text-html] strong").first).to_contain_text("bold")
    ui.screenshot("text")

    _open(ui, snapshot_file, tab="hparams")
    rows = page.get_by_test_id("hp-row")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("hp-table")).to_contain_text("alpha")
    ui.screenshot("hparams")

    _open(ui, snapshot_file, tab="histograms")
    cards = page.get_by_test_id("histogram-card")
    expect(cards).to_have_count(2)
    page.wait_for_function(
        "() => { const c = [...document.querySelectorAll('[data-testid=histogram-card]')];"
        " return c.length === 2 && c.every((e) => e.querySelectorAll("
        "'[data-testid=hist-path]').length === 4); }"
    )
    ui.settle()
    shot = ARTIFACTS / f"{ui.name}-histogram.png"
    cards.first.screenshot(path=str(shot))
    pixels = np.asarray(Image.open(shot).convert("RGB"), np.int16)
    assert chromatic(pixels) > 300
    ui.screenshot("histograms")

    _open(ui, snapshot_file, tab="distributions")
    expect(page.get_by_test_id("distribution-card")).to_have_count(2)
    expect(page.get_by_test_id("dist-band").first).to_be_visible()
    ui.screenshot("distributions")
