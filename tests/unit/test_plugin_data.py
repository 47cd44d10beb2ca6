"""The plugins' reading side (``plugins/*/data.py``) against TensorBoard's reader.

Differential: every value is read twice, by ``base.migrate_value`` (and
``graphs.data.event_values`` for graph events) and by TensorBoard's own
read-time normalisation, ``data_compat.migrate_event`` then
``dataclass_compat.migrate_event`` with one ``initial_metadata`` per run, as
its ``EventFileLoader`` does. The two must give the same values: the same
proto, so the same tag, metadata (plugin name, content, data class, display
name, description) and tensor (``tensor_util.make_ndarray``, dtype and shape
included). Values come from torch.utils.tensorboard, tensorboardX, lumiboard's
writers, TensorFlow's own files (shared fixtures) and hand-made edge cases.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tensorboard import data_compat, dataclass_compat, plugin_util
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.compat.proto import event_pb2 as tb_event_pb2
from tensorboard.compat.proto import summary_pb2 as tb_summary_pb2
from tensorboard.plugins.custom_scalar import custom_scalars_plugin, layout_pb2
from tensorboard.plugins.hparams import metadata as tb_hparams_metadata
from tensorboard.plugins.mesh import metadata as tb_mesh_metadata
from tensorboard.plugins.pr_curve import pr_curves_plugin
from tensorboard.plugins.text import text_plugin
from tensorboard.util import img_mime_type_detector, tensor_util

from lumiboard import summary as tf_summary
from lumiboard.format.proto import (
    custom_scalars_pb2,
    event_pb2,
    mesh_pb2,
    plugin_data_pb2,
    summary_pb2,
    tensor_pb2,
    types_pb2,
)
from lumiboard.format.tensors import encode_shape, encode_tensor
from lumiboard.plugins import base
from lumiboard.plugins.audio import data as audio
from lumiboard.plugins.audio import summary as audio_summary
from lumiboard.plugins.custom_scalars import data as custom_scalars
from lumiboard.plugins.custom_scalars import summary as custom_scalars_summary
from lumiboard.plugins.graphs import data as graphs
from lumiboard.plugins.histograms import data as histograms
from lumiboard.plugins.histograms import summary as histograms_summary
from lumiboard.plugins.hparams import data as hparams
from lumiboard.plugins.hparams import summary as hparams_summary
from lumiboard.plugins.images import data as images
from lumiboard.plugins.images import summary as images_summary
from lumiboard.plugins.mesh import data as mesh
from lumiboard.plugins.mesh import summary as mesh_summary
from lumiboard.plugins.pr_curves import data as pr_curves
from lumiboard.plugins.pr_curves import summary as pr_curves_summary
from lumiboard.plugins.scalars import data as scalars
from lumiboard.plugins.scalars import summary as scalars_summary
from lumiboard.plugins.text import data as text
from lumiboard.plugins.text import summary as text_summary
from lumiboard.writer.summary_writer import SummaryWriter

torch = pytest.importorskip("torch")
torch_tb = pytest.importorskip("torch.utils.tensorboard")
tbx = pytest.importorskip("tensorboardX")

DBL_MAX = sys.float_info.max
FIXTURES = (
    Path(os.environ.get("LUMIBOARD_SHARED", Path(__file__).resolve().parents[3] / "shared"))
    / "fixtures"
    / "tf2_keras"
)
Value = summary_pb2.Summary.Value


# -- the two readers ------------------------------------------------------------------------


def read_ours(records: Iterable[bytes]) -> list[Value | None]:
    """Our reading of one run's records: the values TensorBoard would see."""
    first: dict[str, summary_pb2.SummaryMetadata] = {}
    out: list[Value | None] = []
    for record in records:
        event = event_pb2.Event.FromString(record)
        if event.WhichOneof("what") != "summary":
            out.extend(graphs.event_values(event))
            continue
        for value in event.summary.value:
            out.append(base.migrate_value(value, first.get(value.tag)))
            if value.tag not in first:
                first[value.tag] = summary_pb2.SummaryMetadata()
                first[value.tag].CopyFrom(value.metadata)
    return out


