"""Many small runs: what a load pass does per run and per series (issue 18 item 3).

No timing here (``benchmarks/scale.py`` times it): these check the behaviour the
per-run fast paths must keep, and that a load leaves no work behind for a query.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lumiboard.format.proto import event_pb2
from lumiboard.format.tfrecord import encode_record
from lumiboard.reader import ingest, reload
from lumiboard.reader import scan as scanner
from lumiboard.reader.reload import Reloader
from lumiboard.store import columns, encoding
from lumiboard.store.provider import Provider

WALL = 1_700_000_000.0


def write_run(directory: Path, tags: int, steps: int, seed: int) -> None:
    directory.mkdir(parents=True)
    records = [
        encode_record(
            event_pb2.Event(wall_time=WALL, file_version="brain.Event:2").SerializeToString()
        )
    ]
    for step in range(steps):
        for tag in range(tags):
            event = event_pb2.Event(step=step, wall_time=WALL + step * 0.1)
            event.summary.value.add(tag=f"t{tag}", simple_value=seed + step * 0.5 + tag)
            records.append(encode_record(event.SerializeToString()))
    (directory / f"events.out.tfevents.{seed}.host").write_bytes(b"".join(records))


def test_a_load_of_many_runs_keeps_every_point_and_decodes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for run in range(30):
        write_run(tmp_path / f"run_{run:02d}", tags=3, steps=40, seed=run)
    # A store of this test's own: series of earlier tests freed during the load must not count.
    fresh = columns._Decoded(columns.DECODED_BYTES, columns.DECODED_SHARE)
    monkeypatch.setattr(columns, "_decoded", fresh)
    before = columns.decoded_bytes()
    reloader = Reloader(str(tmp_path))
    reloader.reload()
    # The load encodes each series on its own thread, but decodes none: decoded
    # columns are kept for what queries read, not for every series loaded.
    assert columns.decoded_bytes() == before
    assert len(reloader.runs) == 30
    seen = 0
    for name, tag, series in Provider(reloader.runs).iter_scalars():
        index, number = int(name.split("_")[1]), int(tag[1:])
        assert series.step.tolist() == list(range(40))
        np.testing.assert_array_equal(
            series.value, np.float32(index + np.arange(40) * 0.5 + number)
        )
        seen += 1
    assert seen == 90


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        hnp.arrays(np.int64, 40, elements=st.integers(-(2**63), 2**63 - 1)), min_size=1, max_size=3
    )
)
def test_guesses_count_what_each_width_cannot_hold(rows: list[np.ndarray]) -> None:
    # Given whole deltas (no sampling), the guess is each width's exact cost a delta.
    guesses = encoding._guesses(np.stack(rows))
    for row, signed in zip(guesses.tolist(), rows, strict=True):
        expected = [
            width + 12 * sum(1 for x in signed.tolist() if not low <= x <= high) / len(signed)
            for width, (low, high) in encoding._LIMITS.items()
            if width != 8
        ]
        assert row == pytest.approx(expected)


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(np.int64, st.integers(1, 300), elements=st.integers(-(2**62), 2**62)).map(np.sort),
    st.floats(0.001, 1000),
)
def test_a_small_block_takes_the_narrowest_deltas_with_no_search(
    step: np.ndarray, period: float
) -> None:
    wall = WALL + step * period
    value = np.sin(step.astype(np.float64))
    (block,) = encoding.encode(step, wall, value)
    head = encoding.info(block)
    decoded = encoding.decode([block])
    assert decoded[0].tolist() == step.tolist()
    assert decoded[1].view(np.uint64).tolist() == wall.view(np.uint64).tolist()
    widened = decoded[2].astype(np.float64)  # float32 only when every bit survives
    assert widened.view(np.uint64).tolist() == value.view(np.uint64).tolist()
    if len(step) > encoding.QUICK_POINTS:
        return
    # Order 1 or 2, whichever is smaller in the narrowest width that holds every delta.
    for bits, order, width, exceptions in (
        (step.view(np.uint64), head.step_order, head.step_width, head.step_exceptions),
        (wall.view(np.uint64), head.wall_order, head.wall_width, head.wall_exceptions),
    ):
        costs = []
        for candidate in (1, 2):
            residual = np.diff(bits, n=candidate).view(np.int64)
            low, high = (int(residual.min()), int(residual.max())) if len(residual) else (0, 0)
            narrowest = next(
                w for w, (lo, hi) in encoding._LIMITS.items() if lo <= low and high <= hi
            )
            costs.append((len(residual) * narrowest, candidate, narrowest))
        assert (order, width) == min(costs)[1:]
        assert exceptions == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 300),  # points
            st.sampled_from(["stride", "random", "constant"]),
            st.booleans(),  # float32 values
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 2**32 - 1),
)
def test_many_short_series_encode_together_as_each_would_alone(
    shapes: list[tuple[int, str, bool]], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    series = []
    for count, kind, narrow in shapes:
        if kind == "stride":
            step = np.arange(count, dtype=np.int64) * int(rng.integers(1, 1000))
        elif kind == "random":
            step = np.sort(rng.integers(-(2**62), 2**62, count))
        else:
            step = np.full(count, 7, np.int64)
        wall = WALL + rng.random(count).cumsum() * float(rng.choice([0.1, 1e-9, 1e9]))
        value = rng.standard_normal(count)
        series.append((step, wall, value.astype(np.float32) if narrow else value))
    small = [columns_ for columns_ in series if len(columns_[0]) <= encoding.QUICK_POINTS]
    if not small:
        return
    starts = np.cumsum([0] + [len(columns_[0]) for columns_ in small[:-1]])
    together = encoding.encode_small_many(
        np.concatenate([c[0] for c in small]),
        np.concatenate([c[1] for c in small]),
        np.concatenate([c[2].astype(np.float64) for c in small]),
        starts,
    )
    for block, columns_ in zip(together, small, strict=True):
        (alone,) = encoding.encode(columns_[0], columns_[1], columns_[2].astype(np.float64))
        assert block.tobytes() == alone.tobytes()
        assert block.flags.owndata  # as encode's blocks
        assert not block.flags.writeable
    # Float32 columns (every series written as float32) take the same blocks.
    if all(c[2].dtype == np.float32 for c in small):
        narrow = encoding.encode_small_many(
            np.concatenate([c[0] for c in small]),
            np.concatenate([c[1] for c in small]),
            np.concatenate([c[2] for c in small]),
            starts,
        )
        assert [b.tobytes() for b in narrow] == [b.tobytes() for b in together]


def test_consolidating_many_series_keeps_every_point_in_step_order() -> None:
    many = [columns.ScalarSeries() for _ in range(4)]
    many[0].append(np.array([0, 1, 2]), np.array([1.0, 2.0, 3.0]), np.array([0.5, 1.5, 2.5]))
    many[0].append(np.array([3]), np.array([4.0]), np.array([3.5]))
    many[1].append(np.array([5, 3, 4]), np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
    big = np.arange(encoding.QUICK_POINTS + 10)
    many[2].append(big, big * 1.0, big * 0.25)
    many[3].append(np.array([9]), np.array([WALL]), np.array([np.nan]))
    columns.consolidate_many(many)
    assert all(series.nbytes == sum(b.nbytes for b in series.blocks()) for series in many)
    step, wall, value = many[0].columns()
    assert step.tolist() == [0, 1, 2, 3]
    assert value.tolist() == [0.5, 1.5, 2.5, 3.5]
    step, wall, value = many[1].columns()  # sorted by step, stably
    assert step.tolist() == [3, 4, 5]
    assert wall.tolist() == [2.0, 3.0, 1.0]
    assert len(many[2]) == len(big)
    assert many[2].columns()[0].tolist() == big.tolist()
    assert np.isnan(many[3].columns()[2][0])
    many[0].append(np.array([4]), np.array([5.0]), np.array([4.5]))  # still grows
    assert many[0].columns()[0].tolist() == [0, 1, 2, 3, 4]


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch ``encoding.encode_small_many`` is given, in call order."""
    calls: list[int] = []
    original = encoding.encode_small_many

    def spy(*args: Any) -> list[np.ndarray]:
        calls.append(len(args[3]))
        return original(*args)

    monkeypatch.setattr(encoding, "encode_small_many", spy)
    return calls


