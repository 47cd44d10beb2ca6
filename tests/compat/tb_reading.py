"""Read a logdir with the real ``tensorboard`` package, as its server does.

The differential tests write the same calls through two writers and compare
what TensorBoard makes of each logdir, not the bytes on disk. The read path is
TensorBoard's own: ``plugin_event_multiplexer.EventMultiplexer`` over
``AddRunsFromDirectory``, whose ``EventFileLoader`` applies ``data_compat``
(``simple_value``, ``histo``, ``image`` and ``audio`` become tensors) and
``dataclass_compat`` (data classes, hparams' NULL_TENSOR) to every event.

Values are then decoded the way a dashboard would see them: tensors by
``tensor_util.make_ndarray``, images and GIF videos by their decoded pixels
(every frame), audio by its decoded WAV samples, plugin contents by their
parsed protos. Two logdirs compare equal when TensorBoard would show the same.
"""

from __future__ import annotations

import io
import json
import math
import os
import wave
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from google.protobuf import json_format, message, struct_pb2
from PIL import Image, ImageSequence
from tensorboard import context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.backend.event_processing.plugin_event_accumulator import TENSORS
from tensorboard.compat.proto import summary_pb2, tensor_pb2
from tensorboard.plugins import base_plugin
from tensorboard.plugins.audio import plugin_data_pb2 as audio_data
from tensorboard.plugins.custom_scalar import custom_scalars_plugin, layout_pb2
from tensorboard.plugins.histogram import plugin_data_pb2 as histogram_data
from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups
from tensorboard.plugins.hparams import plugin_data_pb2 as hparams_data
from tensorboard.plugins.image import plugin_data_pb2 as image_data
from tensorboard.plugins.mesh import plugin_data_pb2 as mesh_data
from tensorboard.plugins.pr_curve import plugin_data_pb2 as pr_curve_data
from tensorboard.plugins.scalar import plugin_data_pb2 as scalar_data
from tensorboard.plugins.text import plugin_data_pb2 as text_data
from tensorboard.util import tensor_util

#: The proto each plugin keeps in ``SummaryMetadata.plugin_data.content``.
CONTENT_PROTOS: dict[str, type[message.Message]] = {
    "scalars": scalar_data.ScalarPluginData,
    "histograms": histogram_data.HistogramPluginData,
    "images": image_data.ImagePluginData,
    "audio": audio_data.AudioPluginData,
    "text": text_data.TextPluginData,
    "pr_curves": pr_curve_data.PrCurvePluginData,
    "mesh": mesh_data.MeshPluginData,
    "hparams": hparams_data.HParamsPluginData,
}


@dataclass(frozen=True)
class Series:
    """One run/tag as TensorBoard holds it after loading."""

    metadata: summary_pb2.SummaryMetadata
    steps: tuple[int, ...]
    wall_times: tuple[float, ...]
    tensors: tuple[tensor_pb2.TensorProto, ...]

    @property
    def plugin_name(self) -> str:
        return str(self.metadata.plugin_data.plugin_name)

    @property
    def data_class(self) -> int:
        return int(self.metadata.data_class)

    def content(self) -> Any:
        """The parsed plugin content (a proto, or the raw bytes if the plugin has none)."""
        return parse_content(self.plugin_name, self.metadata.plugin_data.content)

    def values(self) -> list[Any]:
        """Every point decoded as the plugin's dashboard sees it."""
        return [decode_tensor(self.plugin_name, proto) for proto in self.tensors]


@dataclass(frozen=True)
class Logdir:
    """Every run and tag of a logdir, plus the multiplexer that read them."""

    path: str
    multiplexer: plugin_event_multiplexer.EventMultiplexer
    runs: dict[str, dict[str, Series]]

    def series(self, run: str, tag: str) -> Series:
        return self.runs[run][tag]


