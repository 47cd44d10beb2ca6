"""Data that changes under the page: a live writer's new points, and zoom refinement of a
200,000-point series. Each test has its own log directory and server."""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from e2e_support import UI, Server, non_background
from playwright.sync_api import Request, expect

from lumiboard import SummaryWriter


def test_live_writer_points_appear_without_reload(
    ui: UI, serve: Callable[..., Server], tmp_path: Path
) -> None:
    root = tmp_path / "live"
    writer = SummaryWriter(str(root / "training"), flush_secs=0.5)
    stop = threading.Event()
    thread: threading.Thread | None = None
    try:
        first, more = 50, 40
        for step in range(first):
            writer.add_scalar("loss", 1 / (step + 1), step)
        writer.flush()
        server = serve(root)
        ui.open(server.url)
        ui.wait_charts(cards=1, runs=1)
        page = ui.page
        points = ui.card("loss").get_by_test_id("card-points")
        expect(points).to_have_text(f"{first} points")
        assert ui.points_drawn("loss") == first
        ui.screenshot("before")
        before = ui.canvas("loss")
        page.evaluate("() => { window.__samePage = true; }")

        def train() -> None:
            # Training goes on: the writer flushes by itself (flush_secs), nobody calls flush().
            for step in range(first, first + more):
                if stop.wait(0.02):
                    return
                writer.add_scalar("loss", 1 / (step + 1) + 0.3 * math.sin(step), step)

        thread = threading.Thread(target=train, daemon=True)
        thread.start()
        # The card's count grows to every written point, with no reload of the page.
        expect(points).to_have_text(f"{first + more} points", timeout=30_000)
        page.wait_for_function(
            f"() => document.querySelector('[data-testid=chart]').dataset.points === "
            f"'{first + more}'"
        )
        ui.settle()
        assert page.evaluate("() => window.__samePage") is True
        assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
        after = ui.canvas("loss", shot="after")
        assert non_background(after, ui.background("loss")) > 1_000
        # The new, wiggly steps widen the x axis and change the line.
        assert (abs(after - before).max(axis=2) > 24).sum() > 500
    finally:
        stop.set()
        if thread is not None:
            thread.join(10)
        writer.close()


def _points(text: str) -> tuple[int, int]:
    """``"3,972 of 200,000 points"`` (or ``"2,000 points"``) as (shown, total)."""
    numbers = [int(n.replace(",", "")) for n in re.findall(r"[\d,]+", text)]
    return (numbers[0], numbers[1]) if len(numbers) == 2 else (numbers[0], numbers[0])


def test_box_zoom_refines_a_reduced_series(
    ui: UI, serve: Callable[..., Server], tmp_path: Path
) -> None:
    total = 200_000
    root = tmp_path / "big"
    with SummaryWriter(str(root / "long_run")) as writer:
        for step in range(total):
            writer.add_scalar("loss", math.sin(step / 4_000) + 0.2 * math.sin(step * 0.37), step)
    server = serve(root)
    ui.open(server.url)
    ui.wait_charts(cards=1, runs=1)
    page = ui.page
    card = ui.card("loss")
    label = card.get_by_test_id("card-points")
    expect(label).to_contain_text(f"of {total:,} points")
    text = label.inner_text()
    shown, in_range = _points(text)
    assert in_range == total
    assert 100 < shown < total // 10  # reduced to the chart's width
    assert ui.points_drawn("loss") == shown
    ui.canvas("loss", shot="full")

    # Drag across a tenth of the plot (flat: x only), as a user box-zooms.
    box = card.locator(".u-over").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    x0, x1 = box["x"] + 0.45 * box["width"], box["x"] + 0.55 * box["width"]
    with page.expect_request(
        lambda r: r.url.endswith("/series") and "min_step" in (r.post_data or "")
    ) as request:
        page.mouse.move(x0, y)
        page.mouse.down()
        page.mouse.move((x0 + x1) / 2, y + 3, steps=5)
        page.mouse.move(x1, y + 5, steps=5)
        page.mouse.up()
    body = request.value.post_data_json
    lo, hi = body["min_step"], body["max_step"]
    assert 0.4 * total < lo < hi < 0.6 * total, body
    expect(card.get_by_test_id("zoom-badge")).to_be_visible()
    expect(label).not_to_have_text(text)
    zoomed_shown, zoomed_total = _points(label.inner_text())
    ui.settle()
    ui.canvas("loss", shot="zoomed")
    ui.screenshot("zoomed")
    # The card now counts the points of the zoomed steps only ...
    assert zoomed_total == hi - lo + 1
    # ... and draws them in much more detail: more points per step than before.
    assert zoomed_shown / zoomed_total > 4 * shown / total
    assert ui.points_drawn("loss") == zoomed_shown

    # Double-click: back to the whole series, reduced again.
    card.locator(".u-over").dblclick()
    expect(label).to_have_text(text)
    expect(card.get_by_test_id("zoom-badge")).to_have_count(0)


