"""The runs panel at 200+ runs, and the run colours (issue 16).

Run colours: the first 10 runs' swatches, read from the DOM, pairwise at least 20 apart in
CIEDE2000 in the light and the dark theme (the formula is implemented here independently of the
app's ``ciede2000.ts``). The list: sorted by time / A→Z / Z→A / an hparam column, names cut in the
middle (the suffix shows), one tab stop for the whole list with arrow keys between rows, torch's
``add_hparams`` sub-run folded into its parent. The panel: collapsed and resized widths survive a
reload; a rail on Profile and Projector. Screenshots in light and dark at 1440 px.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_support import UI, Server
from playwright.sync_api import Page, expect

from lumiboard import SummaryWriter

N_RUNS = 200
PREFIX = "sweep/lr_0.001_batch_64_dropout_0.25"


def run_name(i: int) -> str:
    return f"{PREFIX}/seed_{i:03d}"


@pytest.fixture
def many_runs(tmp_path: Path) -> tuple[Path, list[str]]:
    """200 runs of 2 points, written in a shuffled order (their time order), plus a run with
    hparams written the way torch's ``add_hparams`` does (a ``<run>/<time.time()>`` sub-run)."""
    root = tmp_path / "logs"
    order = [run_name(i) for i in range(N_RUNS)]
    random.Random(7).shuffle(order)
    wall = 1_700_000_000.0
    for k, run in enumerate(order):
        with SummaryWriter(root / run) as writer:
            for step in range(2):
                writer.add_scalar(
                    "loss", 1.0 / (step + 1 + k), step, walltime=wall + k + step * 0.1
                )
    tuned = "tuned"
    with SummaryWriter(root / tuned) as writer:
        writer.add_scalar("loss", 0.5, 0, walltime=wall + N_RUNS + 1)
        writer.add_hparams({"lr": 0.03, "depth": 4}, {"hparam/accuracy": 0.91})
    return root, [*order, tuned]


def serve_loaded(serve: Callable[..., Server], root: Path) -> Server:
    """A server over ``root`` once it lists every run (the 200, ``tuned`` and its sub-run): the
    colours of runs still arriving may move, by design, while the server reads the directory."""
    board = serve(root)
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(board.base + "data/runs") as answer:
            if len(json.load(answer)) == N_RUNS + 2:
                return board
        assert time.monotonic() < deadline, "the server did not list every run"
        time.sleep(0.1)


