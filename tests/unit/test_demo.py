"""The demo log directory holds every kind of data, readable by TensorBoard."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tensorboard.backend.event_processing import event_accumulator, plugin_event_multiplexer

import lumiboard
from lumiboard import SummaryWriter
from lumiboard.cli import main
from lumiboard.demo import MARKER, DemoDirError, start_live_run, write_demo

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
    assert multiplexer.Graph("lr_0.1").node
    assert (tmp_path / "lr_0.1" / "projector_config.pbtxt").is_file()
    images = multiplexer.PluginRunToTagToContent("images")["media"]
    assert {"gradient", "batch", "detections", "moving", "figure"} <= set(images)


def test_cli_demo(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["demo", "--logdir", str(tmp_path / "d"), "--steps", "5", "--no-serve"]) == 0
    assert str((tmp_path / "d").resolve()) in capsys.readouterr().out


# ---- a light first run: no torch needed, and a re-run replaces the earlier demo ------------

#: Runs ``lumiboard demo --no-serve`` in a fresh interpreter where ``import torch`` fails, as on
#: a machine without torch (``sys.modules[name] = None`` makes every import of it raise).
NO_TORCH = """
import sys
sys.modules["torch"] = None
from lumiboard.cli import main
assert main(["demo", "--no-serve", "--steps", "5", "--logdir", sys.argv[1]]) == 0
assert sys.modules["torch"] is None, "the demo imported torch"
"""


def _graph_node_names(run: Path) -> list[str]:
    accumulator = event_accumulator.EventAccumulator(str(run))
    accumulator.Reload()
    assert accumulator.Tags()["run_metadata"] == ["step1"]
    assert accumulator.RunMetadata("step1").step_stats.dev_stats
    return [node.name for node in accumulator.Graph().node]


def test_demo_graph_without_torch(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    subprocess.run([sys.executable, "-c", NO_TORCH, str(target)], check=True, timeout=120)
    names = _graph_node_names(target / "lr_0.1")
    assert "input/input.1" in names
    assert any(name.startswith("Sequential/Linear[0]/") for name in names)
    assert len(names) == len(set(names)) > 5


def test_demo_graph_is_what_add_graph_writes(tmp_path: Path) -> None:
    """The stored graph is the one lumiboard's add_graph traces for the demo's model today."""
    torch = pytest.importorskip("torch")
    write_demo(tmp_path / "demo", steps=2)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    with SummaryWriter(tmp_path / "traced") as writer:
        writer.add_graph(model, torch.zeros(1, 8))
    stored = event_accumulator.EventAccumulator(str(tmp_path / "demo" / "lr_0.1"))
    traced = event_accumulator.EventAccumulator(str(tmp_path / "traced"))
    stored.Reload()
    traced.Reload()
    assert stored.Graph() == traced.Graph()


def _point_counts(logdir: Path) -> dict[tuple[str, str, str], int]:
    """Points per (run, kind, tag), every point kept (size guidance 0 keeps all).

    TensorBoard's plugin multiplexer reads scalars, histograms, images, ... as tensors.
    """
    keep_all = dict.fromkeys(event_accumulator.DEFAULT_SIZE_GUIDANCE, 0)
    multiplexer = plugin_event_multiplexer.EventMultiplexer(size_guidance=keep_all)
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    counts: dict[tuple[str, str, str], int] = {}
    for run in multiplexer.Runs():
        accumulator = multiplexer.GetAccumulator(run)
        tags = accumulator.Tags()
        for tag in tags["tensors"]:
            counts[(run, "tensors", tag)] = len(accumulator.Tensors(tag))
        counts[(run, "graph", "")] = int(tags["graph"])
    return counts


def test_demo_twice_gives_the_same_points(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    write_demo(target, steps=6)
    first = _point_counts(target)
    files = sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file())
    write_demo(target, steps=6)
    assert _point_counts(target) == first
    assert sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file()) != []
    assert len(list(target.rglob("*tfevents*"))) == len([f for f in files if "tfevents" in str(f)])
    assert first[("lr_0.1", "tensors", "loss")] == 6
    lumiboard_counts = (
        lumiboard.read(target, cache=False).scalars().groupby(["run", "tag"], observed=True).size()
    )
    assert lumiboard_counts[("lr_0.1", "loss")] == 6


def test_demo_rerun_after_the_live_run(tmp_path: Path) -> None:
    """The live run's event files (written after the demo) are the demo's: a re-run removes them."""
    target = tmp_path / "demo"
    write_demo(target, steps=3)
    live = start_live_run(target)
    live.stop()
    assert list((target / "live").glob("*tfevents*"))
    write_demo(target, steps=3)
    assert not (target / "live").exists()


def test_demo_refuses_a_directory_with_other_files(tmp_path: Path) -> None:
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("mine")
    with pytest.raises(DemoDirError, match="not written by `lumiboard demo`"):
        write_demo(user, steps=2)
    assert sorted(p.name for p in user.iterdir()) == ["notes.txt"]

    demo = tmp_path / "demo"
    write_demo(demo, steps=2)
    (demo / "my_run").mkdir()
    (demo / "lr_0.1" / "extra.txt").write_text("mine too")
    with pytest.raises(DemoDirError, match="files the demo did not write") as error:
        write_demo(demo, steps=2)
    assert "lr_0.1/extra.txt" in str(error.value)
    assert "my_run" in str(error.value)
    assert (demo / "lr_0.1" / "extra.txt").read_text() == "mine too"
    assert (demo / "my_run").is_dir()
    assert (demo / "media").is_dir()


def test_cli_demo_refuses_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match=r"lumiboard demo: .* pick a new or empty directory"):
        main(["demo", "--logdir", str(tmp_path), "--steps", "2", "--no-serve"])
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_demo_graph_is_in_the_wheel() -> None:
    """The stored graph is package data: hatchling puts it in the wheel."""
    wheel = pytest.importorskip("hatchling.builders.wheel")
    root = Path(__file__).resolve().parents[2]
    files = {f.distribution_path for f in wheel.WheelBuilder(str(root)).recurse_included_files()}
    assert {"lumiboard/demo_data/graph.pbtxt", "lumiboard/demo_data/run_metadata.pbtxt"} <= files


def test_demo_of_an_earlier_version_is_named_not_deleted(tmp_path: Path) -> None:
    write_demo(tmp_path, steps=2)
    (tmp_path / MARKER).unlink()  # as written before the marker existed
    with pytest.raises(DemoDirError, match="earlier lumiboard"):
        write_demo(tmp_path, steps=2)
    assert (tmp_path / "lr_0.1").is_dir()
