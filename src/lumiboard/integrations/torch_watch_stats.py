"""The reductions of :mod:`lumiboard.integrations.torch_watch`, on the tensors' own device.

Each tensor is reduced where it lives (CPU or GPU) to a few numbers: its float32
L2 norm, the statistics of its histogram and :data:`~lumiboard.watching.BINS` bucket
counts. Nothing waits for the device while reducing (no ``.item()``, no
``torch.histc``, whose range is a Python number); :class:`Reductions` collects the
small results and moves them to the CPU in one copy per device when written.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from lumiboard.format.proto import summary_pb2
from lumiboard.watching import BINS, RATIO_EPSILON, histogram_proto

# Layers whose output holds the features in its last dimension (N, ..., F); the other
# layers with parameters follow PyTorch's (N, C, ...) layout: a unit is a channel.
_FEATURES_LAST: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Bilinear,
    nn.Embedding,
    nn.EmbeddingBag,
    nn.LayerNorm,
    *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()),
)
#: histc counts in float32: exact below 2**24 values.
_EXACT_FLOAT_COUNT = 2**24
_DROPOUT: tuple[type[nn.Module], ...] = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.Identity,
)


def local(tensor: torch.Tensor) -> torch.Tensor:
    """This rank's shard of a DTensor (FSDP2, tensor parallel), else the tensor, detached.

    Reducing a DTensor would run collectives, which would hang when only some ranks log.
    """
    to_local = getattr(tensor, "to_local", None)
    return (to_local() if to_local is not None else tensor).detach()


def is_elementwise(module: nn.Module, args: Any = (), output: Any = None) -> bool:
    """Whether ``module`` keeps its input's layout: an activation, dropout or identity
    module, or any module without parameters whose output has its input's shape (a
    library's own activation class, say)."""
    if type(module).__module__ == "torch.nn.modules.activation" or isinstance(module, _DROPOUT):
        return True
    first = args[0] if isinstance(args, tuple) and args else None
    return (
        isinstance(first, torch.Tensor)
        and isinstance(output, torch.Tensor)
        and first.shape == output.shape
        and next(module.parameters(recurse=False), None) is None
    )


def unit_dim(ndim: int, features_last: bool, inherits: bool, previous: int | None) -> int:
    """The dimension that numbers an output's units (features or channels).

    ``features_last`` for a Linear-like layer (:func:`features_last`); ``inherits`` for
    an element-wise one (:func:`is_elementwise`), which takes ``previous``, the unit
    dimension of the layer that ran just before it (a ReLU after a conv, say).
    """
    if ndim <= 2:
        return ndim - 1
    if features_last:
        return ndim - 1
    if inherits and previous is not None:
        return previous if previous < ndim else ndim - 1
    return 1


def features_last(module: nn.Module) -> bool:
    """A Linear, Embedding or LayerNorm-like layer: (N, ..., F) outputs."""
    return isinstance(module, _FEATURES_LAST)


def dead_fraction(output: torch.Tensor, dim: int) -> torch.Tensor:
    """Share of the units (indices along ``dim``) that are 0 for every sample (0-d, float32)."""
    if output.ndim <= 1:
        return (output == 0).float().mean()
    others = [d for d in range(output.ndim) if d != dim]
    alive = torch.count_nonzero(output, dim=others)
    return (alive == 0).float().mean()


def saturated_fraction(module: nn.Module, output: torch.Tensor) -> torch.Tensor | None:
    """Share of the output's values at a bounded activation's bounds; None when unbounded."""
    if isinstance(module, (nn.Tanh, nn.Softsign)):
        return (output.abs() > 0.99).float().mean()
    if isinstance(module, nn.Sigmoid):
        return ((output < 0.01) | (output > 0.99)).float().mean()
    if isinstance(module, nn.Hardtanh):  # ReLU6 too
        return ((output <= module.min_val) | (output >= module.max_val)).float().mean()
    if isinstance(module, nn.Hardsigmoid):
        return ((output <= 0) | (output >= 1)).float().mean()
    return None


