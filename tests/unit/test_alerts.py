"""``lumiboard.alert``: a text summary TensorBoard reads, which lumiboard lists as a flag.

TensorBoard's own EventAccumulator and its text plugin's route read what ``alert`` writes;
lumiboard's reader finds each alert with its level, title, text and step, keeps all of them
(not the text plugin's sample of 100) and serves them as ``alert`` flags.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from route_support import get_json, lumiboard_client, tensorboard_client

from lumiboard import SummaryWriter, summary
from lumiboard.alerts import alert, alert_markdown, parse_alert


def _alerts(client: object, run: str | None = None) -> list[dict[str, object]]:
    params = {"run": run} if run else {}
    body = get_json(client, "/data/health", **params)  # type: ignore[arg-type]
    return [flag for flag in body["flags"] if flag["kind"] == "alert"]


def test_an_alert_is_text_that_tensorboard_reads(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util

    writer = summary.create_file_writer(str(tmp_path / "run"))
    with writer.as_default(step=7):
        alert("Loss is NaN", "at **step 7**; lr=0.1", level="error")
    writer.close()

    accumulator = pea.EventAccumulator(str(tmp_path / "run"), size_guidance={pea.TENSORS: 0})
    accumulator.Reload()
    assert list(accumulator.PluginTagToContent("text")) == ["alerts"]
    (event,) = accumulator.Tensors("alerts")
    assert event.step == 7
    text = tensor_util.make_ndarray(event.tensor_proto).item().decode()
    assert text == "**ERROR: Loss is NaN**\n\nat **step 7**; lr=0.1"
    description = accumulator.SummaryMetadata("alerts").summary_description
    assert json.loads(description) == {
        "lumiboard_alert": 1,
        "level": "error",
        "title": "Loss is NaN",
    }

    (shown,) = get_json(
        tensorboard_client(tmp_path), "/data/plugin/text/text", run="run", tag="alerts"
    )
    assert shown["step"] == 7
    assert "<strong>ERROR: Loss is NaN</strong>" in shown["text"]


def test_alerts_of_both_writers_are_flags_with_their_level_title_text_and_step(
    tmp_path: Path,
) -> None:
    with SummaryWriter(str(tmp_path / "torch_style")) as writer:
        writer.add_scalar("loss", 1.0, 3)
        alert("Checkpoint saved", writer=writer, step=3)
        alert("Slow step", "**4.2 s** > 2 s", level="warning", writer=writer, step=5)
    tf2 = summary.create_file_writer(str(tmp_path / "tf2_style"))
    with tf2.as_default():
        summary.set_step(11)
        try:
            alert("Line\nbreaks in a title", level="error")
        finally:
            summary.set_step(None)  # the default step is the thread's: leave none behind
    tf2.close()

    with lumiboard_client(tmp_path) as client:
        flags = _alerts(client)
    assert [(f["run"], f["tag"], f["level"], f["step"], f["message"]) for f in flags] == [
        ("torch_style", "alerts", "info", 3, "Checkpoint saved"),
        ("torch_style", "alerts", "warning", 5, "Slow step: **4.2 s** > 2 s"),
        ("tf2_style", "alerts", "error", 11, "Line breaks in a title"),
    ]
    assert all(flag["value"] is None for flag in flags)


def test_the_server_keeps_every_alert_not_a_sample_of_text(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "run")) as writer:
        for step in range(150):
            alert(f"alert {step}", writer=writer, step=step)
            writer.add_text("notes", f"note {step}", step)
    # The server's default keeps 100 values per text series (TensorBoard's); alerts are events.
    with lumiboard_client(tmp_path, samples={"text": 100}) as client:
        flags = _alerts(client)
        notes = get_json(client, "/data/plugin/text/text", run="run", tag="notes/text_summary")
    assert [flag["step"] for flag in flags] == list(range(150))
    assert len(notes) == 100


def test_a_text_tag_named_alerts_that_is_no_alert_is_not_a_flag(tmp_path: Path) -> None:
    writer = summary.create_file_writer(str(tmp_path / "run"))
    with writer.as_default(step=0):
        summary.text("alerts", "**ERROR: not ours**")
    writer.close()
    with lumiboard_client(tmp_path) as client:
        assert _alerts(client) == []


def test_alert_checks_its_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no writer"):
        alert("no default writer")
    writer = summary.create_file_writer(str(tmp_path / "run"))
    with writer.as_default():
        with pytest.raises(ValueError, match="no step"):
            alert("no step")
        with pytest.raises(ValueError, match="level must be one of info, warning, error"):
            alert("bad level", level="fatal", step=1)
        with pytest.raises(ValueError, match="title"):
            alert("  ", step=1)
        with pytest.raises(TypeError, match="text must be a str"):
            alert("title", text=3, step=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="writer must be"):
        alert("title", writer=object(), step=1)
    writer.close()


def test_alert_markdown_round_trips_and_foreign_text_is_an_info() -> None:
    markdown = alert_markdown("warning", "a **bold** title", "text\n\nwith **more**")
    assert parse_alert(markdown) == ("warning", "a **bold** title", "text\n\nwith **more**")
    assert parse_alert(alert_markdown("error", "only a title", "")) == ("error", "only a title", "")
    assert parse_alert("something else\nwritten by hand") == (
        "info",
        "something else",
        "written by hand",
    )
