"""The Scalars dashboard in a real browser, on the session's log directory: what the user sees."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from e2e_support import (
    ARTIFACTS,
    EVAL_EVERY,
    GROUPS,
    RUNS,
    TAGS,
    TRAIN_STEPS,
    UI,
    Server,
    chromatic,
    color_pixels,
    differing,
    loss_value,
    non_background,
    rgb,
    val_value,
)
from PIL import Image
from playwright.sync_api import expect

from lumiboard import summary

#: A drawn chart has at least this many pixels off the card's background (lines, axes, labels).
MIN_DRAWN = 2_000
#: A run's solid line covers at least this many pixels of its own colour.
MIN_LINE = 200


def test_charts_drawn_with_one_line_per_run(ui: UI, board: Server) -> None:
    ui.open(board.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))

    page = ui.page
    cards = page.get_by_test_id("scalar-card")
    assert sorted(cards.evaluate_all("els => els.map((e) => e.dataset.tag)")) == TAGS
    expect(page.get_by_test_id("tag-count")).to_have_text(f"{len(TAGS)} of {len(TAGS)} tags")
    expect(page.get_by_test_id("run-row")).to_have_count(len(RUNS))
    expect(page.get_by_test_id("runs-count")).to_have_text(f"{len(RUNS)} of {len(RUNS)} selected")
    # Every point, not sampled: 5 runs x 1,500 steps.
    expect(ui.card("loss/train").get_by_test_id("card-points")).to_have_text(
        f"{len(RUNS) * TRAIN_STEPS:,} points"
    )
    expect(ui.card("accuracy").get_by_test_id("card-points")).to_have_text(
        f"{len(RUNS) * TRAIN_STEPS // EVAL_EVERY:,} points"
    )

    colors = {run: ui.run_color(run) for run in RUNS}
    assert len(set(colors.values())) == len(RUNS), colors
    for tag in TAGS:
        image = ui.canvas(tag, shot=tag.replace("/", "_"))
        assert non_background(image, ui.background(tag)) > MIN_DRAWN, tag
        for run, color in colors.items():
            assert color_pixels(image, color) > MIN_LINE, (tag, run, color)


def test_smoothing_slider_changes_the_line(ui: UI, board: Server) -> None:
    ui.open(board.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    ui.open_settings()  # closed on first load
    page = ui.page
    slider = page.get_by_test_id("smoothing-slider")
    value = page.get_by_test_id("smoothing-input")
    color = ui.run_color("beta_seed2")

    slider.fill("0")
    expect(value).to_have_value("0")
    ui.settle()
    raw = ui.canvas("loss/train", shot="smoothing-0")

    slider.fill("0.95")
    expect(value).to_have_value("0.95")
    ui.settle()
    smooth = ui.canvas("loss/train", shot="smoothing-0.95")

    background = ui.background("loss/train")
    for image in (raw, smooth):
        assert non_background(image, background) > MIN_DRAWN
        assert chromatic(image) > MIN_DRAWN
    assert differing(raw, smooth) > 1_000
    # Unsmoothed, the noisy line zigzags over many more pixels than the smoothed one does (the
    # raw line behind it is faded, so not in the run's solid colour).
    assert color_pixels(raw, color) > 1.5 * color_pixels(smooth, color) > MIN_LINE

    # Typing the value does the same as the slider: back to 0 draws the unsmoothed line again.
    value.fill("0")
    value.press("Enter")
    expect(slider).to_have_value("0")
    page.wait_for_url(re.compile(r"[?&]smoothing=0(&|$)"))
    ui.settle()
    assert differing(ui.canvas("loss/train"), raw) < 50


def test_smoother_choice(ui: UI, board: Server) -> None:
    ui.open(board.base + "?smoothing=0.95")
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    ui.open_settings()  # closed on first load
    page = ui.page
    color = ui.run_color("beta_seed2")
    ema = ui.canvas("loss/train", shot="smoother-ema")
    smoother = page.get_by_test_id("smoother")
    expect(smoother).to_have_value("ema")
    seen = [ema]
    for method in ("twema", "running", "centered", "gaussian"):
        smoother.select_option(method)
        page.wait_for_url(re.compile(rf"[?&]smoother={method}(&|$)"))
        ui.settle()
        image = ui.canvas("loss/train", shot=f"smoother-{method}")
        assert chromatic(image) > MIN_DRAWN
        # Each smoother draws its own line (the time-weighted EMA equals the EMA on these evenly
        # spaced steps up to the server's reduction, so it is only compared with the others).
        for other in seen[1:]:
            assert differing(image, other) > 100, method
        seen.append(image)
    page.get_by_test_id("smoothing-input").fill("0")
    page.get_by_test_id("smoothing-input").press("Enter")
    ui.settle()
    raw = ui.canvas("loss/train")
    assert color_pixels(raw, color) > 1.5 * color_pixels(seen[-1], color) > MIN_LINE
    # The choice is in the URL: a reload keeps it.
    page.reload()
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    expect(page.get_by_test_id("smoother")).to_have_value("gaussian")


def test_colour_by_regex(ui: UI, board: Server) -> None:
    ui.open(board.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    page = ui.page
    before = {run: ui.run_color(run) for run in RUNS}
    assert len(set(before.values())) == len(RUNS)
    page.get_by_test_id("runs-colorby").locator("summary").click()
    box = page.get_by_test_id("runs-colorby-input")
    box.fill(r"(alpha|beta)_seed\d")
    same = """([a, b]) => {
      const value = (run) =>
        document.querySelector(`[data-testid=run-color][data-run='${run}']`).value;
      return value(a) === value(b);
    }"""
    page.wait_for_function(same, arg=["alpha_seed1", "alpha_seed3"])
    after = {run: ui.run_color(run) for run in RUNS}
    alphas = {after[run] for run in RUNS if run.startswith("alpha")}
    betas = {after[run] for run in RUNS if run.startswith("beta")}
    assert len(alphas) == 1
    assert len(betas) == 1
    assert alphas != betas
    # The chart draws with the shared colours.
    ui.settle()
    image = ui.canvas("loss/train", shot="colour-by-regex")
    for color in (*alphas, *betas):
        assert color_pixels(image, color) > MIN_LINE
    # An invalid regex is flagged and changes nothing; clearing it restores each run's colour.
    box.fill("(alpha")
    expect(box).to_have_attribute("aria-invalid", "true")
    assert {run: ui.run_color(run) for run in RUNS} == after
    box.fill("")
    page.wait_for_function(f"(args) => !({same})(args)", arg=["alpha_seed1", "alpha_seed3"])
    assert {run: ui.run_color(run) for run in RUNS} == before


def test_run_filter_and_checkbox_hide_lines(ui: UI, board: Server) -> None:
    ui.open(board.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    page = ui.page
    alphas = [run for run in RUNS if run.startswith("alpha")]
    colors = {run: ui.run_color(run) for run in RUNS}

    run_filter = page.get_by_test_id("run-filter")
    run_filter.fill("^alpha")
    run_filter.press("Enter")
    expect(page.get_by_test_id("run-row")).to_have_count(len(alphas))
    ui.wait_charts(cards=len(TAGS), runs=len(alphas))
    image = ui.canvas("loss/train", shot="filtered")
    for run in RUNS:
        drawn = color_pixels(image, colors[run])
        assert drawn > MIN_LINE if run in alphas else drawn < 5, (run, drawn)

    # An invalid regex is flagged and not applied: the last valid filter stays.
    run_filter.fill("^alpha(")
    expect(page.get_by_test_id("run-filter-error")).to_be_visible()
    ui.screenshot("invalid-regex")
    expect(page.get_by_test_id("run-row")).to_have_count(len(alphas))
    assert ui.runs_drawn("loss/train") == len(alphas)

    run_filter.fill("")
    run_filter.press("Enter")
    expect(page.get_by_test_id("run-filter-error")).to_have_count(0)
    expect(page.get_by_test_id("run-row")).to_have_count(len(RUNS))
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))

    # Unchecking a run removes its line from every chart.
    hidden = "beta_seed2"
    assert color_pixels(ui.canvas("loss/train"), colors[hidden]) > MIN_LINE
    page.locator(f"[data-testid=run-checkbox][data-run={hidden}]").uncheck()
    expect(page.get_by_test_id("runs-count")).to_have_text(
        f"{len(RUNS) - 1} of {len(RUNS)} selected"
    )
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS) - 1)
    image = ui.canvas("loss/train", shot="unchecked")
    assert color_pixels(image, colors[hidden]) < 5
    for run in RUNS:
        if run != hidden:
            assert color_pixels(image, colors[run]) > MIN_LINE, run

    # "none" hides every line, "all" brings them back.
    page.get_by_test_id("runs-select-none").click()
    expect(page.get_by_test_id("no-runs-selected")).to_be_visible()
    expect(page.get_by_test_id("scalar-card")).to_have_count(0)
    page.get_by_test_id("runs-select-all").click()
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))


def _grey_text(image: np.ndarray, background: tuple[int, int, int], darker: bool) -> int:
    """Grey (axis label) pixels much darker, or much lighter, than the background."""
    grey = image.max(axis=2) - image.min(axis=2) < 24
    delta = image.mean(axis=2) - np.mean(background)
    return int((grey & ((delta < -60) if darker else (delta > 60))).sum())


def test_dark_mode_switches_colours(ui: UI, board: Server) -> None:
    ui.open(board.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    page = ui.page
    body_color = "() => getComputedStyle(document.body).backgroundColor"

    light_css = page.evaluate(body_color)
    light_page = rgb(light_css)
    light_card = ui.background("loss/train")
    light = ui.canvas("loss/train", shot="light-chart")
    ui.screenshot("light")

    page.get_by_test_id("dark-mode").select_option("dark")
    page.wait_for_function(f"() => ({body_color})() !== {light_css!r}")
    ui.settle()
    dark_page = rgb(page.evaluate(body_color))
    dark_card = ui.background("loss/train")
    dark = ui.canvas("loss/train", shot="dark-chart")
    ui.screenshot("dark")

    assert sum(light_page) / 3 > 200, light_page
    assert sum(dark_page) / 3 < 60, dark_page
    assert sum(light_card) / 3 > 200
    assert sum(dark_card) / 3 < 60
    # The chart is still drawn, on the dark card, with every run's line.
    assert non_background(dark, dark_card) > MIN_DRAWN
    assert chromatic(dark) > MIN_DRAWN
    for run in RUNS:
        assert color_pixels(dark, ui.run_color(run)) > MIN_LINE, run
    # The axis labels follow the theme: grey text darker than the card on light, lighter on dark.
    assert _grey_text(light, light_card, darker=True) > 100
    assert _grey_text(light, light_card, darker=False) == 0
    assert _grey_text(dark, dark_card, darker=False) > 100
    assert _grey_text(dark, dark_card, darker=True) == 0
    assert differing(light, dark) > 10_000

    # The choice is in the URL (TensorBoard's darkMode key), so a copied link keeps it.
    page.wait_for_url(re.compile(r"[?&]darkMode=true"))
    page.get_by_test_id("dark-mode").select_option("light")
    page.wait_for_function(f"() => ({body_color})() === {light_css!r}")
    page.wait_for_url(re.compile(r"[?&]darkMode=false"))


def test_csv_download_holds_every_point(ui: UI, board: Server, tmp_path: Path) -> None:
    ui.open(board.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    page = ui.page
    card = ui.card("loss/train")
    run = "beta_seed1"

    card.get_by_test_id("card-download").click()
    menu = card.get_by_test_id("download-menu")
    expect(menu).to_be_visible()
    menu.get_by_test_id("download-run-select").select_option(run)
    expect(menu.get_by_test_id("download-run-csv")).to_have_attribute("data-run", run)
    ui.screenshot("menu")
    with page.expect_download() as download:
        menu.get_by_test_id("download-run-csv").click()
    path = tmp_path / "one.csv"
    download.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0] == ["Wall time", "Step", "Value"]
    body = rows[1:]
    assert len(body) == TRAIN_STEPS > 1_000
    assert [int(step) for _, step, _ in body] == list(range(TRAIN_STEPS))
    values = np.array([float(value) for _, _, value in body])
    expected = np.array([loss_value(run, s) for s in range(TRAIN_STEPS)], dtype=np.float32)
    np.testing.assert_allclose(values, expected, rtol=1e-6)

    with page.expect_download() as download:
        menu.get_by_test_id("download-all-csv").click()
    path = tmp_path / "all.csv"
    download.value.save_as(path)
    assert download.value.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0] == ["run", "step", "wall_time", "value"]
    body = rows[1:]
    assert len(body) == len(RUNS) * TRAIN_STEPS
    for name in RUNS:
        mine = [row for row in body if row[0] == name]
        assert [int(row[1]) for row in mine] == list(range(TRAIN_STEPS)), name
        expected = np.array([loss_value(name, s) for s in range(TRAIN_STEPS)], dtype=np.float32)
        np.testing.assert_allclose([float(row[3]) for row in mine], expected, rtol=1e-6)

    # The chart as a PNG: the canvas as drawn under the title, with a legend of every run.
    with page.expect_download() as download:
        menu.get_by_test_id("download-png").click()
    assert download.value.suggested_filename == "loss_train_chart.png"
    path = ARTIFACTS / f"{ui.name}-chart.png"
    download.value.save_as(path)
    image = np.asarray(Image.open(path).convert("RGB")).astype(np.int16)
    chart = ui.canvas("loss/train")
    height, width, _ = image.shape
    assert width >= chart.shape[1]
    assert height > chart.shape[0] + 30  # title and legend rows
    background = ui.background("loss/train")
    assert tuple(image[2, 2]) == background
    for name in RUNS:
        assert color_pixels(image, ui.run_color(name)) > MIN_LINE, name


def test_run_aggregation_draws_a_band(ui: UI, board: Server) -> None:
    # Unsmoothed: the band (alpha 0.2) is then the only faded fill of a group's colour.
    ui.open(board.base + "?smoothing=0")
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    ui.open_settings()  # closed on first load
    page = ui.page
    pane = page.get_by_test_id("aggregation")
    pane.get_by_test_id("group-by").select_option("regex")
    regex = pane.get_by_test_id("group-regex")
    regex.fill(r"(.*)_seed\d+")
    regex.press("Enter")
    expect(pane.get_by_test_id("group-band")).to_have_value("std")
    expect(pane.get_by_test_id("group-preview")).to_contain_text(f"{len(GROUPS)} groups")
    ui.wait_charts(cards=len(TAGS), runs=len(GROUPS))

    names = pane.locator(".group-preview__name").all_inner_texts()
    assert sorted(names) == GROUPS
    swatches = pane.locator("[data-testid=group-preview] .swatch").evaluate_all(
        "els => els.map((e) => getComputedStyle(e).backgroundColor)"
    )
    # Closed again, the pane gives the cards their width back (the band thresholds assume it).
    page.get_by_test_id("settings-toggle").click()
    expect(page.get_by_test_id("settings-pane")).to_have_count(0)
    ui.wait_charts(cards=len(TAGS), runs=len(GROUPS))
    image = ui.canvas("loss/train", shot="groups")
    background = np.array(ui.background("loss/train"))
    for name, css in zip(names, swatches, strict=True):
        color = np.array(rgb(css))
        assert color_pixels(image, tuple(color)) > MIN_LINE, name  # the mean line
        band = tuple(np.rint(0.2 * color + 0.8 * background).astype(int))
        assert color_pixels(image, band, tol=6) > 2_000, (name, band)  # the ± std band
    # The member runs' own lines are gone.
    for run in RUNS:
        if ui.run_color(run) not in [rgb(css) for css in swatches]:
            assert color_pixels(image, ui.run_color(run)) < 5, run

    # Hovered, a group's tooltip row gives its mean, ± std and how many runs contribute there.
    over = ui.card("loss/train").locator(".u-over")
    box = over.bounding_box()
    assert box is not None
    over.hover(position={"x": box["width"] * 0.5, "y": box["height"] * 0.5})
    tooltip = page.get_by_test_id("chart-tooltip")
    expect(tooltip).to_be_visible()
    summaries = tooltip.get_by_test_id("tooltip-note").filter(has_text=re.compile(r"^mean "))
    expect(summaries).to_have_count(len(GROUPS))
    members = {g: sum(run.startswith(f"{g}_seed") for run in RUNS) for g in GROUPS}
    for text in summaries.all_inner_texts():
        match = re.fullmatch(r"mean \S+ ± \S+ · (\d+) of (\d+) runs", text)
        assert match, text
        assert int(match[1]) == int(match[2]), text  # every seed runs the whole way
        assert int(match[2]) in members.values(), text
    ui.screenshot("group-tooltip")
    page.emulate_media(color_scheme="dark")
    ui.settle()
    over.hover(position={"x": box["width"] * 0.5 + 1, "y": box["height"] * 0.5})
    expect(summaries).to_have_count(len(GROUPS))
    ui.screenshot("group-tooltip-dark")


def test_deep_link_opens_the_view(ui: UI, board: Server) -> None:
    ui.open(board.base + "?tagFilter=loss&smoothing=0.9")
    matching = [tag for tag in TAGS if "loss" in tag]
    ui.wait_charts(cards=len(matching), runs=len(RUNS))
    ui.open_settings()  # closed on first load
    page = ui.page
    tags = page.get_by_test_id("scalar-card").evaluate_all("els => els.map((e) => e.dataset.tag)")
    assert sorted(tags) == matching
    expect(page.get_by_test_id("tag-filter")).to_have_value("loss")
    expect(page.get_by_test_id("tag-count")).to_have_text(f"{len(matching)} of {len(TAGS)} tags")
    expect(page.get_by_test_id("smoothing-input")).to_have_value("0.9")
    expect(page.get_by_test_id("smoothing-slider")).to_have_value("0.9")
    for tag in matching:
        assert non_background(ui.canvas(tag), ui.background(tag)) > MIN_DRAWN


def test_tag_filter_autocomplete(ui: UI, board: Server) -> None:
    ui.open(board.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    page = ui.page
    box = page.get_by_test_id("tag-filter")
    box.click()
    box.press_sequentially("los")
    options = page.get_by_test_id("tag-filter-suggestion")
    expect(options).to_have_text(["loss/train", "loss/val"])
    ui.screenshot("autocomplete")
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(box).to_have_value("^loss\\/val$")
    expect(options).to_have_count(0)
    ui.wait_charts(cards=1, runs=len(RUNS))
    assert ui.card("loss/val").is_visible()
    # A click picks too; Escape closes the list without changing the filter.
    box.fill("")
    box.press_sequentially("acc")
    options.first.click()
    expect(box).to_have_value("^accuracy$")
    ui.wait_charts(cards=1, runs=len(RUNS))
    box.fill("")
    box.press_sequentially("loss")
    expect(options).to_have_count(2)
    box.press("Escape")
    expect(options).to_have_count(0)
    expect(box).to_have_value("loss")


def _table_rows(card) -> list[dict[str, float | str]]:
    """The data table's rows, in display order: run name and the raw number behind each cell."""
    return card.get_by_test_id("data-table-row").evaluate_all(
        """rows => rows.map((r) => {
          const out = {run: r.dataset.run};
          for (const td of r.querySelectorAll('td[data-col]')) {
            if (td.dataset.value !== undefined) out[td.dataset.col] = Number(td.dataset.value);
          }
          return out;
        })"""
    )


