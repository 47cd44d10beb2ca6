"""Health flags in the browser: a run whose loss turns NaN is flagged where the user looks.

Two runs: ``diverged`` logs a smooth loss that is NaN from step 50, ``healthy`` a smooth loss
throughout. The server's ``data/health`` flags the first; the app shows a badge on that run only
(red: an error), a badge on the loss card and a dashed marker at step 50 on its chart, and a
Health tab listing the flag, whose link opens the loss chart. With ``lumiboard.alerts``, an
alert raised from the training code is listed too and marked on every card of its run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from e2e_support import UI, Server, rgb
from playwright.sync_api import expect

from lumiboard import SummaryWriter

STEPS = 100
NAN_AT = 50
ALERT_AT = 60


def smooth_loss(step: int) -> float:
    return 0.2 + math.exp(-step / 40)


def write_runs(root: Path, alert: Callable[..., object] | None = None) -> None:
    with SummaryWriter(root / "diverged") as writer:
        for step in range(STEPS):
            value = smooth_loss(step) if step < NAN_AT else math.nan
            writer.add_scalar("loss", value, step)
            writer.add_scalar("accuracy", 1 - 0.5 * math.exp(-step / 30), step)
            if alert is not None and step == ALERT_AT:
                alert(
                    "Loss is NaN",
                    "lowering the learning rate",
                    level="warning",
                    writer=writer,
                    step=step,
                )
    with SummaryWriter(root / "healthy") as writer:
        for step in range(STEPS):
            writer.add_scalar("loss", smooth_loss(step) + 0.1, step)
            writer.add_scalar("accuracy", 1 - 0.6 * math.exp(-step / 30), step)


def css_color(ui: UI, name: str) -> tuple[int, int, int]:
    value = ui.page.evaluate(
        "(name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim()", name
    )
    return rgb(value)


def luminance(color: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def badge_contrast(ui: UI, selector: str) -> float:
    """WCAG contrast of a badge's text on its background (its tint over what lies beneath)."""
    text, layers = ui.page.locator(selector).first.evaluate(
        """(el) => {
          // Backgrounds from the badge up to the first opaque one.
          const layers = [];
          for (let node = el; node; node = node.parentElement) {
            const bg = getComputedStyle(node).backgroundColor;
            layers.push(bg);
            if (bg.startsWith('rgb(')) break;
          }
          return [getComputedStyle(el).color, layers];
        }"""
    )
    color = np.array([255.0, 255.0, 255.0])
    for layer in reversed(layers):
        numbers = [float(n) for n in re.findall(r"[\d.]+", layer)]
        alpha = numbers[3] if len(numbers) > 3 else 1.0
        color = np.array(numbers[:3]) * alpha + color * (1 - alpha)
    lighter, darker = sorted((luminance(rgb(text)), luminance(tuple(color))), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def marker_column_pixels(ui: UI, tag: str, x: float, color: tuple[int, int, int]) -> int:
    """Pixels in ``color`` in the chart canvas's columns within 2 px of data x ``x``."""
    canvas = ui.card(tag).get_by_test_id("chart-canvas")
    box = canvas.bounding_box()
    marker = ui.card(tag).locator(f"[data-testid=chart-marker][data-x='{x:g}']").first
    handle = marker.bounding_box()
    assert box is not None
    assert handle is not None
    image = ui.canvas(tag)
    scale = image.shape[1] / box["width"]
    column = round((handle["x"] + handle["width"] / 2 - box["x"]) * scale)
    strip = image[:, max(0, column - 2) : column + 3]
    return int((np.abs(strip - np.array(color)).max(axis=2) <= 16).sum())


@pytest.fixture
def logdir_nan(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    write_runs(root)
    return root


def test_nan_run_badge_card_marker_and_health_view(
    ui: UI, serve: Callable[..., Server], logdir_nan: Path
) -> None:
    server = serve(logdir_nan)
    page = ui.page
    ui.open(server.base + "?smoothing=0")
    ui.wait_charts(cards=2, runs=2)

    # The runs panel: a red badge on the NaN run, none on the healthy one.
    badge = page.locator("[data-testid=run-health-badge][data-run=diverged]")
    expect(badge).to_be_visible()
    expect(badge).to_have_attribute("data-level", "error")
    assert "loss" in (badge.get_attribute("title") or "")
    expect(page.locator("[data-testid=run-health-badge][data-run=healthy]")).to_have_count(0)
    # The Health tab is among the active tabs.
    expect(page.locator("nav.tabs > [data-testid=tab-health]")).to_be_visible()

    # The loss card: a badge and a dashed marker at step 50; the accuracy card: no badge.
    card_badge = ui.card("loss").get_by_test_id("card-health-badge")
    expect(card_badge).to_have_attribute("data-level", "error")
    expect(card_badge).to_contain_text("NaN")
    expect(ui.card("accuracy").get_by_test_id("card-health-badge")).to_have_count(0)
    marker = ui.card("loss").locator(f"[data-testid=chart-marker][data-x='{NAN_AT}']")
    expect(marker).to_have_attribute("data-style", "line")
    assert "diverged" in (marker.get_attribute("title") or "")
    ui.settle()
    red = css_color(ui, "--health-error")
    on_marker = marker_column_pixels(ui, "loss", NAN_AT, red)
    assert on_marker > 40, on_marker  # a dashed line down the plot
    # Elsewhere the chart has no such line (the marker is drawn where the flag is).
    image = ui.canvas("loss", shot="loss-light")
    assert int((np.abs(image - np.array(red)).max(axis=2) <= 16).sum()) < on_marker * 3
    assert badge_contrast(ui, "[data-testid=run-health-badge]") >= 4.5
    ui.screenshot("scalars-light")

    # Dark mode: the badges stay readable, the marker is drawn in the dark theme's red.
    page.get_by_test_id("dark-mode").select_option("dark")
    ui.settle()
    dark_red = css_color(ui, "--health-error")
    assert dark_red != red
    assert badge_contrast(ui, "[data-testid=run-health-badge]") >= 4.5
    assert badge_contrast(ui, "[data-testid=card-health-badge]") >= 4.5
    page.wait_for_timeout(100)
    ui.settle()
    assert marker_column_pixels(ui, "loss", NAN_AT, dark_red) > 40
    ui.canvas("loss", shot="loss-dark")
    ui.screenshot("scalars-dark")

    # The run's badge opens the Health view, filtered to the run.
    badge.click()
    expect(page.get_by_test_id("health-view")).to_be_visible()
    expect(page.get_by_test_id("health-filter-run")).to_have_value("diverged")
    rows = page.get_by_test_id("health-row")
    expect(rows.first).to_be_visible()
    assert set(rows.evaluate_all("els => els.map((e) => e.dataset.run)")) == {"diverged"}
    row = page.locator("[data-testid=health-row][data-kind=nonfinite][data-tag=loss]")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-level", "error")
    expect(row.locator("td").nth(4)).to_have_text(str(NAN_AT))
    ui.screenshot("health-dark")

    # Its link opens the loss chart: Scalars, the tag filter on loss, the run shown.
    row.get_by_test_id("health-open").click()
    page.wait_for_url(lambda url: "tab=scalars" in url and "tagFilter=" in url)
    expect(page.get_by_test_id("tag-filter")).to_have_value("^loss$")
    ui.wait_charts(cards=1, runs=2)
    expect(ui.card("loss")).to_be_in_viewport()
    expect(page.locator("[data-testid=run-checkbox][data-run=diverged]")).to_be_checked()
    expect(ui.card("loss").get_by_test_id("card-health-badge")).to_be_visible()
    ui.screenshot("opened-chart")


def test_alert_listed_and_marked_on_every_card_of_its_run(
    ui: UI, serve: Callable[..., Server], tmp_path: Path
) -> None:
    alerts = pytest.importorskip("lumiboard.alerts")
    alert = getattr(alerts, "alert", None)
    if alert is None:
        pytest.skip("lumiboard.alerts has no alert()")
    root = tmp_path / "logs"
    write_runs(root, alert=alert)
    server = serve(root)
    page = ui.page
    ui.open(server.base + "?smoothing=0&tab=health")
    row = page.locator("[data-testid=health-row][data-kind=alert]")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-run", "diverged")
    expect(row).to_have_attribute("data-level", "warning")
    expect(row).to_contain_text("Loss is NaN")
    expect(row.locator("td").nth(4)).to_have_text(str(ALERT_AT))
    ui.screenshot("health-with-alert")

    # On the charts: a tick at the alert's step on every card of its run.
    page.get_by_test_id("tab-scalars").first.click()
    ui.wait_charts(cards=2, runs=2)
    for tag in ("loss", "accuracy"):
        tick = ui.card(tag).locator(f"[data-testid=chart-marker][data-x='{ALERT_AT}']")
        expect(tick).to_have_attribute("data-style", "tick")
        assert "Loss is NaN" in (tick.get_attribute("title") or "")
    # An alert is not a flag of the accuracy tag: no badge there.
    expect(ui.card("accuracy").get_by_test_id("card-health-badge")).to_have_count(0)
    ui.screenshot("alert-ticks")

    # The alert's link opens the Text dashboard on the alerts tag.
    page.get_by_test_id("tab-health").first.click()
    row.get_by_test_id("health-open").click()
    page.wait_for_url(lambda url: "tab=text" in url)
    card = page.locator("[data-testid=text-card][data-tag=alerts]").first
    expect(card).to_be_visible()
    expect(card).to_contain_text("Loss is NaN")
