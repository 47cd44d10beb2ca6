"""lumiboard.summary: the TF2-style API (default writers, steps, ops, tracing).

Every op's output is parsed with TensorBoard's own protos and compared with what
TensorBoard's numpy-based ``*_pb`` functions produce for the same data; images
and audio, whose TensorBoard ops need TensorFlow, are checked against the tensor
layout those ops write (``[width, height, png...]`` and ``[n, 2]`` of wav, label).
"""

from __future__ import annotations

import io
import json
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing import (
    event_accumulator,
    event_file_loader,
    plugin_event_accumulator,
)
from tensorboard.compat.proto import event_pb2 as tb_event_pb2
from tensorboard.compat.proto import summary_pb2 as tb_summary_pb2
from tensorboard.plugins.audio import metadata as tb_audio_metadata
from tensorboard.plugins.histogram import summary_v2 as tb_histogram
from tensorboard.plugins.image import metadata as tb_image_metadata
from tensorboard.plugins.scalar import summary_v2 as tb_scalar
from tensorboard.plugins.text import summary_v2 as tb_text
from tensorboard.util import tensor_util

from lumiboard import summary
from lumiboard.format.proto import summary_pb2
from lumiboard.writer import functional

TbValue = tb_summary_pb2.Summary.Value


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """No default writer, step or recording leaks from one test into the next."""
    functional._state.writer = None
    functional._state.step = None
    yield
    summary.trace_off()
    functional._state.writer = None
    functional._state.step = None


# ---- reading back ---------------------------------------------------------------


def event_files(logdir: Path) -> list[Path]:
    return sorted(logdir.glob("events.out.tfevents.*"))


def read_events(logdir: Path) -> list[tb_event_pb2.Event]:
    """Every event of ``logdir`` parsed with TensorBoard's own ``Event`` proto."""
    return [
        tb_event_pb2.Event.FromString(record)
        for path in event_files(logdir)
        for record in event_file_loader.RawEventFileLoader(str(path)).Load()
    ]


def read_values(logdir: Path) -> list[tuple[int, TbValue]]:
    """(step, value) for every summary value written in ``logdir``."""
    return [
        (event.step, value)
        for event in read_events(logdir)
        if event.HasField("summary")
        for value in event.summary.value
    ]


def only_value(logdir: Path) -> tuple[int, TbValue]:
    values = read_values(logdir)
    assert len(values) == 1, values
    return values[0]


def scalar_points(logdir: Path) -> list[tuple[int, float]]:
    return [(step, float(tensor_util.make_ndarray(v.tensor))) for step, v in read_values(logdir)]


def as_tb(value: summary_pb2.Summary.Value) -> TbValue:
    """Our value re-parsed as TensorBoard's proto type."""
    return tb_summary_pb2.Summary.Value.FromString(value.SerializeToString())


def with_data_class(
    metadata: tb_summary_pb2.SummaryMetadata, data_class: int
) -> tb_summary_pb2.SummaryMetadata:
    # TensorBoard's *_pb functions leave data_class unset and its reader fills
    # it in (dataclass_compat); we write the class the reader would assign.
    copy = tb_summary_pb2.SummaryMetadata()
    copy.CopyFrom(metadata)
    copy.data_class = data_class  # type: ignore[assignment]
    return copy


def write_one(tmp_path: Path, op: Any, *args: Any, **kwargs: Any) -> TbValue:
    """Write one op at step 1 and return the value TensorBoard parses."""
    with summary.create_file_writer(tmp_path).as_default(step=1):
        assert op(*args, **kwargs) is True
    step, value = only_value(tmp_path)
    assert step == 1
    return value


def decode_wav(data: bytes) -> tuple[int, np.ndarray]:
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert wav.getsampwidth() == 2
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return wav.getframerate(), samples.reshape(-1, wav.getnchannels())


# ---- default writer and step ----------------------------------------------------