def load(logdir: str | os.PathLike[str]) -> Logdir:
    """Load ``logdir`` with TensorBoard's multiplexer, keeping every point."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer(size_guidance={TENSORS: 0})
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    runs: dict[str, dict[str, Series]] = {}
    for run in multiplexer.Runs():
        accumulator = multiplexer.GetAccumulator(run)
        tags = {}
        for tag, metadata in accumulator.AllSummaryMetadata().items():
            events = accumulator.Tensors(tag) if tag in accumulator.Tags()[TENSORS] else []
            tags[tag] = Series(
                metadata=metadata,
                steps=tuple(event.step for event in events),
                wall_times=tuple(event.wall_time for event in events),
                tensors=tuple(event.tensor_proto for event in events),
            )
        runs[run] = tags
    return Logdir(str(logdir), multiplexer, runs)


# ---- TensorBoard's plugins, over its data provider -------------------------------------


def plugin_context(logdir: Logdir) -> base_plugin.TBContext:
    """The context TensorBoard's server hands its plugins, for this logdir."""
    provider = data_provider.MultiplexerDataProvider(logdir.multiplexer, logdir.path)
    return base_plugin.TBContext(
        logdir=logdir.path, multiplexer=logdir.multiplexer, data_provider=provider
    )


def custom_scalars_layout(logdir: Logdir) -> layout_pb2.Layout:
    """The layout the Custom Scalars dashboard shows (its ``/layout`` route)."""
    plugin = custom_scalars_plugin.CustomScalarsPlugin(plugin_context(logdir))
    response = plugin.layout_impl(context.RequestContext(), "")
    return json_format.Parse(response, layout_pb2.Layout()) if response else layout_pb2.Layout()


def hparams_session_groups(logdir: Logdir) -> list[tuple[dict[str, Any], list[Any]]]:
    """The HParams dashboard's session groups: (hparams, [(session, {metric: value})])."""
    request = api_pb2.ListSessionGroupsRequest(
        start_index=0,
        slice_size=100,
        allowed_statuses=[api_pb2.STATUS_SUCCESS, api_pb2.STATUS_UNKNOWN],
    )
    handler = list_session_groups.Handler(
        context.RequestContext(), backend_context.Context(plugin_context(logdir)), "", request
    )
    groups = []
    for group in handler.run().session_groups:
        hparams = {name: _struct_value(value) for name, value in group.hparams.items()}
        sessions = [
            (session.name, {metric.name.tag: metric.value for metric in session.metric_values})
            for session in group.sessions
        ]
        groups.append((hparams, sessions))
    return groups


def _struct_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    return getattr(value, kind) if kind else None


# ---- decoding -----------------------------------------------------------------


def parse_content(plugin_name: str, content: bytes) -> Any:
    """Parse plugin content; mesh's ``json_config`` becomes a dict (key order is free)."""
    proto_class = CONTENT_PROTOS.get(plugin_name)
    if proto_class is None:
        return bytes(content)
    parsed = proto_class.FromString(content)
    if plugin_name == "mesh":
        return (parsed, json.loads(parsed.json_config or "{}"))
    return parsed


def without_times(data: Any) -> Any:
    """Hparams plugin data with its clock reading cleared (anything else as is)."""
    if not isinstance(data, hparams_data.HParamsPluginData):
        return data
    copy = hparams_data.HParamsPluginData()
    copy.CopyFrom(data)
    kind = data.WhichOneof("data")
    if kind == "experiment":
        copy.experiment.ClearField("time_created_secs")
    elif kind == "session_start_info":
        copy.session_start_info.ClearField("start_time_secs")
    elif kind == "session_end_info":
        copy.session_end_info.ClearField("end_time_secs")
    return copy


@dataclass(frozen=True)
class Picture:
    """An image as the images dashboard shows it: its size and decoded frames."""

    width: int
    height: int
    format: str
    mode: str
    frames: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Clip:
    """A WAV clip decoded: its header and int16 samples ``[frames, channels]``."""

    sample_rate: int
    channels: int
    sample_width: int
    samples: np.ndarray
    label: bytes


def decode_image(data: bytes) -> tuple[str, str, tuple[np.ndarray, ...]]:
    """Decode a PNG or GIF into its format, mode and frames (RGB for GIF frames)."""
    image = Image.open(io.BytesIO(data))
    fmt = str(image.format)
    if fmt == "GIF":
        frames = tuple(np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(image))
    else:
        frames = (np.asarray(image),)
    return fmt, str(image.mode), frames


def decode_wav(data: bytes, label: bytes = b"") -> Clip:
    with wave.open(io.BytesIO(data), "rb") as reader:
        channels = reader.getnchannels()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
        return Clip(
            sample_rate=reader.getframerate(),
            channels=channels,
            sample_width=reader.getsampwidth(),
            samples=samples.reshape(-1, channels),
            label=label,
        )


