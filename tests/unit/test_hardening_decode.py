"""Hostile and broken records cost one skipped record, never a pass, data, or memory.

Issue 11: a record whose decoding raises anything (``MemoryError`` included)
is skipped and counted; a reload pass never appends the same points twice and
always finishes; a tensor's declared shape never drives an allocation beyond
the bytes the record holds (or :data:`~lumiboard.format.tensors.MAX_SPLAT_ELEMENTS`
for TensorFlow's one-value splat form).
"""

from __future__ import annotations

import logging
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from route_support import get_json
from starlette.testclient import TestClient
from tensorboard.compat.proto import tensor_pb2 as tb_tensor_pb2
from tensorboard.util import tensor_util

from lumiboard.format import tensors
from lumiboard.format.proto import event_pb2, tensor_pb2, types_pb2
from lumiboard.format.tensors import MAX_SPLAT_ELEMENTS, TensorError, decode_tensor
from lumiboard.format.tfrecord import encode_record
from lumiboard.plugins.histograms import data as histograms_data
from lumiboard.plugins.pr_curves import data as pr_curves_data
from lumiboard.plugins.scalars import data as scalars_data
from lumiboard.reader import ingest
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app
from lumiboard.server.context import ServerOptions
from lumiboard.store.columns import ScalarSeries
from lumiboard.store.provider import Provider

WALL = 1_600_000_000.0
VERSION = "brain.Event:2"


# ---- building records ------------------------------------------------------------------------


def tensor(dtype: int, shape: list[int], **fields: Any) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=dtype, **fields)  # type: ignore[arg-type]
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    return proto


def value_event(step: int, tag: str, proto: tensor_pb2.TensorProto, plugin: str) -> event_pb2.Event:
    event = event_pb2.Event(step=step, wall_time=WALL + step)
    value = event.summary.value.add(tag=tag, tensor=proto)
    value.metadata.plugin_data.plugin_name = plugin
    return event


def scalar_event(step: int, tag: str = "loss") -> event_pb2.Event:
    event = event_pb2.Event(step=step, wall_time=WALL + step)
    event.summary.value.add(tag=tag, simple_value=float(step))
    return event


def poison_scalar(step: int, tag: str = "loss") -> event_pb2.Event:
    """The issue's record: a scalar tensor declaring shape [2**40] with one value."""
    return value_event(step, tag, tensor(types_pb2.DT_FLOAT, [2**40], float_val=[1.0]), "scalars")


def splat_histogram(step: int, rows: int = 2**21) -> event_pb2.Event:
    """The issue's 84-byte histogram: one double standing for a [rows, 3] tensor."""
    proto = tensor(types_pb2.DT_DOUBLE, [rows, 3], double_val=[1.0])
    return value_event(step, "h", proto, "histograms")