def _f32(x: float) -> float:
    return float(np.float32(x))


def test_step_selection_data_table(ui: UI, board: Server) -> None:
    ui.open(board.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    ui.open_settings()  # closed on first load
    page = ui.page
    card = ui.card("loss/train")
    over = card.locator(".u-over")
    box = over.bounding_box()
    assert box is not None

    # A click (no drag) selects a step: the line is drawn and the table lists every shown run at
    # the point nearest to it, with the tooltip's columns.
    before = ui.canvas("loss/train")
    over.click(position={"x": box["width"] * 0.4, "y": box["height"] * 0.5})
    table = card.get_by_test_id("data-table")
    expect(table).to_be_visible()
    expect(table).to_have_attribute("data-mode", "step")
    heads = table.get_by_test_id("data-table-sort").all_inner_texts()
    assert heads == ["Run", "Smoothed", "Value", "Step", "Time", "Relative"], heads
    rows = _table_rows(card)
    assert sorted(r["run"] for r in rows) == sorted(RUNS)
    step = int(rows[0]["step"])
    assert 450 < step < 750, step
    expect(ui.chart_of("loss/train")).to_have_attribute("data-selection", str(step))
    for row in rows:
        assert row["step"] == step
        assert row["value"] == pytest.approx(_f32(loss_value(row["run"], step)), rel=1e-6)
    page.mouse.move(0, 0)
    ui.settle()
    assert differing(before, ui.canvas("loss/train", shot="step-line")) > 100  # the line

    # Sorting by a column header: ascending, then descending.
    value_head = table.locator("[data-testid=data-table-sort][data-col=value]")
    value_head.click()
    ascending = [r["run"] for r in _table_rows(card)]
    assert ascending == sorted(RUNS, key=lambda run: loss_value(run, step))
    value_head.click()
    expect(card.get_by_test_id("data-table-row").first).to_have_attribute("data-run", ascending[-1])
    assert [r["run"] for r in _table_rows(card)] == ascending[::-1]

    # Shift-click: the range [step, end] with start, end, change, min, max and mean per run.
    box = over.bounding_box()
    assert box is not None
    over.click(position={"x": box["width"] * 0.7, "y": box["height"] * 0.5}, modifiers=["Shift"])
    expect(table).to_have_attribute("data-mode", "range")
    ui.screenshot("data-table-range")
    rows = _table_rows(card)
    assert sorted(r["run"] for r in rows) == sorted(RUNS)
    end = int(rows[0]["endStep"])
    assert end > step + 200, (step, end)
    for row in rows:
        values = np.array(
            [loss_value(row["run"], s) for s in range(step, end + 1)], dtype=np.float32
        ).astype(np.float64)
        assert row["startStep"] == step
        assert row["start"] == pytest.approx(values[0], rel=1e-6)
        assert row["end"] == pytest.approx(values[-1], rel=1e-6)
        assert row["change"] == pytest.approx(values[-1] - values[0], rel=1e-5, abs=1e-6)
        assert row["min"] == pytest.approx(values.min(), rel=1e-6)
        assert row["max"] == pytest.approx(values.max(), rel=1e-6)
        assert row["mean"] == pytest.approx(values.mean(), rel=1e-6)

    # Escape clears it.
    page.keyboard.press("Escape")
    expect(card.get_by_test_id("data-table")).to_have_count(0)
    expect(ui.chart_of("loss/train")).not_to_have_attribute("data-selection", re.compile(".*"))

    # Without "Link by step" a selection is the card's own.
    over.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.5})
    expect(page.get_by_test_id("data-table")).to_have_count(1)
    card.get_by_test_id("data-table-close").click()
    expect(page.get_by_test_id("data-table")).to_have_count(0)

    # Link by step: one click puts the line and a table on every card.
    page.get_by_test_id("link-by-step").check()
    page.mouse.move(0, 0)
    ui.settle()
    val_before = ui.canvas("loss/val")
    accuracy = ui.card("accuracy").locator(".u-over")
    abox = accuracy.bounding_box()
    assert abox is not None
    accuracy.click(position={"x": abox["width"] * 0.5, "y": abox["height"] * 0.5})
    expect(page.get_by_test_id("data-table")).to_have_count(len(TAGS))
    expect(ui.chart_of("accuracy")).to_have_attribute("data-selection", re.compile(r"^\d+$"))
    linked = ui.chart_of("accuracy").get_attribute("data-selection")
    assert linked is not None
    assert int(linked) % EVAL_EVERY == 0
    for tag in TAGS:
        expect(ui.chart_of(tag)).to_have_attribute("data-selection", linked)
        expect(ui.card(tag).get_by_test_id("data-table-row")).to_have_count(len(RUNS))
    for row in _table_rows(ui.card("loss/val")):
        assert row["step"] == int(linked)
        assert row["value"] == pytest.approx(_f32(val_value(row["run"], int(linked))), rel=1e-6)
    page.mouse.move(0, 0)
    ui.settle()
    assert differing(val_before, ui.canvas("loss/val", shot="linked-line")) > 100
    ui.screenshot("data-table-linked")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("data-table")).to_have_count(0)
    page.get_by_test_id("link-by-step").uncheck()


