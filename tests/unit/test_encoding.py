"""Scalar points stored in ~8 bytes each, decoded bit for bit (issue 18 item 1).

Encoded blocks (lumiboard.store.encoding) and the series built on them
(lumiboard.store.columns): every step, wall time and value comes back exactly
(NaN payloads, -0.0, infinities, clocks going backwards, steps restarting),
sorted by step with ties in arrival order, whatever the order of appends.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lumiboard.store import cache_format, columns, encoding
from lumiboard.store.cache_check import DamageError
from lumiboard.store.columns import ScalarSeries

WALL = 1.7e9

# ---- strategies ------------------------------------------------------------------------

_INT64 = st.integers(-(2**63), 2**63 - 1)


@st.composite
def steps(draw: st.DrawFn, size: int) -> np.ndarray:
    """Steps as writers make them: strides, repeats, restarts, huge jumps, negatives."""
    kind = draw(st.sampled_from(["stride", "deltas", "any"]))
    if kind == "stride":
        start = draw(st.integers(-(2**40), 2**40))
        stride = draw(st.integers(-5, 1000))
        values = start + stride * np.arange(size, dtype=np.int64)
        # A few restarts or jumps anywhere.
        for _ in range(draw(st.integers(0, 3))):
            if size:
                at = draw(st.integers(0, size - 1))
                values[at:] += draw(st.integers(-(2**50), 2**50))
        return values
    if kind == "deltas":
        deltas = draw(hnp.arrays(np.int64, size, elements=st.integers(-300, 70_000)))
        return np.cumsum(deltas, dtype=np.int64)
    return draw(hnp.arrays(np.int64, size, elements=_INT64))


@st.composite
def wall_times(draw: st.DrawFn, size: int) -> np.ndarray:
    kind = draw(st.sampled_from(["regular", "jitter", "any"]))
    if kind == "any":
        bits = draw(hnp.arrays(np.uint64, size, elements=st.integers(0, 2**64 - 1)))
        return bits.view(np.float64)  # NaN payloads, infinities, subnormals, -0.0
    gap = draw(st.floats(1e-3, 1e4))
    if kind == "regular":
        walls = WALL + gap * np.arange(size)
    else:
        jitter = draw(hnp.arrays(np.float64, size, elements=st.floats(-gap, gap)))
        walls = WALL + np.cumsum(gap + jitter)  # goes backwards at times
    for _ in range(draw(st.integers(0, 2))):
        if size:
            walls[draw(st.integers(0, size - 1))] = draw(
                st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300])
            )
    return walls


@st.composite
def values(draw: st.DrawFn, size: int) -> np.ndarray:
    kind = draw(
        st.sampled_from(["float32", "float64", "bits", "float32 dtype", "segments", "counter"])
    )
    if kind == "segments":  # a learning rate: held, then changed (delta-coded bits)
        held = draw(hnp.arrays(np.float64, 4, elements=st.floats(allow_nan=True)))
        return np.repeat(held, -(-size // 4))[:size]
    if kind == "counter":  # an epoch or a step counter as a value
        start = draw(st.floats(-1e6, 1e6, allow_nan=False))
        return (start + np.arange(size) // draw(st.integers(1, 50))).astype(np.float64)
    if kind == "bits":
        bits = draw(hnp.arrays(np.uint64, size, elements=st.integers(0, 2**64 - 1)))
        return bits.view(np.float64)
    if kind == "float64":
        return draw(hnp.arrays(np.float64, size, elements=st.floats(allow_nan=True)))
    narrow = draw(hnp.arrays(np.float32, size, elements=st.floats(width=32, allow_nan=True)))
    return narrow if kind == "float32 dtype" else narrow.astype(np.float64)


@st.composite
def series_columns(draw: st.DrawFn, max_size: int = 300) -> tuple[np.ndarray, ...]:
    size = draw(st.integers(1, max_size))
    return draw(steps(size)), draw(wall_times(size)), draw(values(size))


def bits(array: np.ndarray) -> list[int]:
    """Every element's bit pattern, widened: float32 values compare with float64 ones."""
    if array.dtype == np.float32:
        array = array.astype(np.float64)  # exact, NaN payloads kept (quiet ones)
    return array.view(np.uint64).tolist()


