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


def _series(count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    wall_time = 1.7e9 + np.arange(count) * 0.123456
    wall_time[rng.integers(0, count, count // 50 + 1)] = rng.choice(ODD, count // 50 + 1)
    step = rng.integers(-(2**62), 2**62, count)
    value = rng.standard_normal(count) * 10.0 ** rng.integers(-9, 20, count)
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


@pytest.mark.parametrize("count", [1, 2, 3, 1000, responses.PIECE, responses.PIECE + 1])
@pytest.mark.parametrize("single", [False, True])
def test_csv_and_json_match_pythons_writers(count: int, single: bool) -> None:
    wall_time, step, value = _series(count, count)
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


@pytest.mark.parametrize("run", ["train", 'a,"quoted" run', "é/ü", "x" * 300])
def test_long_csv_rows_quote_the_run_and_match_csv_writer(run: str) -> None:
    wall_time, step, value = _series(responses.PIECE + 5, 7)
    rows = [
        [run, s, w, v]
        for s, w, v in zip(step.tolist(), wall_time.tolist(), value.tolist(), strict=True)
    ]
    assert responses.csv_long_rows(run, step, wall_time, value) == _csv(rows)
