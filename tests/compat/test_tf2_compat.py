"""TF2-style writing (lumiboard.summary, lumiboard.hparams) against real TensorFlow files.

The fixtures in ``shared/fixtures/tf2_keras`` were written by TensorFlow 2.21 with
``tf.summary`` and ``tensorboard.plugins.hparams.api``. Each test writes the same
thing with lumiboard, loads both logdirs with TensorBoard's own backend (plugin
event multiplexer, data provider, the hparams and scalars plugins) and asserts
that TensorBoard makes the same of them.
"""

from __future__ import annotations

import io
import os
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.protobuf.message import Message
from PIL import Image
from tensorboard import context as tb_context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.backend.event_processing.event_accumulator import TENSORS
from tensorboard.compat.proto import summary_pb2 as tb_summary_pb2
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import (
    api_pb2,
    backend_context,
    get_experiment,
    list_session_groups,
)
from tensorboard.plugins.scalar import scalars_plugin
from tensorboard.util import tensor_util

from lumiboard import hparams as hp
from lumiboard import summary
from lumiboard.writer import functional

FIXTURES = (
    Path(os.environ.get("LUMIBOARD_SHARED", Path(__file__).resolve().parents[3] / "shared"))
    / "fixtures"
    / "tf2_keras"
)
SWEEP = FIXTURES / "sweep"
TF_SUMMARY = FIXTURES / "tf_summary"


@pytest.fixture(autouse=True)
def _fixtures_present() -> None:
    # CI clones the project with ../shared beside it; a missing folder is a
    # broken setup, not a reason to skip.
    if not FIXTURES.is_dir():
        pytest.fail(f"shared fixtures not found at {FIXTURES} (set LUMIBOARD_SHARED)")


@pytest.fixture(autouse=True)
def _no_default_writer() -> Iterator[None]:
    functional._state.writer = None
    functional._state.step = None
    yield
    functional._state.writer = None
    functional._state.step = None


class Backend:
    """TensorBoard's server-side view of one logdir, every point kept."""

    def __init__(self, logdir: Path) -> None:
        self.multiplexer = plugin_event_multiplexer.EventMultiplexer(size_guidance={TENSORS: 0})
        self.multiplexer.AddRunsFromDirectory(str(logdir))
        self.multiplexer.Reload()
        provider = data_provider.MultiplexerDataProvider(self.multiplexer, str(logdir))
        self.tb_context = base_plugin.TBContext(
            data_provider=provider, multiplexer=self.multiplexer, logdir=str(logdir)
        )
        self.ctx = tb_context.RequestContext()

    def experiment(self) -> api_pb2.Experiment:
        hparams_context = backend_context.Context(self.tb_context)
        request = api_pb2.GetExperimentRequest()
        return get_experiment.Handler(self.ctx, hparams_context, "", request).run()

    def session_groups(self) -> api_pb2.ListSessionGroupsResponse:
        hparams_context = backend_context.Context(self.tb_context)
        request = api_pb2.ListSessionGroupsRequest(
            start_index=0,
            slice_size=100,
            allowed_statuses=[
                api_pb2.STATUS_UNKNOWN,
                api_pb2.STATUS_SUCCESS,
                api_pb2.STATUS_FAILURE,
                api_pb2.STATUS_RUNNING,
            ],
        )
        return list_session_groups.Handler(self.ctx, hparams_context, "", request).run()

    def scalars(self, run: str, tag: str) -> list[tuple[int, float]]:
        plugin = scalars_plugin.ScalarsPlugin(self.tb_context)
        body, mime_type = plugin.scalars_impl(self.ctx, tag, run, "", "json")
        assert mime_type == "application/json"
        return [(step, value) for _wall_time, step, value in body]

    def series(self) -> dict[tuple[str, str], tuple[tb_summary_pb2.SummaryMetadata, list[Any]]]:
        """(run, tag) -> (metadata, tensor events) as the multiplexer holds them."""
        result = {}
        for run in self.multiplexer.Runs():
            accumulator = self.multiplexer.GetAccumulator(run)
            for tag in accumulator.Tags()[TENSORS]:
                result[run, tag] = (
                    accumulator.SummaryMetadata(tag),
                    list(accumulator.Tensors(tag)),
                )
        return result