def read_tensorboard(records: Iterable[bytes]) -> list[tb_summary_pb2.Summary.Value]:
    """TensorBoard's reading of the same records (``EventFileLoader``'s migrations)."""
    initial: dict[str, tb_summary_pb2.SummaryMetadata] = {}
    out = []
    for record in records:
        event = data_compat.migrate_event(tb_event_pb2.Event.FromString(record))
        for migrated in dataclass_compat.migrate_event(event, initial):
            if migrated.HasField("summary"):
                out.extend(migrated.summary.value)
    return out


def assert_same(ours: Value | None, theirs: tb_summary_pb2.Summary.Value) -> None:
    assert ours is not None, f"{theirs.tag}: we could not read what TensorBoard reads"
    converted = tb_summary_pb2.Summary.Value.FromString(ours.SerializeToString())
    assert converted.tag == theirs.tag
    assert converted.HasField("metadata") == theirs.HasField("metadata")
    assert converted.metadata == theirs.metadata, theirs.tag
    assert converted.WhichOneof("value") == theirs.WhichOneof("value"), theirs.tag
    if theirs.HasField("tensor"):
        mine, expected = (tensor_util.make_ndarray(v.tensor) for v in (converted, theirs))
        assert (mine.dtype, mine.shape) == (expected.dtype, expected.shape), theirs.tag
        np.testing.assert_array_equal(mine, expected)
    # Not only equal once decoded: the very proto TensorBoard makes.
    assert converted == theirs, theirs.tag


def compare_records(records: list[bytes]) -> list[Value | None]:
    ours, theirs = read_ours(records), read_tensorboard(records)
    assert len(ours) == len(theirs)
    for mine, expected in zip(ours, theirs, strict=True):
        assert_same(mine, expected)
    return ours


def compare_values(*values: Value) -> list[Value | None]:
    """One run whose events hold ``values`` in order (one value per event)."""
    records = [
        event_pb2.Event(step=step, summary=summary_pb2.Summary(value=[value])).SerializeToString()
        for step, value in enumerate(values)
    ]
    return compare_records(records)


def compare_logdir(logdir: Path) -> dict[str, list[Value | None]]:
    """Every run under ``logdir``, file after file in name order as TensorBoard reads."""
    runs: dict[str, list[bytes]] = {}
    for path in sorted(logdir.rglob("*tfevents*")):
        records = runs.setdefault(str(path.parent.relative_to(logdir)), [])
        records.extend(event_file_loader.RawEventFileLoader(str(path)).Load())
    assert runs, f"no event files under {logdir}"
    return {run: compare_records(records) for run, records in runs.items()}


def from_tb(message: Any) -> Value:
    """A torch/tensorboardX ``Summary`` as our protos, one value."""
    (value,) = summary_pb2.Summary.FromString(message.SerializeToString()).value
    return value


def plugins_of(runs: dict[str, list[Value | None]]) -> set[str]:
    return {v.metadata.plugin_data.plugin_name for vs in runs.values() for v in vs if v}


def png(pixels: np.ndarray, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, image_format)
    return buffer.getvalue()


# -- registry -------------------------------------------------------------------------------


def test_every_plugin_has_a_data_module_named_after_its_folder() -> None:
    for name in base.PLUGIN_NAMES:
        declared = base.plugin_data(name)
        assert declared is not None
        assert declared.name == name
        module_file = Path(base.__file__).parent / name / "data.py"
        assert module_file.is_file()
    assert base.plugin_data("no_such_plugin") is None


def test_legacy_fields_belong_to_their_plugins() -> None:
    owners = {field: declared.name for field, declared in base.legacy_owners().items()}
    assert owners == {
        "simple_value": "scalars",
        "histo": "histograms",
        "image": "images",
        "audio": "audio",
    }


