"""lumiboard's SummaryWriter against torch.utils.tensorboard, as TensorBoard reads both.

Each case makes the same calls through both writers into two logdirs, then the
real ``tensorboard`` package loads each (``EventMultiplexer``, with the
read-time migrations its server applies) and the two must look the same:
runs, tags, plugin, data class, steps, wall times, decoded values and parsed
plugin content. Where torch cannot take an input (or writes something
TensorBoard cannot decode), lumiboard's result is compared with torch's for
the same values in float32. Intentional differences are asserted as such.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tb_reading as tbr
from google.protobuf import text_format
from PIL import Image, ImageSequence
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.compat.proto import config_pb2, summary_pb2
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.projector import projector_config_pb2

from lumiboard.writer.summary_writer import SummaryWriter

torch = pytest.importorskip("torch")
torch_tb = pytest.importorskip("torch.utils.tensorboard")
torch_summary = pytest.importorskip("torch.utils.tensorboard.summary")
torch_utils = pytest.importorskip("torch.utils.tensorboard._utils")

WALL = 1_700_000_000.0
SCALAR = summary_pb2.DATA_CLASS_SCALAR
TENSOR = summary_pb2.DATA_CLASS_TENSOR
BLOB_SEQUENCE = summary_pb2.DATA_CLASS_BLOB_SEQUENCE

#: A case makes its calls on ``writer``; ``ours`` says which writer it is, for
#: inputs only one side takes (a JAX array, a value torch mishandles).
Case = Callable[[Any, bool], None]
CASES: dict[str, Case] = {}


def case(function: Case) -> Case:
    CASES[function.__name__.removeprefix("case_")] = function
    return function


def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


def jnp() -> Any:
    return pytest.importorskip("jax.numpy")


def write_both(tmp_path: Path, calls: Case) -> tuple[tbr.Logdir, tbr.Logdir]:
    """Run ``calls`` through lumiboard and torch; return (ours, torch's) as TB loads them."""
    ours_dir, torch_dir = tmp_path / "lumiboard", tmp_path / "torch"
    with SummaryWriter(ours_dir) as writer:
        calls(writer, True)
    with torch_tb.SummaryWriter(torch_dir) as writer:
        calls(writer, False)
    return tbr.load(ours_dir), tbr.load(torch_dir)


# ---- cases compared run for run, tag for tag ------------------------------------


def scalar_inputs(ours: bool) -> Iterator[Any]:
    yield 1.5
    yield 7
    yield np.float32(0.1)
    yield np.float64(1 / 3)
    yield torch.tensor(2.25)
    yield torch.tensor([0.7])
    yield torch.tensor(0.3, dtype=torch.float16)
    yield torch.tensor(0.3, dtype=torch.bfloat16)
    yield math.nan
    yield math.inf
    yield -math.inf
    yield np.float32(-0.0)
    # A JAX scalar on our side, the same float32 on torch's.
    yield jnp().float32(0.2) if ours else np.float32(0.2)


def scalar_calls(**options: Any) -> Case:
    def calls(writer: Any, ours: bool) -> None:
        for step, value in enumerate(scalar_inputs(ours)):
            writer.add_scalar("loss", value, step * 10, walltime=WALL + step, **options)
        writer.add_scalar("other/tag", 3, walltime=WALL)  # no step: step 0

    return calls


CASES["scalar_legacy"] = scalar_calls()
CASES["scalar_new_style"] = scalar_calls(new_style=True)
CASES["scalar_double_precision"] = scalar_calls(new_style=True, double_precision=True)


@case
def case_scalars(writer: Any, ours: bool) -> None:
    writer.add_scalars("loss/total", {"train": 0.5, "val": torch.tensor(0.75)}, 1, walltime=WALL)
    writer.add_scalars("loss/total", {"train": 0.25, "test": math.nan}, 2, walltime=WALL + 1)
    writer.add_scalars("acc", {"train": np.float64(0.9)}, 2, walltime=WALL + 2)


@case
def case_tensor(writer: Any, ours: bool) -> None:
    values = torch.tensor([[1.5, -2.0, 0.25], [3.0, math.inf, -0.0]])
    writer.add_tensor("float32", values, 1, walltime=WALL)
    writer.add_tensor("float64", values.double(), 2, walltime=WALL)
    writer.add_tensor("int32", torch.arange(6, dtype=torch.int32).reshape(3, 2), 1, walltime=WALL)
    writer.add_tensor("int64", torch.tensor([-(2**40), 5]), 1, walltime=WALL)
    writer.add_tensor("bool", torch.tensor([True, False, True]), 1, walltime=WALL)
    writer.add_tensor("scalar", torch.tensor(4.5), 1, walltime=WALL)
    jax_values = jnp().asarray(values.numpy()) if ours else values
    writer.add_tensor("jax", jax_values, 3, walltime=WALL)


def histogram_inputs(ours: bool) -> Iterator[Any]:
    generator = rng()
    yield torch.from_numpy(generator.normal(size=500).astype(np.float32))
    yield generator.uniform(-3, 5, size=(20, 20))
    yield np.arange(-10, 40)
    yield torch.from_numpy(generator.normal(2, 0.5, size=300)).half()
    yield torch.from_numpy(generator.normal(0, 3, size=300)).bfloat16()
    yield np.full(10, 2.5)
    values = generator.normal(size=200).astype(np.float32)
    yield jnp().asarray(values) if ours else values


def histogram_calls(bins: Any, max_bins: int | None) -> Case:
    def calls(writer: Any, ours: bool) -> None:
        for step, values in enumerate(histogram_inputs(ours)):
            writer.add_histogram(
                "weights", values, step, bins=bins, walltime=WALL + step, max_bins=max_bins
            )

    return calls


CASES["histogram_tensorflow"] = histogram_calls("tensorflow", None)
CASES["histogram_auto"] = histogram_calls("auto", None)
CASES["histogram_fd"] = histogram_calls("fd", None)
CASES["histogram_int_bins"] = histogram_calls(7, None)
CASES["histogram_max_bins"] = histogram_calls("tensorflow", 50)
CASES["histogram_int_bins_max_bins"] = histogram_calls(64, 10)


@case
def case_histogram_raw(writer: Any, ours: bool) -> None:
    writer.add_histogram_raw(
        "raw", 0.0, 9.0, 10, 45.0, 285.0, [0.0, 3.0, 6.0, 9.0], [0, 3, 3, 4], 4, walltime=WALL
    )
    counts, limits = np.histogram(rng().normal(size=100), bins=8)
    writer.add_histogram_raw(
        "raw",
        min=limits[0],
        max=limits[-1],
        num=100,
        sum=1.5,
        sum_squares=99.0,
        bucket_limits=limits[1:].tolist(),
        bucket_counts=counts.tolist(),
        global_step=5,
        walltime=WALL + 1,
    )


def floats(*shape: int) -> np.ndarray:
    # Some values outside [0, 1], to exercise clipping.
    return rng().uniform(-0.2, 1.2, size=shape).astype(np.float32)


def bytes_(*shape: int) -> np.ndarray:
    return rng().integers(0, 256, size=shape, dtype=np.uint8)


@case
def case_image(writer: Any, ours: bool) -> None:
    writer.add_image("chw_float", torch.from_numpy(floats(3, 6, 8)), 1, walltime=WALL)
    writer.add_image("chw_float", torch.from_numpy(floats(3, 6, 8) / 2), 2, walltime=WALL + 1)
    writer.add_image("chw_gray", torch.from_numpy(floats(1, 5, 7)), 1, walltime=WALL)
    writer.add_image("hwc_uint8", bytes_(6, 8, 3), 1, walltime=WALL, dataformats="HWC")
    writer.add_image("hwc_rgba", bytes_(6, 8, 4), 1, walltime=WALL, dataformats="HWC")
    hw = floats(5, 7).astype(np.float64)
    writer.add_image("hw_float64", hw, 1, walltime=WALL, dataformats="HW")
    writer.add_image("float16", torch.from_numpy(floats(3, 4, 4)).half(), 1, walltime=WALL)
    writer.add_image("bfloat16", torch.from_numpy(floats(3, 4, 4)).bfloat16(), 1, walltime=WALL)
    hwc = floats(4, 6, 3)
    writer.add_image(
        "jax", jnp().asarray(hwc) if ours else hwc, 1, walltime=WALL, dataformats="HWC"
    )


@case
def case_images(writer: Any, ours: bool) -> None:
    writer.add_images("nchw", torch.from_numpy(floats(5, 3, 4, 6)), 1, walltime=WALL)
    writer.add_images("nchw_gray", torch.from_numpy(floats(3, 1, 4, 6)), 1, walltime=WALL)
    writer.add_images("nhwc", bytes_(3, 4, 6, 3), 2, walltime=WALL, dataformats="NHWC")
    writer.add_images("single", torch.from_numpy(floats(1, 3, 4, 6)), 3, walltime=WALL)


@case
def case_image_with_boxes(writer: Any, ours: bool) -> None:
    image = torch.from_numpy(floats(3, 48, 64))
    boxes = torch.tensor([[2.0, 3.0, 30.0, 25.0], [10.0, 12.0, 60.0, 44.0]])
    writer.add_image_with_boxes("boxes", image, boxes, 1, walltime=WALL, labels=["cat", "dog"])
    writer.add_image_with_boxes("boxes", image, boxes[:1], 2, walltime=WALL + 1)
    writer.add_image_with_boxes(
        "rescaled", image, boxes, 1, walltime=WALL, rescale=2, labels=["a", "b"]
    )
    writer.add_image_with_boxes("shrunk", image, boxes, 1, walltime=WALL, rescale=0.5)
    hwc = bytes_(40, 50, 3)
    writer.add_image_with_boxes(
        "hwc", hwc, np.array([[5, 5, 45, 30]]), 1, walltime=WALL, dataformats="HWC", labels=["x"]
    )


def make_figure(seed: int) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1.5), dpi=40)
    axes = figure.add_subplot()
    axes.plot(np.random.default_rng(seed).normal(size=20))
    axes.set_xticks([])
    axes.set_yticks([])
    return figure


