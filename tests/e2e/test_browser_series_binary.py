"""The web app fetches chart series as the binary answer and draws the same chart from it."""

from __future__ import annotations

from typing import Any

from e2e_support import RUNS, TAGS, UI, Server, color_pixels, non_background

from lumiboard.plugins.scalars.series_binary import MEDIA_TYPE

#: As test_browser_scalars: a drawn chart and a run's line, in pixels.
MIN_DRAWN = 2_000
MIN_LINE = 200


def test_charts_come_from_the_binary_series_answer(ui: UI, board: Server) -> None:
    answers: list[dict[str, str]] = []

    def on_response(response: Any) -> None:
        if response.url.endswith("/data/plugin/scalars/series"):
            answers.append(response.all_headers())

    ui.page.on("response", on_response)
    ui.open(board.url)
    ui.wait_charts(cards=len(TAGS), runs=len(RUNS))
    assert answers, "no series request"
    for headers in answers:
        assert headers["content-type"] == MEDIA_TYPE
    image = ui.canvas("loss/train", shot="binary-loss_train")
    assert non_background(image, ui.background("loss/train")) > MIN_DRAWN
    for run in RUNS:
        assert color_pixels(image, ui.run_color(run)) > MIN_LINE, run
    ui.screenshot("binary-page")
