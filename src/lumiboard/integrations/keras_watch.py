"""``lumiboard.watch`` for Keras 3: a callback that logs every ``log_freq``-th training batch.

Keras's ``fit`` offers no hook into the model, so a Keras watch is a callback passed to
``fit``: ``lumiboard.watch(model, writer)`` returns one, and
``lumiboard.keras.WatchCallback(writer)`` is the same class. It writes the tags of
:mod:`lumiboard.watching` into the writer (a :class:`lumiboard.SummaryWriter`), at the
global batch number counted from 0 across ``fit`` calls (batches 0, log_freq, ...).

What each backend gives:

=================================  =======  =====  ==========
                                   torch    jax    tensorflow
=================================  =======  =====  ==========
parameters, norms, update ratios   yes      yes    yes
activations (with ``sample=``)     yes      yes    yes
gradients                          yes      no     no
=================================  =======  =====  ==========

- ``parameters``: the trainable weights before the batch's update (tags use the
  weight's path without the model's name: ``parameters/dense/kernel``);
  ``update_ratio`` against a copy from the previous logged batch.
- ``gradients``: on the torch backend Keras leaves each gradient in the weight's
  ``.grad`` until the next batch; they are read when the batch ends. JAX and
  TensorFlow keep gradients inside the compiled train step, out of a callback's
  reach: there a watch logs no gradients (it says so once, in the log).
- ``activations``: Keras hands callbacks no batch, so they are computed on the
  ``sample`` batch given to the callback, in inference mode (dropout off), by a
  model of the layers' outputs (Functional and Sequential models; a layer used
  several times is skipped; without ``sample``, or for a subclassed model, no
  activations). A unit is a channel: the last dimension, or the first after the
  batch for a layer with ``data_format="channels_first"``. Saturation counts values
  of tanh and softsign beyond ±0.99, sigmoid below 0.01 or above 0.99, hard_sigmoid
  at 0 or 1, relu6 at 0 or 6 and hard_tanh at ±1, for a layer with that activation.

Everything is reduced with numpy on the CPU (Keras copies each weight there).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

import numpy as np

try:
    import keras  # type: ignore[import-untyped]
except ImportError as error:
    raise ImportError(
        'lumiboard.watch on Keras needs Keras 3: pip install "lumiboard[keras]"'
    ) from error

from lumiboard.watching import (
    RATIO_EPSILON,
    TOTAL,
    FailureLog,
    array_histogram,
    is_muted,
    parse_log,
    write_summaries,
)

__all__ = ["WatchCallback", "unwatch_model"]

_callbacks: weakref.WeakSet[WatchCallback] = weakref.WeakSet()

# Output bounds of the bounded activations, by the activation function's name.
_SATURATION = {
    "tanh": lambda y: np.abs(y) > 0.99,
    "softsign": lambda y: np.abs(y) > 0.99,
    "sigmoid": lambda y: (y < 0.01) | (y > 0.99),
    "hard_sigmoid": lambda y: (y <= 0) | (y >= 1),
    "relu6": lambda y: (y <= 0) | (y >= 6),
    "hard_tanh": lambda y: np.abs(y) >= 1,
}


def unwatch_model(model: Any = None) -> None:
    """Stop the watch callbacks of ``model`` (all of them when None)."""
    for callback in list(_callbacks):
        if model is None or callback.watched_model is model:
            callback.stop()


class WatchCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Log weights, gradients (torch backend) and activations every ``log_freq`` batches.

    Args:
        writer: A :class:`lumiboard.SummaryWriter` (or any writer with ``add_scalar``
            and ``add_histogram_raw``).
        log: ``"parameters"``, ``"gradients"``, ``"activations"``, ``"all"`` or a list.
        log_freq: Log the global batches that are multiples of it (0, log_freq, ...).
        sample: A batch of model inputs for the activations (none logged without it).
        model: The model, when known before ``fit`` (``lumiboard.watch`` passes it).

    Example::

        from lumiboard import SummaryWriter
        from lumiboard.keras import WatchCallback

        writer = SummaryWriter("logs/run1/watch")
        model.fit(x, y, callbacks=[WatchCallback(writer, log_freq=50, sample=x[:64])])
    """

    def __init__(
        self,
        writer: Any,
        log: str | Iterable[str] = "all",
        log_freq: int = 100,
        sample: Any = None,
        model: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(log_freq, bool) or not isinstance(log_freq, int) or log_freq < 1:
            raise ValueError(f"log_freq must be a positive integer, got {log_freq!r}")
        self.writer = writer
        self.kinds = parse_log(log)
        self.log_freq = log_freq
        self.sample = sample
        self.step = 0
        self._active = not is_muted(writer)
        self._logging: int | None = None
        self._previous: dict[str, np.ndarray] = {}
        self._outputs_model: Any = None
        self._failures = FailureLog()
        if model is not None:
            for other in list(_callbacks):  # watching a model again replaces its watch
                if other.watched_model is model:
                    other.stop()
            self.set_model(model)
        _callbacks.add(self)

    @property
    def watched_model(self) -> Any:
        """The model, without the state sync that ``self.model`` does on JAX."""
        return self._model

    def stop(self) -> None:
        """Log nothing more and drop the weight copies (what ``unwatch`` does)."""
        self._active = False
        self._previous = {}
        self._outputs_model = None

    # ---- Keras hooks ------------------------------------------------------------------------

    def set_model(self, model: Any) -> None:
        if model is not self._model:
            self._outputs_model = None
        super().set_model(model)

    def on_train_begin(self, logs: Any = None) -> None:
        if self._active and "gradients" in self.kinds and keras.backend.backend() != "torch":
            backend = keras.backend.backend()
            self._failures.unsupported(
                "gradients", f"Keras keeps them out of a callback's reach on the {backend} backend"
            )

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._logging = None
        if not self._active:
            return
        step = self.step
        self.step += 1
        if step % self.log_freq:
            return
        self._logging = step
        model = self.model
        if "parameters" in self.kinds:
            self._guarded("parameters", self._log_parameters, model, step)
        if "activations" in self.kinds and self.sample is not None:
            self._guarded("activations", self._log_activations, model, step)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        step, self._logging = self._logging, None
        if step is None or "gradients" not in self.kinds or keras.backend.backend() != "torch":
            return
        self._guarded("gradients", self._log_gradients, self.model, step)

    # ---- what is logged ---------------------------------------------------------------------

    def _guarded(self, where: str, log: Any, model: Any, step: int) -> None:
        try:
            log(model, step)
        except Exception as error:  # never into training
            self._failures.failed(where, error)

    def _weights(self, model: Any) -> list[tuple[str, Any]]:
        prefix = f"{model.name}/"
        return [
            (weight.path.removeprefix(prefix).replace(":", "_"), weight)
            for weight in model.trainable_weights
        ]

    def _log_parameters(self, model: Any, step: int) -> None:
        scalars, histograms = [], []
        for name, weight in self._weights(model):
            array = np.asarray(keras.ops.convert_to_numpy(weight))
            values = array.astype(np.float32, copy=False)
            scalars.append((f"parameter_norm/{name}", float(np.linalg.norm(values))))
            previous = self._previous.get(name)
            if previous is not None and previous.shape == values.shape:
                change = float(np.linalg.norm(values - previous))
                ratio = change / (float(np.linalg.norm(previous)) + RATIO_EPSILON)
                scalars.append((f"update_ratio/{name}", ratio))
            self._previous[name] = values.copy()
            proto = array_histogram(values)
            if proto is not None:
                histograms.append((f"parameters/{name}", proto))
        write_summaries(self.writer, step, scalars, histograms)

    def _log_gradients(self, model: Any, step: int) -> None:
        scalars, histograms, squares = [], [], 0.0
        for name, weight in self._weights(model):
            gradient = getattr(weight.value, "grad", None)
            if gradient is None:
                continue
            values = gradient.detach().float().cpu().numpy()
            norm = float(np.linalg.norm(values))
            squares += norm**2
            scalars.append((f"gradient_norm/{name}", norm))
            proto = array_histogram(values)
            if proto is not None:
                histograms.append((f"gradients/{name}", proto))
        if scalars:
            scalars.append((f"gradient_norm/{TOTAL}", squares**0.5))
            write_summaries(self.writer, step, scalars, histograms)

    def _layers_outputs(self, model: Any) -> tuple[list[Any], Any]:
        if self._outputs_model is None:
            layers, outputs = [], []
            for layer in model.layers:
                if isinstance(layer, keras.layers.InputLayer):
                    continue
                try:
                    output = layer.output  # raises for a layer called several times
                except Exception:
                    continue
                if not isinstance(output, (list, tuple)):
                    layers.append(layer)
                    outputs.append(output)
            inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
            self._outputs_model = (layers, keras.Model(inputs, outputs))
        layers, outputs_model = self._outputs_model
        return layers, outputs_model

    def _log_activations(self, model: Any, step: int) -> None:
        if not getattr(model, "inputs", None):
            raise TypeError("activations need a Functional or Sequential model")
        layers, outputs_model = self._layers_outputs(model)
        outputs = outputs_model(self.sample, training=False)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        scalars, histograms = [], []
        for layer, output in zip(layers, outputs, strict=True):
            values = np.asarray(keras.ops.convert_to_numpy(output)).astype(np.float32, copy=False)
            name = layer.path.removeprefix(f"{model.name}/")
            dim = 1 if getattr(layer, "data_format", None) == "channels_first" else -1
            scalars.append((f"dead_fraction/{name}", dead_fraction(values, dim)))
            scalars.append((f"saturated_fraction/{name}", saturated_fraction(layer, values)))
            proto = array_histogram(values)
            if proto is not None:
                histograms.append((f"activations/{name}", proto))
        write_summaries(self.writer, step, scalars, histograms)


def dead_fraction(values: np.ndarray, dim: int) -> float:
    """Share of the units (indices along ``dim``) that are 0 for every sample."""
    if values.ndim <= 1:
        return float(np.mean(values == 0)) if values.size else 0.0
    axis = dim % values.ndim
    others = tuple(d for d in range(values.ndim) if d != axis)
    return float(np.mean(~np.any(values != 0, axis=others)))


def saturated_fraction(layer: Any, values: np.ndarray) -> float:
    """Share of the values at the bounds of the layer's activation; 0 when unbounded."""
    name = getattr(getattr(layer, "activation", None), "__name__", "")
    bounds = _SATURATION.get(name)
    if bounds is None or values.size == 0:
        return 0.0
    return float(np.mean(bounds(values)))