def test_ops_return_false_without_a_default_writer(tmp_path: Path) -> None:
    assert summary.get_default_writer() is None
    assert summary.scalar("s", 1.0, step=0) is False
    assert summary.histogram("h", [1.0, 2.0], step=0) is False
    assert summary.image("i", np.zeros((1, 2, 2, 1)), step=0) is False
    assert summary.audio("a", np.zeros((1, 4, 1)), 8000, step=0) is False
    assert summary.text("t", "hello", step=0) is False
    assert summary.write("w", np.ones(3), step=0) is False
    # As TensorFlow's lazy summaries: nothing is encoded without a writer, not
    # even data that could not be, and no step is needed.
    assert summary.image("i", np.zeros((2, 2)), step=0) is False
    assert summary.scalar("s", 1.0) is False
    calls: list[int] = []
    assert summary.write("w", lambda: calls.append(1) or np.ones(1), step=0) is False
    assert calls == []


def test_no_step_raises_and_writes_nothing(tmp_path: Path) -> None:
    with summary.create_file_writer(tmp_path).as_default():
        with pytest.raises(ValueError, match="no step"):
            summary.scalar("loss", 1.0)
        with pytest.raises(ValueError, match="no step"):
            summary.image("i", np.zeros((2, 2)))  # the step is checked first
    assert read_values(tmp_path) == []


def test_as_default_sets_and_restores_step_and_writer_when_nested(tmp_path: Path) -> None:
    outer = summary.create_file_writer(tmp_path / "outer")
    inner = summary.create_file_writer(tmp_path / "inner")
    with outer.as_default(step=1) as entered:
        assert entered is outer
        assert summary.get_default_writer() is outer
        assert summary.get_step() == 1
        with inner.as_default(step=2):
            assert summary.get_default_writer() is inner
            assert summary.get_step() == 2
            assert summary.scalar("x", 2.0)
            assert summary.scalar("x", 20.0, step=20)  # an explicit step wins
        assert summary.get_default_writer() is outer
        assert summary.get_step() == 1
        assert summary.scalar("x", 1.0)
    assert summary.get_default_writer() is None
    assert summary.get_step() is None
    # as_default flushed each writer on exit: everything is readable now.
    assert scalar_points(tmp_path / "inner") == [(2, 2.0), (20, 20.0)]
    assert scalar_points(tmp_path / "outer") == [(1, 1.0)]


def test_as_default_without_step_keeps_the_step_and_restores_on_error(tmp_path: Path) -> None:
    writer = summary.create_file_writer(tmp_path)
    summary.set_step(7)

    def fail() -> None:
        with writer.as_default():
            assert summary.get_step() == 7
            summary.set_step(8)  # not restored: as_default was given no step
            raise KeyError("boom")

    with pytest.raises(KeyError):
        fail()
    assert summary.get_default_writer() is None
    assert summary.get_step() == 8
    with pytest.raises(KeyError), writer.as_default(step=100):
        raise KeyError("boom")
    assert summary.get_step() == 8


def test_as_default_checks_the_step_before_changing_anything(tmp_path: Path) -> None:
    writer = summary.create_file_writer(tmp_path)
    with pytest.raises(ValueError, match="whole number"), writer.as_default(step=1.5):
        pass
    assert summary.get_default_writer() is None
    assert summary.get_step() is None


def test_set_step_and_get_step() -> None:
    assert summary.get_step() is None
    summary.set_step(5)
    assert summary.get_step() == 5
    summary.set_step(np.int64(6))
    assert summary.get_step() == 6
    assert type(summary.get_step()) is int
    summary.set_step(None)
    assert summary.get_step() is None
    with pytest.raises(ValueError, match="whole number"):
        summary.set_step(1.5)
    with pytest.raises(TypeError):
        summary.set_step("3")  # type: ignore[arg-type]


def test_set_step_is_used_by_ops(tmp_path: Path) -> None:
    writer = summary.create_file_writer(tmp_path)
    writer.set_as_default(step=4)
    assert summary.get_default_writer() is writer
    assert summary.scalar("a", 1.0)
    summary.set_step(5)
    assert summary.scalar("a", 2.0)
    summary.flush()
    assert [step for step, _ in read_values(tmp_path)] == [4, 5]


