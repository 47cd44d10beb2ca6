"""SummaryWriter: the PyTorch API surface, input handling and bad input."""

from __future__ import annotations

import inspect
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
from torch.utils.tensorboard import SummaryWriter as TorchSummaryWriter

from lumiboard import SummaryWriter

# Defaults we change on purpose (documented in the README and the class docstring).
CHANGED_DEFAULTS = {("__init__", "flush_secs"): 2}
# torch methods we do not offer: ONNX import needs the onnx package and a converter.
NOT_OFFERED = {"add_onnx_graph"}


def torch_methods() -> list[str]:
    return [
        name
        for name, _ in inspect.getmembers(TorchSummaryWriter, inspect.isfunction)
        if (name.startswith("add_") or name in {"__init__", "flush", "close", "get_logdir"})
        and name not in NOT_OFFERED
    ]


@pytest.mark.parametrize("name", torch_methods())
def test_same_signature_as_torch(name: str) -> None:
    ours = inspect.signature(getattr(SummaryWriter, name))
    theirs = inspect.signature(getattr(TorchSummaryWriter, name))
    our_params = [p for p in ours.parameters.values() if p.kind != p.KEYWORD_ONLY]
    assert [p.name for p in our_params] == list(theirs.parameters)
    for param in our_params:
        expected = CHANGED_DEFAULTS.get((name, param.name), theirs.parameters[param.name].default)
        assert param.default == expected, f"{name}({param.name}=...)"


def events(directory: Path) -> list:
    found = []
    for path in sorted(directory.glob("events.out.tfevents.*")):
        found.extend(e for e in LegacyEventFileLoader(str(path)).Load() if e.HasField("summary"))
    return found


def test_default_logdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_lr0.1") as writer:
        logdir = writer.get_logdir()
    assert re.fullmatch(r"runs/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_.+_lr0\.1", logdir)
    assert (tmp_path / logdir).is_dir()


def test_scalar_inputs(tmp_path: Path) -> None:
    import jax.numpy as jnp
    import torch

    with SummaryWriter(tmp_path) as writer:
        writer.add_scalar("v", 1, 0)
        writer.add_scalar("v", np.float32(2.5), 1)
        writer.add_scalar("v", torch.tensor(3.5), 2)
        writer.add_scalar("v", torch.tensor([4.5], dtype=torch.bfloat16), 3)
        writer.add_scalar("v", jnp.asarray(5.5), np.int64(4))
        writer.add_scalar("v", torch.tensor(6.0, requires_grad=True) * 1, torch.tensor(5))
        writer.add_scalar("v", float("nan"), 6)
        writer.add_scalar("v", float("inf"), 7)
        writer.add_scalar("v", True, 8)
    got = [(e.step, e.summary.value[0].simple_value) for e in events(tmp_path)]
    assert got[:6] == [(0, 1.0), (1, 2.5), (2, 3.5), (3, 4.5), (4, 5.5), (5, 6.0)]
    assert got[6][0] == 6
    assert math.isnan(got[6][1])
    assert got[7] == (7, math.inf)
    assert got[8] == (8, 1.0)


