"""The demo log directory holds every kind of data, readable by TensorBoard."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing import plugin_event_multiplexer

from lumiboard.cli import main
from lumiboard.demo import write_demo

PLUGINS = {
    "scalars",
    "histograms",
    "images",
    "audio",
    "text",
    "pr_curves",
    "hparams",
    "custom_scalars",
    "mesh",
}


def test_demo_has_every_kind(tmp_path: Path) -> None:
    write_demo(tmp_path, steps=25)
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(tmp_path))
    multiplexer.Reload()
    present = {plugin for plugin in PLUGINS if multiplexer.PluginRunToTagToContent(plugin)}
    assert present == PLUGINS
    assert {"lr_0.1", "lr_0.01", "lr_0.001", "media", "tf2_style", "."} <= set(multiplexer.Runs())
    assert multiplexer.Graph("lr_0.1").node  # torch is installed in the test environment
    assert (tmp_path / "lr_0.1" / "projector_config.pbtxt").is_file()
    images = multiplexer.PluginRunToTagToContent("images")["media"]
    assert {"gradient", "batch", "detections", "moving", "figure"} <= set(images)


def test_cli_demo(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["demo", "--logdir", str(tmp_path / "d"), "--steps", "5", "--no-serve"]) == 0
    assert str((tmp_path / "d").resolve()) in capsys.readouterr().out