def test_defaults_are_per_thread(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def other_thread() -> None:
        seen["writer"] = summary.get_default_writer()
        seen["step"] = summary.get_step()
        seen["wrote"] = summary.scalar("t", 1.0, step=0)
        with summary.create_file_writer(tmp_path / "other").as_default(step=9):
            seen["own"] = summary.get_step()

    with summary.create_file_writer(tmp_path / "main").as_default(step=3):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        # The other thread's as_default did not touch this thread's defaults.
        assert summary.get_step() == 3
        assert summary.get_default_writer() is not None
    assert seen == {"writer": None, "step": None, "wrote": False, "own": 9}


def test_file_names_end_with_v2_by_default(tmp_path: Path) -> None:
    summary.create_file_writer(tmp_path / "a").close()
    summary.create_file_writer(tmp_path / "b", filename_suffix=".mine").close()
    (a,) = event_files(tmp_path / "a")
    (b,) = event_files(tmp_path / "b")
    assert a.name.endswith(".v2")
    assert b.name.endswith(".mine")
    assert [e.file_version for e in read_events(tmp_path / "a")] == ["brain.Event:2"]


def test_flush_millis_is_honoured(tmp_path: Path) -> None:
    fast = summary.create_file_writer(tmp_path / "fast", max_queue=1000, flush_millis=50)
    slow = summary.create_file_writer(tmp_path / "slow", max_queue=1000, flush_millis=60_000)
    fast.set_as_default(step=0)
    assert summary.scalar("x", 1.0)
    slow.set_as_default(step=0)
    assert summary.scalar("x", 1.0)
    deadline = time.monotonic() + 5
    while not read_values(tmp_path / "fast") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(read_values(tmp_path / "fast")) == 1  # no flush() called
    assert read_values(tmp_path / "slow") == []  # still queued
    summary.flush()
    assert len(read_values(tmp_path / "slow")) == 1
    fast.close()
    slow.close()


def test_bad_writer_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="flush_millis"):
        summary.create_file_writer(tmp_path, flush_millis=0)
    with pytest.raises(ValueError, match="max_queue"):
        summary.create_file_writer(tmp_path, max_queue=-1)
    with pytest.raises(ValueError, match="logdir"):
        summary.create_file_writer(None)  # type: ignore[arg-type]


def test_closed_writer(tmp_path: Path) -> None:
    writer = summary.create_file_writer(tmp_path)
    writer.set_as_default(step=0)
    writer.close()
    writer.close()
    writer.flush()
    with pytest.raises(RuntimeError, match="closed"):
        summary.scalar("x", 1.0)


# ---- ops against TensorBoard's own encoders ----------------------------------------


@pytest.mark.parametrize("data", [1.5, np.float64(-2.25), np.float32(3.0), 7, float("nan")])
def test_scalar_matches_tensorboard(tmp_path: Path, data: Any) -> None:
    ours = write_one(tmp_path, summary.scalar, "loss", data, description="the loss")
    theirs = tb_scalar.scalar_pb("loss", data, description="the loss").value[0]
    assert ours.tag == theirs.tag
    assert ours.metadata == with_data_class(theirs.metadata, tb_summary_pb2.DATA_CLASS_SCALAR)
    ours_array = tensor_util.make_ndarray(ours.tensor)
    theirs_array = tensor_util.make_ndarray(theirs.tensor)
    assert ours_array.dtype == theirs_array.dtype == np.float32
    assert ours_array.shape == theirs_array.shape == ()
    np.testing.assert_array_equal(ours_array, theirs_array)