def test_data_classes_and_default_samples() -> None:
    expected = {
        "scalars": (base.DataClass.SCALAR, None),
        "histograms": (base.DataClass.TENSOR, 500),
        "images": (base.DataClass.BLOB_SEQUENCE, 1000),
        "audio": (base.DataClass.BLOB_SEQUENCE, 1000),
        "text": (base.DataClass.TENSOR, 100),
        "pr_curves": (base.DataClass.TENSOR, 100),
        "custom_scalars": (base.DataClass.TENSOR, 100),
        "mesh": (base.DataClass.TENSOR, 100),
        "hparams": (base.DataClass.TENSOR, 100),
        "graphs": (base.DataClass.BLOB_SEQUENCE, None),
    }
    for name, (data_class, samples) in expected.items():
        declared = base.plugin_data(name)
        assert declared is not None
        assert (declared.data_class, declared.default_samples) == (data_class, samples)
        assert data_class.value == getattr(summary_pb2, f"DATA_CLASS_{data_class.name}")
        blob = data_class is base.DataClass.BLOB_SEQUENCE
        assert (declared.blob_count is not None, declared.read_blob is not None) == (blob, blob)


@pytest.mark.parametrize("name", base.PLUGIN_NAMES)
def test_each_plugin_sets_the_data_class_tensorboard_sets(name: str) -> None:
    # A value of the plugin with metadata but no data class, as most writers leave it.
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=name)
    )
    value = Value(tag="t", metadata=metadata, tensor=encode_tensor(np.zeros([2], np.float32)))
    (migrated,) = compare_values(value)
    declared = base.plugin_data(name)
    assert migrated is not None
    assert declared is not None
    expected = declared.data_class.value if name != "graphs" else 0  # TB leaves "graphs" alone
    assert migrated.metadata.data_class == expected


def test_graph_sub_plugins_are_read_by_graphs() -> None:
    for name in (
        graphs.PLUGIN_NAME_RUN_METADATA,
        graphs.PLUGIN_NAME_RUN_METADATA_WITH_GRAPH,
        graphs.PLUGIN_NAME_KERAS_MODEL,
        graphs.PLUGIN_NAME_TAGGED_RUN_METADATA,
    ):
        assert base.plugin_data(name) is graphs.PLUGIN_DATA


def test_decode_defaults_to_the_whole_tensor() -> None:
    declared = base.plugin_data("histograms")
    assert declared is not None
    rows = np.arange(6, dtype=np.float64).reshape(2, 3)
    np.testing.assert_array_equal(declared.decode(encode_tensor(rows)), rows)


# -- whole logdirs from real writers --------------------------------------------------------


def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def write_torch_style(writer: Any, tensor: Any, with_audio: bool = True) -> None:
    """The same calls through any PyTorch-API writer; ``tensor`` makes its inputs.

    tensorboardX's ``add_audio`` needs soundfile, hence ``with_audio``.
    """
    values = rng().normal(size=1000).astype(np.float32)
    for step in range(2):
        writer.add_scalar("loss", 0.5 / (step + 1), step)
        writer.add_histogram("weights", tensor(values + step), step)
        writer.add_histogram("auto_bins", tensor(values), step, bins="auto")
        writer.add_image("rgb", tensor(rng().random((3, 8, 6))), step)
        writer.add_image("gray", tensor(rng().random((1, 5, 4))), step)
        writer.add_images("batch", tensor(rng().random((2, 3, 4, 4))), step)
        if with_audio:
            writer.add_audio("clip", tensor(np.sin(np.arange(800) / 9.0)), step, sample_rate=8000)
        writer.add_text("note", f"**step** {step}", step)
        writer.add_pr_curve("pr", tensor(values > 0), tensor(rng().random(1000)), step)
    writer.add_histogram_raw(
        "raw", -1.5, 2.5, 6, 1.0, 9.0, [-DBL_MAX, -1.0, 0.0, 1.0, DBL_MAX], [0, 2, 0, 4, 0], 0
    )
    writer.add_custom_scalars({"losses": {"both": ["Multiline", ["loss", "val"]]}})
    writer.add_mesh("cube", tensor(rng().random((1, 8, 3))), global_step=0)


def test_torch_summary_writer(tmp_path: Path) -> None:
    with torch_tb.SummaryWriter(str(tmp_path)) as writer:
        write_torch_style(writer, torch.as_tensor)
        writer.add_scalar("new_style", 2.0, 0, new_style=True)
        writer.add_scalar("double", 2.0, 0, new_style=True, double_precision=True)
        writer.add_scalars("group", {"a": 1.0, "b": 2.0}, 0)
        writer.add_hparams({"lr": 0.1, "opt": "adam"}, {"hp/acc": 0.9}, run_name="trial")
        writer.add_graph(torch.nn.Linear(3, 2), torch.zeros(1, 3))
    runs = compare_logdir(tmp_path)
    assert {"scalars", "histograms", "images", "audio", "text", "pr_curves"} <= plugins_of(runs)
    assert {"custom_scalars", "mesh", "hparams", "graphs"} <= plugins_of(runs)
    assert {"graph_tagged_run_metadata"} <= plugins_of(runs)