def srgb_to_lab(hex_color: str) -> tuple[float, float, float]:
    value = int(hex_color[1:], 16)
    linear = []
    for shift in (16, 8, 0):
        c = ((value >> shift) & 255) / 255
        linear.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = linear
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def ciede2000(lab1: tuple[float, float, float], lab2: tuple[float, float, float]) -> float:
    """Sharma, Wu and Dalal (2005), with kL = kC = kH = 1."""
    l1, a1, b1 = lab1
    l2, a2, b2 = lab2
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = l2 - l1, c2p - c1p
    dh = 0.0
    if c1p * c2p:
        dh = h2p - h1p
        dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    d_big_h = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    if not c1p * c2p:
        h_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_mean = (h1p + h2p) / 2
    else:
        h_mean = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(h_mean - 30))
        + 0.24 * math.cos(math.radians(2 * h_mean))
        + 0.32 * math.cos(math.radians(3 * h_mean + 6))
        - 0.20 * math.cos(math.radians(4 * h_mean - 63))
    )
    d_theta = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * math.sqrt(cp_mean**7 / (cp_mean**7 + 25**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -math.sin(math.radians(2 * d_theta)) * r_c
    tl, tc, th = dl / s_l, dc / s_c, d_big_h / s_h
    return math.sqrt(tl * tl + tc * tc + th * th + r_t * tc * th)


def test_ciede2000_matches_published_pairs() -> None:
    # Sharma et al. (2005), Table 1, a few rows.
    for lab1, lab2, expected in [
        ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
        ((50, 0, 0), (50, -1, 2), 2.3669),
        ((50, 2.5, 0), (73, 25, -18), 27.1492),
        ((50, 2.5, 0), (56, -27, -3), 31.9030),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ]:
        assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def swatch_colors(page: Page, count: int) -> list[str]:
    """The first ``count`` rows' colours as the swatches paint them (computed background)."""
    css: list[str] = page.evaluate(
        """(n) => [...document.querySelectorAll('[data-testid=run-row] .run__swatch')]
             .slice(0, n).map((el) => getComputedStyle(el).backgroundColor)""",
        count,
    )
    out = []
    for value in css:
        r, g, b = (
            int(float(v)) for v in value[value.index("(") + 1 : value.index(")")].split(",")[:3]
        )
        out.append(f"#{r:02x}{g:02x}{b:02x}")
    return out


def min_pairwise(colors: list[str]) -> float:
    labs = [srgb_to_lab(c) for c in colors]
    return min(ciede2000(a, b) for a, b in itertools.combinations(labs, 2))


def rows(page: Page) -> list[str]:
    names: list[str] = page.locator("[data-testid=run-row]").evaluate_all(
        "(els) => els.map((e) => e.dataset.run)"
    )
    return names


def test_first_ten_run_colours_are_far_apart_in_both_themes(
    ui: UI, many_runs: tuple[Path, list[str]], serve: Callable[..., Server]
) -> None:
    root, _order = many_runs
    board = serve_loaded(serve, root)
    page = ui.page
    page.set_viewport_size({"width": 1440, "height": 900})
    figures = {}
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        ui.open(board.base + "?tab=scalars")
        expect(page.get_by_test_id("run-row")).to_have_count(N_RUNS + 1)
        colors = swatch_colors(page, 10)
        assert len(set(colors)) == 10
        figures[theme] = min_pairwise(colors)
        assert figures[theme] >= 20, (theme, colors)
        # Stable across reloads: the same run, the same colour.
        page.reload()
        expect(page.get_by_test_id("run-row")).to_have_count(N_RUNS + 1)
        assert swatch_colors(page, 10) == colors
        ui.settle()
        ui.screenshot(f"1440-{theme}")
    print("min pairwise CIEDE2000 of the first 10 runs:", figures)
    # Colour by experiment is one click from the panel (not inside a closed disclosure).
    button = page.get_by_test_id("runs-colorby-experiment")
    expect(button).to_be_visible()
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")


def test_runs_list_scales_to_200_runs(
    ui: UI, many_runs: tuple[Path, list[str]], serve: Callable[..., Server]
) -> None:
    root, order = many_runs
    board = serve_loaded(serve, root)
    page = ui.page
    page.set_viewport_size({"width": 1440, "height": 900})
    ui.open(board.base + "?tab=scalars")
    row = page.get_by_test_id("run-row")
    expect(row).to_have_count(N_RUNS + 1)

    # The add_hparams sub-run is folded into its parent: no row of its own.
    assert not any(r.startswith("tuned/") for r in rows(page))
    assert "tuned" in rows(page)

    # Middle truncation: the head is cut, the suffix shows whole; the full name on hover.
    first = row.first
    tail = first.locator(".run__name-tail")
    expect(tail).to_have_text(f"/{order[0].rsplit('/', 1)[1]}")
    assert tail.evaluate("(el) => el.scrollWidth <= el.clientWidth + 1")
    assert first.locator(".run__name-head").evaluate("(el) => el.scrollWidth > el.clientWidth")
    assert (first.get_by_test_id("run-name").get_attribute("title") or "").startswith(order[0])

    # Sort: by time (the order written), A→Z, Z→A, by an hparam column.
    assert rows(page) == order
    sort = page.get_by_test_id("runs-sort")
    sort.select_option("name")
    expect(row.first).to_have_attribute("data-run", run_name(0))
    assert rows(page) == sorted(order)
    sort.select_option("name-desc")
    expect(row.first).to_have_attribute("data-run", "tuned")
    assert rows(page) == sorted(order, reverse=True)
    sort.select_option("col:desc:h:lr")
    expect(row.first).to_have_attribute("data-run", "tuned")
    # The parent shows the sub-run's hyperparameter in its column.
    cell = page.locator(
        "[data-testid=run-row][data-run='tuned'] [data-testid=run-cell][data-col='h:lr']"
    )
    expect(cell).to_have_text("0.03")
    ui.screenshot("sorted-by-lr")
    sort.select_option("time")
    expect(row.first).to_have_attribute("data-run", order[0])

    # One tab stop for the list: Tab enters on a row's checkbox, the next Tab leaves the list.
    tab_stops = page.locator("[data-testid=runs-list] [tabindex='0']")
    expect(tab_stops).to_have_count(1)
    page.get_by_test_id("runs-sort").focus()
    focused_run = (
        "() => document.activeElement?.closest('[data-testid=run-row]')?.dataset.run ?? null"
    )
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate(focused_run) is not None:
            break
    assert page.evaluate(focused_run) == order[0]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused_run) == order[2]
    page.keyboard.press("ArrowUp")
    assert page.evaluate(focused_run) == order[1]
    # Space toggles the focused row's checkbox.
    checkbox = page.locator(f"[data-testid=run-checkbox][data-run='{order[1]}']")
    expect(checkbox).to_be_checked()
    page.keyboard.press("Space")
    expect(checkbox).not_to_be_checked()
    page.keyboard.press("Space")
    expect(checkbox).to_be_checked()
    page.keyboard.press("End")
    assert page.evaluate(focused_run) == order[-1]
    page.keyboard.press("Tab")
    assert page.evaluate(focused_run) is None
    expect(tab_stops).to_have_count(1)


def test_panel_collapses_resizes_and_steps_aside_on_canvas_dashboards(
    ui: UI, many_runs: tuple[Path, list[str]], serve: Callable[..., Server]
) -> None:
    root, _ = many_runs
    board = serve_loaded(serve, root)
    page = ui.page
    page.set_viewport_size({"width": 1440, "height": 900})
    ui.open(board.base + "?tab=scalars")
    panel = page.get_by_test_id("runs-panel")
    expect(panel).to_have_attribute("data-collapsed", "false")

    # Resize by dragging the handle; the width survives a reload.
    handle = page.get_by_test_id("runs-panel-resize").bounding_box()
    assert handle is not None
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + 200
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y, steps=4)
    page.mouse.move(x + 120, y, steps=4)
    page.mouse.up()
    width = panel.bounding_box()
    assert width is not None
    assert width["width"] > 360
    page.reload()
    page.get_by_test_id("dashboard").wait_for()
    after = page.get_by_test_id("runs-panel").bounding_box()
    assert after is not None
    assert abs(after["width"] - width["width"]) <= 2

    # Collapse; still collapsed after a reload; the dashboard takes the width.
    main_before = page.get_by_test_id("dashboard").bounding_box()
    page.get_by_test_id("runs-panel-toggle").click()
    expect(panel).to_have_attribute("data-collapsed", "true")
    page.reload()
    expect(page.get_by_test_id("runs-panel")).to_have_attribute("data-collapsed", "true")
    ui.settle()
    ui.screenshot("collapsed")
    main_after = page.get_by_test_id("dashboard").bounding_box()
    assert main_before
    assert main_after
    assert main_after["width"] > main_before["width"] + 300
    page.get_by_test_id("runs-panel-toggle").click()
    expect(page.get_by_test_id("runs-panel")).to_have_attribute("data-collapsed", "false")

    # A rail on Profile and Projector (their canvas gets the width), open again on Scalars.
    for tab in ("profile", "projector"):
        ui.open(board.base + f"?tab={tab}")
        expect(page.get_by_test_id("runs-panel")).to_have_attribute("data-collapsed", "true")
        rail = page.get_by_test_id("runs-panel").bounding_box()
        assert rail is not None
        assert rail["width"] <= 40
        expect(page.get_by_test_id("run-row")).to_have_count(0)
        ui.screenshot(f"{tab}-rail")
    ui.open(board.base + "?tab=scalars")
    expect(page.get_by_test_id("runs-panel")).to_have_attribute("data-collapsed", "false")
