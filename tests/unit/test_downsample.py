"""Tests for lumiboard.store.downsample: what a reduced series must keep.

The properties are checked against an independent, per-point Python model of the buckets (exact
integer arithmetic on steps), not against the implementation's own index arithmetic.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lumiboard.store.downsample import POINTS_PER_BUCKET, Reduced, reduce_series

Columns = tuple[np.ndarray, np.ndarray, np.ndarray]

# Values a training curve can hold, NaN and ±Inf included, plus exact repeats (ties).
VALUES = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.0, -1.0, np.nan, np.inf, -np.inf]),
)


@st.composite
def series(draw: Any, max_size: int = 200, finite: bool = False) -> Columns:
    """Columns sorted by step (equal steps allowed), wall_time non-decreasing."""
    n = draw(st.integers(0, max_size))
    start = draw(st.integers(-1000, 1000))
    gaps = draw(arrays(np.int64, n, elements=st.integers(0, 50)))
    wall_gaps = draw(arrays(np.float64, n, elements=st.floats(0, 100)))
    values = st.floats(-1e6, 1e6) if finite else VALUES
    value = draw(arrays(np.float64, n, elements=values))
    return start + np.cumsum(gaps), 1.7e9 + np.cumsum(wall_gaps), value


def points(step: np.ndarray, wall_time: np.ndarray, value: np.ndarray) -> list[tuple[Any, ...]]:
    """Points as hashable triples; NaN compared by its bits, so a kept NaN matches its source."""
    return list(zip(step.tolist(), wall_time.tolist(), value.view(np.int64).tolist(), strict=True))


def in_range(step: np.ndarray, lo: int | None, hi: int | None) -> np.ndarray:
    mask = np.ones(len(step), dtype=bool)
    if lo is not None:
        mask &= step >= lo
    if hi is not None:
        mask &= step <= hi
    return mask


def bucket_of(step: np.ndarray, x0: int, x1: int, buckets: int) -> np.ndarray:
    """The model: equal-width buckets over [x0, x1], in exact integer maths."""
    span = x1 - x0
    if span == 0:
        return np.zeros(len(step), dtype=np.int64)
    return np.array([min((int(s) - x0) * buckets // span, buckets - 1) for s in step.tolist()])


def check_is_subset(out: Reduced, cols: Columns) -> None:
    source = Counter(points(*cols))
    kept = Counter(points(out.step, out.wall_time, out.value))
    assert not kept - source, "the output holds points that are not in the input"


def check_contains(out: Reduced, cols: Columns, where: np.ndarray) -> None:
    """Every input point at the positions ``where`` is in the output."""
    kept = set(points(out.step, out.wall_time, out.value))
    wanted = points(cols[0][where], cols[1][where], cols[2][where])
    assert set(wanted) <= kept


def check_keeps_extremes(out: Reduced, value: np.ndarray) -> None:
    """The range's min and max (±Inf included) and its finite min and max are in the output."""
    kept = out.value
    for subset in (value[~np.isnan(value)], value[np.isfinite(value)]):
        if len(subset):
            assert subset.min() in kept
            assert subset.max() in kept


# -- properties ------------------------------------------------------------------------------


@settings(max_examples=200)
@given(cols=series(), buckets=st.integers(1, 20))
def test_reduced_series_keeps_every_bucket_extreme(cols: Columns, buckets: int) -> None:
    step, wall_time, value = cols
    out = reduce_series(step, wall_time, value, buckets)

    assert out.total == len(step)
    assert len(out.step) == len(out.wall_time) == len(out.value)
    check_is_subset(out, cols)
    assert np.all(np.diff(out.step) >= 0)
    if len(step) <= POINTS_PER_BUCKET * buckets:
        np.testing.assert_array_equal(out.value, value)
        np.testing.assert_array_equal(out.step, step)
        return

    check_keeps_extremes(out, value)
    check_contains(out, cols, np.array([0, len(step) - 1]))

    # Per bucket of the model: first, last, min, max (NaN ignored) and a NaN if it holds one.
    x0, x1 = int(step[0]), int(step[-1])
    ids = bucket_of(step, x0, x1, buckets)
    out_ids = bucket_of(out.step, x0, x1, buckets)
    nan_buckets = 0
    for bucket in np.unique(ids):
        members = np.flatnonzero(ids == bucket)
        check_contains(out, cols, members[[0, -1]])
        kept = out.value[out_ids == bucket]
        ordered = value[members][~np.isnan(value[members])]
        if len(ordered):
            assert ordered.min() in kept
            assert ordered.max() in kept
        if np.isnan(value[members]).any():
            nan_buckets += 1
            assert np.isnan(kept).any(), f"bucket {bucket} lost its NaN"
    extra = 2 if np.isinf(value).any() else 0
    assert len(out.step) <= POINTS_PER_BUCKET * buckets + nan_buckets + extra
    if nan_buckets == 0 and extra == 0:
        assert len(out.step) <= 4 * buckets