def test_unchanged_answers_are_not_sent_again(
    ui: UI, serve: Callable[..., Server], tmp_path: Path
) -> None:
    """A reload asks with the tag of what the page has: unchanged, the server answers 304 with
    no body and the card stays; a new step gets a full answer and is shown."""
    root = tmp_path / "notes"
    writer = SummaryWriter(str(root / "run"))
    try:
        writer.add_text("notes", "first note", 0)
        writer.flush()
        server = serve(root)
        answers: list[tuple[int, str | None, str]] = []
        ui.page.on(
            "response",
            lambda r: (
                answers.append((r.status, r.request.headers.get("if-none-match"), r.url))
                if "/plugin/text/text" in r.url
                else None
            ),
        )
        ui.open(server.base + "?tab=text")
        entries = ui.page.locator("[data-testid=text-card] [data-testid=text-entry]")
        expect(entries).to_have_count(1)
        ui.wait_reloads("/plugin/text/text", count=2)
        assert answers[0][:2] == (200, None), answers
        revalidated = [status for status, asked, _ in answers[1:] if asked]
        assert len(revalidated) >= 2, answers
        assert set(revalidated) == {304}, answers
        expect(entries).to_have_count(1)
        expect(entries.first).to_contain_text("first note")

        writer.add_text("notes", "second note", 1)
        writer.flush()
        expect(entries).to_have_count(2, timeout=20_000)
        expect(ui.page.get_by_test_id("text-card")).to_contain_text("second note")
        assert any(status == 200 and asked for status, asked, _ in answers), answers
    finally:
        writer.close()


def test_unchanged_series_are_not_sent_or_drawn_again(
    ui: UI, serve: Callable[..., Server], tmp_path: Path
) -> None:
    """Each reload asks for a card's series with the stamps of the runs it holds: the server
    names the unchanged runs instead of sending them, and a card where nothing changed is not
    drawn again; new points in one run bring that run alone, and the chart is redrawn."""
    root = tmp_path / "stamps"
    writers = {run: SummaryWriter(str(root / run)) for run in ("quiet", "busy")}
    try:
        for step in range(40):
            for writer in writers.values():
                writer.add_scalar("loss", 1 / (step + 1), step)
        for writer in writers.values():
            writer.flush()
        server = serve(root)
        bodies: list[dict[str, object]] = []

        def seen(request: Request) -> None:
            if request.url.endswith("/plugin/scalars/series") and request.post_data:
                bodies.append(json.loads(request.post_data))

        ui.page.on("request", seen)
        ui.open(server.url)
        ui.wait_charts(cards=1, runs=2)
        chart = ui.chart_of("loss")
        expect(chart).to_have_attribute("data-points", "80")
        draws = chart.get_attribute("data-draws")
        ui.wait_reloads("/plugin/scalars/series", count=2)
        assert "known" not in bodies[0], bodies[0]
        asked = bodies[-1]["known"]
        assert isinstance(asked, dict), bodies[-1]
        assert set(asked) == {"quiet", "busy"}, bodies[-1]
        assert chart.get_attribute("data-draws") == draws  # nothing changed: not drawn again

        for step in range(40, 60):
            writers["busy"].add_scalar("loss", 1 / (step + 1), step)
        writers["busy"].flush()
        expect(chart).to_have_attribute("data-points", "100", timeout=20_000)
        assert int(chart.get_attribute("data-draws") or 0) > int(draws or 0)
        expect(ui.card("loss").get_by_test_id("card-points")).to_contain_text("100")
    finally:
        for writer in writers.values():
            writer.close()


def test_a_histogram_hover_follows_new_steps(
    ui: UI, serve: Callable[..., Server], tmp_path: Path
) -> None:
    """The pointer rests on a histogram while training writes a new step: the chart is drawn
    anew with it, and the hover stays where the pointer is (it used to vanish)."""
    root = tmp_path / "hist"
    writer = SummaryWriter(str(root / "run"))
    rng = np.random.default_rng(0)
    try:
        for step in range(5):
            writer.add_histogram("weights", rng.normal(step * 0.2, 1.0, 2_000), step)
        writer.flush()
        server = serve(root)
        ui.open(server.base + "?tab=histograms")
        card = ui.page.locator("[data-testid=histogram-card]").first
        expect(card.get_by_test_id("card-count")).to_contain_text("5 histograms")
        box = card.get_by_test_id("hist-chart").bounding_box()
        assert box is not None
        ui.page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.75)
        tooltip = card.get_by_test_id("hist-tooltip")
        expect(tooltip).to_be_visible()

        writer.add_histogram("weights", rng.normal(1.0, 1.0, 2_000), 5)
        writer.flush()
        expect(card.get_by_test_id("card-count")).to_contain_text("6 histograms", timeout=20_000)
        expect(card.locator("[data-testid=hist-path][data-step='5']")).to_have_count(1)
        ui.settle()
        expect(tooltip).to_be_visible()
        expect(card.get_by_test_id("hist-hover-path")).to_have_count(1)
    finally:
        writer.close()