@case
def case_figure(writer: Any, ours: bool) -> None:
    writer.add_figure("single", make_figure(1), 1, walltime=WALL)
    writer.add_figure("list", [make_figure(2), make_figure(3)], 2, walltime=WALL)
    writer.add_figure("kept_open", make_figure(4), 3, close=False, walltime=WALL)


@case
def case_audio(writer: Any, ours: bool) -> None:
    t = np.linspace(0, 1, 800, dtype=np.float32)
    wave = torch.from_numpy(1.3 * np.sin(2 * np.pi * 5 * t))  # clipped to [-1, 1]
    writer.add_audio("sine", wave, 1, sample_rate=8000, walltime=WALL)
    noise = rng().uniform(-1, 1, size=(1, 500))
    writer.add_audio("noise", noise, 2, sample_rate=16000, walltime=WALL)
    writer.add_audio("default_rate", torch.from_numpy(t - 0.5), 3, walltime=WALL)


@case
def case_text(writer: Any, ours: bool) -> None:
    writer.add_text("notes", "hello **world**", 1, walltime=WALL)
    writer.add_text("notes", "héllo ✓ | a | b |\n|---|---|", 2, walltime=WALL + 1)
    writer.add_text("empty", "", 1, walltime=WALL)


def pr_inputs() -> tuple[np.ndarray, np.ndarray]:
    generator = rng()
    labels = generator.integers(0, 2, size=300)
    predictions = generator.random(300).astype(np.float32)
    # float32 values whose bucket index differs between float32 and float64
    # arithmetic (0.7380952 * 126 is 93 in float32, 92.99... in float64).
    predictions[:3] = np.float32([0.7380952, 0.53174603, 0.65873015])
    return labels, predictions


