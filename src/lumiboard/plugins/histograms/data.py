"""Reading histograms (plugin ``histograms``, data class TENSOR).

The modern form is a ``[k, 3]`` tensor of (left, right, count) rows. torch and
tensorboardX write a legacy ``HistogramProto`` (``histo``), which holds right
edges only; TensorBoard's ``data_compat._migrate_histogram_value`` rebuilds the
rows, and :func:`migrate` does the same, float32 included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lumiboard.format.proto import plugin_data_pb2, summary_pb2
from lumiboard.format.tensors import encode_tensor
from lumiboard.plugins.base import (
    DataClass,
    PluginData,
    Value,
    legacy_metadata,
    with_data_class,
)

PLUGIN_NAME = "histograms"
_CONTENT = plugin_data_pb2.HistogramPluginData(version=0).SerializeToString()


def convert_histo(histo: summary_pb2.HistogramProto) -> np.ndarray | None:
    """A HistogramProto as TensorBoard's float32 ``[k, 3]`` rows, or None if malformed.

    Empty buckets (count not > 0) at both ends are dropped, then the first
    row's left edge is ``min`` and the last row's right edge is ``max``: this
    also replaces the ±DBL_MAX outer limits TensorFlow writes. All buckets
    empty gives ``[0, 3]``. TensorBoard raises when ``bucket_limit`` lacks the
    inner edges of the kept buckets; we return None.
    """
    counts = np.asarray(histo.bucket, dtype=np.float64)
    nonempty = np.flatnonzero(counts > 0)
    if nonempty.size == 0:
        return np.zeros((0, 3), dtype=np.float32)
    start, end = int(nonempty[0]), int(nonempty[-1])
    if len(histo.bucket_limit) < end:
        return None
    inner = np.asarray(histo.bucket_limit[start:end], dtype=np.float64)
    lefts = np.concatenate([[histo.min], inner])
    rights = np.concatenate([inner, [histo.max]])
    return np.stack([lefts, rights, counts[start : end + 1]], axis=1).astype(np.float32)


def migrate(value: Value) -> Value | None:
    """``histo`` -> ``[k, 3]`` float32 tensor (see :func:`convert_histo`); a
    tensor value gets its data class, as ``dataclass_compat`` does."""
    if value.WhichOneof("value") != "histo":
        return with_data_class(value, DataClass.TENSOR)
    rows = convert_histo(value.histo)
    if rows is None:
        return None
    metadata = legacy_metadata(value, PLUGIN_NAME, _CONTENT, DataClass.TENSOR)
    return Value(tag=value.tag, metadata=metadata, tensor=encode_tensor(rows))


@dataclass(frozen=True)
class Buckets:
    """One histogram as columns: bucket ``i`` spans [left[i], right[i]] with count[i]."""

    left: np.ndarray
    right: np.ndarray
    count: np.ndarray


def to_buckets(array: np.ndarray) -> Buckets:
    """Split a ``[k, 3]`` (left, right, count) array into float64 columns.

    ValueError for another shape, or for values that are not real numbers
    (strings or complex numbers in a hostile file).
    """
    rows = np.asarray(array)
    if rows.ndim != 2 or rows.shape[1] != 3:
        raise ValueError(f"a histogram is [k, 3] (left, right, count), got {list(rows.shape)}")
    if rows.dtype.kind not in "biuf":
        raise ValueError(f"a histogram holds numbers, got {rows.dtype}")
    columns = rows.astype(np.float64, copy=False)
    return Buckets(left=columns[:, 0], right=columns[:, 1], count=columns[:, 2])


PLUGIN_DATA = PluginData(
    name=PLUGIN_NAME,
    data_class=DataClass.TENSOR,
    default_samples=500,
    legacy_field="histo",
    migrate=migrate,
)