def test_a_pass_encodes_the_short_series_of_all_its_runs_at_once(
    tmp_path: Path, batches: list[int]
) -> None:
    for run in range(12):
        write_run(tmp_path / f"run_{run:02d}", tags=3, steps=20, seed=run)
    reloader = Reloader(str(tmp_path))
    reloader.reload()
    assert batches == [36]  # one batch: 12 runs x 3 tags
    for run in reloader.runs.values():
        for series in run.scalars.values():
            assert series.nbytes == sum(block.nbytes for block in series.blocks())  # no raw chunks
    # The next pass reads what was appended since, into the same series.
    with (tmp_path / "run_00" / "events.out.tfevents.0.host").open("ab") as handle:
        event = event_pb2.Event(step=20, wall_time=WALL + 2.0)
        event.summary.value.add(tag="t0", simple_value=99.0)
        handle.write(encode_record(event.SerializeToString()))
    reloader.reload()
    step, _, value = reloader.runs["run_00"].scalars["t0"].columns()
    assert step.tolist() == list(range(21))
    assert value[-1] == 99.0


def test_short_series_are_encoded_in_bounded_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batches: list[int]
) -> None:
    for run in range(12):
        write_run(tmp_path / f"run_{run:02d}", tags=3, steps=5, seed=run)
    monkeypatch.setattr(reload, "SMALL_BATCH", 9)
    reloader = Reloader(str(tmp_path), workers=1)
    reloader.reload()
    # The raw chunks of at most a batch (and a run) wait at once; every series is encoded.
    assert sum(batches) == 36
    assert len(batches) == 4
    assert all(size <= 9 + 3 for size in batches)
    for run in reloader.runs.values():
        for series in run.scalars.values():
            assert series.nbytes == sum(block.nbytes for block in series.blocks())