@case
def case_pr_curve(writer: Any, ours: bool) -> None:
    labels, predictions = pr_inputs()
    writer.add_pr_curve(
        "pr", torch.from_numpy(labels), torch.from_numpy(predictions), 1, walltime=WALL
    )
    writer.add_pr_curve("pr", labels.astype(bool), predictions.astype(np.float64), 2, walltime=WALL)
    weights = rng().uniform(0.5, 2, size=300)
    writer.add_pr_curve(
        "weighted", labels, predictions, 1, num_thresholds=11, weights=weights, walltime=WALL
    )


@case
def case_pr_curve_raw(writer: Any, ours: bool) -> None:
    tp = np.array([50.0, 40, 20, 0])
    fp = np.array([50.0, 20, 5, 0])
    tn, fn = 50 - fp, 50 - tp
    precision = tp / np.maximum(1e-7, tp + fp)
    recall = tp / (tp + fn)
    writer.add_pr_curve_raw(
        "raw", tp, fp, tn, fn, precision, recall, 3, num_thresholds=4, walltime=WALL
    )


@case
def case_mesh(writer: Any, ours: bool) -> None:
    vertices = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]])
    colors = torch.tensor([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9], [1, 2, 3]]])
    faces = torch.tensor([[[0, 1, 2], [0, 2, 3], [1, 2, 4]]], dtype=torch.int32)
    config = {"camera": {"cls": "PerspectiveCamera", "fov": 75}, "lights": [{"cls": "Ambient"}]}
    writer.add_mesh("mesh", vertices, colors=colors, faces=faces, config_dict=config, walltime=WALL)
    writer.add_mesh("cloud", vertices * 2, global_step=2, walltime=WALL)
    writer.add_mesh("colored", vertices.numpy(), colors=colors, global_step=3, walltime=WALL)


@pytest.mark.parametrize("name", sorted(CASES))
def test_tensorboard_reads_the_same(tmp_path: Path, name: str) -> None:
    ours, theirs = write_both(tmp_path, CASES[name])
    assert theirs.runs, "torch wrote nothing TensorBoard could read"
    tbr.assert_same_logdirs(ours, theirs)


def test_plugins_and_data_classes(tmp_path: Path) -> None:
    """The cases land in the dashboards TensorBoard's migrations assign them to."""
    expected = {
        "scalar_legacy": ("scalars", SCALAR),
        "scalar_new_style": ("scalars", SCALAR),
        "histogram_tensorflow": ("histograms", TENSOR),
        "image": ("images", BLOB_SEQUENCE),
        "audio": ("audio", BLOB_SEQUENCE),
        "text": ("text", TENSOR),
        "pr_curve": ("pr_curves", TENSOR),
        "mesh": ("mesh", TENSOR),
        "tensor": ("tensor", summary_pb2.DATA_CLASS_UNKNOWN),
    }
    for name, (plugin, data_class) in expected.items():
        ours, _ = write_both(tmp_path / name, CASES[name])
        for series in ours.runs["."].values():
            assert (series.plugin_name, series.data_class) == (plugin, data_class), name


def test_scalars_values_as_written(tmp_path: Path) -> None:
    ours, _ = write_both(tmp_path, CASES["scalar_double_precision"])
    loss = ours.series(".", "loss")
    assert loss.steps == tuple(range(0, 130, 10))
    values = [float(v) for v in loss.values()]
    assert values[:4] == [1.5, 7.0, float(np.float32(0.1)), 1 / 3]
    assert math.isnan(values[8])
    assert values[9:11] == [math.inf, -math.inf]
    assert loss.values()[0].dtype == np.float64


def test_scalars_runs(tmp_path: Path) -> None:
    ours, theirs = write_both(tmp_path, CASES["scalars"])
    runs = ["loss_total_train", "loss_total_val", "loss_total_test", "acc_train"]
    assert sorted(ours.runs) == sorted(theirs.runs) == sorted([".", *runs])
    for run in runs:
        assert list(ours.runs[run]) == ["acc" if run == "acc_train" else "loss/total"]


# ---- inputs torch's writer mishandles -------------------------------------------


