"""DataFrames of scalars, histograms and text, built from the store's columns.

Every table is long: one row per point (per bucket for histograms), sorted by
run, tag and step, with ``run`` and ``tag`` as categoricals (a few bytes a row
instead of a string object each). Rows are assembled with numpy (concatenated
columns, repeated category codes), never a Python object per scalar point.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lumiboard.experiment.selection import Selector, select
from lumiboard.plugins.histograms.data import to_buckets
from lumiboard.plugins.text.data import decode_text
from lumiboard.store.provider import Provider
from lumiboard.store.runs import TensorPoint

#: (run, tag) pairs, in run then tag order.
Pairs = list[tuple[str, str]]

SCALAR_COLUMNS = ("run", "tag", "step", "wall_time", "value")
HISTOGRAM_COLUMNS = ("run", "tag", "step", "wall_time", "left", "right", "count")
TEXT_COLUMNS = ("run", "tag", "step", "wall_time", "text")


def series_pairs(provider: Provider, runs: Sequence[str], plugin: str, tags: Selector) -> Pairs:
    """The (run, tag) series of ``plugin`` that hold data, ``tags`` applied to
    the tags of all ``runs`` together (a listed tag must exist in one of them)."""
    listed = provider.list_tags(plugin, list(runs))
    every_tag = sorted({tag for run_tags in listed.values() for tag in run_tags})
    chosen = set(select(every_tag, tags, f"{plugin} tag"))
    return [(run, tag) for run in runs for tag in sorted(listed.get(run, {})) if tag in chosen]


def build_frame(pairs: Pairs, lengths: Sequence[int], columns: dict[str, Any]) -> pd.DataFrame:
    """``run`` and ``tag`` (categoricals, ``lengths[i]`` rows for ``pairs[i]``) then ``columns``."""
    counts = np.asarray(lengths, dtype=np.int64)
    frame: dict[str, Any] = {
        "run": _categorical([run for run, _ in pairs], counts),
        "tag": _categorical([tag for _, tag in pairs], counts),
    }
    frame.update(columns)
    # copy=False: the columns are fresh arrays; a 10M-point table is not copied twice.
    return pd.DataFrame(frame, copy=False)


def _categorical(labels: list[str], counts: np.ndarray) -> pd.Categorical:
    categories = sorted(set(labels))
    index = {label: code for code, label in enumerate(categories)}
    # The smallest code type that fits, repeated per row without a Python loop.
    code_type = (
        np.int8 if len(categories) < 2**7 else np.int16 if len(categories) < 2**15 else np.int32
    )
    codes = np.repeat(np.asarray([index[label] for label in labels], dtype=code_type), counts)
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=str))


def _concat(arrays: list[np.ndarray], dtype: type[np.generic]) -> np.ndarray:
    if not arrays:
        return np.empty(0, dtype=dtype)
    return np.concatenate(arrays).astype(dtype, copy=False)


# ---- scalars ----------------------------------------------------------------


def scalar_frame(provider: Provider, pairs: Pairs) -> pd.DataFrame:
    """Every point of every series in ``pairs``: run, tag, step, wall_time, value."""
    steps, wall_times, values = [], [], []
    for run, tag in pairs:
        columns = provider.read_scalars(run, tag)
        steps.append(columns.step)
        wall_times.append(columns.wall_time)
        values.append(columns.value)
    return build_frame(
        pairs,
        [len(step) for step in steps],
        {
            "step": _concat(steps, np.int64),
            "wall_time": _concat(wall_times, np.float64),
            "value": _concat(values, np.float64),
        },
    )


def pivot_scalars(frame: pd.DataFrame) -> pd.DataFrame:
    """One column per tag, indexed by (run, step); a step written twice keeps its last value.

    Built with numpy (pandas' ``pivot`` takes seconds on 10M rows): the
    (run, step) pairs are sorted and numbered, then each point is placed at
    its (row, tag) cell. ``frame`` is sorted by run, tag and step with ties in
    arrival order, so the last write of a step is the last of its equal keys.
    """
    run = frame["run"].cat.codes.to_numpy()
    tag = frame["tag"].cat.codes.to_numpy()
    step = frame["step"].to_numpy()
    value = frame["value"].to_numpy()
    last = np.ones(len(frame), dtype=bool)
    last[:-1] = (run[1:] != run[:-1]) | (tag[1:] != tag[:-1]) | (step[1:] != step[:-1])
    run, tag, step, value = run[last], tag[last], step[last], value[last]

    order = np.lexsort((step, run))
    new_row = np.ones(len(order), dtype=bool)
    new_row[1:] = (run[order][1:] != run[order][:-1]) | (step[order][1:] != step[order][:-1])
    rows = np.empty(len(order), dtype=np.int64)
    rows[order] = np.cumsum(new_row) - 1
    first = order[new_row]
    tags = frame["tag"].cat.categories
    table = np.full((len(first), len(tags)), np.nan)
    table[rows, tag] = value
    index = pd.MultiIndex.from_arrays(
        [
            pd.Categorical.from_codes(run[first], categories=frame["run"].cat.categories),
            step[first],
        ],
        names=["run", "step"],
    )
    columns = pd.Index(tags, dtype=str, name="tag")
    return pd.DataFrame(table, index=index, columns=columns, copy=False)


# ---- tensors ------------------------------------------------------------------


def _sorted_points(provider: Provider, run: str, tag: str) -> list[TensorPoint]:
    # Kept in arrival order; a table reads best by step (stable: ties keep order).
    return sorted(provider.read_tensors(run, tag), key=lambda point: point.step)


def histogram_frame(provider: Provider, pairs: Pairs) -> pd.DataFrame:
    """One row per bucket: run, tag, step, wall_time, left, right, count.

    A histogram with no buckets (every count zero) has no rows.
    """
    lengths, steps, wall_times, rows = [], [], [], []
    for run, tag in pairs:
        total = 0
        for point in _sorted_points(provider, run, tag):
            try:
                buckets = to_buckets(point.array)
            except ValueError:  # not [k, 3]: not a histogram TensorBoard could draw
                continue
            count = len(buckets.left)
            steps.append(np.full(count, point.step, dtype=np.int64))
            wall_times.append(np.full(count, point.wall_time, dtype=np.float64))
            rows.append(np.stack([buckets.left, buckets.right, buckets.count], axis=1))
            total += count
        lengths.append(total)
    table = np.concatenate(rows) if rows else np.empty((0, 3), dtype=np.float64)
    return build_frame(
        pairs,
        lengths,
        {
            "step": _concat(steps, np.int64),
            "wall_time": _concat(wall_times, np.float64),
            "left": np.ascontiguousarray(table[:, 0]),
            "right": np.ascontiguousarray(table[:, 1]),
            "count": np.ascontiguousarray(table[:, 2]),
        },
    )


def text_frame(provider: Provider, pairs: Pairs) -> pd.DataFrame:
    """One row per step: run, tag, step, wall_time, text.

    ``text`` is a ``str`` for one string (rank 0, or the one-element ``[1]``
    torch's ``add_text`` writes) and a numpy array of ``str`` (shape kept,
    e.g. a 2-D table) otherwise.
    """
    lengths: list[int] = []
    steps: list[int] = []
    wall_times: list[float] = []
    texts: list[object] = []
    for run, tag in pairs:
        points = _sorted_points(provider, run, tag)
        lengths.append(len(points))
        for point in points:
            decoded = decode_text(point.array)
            steps.append(point.step)
            wall_times.append(point.wall_time)
            single = decoded.ndim == 0 or decoded.shape == (1,)
            texts.append(decoded.reshape(-1)[0] if single else decoded)
    return build_frame(
        pairs,
        lengths,
        {
            "step": np.asarray(steps, dtype=np.int64),
            "wall_time": np.asarray(wall_times, dtype=np.float64),
            "text": object_column(texts),
        },
    )


def object_column(items: Iterable[object]) -> np.ndarray:
    """A 1-D object array of ``items`` (numpy would otherwise stack equal-shape arrays)."""
    values = list(items)
    column = np.empty(len(values), dtype=object)
    for position, item in enumerate(values):
        column[position] = item
    return column
