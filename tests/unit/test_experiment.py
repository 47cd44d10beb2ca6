"""``lumiboard.read``: the pandas API, checked against TensorBoard's readers and tbparse."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import lumiboard
from lumiboard import SummaryWriter, summary
from lumiboard import hparams as hp
from lumiboard.demo import write_demo
from lumiboard.experiment import AudioRef, ImageRef

SCALAR_COLUMNS = ["run", "tag", "step", "wall_time", "value"]


# ---- logdirs ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # read() caches in ~/.cache/lumiboard by default: keep the tests' caches out of it.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs written by our SummaryWriter, torch's, and the TF2-style API."""
    root = tmp_path_factory.mktemp("mixed")
    rng = np.random.default_rng(1)
    with SummaryWriter(root / "ours") as writer:
        for step in range(300):
            writer.add_scalar("loss/train", float(rng.standard_normal()), step)
            writer.add_scalar("loss/val", 1.0 / (step + 1), step)
            if step % 50 == 0:
                writer.add_scalar("lr", 0.1 * 0.9**step, step)
                writer.add_histogram("weights", rng.normal(0, 1 + step / 100, 1000), step)
        writer.add_scalar("nan", math.nan, 0)
        writer.add_scalar("nan", math.inf, 1)
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    torch_writer = torch_tb.SummaryWriter(str(root / "torch"))
    for step in range(0, 1000, 7):
        torch_writer.add_scalar("loss/train", 1.0 / (1 + step), step)
        torch_writer.add_scalar("accuracy", step / 1000, step)
    for step in range(3):
        torch_writer.add_histogram("weights", rng.standard_normal(500), step)
    torch_writer.close()
    with summary.create_file_writer(str(root / "tf2" / "eval")).as_default():
        for step in range(20):
            summary.scalar("loss/train", 0.5**step, step=step)
    return root


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo(tmp_path_factory.mktemp("demo"), steps=40)


def tb_legacy_scalars(logdir: Path, run: str) -> pd.DataFrame:
    """Every scalar of one run as TensorBoard's ``EventAccumulator`` keeps them (all of them)."""
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(
        str(logdir / run), size_guidance={event_accumulator.SCALARS: 0}
    )
    accumulator.Reload()
    rows = [
        (run, tag, event.step, event.wall_time, event.value)
        for tag in accumulator.Tags()["scalars"]
        for event in accumulator.Scalars(tag)
    ]
    frame = pd.DataFrame(rows, columns=SCALAR_COLUMNS)
    return frame.astype({"step": np.int64, "wall_time": np.float64, "value": np.float64})


def tb_tensors(
    logdir: Path, run: str, plugin: str
) -> dict[str, list[tuple[int, float, np.ndarray]]]:
    """Every value of ``plugin`` as TensorBoard's server-side accumulator migrates it."""
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util

    accumulator = pea.EventAccumulator(str(logdir / run), size_guidance={pea.TENSORS: 0})
    accumulator.Reload()
    try:
        tags = accumulator.PluginTagToContent(plugin)
    except KeyError:  # no tag of this plugin in the run
        return {}
    return {
        tag: [
            (event.step, event.wall_time, tensor_util.make_ndarray(event.tensor_proto))
            for event in accumulator.Tensors(tag)
        ]
        for tag in tags
    }