def test_a_batch_that_fails_to_encode_costs_nothing_but_its_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for run in range(3):
        write_run(tmp_path / f"run_{run}", tags=2, steps=10, seed=run)

    def fail(*args: Any) -> list[np.ndarray]:
        raise MemoryError

    monkeypatch.setattr(encoding, "encode_small_many", fail)
    reloader = Reloader(str(tmp_path))
    reloader.reload()  # the pass completes
    assert reloader.progress().passes == 1
    step, _, value = reloader.runs["run_2"].scalars["t1"].columns()  # read as they are
    assert step.tolist() == list(range(10))
    assert value.tolist() == [2 + s * 0.5 + 1 for s in range(10)]


def test_tags_written_in_rounds_or_not_give_the_same_series(tmp_path: Path) -> None:
    assert ingest._round_robin(np.array([0, 1, 2, 0, 1, 2], np.int32), 3)
    assert not ingest._round_robin(np.array([0, 1, 2, 0, 2, 1], np.int32), 3)
    assert not ingest._round_robin(np.array([0, 1, 2, 0, 1], np.int32), 3)
    rounds = [(step, tag) for step in range(6) for tag in ("a", "b", "c")]
    ragged = [*rounds[:7], (2, "c"), (2, "a"), *[(step, "b") for step in range(6, 9)]]
    for name, order in (("rounds", rounds), ("ragged", ragged)):
        directory = tmp_path / name
        directory.mkdir()
        records = [
            encode_record(
                event_pb2.Event(wall_time=WALL, file_version="brain.Event:2").SerializeToString()
            )
        ]
        for step, tag in order:
            event = event_pb2.Event(step=step, wall_time=WALL + step)
            event.summary.value.add(tag=tag, simple_value=step * 10 + ord(tag))
            records.append(encode_record(event.SerializeToString()))
        (directory / "events.out.tfevents.1.host").write_bytes(b"".join(records))
    reloader = Reloader(str(tmp_path))
    reloader.reload()
    for name, order in (("rounds", rounds), ("ragged", ragged)):
        for tag in ("a", "b", "c"):
            steps = [step for step, written in order if written == tag]
            step, _, value = reloader.runs[name].scalars[tag].columns()
            assert step.tolist() == sorted(steps)
            assert value.tolist() == [s * 10 + ord(tag) for s in sorted(steps)]


def test_a_files_version_record_is_applied_without_a_scanner_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_run(tmp_path / "versioned", tags=2, steps=3, seed=1)
    bare = tmp_path / "bare"
    bare.mkdir()
    event = event_pb2.Event(step=0, wall_time=WALL)
    event.summary.value.add(tag="t0", simple_value=1.0)
    (bare / "events.out.tfevents.2.host").write_bytes(encode_record(event.SerializeToString()))
    scans: list[int] = []
    real = scanner.scan

    def spy(buffer: Any, base_offset: int, *args: Any) -> scanner.Scan:
        scans.append(base_offset)
        return real(buffer, base_offset, *args)

    monkeypatch.setattr(scanner, "scan", spy)
    reloader = Reloader(str(tmp_path), workers=1)
    reloader.reload()
    offsets = sorted(scans)
    version = encode_record(
        event_pb2.Event(wall_time=WALL, file_version="brain.Event:2").SerializeToString()
    )
    # The versioned file is scanned from its second record; the bare one from its first.
    assert offsets == [0, len(version)]
    assert reloader.loader("versioned").file_version == 2.0  # type: ignore[union-attr]
    assert reloader.loader("bare").file_version is None  # type: ignore[union-attr]
    assert reloader.runs["versioned"].scalars["t1"].columns()[0].tolist() == [0, 1, 2]
    assert reloader.runs["bare"].scalars["t0"].columns()[2].tolist() == [1.0]