@settings(max_examples=200)
@given(
    cols=series(),
    buckets=st.integers(1, 10),
    lo=st.one_of(st.none(), st.integers(-1100, 15000)),
    width=st.one_of(st.none(), st.integers(0, 15000)),
)
def test_step_range_keeps_one_neighbour_each_side(
    cols: Columns, buckets: int, lo: int | None, width: int | None
) -> None:
    step, wall_time, value = cols
    hi = None if width is None else (width if lo is None else lo + width)
    out = reduce_series(step, wall_time, value, buckets, step_range=(lo, hi))

    inside = in_range(step, lo, hi)
    positions = np.flatnonzero(inside)
    assert out.total == len(positions)
    check_is_subset(out, cols)
    assert np.all(np.diff(out.step) >= 0)

    below = np.flatnonzero(step < lo) if lo is not None else np.empty(0, dtype=np.intp)
    above = np.flatnonzero(step > hi) if hi is not None else np.empty(0, dtype=np.intp)
    # Exactly the nearest point outside on each side, when there is one.
    if lo is not None:
        assert (out.step < lo).sum() == min(len(below), 1)
    if hi is not None:
        assert (out.step > hi).sum() == min(len(above), 1)
    check_contains(out, cols, np.concatenate([below[-1:], above[:1]]))

    if len(positions):
        check_contains(out, cols, positions[[0, -1]])
        check_keeps_extremes(out, value[inside])
    if len(positions) <= POINTS_PER_BUCKET * buckets:
        neighbours = np.concatenate([below[-1:], positions, above[:1]])
        np.testing.assert_array_equal(out.step, step[neighbours])
        np.testing.assert_array_equal(out.value, value[neighbours])
    else:
        assert len(out.step) <= 5 * buckets + 4


@given(cols=series(finite=True), buckets=st.integers(1, 20))
def test_wall_time_axis(cols: Columns, buckets: int) -> None:
    step, wall_time, value = cols
    out = reduce_series(step, wall_time, value, buckets, x="wall_time")

    check_is_subset(out, cols)
    assert np.all(np.diff(out.wall_time) >= 0)
    if len(step):
        check_contains(out, cols, np.array([0, len(step) - 1]))
        check_keeps_extremes(out, value)
    assert len(out.step) <= POINTS_PER_BUCKET * buckets
    relative = reduce_series(step, wall_time, value, buckets, x="relative")
    np.testing.assert_array_equal(relative.step, out.step)


@given(cols=series(max_size=40), buckets=st.integers(10, 20))
def test_small_input_is_returned_unchanged(cols: Columns, buckets: int) -> None:
    step, wall_time, value = cols
    out = reduce_series(step, wall_time, value, buckets)
    np.testing.assert_array_equal(out.step, step)
    np.testing.assert_array_equal(out.wall_time, wall_time)
    np.testing.assert_array_equal(out.value, value)
    assert out.total == len(step)


# -- examples --------------------------------------------------------------------------------


def line(n: int, dtype: Any = np.float64) -> Columns:
    step = np.arange(n, dtype=np.int64)
    return step, 1.7e9 + step * 0.5, np.sin(step / 1000).astype(dtype)


def test_single_spike_in_a_million_points_survives() -> None:
    step, wall_time, value = line(1_000_000)
    value[654_321] = 50.0
    value[123_457] = -50.0
    out = reduce_series(step, wall_time, value, 2000)
    assert out.total == 1_000_000
    assert len(out.step) <= 4 * 2000
    assert 654_321 in out.step
    assert 123_457 in out.step
    assert out.value.max() == 50.0
    assert out.value.min() == -50.0
    assert (out.step[0], out.step[-1]) == (0, 999_999)


def test_nan_and_inf_in_a_long_series_are_shown() -> None:
    step, wall_time, value = line(100_000)
    value[500] = np.nan
    value[80_000:] = np.nan  # the run diverged
    value[700] = np.inf
    value[701] = 3.0  # the finite max, in the same bucket as the Inf
    out = reduce_series(step, wall_time, value, 100)
    assert 500 in out.step
    assert 700 in out.step
    assert 701 in out.step
    assert np.isnan(out.value[out.step >= 80_000]).all()
    assert (out.step >= 80_000).sum() >= 20  # each of the last 20 buckets shows its NaN