def write(path: Path, events: list[event_pb2.Event], version: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = [event_pb2.Event(wall_time=WALL, file_version=VERSION)] if version else []
    path.write_bytes(b"".join(encode_record(e.SerializeToString()) for e in header + events))
    return path


def event_file(directory: Path, number: int = 1) -> Path:
    return directory / f"events.out.tfevents.{1_600_000_000 + number}.host.{number}"


def reload_as_the_server_does(reloader: Reloader) -> None:
    """One pass of ``Reloader._loop``: a failed pass is logged, and the next one tried."""
    try:
        reloader.reload()
    except Exception:  # what the server's reload loop does with a failed pass
        logging.getLogger(__name__).exception("reload failed")


def loss_steps(reloader: Reloader, tag: str = "loss") -> list[int]:
    return Provider(reloader.runs).read_scalars(".", tag).step.tolist()


# ---- item 1: a poisoned record costs one record -------------------------------------------


def _poisoned_logdir(logdir: Path) -> None:
    # 100 points, the poison, 30 points: TensorBoard reads the 130 good ones.
    events = [scalar_event(step) for step in range(100)]
    events += [poison_scalar(100)]
    events += [scalar_event(step) for step in range(101, 131)]
    write(event_file(logdir), events)


def test_poisoned_record_is_skipped_and_reloads_add_nothing(tmp_path: Path) -> None:
    _poisoned_logdir(tmp_path)
    reloader = Reloader(str(tmp_path))
    for _ in range(3):
        reload_as_the_server_does(reloader)
        assert loss_steps(reloader) == [*range(100), *range(101, 131)]
        assert reloader.runs["."].skipped == {"loss": 1}
    progress = reloader.progress()
    assert (progress.passes, progress.loading) == (3, False)


def test_poisoned_record_in_a_growing_file_is_skipped_once(tmp_path: Path) -> None:
    path = write(event_file(tmp_path), [scalar_event(step) for step in range(10)])
    reloader = Reloader(str(tmp_path))
    reload_as_the_server_does(reloader)
    with path.open("ab") as handle:
        handle.write(encode_record(poison_scalar(10).SerializeToString()))
        for step in range(11, 15):
            handle.write(encode_record(scalar_event(step).SerializeToString()))
    for _ in range(3):
        reload_as_the_server_does(reloader)
    assert loss_steps(reloader) == [*range(10), *range(11, 15)]
    assert reloader.runs["."].skipped == {"loss": 1}
    assert reloader.progress().passes == 4


def test_status_route_shows_passes_advancing_and_the_skip(tmp_path: Path) -> None:
    _poisoned_logdir(tmp_path)
    reloader = Reloader(str(tmp_path))
    with TestClient(create_app(reloader, ServerOptions(data_location=str(tmp_path)))) as client:
        for passes in (1, 2, 3):
            reload_as_the_server_does(reloader)
            status = get_json(client, "/data/status")
            assert (status["passes"], status["loading"]) == (passes, False)
            assert status["skipped"] == {".": {"loss": 1}}
            series = get_json(client, "/data/plugin/scalars/scalars", run=".", tag="loss")
            assert [step for _, step, _ in series] == [*range(100), *range(101, 131)]


def test_later_files_of_the_run_are_read_after_a_poisoned_record(tmp_path: Path) -> None:
    write(event_file(tmp_path, 1), [scalar_event(0), poison_scalar(1), scalar_event(2)])
    write(event_file(tmp_path, 2), [scalar_event(3), scalar_event(4)])
    reloader = Reloader(str(tmp_path))
    for _ in range(2):
        reload_as_the_server_does(reloader)
    assert loss_steps(reloader) == [0, 2, 3, 4]


class DecoderBugError(Exception):
    """An exception no decoder is expected to raise."""


def test_any_exception_while_decoding_a_record_is_a_counted_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    text = tensor(types_pb2.DT_STRING, [1], string_val=[b"fine"])
    bad = tensor(types_pb2.DT_STRING, [1], string_val=[b"boom"])
    events = [value_event(step, "note", text, "text") for step in range(3)]
    events += [value_event(3, "note", bad, "text"), value_event(4, "note", bad, "text")]
    events += [value_event(5, "note", text, "text"), scalar_event(6)]
    write(event_file(tmp_path), events)
    real = ingest.decode_tensor

    def decode(proto: tensor_pb2.TensorProto) -> np.ndarray:
        if list(proto.string_val) == [b"boom"]:
            raise DecoderBugError("a decoder bug")
        return real(proto)

    monkeypatch.setattr(ingest, "decode_tensor", decode)
    reloader = Reloader(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="lumiboard.reader.ingest"):
        for _ in range(3):
            reload_as_the_server_does(reloader)
    provider = Provider(reloader.runs)
    assert [point.step for point in provider.read_tensors(".", "note")] == [0, 1, 2, 5]
    assert loss_steps(reloader) == [6]
    assert reloader.runs["."].skipped == {"note": 2}
    logged = [record for record in caplog.records if "decoder bug" in record.getMessage()]
    assert len(logged) == 1  # once per run and tag
    assert reloader.progress().passes == 3


def _fail_once(target: Any, name: str, error: BaseException) -> Callable[..., Any]:
    real = getattr(target, name)
    calls = {"n": 0}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise error
        return real(*args, **kwargs)

    return wrapper


def test_scanner_failure_on_a_pass_leaves_nothing_half_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An unexpected exception outside per-record decoding (here the scanner,
    # once) must not leave points appended without the file offset moving.
    write(event_file(tmp_path, 1), [scalar_event(step) for step in range(50)])
    write(event_file(tmp_path, 2), [scalar_event(step) for step in range(50, 60)])
    monkeypatch.setattr(ingest.scanner, "scan", _fail_once(ingest.scanner, "scan", MemoryError()))
    reloader = Reloader(str(tmp_path))
    for _ in range(3):
        reload_as_the_server_does(reloader)
    assert loss_steps(reloader) == list(range(60))
    assert reloader.progress().passes == 3


def test_failure_after_points_were_added_never_adds_them_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Points are committed, then something fails before the record's end:
    # the offset still moves with them, so the next pass does not add them again.
    events = [scalar_event(step) for step in range(20)]
    events += [value_event(20, "note", tensor(types_pb2.DT_STRING, [1], string_val=[b"x"]), "text")]
    events += [scalar_event(step) for step in range(21, 30)]
    write(event_file(tmp_path), events)
    real = ingest.RunLoader._apply_payload

    def fail_on_the_text(self: ingest.RunLoader, path: str, offset: int, payload: bytes) -> None:
        real(self, path, offset, payload)
        if b"note" in payload:
            raise RuntimeError("late failure")  # after the record was applied

    monkeypatch.setattr(ingest.RunLoader, "_apply_payload", fail_on_the_text)
    reloader = Reloader(str(tmp_path))
    for _ in range(3):
        reload_as_the_server_does(reloader)
    steps = loss_steps(reloader)
    assert steps == sorted(set(steps)), "points were appended twice"
    assert steps == [*range(20), *range(21, 30)]
    assert reloader.progress().passes == 3


# ---- item 2: bounded decoding ----------------------------------------------------------------


def _tb(proto: tensor_pb2.TensorProto) -> tb_tensor_pb2.TensorProto:
    return tb_tensor_pb2.TensorProto.FromString(proto.SerializeToString())


@pytest.mark.parametrize(
    ("proto", "message"),
    [
        # tensor_content must hold exactly product(shape) * itemsize bytes.
        (tensor(types_pb2.DT_FLOAT, [2**40], tensor_content=b"\0" * 4), "bytes"),
        (tensor(types_pb2.DT_FLOAT, [3], tensor_content=b"\0" * 8), "bytes"),
        (tensor(types_pb2.DT_FLOAT, [1], tensor_content=b"\0" * 8), "bytes"),
        (tensor(types_pb2.DT_BFLOAT16, [2**33], tensor_content=b"\0" * 2), "bytes"),
        # A splat past the cap.
        (tensor(types_pb2.DT_FLOAT, [2**40], float_val=[1.0]), "cap"),
        (tensor(types_pb2.DT_DOUBLE, [2**21, 3], double_val=[1.0]), "cap"),
        (tensor(types_pb2.DT_STRING, [2**30], string_val=[b"x"]), "cap"),
        (tensor(types_pb2.DT_BOOL, [MAX_SPLAT_ELEMENTS + 1], bool_val=[True]), "cap"),
        (tensor(types_pb2.DT_COMPLEX64, [2**40], scomplex_val=[1.0, 2.0]), "cap"),
        (tensor(types_pb2.DT_HALF, [2**40], half_val=[1]), "cap"),
        (tensor(types_pb2.DT_BFLOAT16, [2**40], half_val=[1]), "cap"),
        # Negative and overflowing dimensions, absurd ranks.
        (tensor(types_pb2.DT_FLOAT, [-1], float_val=[1.0]), "negative"),
        (tensor(types_pb2.DT_FLOAT, [2, -3], float_val=[1.0] * 6), "negative"),
        (tensor(types_pb2.DT_FLOAT, [2**40, 2**40, 0]), "overflows"),
        (tensor(types_pb2.DT_FLOAT, [2**62, 2**62], float_val=[1.0]), "overflows"),
        (tensor(types_pb2.DT_FLOAT, [1] * 40, float_val=[1.0]), "rank"),
        # More values than elements, none for a non-empty shape, odd complex numbers.
        (tensor(types_pb2.DT_FLOAT, [2], float_val=[1.0, 2.0, 3.0]), "3 values"),
        (tensor(types_pb2.DT_FLOAT, [2]), "0 values"),
        (tensor(types_pb2.DT_COMPLEX64, [1], scomplex_val=[1.0]), "pairs"),
        # Values out of their dtype's range (numpy raises OverflowError, not ValueError).
        (tensor(types_pb2.DT_UINT8, [1], int_val=[300]), "range"),
        (tensor(types_pb2.DT_INT8, [2], int_val=[1, -200]), "range"),
        (tensor(types_pb2.DT_HALF, [1], half_val=[70000]), "range"),
        (tensor(types_pb2.DT_BFLOAT16, [1], half_val=[-1]), "range"),
    ],
    ids=lambda item: item if isinstance(item, str) else None,
)
def test_damaged_tensors_are_refused_without_allocating(
    proto: tensor_pb2.TensorProto, message: str
) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TensorError, match=message):
            decode_tensor(proto)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_tensor_error_is_a_value_error() -> None:
    assert issubclass(TensorError, ValueError)


def test_splat_within_the_cap_is_expanded_as_tensorboard_reads_it() -> None:
    for proto in (
        tensor(types_pb2.DT_DOUBLE, [MAX_SPLAT_ELEMENTS // 3, 3], double_val=[2.5]),
        tensor(types_pb2.DT_STRING, [4], string_val=[b"a"]),
        tensor(types_pb2.DT_INT8, [2, 2], int_val=[-3]),
        tensor(types_pb2.DT_HALF, [3], half_val=[int(np.float16(0.5).view(np.uint16))]),
        tensor(types_pb2.DT_COMPLEX128, [2], dcomplex_val=[1.0, -2.0]),
    ):
        np.testing.assert_array_equal(decode_tensor(proto), tensor_util.make_ndarray(_tb(proto)))
    # TensorFlow's partial splat (the last value repeats) is read too.
    partial = tensor(types_pb2.DT_FLOAT, [4], float_val=[1.0, 2.0])
    np.testing.assert_array_equal(decode_tensor(partial), [1.0, 2.0, 2.0, 2.0])
    # Empty shapes hold nothing, whatever their other dimensions.
    assert decode_tensor(tensor(types_pb2.DT_FLOAT, [0, 2**40])).shape == (0, 2**40)


def test_exact_tensor_content_of_any_size_is_read() -> None:
    array = np.arange(3 * 70_000, dtype=np.float32).reshape(70_000, 3)
    np.testing.assert_array_equal(decode_tensor(tensors.encode_tensor(array)), array)


def test_the_84_byte_histogram_is_a_skip_not_48_mb(tmp_path: Path) -> None:
    events = [splat_histogram(0), splat_histogram(1, rows=4), scalar_event(2)]
    path = write(event_file(tmp_path), events)
    assert len(encode_record(splat_histogram(0).SerializeToString())) < 100
    tracemalloc.start()
    try:
        reloader = Reloader(str(tmp_path))
        reloader.reload()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{peak:,} bytes to read {path.stat().st_size} bytes"
    run = reloader.runs["."]
    assert run.skipped == {"h": 1}
    assert [point.step for point in run.tensors["h"].items] == [1]  # the small splat is fine
    assert loss_steps(reloader) == [2]


def test_histogram_route_never_expands_a_claimed_shape(tmp_path: Path) -> None:
    write(event_file(tmp_path), [splat_histogram(step) for step in range(4)] + [scalar_event(9)])
    reloader = Reloader(str(tmp_path))
    reloader.reload()
    with TestClient(create_app(reloader, ServerOptions(data_location=str(tmp_path)))) as client:
        tracemalloc.start()
        try:
            response = client.get("/data/plugin/histograms/histograms?run=.&tag=h")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code in (200, 404)
    assert len(response.content) < 1 << 16
    assert peak < 8 << 20


@pytest.mark.parametrize(
    ("plugin", "proto", "kept"),
    [
        ("scalars", tensor(types_pb2.DT_DOUBLE, [2**20, 2**20], double_val=[1.0]), False),
        ("scalars", tensor(types_pb2.DT_DOUBLE, [MAX_SPLAT_ELEMENTS], double_val=[1.0]), False),
        ("histograms", tensor(types_pb2.DT_DOUBLE, [2**30, 3], tensor_content=b"\0" * 24), False),
        ("pr_curves", tensor(types_pb2.DT_FLOAT, [6, 2**40], float_val=[0.5]), False),
        ("text", tensor(types_pb2.DT_STRING, [2**40], string_val=[b"x"]), False),
        ("mesh", tensor(types_pb2.DT_FLOAT, [1, 2**40, 3], float_val=[0.5]), False),
        ("custom_scalars", tensor(types_pb2.DT_STRING, [2**40], string_val=[b""]), False),
        ("hparams", tensor(types_pb2.DT_FLOAT, [2**40], float_val=[0.0]), False),
        ("audio", tensor(types_pb2.DT_STRING, [2**40, -1], string_val=[b"x"]), False),
        # Blob sequences count their strings and never expand the shape: kept.
        ("images", tensor(types_pb2.DT_STRING, [2**40], string_val=[b"1", b"1", b"x"]), True),
        ("audio", tensor(types_pb2.DT_STRING, [2**40], string_val=[b"x"]), True),
    ],
)
def test_every_plugin_reads_a_shape_its_bytes_do_not_hold_without_expanding_it(
    tmp_path: Path, plugin: str, proto: tensor_pb2.TensorProto, kept: bool
) -> None:
    write(event_file(tmp_path), [value_event(0, "t", proto, plugin), scalar_event(1)])
    tracemalloc.start()
    try:
        reloader = Reloader(str(tmp_path))
        reloader.reload()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20
    run = reloader.runs["."]
    assert loss_steps(reloader) == [1]
    series = run.tensors.get("t") or run.blobs.get("t")
    assert len(series.items if series else []) == int(kept)
    assert run.skipped == ({} if kept else {"t": 1})


# ---- siblings: decoders that trusted what a file says ------------------------------------


def test_a_scalars_shape_is_checked_before_it_is_decoded() -> None:
    for shape in ([2**40], [2**20, 2**20], [MAX_SPLAT_ELEMENTS]):
        tracemalloc.start()
        try:
            with pytest.raises(ValueError, match="one number"):
                scalars_data.decode_scalar(tensor(types_pb2.DT_FLOAT, shape, float_val=[1.0]))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 1 << 16
    assert scalars_data.decode_scalar(tensor(types_pb2.DT_FLOAT, [1, 1], float_val=[2.0])) == 2.0


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((6, 3), dtype=np.complex64),
        np.full((6, 3), b"1", dtype=object),
    ],
    ids=["complex", "strings"],
)
def test_pr_curves_and_histograms_refuse_values_that_are_not_numbers(array: np.ndarray) -> None:
    # Both are a ValueError their routes turn into a 400, never a silently
    # wrong chart (complex parts dropped) or a 500.
    with pytest.raises(ValueError, match="numbers"):
        pr_curves_data.curve(array)
    with pytest.raises(ValueError, match="numbers"):
        histograms_data.to_buckets(array[:3].T)


def test_a_failed_merge_of_scalar_chunks_does_not_fail_the_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(event_file(tmp_path), [scalar_event(step) for step in range(10)])
    monkeypatch.setattr(ScalarSeries, "blocks", _fail_once(ScalarSeries, "blocks", MemoryError()))
    reloader = Reloader(str(tmp_path))
    reload_as_the_server_does(reloader)
    assert reloader.progress().passes == 1
    assert loss_steps(reloader) == list(range(10))