def decode_tensor(plugin_name: str, proto: tensor_pb2.TensorProto) -> Any:
    """A tensor as the plugin reads it (pixels, samples, a layout, or an array)."""
    array = tensor_util.make_ndarray(proto)
    if plugin_name == "images":
        width, height, *blobs = array.reshape(-1).tolist()
        pictures = []
        for blob in blobs:
            fmt, mode, frames = decode_image(blob)
            pictures.append(Picture(int(width), int(height), fmt, mode, frames))
        return pictures
    if plugin_name == "audio":
        rows = array.reshape(array.shape[0], -1) if array.ndim else array.reshape(1, 1)
        return [decode_wav(row[0], row[1] if row.size > 1 else b"") for row in rows]
    if plugin_name == "custom_scalars":
        return layout_pb2.Layout.FromString(array.reshape(()).item())
    return array


# ---- comparison -----------------------------------------------------------------


def assert_equal(ours: Any, theirs: Any, where: str = "") -> None:
    """Deep equality: arrays by dtype, shape and values (NaN equal to NaN), protos by ==."""
    if isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray), f"{where}: {type(ours)} is not an array"
        assert ours.dtype == theirs.dtype, f"{where}: dtype {ours.dtype} != {theirs.dtype}"
        assert ours.shape == theirs.shape, f"{where}: shape {ours.shape} != {theirs.shape}"
        if ours.dtype.kind == "O":
            assert ours.tolist() == theirs.tolist(), f"{where}: {ours!r} != {theirs!r}"
        else:
            np.testing.assert_array_equal(ours, theirs, err_msg=where, strict=True)
    elif isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)), f"{where}: {type(ours)} is not a sequence"
        assert len(ours) == len(theirs), f"{where}: {len(ours)} items != {len(theirs)}"
        for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            assert_equal(mine, other, f"{where}[{index}]")
    elif isinstance(theirs, (Picture, Clip)):
        assert type(ours) is type(theirs), f"{where}: {type(ours)} != {type(theirs)}"
        for name in theirs.__dataclass_fields__:
            assert_equal(getattr(ours, name), getattr(theirs, name), f"{where}.{name}")
    elif isinstance(theirs, float) and math.isnan(theirs):
        assert isinstance(ours, float), f"{where}: {ours!r} is not NaN"
        assert math.isnan(ours), f"{where}: {ours!r} is not NaN"
    else:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


def assert_same_series(
    ours: Series,
    theirs: Series,
    where: str = "",
    *,
    wall_times: bool = True,
    values: bool = True,
    content: Callable[[Any], Any] | None = None,
) -> None:
    """Same plugin, data class, display name, description, steps, values and content."""
    assert ours.plugin_name == theirs.plugin_name, f"{where}: plugin"
    assert ours.data_class == theirs.data_class, f"{where}: data_class"
    assert ours.metadata.display_name == theirs.metadata.display_name, f"{where}: display_name"
    assert ours.metadata.summary_description == theirs.metadata.summary_description, where
    assert ours.steps == theirs.steps, f"{where}: steps {ours.steps} != {theirs.steps}"
    if wall_times:
        assert ours.wall_times == theirs.wall_times, f"{where}: wall times"
    normalize = content or (lambda parsed: parsed)
    assert_equal(normalize(ours.content()), normalize(theirs.content()), f"{where} content")
    if values:
        assert_equal(ours.values(), theirs.values(), f"{where} values")


def assert_same_logdirs(
    ours: Logdir,
    theirs: Logdir,
    *,
    wall_times: bool = True,
    values: bool = True,
    content: Callable[[Any], Any] | None = None,
) -> None:
    """The same runs, tags and series in both logdirs."""
    assert sorted(ours.runs) == sorted(theirs.runs)
    for run, tags in theirs.runs.items():
        assert sorted(ours.runs[run]) == sorted(tags), f"run {run!r}: tags"
        for tag, series in tags.items():
            assert_same_series(
                ours.runs[run][tag],
                series,
                f"{run}/{tag}",
                wall_times=wall_times,
                values=values,
                content=content,
            )