def test_add_tensor_half_precision_and_uint8(tmp_path: Path) -> None:
    """torch writes float16/bfloat16 as float32 bit patterns in ``half_val`` and uint8
    in ``uint32_val``, which TensorBoard cannot decode; ours decode to the values."""
    values = torch.tensor([[1.5, -0.25], [3.0, 1.0]])

    def calls(writer: Any, ours: bool) -> None:
        writer.add_tensor("float16", values.half(), 1, walltime=WALL)
        writer.add_tensor("uint8", values.abs().to(torch.uint8), 1, walltime=WALL)
        writer.add_tensor("bfloat16", values.bfloat16() if ours else values, 1, walltime=WALL)
        bf16 = jnp().asarray(values.numpy(), dtype="bfloat16")
        writer.add_tensor("jax_bfloat16", bf16 if ours else values, 1, walltime=WALL)

    ours, theirs = write_both(tmp_path, calls)
    with pytest.raises(OverflowError):
        theirs.series(".", "float16").values()
    with pytest.raises(ValueError, match="reshape"):
        theirs.series(".", "uint8").values()
    [float16] = ours.series(".", "float16").values()
    tbr.assert_equal(float16, values.half().numpy())
    [uint8] = ours.series(".", "uint8").values()
    tbr.assert_equal(uint8, values.abs().to(torch.uint8).numpy())
    # bfloat16 is widened to float32 (exact): TensorBoard cannot decode DT_BFLOAT16.
    for tag in ("bfloat16", "jax_bfloat16"):
        tbr.assert_same_series(ours.series(".", tag), theirs.series(".", tag), tag)


def test_add_audio_half_precision(tmp_path: Path) -> None:
    """torch scales float16 (and bfloat16, which it turns into float16) by 32767 in
    float16, where 1.0 * 32767 is 32768 and wraps to -32768; lumiboard scales in
    float32, so its clip equals torch's for the same values in float32."""
    clip = torch.linspace(-1, 1, 201)

    def calls(writer: Any, ours: bool) -> None:
        writer.add_audio("float16", clip.half() if ours else clip.half().float(), 1, walltime=WALL)
        bf16 = clip.bfloat16()
        writer.add_audio("bfloat16", bf16 if ours else bf16.float(), 1, walltime=WALL)

    ours, theirs = write_both(tmp_path, calls)
    tbr.assert_same_logdirs(ours, theirs)
    with torch_tb.SummaryWriter(tmp_path / "torch_half") as writer:
        writer.add_audio("float16", clip.half(), 1, walltime=WALL)
    [[torch_half]] = tbr.load(tmp_path / "torch_half").series(".", "float16").values()
    assert torch_half.samples[-1, 0] == -32768
    [[ours_half]] = ours.series(".", "float16").values()
    assert ours_half.samples[-1, 0] == 32767


def test_add_pr_curve_bfloat16(tmp_path: Path) -> None:
    """torch turns bfloat16 predictions into float16, whose products bucket
    differently; ours are widened to float32 and match torch's float32 curve."""
    labels, predictions = pr_inputs()
    bf16 = torch.from_numpy(predictions).bfloat16()

    def calls(writer: Any, ours: bool) -> None:
        writer.add_pr_curve("pr", labels, bf16 if ours else bf16.float(), 1, walltime=WALL)

    ours, theirs = write_both(tmp_path, calls)
    tbr.assert_same_logdirs(ours, theirs)
    with torch_tb.SummaryWriter(tmp_path / "torch_bf16") as writer:
        writer.add_pr_curve("pr", labels, bf16, 1, walltime=WALL)
    [torch_bf16] = tbr.load(tmp_path / "torch_bf16").series(".", "pr").values()
    [torch_float32] = theirs.series(".", "pr").values()
    assert not np.array_equal(torch_bf16, torch_float32)


def test_pr_curve_thresholds_not_capped(tmp_path: Path) -> None:
    """torch caps num_thresholds at 127 ("value > 127 breaks protobuf"); we do not."""
    labels, predictions = pr_inputs()

    def calls(writer: Any, ours: bool) -> None:
        writer.add_pr_curve("pr", labels, predictions, 1, num_thresholds=200, walltime=WALL)

    ours, theirs = write_both(tmp_path, calls)
    assert ours.series(".", "pr").content().num_thresholds == 200
    assert ours.series(".", "pr").values()[0].shape == (6, 200)
    assert theirs.series(".", "pr").content().num_thresholds == 127
    assert theirs.series(".", "pr").values()[0].shape == (6, 127)


# ---- video: torch needs moviepy, so its frames come from _prepare_video -----------


