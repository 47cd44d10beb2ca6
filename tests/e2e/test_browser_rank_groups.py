"""A distributed job's ranks in the Scalars dashboard: the "Ranks" grouping, its band and notes.

Three ranks write ``job/rank_<k>`` with ``SummaryWriter(ranks="separate")`` (the rank taken
from torchrun's variables); rank 2 diverges. Grouped by ranks, the job is one mean line with a
min–max band, and the tooltip names rank 2 as the rank farthest from the mean.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from e2e_support import UI, Server, color_pixels, non_background, rgb
from playwright.sync_api import expect

from lumiboard import SummaryWriter

WORLD = 3
STEPS = 200


def loss(rank: int, step: int) -> float:
    value = 0.3 + math.exp(-step / 60) + 0.02 * math.sin(step * 0.7 + rank)
    # Rank 2 diverges from step 80 on.
    return value + (0.01 * (step - 80) if rank == 2 and step > 80 else 0.0)


@pytest.fixture
def job_logdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "logs"
    for rank in range(WORLD):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", str(WORLD))
        with SummaryWriter(root / "job", ranks="separate") as writer:
            for step in range(STEPS):
                writer.add_scalar("loss", loss(rank, step), step)
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    with SummaryWriter(root / "baseline") as writer:
        for step in range(STEPS):
            writer.add_scalar("loss", 0.2 + math.exp(-step / 60), step)
    return root


def test_ranks_grouped_with_band_and_diverging_rank_named(
    ui: UI, serve: Callable[..., Server], job_logdir: Path
) -> None:
    server = serve(job_logdir)
    ui.open(server.base + "?smoothing=0")
    ui.wait_charts(cards=1, runs=WORLD + 1)
    ui.open_settings()  # closed on first load
    page = ui.page
    ungrouped = ui.canvas("loss", shot="ungrouped")

    pane = page.get_by_test_id("aggregation")
    pane.get_by_test_id("group-by").select_option("ranks")
    expect(pane.get_by_test_id("group-ranks-hint")).to_be_visible()
    expect(pane.get_by_test_id("group-band")).to_have_value("minmax")
    expect(pane.get_by_test_id("group-preview")).to_contain_text("1 group, 1 single run")
    assert pane.locator(".group-preview__name").all_inner_texts() == ["job"]
    assert pane.locator(".group-preview__size").all_inner_texts() == [str(WORLD)]
    ui.wait_charts(cards=1, runs=2)  # the job's mean, and the baseline

    image = ui.canvas("loss", shot="grouped")
    background = np.array(ui.background("loss"))
    assert non_background(image, tuple(background)) > 2_000  # drawn, not blank
    css = pane.locator("[data-testid=group-preview] .swatch").first.evaluate(
        "(el) => getComputedStyle(el).backgroundColor"
    )
    color = np.array(rgb(css))
    assert color_pixels(image, tuple(color)) > 200  # the mean line
    band = tuple(np.rint(0.2 * color + 0.8 * background).astype(int))
    assert color_pixels(image, band, tol=6) > 2_000, band  # the min–max band, wide past step 80
    # The ranks' own lines are gone.
    for rank in range(WORLD):
        own = ui.run_color(f"job/rank_{rank}")
        if own != tuple(color):
            assert color_pixels(image, own) < 5, rank
    assert color_pixels(ungrouped, band, tol=6) < 2_000

    # Hovered late in the run, the tooltip names the diverging rank.
    over = ui.card("loss").locator(".u-over")
    box = over.bounding_box()
    assert box is not None
    over.hover(position={"x": box["width"] * 0.9, "y": box["height"] * 0.5})
    tooltip = page.get_by_test_id("chart-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("job (3 runs)")
    note = tooltip.get_by_test_id("tooltip-note")
    expect(note).to_have_count(2)
    # The group's summary at that step (min–max: the band this preset draws), then the outlier.
    expect(note.first).to_contain_text(re.compile(r"^mean \S+ · min \S+ – max \S+ · 3 of 3 runs$"))
    expect(note.nth(1)).to_contain_text("farthest from mean: rank_2 (+")
    ui.screenshot("tooltip")

    # The grouping travels in the URL: a reload keeps it, and the select shows "Ranks".
    page.reload()
    ui.wait_charts(cards=1, runs=2)
    expect(page.get_by_test_id("group-by")).to_have_value("ranks")
