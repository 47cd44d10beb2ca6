"""The native scanner against the pure-Python one, and both against damage."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lumiboard.format.proto import event_pb2, summary_pb2, tensor_pb2
from lumiboard.format.tfrecord import encode_record
from lumiboard.plugins.scalars.summary import tensor_scalar_value
from lumiboard.reader import scan as scanner


def test_native_scanner_is_built() -> None:
    # scripts/test.sh sets LUMIBOARD_REQUIRE_NATIVE=1: CI must exercise the C code.
    if os.environ.get("LUMIBOARD_REQUIRE_NATIVE") == "1":
        assert scanner.NATIVE


def scalar_event(tag: str, step: int, value: float, style: str = "simple") -> bytes:
    event = event_pb2.Event(step=step, wall_time=1000.0 + step)
    if style == "simple":
        event.summary.value.add(tag=tag, simple_value=value)
    elif style == "tensor":
        event.summary.value.append(tensor_scalar_value(tag, value))
    elif style == "double":
        event.summary.value.append(tensor_scalar_value(tag, value, double_precision=True))
    elif style == "bare_tensor":
        scalar = tensor_scalar_value(tag, value)
        scalar.ClearField("metadata")
        event.summary.value.append(scalar)
    return encode_record(event.SerializeToString())


def other_event(kind: str, step: int) -> bytes:
    event = event_pb2.Event(step=step, wall_time=2000.0 + step)
    if kind == "version":
        event.file_version = "brain.Event:2"
    elif kind == "start":
        event.session_log.status = event_pb2.SessionLog.START
    elif kind == "histo":
        event.summary.value.add(tag="h", histo=summary_pb2.HistogramProto(min=0, max=1, num=1))
    elif kind == "graph":
        event.graph_def = b"\x0a\x03abc"
    elif kind == "mixed":
        event.summary.value.add(tag="loss", simple_value=1.0)
        event.summary.value.add(tag="img", image=summary_pb2.Summary.Image(height=1))
    return encode_record(event.SerializeToString())


records = st.lists(
    st.one_of(
        st.tuples(
            st.just("scalar"),
            st.sampled_from(["loss", "acc", "a/b", "ünï"]),
            st.integers(0, 10**12),
            st.floats(allow_nan=True, allow_infinity=True, width=32),
            st.sampled_from(["simple", "tensor", "double", "bare_tensor"]),
        ),
        st.tuples(
            st.just("other"),
            st.sampled_from(["version", "histo", "graph", "mixed", "start"]),
            st.integers(0, 100),
            st.just(0.0),
            st.just(""),
        ),
    ),
    max_size=40,
)


def encode(items: list[tuple]) -> bytes:  # type: ignore[type-arg]
    out = []
    for kind, name, step, value, style in items:
        out.append(
            scalar_event(name, step, value, style) if kind == "scalar" else other_event(name, step)
        )
    return b"".join(out)


def assert_same(a: scanner.Scan, b: scanner.Scan) -> None:
    assert a.consumed == b.consumed
    assert a.stopped == b.stopped
    assert a.damages == b.damages
    np.testing.assert_array_equal(a.others, b.others)
    np.testing.assert_array_equal(a.steps, b.steps)
    np.testing.assert_array_equal(a.wall_times, b.wall_times)
    np.testing.assert_array_equal(a.values, b.values)  # NaN == NaN for assert_array_equal
    assert [a.tags[i] for i in a.tag_ids] == [b.tags[i] for i in b.tag_ids]


def scan_all(scan_fn, data: bytes, kinds: dict[str, int]) -> list[scanner.Scan]:  # type: ignore[no-untyped-def]
    """Scan to the end, resuming after each SessionLog stop, as the ingest does."""
    results, offset = [], 0
    while True:
        result = scan_fn(data[offset:], offset, kinds)
        results.append(result)
        offset += result.consumed
        if not result.stopped:
            return results


needs_native = pytest.mark.skipif(not scanner.NATIVE, reason="the native scanner is not built")


@needs_native
@given(
    records,
    st.dictionaries(st.sampled_from(["loss", "acc", "a/b", "ünï"]), st.sampled_from([1, 2])),
)
@settings(max_examples=300, deadline=None)
def test_native_equals_python(items: list[tuple], kinds: dict[str, int]) -> None:  # type: ignore[type-arg]
    data = encode(items)
    native = scan_all(scanner.scan, data, dict(kinds))
    python = scan_all(scanner.scan_python, data, dict(kinds))
    assert len(native) == len(python)
    for a, b in zip(native, python, strict=True):
        assert_same(a, b)


@given(records, st.data())
@settings(max_examples=300, deadline=None)
def test_truncation_keeps_whole_records_and_never_raises(
    items: list[tuple], data: st.DataObject
) -> None:  # type: ignore[type-arg]
    blob = encode(items)
    cut = data.draw(st.integers(0, len(blob)))
    for scan_fn in (scanner.scan, scanner.scan_python):
        full = scan_all(scan_fn, blob, {})
        part = scan_all(scan_fn, blob[:cut], {})
        consumed = sum(r.consumed for r in part)
        assert consumed <= cut
        got = np.concatenate([r.values for r in part]) if part else np.empty(0)
        want = np.concatenate([r.values for r in full])
        np.testing.assert_array_equal(got, want[: len(got)])
        assert not any(r.damages for r in part)


@given(records, st.data())
@settings(max_examples=300, deadline=None)
def test_bit_flips_never_raise_and_keep_earlier_records(
    items: list[tuple], data: st.DataObject
) -> None:  # type: ignore[type-arg]
    blob = bytearray(encode(items))
    if not blob:
        return
    position = data.draw(st.integers(0, len(blob) - 1))
    blob[position] ^= 1 << data.draw(st.integers(0, 7))
    # The records wholly before the flipped byte.
    record_end = 0
    for item in items:
        size = len(encode([item]))
        if record_end + size > position:
            break
        record_end += size
    prefix = encode(items)[:record_end]
    for scan_fn in (scanner.scan, scanner.scan_python):
        damaged = scan_all(scan_fn, bytes(blob), {})
        expected = scan_all(scan_fn, prefix, {})
        got_steps = np.concatenate([r.steps for r in damaged])
        want_steps = np.concatenate([r.steps for r in expected])
        np.testing.assert_array_equal(got_steps[: len(want_steps)], want_steps)
        got_others = np.concatenate([r.others for r in damaged])
        want_others = np.concatenate([r.others for r in expected])
        np.testing.assert_array_equal(got_others[: len(want_others)], want_others)


def test_crc_damage_is_reported_and_skipped() -> None:
    good = scalar_event("loss", 1, 1.0)
    bad = bytearray(scalar_event("loss", 2, 2.0))
    bad[-6] ^= 0xFF  # inside the payload
    tail = scalar_event("loss", 3, 3.0)
    for scan_fn in (scanner.scan, scanner.scan_python):
        result = scan_fn(good + bytes(bad) + tail, 100, {})
        assert result.damages == [(100 + len(good), "bad data checksum")]
        assert result.steps.tolist() == [1, 3]
        assert result.consumed == len(good) + len(bad) + len(tail)


def test_bad_length_checksum_stops_the_scan() -> None:
    # Without a damage: tail.follow resyncs and counts it once, across reloads.
    good = scalar_event("loss", 1, 1.0)
    bad = bytearray(scalar_event("loss", 2, 2.0))
    bad[9] ^= 0xFF
    for scan_fn in (scanner.scan, scanner.scan_python):
        result = scan_fn(good + bytes(bad) + good, 0, {})
        assert result.damages == []
        assert result.consumed == len(good)


def test_routing_rules() -> None:
    data = (
        other_event("version", 0)
        + scalar_event("plain", 1, 1.5)  # simple_value, unknown tag: scanner
        + scalar_event("new", 1, 2.5, "tensor")  # metadata, unknown tag: Python first
        + scalar_event("bare", 1, 3.5, "bare_tensor")  # tensor without metadata, unknown: Python
        + other_event("mixed", 2)
    )
    for scan_fn in (scanner.scan, scanner.scan_python):
        result = scan_fn(data, 0, {})
        assert [result.tags[i] for i in result.tag_ids] == ["plain"]
        assert len(result.others) == 4
        known = scan_fn(data, 0, {"new": 1, "bare": 1, "plain": 2})
        assert sorted(known.tags[i] for i in known.tag_ids) == ["bare", "new"]


def test_stops_after_session_log() -> None:
    data = scalar_event("a", 1, 1.0) + other_event("start", 5) + scalar_event("a", 6, 2.0)
    for scan_fn in (scanner.scan, scanner.scan_python):
        first = scan_fn(data, 0, {})
        assert first.stopped
        assert first.steps.tolist() == [1]
        second = scan_fn(data[first.consumed :], first.consumed, {})
        assert second.steps.tolist() == [6]
        assert not second.stopped


@needs_native
def test_native_speed_sanity() -> None:
    # Not a benchmark (see benchmarks/ingest.py): only that the C path is the fast one.
    data = b"".join(scalar_event("loss", step, 0.5) for step in range(20_000))
    started = time.perf_counter()
    result = scanner.scan(data, 0, {})
    native = time.perf_counter() - started
    assert len(result.values) == 20_000
    started = time.perf_counter()
    scanner.scan_python(data, 0, {})
    assert native * 5 < time.perf_counter() - started


# ---- odd but well-formed protobuf: the C parser must read it as protobuf does -----------


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field, by hand: protobuf merges a repeated message field."""
    key, size = (number << 3) | 2, len(payload)
    out = bytearray([key])
    while True:
        out.append((size & 0x7F) | (0x80 if size > 0x7F else 0))
        size >>= 7
        if not size:
            return bytes(out) + payload


