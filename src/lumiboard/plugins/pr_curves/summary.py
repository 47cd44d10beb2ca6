"""Encoding of precision-recall curves (plugin ``pr_curves``).

The tensor is float32 ``[6, num_thresholds]`` with rows TP, FP, TN, FN,
precision, recall; thresholds are ``linspace(0, 1, num_thresholds)``.
"""

from __future__ import annotations

import numpy as np

from lumiboard.format.proto import plugin_data_pb2, summary_pb2
from lumiboard.format.values import DataClass, make_metadata, tensor_value

PLUGIN_NAME = "pr_curves"
# Guards precision and recall against 0/0, as TensorBoard's pr_curve summary does.
_MINIMUM_COUNT = 1e-7


def compute_curve(
    labels: np.ndarray,
    predictions: np.ndarray,
    num_thresholds: int,
    weights: np.ndarray | float | None = None,
) -> np.ndarray:
    """Return the ``[6, num_thresholds]`` curve for boolean labels and [0, 1] scores.

    A prediction p falls in threshold bucket ``floor(p * (num_thresholds - 1))``,
    computed in the predictions' own float precision as TensorBoard's and
    torch's ``compute_curve`` do (float32 0.7380952 * 126 is 93 in float32 but
    92.99... in float64); the counts at threshold i are those of buckets >= i.
    """
    if num_thresholds < 2:
        raise ValueError(f"num_thresholds must be at least 2, got {num_thresholds}")
    labels = np.asarray(labels).reshape(-1)
    predictions = np.asarray(predictions).reshape(-1)
    if predictions.dtype.kind != "f":
        predictions = predictions.astype(np.float64)
    if labels.size != predictions.size:
        raise ValueError(
            f"labels and predictions must have the same size ({labels.size} != {predictions.size})"
        )
    if predictions.size and (np.nanmin(predictions) < 0 or np.nanmax(predictions) > 1):
        raise ValueError("predictions must lie in [0, 1]")
    weight = 1.0 if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    positive = labels.astype(np.float64)
    scale = predictions.dtype.type(num_thresholds - 1)
    bucket = np.floor(predictions * scale).astype(np.int64)
    tp_buckets = np.bincount(bucket, weights=positive * weight, minlength=num_thresholds)
    fp_buckets = np.bincount(bucket, weights=(1.0 - positive) * weight, minlength=num_thresholds)
    tp = np.cumsum(tp_buckets[::-1])[::-1]
    fp = np.cumsum(fp_buckets[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(_MINIMUM_COUNT, tp + fp)
    recall = tp / np.maximum(_MINIMUM_COUNT, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


def pr_curve_value(
    tag: str, data: np.ndarray, num_thresholds: int, description: str | None = None
) -> summary_pb2.Summary.Value:
    """Wrap a ``[6, num_thresholds]`` curve with ``pr_curves`` metadata."""
    array = np.asarray(data, dtype=np.float32)
    if array.shape != (6, num_thresholds):
        raise ValueError(f"a PR curve is [6, {num_thresholds}], got {list(array.shape)}")
    content = plugin_data_pb2.PrCurvePluginData(
        version=0, num_thresholds=num_thresholds
    ).SerializeToString()
    metadata = make_metadata(
        PLUGIN_NAME, content, DataClass.DATA_CLASS_TENSOR, description=description
    )
    return tensor_value(tag, array, metadata)


def raw_curve(
    true_positive_counts: np.ndarray,
    false_positive_counts: np.ndarray,
    true_negative_counts: np.ndarray,
    false_negative_counts: np.ndarray,
    precision: np.ndarray,
    recall: np.ndarray,
) -> np.ndarray:
    """Stack precomputed rows (``add_pr_curve_raw``); all must have one length."""
    rows = [
        np.asarray(row, dtype=np.float64).reshape(-1)
        for row in (
            true_positive_counts,
            false_positive_counts,
            true_negative_counts,
            false_negative_counts,
            precision,
            recall,
        )
    ]
    if len({row.size for row in rows}) != 1:
        raise ValueError("the six PR-curve rows must all have the same length")
    return np.stack(rows)