def test_scalar_takes_torch_tensors_and_one_element_arrays(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    with summary.create_file_writer(tmp_path).as_default(step=0):
        assert summary.scalar("t", torch.tensor(2.5, requires_grad=True))
        assert summary.scalar("a", np.array([4.0]))
    assert [float(tensor_util.make_ndarray(v.tensor)) for _, v in read_values(tmp_path)] == [
        2.5,
        4.0,
    ]


RNG = np.random.default_rng(7)


@pytest.mark.parametrize(
    ("data", "buckets"),
    [
        (RNG.normal(size=1000), None),
        (RNG.normal(size=1000), 7),
        (RNG.normal(size=(20, 30)), 20),
        (RNG.integers(0, 10, size=50), 5),
        (np.full(10, 3.5), 4),
        (np.array([1.0, 2.0]), 1),
        (np.array([], dtype=np.float64), 6),
        (RNG.normal(size=10), 0),
    ],
)
def test_histogram_matches_tensorboard(tmp_path: Path, data: np.ndarray, buckets: Any) -> None:
    ours = write_one(tmp_path, summary.histogram, "h", data, buckets=buckets, description="d")
    theirs = tb_histogram.histogram_pb("h", data, buckets=buckets, description="d").value[0]
    assert ours.metadata == with_data_class(theirs.metadata, tb_summary_pb2.DATA_CLASS_TENSOR)
    ours_array = tensor_util.make_ndarray(ours.tensor)
    theirs_array = tensor_util.make_ndarray(theirs.tensor)
    assert ours_array.dtype == theirs_array.dtype == np.float64
    assert ours_array.shape == theirs_array.shape == (30 if buckets is None else buckets, 3)
    np.testing.assert_array_equal(ours_array, theirs_array)


def test_histogram_takes_torch_tensors(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    data = torch.randn(100, requires_grad=True)
    ours = write_one(tmp_path, summary.histogram, "h", data, buckets=10)
    theirs = tb_histogram.histogram_pb("h", data.detach().numpy(), buckets=10).value[0]
    np.testing.assert_array_equal(
        tensor_util.make_ndarray(ours.tensor), tensor_util.make_ndarray(theirs.tensor)
    )


@pytest.mark.parametrize(
    "data",
    [
        "**markdown** text",
        "ünïcödé ✓",
        b"raw bytes",
        ["a", "b", "c"],
        np.array([["a", "b"], ["1", "<b>x</b>"]]),
        np.array([[b"x"], [b"y"]], dtype=object),
    ],
)
def test_text_matches_tensorboard(tmp_path: Path, data: Any) -> None:
    ours = write_one(tmp_path, summary.text, "notes", data, description="d")
    theirs = tb_text.text_pb("notes", data, description="d").value[0]
    assert ours.metadata == with_data_class(theirs.metadata, tb_summary_pb2.DATA_CLASS_TENSOR)
    ours_array = tensor_util.make_ndarray(ours.tensor)
    theirs_array = tensor_util.make_ndarray(theirs.tensor)
    assert ours.tensor.dtype == theirs.tensor.dtype
    assert ours_array.shape == theirs_array.shape
    np.testing.assert_array_equal(ours_array, theirs_array)


def test_image_layout_is_width_height_then_pngs(tmp_path: Path) -> None:
    data = RNG.integers(0, 256, size=(4, 5, 7, 3), dtype=np.uint8)  # k, h, w, c
    ours = write_one(tmp_path, summary.image, "pics", data, max_outputs=2, description="d")
    expected_metadata = tb_image_metadata.create_summary_metadata(
        display_name=None, description="d"
    )
    assert ours.metadata == with_data_class(
        expected_metadata, tb_summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    )
    array = tensor_util.make_ndarray(ours.tensor)
    assert array.dtype == object
    assert array.shape == (4,)  # width, height and max_outputs PNGs
    assert list(array[:2]) == [b"7", b"5"]  # width first
    for png, expected in zip(array[2:], data[:2], strict=True):
        picture = Image.open(io.BytesIO(png))
        assert picture.format == "PNG"
        assert picture.mode == "RGB"
        assert picture.size == (7, 5)
        np.testing.assert_array_equal(np.asarray(picture), expected)


def test_image_grayscale_and_float(tmp_path: Path) -> None:
    gray = np.linspace(0.0, 1.0, 12, dtype=np.float32).reshape(1, 3, 4, 1)
    ours = write_one(tmp_path, summary.image, "gray", gray)
    array = tensor_util.make_ndarray(ours.tensor)
    assert list(array[:2]) == [b"4", b"3"]
    picture = Image.open(io.BytesIO(array[2]))
    assert picture.mode == "L"
    # TF's convert_image_dtype: x * 255.5, truncated.
    expected = np.clip(gray[0, :, :, 0] * np.float32(255.5), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(picture), expected)


def test_audio_layout_is_n_by_two_wav_and_label(tmp_path: Path) -> None:
    data = RNG.uniform(-1, 1, size=(3, 100, 1)).astype(np.float32)
    ours = write_one(tmp_path, summary.audio, "clips", data, 22050, max_outputs=2, description="d")
    # data_class stays unset, as TensorFlow writes it: see the next test.
    assert ours.metadata == tb_audio_metadata.create_summary_metadata(
        display_name=None, description="d", encoding=tb_audio_metadata.Encoding.Value("WAV")
    )
    array = tensor_util.make_ndarray(ours.tensor)
    assert array.dtype == object
    assert array.shape == (2, 2)
    assert list(array[:, 1]) == [b"", b""]  # TF2 writes empty labels
    for wav, clip in zip(array[:, 0], data[:2], strict=True):
        rate, samples = decode_wav(wav)
        assert rate == 22050
        assert samples.shape == (100, 1)
        # TF's encode_wav: round(x * 32768), saturated.
        expected = np.clip(np.round(clip.astype(np.float64) * 32768), -32768, 32767)
        np.testing.assert_array_equal(samples, expected.astype(np.int16))


def test_tensorboard_reads_one_blob_per_clip(tmp_path: Path) -> None:
    # TensorBoard's reader projects [n, 2] onto the n clips only when
    # data_class is unset; a BLOB_SEQUENCE [n, 2] would list each label as a clip.
    with summary.create_file_writer(tmp_path).as_default(step=0):
        summary.audio("clips", np.zeros((3, 10, 1)), 8000)
    accumulator = plugin_event_accumulator.EventAccumulator(str(tmp_path))
    accumulator.Reload()
    assert accumulator.SummaryMetadata("clips").data_class == (
        tb_summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    )
    (event,) = accumulator.Tensors("clips")
    clips = tensor_util.make_ndarray(event.tensor_proto)
    assert clips.shape == (3,)
    assert all(decode_wav(clip)[0] == 8000 for clip in clips)


def test_audio_stereo(tmp_path: Path) -> None:
    data = np.zeros((1, 10, 2), dtype=np.float64)
    data[0, :, 1] = 0.5
    ours = write_one(tmp_path, summary.audio, "stereo", data, 8000, encoding="wav")
    rate, samples = decode_wav(tensor_util.make_ndarray(ours.tensor)[0, 0])
    assert rate == 8000
    assert samples.shape == (10, 2)
    assert set(samples[:, 0]) == {0}
    assert set(samples[:, 1]) == {16384}


def test_write_raw_tensors_with_metadata(tmp_path: Path) -> None:
    ours_metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="custom", content=b"c")
    )
    tb_metadata = tb_summary_pb2.SummaryMetadata(summary_description="from tensorboard")
    calls: list[int] = []

    def lazy() -> np.ndarray:
        calls.append(1)
        return np.arange(6, dtype=np.int32).reshape(2, 3)

    with summary.create_file_writer(tmp_path).as_default(step=2):
        assert summary.write("raw/ints", lazy, metadata=ours_metadata)
        assert summary.write("raw/bytes_md", 1.5, metadata=tb_metadata.SerializeToString())
        assert summary.write("raw/tb_md", [1.0, 2.0], metadata=tb_metadata)
        assert summary.write("raw/str", "hello")
        assert summary.write("raw/strs", ["a", "b"])
    assert calls == [1]
    values = {value.tag: value for _, value in read_values(tmp_path)}
    np.testing.assert_array_equal(
        tensor_util.make_ndarray(values["raw/ints"].tensor), np.arange(6).reshape(2, 3)
    )
    assert values["raw/ints"].metadata.plugin_data.plugin_name == "custom"
    assert values["raw/bytes_md"].metadata == tb_metadata
    assert values["raw/tb_md"].metadata == tb_metadata
    assert tensor_util.make_ndarray(values["raw/str"].tensor) == b"hello"
    assert list(tensor_util.make_ndarray(values["raw/strs"].tensor)) == [b"a", b"b"]
    with pytest.raises(TypeError, match="metadata"):
        summary.write("raw/bad", 1.0, step=0, metadata="nope")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: summary.scalar(3, 1.0), TypeError, "name must be a str"),  # type: ignore[arg-type]
        (lambda: summary.scalar("", 1.0), ValueError, "name must not be empty"),
        (lambda: summary.scalar("s", [1.0, 2.0]), ValueError, "exactly one value"),
        (lambda: summary.scalar("s", "1.0"), TypeError, "data"),
        (lambda: summary.histogram(None, [1.0]), TypeError, "name"),  # type: ignore[arg-type]
        (lambda: summary.histogram("h", [1.0], buckets=-1), ValueError, "buckets"),
        (lambda: summary.image("i", np.zeros((2, 2, 1))), ValueError, r"\[k, h, w, c\]"),
        (lambda: summary.image("i", np.zeros((1, 2, 2, 5))), ValueError, "c in 1..4"),
        (lambda: summary.image("i", np.zeros((1, 2, 2, 1)), max_outputs=-1), ValueError, "max"),
        (lambda: summary.audio("a", np.zeros((1, 4, 1)), 8000, encoding="mp3"), ValueError, "wav"),
        (lambda: summary.audio("a", np.zeros((4, 1)), 8000), ValueError, r"\[k, t, c\]"),
        (lambda: summary.audio("a", np.zeros((1, 4, 1)), 0), ValueError, "sample_rate"),
        (lambda: summary.text("t", 3), TypeError, "string"),
        (lambda: summary.text("t", ["a", 1]), TypeError, "str"),
        (lambda: summary.write(5, 1.0), TypeError, "tag"),  # type: ignore[arg-type]
    ],
)
def test_bad_inputs_raise_clear_errors(
    tmp_path: Path, call: Any, error: type[Exception], match: str
) -> None:
    with summary.create_file_writer(tmp_path).as_default(step=0), pytest.raises(error, match=match):
        call()
    assert read_values(tmp_path) == []