@pytest.mark.parametrize(
    "video",
    [
        rng().uniform(0, 1, size=(3, 4, 3, 4, 5)).astype(np.float32),
        rng().integers(0, 256, size=(1, 3, 3, 6, 7), dtype=np.uint8),
        rng().uniform(-0.5, 1.5, size=(5, 2, 1, 3, 4)),
    ],
    ids=["float32_3clips", "uint8_1clip", "float64_gray_5clips_clipped"],
)
def test_add_video_frames_match_torch(tmp_path: Path, video: np.ndarray) -> None:
    with SummaryWriter(tmp_path) as writer:
        writer.add_video("video", torch.from_numpy(video), 3, fps=5, walltime=WALL)
    series = tbr.load(tmp_path).series(".", "video")
    assert (series.plugin_name, series.data_class) == ("images", BLOB_SEQUENCE)
    assert series.steps == (3,)
    assert series.wall_times == (WALL,)
    [[picture]] = series.values()

    # torch.utils.tensorboard.summary.video, up to its moviepy call.
    frames = torch_utils._prepare_video(video)
    scale = torch_summary._calc_scale_factor(frames)
    frames = (frames.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    if frames.shape[3] == 1:
        frames = np.repeat(frames, 3, axis=3)  # a GIF frame decodes as RGB
    _, height, width, _ = frames.shape
    assert (picture.width, picture.height) == (width, height)
    assert picture.format == "GIF"
    # At most 256 colours per frame, so a GIF holds these frames exactly.
    tbr.assert_equal(list(picture.frames), list(frames))


def test_add_video_gif_timing(tmp_path: Path) -> None:
    video = rng().uniform(0, 1, size=(1, 3, 3, 4, 4)).astype(np.float32)
    with SummaryWriter(tmp_path) as writer:
        writer.add_video("video", video, fps=8, walltime=WALL)
    [tensor] = tbr.load(tmp_path).series(".", "video").tensors
    gif = Image.open(io.BytesIO(tensor.string_val[2]))
    assert gif.n_frames == 3
    # 1000 / fps = 125 ms; a GIF stores whole centiseconds.
    assert gif.info["duration"] == 120
    assert gif.info["loop"] == 0


def test_add_video_gif_limits(tmp_path: Path) -> None:
    """The documented GIF differences: identical consecutive frames become one
    longer frame, and a frame of more than 256 colours is quantized."""
    generator = rng()
    frame, other = generator.uniform(0, 1, size=(2, 1, 1, 3, 4, 4)).astype(np.float32)
    repeated = np.concatenate([frame, frame, other], axis=1)
    colourful = generator.uniform(0, 1, size=(1, 2, 3, 20, 20)).astype(np.float32)
    with SummaryWriter(tmp_path) as writer:
        writer.add_video("repeated", repeated, fps=4, walltime=WALL)
        writer.add_video("colourful", colourful, fps=4, walltime=WALL)
    logdir = tbr.load(tmp_path)
    [tensor] = logdir.series(".", "repeated").tensors
    gif = Image.open(io.BytesIO(tensor.string_val[2]))
    assert [frame.info["duration"] for frame in ImageSequence.Iterator(gif)] == [500, 250]
    [[picture]] = logdir.series(".", "colourful").values()
    expected = torch_utils._prepare_video(colourful) * np.float32(255)
    for decoded, exact in zip(picture.frames, expected.astype(np.uint8), strict=True):
        assert len(np.unique(exact.reshape(-1, 3), axis=0)) > 256
        assert len(np.unique(decoded.reshape(-1, 3), axis=0)) <= 256
        assert np.abs(decoded.astype(int) - exact.astype(int)).mean() < 16


# ---- graph --------------------------------------------------------------------


class SmallNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x: Any) -> Any:
        return torch.softmax(self.fc(torch.relu(self.conv(x)).flatten(1)), dim=1)


def test_add_graph(tmp_path: Path) -> None:
    def calls(writer: Any, ours: bool) -> None:
        torch.manual_seed(0)
        writer.add_graph(SmallNet(), torch.zeros(1, 1, 4, 4))

    ours, theirs = write_both(tmp_path, calls)
    # The graph is exposed as the blob "__run_graph__" and the run metadata as "step1".
    tbr.assert_same_logdirs(ours, theirs, wall_times=False, values=False)
    assert sorted(ours.runs["."]) == ["__run_graph__", "step1"]
    ours_graph = ours.multiplexer.GetAccumulator(".").Graph()
    torch_graph = theirs.multiplexer.GetAccumulator(".").Graph()
    assert {n.name: n.op for n in ours_graph.node} == {n.name: n.op for n in torch_graph.node}
    ours_nodes = {node.name: node for node in ours_graph.node}
    for theirs_node in torch_graph.node:
        node = ours_nodes[theirs_node.name]
        # Documented in lumiboard.integrations.torch_graph: torch names the module
        # object, no node of the graph, as the input of each parameter node.
        dangling = [name for name in theirs_node.input if name not in ours_nodes]
        assert not dangling or theirs_node.op == "prim::GetAttr"
        assert list(node.input) == [name for name in theirs_node.input if name not in dangling]
        # We add a dtype attr, and shapes to parameter nodes; the rest is torch's.
        assert (
            set(theirs_node.attr)
            <= set(node.attr)
            <= {*theirs_node.attr, "dtype", "_output_shapes"}
        )
        if "_output_shapes" in theirs_node.attr:
            assert node.attr["_output_shapes"] == theirs_node.attr["_output_shapes"]
        # The JIT attributes, without torch's quote-for-space swap.
        assert node.attr["attr"].s.replace(b" ", b"") == theirs_node.attr["attr"].s.replace(
            b" ", b""
        )
        assert node.device == theirs_node.device
    # The tagged RunMetadata is migrated into a "graph_tagged_run_metadata" blob.
    ours_meta = run_metadata(ours.series(".", "step1"))
    torch_meta = run_metadata(theirs.series(".", "step1"))
    assert ours.series(".", "step1").plugin_name == "graph_tagged_run_metadata"
    assert [d.device for d in ours_meta.step_stats.dev_stats] == [
        d.device for d in torch_meta.step_stats.dev_stats
    ]
    # torch's step stats are empty; ours list each node with a tensor output.
    [torch_stats] = torch_meta.step_stats.dev_stats
    assert not torch_stats.node_stats
    [ours_stats] = ours_meta.step_stats.dev_stats
    assert {n.node_name for n in ours_stats.node_stats} <= set(ours_nodes)


