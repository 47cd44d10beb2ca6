"""The Profile dashboard in chromium: every view draws its content from real and synthetic traces.

The log directory holds the real CUDA ResNet-18 trace (in a run that also has torch scalars, so
the run selection applies to it), a synthetic two-rank job (Distributed view), a synthetic trace
of about 100k events (the timeline must stay responsive) and scalars written by lumiboard's
SummaryWriter.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from e2e_support import UI, Server, chromatic, non_background, rgb
from PIL import Image
from playwright.sync_api import Locator, expect
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from lumiboard import SummaryWriter
from lumiboard.plugins.profile.demo import synthetic_trace, write_trace

FIXTURE = next(
    Path("/work/shared/fixtures/torch_profiler/resnet18_cuda").glob("*.pt.trace.json.gz")
)


@pytest.fixture(scope="module")
def profile_logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("profile_logs")
    (root / "resnet").mkdir()
    shutil.copy(FIXTURE, root / "resnet" / FIXTURE.name)
    with TorchWriter(str(root / "resnet")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    with SummaryWriter(str(root / "scalars_only")) as writer:
        writer.add_scalar("loss", 2.0, 0)
    for rank in range(2):
        write_trace(root / "ddp", f"rank{rank}", 1_700_000_000_000 + rank, synthetic_trace(rank))
    big = synthetic_trace(0, steps=50, ops_per_step=700, seed=3)
    write_trace(root / "big", "worker0", 1_700_000_000_500, big)
    return root


def _canvas(locator: Locator) -> np.ndarray:
    png = locator.screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def _open(ui: UI, board: Server, run: str) -> None:
    ui.open(board.base + "?tab=profile")
    ui.page.get_by_test_id("profile-dashboard").wait_for()
    ui.page.get_by_test_id("profile-run").select_option(run)


def _view_range(ui: UI) -> tuple[float, float]:
    label = ui.page.get_by_test_id("trace-range")
    return float(label.get_attribute("data-view-start") or "nan"), float(
        label.get_attribute("data-view-end") or "nan"
    )


def test_overview_operator_kernel_memory_on_the_cuda_trace(
    ui: UI, profile_logdir: Path, serve: Callable[..., Server]
) -> None:
    board = serve(profile_logdir)
    _open(ui, board, "resnet")
    page = ui.page
    # Overview: two steps, each a stack of role bars; recommendations for 18% GPU utilization.
    expect(page.get_by_test_id("stat-steps")).to_contain_text("2")
    expect(page.get_by_test_id("stat-gpu")).to_contain_text("17.6%")
    bars = page.get_by_test_id("step-bar")
    expect(bars.first).to_be_visible()
    assert bars.count() >= 2 * 5  # Kernel, Memcpy, Memset, Runtime, CPU Exec, Other per step
    heights = [float(bars.nth(i).get_attribute("height") or 0) for i in range(bars.count())]
    assert max(heights) > 50
    assert page.get_by_test_id("profile-recommendations").locator("li").count() >= 1
    expect(page.get_by_test_id("profile-devices")).to_contain_text("H100")
    ui.screenshot("overview")

    # Operator: the table, the top bars, search and sorting.
    page.get_by_test_id("profile-view-operator").click()
    table = page.get_by_test_id("operator-table")
    expect(table.locator("tbody tr").first).to_be_visible()
    assert table.locator("tbody tr").count() == 76
    assert page.get_by_test_id("operator-top").get_by_test_id("top-bar").count() >= 5
    expect(table.locator("tbody tr").first.locator("td").first).to_have_text(
        "aten::convolution_backward"
    )
    page.get_by_test_id("profile-search").fill("batch_norm")
    expect(table.locator("tbody tr")).not_to_have_count(76)
    names = table.locator("tbody tr td:first-child").all_inner_texts()
    assert names
    assert all("batch_norm" in name for name in names)
    table.get_by_role("button", name="Calls").click()
    calls = [int(t) for t in table.locator("tbody tr td:nth-child(2)").all_inner_texts()]
    assert calls == sorted(calls, reverse=True)
    ui.screenshot("operator")

    # Kernel: 59 distinct kernels and the tensor-core share.
    page.get_by_test_id("profile-view-kernel").click()
    expect(page.get_by_test_id("kernel-table").locator("tbody tr")).to_have_count(59)
    share = page.get_by_test_id("tensor-core-share").get_by_test_id("top-bar")
    expect(share).to_have_count(2)
    ui.screenshot("kernel")

    # Memory: curves drawn; dragging zooms into a range whose stats follow.
    page.get_by_test_id("profile-view-memory").click()
    chart = page.get_by_test_id("memory-chart")
    expect(page.get_by_test_id("memory-allocated")).to_be_attached()
    assert len(page.get_by_test_id("memory-allocated").get_attribute("d") or "") > 500
    before = page.get_by_test_id("memory-range-events").inner_text()
    box = chart.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    expect(page.get_by_test_id("memory-reset")).to_be_enabled()
    assert page.get_by_test_id("memory-range-events").inner_text() != before
    expect(page.get_by_test_id("memory-table").locator("tbody tr").first).to_be_visible()
    ui.screenshot("memory")


def test_trace_timeline_zoom_pan_hover_select_and_dark_mode(
    ui: UI, profile_logdir: Path, serve: Callable[..., Server]
) -> None:
    board = serve(profile_logdir)
    _open(ui, board, "resnet")
    page = ui.page
    page.get_by_test_id("profile-view-trace").click()
    canvas = page.get_by_test_id("trace-canvas")
    expect(canvas).to_be_visible()
    ui.settle()
    image = _canvas(canvas)
    assert chromatic(image) > 20_000  # coloured slices on CPU threads and the GPU stream
    start, end = _view_range(ui)
    assert start == 0
    assert end > 29_000

    # Hovering the first row (the ProfilerStep annotations) shows a slice's name.
    box = canvas.bounding_box()
    assert box is not None
    row_y = box["y"] + 26 + 18 + 8
    page.mouse.move(box["x"] + 190 + (box["width"] - 190) * 0.3, row_y)
    tooltip = page.get_by_test_id("trace-tooltip")
    expect(tooltip).to_contain_text("ProfilerStep#")
    expect(tooltip).to_contain_text("External id")  # the hovered event's arguments
    page.mouse.click(box["x"] + 190 + (box["width"] - 190) * 0.3, row_y)
    expect(page.get_by_test_id("trace-details")).to_contain_text("ProfilerStep#")

    # Wheel zooms around the pointer, W zooms in, A/D pan, 0 resets.
    page.mouse.move(box["x"] + 190 + (box["width"] - 190) * 0.5, row_y)
    page.mouse.wheel(0, -600)
    page.wait_for_function(
        "() => +document.querySelector('[data-testid=trace-range]').dataset.viewEnd < 29000"
    )
    zoomed = _view_range(ui)
    assert zoomed[1] - zoomed[0] < (end - start) * 0.5
    canvas.focus()
    page.keyboard.press("w")
    narrower = _view_range(ui)
    assert narrower[1] - narrower[0] < zoomed[1] - zoomed[0]
    page.keyboard.press("d")
    panned = _view_range(ui)
    assert panned[0] > narrower[0]
    assert panned[1] - panned[0] == pytest.approx(narrower[1] - narrower[0])
    ui.settle()
    assert chromatic(_canvas(canvas)) > 2_000
    ui.screenshot("trace-zoomed")
    page.keyboard.press("0")
    assert _view_range(ui) == (start, end)

    page.get_by_test_id("dark-mode").select_option("dark")
    ui.settle()
    dark = _canvas(canvas)
    panel = rgb(canvas.evaluate("(el) => getComputedStyle(el.parentElement).backgroundColor"))
    assert sum(panel) < 200
    assert non_background(dark, panel) > 20_000
    ui.screenshot("trace-dark")


def test_trace_of_100k_events_stays_responsive(
    ui: UI, profile_logdir: Path, serve: Callable[..., Server]
) -> None:
    board = serve(profile_logdir)
    _open(ui, board, "big")
    page = ui.page
    page.get_by_test_id("profile-view-trace").click()
    expect(page.get_by_test_id("trace-range")).to_be_visible()
    label = page.locator(".profile-trace .profile-muted").first
    expect(label).to_contain_text("events")
    total = int(label.inner_text().split()[0].replace(",", ""))
    assert total > 100_000
    canvas = page.get_by_test_id("trace-canvas")
    ui.settle()
    assert chromatic(_canvas(canvas)) > 10_000
    full = _view_range(ui)
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + 60)
    began = time.perf_counter()
    for _ in range(10):
        page.mouse.wheel(0, -200)
        ui.settle()
    elapsed = time.perf_counter() - began
    assert elapsed < 5.0, f"10 zoom frames took {elapsed:.2f} s"
    start, end = _view_range(ui)
    assert end - start < 0.2 * (full[1] - full[0])
    assert chromatic(_canvas(canvas)) > 1_000
    ui.screenshot("big-trace")


def test_distributed_view_and_run_selection(
    ui: UI, profile_logdir: Path, serve: Callable[..., Server]
) -> None:
    board = serve(profile_logdir)
    _open(ui, board, "ddp")
    page = ui.page
    expect(page.get_by_test_id("profile-worker").locator("option")).to_have_count(2)
    page.get_by_test_id("profile-view-distributed").click()
    expect(page.get_by_test_id("worker-row")).to_have_count(2)
    widths = [
        float((bar.get_attribute("style") or "width: 0%").split("width:")[1].split("%")[0])
        for bar in page.get_by_test_id("worker-bar").all()
    ]
    assert sum(widths) > 150  # two workers' bars, most of each step accounted for
    expect(page.get_by_test_id("collectives-table").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("collectives-table")).to_contain_text("allreduce")
    ui.screenshot("distributed")
    # A single-worker run has no Distributed view.
    page.get_by_test_id("profile-run").select_option("resnet")
    expect(page.get_by_test_id("profile-view-distributed")).to_have_count(0)
    # Hiding "resnet" in the runs panel (it has event files) hides it here too; "ddp" has
    # no event files (not in the runs panel) and stays. (The panel is a rail on Profile.)
    page.get_by_test_id("runs-panel-toggle").click()
    page.locator("[data-testid=run-checkbox][data-run='resnet']").uncheck()
    expect(page.get_by_test_id("profile-run").locator("option", has_text="resnet")).to_have_count(0)
    expect(page.get_by_test_id("profile-run").locator("option", has_text="ddp")).to_have_count(1)


def test_empty_state_and_a_trace_appearing(
    ui: UI, tmp_path: Path, serve: Callable[..., Server]
) -> None:
    root = tmp_path / "logs"
    with SummaryWriter(str(root / "train")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    with TorchWriter(str(root / "torch")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    board = serve(root)
    ui.open(board.base + "?tab=profile")
    empty = ui.page.get_by_test_id("empty-state")
    expect(empty).to_contain_text("No profiler traces yet")
    expect(empty).to_contain_text("tensorboard_trace_handler")
    ui.screenshot("empty")
    write_trace(root / "later", "w0", 1_700_000_000_000, synthetic_trace(0))
    expect(ui.page.get_by_test_id("stat-steps")).to_contain_text("4", timeout=20_000)
    expect(ui.page.get_by_test_id("profile-run")).to_have_value("later")