def test_mp3_is_refused_even_without_a_writer() -> None:
    with pytest.raises(ValueError, match="wav"):
        summary.audio("a", np.zeros((1, 4, 1)), 8000, step=0, encoding="mp3")


# ---- trace_on / trace_export -------------------------------------------------------


@pytest.fixture
def torch() -> Any:
    return pytest.importorskip("torch")


def make_model(torch: Any) -> Any:
    nn = torch.nn

    class Inner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x: Any) -> Any:
            return torch.relu(self.fc(x))

    class Outer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = Inner()
            self.head = nn.Linear(3, 2)

        def forward(self, x: Any) -> Any:
            return torch.tanh(self.head(self.inner(x)))

    return Outer()


def graph_ops(logdir: Path) -> set[str]:
    accumulator = event_accumulator.EventAccumulator(str(logdir))
    accumulator.Reload()
    return {node.op for node in accumulator.Graph().node}


def test_trace_export_writes_the_outermost_call(tmp_path: Path, torch: Any) -> None:
    model = make_model(torch)
    other = torch.nn.Sigmoid()
    summary.trace_on()
    model(torch.zeros(2, 4))  # Outer -> Inner -> Linear: Outer is recorded
    other(torch.zeros(1))  # a later call is not
    with summary.create_file_writer(tmp_path).as_default():
        assert summary.trace_export("model", step=3) is True
    accumulator = event_accumulator.EventAccumulator(str(tmp_path))
    accumulator.Reload()
    ops = {node.op for node in accumulator.Graph().node}
    # The outer forward's own op and the nested submodules' ops are all there.
    assert {"aten::tanh", "aten::relu", "aten::linear"} <= ops
    assert "aten::sigmoid" not in ops
    assert any("Outer/Inner" in node.name for node in accumulator.Graph().node)
    assert accumulator.Tags()["run_metadata"] == ["model"]
    run_metadata = accumulator.RunMetadata("model")
    assert run_metadata.step_stats.dev_stats  # TensorBoard parsed it
    kinds = [
        (event.step, event.WhichOneof("what"))
        for event in read_events(tmp_path)
        if event.WhichOneof("what") != "file_version"
    ]
    assert kinds == [(3, "graph_def"), (3, "tagged_run_metadata")]
    # The recording ended with the export.
    with summary.create_file_writer(tmp_path / "again").as_default(step=0):
        model(torch.zeros(1, 4))
        assert summary.trace_export("model") is False