def expected(step: np.ndarray, wall: np.ndarray, value: np.ndarray) -> list[list[int]]:
    order = np.argsort(step, kind="stable")
    return [bits(step[order]), bits(wall[order]), bits(value[order])]


# ---- blocks --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series_columns())
def test_a_block_decodes_to_exactly_what_was_encoded(columns_: tuple[np.ndarray, ...]) -> None:
    step, wall, value = columns_
    blocks = encoding.encode(step, wall, value)
    for block in blocks:
        encoding.check(block)  # what a cache file read back must pass
    got = encoding.decode(blocks)
    assert [bits(column) for column in got] == [bits(step), bits(wall), bits(value)]
    narrow = encoding.exact_float32(value.astype(np.float64)) is not None
    assert got[2].dtype == (np.float32 if narrow else np.float64)


def test_float32_only_when_every_bit_survives() -> None:
    assert encoding.exact_float32(np.array([0.5, -0.0, np.inf, np.nan])) is not None
    assert encoding.exact_float32(np.array([0.1])) is None  # 0.1 is not a float32
    assert encoding.exact_float32(np.array([1e300])) is None
    payload = np.array([0x7FF8_0000_0000_0001], np.uint64).view(np.float64)
    assert encoding.exact_float32(payload) is None  # a NaN payload float32 cannot hold