# ---- hparams sweep -------------------------------------------------------------------

# What the fixture holds (read with EventAccumulator): an experiment with a
# Discrete string hparam and an IntInterval, one metric in "validation/", and
# three trials whose metric at step s is 1 / (s + trial + 1), five steps each.
OPTIMIZER = hp.HParam("optimizer", hp.Discrete(["adam", "sgd"]))
LAYERS = hp.HParam("layers", hp.IntInterval(1, 4))
METRIC = hp.Metric("val/loss", group="validation", display_name="val loss")
TRIALS = {"t0": ("sgd", 1), "t1": ("adam", 2), "t2": ("adam", 4)}


def write_sweep(logdir: Path) -> None:
    """The fixture's sweep, written as a user of lumiboard would write it."""
    with summary.create_file_writer(logdir).as_default():
        assert hp.hparams_config([OPTIMIZER, LAYERS], [METRIC])
    for index, (trial_id, (optimizer, layers)) in enumerate(TRIALS.items()):
        with summary.create_file_writer(logdir / trial_id).as_default():
            assert hp.hparams({OPTIMIZER: optimizer, LAYERS: layers}, trial_id=trial_id)
        with summary.create_file_writer(logdir / trial_id / "validation").as_default():
            for step in range(5):
                assert summary.scalar("val/loss", 1.0 / (step + index + 1), step=step)


def without_times(message: Any) -> Any:
    """A copy with every clock reading cleared (they differ between any two runs)."""
    copy = type(message)()
    copy.CopyFrom(message)
    stack = [copy]
    while stack:
        current = stack.pop()
        for field, value in current.ListFields():
            if field.name in ("time_created_secs", "start_time_secs", "wall_time_secs"):
                current.ClearField(field.name)
            elif isinstance(value, Message):
                stack.append(value)
            elif field.message_type is not None:
                # A repeated message field, or a map whose values are messages.
                items = value.values() if hasattr(value, "values") else value
                stack.extend(item for item in items if isinstance(item, Message))
    return copy


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Backend, Backend]:
    ours = tmp_path_factory.mktemp("sweep")
    write_sweep(ours)
    return Backend(ours), Backend(SWEEP)


def test_sweep_experiment_matches_tensorflow(sweeps: tuple[Backend, Backend]) -> None:
    ours, theirs = (backend.experiment() for backend in sweeps)
    assert [info.name for info in theirs.hparam_infos] == ["layers", "optimizer"]
    assert len(theirs.metric_infos) == 1
    assert without_times(ours) == without_times(theirs)


def test_sweep_session_groups_match_tensorflow(sweeps: tuple[Backend, Backend]) -> None:
    ours, theirs = (backend.session_groups() for backend in sweeps)
    assert theirs.total_size == 3
    assert [group.name for group in theirs.session_groups] == ["t0", "t1", "t2"]
    assert without_times(ours) == without_times(theirs)
    for group in ours.session_groups:
        optimizer, layers = TRIALS[group.name]
        assert group.hparams["optimizer"].string_value == optimizer
        assert group.hparams["layers"].number_value == layers
        (metric,) = group.metric_values
        assert (metric.name.group, metric.name.tag) == ("validation", "val/loss")
        assert metric.training_step == 4
        index = list(TRIALS).index(group.name)
        assert metric.value == pytest.approx(1.0 / (5 + index), rel=1e-7)
        assert [session.name for session in group.sessions] == [group.name]


def test_sweep_scalars_read_through_the_scalars_plugin(sweeps: tuple[Backend, Backend]) -> None:
    ours, theirs = sweeps
    for index, trial_id in enumerate(TRIALS):
        run = f"{trial_id}/validation"
        written = [(step, float(np.float32(1.0 / (step + index + 1)))) for step in range(5)]
        assert ours.scalars(run, "val/loss") == written
        assert theirs.scalars(run, "val/loss") == written


