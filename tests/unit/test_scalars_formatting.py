"""The scalars answers' text, written column by column (server/responses.py), is the text
Python's own writers give: ``csv.writer`` with ``repr`` of each float, and JSON with
TensorBoard's ``"NaN"``/``"Infinity"`` strings, across piece boundaries and odd values."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from lumiboard.server import responses

#: Values whose text differs between orjson and repr, or that orjson writes as null.
ODD = [1e-5, 1e-4, 0.0, -0.0, np.nan, np.inf, -np.inf, 1e16, -1e16, 5e-324, 1e300, 0.1, 123.0]


def _series(count: int, seed: int, odd: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    wall_time = 1.7e9 + np.arange(count) * 0.123456
    step = rng.integers(-(2**62), 2**62, count)
    # Magnitudes in [5e-4, 1.5e15): text orjson and repr write alike.
    sign = rng.choice([-1.0, 1.0], count)
    value = sign * (rng.random(count) + 0.5) * 10.0 ** rng.integers(-3, 15, count)
    if odd:
        wall_time[rng.integers(0, count, count // 50 + 1)] = rng.choice(ODD, count // 50 + 1)
        value *= 10.0 ** rng.integers(-6, 5, count)
        value[rng.integers(0, count, count // 10 + 1)] = rng.choice(ODD, count // 10 + 1)
    return wall_time, step, value


def _csv(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _cleansed(number: float) -> object:
    if np.isnan(number):
        return "NaN"
    if np.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


# Each way of writing: short series (Python tuples), long ones (column by column), pieces.
SIZES = [1, 2, 3, 100, responses.SMALL_CSV - 1, responses.SMALL_CSV, responses.SMALL - 1]
SIZES += [responses.SMALL, responses.PIECE, responses.PIECE + 1]


@pytest.mark.parametrize("count", SIZES)
@pytest.mark.parametrize("single", [False, True])
@pytest.mark.parametrize("odd", [False, True])
def test_csv_and_json_match_pythons_writers(count: int, single: bool, odd: bool) -> None:
    wall_time, step, value = _series(count, count, odd)
    if single:  # a float32 series is written as its float64 value, as before
        with np.errstate(over="ignore"):  # 1e300 becomes inf
            value = value.astype(np.float32)
    wide = value.astype(np.float64)
    rows = list(zip(wall_time.tolist(), step.tolist(), wide.tolist(), strict=True))
    expected_csv = _csv([["Wall time", "Step", "Value"], *map(list, rows)])
    assert responses.tensorboard_csv(wall_time, step, value) == expected_csv
    triples = json.loads(responses.tensorboard_triples(wall_time, step, value))
    expected = [[_cleansed(w), s, _cleansed(v)] for w, s, v in rows]
    assert triples == expected


@pytest.mark.parametrize("run", ["train", 'a,"quoted" run', "é/],[ü", "x" * 300])
@pytest.mark.parametrize("count", [1, 10, responses.PIECE + 5])
@pytest.mark.parametrize("odd", [False, True])
def test_long_csv_rows_quote_the_run_and_match_csv_writer(run: str, count: int, odd: bool) -> None:
    wall_time, step, value = _series(count, 7, odd)
    rows = [
        [run, s, w, v]
        for s, w, v in zip(step.tolist(), wall_time.tolist(), value.tolist(), strict=True)
    ]
    assert responses.csv_long_rows(run, step, wall_time, value) == _csv(rows)
