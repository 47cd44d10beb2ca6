"""The Histograms and Distributions dashboards in a real browser.

Each test writes its own log directory: the same histogram tag from lumiboard's SummaryWriter
(legacy ``HistogramProto``), lumiboard's TF2-style ``summary.histogram`` (``[k, 3]`` tensors) and
``torch.utils.tensorboard``. Every run's values are ``normal(OFFSET[run] + SHIFT * step, 1)``, so
the drawn geometry is known: a later step's curve is centred further right, its ridge sits lower
(in front), and a distribution's median rises with the step.
"""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from e2e_support import UI, Server, chromatic, rgb
from PIL import Image
from playwright.sync_api import Locator, expect

from lumiboard import SummaryWriter, summary

STEPS = 10
SHIFT = 0.5
OFFSET = {"lumi": 0.0, "tf2": 2.0, "torch": -2.0}
RUNS = sorted(OFFSET)


def _values(run: str, step: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(OFFSET[run] + SHIFT * step, 1.0, 2_000)


def _write_logdir(root: Path) -> None:
    rng = np.random.default_rng(3)
    with SummaryWriter(str(root / "lumi")) as writer:
        for step in range(STEPS):
            writer.add_histogram("layer/weights", _values("lumi", step, rng), step)
    tf2 = summary.create_file_writer(str(root / "tf2"))
    with tf2.as_default():
        for step in range(STEPS):
            summary.histogram("layer/weights", _values("tf2", step, rng), step=step)
    tf2.close()
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    writer = torch_tb.SummaryWriter(str(root / "torch"))
    for step in range(STEPS):
        writer.add_histogram("layer/weights", _values("torch", step, rng), step)
    writer.close()


@pytest.fixture
def board(tmp_path: Path, serve: Any) -> Server:
    logdir = tmp_path / "logs"
    _write_logdir(logdir)
    server: Server = serve(logdir)
    return server


def _url(server: Server, **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{server.base}?{query}"


def _paths(card: Locator) -> list[dict[str, Any]]:
    """Every histogram path of a card: step, run, time, mean x, stroke and bounding box."""
    result: list[dict[str, Any]] = card.locator("[data-testid=hist-path]").evaluate_all(
        """els => els.map((e) => {
          const box = e.getBBox();
          return {step: Number(e.dataset.step), run: e.dataset.run, time: Number(e.dataset.time),
                  meanX: Number(e.dataset.meanX), d: e.getAttribute('d'),
                  stroke: getComputedStyle(e).stroke,
                  top: box.y, bottom: box.y + box.height, left: box.x, right: box.x + box.width};
        })"""
    )
    return result


def _wait_paths(ui: UI, selector: str, count: int) -> None:
    ui.page.wait_for_function(
        "([sel, n]) => { const c = [...document.querySelectorAll(sel)];"
        " return c.length > 0 && c.every((e) => e.querySelectorAll("
        "'[data-testid=hist-path]').length === n); }",
        arg=[selector, count],
    )
    ui.settle()


def test_histogram_cards_offset_overlay_and_compare(ui: UI, board: Server) -> None:
    ui.open(_url(board, tab="histograms"))
    page = ui.page
    cards = page.get_by_test_id("histogram-card")
    expect(cards).to_have_count(len(RUNS))
    assert sorted(cards.evaluate_all("els => els.map((e) => e.dataset.run)")) == RUNS
    _wait_paths(ui, "[data-testid=histogram-card]", STEPS)
    colors = {run: ui.run_color(run) for run in RUNS}
    assert len(set(colors.values())) == len(RUNS)

    # Offset mode: one path per step, later steps centred further right and drawn lower.
    for run in RUNS:
        card = page.locator(f"[data-testid=histogram-card][data-run='{run}']")
        expect(card.get_by_test_id("hist-chart")).to_have_attribute("data-mode", "offset")
        paths = sorted(_paths(card), key=lambda p: p["step"])
        assert [p["step"] for p in paths] == list(range(STEPS))
        means = [p["meanX"] for p in paths]
        assert means[-1] - means[0] > 100, means  # 4.5 units of shift over a ~10-unit range
        assert sum(b > a for a, b in itertools.pairwise(means)) >= STEPS - 2, means
        bottoms = [p["bottom"] for p in paths]
        assert bottoms == sorted(bottoms), bottoms
        assert bottoms[-1] - bottoms[0] > 80, bottoms
        assert {rgb(p["stroke"]) for p in paths} == {colors[run]}
        expect(card.get_by_test_id("card-count")).to_contain_text(f"{STEPS} histograms")
        expect(card.get_by_test_id("hist-chart")).to_have_attribute("data-look", "filled")
    ui.screenshot("offset")

    # Hover over the newest ridge of the TF2 run: its step, a bucket range and a count.
    card = page.locator("[data-testid=histogram-card][data-run='tf2']")
    newest = max(_paths(card), key=lambda p: p["step"])
    svg_box = card.get_by_test_id("hist-chart").bounding_box()
    assert svg_box is not None
    x = svg_box["x"] + newest["meanX"]
    page.mouse.move(x, svg_box["y"] + newest["bottom"] - 10)
    tooltip = card.get_by_test_id("hist-tooltip")
    expect(tooltip).to_be_visible()
    expect(card.get_by_test_id("hist-tooltip-step")).to_have_text(f"step {STEPS - 1}")
    count = float(card.get_by_test_id("hist-tooltip-count").inner_text())
    assert count > 10, count
    assert re.fullmatch(
        r"\[-?[\d.e+-]+, -?[\d.e+-]+\)", card.get_by_test_id("hist-tooltip-range").inner_text()
    )
    expect(card.get_by_test_id("hist-hover-path")).to_have_attribute("data-step", str(STEPS - 1))
    expect(card.get_by_test_id("hist-hover-line")).to_have_count(1)
    # An auto-reload (nothing new: a 304) keeps the hover; new steps too (test_browser_live).
    ui.wait_reloads("/plugin/histograms/multirun")
    expect(tooltip).to_be_visible()
    expect(card.get_by_test_id("hist-tooltip-step")).to_have_text(f"step {STEPS - 1}")
    expect(card.get_by_test_id("hist-hover-path")).to_have_attribute("data-step", str(STEPS - 1))
    ui.screenshot("hover")
    page.mouse.move(0, 0)
    expect(tooltip).to_have_count(0)

    # Overlay mode: every curve on one baseline; the drawing changes.
    before = {p["step"]: p["d"] for p in _paths(card)}
    page.get_by_test_id("hist-mode").locator("[data-value=overlay]").click()
    expect(card.get_by_test_id("hist-chart")).to_have_attribute("data-mode", "overlay")
    ui.settle()
    after = _paths(card)
    assert all(before[p["step"]] != p["d"] for p in after)
    assert max(p["bottom"] for p in after) - min(p["bottom"] for p in after) < 1
    expect(card.get_by_test_id("hist-count-axis")).to_have_count(1)
    ui.screenshot("overlay")

    # Time axis: relative seconds instead of steps.
    page.get_by_test_id("time-axis").locator("[data-value=relative]").click()
    ui.settle()
    times = sorted(p["time"] for p in _paths(card))
    assert times[0] == 0, times
    assert times[-1] < 60, times

    # Compare runs: one card per tag, one colour per run.
    page.get_by_test_id("hist-mode").locator("[data-value=offset]").click()
    page.get_by_test_id("time-axis").locator("[data-value=step]").click()
    page.get_by_test_id("hist-layout").locator("[data-value=tag]").click()
    expect(cards).to_have_count(1)
    _wait_paths(ui, "[data-testid=histogram-card]", STEPS * len(RUNS))
    compare = cards.first
    expect(compare).to_have_attribute("data-runs", str(len(RUNS)))
    paths = _paths(compare)
    assert {p["run"] for p in paths} == set(RUNS)
    # Offset mode draws a row per run (small multiples) on one shared value range.
    expect(compare.get_by_test_id("hist-row")).to_have_count(len(RUNS))
    for run in RUNS:
        assert {rgb(p["stroke"]) for p in paths if p["run"] == run} == {colors[run]}
    # The runs' offsets show: torch (-2) left of lumi (0) left of tf2 (+2), at every step.
    for step in range(STEPS):
        at = {p["run"]: p["meanX"] for p in paths if p["step"] == step}
        assert at["torch"] < at["lumi"] < at["tf2"], (step, at)
    ui.screenshot("compare")


def test_distributions_bands_nested_and_hover(ui: UI, board: Server) -> None:
    ui.open(_url(board, tab="distributions"))
    page = ui.page
    cards = page.get_by_test_id("distribution-card")
    expect(cards).to_have_count(len(RUNS))
    page.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=dist-chart]')].length === n",
        arg=len(RUNS),
    )
    ui.settle()
    for run in RUNS:
        card = page.locator(f"[data-testid=distribution-card][data-run='{run}']")
        expect(card.get_by_test_id("dist-chart")).to_have_attribute("data-points", str(STEPS))
        bands: list[dict[str, Any]] = card.locator("[data-band]").evaluate_all(
            """els => els.map((e) => { const b = e.getBBox();
              return {band: e.dataset.band, fill: getComputedStyle(e).fill,
                      stroke: getComputedStyle(e).stroke, d: e.getAttribute('d'),
                      top: b.y, bottom: b.y + b.height, left: b.x, right: b.x + b.width}; })"""
        )
        assert [b["band"] for b in bands] == ["minmax", "1.5", "1.0", "0.5", "median"]
        # Nested: each band inside the one before it, and strictly thinner.
        for outer, inner in itertools.pairwise(bands[:4]):
            assert outer["top"] <= inner["top"] + 0.5
            assert inner["bottom"] <= outer["bottom"] + 0.5
            assert inner["bottom"] - inner["top"] < outer["bottom"] - outer["top"]
        color = ui.run_color(run)
        assert all(rgb(b["fill"]) == color for b in bands[:4])
        assert rgb(bands[4]["stroke"]) == color
        # The median rises with the step (y grows downwards): the last point is higher.
        points = [tuple(map(float, p.split(","))) for p in bands[4]["d"][1:].split("L")]
        assert len(points) == STEPS
        assert points[-1][0] > points[0][0], points
        assert points[0][1] - points[-1][1] > 40, points
    ui.screenshot("bands")

    card = page.locator("[data-testid=distribution-card][data-run='lumi']")
    box = card.get_by_test_id("dist-chart").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 20, box["y"] + box["height"] / 2)
    expect(card.get_by_test_id("dist-tooltip")).to_be_visible()
    expect(card.get_by_test_id("dist-tooltip-step")).to_have_text(f"step {STEPS - 1}")
    rows = card.get_by_test_id("dist-tooltip-row")
    expect(rows).to_have_count(9)
    values = [float(t.split()[-1].replace("−", "-")) for t in rows.all_inner_texts()]
    assert values == sorted(values, reverse=True)  # max first, min last
    median = values[4]
    assert abs(median - SHIFT * (STEPS - 1)) < 0.2, values
    ui.screenshot("hover")

    # The wall-time axis moves nothing but the labels.
    page.get_by_test_id("time-axis").locator("[data-value=wall_time]").click()
    ui.settle()
    expect(card.get_by_test_id("dist-chart")).to_have_attribute("data-points", str(STEPS))