def test_tooltip_row_limit(ui: UI, board: Server) -> None:
    ui.open(board.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    ui.open_settings()  # closed on first load
    page = ui.page
    limit = page.get_by_test_id("tooltip-limit")
    expect(limit).to_have_value("10")
    limit.fill("2")
    limit.press("Enter")
    over = ui.card("loss/train").locator(".u-over")
    box = over.bounding_box()
    assert box is not None
    over.hover(position={"x": box["width"] * 0.5, "y": box["height"] * 0.5})
    tooltip = page.get_by_test_id("chart-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip.locator("tbody tr:not(:has(.more))")).to_have_count(2)
    expect(tooltip.get_by_test_id("tooltip-more")).to_have_text(f"+{len(RUNS) - 2} more")
    ui.screenshot("tooltip-limit")
    limit.fill("10")
    limit.press("Enter")


def test_tag_description_shown_as_text(
    ui: UI, serve: Callable[..., Server], tmp_path: Path
) -> None:
    """The server sends a description as sanitized HTML (as TensorBoard); the card shows its
    text, entities decoded and markup inert."""
    logdir = tmp_path / "logs"
    with summary.create_file_writer(str(logdir / "run")).as_default():
        for step in range(5):
            summary.scalar(
                "acc",
                step / 5,
                step=step,
                description="**Top-1** on the *training* set & <script>window.__pwned=1</script>",
            )
    server = serve(logdir)
    ui.open(server.url)
    ui.wait_charts(cards=1, runs=1)
    text = ui.card("acc").get_by_test_id("card-description")
    # The script tag is shown as the text it was (escaped, as TensorBoard shows it), never run.
    expect(text).to_have_text("Top-1 on the training set & <script>window.__pwned=1</script>")
    assert ui.page.evaluate("() => window.__pwned") is None


def test_a_setting_being_typed_survives_a_reload(ui: UI, board: Server) -> None:
    """The app's auto-reload re-renders the Settings pane while a number is being typed: the
    text stays as typed (a reload once put the old value back) and applies on Enter."""
    ui.open(board.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    ui.open_settings()
    page = ui.page
    field = page.get_by_test_id("tooltip-limit")
    before = field.input_value()
    assert before != "7"
    field.click()
    field.press("Control+a")
    field.press_sequentially("7")
    ui.wait_reloads("/data/plugin/scalars/tags")
    expect(field).to_have_value("7")
    field.press("Enter")
    field.press("Tab")  # leaving the field shows the committed value
    expect(field).to_have_value("7")