def test_walltime_and_double_precision(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalar("d", 1 / 3, 1, walltime=1234.5, new_style=True, double_precision=True)
    (event,) = events(tmp_path)
    assert event.wall_time == 1234.5
    assert event.summary.value[0].tensor.dtype == 2  # DT_DOUBLE
    assert event.summary.value[0].metadata.plugin_data.plugin_name == "scalars"


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda w: w.add_scalar(3, 1.0), TypeError, "tag"),
        (lambda w: w.add_scalar("", 1.0), ValueError, "tag"),
        (lambda w: w.add_scalar("x", "1.0"), TypeError, "scalar_value"),
        (lambda w: w.add_scalar("x", np.ones(3)), ValueError, "scalar_value"),
        (lambda w: w.add_scalar("x", 1.0, "five"), TypeError, "global_step"),
        (lambda w: w.add_scalar("x", 1.0, 1.5), ValueError, "global_step"),
        (lambda w: w.add_scalar("x", 1.0, 1, walltime="now"), TypeError, "walltime"),
        (lambda w: w.add_scalars("x", [1, 2]), TypeError, "tag_scalar_dict"),
        (lambda w: w.add_histogram("h", np.array([])), ValueError, "empty"),
        (lambda w: w.add_histogram("h", np.array(["a"])), TypeError, "numeric"),
        (lambda w: w.add_histogram("h", np.array([np.nan])), ValueError, "finite"),
        (lambda w: w.add_histogram_raw("h", 0, 1, 1, 1, 1, [1, 2], [1]), ValueError, "length"),
        (
            lambda w: w.add_image("i", np.zeros((3, 4, 4)), dataformats="XYZ"),
            ValueError,
            "dataformats",
        ),
        (lambda w: w.add_image("i", np.zeros((2, 3, 4, 4))), ValueError, "dataformats|img_tensor"),
        (lambda w: w.add_image("i", np.zeros((3, 0, 4))), ValueError, "img_tensor|empty"),
        (lambda w: w.add_video("v", np.zeros((3, 4, 4))), ValueError, "vid_tensor"),
        (lambda w: w.add_text("t", 3), TypeError, "text_string"),
        (lambda w: w.add_pr_curve("p", [1, 0], [0.5]), ValueError, "same size"),
        (lambda w: w.add_pr_curve("p", [1, 0], [0.5, 1.5]), ValueError, r"\[0, 1\]"),
        (lambda w: w.add_mesh("m", np.zeros((4, 3))), ValueError, "vertices"),
        (lambda w: w.add_custom_scalars({"c": {"m": ["Margin", ["a"]]}}), ValueError, "3 tags"),
        (lambda w: w.add_hparams([("lr", 1)], {}), TypeError, "dict"),
        (lambda w: w.add_hparams({"lr": object()}, {}), TypeError, "lr"),
        (lambda w: w.add_embedding(np.zeros((3, 2)), metadata=["a"]), ValueError, "metadata"),
        (lambda w: w.add_embedding(np.zeros(3)), ValueError, "mat"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, call, error, pattern) -> None:  # type: ignore[no-untyped-def]
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(error, match=pattern):
            call(writer)
        writer.add_scalar("still_works", 1.0, 1)
    assert [e.summary.value[0].tag for e in events(tmp_path)] == ["still_works"]


def test_import_loads_neither_torch_nor_a_web_framework() -> None:
    code = (
        "import sys, numpy as np, lumiboard\n"
        "w = lumiboard.SummaryWriter(sys.argv[1])\n"
        "w.add_scalar('a', 1.0, 1); w.add_histogram('h', np.arange(10), 1); w.close()\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'starlette', 'uvicorn', 'fastapi', 'matplotlib', 'jax', 'fsspec')]\n"
        "print(bad)\n"
    )
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", code, tmp], capture_output=True, text=True, check=True
        )
    assert out.stdout.strip() == "[]"


def test_add_scalars_writes_one_run_per_key(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalars("loss/all", {"train": 1.0, "val": 2.0}, 3)
        writer.add_scalars("loss/all", {"train": 0.5, "val": 1.5}, 4)
    for key, values in {"train": [1.0, 0.5], "val": [2.0, 1.5]}.items():
        run = tmp_path / f"loss_all_{key}"
        got = [
            (e.step, e.summary.value[0].tag, e.summary.value[0].simple_value) for e in events(run)
        ]
        assert got == [(3, "loss/all", values[0]), (4, "loss/all", values[1])]


def test_add_hparams_separate_run_false_stays_in_run(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalar("acc", 0.5, 1)
        writer.add_hparams({"lr": 0.1}, {"acc": None, "final": 0.9}, separate_run=False)
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == []
    tags = [v.tag for e in events(tmp_path) for v in e.summary.value]
    assert tags == [
        "acc",
        "_hparams_/experiment",
        "_hparams_/session_start_info",
        "_hparams_/session_end_info",
        "final",
    ]


def test_custom_scalar_charts_accumulate(tmp_path: Path) -> None:
    from lumiboard.format.proto import custom_scalars_pb2

    with SummaryWriter(tmp_path) as writer:
        writer.add_custom_scalars_multilinechart(["loss/.*"], category="c", title="losses")
        writer.add_custom_scalars_marginchart(["acc", "lo", "hi"], category="c", title="acc")
    last = events(tmp_path)[-1].summary.value[0]
    layout = custom_scalars_pb2.Layout.FromString(last.tensor.string_val[0])
    assert [c.title for c in layout.category[0].chart] == ["losses", "acc"]
