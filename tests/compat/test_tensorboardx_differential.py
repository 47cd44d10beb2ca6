"""lumiboard's SummaryWriter against tensorboardX's, as TensorBoard reads both.

For scalars, histograms, images and text, the same calls through tensorboardX
and lumiboard must look the same once the real ``tensorboard`` package has
loaded them. Where tensorboardX departs from ``torch.utils.tensorboard``
(``add_scalars`` runs, ``add_hparams(name=...)`` and its bool hparams, tag
cleaning, unclipped image floats), lumiboard follows torch, except for bool
hparams, which it records as tensorboardX does; both are asserted here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tb_reading as tbr
from tensorboard.plugins.hparams import api_pb2

from lumiboard.writer.summary_writer import SummaryWriter

tbx = pytest.importorskip("tensorboardX")
torch = pytest.importorskip("torch")
torch_tb = pytest.importorskip("torch.utils.tensorboard")

WALL = 1_700_000_000.0

Calls = Callable[[Any], None]


def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def load_both(tmp_path: Path, calls: Calls) -> tuple[tbr.Logdir, tbr.Logdir]:
    """Run ``calls`` through lumiboard and tensorboardX; return both as TensorBoard loads them."""
    ours_dir, tbx_dir = tmp_path / "lumiboard", tmp_path / "tensorboardx"
    with SummaryWriter(ours_dir) as writer:
        calls(writer)
    with tbx.SummaryWriter(str(tbx_dir)) as writer:
        calls(writer)
    return tbr.load(ours_dir), tbr.load(tbx_dir)


def scalars(writer: Any) -> None:
    values = [1.5, 7, np.float32(0.1), np.float64(1 / 3), torch.tensor(2.25), math.nan, -math.inf]
    for step, value in enumerate(values):
        writer.add_scalar("loss/train", value, step, walltime=WALL + step)
    writer.add_scalar("no_step", 3.0, walltime=WALL)


def histograms(writer: Any) -> None:
    generator = rng()
    inputs = [
        torch.from_numpy(generator.normal(size=400).astype(np.float32)),
        generator.uniform(-2, 6, size=(10, 30)),
        np.arange(-5, 25),
        np.full(8, -1.25),
    ]
    for step, values in enumerate(inputs):
        writer.add_histogram("default_bins", values, step, walltime=WALL + step)
        writer.add_histogram("auto", values, step, bins="auto", walltime=WALL + step)
        writer.add_histogram("int_bins", values, step, bins=9, walltime=WALL + step)
        writer.add_histogram("max_bins", values, step, walltime=WALL + step, max_bins=40)
    writer.add_histogram_raw(
        "raw", 0.0, 9.0, 10, 45.0, 285.0, [0.0, 3.0, 6.0, 9.0], [0, 3, 3, 4], 2, walltime=WALL
    )


def images(writer: Any) -> None:
    # Floats within [0, 1]: tensorboardX does not clip (see test_image_clipping).
    generator = rng()
    chw = torch.from_numpy(generator.uniform(0, 1, size=(3, 6, 8)).astype(np.float32))
    writer.add_image("chw_float", chw, 1, walltime=WALL)
    hwc = generator.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    writer.add_image("hwc_uint8", hwc, 2, walltime=WALL, dataformats="HWC")
    writer.add_image("hw", generator.uniform(0, 1, size=(4, 9)), 3, walltime=WALL, dataformats="HW")
    writer.add_image("gray", generator.uniform(0, 1, size=(1, 4, 4)), 1, walltime=WALL)
    batch = generator.uniform(0, 1, size=(5, 3, 4, 6)).astype(np.float32)
    writer.add_images("nchw", batch, 1, walltime=WALL)
    nhwc = generator.integers(0, 256, size=(3, 4, 6, 3), dtype=np.uint8)
    writer.add_images("nhwc", nhwc, 2, walltime=WALL, dataformats="NHWC")


def texts(writer: Any) -> None:
    writer.add_text("notes", "hello **world**", 1, walltime=WALL)
    writer.add_text("notes", "héllo ✓\n\n| a | b |\n|---|---|", 2, walltime=WALL + 1)


@pytest.mark.parametrize(
    "calls", [scalars, histograms, images, texts], ids=lambda calls: calls.__name__
)
def test_tensorboard_reads_the_same(tmp_path: Path, calls: Calls) -> None:
    ours, theirs = load_both(tmp_path, calls)
    assert theirs.runs["."], "tensorboardX wrote nothing TensorBoard could read"
    tbr.assert_same_logdirs(ours, theirs)


def test_image_clipping(tmp_path: Path) -> None:
    """Floats outside [0, 1] are clipped, as torch does (tensorboardX casts them to
    uint8 unclipped, which numpy leaves undefined, so it is not compared here)."""
    image = np.linspace(-0.5, 1.5, 3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    with SummaryWriter(tmp_path / "lumiboard") as writer:
        writer.add_image("image", image, 1, walltime=WALL)
    with torch_tb.SummaryWriter(tmp_path / "torch") as writer:
        writer.add_image("image", image, 1, walltime=WALL)
    ours, theirs = tbr.load(tmp_path / "lumiboard"), tbr.load(tmp_path / "torch")
    tbr.assert_same_logdirs(ours, theirs)
    [[picture]] = ours.series(".", "image").values()
    assert picture.frames[0].min() == 0
    assert picture.frames[0].max() == 255


def test_add_scalars_runs(tmp_path: Path) -> None:
    """tensorboardX nests runs as ``<main_tag>/<key>``; lumiboard names them as torch
    does, ``<main_tag with / as _>_<key>``; the points are the same."""

    def calls(writer: Any) -> None:
        writer.add_scalars("loss/total", {"train": 0.5, "val": 0.75}, 1, walltime=WALL)
        writer.add_scalars("loss/total", {"train": 0.25, "val": 0.5}, 2, walltime=WALL + 1)

    ours, theirs = load_both(tmp_path, calls)
    with torch_tb.SummaryWriter(tmp_path / "torch") as writer:
        calls(writer)
    torch_logdir = tbr.load(tmp_path / "torch")
    tbr.assert_same_logdirs(ours, torch_logdir)
    assert sorted(ours.runs) == [".", "loss_total_train", "loss_total_val"]
    assert sorted(theirs.runs) == [".", "loss/total/train", "loss/total/val"]
    for key in ("train", "val"):
        tbr.assert_same_series(
            ours.series(f"loss_total_{key}", "loss/total"),
            theirs.series(f"loss/total/{key}", "loss/total"),
            key,
        )


def test_tag_cleaning(tmp_path: Path) -> None:
    """tensorboardX rewrites tags with characters TF node names lack; torch and
    lumiboard keep the tag as given."""

    def calls(writer: Any) -> None:
        writer.add_scalar("my loss (train)", 1.0, 1, walltime=WALL)
        writer.add_histogram("/weights:0", np.arange(5.0), 1, walltime=WALL)

    ours, theirs = load_both(tmp_path, calls)
    assert sorted(ours.runs["."]) == ["/weights:0", "my loss (train)"]
    assert sorted(theirs.runs["."]) == ["my_loss__train_", "weights_0"]
    ours_scalar = ours.series(".", "my loss (train)")
    theirs_scalar = theirs.series(".", "my_loss__train_")
    assert ours_scalar.steps == theirs_scalar.steps
    tbr.assert_equal(ours_scalar.values(), theirs_scalar.values())


def test_add_hparams(tmp_path: Path) -> None:
    """tensorboardX's ``name=`` is torch's ``run_name=``. tensorboardX writes the
    hparams summaries at step 0 whatever ``global_step`` is, and records bools
    as DATA_TYPE_BOOL, as lumiboard does (torch records them as FLOAT64)."""
    hparams = {"lr": 0.01, "layers": 3, "optim": "adam", "bn": True, "skip": None}
    metrics = {"hp/accuracy": 0.75, "hp/loss": 0.5}
    ours_dir, tbx_dir = tmp_path / "lumiboard", tmp_path / "tensorboardx"
    with SummaryWriter(ours_dir) as writer:
        writer.add_hparams(hparams, metrics, run_name="trial")
    with tbx.SummaryWriter(str(tbx_dir)) as writer:
        writer.add_hparams(hparams, metrics, name="trial")
    ours, theirs = tbr.load(ours_dir), tbr.load(tbx_dir)
    tbr.assert_same_logdirs(ours, theirs, wall_times=False, content=tbr.without_times)
    experiment = ours.series("trial", "_hparams_/experiment").content().experiment
    assert [(info.name, info.type) for info in experiment.hparam_infos] == [
        ("lr", api_pb2.DATA_TYPE_FLOAT64),
        ("layers", api_pb2.DATA_TYPE_FLOAT64),
        ("optim", api_pb2.DATA_TYPE_STRING),
        ("bn", api_pb2.DATA_TYPE_BOOL),
    ]
    # With a global_step, tensorboardX still writes the summaries at step 0.
    with SummaryWriter(ours_dir) as writer:
        writer.add_hparams(hparams, metrics, run_name="stepped", global_step=5)
    with tbx.SummaryWriter(str(tbx_dir)) as writer:
        writer.add_hparams(hparams, metrics, name="stepped", global_step=5)
    ours, theirs = tbr.load(ours_dir), tbr.load(tbx_dir)
    assert ours.series("stepped", "_hparams_/experiment").steps == (5,)
    assert theirs.series("stepped", "_hparams_/experiment").steps == (0,)
    assert ours.series("stepped", "hp/loss").steps == theirs.series("stepped", "hp/loss").steps