def test_trace_on_removes_its_hook_after_the_first_call(tmp_path: Path, torch: Any) -> None:
    hooks = torch.nn.modules.module._global_forward_pre_hooks
    before = len(hooks)
    summary.trace_on()
    assert len(hooks) == before + 1
    make_model(torch)(torch.zeros(1, 4))
    assert len(hooks) == before


def test_trace_on_with_profiler_writes_a_chrome_trace(tmp_path: Path, torch: Any) -> None:
    model = make_model(torch)
    summary.trace_on(graph=True, profiler=True)
    model(torch.ones(2, 4))
    with summary.create_file_writer(tmp_path).as_default(step=0):
        assert summary.trace_export("profiled") is True
    (trace,) = tmp_path.glob("*.pt.trace.json")
    document = json.loads(trace.read_text())
    assert isinstance(document["traceEvents"], list)
    assert document["traceEvents"]
    assert graph_ops(tmp_path) >= {"aten::tanh"}


def test_profiler_outdir_of_trace_on(tmp_path: Path, torch: Any) -> None:
    summary.trace_on(graph=False, profiler=True, profiler_outdir=str(tmp_path / "profile"))
    make_model(torch)(torch.ones(1, 4))
    with summary.create_file_writer(tmp_path / "run").as_default(step=0):
        assert summary.trace_export("p") is True  # a profile, no graph
    assert len(list((tmp_path / "profile").glob("*.pt.trace.json"))) == 1
    assert not list((tmp_path / "run").glob("*.pt.trace.json"))
    assert [e for e in read_events(tmp_path / "run") if not e.file_version] == []