def test_tensorboardx_summary_writer(tmp_path: Path) -> None:
    with tbx.SummaryWriter(str(tmp_path)) as writer:
        write_torch_style(writer, np.asarray, with_audio=False)
        writer.add_scalar("named", 1.0, 0, display_name="Named", summary_description="about")
        writer.add_hparams({"lr": 0.1}, {"hp/acc": 0.9}, name="trial")
    runs = compare_logdir(tmp_path)
    assert {"scalars", "histograms", "images", "hparams", "mesh"} <= plugins_of(runs)
    named = [v for vs in runs.values() for v in vs if v and v.tag == "named"]
    assert named
    assert named[0].metadata.display_name == "Named"


def test_lumiboard_summary_writer(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as writer:
        write_torch_style(writer, np.asarray)
        writer.add_hparams({"lr": 0.1, "opt": "adam"}, {"hp/acc": 0.9}, run_name="trial")
        writer.add_graph(torch.nn.Linear(3, 2), torch.zeros(1, 3))
    runs = compare_logdir(tmp_path)
    assert {"custom_scalars", "mesh", "hparams", "graphs", "pr_curves"} <= plugins_of(runs)


def test_lumiboard_tf2_style_writer(tmp_path: Path) -> None:
    writer = tf_summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step in range(2):
            tf_summary.scalar("loss", 0.25 * step, step=step)
            tf_summary.histogram("weights", rng().normal(size=100), step=step)
            tf_summary.image("pictures", rng().random((3, 4, 5, 1)), step=step)
            tf_summary.audio("clips", rng().uniform(-1, 1, (2, 50, 1)), 8000, step=step)
            tf_summary.text("table", [["a", "b"], ["c", "d"]], step=step)
    writer.close()
    runs = compare_logdir(tmp_path)
    (values,) = runs.values()
    clips = [v for v in values if v and v.tag == "clips"]
    # TensorBoard keeps the clips of [n, 2] (wav, label) only, value after value.
    assert [audio.blob_count(v.tensor) for v in clips] == [2, 2]
    assert all([d.size for d in v.tensor.tensor_shape.dim] == [2] for v in clips)


@pytest.mark.parametrize("name", ["tf_summary", "sweep", "keras_fit"])
def test_tensorflow_files(name: str) -> None:
    if not FIXTURES.is_dir():
        pytest.fail(f"shared fixtures not found at {FIXTURES} (set LUMIBOARD_SHARED)")
    runs = compare_logdir(FIXTURES / name)
    if name == "tf_summary":
        assert {"scalars", "histograms", "images", "audio", "text"} <= plugins_of(runs)
    if name == "sweep":
        assert "hparams" in plugins_of(runs)


# -- edge cases, value by value --------------------------------------------------------------


def histo_value(limits: list[float], counts: list[float], low: float, high: float) -> Value:
    proto = summary_pb2.HistogramProto(
        min=low, max=high, num=sum(counts), bucket_limit=limits, bucket=counts
    )
    return histograms_summary.legacy_value("h", proto)


def migrated_array(value: Value | None) -> np.ndarray:
    assert value is not None
    return histograms.PLUGIN_DATA.decode(value.tensor)


def test_histogram_with_dbl_max_limits_uses_min_and_max() -> None:
    value = histo_value([-DBL_MAX, -1.0, 0.0, 1.0, DBL_MAX], [0, 2, 0, 4, 0], -1.5, 0.75)
    (migrated,) = compare_values(value)
    rows = migrated_array(migrated)
    assert rows.dtype == np.float32
    np.testing.assert_array_equal(rows, [[-1.5, -1.0, 2], [-1.0, 0.0, 0], [0.0, 0.75, 4]])


def test_histogram_edge_cases() -> None:
    migrated = compare_values(
        histo_value([-DBL_MAX, DBL_MAX], [0, 0], 0.0, 0.0),  # all empty -> [0, 3]
        histo_value([], [], 0.0, 0.0),  # no buckets at all
        histo_value([1.0], [5], 0.5, 1.0),  # one bucket
        histo_value([0.0, 1.0, 2.0, 3.0], [-1, 3, float("nan"), 0], 0.1, 2.9),  # not > 0
        histo_value([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [0, 1, 1, 0], 0.5, 3.5),  # extra limits
        histo_value([0.0, 1.0], [1, 0, 0], 0.0, 1.0),  # short limits, still enough
    )
    assert migrated_array(migrated[0]).shape == (0, 3)
    assert migrated_array(migrated[1]).shape == (0, 3)
    np.testing.assert_array_equal(migrated_array(migrated[3]), np.float32([[0.1, 2.9, 3.0]]))


def test_malformed_histogram_is_refused_where_tensorboard_raises() -> None:
    value = histo_value([0.0], [1, 2, 3], 0.0, 3.0)  # the inner edges are missing
    with pytest.raises(ValueError, match="inhomogeneous"):
        read_tensorboard(
            [event_pb2.Event(summary=summary_pb2.Summary(value=[value])).SerializeToString()]
        )
    assert base.migrate_value(value) is None


def test_legacy_values_keep_display_name_and_description() -> None:
    metadata = summary_pb2.SummaryMetadata(display_name="Loss", summary_description="*md*")
    scalar = Value(tag="loss", simple_value=float("nan"), metadata=metadata)
    image = Value(tag="im", metadata=metadata)
    image.image.CopyFrom(summary_pb2.Summary.Image(width=1, height=1, encoded_image_string=b"x"))
    (mine, _) = compare_values(scalar, image)
    assert mine is not None
    assert mine.metadata.display_name == "Loss"


def test_one_channel_image() -> None:
    gray = rng().integers(0, 255, (5, 4), dtype=np.uint8)
    image = summary_pb2.Summary.Image(
        height=5, width=4, colorspace=1, encoded_image_string=png(gray)
    )
    torch_gray = from_tb(torch_tb.summary.image("t", torch.rand(1, 5, 4), dataformats="CHW"))
    (mine, _) = compare_values(Value(tag="gray", image=image), torch_gray)
    assert mine is not None
    assert images.image_size(mine.tensor) == (4, 5)
    assert images.blob_count(mine.tensor) == 1
    decoded = np.asarray(Image.open(io.BytesIO(images.read_blob(mine.tensor, 0))))
    np.testing.assert_array_equal(decoded, gray)


def test_audio_values() -> None:
    clip = np.sin(np.arange(400) / 7.0)
    legacy = audio_summary.audio_value("legacy", clip, 8000)
    torch_clip = from_tb(torch_tb.summary.audio("torch", torch.as_tensor(clip), 8000))
    tf2 = audio_summary.audio_tensor_value("tf2", rng().uniform(-1, 1, (3, 40, 2)), 8000)
    later = Value(tag="tf2", tensor=tf2.tensor)  # writers drop metadata after the first
    migrated = compare_values(legacy, torch_clip, tf2, later)
    for value, count in zip(migrated, [1, 1, 3, 3], strict=True):
        assert value is not None
        assert audio.blob_count(value.tensor) == count
        assert audio.read_blob(value.tensor, count - 1)[:4] == b"RIFF"
    first, *_, last = migrated
    assert first is not None
    assert audio.read_blob(first.tensor, 0) == legacy.audio.encoded_audio_string
    assert last is not None
    assert not last.HasField("metadata")


def test_audio_with_its_data_class_set_is_left_as_written() -> None:
    value = audio_summary.audio_tensor_value("a", rng().uniform(-1, 1, (2, 30, 1)), 8000)
    value.metadata.data_class = summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    (mine,) = compare_values(value)
    assert mine == value
    # TensorBoard would serve the labels as clips; we read the clips only.
    assert audio.blob_count(value.tensor) == 2
    assert audio.read_blob(value.tensor, 1) == value.tensor.string_val[2]
    with pytest.raises(IndexError):
        audio.read_blob(value.tensor, 2)


def test_hparams_values_without_a_tensor_get_the_null_tensor() -> None:
    exp, start, end = (from_tb(s) for s in torch_tb.summary.hparams({"lr": 0.1}, {"acc": 0.5}))
    later = Value(tag=end.tag)  # a second session end, metadata dropped
    ours = hparams_summary.session_end_value("success", end_time_secs=1.0)
    for value in compare_values(exp, start, end, later, ours):
        assert value is not None
        assert value.HasField("tensor")
        assert hparams.PLUGIN_DATA.decode(value.tensor).shape == (0,)
    assert not exp.HasField("tensor")  # the input is left as it was


def test_values_tensorboard_leaves_alone() -> None:
    unknown = Value(tag="raw", tensor=encode_tensor(np.arange(3)))
    unknown.metadata.plugin_data.plugin_name = "tensor"
    typed = images_summary.image_tensor_value("tf2", rng().random((2, 4, 4, 3)))
    assert compare_values(unknown, typed) == [unknown, typed]
    assert images.blob_count(typed.tensor) == 2


def test_graph_sub_plugin_values_get_shape_one() -> None:
    keras = Value(tag="keras", tensor=encode_tensor(np.asarray(b'{"config": {}}', dtype=object)))
    keras.metadata.plugin_data.plugin_name = graphs.PLUGIN_NAME_KERAS_MODEL
    trace = Value(tag="trace", tensor=encode_tensor(np.asarray([b"meta"], dtype=object)))
    trace.metadata.plugin_data.plugin_name = graphs.PLUGIN_NAME_RUN_METADATA_WITH_GRAPH
    later = Value(tag="keras", tensor=keras.tensor)
    for value in compare_values(keras, trace, later):
        assert value is not None
        assert graphs.blob_count(value.tensor) == 1
        assert graphs.read_blob(value.tensor, 0) in (b'{"config": {}}', b"meta")


def test_graph_events() -> None:
    graph = event_pb2.Event(step=3, graph_def=b"\x0a\x03abc")
    tagged = event_pb2.Event(
        tagged_run_metadata=event_pb2.TaggedRunMetadata(tag="step1", run_metadata=b"\x01")
    )
    run_graph, run_metadata = compare_records(
        [graph.SerializeToString(), tagged.SerializeToString()]
    )
    assert run_graph is not None
    assert run_graph.tag == graphs.RUN_GRAPH_TAG
    assert graphs.read_blob(run_graph.tensor, 0) == graph.graph_def
    assert run_metadata is not None
    assert run_metadata.tag == "step1"
    assert graphs.event_values(event_pb2.Event(file_version="brain.Event:2")) == []


def test_scalars_from_every_writer() -> None:
    compare_values(
        scalars_summary.legacy_value("a", 0.1),
        from_tb(torch_tb.summary.scalar("b", 3.5)),
        from_tb(torch_tb.summary.scalar("c", 3.5, new_style=True, double_precision=True)),
        from_tb(tbx.summary.scalar("d", 1.25, display_name="D")),
        scalars_summary.tensor_scalar_value("e", 2.0, description="two"),
        Value(tag="e", tensor=encode_tensor(np.float32(4.0))),
    )


# -- decode helpers for the dashboards ---------------------------------------------------------


def test_scalar_decoding() -> None:
    (legacy,) = compare_values(scalars_summary.legacy_value("a", 0.1))
    assert legacy is not None
    assert scalars.decode_scalar(legacy.tensor) == float(np.float32(0.1))
    for array in (np.float64(0.1), np.int64(7), np.array([2.5], np.float32)):
        assert scalars.decode_scalar(encode_tensor(array)) == float(array.reshape(-1)[0])
    double = tensor_pb2.TensorProto(dtype=types_pb2.DT_DOUBLE, double_val=[0.1])
    assert scalars.decode_scalar(double) == 0.1
    for bad in (np.zeros(2, np.float32), np.asarray(b"x", dtype=object)):
        with pytest.raises(ValueError, match="one number"):
            scalars.decode_scalar(encode_tensor(bad))


def test_histogram_buckets() -> None:
    rows = np.array([[0.0, 1.0, 3.0], [1.0, 2.5, 4.0]], dtype=np.float32)
    buckets = histograms.to_buckets(rows)
    np.testing.assert_array_equal(buckets.left, [0.0, 1.0])
    np.testing.assert_array_equal(buckets.right, [1.0, 2.5])
    np.testing.assert_array_equal(buckets.count, [3.0, 4.0])
    assert buckets.count.dtype == np.float64
    assert histograms.to_buckets(np.zeros((0, 3))).left.shape == (0,)
    with pytest.raises(ValueError, match=r"\[k, 3\]"):
        histograms.to_buckets(np.zeros((3,)))


def test_pr_curve_rows_match_tensorboards_entry() -> None:
    labels, scores = rng().random(200) > 0.5, rng().random(200)
    torch_value = from_tb(torch_tb.summary.pr_curve("pr", labels, scores, num_thresholds=11))
    computed = pr_curves_summary.compute_curve(labels, scores * 0.5, 9)  # empty tail
    ours = pr_curves_summary.pr_curve_value("pr", computed, 9)
    for value in compare_values(torch_value, ours):
        assert value is not None
        array = pr_curves.PLUGIN_DATA.decode(value.tensor)
        entry = pr_curves_plugin.PrCurvesPlugin._make_pr_entry(None, 0, 0.0, array)
        rows = pr_curves.curve(array)
        for name in (*pr_curves.ROWS, "thresholds"):
            assert getattr(rows, name).tolist() == entry[name], name
        expected = array.shape[1]
        assert pr_curves.num_thresholds(value.metadata.plugin_data.content) == expected
    assert len(pr_curves.curve(computed).thresholds) < 9
    assert pr_curves.curve(np.zeros((6, 4))).thresholds.tolist() == [0.0]
    with pytest.raises(ValueError, match="num_thresholds"):
        pr_curves.curve(np.zeros((5, 4)))


def test_text_decoding() -> None:
    table = np.array([["a", "ü"], ["<b>", "x"]], dtype=object)
    (value,) = compare_values(text_summary.text_value("t", table))
    assert value is not None
    decoded = text.decode_text(text.PLUGIN_DATA.decode(value.tensor))
    assert decoded.shape == (2, 2)
    assert decoded.tolist() == table.tolist()
    assert text.decode_text(np.asarray(b"\xff ok", dtype=object)).item() == "\ufffd ok"
    cube = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(text.reduce_to_2d(cube), text_plugin.reduce_to_2d(cube))
    with pytest.raises(ValueError, match="2 dimensions"):
        text.reduce_to_2d(np.arange(3))


def test_mesh_plugin_data_matches_tensorboards_parse() -> None:
    vertices = rng().random((1, 4, 3))
    faces = np.array([[[0, 1, 2], [1, 2, 3]]])
    values = mesh_summary.mesh_values("m", vertices, faces=faces, config_dict={"a": 1})
    torch_values = summary_pb2.Summary.FromString(
        torch_tb.summary.mesh("t", torch.as_tensor(vertices), None, None, None).SerializeToString()
    ).value
    old = mesh_pb2.MeshPluginData(name="old", content_type=mesh_pb2.MeshPluginData.VERTEX)
    for value in compare_values(*values, *torch_values):
        assert value is not None
        content = value.metadata.plugin_data.content
        expected = tb_mesh_metadata.parse_plugin_metadata(content).SerializeToString()
        assert mesh.parse_plugin_data(content).SerializeToString() == expected
        parsed = mesh.parse_plugin_data(content)
        assert value.tag == mesh.instance_tag(parsed.name, parsed.content_type)
        assert value.tag == tb_mesh_metadata.get_instance_name(parsed.name, parsed.content_type)
    content = old.SerializeToString()
    assert mesh.parse_plugin_data(content).components == mesh.ALL_COMPONENTS
    expected_old = tb_mesh_metadata.parse_plugin_metadata(content).SerializeToString()
    assert mesh.parse_plugin_data(content).SerializeToString() == expected_old
    assert mesh.component_names(
        mesh.parse_plugin_data(values[0].metadata.plugin_data.content).components
    ) == ("VERTEX", "FACE")


def test_hparams_plugin_data() -> None:
    summaries = torch_tb.summary.hparams({"lr": 0.1}, {"acc": 0.5})
    kinds = ["experiment", "session_start_info", "session_end_info"]
    for summary, kind in zip(summaries, kinds, strict=True):
        content = from_tb(summary).metadata.plugin_data.content
        assert hparams.data_kind(content) == kind
        parse = getattr(tb_hparams_metadata, f"parse_{kind}_plugin_data")
        mine = getattr(hparams.parse_plugin_data(content), kind)
        assert mine.SerializeToString() == parse(content).SerializeToString()
    with pytest.raises(ValueError, match="version 1"):
        hparams.parse_plugin_data(
            hparams_summary.hparams_pb2.HParamsPluginData(version=1).SerializeToString()
        )


def test_custom_scalars_layout() -> None:
    torch_layout = {"losses": {"both": ["Multiline", ["loss/.*"]]}}
    ours = custom_scalars_summary.layout_from_dict(
        {"losses": {"band": ["Margin", ["v", "lo", "hi"]]}, "other": {"x": ["Multiline", ["x"]]}}
    )
    values = compare_values(
        from_tb(torch_tb.summary.custom_scalars(torch_layout)),
        custom_scalars_summary.layout_value(ours),
    )
    layouts = [custom_scalars.parse_layout(v.tensor) for v in values if v is not None]
    assert layouts[1] == ours
    # TensorBoard's /layout merges the runs' layouts (runs sorted by name).
    plugin = custom_scalars_plugin.CustomScalarsPlugin.__new__(
        custom_scalars_plugin.CustomScalarsPlugin
    )
    plugin._data_provider = FakeTensors({"a": values[0], "b": values[1]})
    expected = plugin.layout_impl(None, "")
    merged = custom_scalars.merge_layouts(layouts)
    assert (
        plugin_util.proto_to_json(layout_pb2.Layout.FromString(merged.SerializeToString()))
        == expected
    )
    assert [c.title for c in merged.category] == ["losses", "other"]
    assert len(merged.category[0].chart) == 2
    # A third run adding to a category first seen in the second keeps its chart.
    third = custom_scalars_pb2.Layout()
    third.category.add(title="other").chart.add(title="y")
    assert len(custom_scalars.merge_layouts([*layouts, third]).category[1].chart) == 2
    with pytest.raises(ValueError, match="one string"):
        custom_scalars.parse_layout(encode_tensor(np.zeros(2)))
    with pytest.raises(ValueError, match="not a custom-scalars Layout"):
        custom_scalars.parse_layout(encode_tensor(np.asarray(b"\xff\xff", dtype=object)))


class FakeTensors:
    """Just enough of a data provider for ``CustomScalarsPlugin.layout_impl``."""

    def __init__(self, runs: dict[str, Value | None]) -> None:
        self.runs = runs

    def read_tensors(self, ctx: Any, **kwargs: Any) -> dict[str, Any]:
        class Datum:
            def __init__(self, value: Value) -> None:
                self.numpy = custom_scalars.PLUGIN_DATA.decode(value.tensor)

        return {
            run: {custom_scalars.CONFIG_TAG: [Datum(value)]}
            for run, value in self.runs.items()
            if value is not None
        }


def test_image_mime_types_match_tensorboard() -> None:
    pixels = rng().integers(0, 255, (4, 4, 3), dtype=np.uint8)
    samples = [png(pixels, fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP")] + [b"", b"text"]
    for data in samples:
        assert images.detect_mime_type(data) == img_mime_type_detector.from_bytes(data)
    bad = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[b"w", b"1"])
    with pytest.raises(ValueError, match="integers"):
        images.image_size(bad)
    with pytest.raises(ValueError, match="width and height"):
        images.image_size(tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING))
    assert images.blob_count(tensor_pb2.TensorProto()) == 0
    with pytest.raises(IndexError):
        images.read_blob(bad, 0)


def test_audio_mime_type() -> None:
    wav = plugin_data_pb2.AudioPluginData(encoding=plugin_data_pb2.AudioPluginData.WAV)
    assert audio.mime_type(wav.SerializeToString()) == "audio/wav"
    assert audio.mime_type(b"") == "application/octet-stream"
    empty = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=encode_shape([2, 0]))
    assert base.migrate_value(Value(tag="a", tensor=empty, metadata=_audio_metadata())) is None


def _audio_metadata() -> summary_pb2.SummaryMetadata:
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="audio")
    )