def run_metadata(series: tbr.Series) -> config_pb2.RunMetadata:
    [blob] = series.values()
    return config_pb2.RunMetadata.FromString(blob.reshape(-1)[0])


# ---- embeddings: files, not events ------------------------------------------------


def read_projector(logdir: Path) -> projector_config_pb2.ProjectorConfig:
    config = projector_config_pb2.ProjectorConfig()
    text_format.Parse((logdir / "projector_config.pbtxt").read_text(), config)
    return config


def test_add_embedding(tmp_path: Path) -> None:
    generator = rng()
    mat = generator.normal(size=(10, 4)).astype(np.float32)
    labels = [f"point {i}" for i in range(10)]
    table = [[f"p{i}", i % 3] for i in range(10)]
    thumbnails = generator.uniform(0, 1, size=(10, 3, 5, 6)).astype(np.float32)

    def calls(writer: Any, ours: bool) -> None:
        writer.add_embedding(torch.from_numpy(mat), metadata=labels)
        writer.add_embedding(
            mat * 2,
            metadata=table,
            label_img=torch.from_numpy(thumbnails),
            global_step=3,
            tag="with/slash%and\\back",
            metadata_header=["name", "class"],
        )
        mat_in = jnp().asarray(mat) if ours else mat
        writer.add_embedding(mat_in[:5], label_img=torch.from_numpy(thumbnails[:5]), global_step=4)

    write_both(tmp_path, calls)
    ours_dir, torch_dir = tmp_path / "lumiboard", tmp_path / "torch"
    ours_config, torch_config = read_projector(ours_dir), read_projector(torch_dir)
    # lumiboard also records each tensor's shape; torch leaves it out.
    assert [list(e.tensor_shape) for e in ours_config.embeddings] == [[10, 4], [10, 4], [5, 4]]
    for embedding in ours_config.embeddings:
        embedding.ClearField("tensor_shape")
    assert ours_config == torch_config
    assert len(ours_config.embeddings) == 3
    for embedding in torch_config.embeddings:
        ours_tsv = (ours_dir / embedding.tensor_path).read_text()
        torch_tsv = (torch_dir / embedding.tensor_path).read_text()
        assert ours_tsv == torch_tsv
        if embedding.metadata_path:
            ours_meta = (ours_dir / embedding.metadata_path).read_text()
            assert ours_meta == (torch_dir / embedding.metadata_path).read_text()
        if embedding.sprite.image_path:
            ours_sprite = np.asarray(Image.open(ours_dir / embedding.sprite.image_path))
            torch_sprite = np.asarray(Image.open(torch_dir / embedding.sprite.image_path))
            tbr.assert_equal(ours_sprite, torch_sprite)


def test_add_embedding_where_torch_breaks(tmp_path: Path) -> None:
    """Two inputs torch mishandles. uint8 thumbnails: torch multiplies them by 255
    (every non-zero pixel saturates), we keep them as add_image does. A tab or
    newline in a label: torch writes it raw, adding a column or a row to
    metadata.tsv; we write a space. Gray float thumbnails are the same."""
    generator = rng()
    thumbnails = generator.integers(0, 256, size=(4, 3, 3, 5), dtype=np.uint8)
    gray = generator.uniform(0, 1, size=(4, 1, 3, 5)).astype(np.float32)
    labels = ["a\tb", "c", "d\ne", 4]

    def calls(writer: Any, ours: bool) -> None:
        writer.add_embedding(np.eye(4), label_img=torch.from_numpy(thumbnails), tag="uint8")
        writer.add_embedding(np.eye(4), metadata=labels, label_img=torch.from_numpy(gray))

    write_both(tmp_path, calls)

    def sprite(logdir: Path, tag: str) -> np.ndarray:
        return np.asarray(Image.open(logdir / "00000" / tag / "sprite.png"))

    ours_dir, torch_dir = tmp_path / "lumiboard", tmp_path / "torch"
    grid = thumbnails.transpose(0, 2, 3, 1)  # 4 thumbnails in a 2x2 grid of a 10x10 square
    tbr.assert_equal(sprite(ours_dir, "uint8")[:3, :5], grid[0])
    tbr.assert_equal(sprite(ours_dir, "uint8")[3:6, 5:], grid[3])
    assert sprite(torch_dir, "uint8")[:3, :5].tolist() == np.where(grid[0] > 0, 255, 0).tolist()
    tbr.assert_equal(sprite(ours_dir, "default"), sprite(torch_dir, "default"))
    assert (ours_dir / "00000/default/metadata.tsv").read_text() == "a b\nc\nd e\n4\n"
    assert (torch_dir / "00000/default/metadata.tsv").read_text() == "a\tb\nc\nd\ne\n4\n"


# ---- custom scalars: torch writes each call's chart alone ----------------------


