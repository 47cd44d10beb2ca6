"""The Audio dashboard in a browser, on clips written by lumiboard and by torch.

Each step's clip has its own length, so the player's duration (decoded by chromium from the
served WAV) and the sample rate / duration line (read by the server from the WAV header) show
that the card plays the step its slider names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from e2e_support import UI, Server
from playwright.sync_api import Locator, expect

from lumiboard import SummaryWriter
from lumiboard.plugins.audio.summary import audio_tensor_value

torch_tb = pytest.importorskip("torch.utils.tensorboard")
LABEL = "**not bold** <b>not html</b>"


def _tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return 0.4 * np.sin(2 * np.pi * 330 * t)


def _card(ui: UI, run: str, tag: str) -> Locator:
    return ui.page.locator(f"[data-testid=audio-card][data-run='{run}'][data-tag='{tag}']")


def _duration(card: Locator) -> float:
    audio = card.get_by_test_id("audio")
    card.page.wait_for_function(
        "(el) => el.readyState >= 1 && Number.isFinite(el.duration)",
        arg=audio.element_handle(),
    )
    return float(audio.evaluate("(el) => el.duration"))


def _slide(slider: Locator, index: int) -> None:
    slider.evaluate(
        "(el, value) => { el.value = String(value);"
        " el.dispatchEvent(new Event('input', { bubbles: true })); }",
        index,
    )


def test_audio_dashboard(ui: UI, serve: Callable[..., Server], tmp_path: Path) -> None:
    root = tmp_path / "logs"
    with SummaryWriter(str(root / "lumi")) as writer:
        for step in range(3):  # 0.5 s, 1.0 s, 1.5 s
            writer.add_audio("speech", _tone(0.5 * (step + 1), 16_000), step, sample_rate=16_000)
        value = audio_tensor_value("labelled", np.zeros((2, 800, 1)), 8_000, max_outputs=2)
        value.tensor.string_val[1] = LABEL.encode()
        value.tensor.string_val[3] = b"the second clip"
        writer.write_values([value], 0)
    writer = torch_tb.SummaryWriter(str(root / "torch"))
    writer.add_audio("speech", _tone(0.25, 8_000), 0, sample_rate=8_000)
    writer.close()
    server = serve(root)
    ui.open(server.base + "?tab=audio")
    page = ui.page
    expect(page.get_by_test_id("audio-card")).to_have_count(3)

    lumi = _card(ui, "lumi", "speech")
    expect(lumi).to_have_attribute("data-step", "2")
    audio = lumi.get_by_test_id("audio")
    src = str(audio.get_attribute("src"))
    assert src.startswith("data/plugin/audio/individualAudio?blob_key=")
    assert "content_type=audio%2Fwav" in src
    expect(lumi.get_by_test_id("audio-meta")).to_have_text("16 kHz · mono · 16-bit · 1.50 s")
    assert _duration(lumi) == pytest.approx(1.5, abs=0.01)
    response = page.request.get(server.base + src)
    assert response.headers["content-type"] == "audio/wav"
    assert response.body()[:4] == b"RIFF"

    # The step slider: the player and the header line follow.
    _slide(lumi.get_by_test_id("step-slider"), 0)
    expect(lumi).to_have_attribute("data-step", "0")
    expect(lumi.get_by_test_id("audio-meta")).to_have_text("16 kHz · mono · 16-bit · 0.50 s")
    assert _duration(lumi) == pytest.approx(0.5, abs=0.01)
    assert lumi.get_by_test_id("audio").get_attribute("src") != src

    torch = _card(ui, "torch", "speech")
    expect(torch.get_by_test_id("audio-meta")).to_have_text("8 kHz · mono · 16-bit · 0.25 s")
    assert _duration(torch) == pytest.approx(0.25, abs=0.01)

    # Labels are text (markdown and HTML shown as written), per clip.
    labelled = _card(ui, "lumi", "labelled")
    label = labelled.get_by_test_id("audio-label")
    expect(label).to_have_text(LABEL)
    assert label.locator("b").count() == 0
    labelled.get_by_test_id("sample-index").fill("1")
    expect(label).to_have_text("the second clip")
    expect(labelled.get_by_test_id("audio-meta")).to_have_text("8 kHz · mono · 16-bit · 0.10 s")
    ui.screenshot("cards")


def test_audio_empty_state(ui: UI, serve: Callable[..., Server], tmp_path: Path) -> None:
    root = tmp_path / "logs"
    with SummaryWriter(str(root / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    server = serve(root)
    ui.open(server.base + "?tab=audio&darkMode=true")
    state = ui.page.get_by_test_id("empty-state")
    expect(state).to_be_visible()
    expect(state).to_contain_text('writer.add_audio("speech", wav, step, sample_rate=16000)')