def test_trace_off_records_nothing(tmp_path: Path, torch: Any) -> None:
    model = make_model(torch)
    summary.trace_on(profiler=True)
    summary.trace_off()
    model(torch.zeros(1, 4))
    with summary.create_file_writer(tmp_path).as_default(step=0):
        assert summary.trace_export("model") is False
    assert [e for e in read_events(tmp_path) if not e.file_version] == []
    assert not list(tmp_path.glob("*.pt.trace.json"))


def test_trace_export_without_a_module_call_returns_false(tmp_path: Path, torch: Any) -> None:
    summary.trace_on()
    with summary.create_file_writer(tmp_path).as_default(step=0):
        assert summary.trace_export("model") is False
    assert [e for e in read_events(tmp_path) if not e.file_version] == []


def test_trace_export_needs_a_step_and_a_writer(tmp_path: Path, torch: Any) -> None:
    model = make_model(torch)
    summary.trace_on()
    model(torch.zeros(1, 4))
    with summary.create_file_writer(tmp_path).as_default(), pytest.raises(ValueError, match="step"):
        summary.trace_export("model")
    # No default writer: the recording is dropped and False comes back.
    assert summary.trace_export("model", step=0) is False
    with summary.create_file_writer(tmp_path).as_default(step=0):
        assert summary.trace_export("model") is False


def test_profile_without_a_writer(tmp_path: Path, torch: Any) -> None:
    summary.trace_on(profiler=True)
    make_model(torch)(torch.ones(1, 4))
    # No default writer: the graph is dropped, the profile still goes out.
    assert summary.trace_export("p", profiler_outdir=str(tmp_path)) is True
    assert len(list(tmp_path.glob("*.pt.trace.json"))) == 1
    assert not event_files(tmp_path)


def test_trace_on_again_restarts_the_recording(tmp_path: Path, torch: Any) -> None:
    first, second = make_model(torch), torch.nn.Sigmoid()
    summary.trace_on()
    first(torch.zeros(1, 4))
    summary.trace_on()  # drops the call recorded so far
    second(torch.zeros(1))
    with summary.create_file_writer(tmp_path).as_default(step=0):
        assert summary.trace_export("m")
    ops = graph_ops(tmp_path)
    assert "aten::sigmoid" in ops
    assert "aten::tanh" not in ops