def test_custom_scalars(tmp_path: Path) -> None:
    def calls(writer: Any, ours: bool) -> None:
        writer.add_custom_scalars(
            {
                "Training": {
                    "loss": ["Multiline", ["loss/train", "loss/val"]],
                    "acc": ["Margin", ["acc", "acc_low", "acc_high"]],
                },
                "Other": {"lr": ["Multiline", ["lr.*"]]},
            }
        )
        writer.add_custom_scalars_multilinechart(["grad/.*"], category="Debug", title="grads")
        writer.add_custom_scalars_marginchart(["f1", "f1_lo", "f1_hi"], category="Training")
        writer.add_custom_scalars_multilinechart(["a", "b"])

    ours, theirs = write_both(tmp_path, calls)
    tbr.assert_same_logdirs(ours, theirs, wall_times=False, values=False)
    ours_layouts = ours.series(".", "custom_scalars__config__").values()
    torch_layouts = theirs.series(".", "custom_scalars__config__").values()
    assert len(ours_layouts) == len(torch_layouts) == 4
    # Each of our config events holds every chart so far; torch's, only the call's.
    union = layout_pb2.Layout()
    for index, layout in enumerate(torch_layouts):
        merge_layout(union, layout)
        assert ours_layouts[index] == union
    # TensorBoard's dashboard reads a run's latest config: all charts for us,
    # only the last call's for torch.
    assert tbr.custom_scalars_layout(ours) == ours_layouts[-1]
    assert tbr.custom_scalars_layout(theirs) == torch_layouts[-1]
    titles = {c.title: [chart.title for chart in c.chart] for c in ours_layouts[-1].category}
    assert titles == {
        "Training": ["loss", "acc", "untitled"],
        "Other": ["lr"],
        "Debug": ["grads"],
        "default": ["untitled"],
    }


def merge_layout(base: layout_pb2.Layout, extra: layout_pb2.Layout) -> None:
    for category in extra.category:
        target = next((c for c in base.category if c.title == category.title), None)
        if target is None:
            base.category.add().CopyFrom(category)
        else:
            target.chart.extend(category.chart)


# ---- hparams ----------------------------------------------------------------------

HPARAMS = {"lr": 0.01, "batch": 32, "optim": "adam", "dropout": torch.tensor([0.5]), "x": None}
METRICS = {"hp/accuracy": 0.75, "hp/loss": torch.tensor(0.5)}
DISCRETE = {"optim": ["adam", "sgd"], "batch": [16, 32]}


def test_add_hparams(tmp_path: Path) -> None:
    def calls(writer: Any, ours: bool) -> None:
        writer.add_scalar("train/loss", 1.0, 0, walltime=WALL)
        writer.add_hparams(HPARAMS, METRICS, DISCRETE, run_name="trial", global_step=3)

    ours, theirs = write_both(tmp_path, calls)
    assert sorted(ours.runs) == [".", "trial"]
    tbr.assert_same_logdirs(ours, theirs, wall_times=False, content=tbr.without_times)
    experiment = ours.series("trial", "_hparams_/experiment").content().experiment
    assert [(info.name, info.type) for info in experiment.hparam_infos] == [
        ("lr", api_pb2.DATA_TYPE_FLOAT64),
        ("batch", api_pb2.DATA_TYPE_FLOAT64),
        ("optim", api_pb2.DATA_TYPE_STRING),
        ("dropout", api_pb2.DATA_TYPE_FLOAT64),
    ]
    assert [info.name.tag for info in experiment.metric_infos] == ["hp/accuracy", "hp/loss"]
    start = ours.series("trial", "_hparams_/session_start_info").content().session_start_info
    assert dict(start.hparams)["optim"].string_value == "adam"
    assert ours.series("trial", "hp/loss").steps == (3,)
    # After migration both carry TensorBoard's NULL_TENSOR (an empty float tensor).
    for tag in ("_hparams_/experiment", "_hparams_/session_end_info"):
        [value] = ours.series("trial", tag).values()
        tbr.assert_equal(value, np.zeros((0,), dtype=np.float32))


def raw_values(run_dir: Path) -> dict[str, Any]:
    """The values as written, before TensorBoard's read-time migrations."""
    values = {}
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        for event in event_file_loader.LegacyEventFileLoader(str(path)).Load():
            for value in event.summary.value:
                values[value.tag] = value
    return values


def test_add_hparams_null_tensor_as_written(tmp_path: Path) -> None:
    """We write NULL_TENSOR ourselves; torch writes metadata only and relies on TB."""
    write_both(
        tmp_path, lambda writer, ours: writer.add_hparams({"a": 1}, {"m": 1.0}, run_name="r")
    )
    ours = raw_values(tmp_path / "lumiboard" / "r")["_hparams_/experiment"]
    theirs = raw_values(tmp_path / "torch" / "r")["_hparams_/experiment"]
    assert ours.HasField("tensor")
    assert not theirs.HasField("tensor")
    assert ours.metadata.data_class == TENSOR
    assert theirs.metadata.data_class == summary_pb2.DATA_CLASS_UNKNOWN