# ---- tf.summary kinds ------------------------------------------------------------------


def write_tf_summary_kinds(logdir: Path) -> None:
    """The kinds the fixture holds, in the same tags and at the same steps."""
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 2000 / 22050, 2000, endpoint=False)
    with summary.create_file_writer(logdir).as_default():
        for step in range(0, 120, 3):
            summary.scalar("metrics/f1", 1.0 - 1.0 / (step + 2), step=step)
        for step in range(0, 120, 30):
            summary.histogram("grads/dense", rng.normal(size=500), step=step, buckets=20)
            pixels = rng.integers(0, 256, size=(3, 12, 10, 1), dtype=np.uint8)
            summary.image("inputs", pixels, step=step)
            summary.text("table", np.array([["a", "b"], [str(step), "<b>x</b>"]]), step=step)
            chirp = np.sin(2 * np.pi * (200 + step) * t)[None, :, None] * 0.5
            summary.audio("chirp", chirp, sample_rate=22050, step=step)


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Backend, Backend]:
    ours = tmp_path_factory.mktemp("tf_summary")
    write_tf_summary_kinds(ours)
    return Backend(ours), Backend(TF_SUMMARY)


def describe(events: list[Any]) -> list[tuple[int, int, tuple[int, ...]]]:
    """(step, dtype, shape) of each tensor event."""
    return [
        (event.step, event.tensor_proto.dtype, tensor_util.make_ndarray(event.tensor_proto).shape)
        for event in events
    ]


def test_tf_summary_kinds_load_like_tensorflow(kinds: tuple[Backend, Backend]) -> None:
    ours, theirs = (backend.series() for backend in kinds)
    assert set(theirs) == {
        (".", "metrics/f1"),
        (".", "grads/dense"),
        (".", "inputs"),
        (".", "table"),
        (".", "chirp"),
    }
    assert set(ours) == set(theirs)
    for key, (their_metadata, their_events) in theirs.items():
        our_metadata, our_events = ours[key]
        assert our_metadata.plugin_data.plugin_name == their_metadata.plugin_data.plugin_name
        assert our_metadata.plugin_data.content == their_metadata.plugin_data.content, key
        assert our_metadata.data_class == their_metadata.data_class, key
        assert describe(our_events) == describe(their_events), key


def test_tf_summary_blobs_decode_like_tensorflow(kinds: tuple[Backend, Backend]) -> None:
    ours, theirs = (backend.series() for backend in kinds)
    for series in (ours, theirs):
        _, images = series[".", "inputs"]
        for event in images:
            width, height, *pngs = tensor_util.make_ndarray(event.tensor_proto)
            assert (width, height) == (b"10", b"12")
            assert len(pngs) == 3
            for png in pngs:
                picture = Image.open(io.BytesIO(png))
                assert (picture.mode, picture.size) == ("L", (10, 12))
        _, clips = series[".", "chirp"]
        for event in clips:
            (wav,) = tensor_util.make_ndarray(event.tensor_proto)
            with wave.open(io.BytesIO(wav)) as reader:
                assert reader.getparams()[:4] == (1, 2, 22050, 2000)
        _, tables = series[".", "table"]
        for event in tables:
            table = tensor_util.make_ndarray(event.tensor_proto)
            assert table[1, 0] == str(event.step).encode()
            assert table[1, 1] == b"<b>x</b>"


def test_tf_summary_scalars_read_through_the_scalars_plugin(
    kinds: tuple[Backend, Backend],
) -> None:
    ours, theirs = kinds
    written = [(step, float(np.float32(1.0 - 1.0 / (step + 2)))) for step in range(0, 120, 3)]
    assert ours.scalars(".", "metrics/f1") == written
    assert [step for step, _ in theirs.scalars(".", "metrics/f1")] == list(range(0, 120, 3))