def _tensor(
    dtype: int, dims: list[int], floats: list[float], doubles: list[float], content: int
) -> bytes:
    tensor = tensor_pb2.TensorProto(dtype=dtype, float_val=floats, double_val=doubles)
    for size in dims:
        tensor.tensor_shape.dim.add(size=size)
    raw = tensor.SerializeToString()
    if content >= 0:  # an explicit tensor_content, even an empty one
        raw += _field(4, b"\x00\x00\x80\x3f\x00\x00\x00\x00"[:content])
    return raw


_TENSORS = st.builds(
    _tensor,
    st.sampled_from([0, 1, 2, 3]),
    st.lists(st.sampled_from([1, 1, 0, 2, 3, -1, -5, 2**40, -(2**62)]), max_size=3),
    st.lists(st.sampled_from([1.5, -2.0]), max_size=2),
    st.lists(st.sampled_from([0.25, 8.0]), max_size=2),
    st.sampled_from([-1, -1, 0, 4, 8]),
)


def test_odd_scalar_tensors_are_read_as_protobuf_does() -> None:
    # Found by the test below: the C parser took a [-5, 3] shape's product,
    # a float_val under DT_DOUBLE, or the last of two tensor fields (protobuf
    # merges them), for a scalar; the value TensorBoard skips was served.
    odd = [
        [_tensor(1, [-5, 3], [1.5], [], -1)],
        [_tensor(1, [-1, -1], [1.5], [], -1)],
        [_tensor(2, [], [1.5], [], -1)],
        [_tensor(0, [5], [], [], -1), _tensor(1, [], [1.5], [], -1)],
    ]
    for tensors in odd:
        value = _field(1, _field(1, b"t0") + b"".join(_field(8, t) for t in tensors))
        data = encode_record(event_pb2.Event(step=3).SerializeToString() + _field(5, value))
        for scan_fn in (scanner.scan, scanner.scan_python):
            result = scan_fn(data, 0, {"t0": 1})
            assert len(result.values) == 0
            assert result.others.tolist() == [[12, len(data) - 16]]


