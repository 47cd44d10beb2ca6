"""lumiboard's reader against TensorBoard's, on the same logdirs.

Each logdir is written by a real writer (torch.utils.tensorboard, tensorboardX,
lumiboard's SummaryWriter and its TF2-style ``summary`` API) or is one of the
TensorFlow/Keras fixtures in ``shared/fixtures/tf2_keras``. TensorBoard's own
loader (``EventMultiplexer`` with every point kept, which applies
``data_compat`` and ``dataclass_compat``) and lumiboard's
(:class:`~lumiboard.reader.reload.Reloader` with every point kept, queried
through :class:`~lumiboard.store.provider.Provider`) must agree on runs, tags
per plugin with their content, every scalar point, every tensor value, the
steps of every blob sequence and the bytes of every blob.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.backend.event_processing.plugin_event_accumulator import (
    GRAPH,
    META_GRAPH,
    RUN_METADATA,
    TENSORS,
)
from tensorboard.compat.proto import graph_pb2
from tensorboard.util import tensor_util

from lumiboard import SummaryWriter, summary
from lumiboard import hparams as hp
from lumiboard.plugins.base import DataClass
from lumiboard.reader import scan as scanner
from lumiboard.reader.reload import Reloader
from lumiboard.store.provider import Provider
from lumiboard.writer import functional

torch = pytest.importorskip("torch")
torch_tb = pytest.importorskip("torch.utils.tensorboard")
tbx = pytest.importorskip("tensorboardX")

FIXTURES = (
    Path(os.environ.get("LUMIBOARD_SHARED", Path(__file__).resolve().parents[3] / "shared"))
    / "fixtures"
    / "tf2_keras"
)

#: Every plugin TensorBoard's loader knows a sample size for; 0 keeps everything.
TB_PLUGINS = (
    "scalars",
    "histograms",
    "images",
    "audio",
    "text",
    "pr_curves",
    "hparams",
    "custom_scalars",
    "mesh",
    "graphs",
    "graph_run_metadata",
    "graph_run_metadata_graph",
    "graph_keras_model",
    "graph_tagged_run_metadata",
)
WALL = 1_700_000_000.0


# ---- the two readers ------------------------------------------------------------


def load_tensorboard(logdir: Path) -> plugin_event_multiplexer.EventMultiplexer:
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        size_guidance={TENSORS: 0, GRAPH: 0, META_GRAPH: 0, RUN_METADATA: 0},
        tensor_size_guidance=dict.fromkeys(TB_PLUGINS, 0),
    )
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    return multiplexer


def load_lumiboard(logdir: Path) -> Provider:
    reloader = Reloader(str(logdir), samples=dict.fromkeys(TB_PLUGINS))
    reloader.reload()
    return Provider(reloader.runs)


def assert_same(logdir: Path) -> None:
    """Both readers make the same of ``logdir`` (see the module docstring)."""
    tb = load_tensorboard(logdir)
    ours = load_lumiboard(logdir)
    assert sorted(ours.list_runs()) == sorted(tb.Runs())
    assert ours.list_runs(), "nothing was written"

    plugins = {
        metadata.plugin_data.plugin_name
        for run in tb.Runs()
        for metadata in tb.GetAccumulator(run).AllSummaryMetadata().values()
    }
    for plugin in plugins:
        mine = {
            run: {tag: info.plugin_content for tag, info in tags.items()}
            for run, tags in ours.list_tags(plugin).items()
        }
        assert mine == tb.PluginRunToTagToContent(plugin), plugin
    known = {info.plugin_name for tags in ours.list_tags().values() for info in tags.values()}
    assert known == plugins

    for run in tb.Runs():
        accumulator = tb.GetAccumulator(run)
        metadata = accumulator.AllSummaryMetadata()
        for tag in accumulator.Tags()[TENSORS]:
            info = ours.tag_info(run, tag)
            assert info.data_class.value == metadata[tag].data_class, (run, tag)
            assert info.display_name == (metadata[tag].display_name or tag), (run, tag)
            assert info.description == metadata[tag].summary_description, (run, tag)
            events = accumulator.Tensors(tag)
            assert events, (run, tag)
            if info.data_class is DataClass.SCALAR:
                assert_same_scalars(ours, run, tag, events)
            elif info.data_class is DataClass.TENSOR:
                assert_same_tensors(ours, run, tag, events)
            else:
                assert_same_blobs(ours, run, tag, events, metadata[tag].plugin_data.plugin_name)
        if accumulator.Tags()[GRAPH]:
            assert_same_graph(ours, tb, run)


def assert_same_scalars(ours: Provider, run: str, tag: str, events: list[Any]) -> None:
    columns = ours.read_scalars(run, tag)
    expected = [
        (event.step, event.wall_time, float(tensor_util.make_ndarray(event.tensor_proto)))
        for event in events
    ]
    actual = list(
        zip(columns.step.tolist(), columns.wall_time.tolist(), columns.value.tolist(), strict=True)
    )
    assert len(actual) == len(expected), (run, tag)
    for (step, wall_time, value), (tb_step, tb_wall_time, tb_value) in zip(
        actual, expected, strict=True
    ):
        assert (step, wall_time) == (tb_step, tb_wall_time), (run, tag)
        assert value == tb_value or (math.isnan(value) and math.isnan(tb_value)), (run, tag, step)


def assert_same_tensors(ours: Provider, run: str, tag: str, events: list[Any]) -> None:
    points = ours.read_tensors(run, tag)
    assert [(p.step, p.wall_time) for p in points] == [(e.step, e.wall_time) for e in events]
    for point, event in zip(points, events, strict=True):
        expected = tensor_util.make_ndarray(event.tensor_proto)
        assert point.array.dtype == expected.dtype, (run, tag, point.step)
        assert point.array.shape == expected.shape, (run, tag, point.step)
        np.testing.assert_array_equal(point.array, expected, err_msg=f"{run} {tag}")


def assert_same_blobs(
    ours: Provider, run: str, tag: str, events: list[Any], plugin_name: str
) -> None:
    points = ours.read_blob_sequence(run, tag)
    assert [(p.step, p.wall_time) for p in points] == [(e.step, e.wall_time) for e in events]
    for point, event in zip(points, events, strict=True):
        strings = list(event.tensor_proto.string_val)
        # An image tensor is [width, height, image...]; the blobs are the images.
        expected = strings[2:] if plugin_name == "images" else strings
        assert point.count == len(expected), (run, tag, point.step)
        assert [ours.read_blob(point.ref, index) for index in range(point.count)] == expected


def assert_same_graph(
    ours: Provider, tb: plugin_event_multiplexer.EventMultiplexer, run: str
) -> None:
    (point,) = ours.read_blob_sequence(run, "__run_graph__")
    blob = ours.read_blob(point.ref)
    # The bytes as written; a re-serialization of TensorBoard's parsed graph
    # may order map entries (NodeDef.attr) differently, so compare parsed.
    assert graph_pb2.GraphDef.FromString(blob) == tb.Graph(run)
    (event,) = tb.GetAccumulator(run).Tensors("__run_graph__")
    assert blob == event.tensor_proto.string_val[0]


# ---- logdirs ----------------------------------------------------------------------


def pytorch_calls(writer: Any, video: bool = True, audio: bool = True) -> None:
    """Every ``add_*`` of the PyTorch SummaryWriter API, over a few steps.

    ``video`` and ``audio`` are off for writers that need packages not
    installed here for them (moviepy, soundfile).
    """
    generator = np.random.default_rng(7)
    for step in range(4):
        wall = WALL + step
        writer.add_scalar("loss", 1.0 / (step + 1), step, walltime=wall)
        writer.add_scalar("nan", math.nan if step == 2 else step, step, walltime=wall)
        writer.add_scalars("multi", {"a": step, "b": 2.0 * step}, step, walltime=wall)
        writer.add_histogram("weights", generator.normal(size=200), step, walltime=wall)
        writer.add_image("image", generator.random((3, 8, 6)), step, walltime=wall)
        writer.add_images("batch", generator.random((2, 3, 4, 4)), step, walltime=wall)
        if audio:
            sound = np.sin(np.linspace(0, 20, 400)) * 0.5
            writer.add_audio("sound", sound, step, sample_rate=8000, walltime=wall)
        writer.add_text("notes", f"step **{step}**", step, walltime=wall)
        writer.add_pr_curve(
            "pr", generator.integers(0, 2, 50), generator.random(50), step, walltime=wall
        )
    writer.add_histogram_raw(
        "raw",
        min=-1.0,
        max=2.0,
        num=6,
        sum=3.0,
        sum_squares=5.0,
        bucket_limits=[0.0, 1.0, 2.0],
        bucket_counts=[1, 2, 3],
        global_step=1,
        walltime=WALL,
    )
    writer.add_image_with_boxes(
        "boxes", generator.random((3, 16, 16)), np.array([[1, 1, 8, 8]]), 0, walltime=WALL
    )
    if video:
        writer.add_video("video", generator.random((1, 3, 3, 8, 8)), 0, walltime=WALL)
    writer.add_mesh(
        "mesh",
        vertices=torch.rand(1, 4, 3),
        faces=torch.tensor([[[0, 1, 2], [1, 2, 3]]]),
        global_step=0,
    )
    writer.add_custom_scalars({"losses": {"both": ["Multiline", ["loss", "nan"]]}})
    writer.add_graph(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU()), torch.ones(1, 3))
    writer.add_hparams({"lr": 0.1, "optimizer": "sgd", "layers": 3}, {"hp/accuracy": 0.75})


def write_torch(logdir: Path) -> None:
    with torch_tb.SummaryWriter(logdir / "torch") as writer:
        pytorch_calls(writer, video=False)  # torch's add_video needs moviepy


def write_tensorboardx(logdir: Path) -> None:
    with tbx.SummaryWriter(str(logdir / "tbx")) as writer:
        pytorch_calls(writer, video=False, audio=False)  # + soundfile


def write_lumiboard_writer(logdir: Path) -> None:
    with SummaryWriter(logdir / "ours") as writer:
        pytorch_calls(writer)


def write_lumiboard_summary(logdir: Path) -> None:
    functional._state.writer = None
    functional._state.step = None
    generator = np.random.default_rng(3)
    optimizer = hp.HParam("optimizer", hp.Discrete(["adam", "sgd"]))
    with summary.create_file_writer(logdir).as_default():
        assert hp.hparams_config([optimizer], [hp.Metric("accuracy")])
    with summary.create_file_writer(logdir / "trial").as_default(step=0):
        assert hp.hparams({optimizer: "adam"}, trial_id="trial")
        for step in range(3):
            summary.scalar("accuracy", 0.5 + step / 10, step=step)
            summary.histogram("activations", generator.normal(size=100), step=step)
            summary.image("inputs", generator.random((2, 4, 4, 3)), step=step, max_outputs=2)
            summary.audio("clip", generator.uniform(-1, 1, (1, 300, 1)), 8000, step=step)
            summary.text("note", f"step {step}", step=step)
        model = torch.nn.Linear(2, 1)
        summary.trace_on(graph=True)
        model(torch.ones(1, 2))
        summary.trace_export("linear", step=0)
    functional._state.writer = None
    functional._state.step = None


WRITERS: dict[str, Callable[[Path], None]] = {
    "torch": write_torch,
    "tensorboardx": write_tensorboardx,
    "lumiboard_writer": write_lumiboard_writer,
    "lumiboard_summary": write_lumiboard_summary,
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_written_logdir_reads_as_tensorboard_reads_it(writer: str, tmp_path: Path) -> None:
    WRITERS[writer](tmp_path)
    assert_same(tmp_path)


def test_all_writers_in_one_logdir(tmp_path: Path) -> None:
    for write in WRITERS.values():
        write(tmp_path)
    assert_same(tmp_path)


def test_pure_python_scanner_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fallback when the C scanner is not built.
    monkeypatch.setattr(scanner, "_native", None)
    for write in WRITERS.values():
        write(tmp_path)
    assert_same(tmp_path)


@pytest.mark.parametrize("fixture", ["tf_summary", "sweep", "keras_fit"])
def test_tensorflow_fixture_reads_as_tensorboard_reads_it(fixture: str) -> None:
    # CI clones the project with ../shared beside it: a missing folder is a
    # broken setup, not a reason to skip.
    if not FIXTURES.is_dir():
        pytest.fail(f"shared fixtures not found at {FIXTURES} (set LUMIBOARD_SHARED)")
    assert_same(FIXTURES / fixture)