def test_dark_mode_and_empty_states(ui: UI, board: Server, tmp_path: Path, serve: Any) -> None:
    ui.open(_url(board, tab="histograms", darkMode="true"))
    page = ui.page
    _wait_paths(ui, "[data-testid=histogram-card]", STEPS)
    card = page.get_by_test_id("histogram-card").first
    background = rgb(card.evaluate("(el) => getComputedStyle(el).backgroundColor"))
    assert max(background) < 80, background
    label = card.locator("[data-testid=hist-value-axis] text").first
    assert min(rgb(label.evaluate("(el) => getComputedStyle(el).fill"))) > 100
    ui.screenshot("dark")

    # No run selected: a notice instead of cards.
    for run in RUNS:
        page.locator(f"[data-testid=run-row][data-run='{run}'] [data-testid=run-checkbox]").click()
    expect(page.get_by_test_id("no-runs-selected")).to_be_visible()
    expect(page.get_by_test_id("histogram-card")).to_have_count(0)

    # A log directory without histograms: the empty state with the writer line.
    empty = tmp_path / "scalars_only"
    with SummaryWriter(str(empty / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    other: Server = serve(empty)
    ui.open(_url(other, tab="distributions"))
    expect(page.get_by_test_id("empty-state")).to_contain_text(
        'writer.add_histogram("weights", w, step)'
    )


# A ridge's fill as the browser paints it: the computed colour (color-mix) drawn on a canvas.
_FILLS = """els => els.map((e) => {
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.fillStyle = getComputedStyle(e).fill;
  ctx.fillRect(0, 0, 1, 1);
  return {step: Number(e.dataset.step), rgb: [...ctx.getImageData(0, 0, 1, 1).data.slice(0, 3)]};
})"""


def _distance(a: Any, b: Any) -> float:
    return float(np.linalg.norm(np.array(a, dtype=float) - np.array(b, dtype=float)))


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_filled_shaded_ridges_and_outline_option(ui: UI, board: Server, dark: bool) -> None:
    ui.open(_url(board, tab="histograms", **({"darkMode": "true"} if dark else {})))
    page = ui.page
    page.evaluate("() => localStorage.removeItem('lumiboard.histograms')")
    _wait_paths(ui, "[data-testid=histogram-card]", STEPS)
    card = page.locator("[data-testid=histogram-card][data-run='lumi']")
    chart = card.get_by_test_id("hist-chart")
    expect(chart).to_have_attribute("data-look", "filled")
    background = rgb(card.evaluate("(el) => getComputedStyle(el).backgroundColor"))
    color = ui.run_color("lumi")

    # Shaded by step: every ridge is filled, later ones nearer the run's colour, all off the panel.
    fills = sorted(
        card.locator("[data-testid=hist-path]").evaluate_all(_FILLS), key=lambda f: f["step"]
    )
    to_run = [_distance(f["rgb"], color) for f in fills]
    assert to_run == sorted(to_run, reverse=True), to_run
    assert to_run[0] - to_run[-1] > 40, to_run
    assert min(_distance(f["rgb"], background) for f in fills) > 25, (fills, background)

    # Inside the newest ridge, just above its zero line at its mean: the fill, not the panel.
    newest = max(_paths(card), key=lambda p: p["step"])
    image = np.asarray(Image.open(io.BytesIO(chart.screenshot())).convert("RGB")).astype(int)
    inside = image[int(newest["bottom"] - 6), int(newest["meanX"])]
    assert _distance(inside, background) > 60, (inside, background)
    filled = chromatic(image, 40)
    ui.screenshot("filled-dark" if dark else "filled")

    # "Outline only": today's look, the same ridges with far fewer coloured pixels.
    page.get_by_test_id("hist-outline").check()
    expect(chart).to_have_attribute("data-look", "outline")
    ui.settle()
    outline = chromatic(
        np.asarray(Image.open(io.BytesIO(chart.screenshot())).convert("RGB")).astype(int), 40
    )
    assert filled > 3 * outline, (filled, outline)
    ui.screenshot("outline-dark" if dark else "outline")
    # The choice is remembered.
    page.reload()
    _wait_paths(ui, "[data-testid=histogram-card]", STEPS)
    expect(page.get_by_test_id("hist-outline")).to_be_checked()
    page.get_by_test_id("hist-outline").uncheck()


SIX = [f"seed_{i}" for i in range(6)]


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_compare_six_runs_one_row_each(ui: UI, tmp_path: Path, serve: Any, dark: bool) -> None:
    rng = np.random.default_rng(5)
    for i, run in enumerate(SIX):
        with SummaryWriter(str(tmp_path / "six" / run)) as writer:
            for step in range(STEPS):
                writer.add_histogram("w", rng.normal(i * 0.4 + SHIFT * step, 1.0, 1_000), step)
    server: Server = serve(tmp_path / "six")
    ui.open(_url(server, tab="histograms", **({"darkMode": "true"} if dark else {})))
    page = ui.page
    page.get_by_test_id("hist-layout").locator("[data-value=tag]").click()
    cards = page.get_by_test_id("histogram-card")
    expect(cards).to_have_count(1)
    _wait_paths(ui, "[data-testid=histogram-card]", STEPS * len(SIX))
    rows = cards.first.get_by_test_id("hist-row")
    expect(rows).to_have_count(len(SIX))
    assert rows.evaluate_all("els => els.map((e) => e.dataset.run)") == SIX
    boxes = [rows.nth(i).get_by_test_id("hist-chart").bounding_box() for i in range(len(SIX))]
    for upper, lower in itertools.pairwise(boxes):
        assert upper is not None
        assert lower is not None
        assert lower["y"] >= upper["y"] + upper["height"], (upper, lower)  # rows never overlap
        assert lower["width"] == upper["width"]
    for i, run in enumerate(SIX):
        row = rows.nth(i)
        expect(row.get_by_test_id("hist-chart")).to_have_attribute("data-look", "filled")
        assert set(
            row.locator("[data-testid=hist-path]").evaluate_all(
                "els => els.map((e) => e.dataset.run)"
            )
        ) == {run}
    # One shared value range: the runs' offsets (0.4 apart) show as ridges further right per row.
    means = [max(_paths(rows.nth(i)), key=lambda p: p["step"])["meanX"] for i in range(len(SIX))]
    assert means == sorted(means), means
    assert means[-1] - means[0] > 40, means
    cards.first.scroll_into_view_if_needed()
    ui.screenshot("compare-six-dark" if dark else "compare-six")