def test_equal_steps() -> None:
    step = np.full(1000, 7, dtype=np.int64)
    value = np.arange(1000, dtype=np.float64)
    value[400] = -5.0
    out = reduce_series(step, np.arange(1000.0), value, 10)
    assert out.total == 1000
    np.testing.assert_array_equal(out.value, [0.0, -5.0, 999.0])
    assert reduce_series(step, np.arange(1000.0), value, 10, step_range=(7, 7)).total == 1000
    assert reduce_series(step, np.arange(1000.0), value, 10, step_range=(8, None)).total == 0


def test_empty_input() -> None:
    empty = np.empty(0)
    out = reduce_series(empty.astype(np.int64), empty, empty, 100)
    assert out.total == 0
    assert len(out.step) == len(out.wall_time) == len(out.value) == 0
    assert out.step.dtype == np.int64
    assert reduce_series([], [], [], 5, step_range=(0, 10)).total == 0


def test_range_between_two_points_gives_the_segment_crossing_it() -> None:
    step = np.array([0, 100], dtype=np.int64)
    out = reduce_series(step, [1.0, 2.0], [3.0, 4.0], 10, step_range=(10, 20))
    assert out.total == 0
    np.testing.assert_array_equal(out.step, step)


def test_one_bucket_keeps_first_min_max_last() -> None:
    step, wall_time, value = line(1000)
    value[300], value[600] = 9.0, -9.0
    out = reduce_series(step, wall_time, value, 1)
    np.testing.assert_array_equal(out.step, [0, 300, 600, 999])


def test_zoom_keeps_neighbours_and_reduces_inside() -> None:
    step, wall_time, value = line(1_000_000)
    value[500_123] = 99.0
    out = reduce_series(step, wall_time, value, 100, step_range=(400_000, 600_000))
    assert out.total == 200_001
    assert (out.step[0], out.step[1]) == (399_999, 400_000)
    assert (out.step[-2], out.step[-1]) == (600_000, 600_001)
    assert 500_123 in out.step
    assert len(out.step) <= 4 * 100 + 2


def test_clock_stepping_back_sorts_by_wall_time() -> None:
    step, wall_time, value = line(10_000)
    wall_time[5000:] -= 1000.0  # wall clock reset mid-run
    value[7000] = 42.0
    for buckets in (10, 10_000):
        out = reduce_series(step, wall_time, value, buckets, x="wall_time")
        assert np.all(np.diff(out.wall_time) >= 0)
        assert 7000 in out.step
        assert out.value.max() == 42.0


def test_float32_values_keep_their_dtype_and_arrays_are_read_only() -> None:
    step, wall_time, value = line(100_000, np.float32)
    for buckets in (10, 100_000):
        out = reduce_series(step, wall_time, value, buckets)
        assert out.value.dtype == np.float32
        assert out.step.dtype == np.int64
        assert out.wall_time.dtype == np.float64
        with pytest.raises(ValueError, match="read-only"):
            out.value[0] = 1.0
    assert value.flags.writeable  # the store's own column is untouched


def test_large_step_values() -> None:
    # A span times the bucket count overflows int64: edges fall back to float maths.
    far = np.array([2**62, 2**62 + 1, 2**63 - 1], dtype=np.int64)
    step = np.concatenate([np.arange(100, dtype=np.int64), far])
    value = np.arange(len(step), dtype=np.float64)[::-1].copy()
    out = reduce_series(step, np.zeros(len(step)), value, 3)
    assert out.step[0] == 0
    assert out.step[-1] == 2**63 - 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"buckets": 0}, "buckets"),
        ({"x": "epoch"}, "x must be"),
        ({"step_range": (5, 4)}, "empty"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    step, wall_time, value = line(10)
    arguments: dict[str, Any] = {"buckets": 2} | kwargs
    with pytest.raises(ValueError, match=message):
        reduce_series(step, wall_time, value, **arguments)


def test_bad_columns() -> None:
    with pytest.raises(ValueError, match="length"):
        reduce_series([1, 2], [1.0], [1.0, 2.0], 10)
    with pytest.raises(ValueError, match="1-D"):
        reduce_series([[1]], [[1.0]], [[1.0]], 10)
    with pytest.raises(ValueError, match="non-decreasing"):
        reduce_series([2, 1], [1.0, 2.0], [1.0, 2.0], 10)
    step, wall_time, value = line(100)
    wall_time[50] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        reduce_series(step, wall_time, value, 2, x="wall_time")