def test_add_hparams_bool(tmp_path: Path) -> None:
    """torch tests int/float before bool, so True becomes FLOAT64 1.0; we keep a bool."""

    def calls(writer: Any, ours: bool) -> None:
        writer.add_hparams({"flag": True, "n": 2}, {"m": 1.0}, {"flag": [True, False]}, "r")

    ours, theirs = write_both(tmp_path, calls)
    ours_exp = ours.series("r", "_hparams_/experiment").content().experiment
    torch_exp = theirs.series("r", "_hparams_/experiment").content().experiment
    assert ours_exp.hparam_infos[0].type == api_pb2.DATA_TYPE_BOOL
    assert torch_exp.hparam_infos[0].type == api_pb2.DATA_TYPE_FLOAT64
    assert [v.bool_value for v in ours_exp.hparam_infos[0].domain_discrete.values] == [True, False]
    assert [v.number_value for v in torch_exp.hparam_infos[0].domain_discrete.values] == [1, 0]
    ours_start = ours.series("r", "_hparams_/session_start_info").content().session_start_info
    torch_start = theirs.series("r", "_hparams_/session_start_info").content()
    assert ours_start.hparams["flag"].WhichOneof("kind") == "bool_value"
    assert torch_start.session_start_info.hparams["flag"].number_value == 1.0
    assert ours_exp.hparam_infos[1] == torch_exp.hparam_infos[1]


def test_add_hparams_in_tensorboard_hparams_plugin(tmp_path: Path) -> None:
    """The HParams dashboard lists the same sessions, values and metrics (bools as bools)."""

    def calls(writer: Any, ours: bool) -> None:
        writer.add_hparams({"lr": 0.1, "optim": "sgd", "bn": True}, {"hp/acc": 0.5}, run_name="a")
        writer.add_hparams({"lr": 0.2, "optim": "adam", "bn": False}, {"hp/acc": 0.7}, run_name="b")

    ours, theirs = write_both(tmp_path, calls)
    ours_groups = tbr.hparams_session_groups(ours)
    torch_groups = tbr.hparams_session_groups(theirs)
    assert [hparams.pop("bn") for hparams, _ in ours_groups] == [True, False]
    assert [hparams.pop("bn") for hparams, _ in torch_groups] == [1.0, 0.0]
    assert ours_groups == torch_groups
    assert [sessions for _, sessions in ours_groups] == [
        [("a", {"hp/acc": 0.5})],
        [("b", {"hp/acc": float(np.float32(0.7))})],
    ]


def test_add_hparams_separate_run_false(tmp_path: Path) -> None:
    """``separate_run=False`` records the session in the writer's own run."""
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalar("hp/acc", 0.25, 1, walltime=WALL)
        writer.add_hparams(
            {"lr": 0.1, "deep": False},
            {"hp/acc": 0.5, "train/loss": None},
            global_step=2,
            separate_run=False,
        )
        writer.add_scalar("train/loss", 0.125, 2, walltime=WALL)
    logdir = tbr.load(tmp_path)
    assert list(logdir.runs) == ["."]
    main = logdir.runs["."]
    for tag in (
        "_hparams_/experiment",
        "_hparams_/session_start_info",
        "_hparams_/session_end_info",
    ):
        assert main[tag].plugin_name == "hparams"
        assert main[tag].steps == (2,)
    experiment = main["_hparams_/experiment"].content().experiment
    assert [info.name.tag for info in experiment.metric_infos] == ["hp/acc", "train/loss"]
    assert main["hp/acc"].steps == (1, 2)
    [(hparams, sessions)] = tbr.hparams_session_groups(logdir)
    assert hparams == {"lr": 0.1, "deep": False}
    assert sessions == [(".", {"hp/acc": 0.5, "train/loss": 0.125})]


# ---- purge_step --------------------------------------------------------------------


def wait_for_next_second() -> None:
    # Event files sort by their 10-digit time stamp first: the resumed writer's
    # file must sort after the crashed one's, as it would in a real restart.
    start = int(time.time())
    while int(time.time()) == start:
        time.sleep(0.01)


@pytest.mark.parametrize("first_purge_step", [0, None])
def test_purge_step(tmp_path: Path, first_purge_step: int | None) -> None:
    """A writer resumed with ``purge_step=6`` hides the crashed run's steps >= 6.

    TensorBoard purges on a *second* ``SessionLog.START`` in a run: the first one
    only marks the start. So the purge works when the crashed writer had a
    ``purge_step`` too (as a resumable training script passes on every start);
    without it, TensorBoard keeps the old steps, for torch's files and ours alike.
    """
    ours_dir, torch_dir = tmp_path / "lumiboard", tmp_path / "torch"
    writers = ((SummaryWriter, ours_dir), (torch_tb.SummaryWriter, torch_dir))
    for writer_class, logdir in writers:
        with writer_class(logdir, purge_step=first_purge_step) as writer:
            for step in range(10):
                writer.add_scalar("loss", step, step, walltime=WALL + step)
                writer.add_text("note", f"first {step}", step, walltime=WALL + step)
    wait_for_next_second()
    for writer_class, logdir in writers:
        with writer_class(logdir, purge_step=6) as writer:
            for step in range(6, 8):
                writer.add_scalar("loss", 100 + step, step, walltime=WALL + 100 + step)
    ours, theirs = tbr.load(ours_dir), tbr.load(torch_dir)
    tbr.assert_same_logdirs(ours, theirs)
    loss = ours.series(".", "loss")
    if first_purge_step is None:
        assert loss.steps == (*range(10), 6, 7)
        assert ours.series(".", "note/text_summary").steps == tuple(range(10))
    else:
        assert loss.steps == (0, 1, 2, 3, 4, 5, 6, 7)
        assert [float(v) for v in loss.values()] == [0, 1, 2, 3, 4, 5, 106, 107]
        assert ours.series(".", "note/text_summary").steps == (0, 1, 2, 3, 4, 5)