def test_a_typical_series_takes_at_most_eight_bytes_a_point() -> None:
    # Steps 0..n-1, a write every ~0.1 s with jitter, float32 values (simple_value).
    rng = np.random.default_rng(0)
    size = 100_000
    step = np.arange(size, dtype=np.int64)
    wall = WALL + np.cumsum(0.1 + rng.uniform(-0.01, 0.01, size))
    value = rng.standard_normal(size).astype(np.float32).astype(np.float64)
    series = ScalarSeries()
    for start in range(0, size, 1000):  # as the scanner hands them
        end = start + 1000
        series.append(step[start:end], wall[start:end], value[start:end])
    got = series.columns()
    assert [bits(column) for column in got] == [bits(step), bits(wall), bits(value)]
    assert series.nbytes <= 8.1 * size
    # Regular steps and wall times cost nothing but the value.
    regular = ScalarSeries()
    regular.append(step, WALL + 0.5 * step, value)
    assert regular.nbytes <= 4.1 * size
    # A write every 0.25 s, give or take 3 ms: differences around their median, in int16.
    jitter = WALL + 0.25 * step + rng.normal(0, 0.003, size)
    timed = ScalarSeries()
    timed.append(step, jitter, value)
    assert timed.nbytes <= 7.1 * size
    assert [bits(c) for c in timed.columns()] == [bits(step), bits(jitter), bits(value)]
    # A learning rate held for thousands of steps: next to nothing.
    rate = ScalarSeries()
    rate.append(step, WALL + 0.5 * step, np.repeat([1e-3, 1e-4, 1e-5, 1e-6], size // 4))
    assert rate.nbytes <= 0.1 * size
    assert rate.columns()[2].tolist() == np.repeat([1e-3, 1e-4, 1e-5, 1e-6], size // 4).tolist()


# ---- series --------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    series_columns(max_size=400),
    st.lists(st.integers(1, 200), min_size=1, max_size=8),
    st.booleans(),
    st.booleans(),
)
def test_a_series_holds_every_point_sorted_by_step_whatever_the_appends(
    columns_: tuple[np.ndarray, ...], chunks: list[int], read_between: bool, tiny: bool
) -> None:
    step, wall, value = columns_
    series = ScalarSeries()
    sizes = (encoding.MAX_BLOCK, columns._SMALL_BLOCK, columns._PENDING_POINTS)
    if tiny:  # blocks of a few points: every merge and split path, at a small size
        encoding.MAX_BLOCK, columns._SMALL_BLOCK, columns._PENDING_POINTS = 16, 4, 8
    try:
        start = 0
        while start < len(step):
            for size in chunks:
                end = min(start + size, len(step))
                series.append(step[start:end], wall[start:end], value[start:end])
                start = end
                if read_between:
                    series.columns()
        got = series.columns()
    finally:
        encoding.MAX_BLOCK, columns._SMALL_BLOCK, columns._PENDING_POINTS = sizes
    assert len(series) == len(step)
    assert [bits(column) for column in got] == expected(step, wall, value)
    last = series.last()
    assert last is not None
    order = np.argsort(step, kind="stable")
    assert last[0] == int(step[order][-1])
    assert bits(np.array([last[1]])) == bits(wall[order][-1:])


@settings(max_examples=100, deadline=None)
@given(series_columns(max_size=200), st.integers(-(2**40), 2**40))
def test_purge_drops_exactly_the_points_at_or_past_the_step(
    columns_: tuple[np.ndarray, ...], cut: int
) -> None:
    step, wall, value = columns_
    series = ScalarSeries()
    series.append(step, wall, value)
    cut = int(np.sort(step)[len(step) // 2]) if cut % 2 else cut
    keep = step < cut
    assert series.purge_from(cut) == int(np.count_nonzero(~keep))
    assert [bits(c) for c in series.columns()] == expected(step[keep], wall[keep], value[keep])


def test_many_small_appends_keep_few_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # A live run: points arrive a few at a time, each read merges them.
    series = ScalarSeries()
    for start in range(0, 20_000, 7):
        steps = np.arange(start, start + 7, dtype=np.int64)
        series.append(steps, WALL + steps, steps.astype(np.float64))
        series.columns()
    assert len(series.blocks()) <= 20  # log-many, not thousands
    assert series.columns()[0].tolist() == list(range(20_006))


def test_points_before_the_last_step_merge_into_place() -> None:
    series = ScalarSeries()
    first = np.arange(0, 3_000_000, 3, dtype=np.int64)  # three blocks or more
    series.append(first, WALL + first, np.zeros(len(first)))
    series.columns()
    again = np.array([1, 1_500_000, 2_999_999], dtype=np.int64)  # a restart, interleaving
    series.append(again, np.full(3, WALL), np.ones(3))
    step, _, value = series.columns()
    assert np.all(step[1:] >= step[:-1])
    assert len(step) == len(first) + 3
    tie = np.flatnonzero(step == 1_500_000)
    assert value[tie].tolist() == [0.0, 1.0]  # equal steps: arrival order


def test_float32_values_stay_float32_until_one_is_not() -> None:
    series = ScalarSeries()
    series.append(np.arange(3), WALL + np.arange(3), np.array([0.5, 0.25, 2.0]))
    assert series.columns()[2].dtype == np.float32
    series.append(np.array([3]), np.array([WALL]), np.array([0.1]))
    value = series.columns()[2]
    assert value.dtype == np.float64
    assert value.tolist() == [0.5, 0.25, 2.0, 0.1]


def test_decoded_columns_are_kept_within_a_share_of_the_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A store of this test's own: series left by earlier tests must not count.
    fresh = columns._Decoded(columns.DECODED_BYTES, columns.DECODED_SHARE)
    monkeypatch.setattr(columns, "_decoded", fresh)
    series = [ScalarSeries() for _ in range(40)]
    for one in series:
        steps = np.arange(50_000, dtype=np.int64)
        one.append(steps, WALL + steps, np.ones(len(steps)))
    resident = columns._decoded.resident
    for one in series:
        first = one.columns()
        assert one.columns()[0] is first[0] or columns.decoded_bytes() == 0
    limit = max(columns.DECODED_FLOOR, resident // columns.DECODED_SHARE)
    assert columns.decoded_bytes() <= min(columns.DECODED_BYTES, limit)


def test_concurrent_appends_and_reads_lose_nothing() -> None:
    series = ScalarSeries()

    def write(offset: int) -> None:
        for start in range(offset, 40_000, 4_000):
            steps = np.arange(start, start + 1_000, dtype=np.int64)
            series.append(steps, WALL + steps, steps * 0.5)

    def read() -> None:
        for _ in range(50):
            step, _, _ = series.columns()
            assert np.all(step[1:] >= step[:-1])

    threads = [threading.Thread(target=write, args=(k * 1_000,)) for k in range(4)]
    threads.append(threading.Thread(target=read))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert series.columns()[0].tolist() == list(range(40_000))


# ---- spilling ------------------------------------------------------------------------------


def test_a_spilled_series_reads_its_source_and_loads_back_on_change() -> None:
    steps = np.arange(10_000, dtype=np.int64)
    series = ScalarSeries()
    series.append(steps, WALL + steps, steps * 0.5)
    before = [column.tolist() for column in series.columns()]
    calls = []

    def source() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        calls.append(1)
        return encoding.decode(blocks)

    blocks = series.blocks()
    resident = series.nbytes
    assert series.spill(source) >= resident
    assert series.spilled
    assert series.nbytes == 0
    assert len(series) == 10_000
    assert series.last() == (9_999, WALL + 9_999, 4_999.5)
    assert calls == []  # neither len() nor last() reads it
    assert [column.tolist() for column in series.columns()] == before
    assert [column.tolist() for column in series.columns()] == before
    assert len(calls) == 2  # each read, never kept
    series.append(np.array([10_000]), np.array([WALL]), np.array([1.0]))
    assert not series.spilled
    assert len(calls) == 3
    assert series.columns()[0].tolist() == list(range(10_001))
    assert series.purge_from(5_000) == 5_001


def test_a_purge_on_a_spilled_series_loads_it_back() -> None:
    series = ScalarSeries()
    series.append(np.arange(10), WALL + np.arange(10), np.zeros(10))
    blocks = series.blocks()
    series.spill(lambda: encoding.decode(blocks))
    assert series.purge_from(5) == 5
    assert not series.spilled
    assert series.columns()[0].tolist() == [0, 1, 2, 3, 4]


# ---- the cache file ------------------------------------------------------------------------


def _snapshot(scalars: dict[str, list[np.ndarray]]) -> cache_format.Snapshot:
    loader = {"file_version": None, "most_recent_step": -1, "seen_start": False}
    return cache_format.Snapshot("/logs/run", {}, [], {}, loader, None, {}, {}, scalars, {}, {})


def test_read_series_mapped_reads_one_series_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_format, "BATCH_BYTES", 1000)  # several batches
    rng = np.random.default_rng(1)
    written = {}
    for index in range(6):
        size = 500 * (index + 1)
        step = np.sort(rng.integers(0, 10_000, size))
        wall = WALL + np.cumsum(rng.exponential(1.0, size))
        value = rng.standard_normal(size) if index % 2 else np.ones(size)
        written[f"tag{index}"] = (step, wall, value)
    path = str(tmp_path / "run.arrow")
    scalars = {tag: encoding.encode(*columns_) for tag, columns_ in written.items()}
    cache_format.write_snapshot(path, _snapshot(scalars))
    for tag, columns_ in written.items():
        got = cache_format.read_series_mapped(path, tag)
        assert [bits(c) for c in got] == [bits(c) for c in columns_]
        assert got[0].flags.owndata  # copies: nothing of the mapping outlives the call
    with pytest.raises(cache_format.SeriesNotFoundError):
        cache_format.read_series_mapped(path, "nope")


def test_read_series_mapped_raises_typed_errors_on_damage(tmp_path: Path) -> None:
    step = np.arange(1000, dtype=np.int64)
    value = np.random.default_rng(3).standard_normal(1000).astype(np.float32)
    path = tmp_path / "run.arrow"
    cache_format.write_snapshot(
        str(path), _snapshot({"loss": encoding.encode(step, WALL + step, value)})
    )
    data = path.read_bytes()
    at = data.index(value[100:101].tobytes())  # a value of the series, stored as it is
    damaged = bytearray(data)
    damaged[at] ^= 0x10
    path.write_bytes(bytes(damaged))
    with pytest.raises(DamageError):
        cache_format.read_series_mapped(str(path), "loss")
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DamageError):
        cache_format.read_series_mapped(str(path), "loss")
    path.write_bytes(b"not a cache at all")
    with pytest.raises(DamageError):
        cache_format.read_series_mapped(str(path), "loss")
    with pytest.raises(FileNotFoundError):
        cache_format.read_series_mapped(str(tmp_path / "missing.arrow"), "loss")


def test_a_cache_file_holds_about_what_memory_does(tmp_path: Path) -> None:
    size = 200_000
    step = np.arange(size, dtype=np.int64)
    wall = WALL + 0.1 * step
    value = np.random.default_rng(2).standard_normal(size).astype(np.float32)
    blocks = encoding.encode(step, wall, value)
    path = tmp_path / "run.arrow"
    cache_format.write_snapshot(str(path), _snapshot({"loss": blocks}))
    assert path.stat().st_size < 6 * size  # 24 bytes a point before
    snapshot = cache_format.read_snapshot(str(path))
    got = encoding.decode(snapshot.scalars["loss"])
    assert [bits(c) for c in got] == [bits(step), bits(wall), bits(value)]


# ---- the codecs chosen without the full search ------------------------------------------


def _round_trip(step: np.ndarray, wall: np.ndarray, value: np.ndarray) -> encoding.Info:
    (block,) = encoding.encode(step, wall, value)
    back = encoding.decode([block])
    assert back[0].tolist() == step.tolist()
    assert back[1].view(np.uint64).tolist() == wall.view(np.uint64).tolist()
    assert back[2].astype(np.float64).view(np.uint64).tolist() == (
        value.astype(np.float64).view(np.uint64).tolist()
    )
    return encoding.check(block)


@settings(max_examples=100, deadline=None)
@given(st.integers(-(2**62), 2**62), st.integers(-(2**40), 2**40), st.integers(2, 3000))
def test_a_fixed_stride_takes_zero_bytes_a_point(start: int, stride: int, size: int) -> None:
    step = start + stride * np.arange(size, dtype=np.int64)
    wall = WALL + 0.5 * np.arange(size)  # not a fixed bit stride: order 2 or 3, narrow
    head = _round_trip(step, wall, np.zeros(size, np.float32))
    assert head.codecs()[0] == ((1 if stride == 0 else 2), 0, 0)
    coded = encoding._judged_deltas(step.view(np.uint64), None)
    assert coded is not None
    assert not len(coded.deltas)
    assert not len(coded.positions)
    assert coded.first_delta == (0 if stride == 0 else stride % 2**64)


@settings(max_examples=100, deadline=None)
@given(st.integers(300, 20_000), st.floats(0.01, 10.0), st.integers(0, 2**32 - 1))
def test_jittery_wall_times_take_two_bytes_without_exceptions(
    size: int, period: float, seed: int
) -> None:
    # ~1 ms of jitter around a fixed period: within int16 of the median delta's bits.
    rng = np.random.default_rng(seed)
    wall = WALL + np.cumsum(period + rng.uniform(-1e-3, 1e-3, size))
    head = _round_trip(np.arange(size, dtype=np.int64), wall, np.ones(size, np.float32))
    order, width, exceptions = head.codecs()[1]
    assert order in (2, 3)
    assert (width, exceptions) == (2, 0)


def test_a_pause_in_the_wall_times_is_one_exception() -> None:
    rng = np.random.default_rng(0)
    gaps = 0.1 + rng.uniform(-1e-3, 1e-3, 5000)
    gaps[2500] = 30.0  # an evaluation
    head = _round_trip(np.arange(5000, dtype=np.int64), WALL + np.cumsum(gaps), np.ones(5000))
    assert head.codecs()[1] == (3, 2, 1)


def test_a_gap_in_the_steps_costs_exceptions_not_a_width() -> None:
    step = np.concatenate([np.arange(0, 3000), np.arange(10_000, 13_000)]).astype(np.int64)
    head = _round_trip(step, WALL + 0.25 * np.arange(6000), np.ones(6000, np.float32))
    _, width, exceptions = head.codecs()[0]
    assert width == 0
    assert exceptions <= 2


def test_noisy_values_are_stored_as_they_are_without_a_search() -> None:
    rng = np.random.default_rng(1)
    value = rng.standard_normal(5000).astype(np.float32)
    bits = encoding._value_bits(value)
    assert encoding._judged_deltas(bits, 0.75 * 4) is None  # judged from a sample
    head = _round_trip(np.arange(5000, dtype=np.int64), WALL + np.arange(5000.0), value)
    assert head.codecs()[2] == (0, 4, 0)


def test_a_held_learning_rate_is_delta_coded() -> None:
    value = np.repeat(np.float32([1e-3, 5e-4, 1e-4]), 2000)
    head = _round_trip(np.arange(6000, dtype=np.int64), WALL + np.arange(6000.0), value)
    order, width, exceptions = head.codecs()[2]
    assert order != 0
    assert width == 0
    assert exceptions <= 2