def summarize(tensor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``([norm, min, max, sum, sum of squares], counts)`` of ``tensor``, on its device.

    Norm over every value (NaN or Inf when one is); the others over the finite
    values only. ``counts`` holds BINS equal-width buckets between min and max, and
    a last slot for the non-finite values. float32, except counts (int64, exact).
    """
    flat = tensor.reshape(-1)
    values = flat if flat.dtype == torch.float32 else flat.float()
    if values.device.type == "cpu" and values.numel() < _EXACT_FLOAT_COUNT:
        summary = _summarize_finite_on_cpu(values)
        if summary is not None:
            return summary
    finite = torch.isfinite(values)
    low = torch.where(finite, values, math.inf).amin()
    high = torch.where(finite, values, -math.inf).amax()
    zeroed = torch.where(finite, values, 0.0)
    # A constant tensor (high == low) has every value in bucket 0.
    scale = torch.where(high > low, BINS / (high - low), 0.0)
    index = ((zeroed - low) * scale).floor_().clamp_(0, BINS - 1).long()
    index = torch.where(finite, index, BINS)
    ones = torch.ones((), dtype=torch.int64, device=index.device).expand_as(index)
    counts = torch.zeros(BINS + 1, dtype=torch.int64, device=index.device)
    counts.scatter_add_(0, index, ones)
    norm = torch.linalg.vector_norm(values)
    stats = torch.stack([norm, low, high, zeroed.sum(), zeroed.square().sum()])
    return stats, counts


def _summarize_finite_on_cpu(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    # On the CPU reading min and max costs no wait, so torch.histc (one pass) can bucket;
    # about 4x faster than the masked path. None when a value is not finite.
    low, high = torch.aminmax(values)
    lo, hi = float(low), float(high)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    counts = torch.zeros(BINS + 1, dtype=torch.int64)
    if hi > lo:
        counts[:BINS] = torch.histc(values, BINS, lo, hi).long()
    else:
        counts[0] = values.numel()
    squares = torch.dot(values, values)
    return torch.stack([squares.sqrt(), low, high, values.sum(), squares]), counts


def update_ratio(weights: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """||w - w_prev|| / (||w_prev|| + eps), in float32, on the weights' device."""
    old = previous.float()
    change = torch.linalg.vector_norm(weights.float() - old)
    ratio: torch.Tensor = change / (torch.linalg.vector_norm(old) + RATIO_EPSILON)
    return ratio


class Reductions:
    """The reduced values of one logged step, moved to the CPU together.

    ``scalar(tag, t)`` takes a 0-d tensor; ``histogram(tag, t, norm_tag)`` summarizes
    ``t`` and, when ``norm_tag`` is given, writes its norm there too. Adding a tag
    again replaces its value. Tensors on several devices (model parallel) are moved
    in one copy per device.
    """

    def __init__(self) -> None:
        self._scalars: dict[str, torch.Tensor] = {}
        self._histograms: dict[str, tuple[str | None, int, torch.Tensor, torch.Tensor]] = {}

    def __bool__(self) -> bool:
        return bool(self._scalars or self._histograms)

    def scalar(self, tag: str, value: torch.Tensor) -> None:
        self._scalars[tag] = value.float().reshape(())

    def histogram(self, tag: str, tensor: torch.Tensor, norm_tag: str | None = None) -> None:
        if tensor.numel() == 0:  # an empty FSDP shard: nothing to show
            return
        stats, counts = summarize(tensor)
        self._histograms[tag] = (norm_tag, tensor.numel(), stats, counts)

    def to_cpu(self) -> tuple[list[tuple[str, float]], list[tuple[str, Any]]]:
        """``(scalars, histograms)``: ``[(tag, float)]`` and ``[(tag, HistogramProto)]``.

        Scalars come first in the order added, then each histogram's norm.
        """
        scalar_values = _on_cpu(list(self._scalars.values()))
        entries = list(self._histograms.values())
        stats = _on_cpu([entry[2] for entry in entries])
        counts = _on_cpu([entry[3] for entry in entries])
        scalars_out = [
            (tag, float(value)) for tag, value in zip(self._scalars, scalar_values, strict=True)
        ]
        histograms_out: list[tuple[str, summary_pb2.HistogramProto]] = []
        for tag, (norm_tag, numel, _, _), row, buckets in zip(
            self._histograms, entries, stats, counts, strict=True
        ):
            norm, low, high, total, squares = (float(x) for x in row.tolist())
            if norm_tag is not None:
                scalars_out.append((norm_tag, norm))
            proto = histogram_proto(low, high, numel, total, squares, buckets[:BINS].tolist())
            if proto is not None:
                histograms_out.append((tag, proto))
        return scalars_out, histograms_out


def _on_cpu(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    # One stack and one device-to-host copy per device, in the original order.
    by_device: dict[torch.device, list[int]] = {}
    for i, tensor in enumerate(tensors):
        by_device.setdefault(tensor.device, []).append(i)
    out: list[torch.Tensor] = [torch.empty(0)] * len(tensors)
    for indices in by_device.values():
        moved = torch.stack([tensors[i] for i in indices]).cpu()
        for row, i in zip(moved, indices, strict=True):
            out[i] = row
    return out
