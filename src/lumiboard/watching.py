"""``watch(model, writer)``: a model's weights, gradients and activations every N steps.

One call in a training loop records, every ``log_freq`` training steps, what the
debugging guides ask for by hand, as ordinary TensorBoard summaries (one dashboard
section per kind, so the tag's first segment names it)::

    parameters/<p>          histogram of the weights of parameter <p>
    parameter_norm/<p>      their L2 norm
    update_ratio/<p>        ||w_t - w_prev|| / (||w_prev|| + 1e-12), w_prev: the weights
                            at the previous logged step (none at the first one)
    gradients/<p>           histogram of the gradient of <p>
    gradient_norm/<p>       its L2 norm
    gradient_norm/(total)   the L2 norm of all the gradients together
    activations/<m>         histogram of the output of layer <m>
    dead_fraction/<m>       share of <m>'s units that are exactly 0 for every sample of the batch
    saturated_fraction/<m>  share of <m>'s output values at a bounded activation's bounds
                            (|tanh| or |softsign| > 0.99, sigmoid < 0.01 or > 0.99, hardtanh,
                            ReLU6 and hardsigmoid at their clamps); 0 for unbounded activations

``log`` picks the kinds: ``"parameters"`` (the first three), ``"gradients"`` (the next
three), ``"activations"`` (the last three), ``"all"`` (default), or a list of them.
Histograms have 64 equal-width buckets between the smallest and the largest finite
value; norms are computed in float32 and are NaN or Inf when a value is (non-finite
values count in a histogram's ``num`` but fall in no bucket).

PyTorch modules are watched with hooks (:mod:`lumiboard.integrations.torch_watch`
says what a step is and how DDP, FSDP, CUDA and mixed precision are handled); Keras 3
models with a callback (:mod:`lumiboard.integrations.keras_watch`). Neither framework
is imported unless the model is one of theirs. A failing log is logged once and skipped:
a watch never raises into training.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lumiboard.format.proto import summary_pb2
from lumiboard.plugins.histograms import summary as histograms
from lumiboard.plugins.scalars import summary as scalars

__all__ = ["unwatch", "watch"]

logger = logging.getLogger(__name__)

#: What ``log=`` accepts, and what "all" means.
KINDS = ("parameters", "gradients", "activations")
#: Buckets per histogram (equal width between the finite min and max).
BINS = 64
#: Added to ||w_prev|| in the update ratio, so that an all-zero weight gives no division by 0.
RATIO_EPSILON = 1e-12
#: The tag of the global gradient norm.
TOTAL = "(total)"


def watch(model: Any, writer: Any, log: str | Iterable[str] = "all", log_freq: int = 100) -> Any:
    """Log a model's weights, gradients and activations every ``log_freq`` training steps.

    Args:
        model: A ``torch.nn.Module`` (DDP- or FSDP-wrapped too) or a Keras 3 model.
        writer: Where to write: a :class:`lumiboard.SummaryWriter` (or
            ``torch.utils.tensorboard``'s, or tensorboardX's). With a writer of
            ``ranks="zero"`` on a rank other than 0, nothing is hooked.
        log: ``"parameters"``, ``"gradients"``, ``"activations"``, ``"all"``, or a
            list of those.
        log_freq: Log at the steps that are multiples of it (0, log_freq, ...).

    Returns:
        For PyTorch, the watch (``.step`` is the next step; ``.remove()`` is
        ``unwatch(model)``); watching a watched model replaces its watch. For Keras,
        a callback (:class:`lumiboard.integrations.keras_watch.WatchCallback`) to
        pass to ``fit``.

    Example::

        import lumiboard

        writer = lumiboard.SummaryWriter("runs/exp1")
        lumiboard.watch(model, writer, log_freq=100)
        for step, (x, y) in enumerate(loader):
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            writer.add_scalar("loss", loss.item(), step)

        # Keras 3: watch returns a callback
        model.fit(x, y, callbacks=[lumiboard.watch(model, writer)])
    """
    kinds = parse_log(log)
    if isinstance(log_freq, bool) or not isinstance(log_freq, int) or log_freq < 1:
        raise ValueError(f"log_freq must be a positive integer, got {log_freq!r}")
    framework = framework_of(model)
    if framework == "keras":
        from lumiboard.integrations.keras_watch import WatchCallback

        return WatchCallback(writer, log=kinds, log_freq=log_freq, model=model)
    if framework == "torch":
        from lumiboard.integrations.torch_watch import watch_module

        return watch_module(model, writer, kinds, log_freq)
    raise TypeError(
        f"watch() takes a torch.nn.Module or a Keras 3 model, not {type(model).__name__}"
    )


def unwatch(model: Any = None) -> None:
    """Stop watching ``model`` (every watched model when None): remove every hook and copy.

    Unwatching a model that is not watched does nothing.

    Example: ``lumiboard.unwatch(model)``
    """
    # Only the integrations already imported can hold a watch: nothing else is imported.
    torch_watch = sys.modules.get("lumiboard.integrations.torch_watch")
    keras_watch = sys.modules.get("lumiboard.integrations.keras_watch")
    framework = None if model is None else framework_of(model)
    if torch_watch is not None and framework in (None, "torch"):
        torch_watch.unwatch_module(model)
    if keras_watch is not None and framework in (None, "keras"):
        keras_watch.unwatch_model(model)


def framework_of(model: Any) -> str | None:
    """``"keras"``, ``"torch"`` or None, from the model's classes' modules (nothing imported).

    Keras comes first: on its torch backend a Keras layer is also a ``torch.nn.Module``.
    """
    roots = {cls.__module__.partition(".")[0] for cls in type(model).__mro__}
    if "keras" in roots:
        return "keras"
    if "torch" in roots:
        return "torch"
    return None


def parse_log(log: str | Iterable[str]) -> frozenset[str]:
    """The kinds ``log=`` names; ``ValueError`` for anything else."""
    names = [log] if isinstance(log, str) else list(log)
    kinds: set[str] = set()
    for name in names:
        if name == "all":
            kinds.update(KINDS)
        elif name in KINDS:
            kinds.add(name)
        else:
            raise ValueError(f"log must be one of {(*KINDS, 'all')} or a list of them, got {log!r}")
    if not kinds:
        raise ValueError("log names no kind to watch")
    return frozenset(kinds)


def is_muted(writer: Any) -> bool:
    """True for a lumiboard writer that writes nothing (``ranks="zero"`` on another rank)."""
    # SummaryWriter._mute binds do-nothing functions on the instance over its methods.
    return "write_values" in getattr(writer, "__dict__", {})


# ---- what is written --------------------------------------------------------------------


def histogram_proto(
    low: float, high: float, num: int, total: float, sum_squares: float, counts: Sequence[float]
) -> summary_pb2.HistogramProto | None:
    """A HistogramProto of ``len(counts)`` equal-width buckets over [low, high], or None.

    None when no value was finite (there is nothing to bucket). The proto holds right
    edges only: TensorBoard takes ``min`` as the first bucket's left edge and ``max``
    as the last one's right edge. All values equal give one bucket.
    """
    finite = float(sum(counts))
    if finite == 0 or not (math.isfinite(low) and math.isfinite(high)):
        return None
    if high <= low:
        limits, buckets = [high], [finite]
    else:
        width = (high - low) / len(counts)
        limits = [low + width * (i + 1) for i in range(len(counts))]
        limits[-1] = high
        buckets = [float(count) for count in counts]
    return summary_pb2.HistogramProto(
        min=low,
        max=high,
        num=float(num),
        sum=total,
        sum_squares=sum_squares,
        bucket_limit=limits,
        bucket=buckets,
    )


def array_histogram(values: np.ndarray) -> summary_pb2.HistogramProto | None:
    """:func:`histogram_proto` of a numpy array (the Keras watch's and the tests' reference)."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    finite = flat[np.isfinite(flat)]
    if finite.size == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    if high > low:
        index = np.minimum(((finite - low) * (BINS / (high - low))).astype(np.int64), BINS - 1)
        counts = np.bincount(index, minlength=BINS)
    else:
        counts = np.zeros(BINS, dtype=np.int64)
        counts[0] = finite.size
    return histogram_proto(
        low, high, flat.size, float(finite.sum()), float(finite.dot(finite)), counts.tolist()
    )


