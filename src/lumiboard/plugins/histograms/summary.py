"""Encoding of histograms (plugin ``histograms``).

Two forms: the legacy ``HistogramProto`` that ``torch.utils.tensorboard`` writes
(right bucket edges only), and TF2's ``[k, 3]`` float64 tensor of
(left, right, count) rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lumiboard.format.proto import plugin_data_pb2, summary_pb2
from lumiboard.format.values import DataClass, make_metadata, tensor_value

PLUGIN_NAME = "histograms"


def _tensorflow_edges() -> np.ndarray:
    # TensorFlow's histogram.cc bucket layout: +-1e-12 * 1.1**k up to 1e20,
    # plus 0. Built by repeated multiplication (not a power) so the edges are
    # bit-identical to torch's and TensorFlow's.
    edge, positive = 1e-12, []
    while edge < 1e20:
        positive.append(edge)
        edge *= 1.1
    return np.array([-e for e in reversed(positive)] + [0.0] + positive)


TENSORFLOW_EDGES = _tensorflow_edges()


def _finite(values: np.ndarray) -> np.ndarray:
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    return flat[np.isfinite(flat)]


def histogram_proto(
    values: np.ndarray,
    bins: str | int | Sequence[float] = "tensorflow",
    max_bins: int | None = None,
) -> summary_pb2.HistogramProto:
    """Bucket ``values`` into a HistogramProto the way ``torch.utils.tensorboard`` does.

    ``bins`` is ``"tensorflow"`` (TensorFlow's exponential buckets), a
    ``numpy.histogram`` rule name, a bucket count or explicit edges. Only the
    support is kept, plus one empty bucket on the left whose right edge is the
    first non-empty bucket's left edge (HistogramProto stores right edges only).
    Non-finite values count in ``num`` but fall in no bucket.
    """
    flat = np.asarray(values).reshape(-1)
    if flat.size == 0:
        raise ValueError("values must not be empty")
    if flat.dtype.kind not in "biuf":
        raise TypeError(f"values must be numeric, got dtype {flat.dtype}")
    flat = flat.astype(np.float64)
    finite = _finite(flat)
    if finite.size == 0:
        raise ValueError("values holds no finite number to bucket")
    edges_arg = TENSORFLOW_EDGES if isinstance(bins, str) and bins == "tensorflow" else bins
    counts, edges = np.histogram(finite, bins=edges_arg)
    if max_bins is not None and counts.size > max_bins:
        counts, edges = _merge_buckets(counts, edges, max_bins)
    nonzero = np.flatnonzero(counts)
    first, last = int(nonzero[0]), int(nonzero[-1])
    # One empty bucket stays on the left: its right edge is the support's left edge.
    kept = counts[first - 1 : last + 1] if first > 0 else np.concatenate([[0], counts[: last + 1]])
    return summary_pb2.HistogramProto(
        min=float(flat.min()),
        max=float(flat.max()),
        num=float(flat.size),
        sum=float(flat.sum()),
        sum_squares=float(flat.dot(flat)),
        bucket_limit=edges[first : last + 2].tolist(),
        bucket=kept.astype(np.float64).tolist(),
    )


def _merge_buckets(
    counts: np.ndarray, edges: np.ndarray, max_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    # Merge runs of `factor` neighbouring buckets (the last run padded with
    # zeros), as torch does for `max_bins`.
    factor = counts.size // max_bins
    remainder = counts.size % factor
    if remainder:
        counts = np.pad(counts, (0, factor - remainder))
    merged = counts.reshape(-1, factor).sum(axis=-1)
    new_edges = np.empty(merged.size + 1, dtype=edges.dtype)
    new_edges[:-1] = edges[:-1:factor]
    new_edges[-1] = edges[-1]
    return merged, new_edges


def legacy_value(tag: str, histogram: summary_pb2.HistogramProto) -> summary_pb2.Summary.Value:
    """A ``histo`` value, as torch's ``add_histogram`` writes it."""
    return summary_pb2.Summary.Value(tag=tag, histo=histogram)


def raw_histogram_proto(
    min: float,
    max: float,
    num: float,
    sum: float,
    sum_squares: float,
    bucket_limits: Sequence[float] | np.ndarray,
    bucket_counts: Sequence[float] | np.ndarray,
) -> summary_pb2.HistogramProto:
    """A HistogramProto from precomputed statistics (``add_histogram_raw``)."""
    limits = np.asarray(bucket_limits, dtype=np.float64).reshape(-1)
    counts = np.asarray(bucket_counts, dtype=np.float64).reshape(-1)
    if limits.size != counts.size:
        raise ValueError(
            f"bucket_limits and bucket_counts must have the same length "
            f"({limits.size} != {counts.size})"
        )
    if limits.size == 0:
        raise ValueError("bucket_limits must not be empty")
    return summary_pb2.HistogramProto(
        min=float(min),
        max=float(max),
        num=float(num),
        sum=float(sum),
        sum_squares=float(sum_squares),
        bucket_limit=limits.tolist(),
        bucket=counts.tolist(),
    )


def tensor_histogram_value(
    tag: str, values: np.ndarray, buckets: int | None = None, description: str | None = None
) -> summary_pb2.Summary.Value:
    """TF2's ``tf.summary.histogram``: ``buckets`` (default 30) equal-width buckets.

    The result is a ``[k, 3]`` float64 tensor of (left, right, count) rows,
    bucketed as TensorBoard's ``summary_v2._buckets`` does: empty input gives
    ``buckets`` all-zero rows, and a single repeated value gives zero-width
    buckets at that value with every count in the last one.
    """
    count = 30 if buckets is None else int(buckets)
    if count < 0:
        raise ValueError(f"buckets must be non-negative, got {buckets!r}")
    flat = _finite(np.asarray(values))
    metadata = make_metadata(
        PLUGIN_NAME,
        plugin_data_pb2.HistogramPluginData(version=0).SerializeToString(),
        DataClass.DATA_CLASS_TENSOR,
        description=description,
    )
    return tensor_value(tag, _equal_width_buckets(flat, count), metadata)


def _equal_width_buckets(flat: np.ndarray, count: int) -> np.ndarray:
    if flat.size == 0 or count == 0:
        return np.zeros((count, 3), dtype=np.float64)
    low, high = float(flat.min()), float(flat.max())
    if low == high:
        edges = np.full(count, high)
        counts = np.zeros(count)
        counts[-1] = flat.size
        return np.stack([edges, edges, counts], axis=1)
    width = (high - low) / count
    index = np.minimum(np.floor((flat - low) / width).astype(np.int64), count - 1)
    counts = np.bincount(index, minlength=count).astype(np.float64)
    edges = np.linspace(low, high, count + 1)
    edges[-1] = high
    return np.stack([edges[:-1], edges[1:], counts], axis=1)
