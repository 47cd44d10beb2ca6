"""The PR Curves dashboard in a real browser, on curves written by lumiboard and torch.

Each run's curve is an SVG ``<path data-run=...>``: the tests read its geometry, move a run's
step slider and check that only that run's path changes, hover a point for the tooltip, zoom
and reset, and switch to dark mode.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from e2e_support import UI, Server, rgb
from playwright.sync_api import expect

from lumiboard import SummaryWriter

STEPS = 3


def _curve_data(seed: int, quality: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores; higher ``quality`` separates the classes better."""
    rng = np.random.default_rng(seed)
    labels = rng.random(400) < 0.5
    scores = np.clip(labels * quality + rng.random(400) * (1 - quality), 0, 1)
    return labels, scores.astype(np.float32)


def _write(root: Path) -> None:
    with SummaryWriter(str(root / "lumi")) as writer:
        for step in range(STEPS):
            writer.add_pr_curve("pr", *_curve_data(step, 0.1 + 0.3 * step), step)
        writer.add_scalar("loss", 1.0, 0)
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    torch_writer = torch_tb.SummaryWriter(str(root / "torch"))
    for step in range(STEPS):
        torch_writer.add_pr_curve("pr", *_curve_data(100 + step, 0.6 - 0.2 * step), step * 10)
    torch_writer.close()


def _path_points(ui: UI, run: str) -> list[tuple[float, float]]:
    d = ui.page.locator(f"[data-testid=pr-curve][data-run='{run}']").get_attribute("d") or ""
    return [(float(x), float(y)) for x, y in re.findall(r"[ML]([-\d.]+),([-\d.]+)", d)]


def _open(ui: UI, server: Server) -> None:
    ui.open(server.base + "?tab=pr_curves")
    ui.page.get_by_test_id("pr-card").first.wait_for()
    ui.page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=pr-curve]').length === 2"
    )


def test_curves_per_run_slider_tooltip_zoom(ui: UI, serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path / "logs")
    server = serve(tmp_path / "logs")
    _open(ui, server)
    page = ui.page
    card = page.get_by_test_id("pr-card")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("pr-chart")).to_have_attribute("data-runs", "2")

    # One path per run, in the run's colour, spanning recall from ~0 to 1 (left to right).
    frame = page.locator(".pr-frame")
    fx, fw = float(frame.get_attribute("x") or 0), float(frame.get_attribute("width") or 0)
    for run in ("lumi", "torch"):
        path = page.locator(f"[data-testid=pr-curve][data-run='{run}']")
        points = _path_points(ui, run)
        assert len(points) > 20, run
        xs = [x for x, _ in points]
        assert min(xs) < fx + 0.05 * fw, run
        assert max(xs) > fx + 0.95 * fw, run
        stroke = path.evaluate("(el) => getComputedStyle(el).stroke")
        assert rgb(stroke) == ui.run_color(run)
        # The latest step by default.
        expect(path).to_have_attribute("data-step", "2" if run == "lumi" else "20")

    # Moving lumi's slider to the first step changes lumi's curve only.
    before_lumi, before_torch = _path_points(ui, "lumi"), _path_points(ui, "torch")
    slider = page.locator("[data-testid=pr-slider][data-run='lumi']")
    slider.fill("0")
    lumi_path = page.locator("[data-testid=pr-curve][data-run='lumi']")
    expect(lumi_path).to_have_attribute("data-step", "0")
    assert _path_points(ui, "lumi") != before_lumi
    assert _path_points(ui, "torch") == before_torch
    label = page.locator(
        "[data-testid=pr-slider-row][data-run='lumi'] [data-testid=pr-slider-label]"
    )
    expect(label).to_have_text("step 0")
    page.get_by_test_id("pr-time-display").select_option("relative")
    expect(label).to_have_text(re.compile(r"^\d+ ms$|^0 ms$"))
    page.get_by_test_id("pr-time-display").select_option("wall_time")
    expect(label).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"))
    ui.screenshot("slider-moved")

    # Hover a point of torch's curve: the tooltip names the run and shows the counts.
    svg = page.get_by_test_id("pr-svg")
    box = svg.bounding_box()
    assert box is not None
    x, y = _path_points(ui, "torch")[len(_path_points(ui, "torch")) // 2]
    scale = box["width"] / 440
    page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
    tooltip = page.get_by_test_id("pr-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip.get_by_test_id("pr-tooltip-run")).to_have_text("torch")
    for name in ("threshold", "precision", "recall", "tp", "fp", "tn", "fn"):
        expect(tooltip.get_by_test_id(f"pr-tooltip-{name}")).to_be_visible()
    counts = [
        int(tooltip.get_by_test_id(f"pr-tooltip-{n}").locator("td").inner_text().replace(",", ""))
        for n in ("tp", "fp", "tn", "fn")
    ]
    assert sum(counts) == 400  # every example is counted once at any threshold
    ui.screenshot("tooltip")

    # Drag to zoom: the same curve spreads over more of the plot; reset brings it back.
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.1)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.5, steps=5)
    page.mouse.up()
    expect(card.get_by_test_id("zoom-badge")).to_be_visible()
    zoomed = _path_points(ui, "torch")
    assert zoomed != before_torch
    card.get_by_test_id("pr-reset").click()
    expect(card.get_by_test_id("zoom-badge")).to_be_hidden()
    assert _path_points(ui, "torch") == before_torch


def test_follows_run_selection_and_dark_mode(ui: UI, serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path / "logs")
    server = serve(tmp_path / "logs")
    _open(ui, server)
    page = ui.page
    page.locator("[data-testid=run-checkbox][data-run='torch']").uncheck()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=pr-curve]').length === 1")
    expect(page.locator("[data-testid=pr-curve]")).to_have_attribute("data-run", "lumi")

    page.get_by_test_id("dark-mode").select_option("dark")
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('[data-testid=pr-card]'))"
        ".backgroundColor !== 'rgb(255, 255, 255)'"
    )
    card_bg = rgb(
        page.get_by_test_id("pr-card").evaluate("(el) => getComputedStyle(el).backgroundColor")
    )
    tick = rgb(page.locator(".pr-tick").first.evaluate("(el) => getComputedStyle(el).fill"))
    assert sum(card_bg) / 3 < 60
    assert sum(tick) / 3 > sum(card_bg) / 3 + 60  # axis labels stay readable
    ui.screenshot("dark")


def test_empty_state(ui: UI, serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with SummaryWriter(str(tmp_path / "logs" / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    server = serve(tmp_path / "logs")
    ui.open(server.base + "?tab=pr_curves")
    empty = ui.page.get_by_test_id("empty-state")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("add_pr_curve")