@given(
    st.lists(st.lists(_TENSORS, min_size=1, max_size=2), min_size=1, max_size=2),
    st.booleans(),
    st.dictionaries(st.sampled_from(["t0", "t1"]), st.sampled_from([1, 2])),
)
@settings(max_examples=400, deadline=None)
@needs_native
def test_native_reads_odd_scalar_tensors_as_protobuf_does(
    values: list[list[bytes]], split: bool, kinds: dict[str, int]
) -> None:
    # Each value: one tensor field or two (protobuf merges them); the values
    # in one summary field, or each in its own (merged too).
    encoded = [
        _field(1, _field(1, f"t{index}".encode()) + b"".join(_field(8, t) for t in tensors))
        for index, tensors in enumerate(values)
    ]
    summaries = [_field(5, value) for value in encoded] if split else [_field(5, b"".join(encoded))]
    event = event_pb2.Event(step=3, wall_time=5.0).SerializeToString() + b"".join(summaries)
    data = encode_record(event)
    assert_same(scanner.scan(data, 0, dict(kinds)), scanner.scan_python(data, 0, dict(kinds)))


@needs_native
@given(records, st.data())
@settings(max_examples=300, deadline=None)
def test_native_equals_python_on_damaged_bytes(items: list[tuple], data: st.DataObject) -> None:  # type: ignore[type-arg]
    blob = bytearray(encode(items))
    if blob:
        position = data.draw(st.integers(0, len(blob) - 1))
        blob[position] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(0, len(blob)))
    native = scan_all(scanner.scan, bytes(blob[:cut]), {})
    python = scan_all(scanner.scan_python, bytes(blob[:cut]), {})
    assert len(native) == len(python)
    for a, b in zip(native, python, strict=True):
        assert_same(a, b)