def write_summaries(
    writer: Any,
    step: int,
    scalar_values: Sequence[tuple[str, float]],
    histogram_values: Sequence[tuple[str, summary_pb2.HistogramProto]],
) -> None:
    """Write scalars and histograms at ``step``: one event with a lumiboard writer.

    Other writers (``torch.utils.tensorboard``, tensorboardX) get ``add_scalar`` and
    ``add_histogram_raw`` calls.
    """
    if hasattr(writer, "write_values"):
        values = [scalars.legacy_value(tag, value) for tag, value in scalar_values]
        values += [histograms.legacy_value(tag, proto) for tag, proto in histogram_values]
        if values:
            writer.write_values(values, step)
        return
    for tag, value in scalar_values:
        writer.add_scalar(tag, value, step)
    for tag, proto in histogram_values:
        writer.add_histogram_raw(
            tag,
            proto.min,
            proto.max,
            proto.num,
            proto.sum,
            proto.sum_squares,
            list(proto.bucket_limit),
            list(proto.bucket),
            step,
        )


class FailureLog:
    """Logs each kind of failure of a watch once (a warning with the error), then stays quiet."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, type[BaseException]]] = set()

    def unsupported(self, what: str, reason: str) -> None:
        """Say once that ``what`` is not logged, and why."""
        if (what, NotImplementedError) not in self._seen:
            self._seen.add((what, NotImplementedError))
            logger.warning("lumiboard.watch: %s are not logged: %s", what, reason)

    def failed(self, where: str, error: BaseException) -> None:
        key = (where, type(error))
        if key not in self._seen:
            self._seen.add(key)
            logger.warning(
                "lumiboard.watch: %s failed and is skipped (logged once): %r",
                where,
                error,
                exc_info=error,
            )