def tb_hparams(logdir: Path) -> dict[str, dict[str, object]]:
    """{session: {hparam or metric: value}} as TensorBoard's HParams dashboard lists them."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups

    multiplexer = pem.EventMultiplexer(size_guidance={"tensors": 0})
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    tb_context = base_plugin.TBContext(
        logdir=str(logdir), multiplexer=multiplexer, data_provider=provider
    )
    request = api_pb2.ListSessionGroupsRequest(
        start_index=0,
        slice_size=100,
        allowed_statuses=[
            api_pb2.STATUS_SUCCESS,
            api_pb2.STATUS_UNKNOWN,
            api_pb2.STATUS_FAILURE,
            api_pb2.STATUS_RUNNING,
        ],
    )
    handler = list_session_groups.Handler(
        context.RequestContext(), backend_context.Context(tb_context), "", request
    )
    sessions: dict[str, dict[str, object]] = {}
    for group in handler.run().session_groups:
        for session in group.sessions:
            row: dict[str, object] = {
                name: getattr(value, value.WhichOneof("kind"))
                for name, value in group.hparams.items()
            }
            for metric in session.metric_values:
                name = metric.name
                row[f"{name.group}/{name.tag}" if name.group else name.tag] = metric.value
            sessions[session.name] = row
    return sessions


def assert_hparams_as_tensorboard(logdir: Path, table: pd.DataFrame) -> None:
    ours = {
        row.pop("run"): {name: value for name, value in row.items() if not pd.isna(value)}
        for row in table.to_dict("records")
    }
    assert ours == tb_hparams(logdir)


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as strings, rows sorted, a fresh index: for comparing with others."""
    converted = frame.astype({name: str for name in ("run", "tag") if name in frame})
    return converted.sort_values(["run", "tag", "step"], kind="stable").reset_index(drop=True)


# ---- import and runs ---------------------------------------------------------------


