"""Reading precision-recall curves (plugin ``pr_curves``, data class TENSOR).

The tensor is ``[6, num_thresholds]``: rows TP, FP, TN, FN, precision, recall
at thresholds ``linspace(0, 1, num_thresholds)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lumiboard.format.proto import plugin_data_pb2
from lumiboard.plugins.base import DataClass, PluginData, Value, with_data_class

PLUGIN_NAME = "pr_curves"
ROWS = (
    "true_positives",
    "false_positives",
    "true_negatives",
    "false_negatives",
    "precision",
    "recall",
)


def migrate(value: Value) -> Value:
    """A PR-curve value gets its data class, as ``dataclass_compat`` does."""
    return with_data_class(value, DataClass.TENSOR)


@dataclass(frozen=True)
class Curve:
    """One step's curve, rows named as TensorBoard's ``/pr_curves`` route names them."""

    thresholds: np.ndarray
    true_positives: np.ndarray
    false_positives: np.ndarray
    true_negatives: np.ndarray
    false_negatives: np.ndarray
    precision: np.ndarray
    recall: np.ndarray


def curve(array: np.ndarray) -> Curve:
    """The named rows of a ``[6, T]`` array, as ``PrCurvesPlugin._make_pr_entry``.

    Trailing thresholds where TP + FP = 0 (precision undefined) are cut, but
    never the first; counts become int64 (truncated, as TensorBoard's
    ``int``), precision and recall float64.
    """
    data = np.asarray(array)
    if data.ndim != 2 or data.shape[0] != 6 or data.shape[1] == 0:
        raise ValueError(f"a PR curve is [6, num_thresholds], got {list(data.shape)}")
    if data.dtype.kind not in "biuf":  # strings or complex numbers in a hostile file
        raise ValueError(f"a PR curve holds numbers, got {data.dtype}")
    positives = data[0:2].astype(np.int64).sum(axis=0)
    nonzero = np.flatnonzero(positives[1:] != 0)
    end = int(nonzero[-1]) + 2 if nonzero.size else 1
    counts = data[0:4, :end].astype(np.int64)
    rates = data[4:6, :end].astype(np.float64)
    return Curve(
        thresholds=np.linspace(0.0, 1.0, data.shape[1])[:end],
        true_positives=counts[0],
        false_positives=counts[1],
        true_negatives=counts[2],
        false_negatives=counts[3],
        precision=rates[0],
        recall=rates[1],
    )


def num_thresholds(content: bytes) -> int:
    """``PrCurvePluginData.num_thresholds`` of a series' metadata."""
    return int(plugin_data_pb2.PrCurvePluginData.FromString(content).num_thresholds)


PLUGIN_DATA = PluginData(
    name=PLUGIN_NAME, data_class=DataClass.TENSOR, default_samples=100, migrate=migrate
)