def test_import_lumiboard_loads_no_pandas_or_pyarrow() -> None:
    code = (
        "import sys, lumiboard; lumiboard.read;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pandas', 'pyarrow', 'lumiboard.experiment') or m.startswith('lumiboard.reader')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


def test_runs_sorted_and_filtered(mixed: Path) -> None:
    exp = lumiboard.read(mixed)
    assert exp.runs() == ["ours", "tf2/eval", "torch"]
    assert exp.runs("^t") == ["tf2/eval", "torch"]
    assert exp.runs(["torch", "ours"]) == ["ours", "torch"]
    with pytest.raises(KeyError, match="tourch"):
        exp.runs(["tourch"])
    assert "3 runs" in repr(exp)


def test_logdir_spec_names_runs(mixed: Path) -> None:
    exp = lumiboard.read(f"a:{mixed / 'ours'},b:{mixed / 'tf2'}")
    assert exp.runs() == ["a", "b/eval"]
    assert set(exp.scalars()["run"].unique()) == {"a", "b/eval"}


def test_tags_table(mixed: Path) -> None:
    exp = lumiboard.read(mixed)
    tags = exp.tags()
    assert list(tags.columns) == ["run", "tag", "plugin", "kind"]
    rows = set(tags.itertuples(index=False, name=None))
    assert ("ours", "weights", "histograms", "tensor") in rows
    assert ("torch", "accuracy", "scalars", "scalar") in rows
    assert ("tf2/eval", "loss/train", "scalars", "scalar") in rows
    assert set(exp.tags(kind="tensor")["tag"]) == {"weights"}
    assert set(exp.tags("torch", kind="scalar")["tag"]) == {"loss/train", "accuracy"}
    assert exp.tags(kind="blob_sequence").empty
    with pytest.raises(ValueError, match="kind"):
        exp.tags(kind="scalars")


# ---- scalars -----------------------------------------------------------------------


def test_scalars_equal_event_accumulator_point_for_point(mixed: Path) -> None:
    exp = lumiboard.read(mixed)
    ours = exp.scalars(runs=["ours", "torch"])
    assert list(ours.columns) == SCALAR_COLUMNS
    assert isinstance(ours["run"].dtype, pd.CategoricalDtype)
    assert isinstance(ours["tag"].dtype, pd.CategoricalDtype)
    assert (ours.dtypes[["step", "wall_time", "value"]] == ["int64", "float64", "float64"]).all()
    theirs = pd.concat([tb_legacy_scalars(mixed, run) for run in ("ours", "torch")])
    assert len(ours) == len(theirs) == 300 * 2 + 6 + 2 + 143 * 2
    pd.testing.assert_frame_equal(plain(ours), plain(theirs))
    # Already in (run, tag, step) order, as documented.
    pd.testing.assert_frame_equal(plain(ours), ours.astype({"run": str, "tag": str}))


def test_tensor_scalars_equal_tensorboard(mixed: Path) -> None:
    # TF2-style scalars are tensors, which only TensorBoard's plugin accumulator reads.
    theirs = tb_tensors(mixed, "tf2/eval", "scalars")["loss/train"]
    ours = lumiboard.read(mixed).scalars(runs=["tf2/eval"])
    assert ours["step"].tolist() == [step for step, _, _ in theirs]
    assert ours["wall_time"].tolist() == [wall_time for _, wall_time, _ in theirs]
    assert ours["value"].tolist() == [float(array) for _, _, array in theirs]


# tbparse (0.0.9) passes inplace=True to pandas 3.1, which warns; only that warning is let through.
@pytest.mark.filterwarnings("ignore:The inplace keyword:pandas.errors.Pandas4Warning:tbparse")
def test_scalars_equal_tbparse(mixed: Path) -> None:
    from tbparse import SummaryReader

    reader = SummaryReader(str(mixed), extra_columns={"dir_name", "wall_time"})
    # tbparse, as EventAccumulator, lists TF2's tensor scalars under tensors.
    tensors = reader.tensors.rename(columns={"dir_name": "run"})
    tensors = tensors[tensors["run"] == "tf2/eval"].astype({"value": np.float64})
    theirs = pd.concat([reader.scalars.rename(columns={"dir_name": "run"}), tensors])
    ours = lumiboard.read(mixed).scalars()
    assert len(ours) == len(theirs) == 914
    pd.testing.assert_frame_equal(plain(ours), plain(theirs[SCALAR_COLUMNS]))


def test_demo_scalars_equal_tensorboard(demo: Path) -> None:
    exp = lumiboard.read(demo)
    ours = plain(exp.scalars())
    for run in exp.runs():
        legacy = tb_legacy_scalars(demo, run)
        tensors = tb_tensors(demo, run, "scalars")
        expected = sum(len(points) for points in tensors.values())
        mine = ours[ours["run"] == run].reset_index(drop=True)
        assert len(mine) == expected
        if run != "tf2_style":  # the TF2 run writes tensors, which EventAccumulator skips
            pd.testing.assert_frame_equal(mine, plain(legacy))
        for tag, points in tensors.items():
            values = mine.loc[mine["tag"] == tag, "value"].tolist()
            assert values == [float(array) for _, _, array in points], (run, tag)


def test_nan_and_inf_are_kept(mixed: Path) -> None:
    values = lumiboard.read(mixed).scalars(runs=["ours"], tags=["nan"])["value"].to_numpy()
    assert np.isnan(values[0])
    assert values[1] == math.inf


def test_scalar_filters(mixed: Path) -> None:
    exp = lumiboard.read(mixed)
    assert set(exp.scalars(tags="^loss/")["tag"]) == {"loss/train", "loss/val"}
    assert set(exp.scalars(tags="loss")["tag"]) == {"loss/train", "loss/val"}
    frame = exp.scalars(runs="^t", tags=["loss/train"])
    assert set(frame["run"]) == {"tf2/eval", "torch"}
    assert set(frame["tag"]) == {"loss/train"}
    # The categories are only what was selected: groupby gives no empty groups.
    assert list(frame["run"].cat.categories) == ["tf2/eval", "torch"]
    assert exp.scalars(tags="no such tag").empty
    with pytest.raises(KeyError, match="'weights'"):
        exp.scalars(tags=["weights"])  # a histogram, not a scalar


def test_pivot_one_column_per_tag(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path / "a") as writer:
        for step in range(4):
            writer.add_scalar("loss", step * 1.0, step)
        writer.add_scalar("acc", 0.5, 2)
        writer.add_scalar("acc", 0.75, 2)  # the same step again: the last write wins
    with SummaryWriter(tmp_path / "b") as writer:
        writer.add_scalar("loss", 9.0, 10)
    table = lumiboard.read(tmp_path).scalars(pivot=True)
    assert table.index.names == ["run", "step"]
    assert list(table.columns) == ["acc", "loss"]
    assert table.columns.name == "tag"
    assert list(table.index) == [("a", 0), ("a", 1), ("a", 2), ("a", 3), ("b", 10)]
    assert table.loc[("a", 2), "acc"] == 0.75
    assert table.loc[("b", 10), "loss"] == 9.0
    assert np.isnan(table.loc[("a", 0), "acc"])
    long = lumiboard.read(tmp_path).scalars(tags=["acc"])
    assert long["value"].tolist() == [0.5, 0.75]  # the long form keeps both writes


def test_empty_logdir(tmp_path: Path) -> None:
    exp = lumiboard.read(tmp_path / "not yet")
    assert exp.runs() == []
    frame = exp.scalars()
    assert list(frame.columns) == SCALAR_COLUMNS
    assert frame.empty
    assert exp.scalars(pivot=True).empty
    assert exp.histograms().empty
    assert exp.images().empty
    assert exp.text().empty
    assert list(exp.hparams().columns) == ["run"]
    assert exp.tags().empty


def test_reload_reads_new_points(tmp_path: Path) -> None:
    writer = SummaryWriter(tmp_path / "run")
    writer.add_scalar("loss", 1.0, 0)
    writer.flush()
    exp = lumiboard.read(tmp_path)
    assert len(exp.scalars()) == 1
    writer.add_scalar("loss", 2.0, 1)
    writer.close()
    with SummaryWriter(tmp_path / "later") as later:
        later.add_scalar("loss", 3.0, 0)
    assert exp.reload() is exp
    assert exp.runs() == ["later", "run"]
    assert plain(exp.scalars())["value"].tolist() == [3.0, 1.0, 2.0]


def test_cache_gives_the_same_tables(mixed: Path, tmp_path: Path) -> None:
    first = lumiboard.read(mixed, cache=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir())  # written while reading
    again = lumiboard.read(mixed, cache=tmp_path / "cache")
    pd.testing.assert_frame_equal(again.scalars(), first.scalars())
    pd.testing.assert_frame_equal(again.histograms(), first.histograms())
    uncached = lumiboard.read(mixed, cache=False)
    pd.testing.assert_frame_equal(uncached.scalars(), first.scalars())


def test_default_cache_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SummaryWriter(tmp_path / "logs") as writer:
        writer.add_scalar("x", 1.0, 0)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    lumiboard.read(tmp_path / "logs")
    assert list((tmp_path / "xdg" / "lumiboard").iterdir())


# ---- histograms, images, audio, text --------------------------------------------------


def test_histograms_equal_tensorboard(mixed: Path) -> None:
    frame = lumiboard.read(mixed).histograms()
    assert list(frame.columns) == ["run", "tag", "step", "wall_time", "left", "right", "count"]
    for run in ("ours", "torch"):
        theirs = tb_tensors(mixed, run, "histograms")["weights"]
        mine = frame[frame["run"] == run]
        assert sorted(set(mine["step"])) == [step for step, _, _ in theirs]
        for step, wall_time, array in theirs:
            rows = mine[mine["step"] == step]
            assert (rows["wall_time"] == wall_time).all()
            np.testing.assert_array_equal(
                rows[["left", "right", "count"]].to_numpy(), array.astype(np.float64)
            )


def test_histograms_samples_per_plugin(mixed: Path) -> None:
    frame = lumiboard.read(mixed, samples_per_plugin={"histograms": 2}).histograms(runs=["ours"])
    steps = sorted(set(frame["step"]))
    assert len(steps) == 2
    assert steps[-1] == 250  # the newest value is always kept
    assert len(set(lumiboard.read(mixed).histograms(runs=["ours"])["step"])) == 6
    same = lumiboard.read(mixed, samples_per_plugin="histograms=2, images=all")
    assert sorted(set(same.histograms(runs=["ours"])["step"])) == steps
    with pytest.raises(ValueError, match="unknown plugin"):
        lumiboard.read(mixed, samples_per_plugin={"histogram": 2})
    with pytest.raises(ValueError, match="count"):
        lumiboard.read(mixed, samples_per_plugin="histograms=many")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("media")
    rng = np.random.default_rng(2)
    pixels = {
        "rgb": rng.integers(0, 256, (3, 5, 7), dtype=np.uint8),  # CHW
        "batch": rng.integers(0, 256, (2, 4, 6, 3), dtype=np.uint8),  # NHWC
        "clip": np.sin(np.linspace(0, 20, 800)).astype(np.float32) * 0.5,
    }
    with SummaryWriter(root / "torch_api") as writer:
        writer.add_image("rgb", pixels["rgb"], 3)
        writer.add_audio("clip", pixels["clip"], 1, sample_rate=8000)
        writer.add_text("notes", "**hello**", 5)
    with summary.create_file_writer(str(root / "tf2")).as_default():
        summary.image("batch", pixels["batch"], step=7, max_outputs=3)
        summary.text("table", np.array([["a", "b"], ["1", "2"]]), step=1)
        summary.text("plain", "just text", step=2)
    return root, pixels


def test_images_decode_to_written_pixels(media: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, pixels = media
    frame = lumiboard.read(root).images()
    assert list(frame.columns) == ["run", "tag", "step", "wall_time", "sample", "image"]
    assert list(zip(frame["tag"], frame["step"], frame["sample"], strict=True)) == [
        ("batch", 7, 0),
        ("batch", 7, 1),
        ("rgb", 3, 0),
    ]
    refs = frame["image"].tolist()
    assert all(isinstance(ref, ImageRef) for ref in refs)
    np.testing.assert_array_equal(refs[0].to_numpy(), pixels["batch"][0])
    np.testing.assert_array_equal(refs[1].to_numpy(), pixels["batch"][1])
    np.testing.assert_array_equal(refs[2].to_numpy(), pixels["rgb"].transpose(1, 2, 0))
    assert refs[2].size == (7, 5)
    assert refs[2].mime_type == "image/png"
    assert refs[2].bytes().startswith(b"\x89PNG")


def test_images_are_read_lazily(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as writer:
        writer.add_image("x", np.zeros((1, 2, 2), dtype=np.uint8), 0)
    ref = lumiboard.read(tmp_path).images()["image"].iloc[0]
    # The table holds a reference; the bytes come from the file when asked.
    (event_file,) = tmp_path.glob("*tfevents*")
    event_file.write_bytes(b"")
    from lumiboard.store.provider import NotFoundError

    with pytest.raises(NotFoundError):
        ref.bytes()


def test_audio(media: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, pixels = media
    frame = lumiboard.read(root).audio()
    assert list(frame.columns) == ["run", "tag", "step", "wall_time", "sample", "audio"]
    (ref,) = frame["audio"]
    assert isinstance(ref, AudioRef)
    assert ref.sample_rate == 8000
    samples = ref.to_numpy()
    assert samples.shape == (800, 1)
    np.testing.assert_allclose(samples[:, 0], pixels["clip"], atol=1 / 16384)


def test_text(media: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = media
    frame = lumiboard.read(root).text()
    assert list(frame.columns) == ["run", "tag", "step", "wall_time", "text"]
    texts = dict(zip(frame["tag"], frame["text"], strict=True))
    assert (
        texts["notes/text_summary"] == "**hello**"
    )  # torch's add_text writes a one-element [1] tensor
    assert texts["plain"] == "just text"
    np.testing.assert_array_equal(texts["table"], np.array([["a", "b"], ["1", "2"]], dtype=object))
    assert frame.loc[frame["tag"] == "notes/text_summary", "step"].item() == 5


# ---- hparams -----------------------------------------------------------------------


def test_hparams_sweep_with_config_and_validation_group(tmp_path: Path) -> None:
    lr = hp.HParam("lr", hp.RealInterval(1e-4, 1.0))
    opt = hp.HParam("optimizer", hp.Discrete(["adam", "sgd"]))
    metrics = [hp.Metric("accuracy", group="validation"), hp.Metric("loss", group="")]
    with summary.create_file_writer(str(tmp_path)).as_default():
        hp.hparams_config([lr, opt], metrics)
    trials = {"t0": (0.1, "adam"), "t1": (0.01, "sgd"), "t2": (0.5, "adam")}
    for index, (name, (rate, optimizer)) in enumerate(trials.items()):
        with summary.create_file_writer(str(tmp_path / name)).as_default():
            hp.hparams({lr: rate, opt: optimizer}, trial_id=name)
            for step in range(5):
                summary.scalar("loss", 10.0 - step - index, step=step)
        if name == "t2":
            continue  # a trial that never validated
        with summary.create_file_writer(str(tmp_path / name / "validation")).as_default():
            for step in range(5):
                summary.scalar("accuracy", step / 10 + index, step=step)
    table = lumiboard.read(tmp_path).hparams()
    assert list(table.columns) == ["run", "lr", "optimizer", "validation/accuracy", "loss"]
    assert table["run"].tolist() == ["t0", "t1", "t2"]
    assert table["lr"].tolist() == [0.1, 0.01, 0.5]
    assert table["optimizer"].tolist() == ["adam", "sgd", "adam"]
    assert table["loss"].tolist() == [6.0, 5.0, 4.0]
    assert table["validation/accuracy"].tolist()[:2] == pytest.approx([0.4, 1.4])
    assert np.isnan(table["validation/accuracy"].iloc[2])
    assert table.attrs == {
        "hparams": ["lr", "optimizer"],
        "metrics": ["validation/accuracy", "loss"],
    }


def test_hparams_of_torch_add_hparams(tmp_path: Path) -> None:
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    writer = torch_tb.SummaryWriter(str(tmp_path))
    writer.add_hparams({"lr": 0.1, "bsize": 32}, {"hparam/accuracy": 0.8}, run_name="trial_a")
    writer.add_hparams({"lr": 0.2, "bsize": 64}, {"hparam/accuracy": 0.9}, run_name="trial_b")
    writer.add_scalar("loss", 1.0, 0)  # the parent run is no session
    writer.close()
    table = lumiboard.read(tmp_path).hparams()
    assert list(table.columns) == ["run", "lr", "bsize", "hparam/accuracy"]
    assert table["run"].tolist() == ["trial_a", "trial_b"]
    assert table["lr"].tolist() == [0.1, 0.2]
    assert table["bsize"].tolist() == [32.0, 64.0]
    assert table["hparam/accuracy"].tolist() == pytest.approx([0.8, 0.9])
    assert_hparams_as_tensorboard(tmp_path, table)


def test_hparams_without_config_infers_metrics(tmp_path: Path) -> None:
    for name, rate in (("a", 0.1), ("b", 0.2)):
        with SummaryWriter(tmp_path / name) as writer:
            hp.hparams({"lr": rate, "fast": rate > 0.15}, writer=writer)
            writer.add_scalar("loss", rate * 10, 3)
        with SummaryWriter(tmp_path / name / "eval") as writer:
            writer.add_scalar("acc", rate, 1)
    with SummaryWriter(tmp_path / "unrelated") as writer:
        writer.add_scalar("other", 1.0, 0)
    table = lumiboard.read(tmp_path).hparams()
    assert list(table.columns) == ["run", "fast", "lr", "eval/acc", "loss"]
    assert table["fast"].tolist() == [False, True]
    assert table["loss"].tolist() == pytest.approx([1.0, 2.0])
    assert table["eval/acc"].tolist() == pytest.approx([0.1, 0.2])
    assert_hparams_as_tensorboard(tmp_path, table)


def test_hparams_without_metrics(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as writer:
        hp.hparams({"depth": 3, "act": "relu"}, writer=writer)
    table = lumiboard.read(tmp_path).hparams()
    assert table.to_dict("records") == [{"run": ".", "act": "relu", "depth": 3.0}]
    assert table.attrs["metrics"] == []
    assert_hparams_as_tensorboard(tmp_path, table)


def test_demo_hparams(demo: Path) -> None:
    table = lumiboard.read(demo).hparams()
    assert list(table.columns) == [
        "run",
        "lr",
        "optimizer",
        "dropout",
        "batch_size",
        "accuracy",
        "loss",
    ]
    trials = [f"sweep/trial_{index:02d}" for index in range(12)]
    assert table["run"].tolist() == ["lr_0.001", "lr_0.01", "lr_0.1", *trials]
    scalars = lumiboard.read(demo).scalars(tags=["loss"])
    last = scalars.groupby("run", observed=True)["value"].last()
    measured = table.dropna(subset=["loss"])
    assert measured["run"].tolist() == table["run"].tolist()[:-1]  # trial_11 has no metric yet
    assert measured["loss"].tolist() == last[measured["run"]].tolist()
    assert_hparams_as_tensorboard(demo, table)


# ---- export ------------------------------------------------------------------------


def test_export_parquet_round_trips(demo: Path, tmp_path: Path) -> None:
    exp = lumiboard.read(demo)
    written = exp.export(tmp_path / "out")
    assert [path.name for path in written] == [
        "scalars.parquet",
        "histograms.parquet",
        "text.parquet",
        "hparams.parquet",
    ]
    scalars = pd.read_parquet(tmp_path / "out" / "scalars.parquet")
    pd.testing.assert_frame_equal(scalars, exp.scalars())  # categoricals come back as such
    table = pq.read_table(tmp_path / "out" / "scalars.parquet")
    assert table.num_rows == len(scalars)
    assert str(table.schema.field("run").type).startswith("dictionary")
    histograms = pd.read_parquet(tmp_path / "out" / "histograms.parquet")
    pd.testing.assert_frame_equal(histograms, exp.histograms())
    hparams = pd.read_parquet(tmp_path / "out" / "hparams.parquet")
    pd.testing.assert_frame_equal(hparams, exp.hparams(), check_like=True)
    text = pd.read_parquet(tmp_path / "out" / "text.parquet")
    table_row = text[text["tag"] == "tf2/table"]["text"].item()
    assert table_row == '[["a", "b"], ["1", "2"]]'  # arrays as JSON nested lists


def test_export_csv_round_trips(demo: Path, tmp_path: Path) -> None:
    exp = lumiboard.read(demo)
    written = exp.export(tmp_path, format="csv")
    assert {path.name for path in written} == {
        "scalars.csv",
        "histograms.csv",
        "text.csv",
        "hparams.csv",
    }
    scalars = pd.read_csv(tmp_path / "scalars.csv", dtype={"run": str, "tag": str})
    expected = exp.scalars().astype({"run": str, "tag": str})
    pd.testing.assert_frame_equal(scalars, expected, check_exact=False, rtol=1e-15)
    hparams = pd.read_csv(tmp_path / "hparams.csv")
    pd.testing.assert_frame_equal(
        hparams, exp.hparams(), check_exact=False, check_dtype=False, rtol=1e-15
    )
    with pytest.raises(ValueError, match="format"):
        exp.export(tmp_path, format="xlsx")


def test_export_scalars_only(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path / "logs") as writer:
        writer.add_scalar("x", 1.0, 0)
    written = lumiboard.read(tmp_path / "logs").export(os.fspath(tmp_path / "out"))
    assert written == [tmp_path / "out" / "scalars.parquet"]
