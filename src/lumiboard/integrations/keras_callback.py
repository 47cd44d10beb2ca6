"""``keras.callbacks.TensorBoard`` without TensorFlow, on every Keras 3 backend.

Keras 3's own callback writes through ``tensorflow.summary`` whatever the backend,
so it needs TensorFlow installed even to train with JAX or PyTorch
(keras-team/keras#19121). This one has the same constructor and writes the same
runs, tags and steps with lumiboard's TF2-style writer
(:mod:`lumiboard.writer.functional`: ``.v2`` event files, tensor summaries as
``tf.summary`` writes them)::

    <log_dir>/train        epoch_<metric> at epoch e (0-based), epoch_learning_rate,
                           epoch_steps_per_second, batch_<metric> and batch_steps_per_second
                           at the global batch (1-based), <weight path>/histogram and
                           <weight path>/image at epoch e, "keras" (the model's JSON) at 0
    <log_dir>/validation   epoch_<metric> (val_ stripped) at epoch e,
                           evaluation_<metric>_vs_iterations at optimizer.iterations

Where it differs from Keras 3.15's, on purpose:

- With an integer ``update_freq`` Keras leaves ``tf.summary.record_if`` set by the
  last batch when it writes the epoch summaries, so epoch scalars, histograms and
  evaluation scalars are dropped unless the epoch's last batch number is a multiple
  of ``update_freq`` (tensorflow/tensorboard#4975). Here they are always written.
- ``profile_batch`` works on the torch backend too, with PyTorch's profiler
  (:mod:`lumiboard.integrations.keras_profiler`), and on JAX under Python 3.11.
- Embeddings are written as the Projector can show them
  (:mod:`lumiboard.integrations.keras_embeddings`), not as an HDF5 checkpoint.
- When profiling, Keras's TensorFlow backend also exports the traced ``tf.function``
  graph under the tag ``batch_<stop>``; there is no such graph on the other backends,
  and none is written.
- ``update_freq`` other than "batch", "epoch" or a positive integer is refused at once.

Keras is imported with this module; TensorFlow never is (on the tensorflow backend
the profiler uses the TensorFlow that Keras already loaded).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

try:
    import keras  # type: ignore[import-untyped]
except ImportError as error:
    if error.name == "tensorflow" or "tensorflow" in str(error):
        raise ImportError(
            "Keras's backend is tensorflow (its default) but TensorFlow is not installed: "
            "set KERAS_BACKEND=jax or KERAS_BACKEND=torch (or install tensorflow)"
        ) from error
    raise ImportError('lumiboard.keras needs Keras 3: pip install "lumiboard[keras]"') from error

from lumiboard.format.arrays import to_float
from lumiboard.format.values import make_metadata, tensor_value
from lumiboard.integrations import keras_embeddings
from lumiboard.integrations.keras_profiler import BatchProfiler, parse_profile_batch
from lumiboard.plugins.histograms import summary as histograms
from lumiboard.plugins.images import summary as images
from lumiboard.plugins.scalars import summary as scalars
from lumiboard.writer import fs
from lumiboard.writer.functional import SummaryFileWriter

if not keras.__version__.startswith("3."):
    raise ImportError(
        f'lumiboard.keras needs Keras 3 (found {keras.__version__}): pip install "lumiboard[keras]"'
    )

__all__ = ["TensorBoard"]

#: Keras's plugin name and version for the model config (the Graphs dashboard's conceptual graph).
KERAS_MODEL_PLUGIN = "graph_keras_model"


class TensorBoard(keras.callbacks.Callback):  # type: ignore[misc]
    """Log a Keras 3 training for TensorBoard or lumiboard, on any backend, without TensorFlow.

    A drop-in for ``keras.callbacks.TensorBoard``: same arguments, same defaults,
    same runs and tags.

    Args:
        log_dir: Where to write: ``<log_dir>/train`` and ``<log_dir>/validation``.
        histogram_freq: Every how many epochs to log weight histograms (0: never).
        write_graph: Log the model's config, the conceptual graph of the Graphs dashboard.
        write_images: With ``histogram_freq``, also log the weights as images.
        write_steps_per_second: Log training steps per second (per epoch, and per
            batch when ``update_freq`` is not "epoch").
        update_freq: ``"epoch"``, ``"batch"`` or N: also log the batch metrics every N
            batches (the step is the global batch number, from 1).
        profile_batch: Batches to profile with the backend's profiler: N, ``(start,
            stop)`` or ``"start,stop"`` (global batch numbers, from 1); 0 for none.
        embeddings_freq: Every how many epochs to write the Embedding layers for the
            Projector (0: never).
        embeddings_metadata: A metadata file (labels, relative to ``log_dir``) per
            Embedding layer name, or one file for all of them.

    Example::

        from lumiboard.keras import TensorBoard

        model.fit(x, y, epochs=5, validation_split=0.2,
                  callbacks=[TensorBoard("logs/run1", histogram_freq=1)])
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str] = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: str | int = "epoch",
        profile_batch: int | str | tuple[int, int] | list[int] = 0,
        embeddings_freq: int = 0,
        embeddings_metadata: str | Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.log_dir = fs.normalize(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq: str | int = 1 if update_freq == "batch" else update_freq
        if self.update_freq != "epoch" and not (
            isinstance(self.update_freq, int) and self.update_freq > 0
        ):
            raise ValueError(
                f'update_freq must be "batch", "epoch" or a positive integer, got {update_freq!r}'
            )
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._start_batch, self._stop_batch = parse_profile_batch(profile_batch)
        self._profiler: BatchProfiler | None = None
        if (self._start_batch, self._stop_batch) != (0, 0):
            self._profiler = BatchProfiler(keras.backend.backend())
            if self._start_batch > 0:
                self._profiler.warm_up()
        self._is_tracing = False
        self._global_train_batch = 0
        self._previous_epoch_iterations = 0.0
        self._epoch_start_time = 0.0
        self._batch_start_time = 0.0
        self._training = False
        self._writers: dict[str, SummaryFileWriter] = {}
        self._train_dir = fs.join(self.log_dir, "train")
        self._val_dir = fs.join(self.log_dir, "validation")

    # ---- writers ------------------------------------------------------------------------

    def _writer(self, run: str) -> SummaryFileWriter:
        # Created on first use, as Keras does, so that no empty run appears.
        writer = self._writers.get(run)
        if writer is None:
            writer = SummaryFileWriter(self._train_dir if run == "train" else self._val_dir)
            self._writers[run] = writer
        return writer

    def _scalar(self, run: str, tag: str, value: Any, step: int) -> None:
        self._writer(run).write_values([scalars.tensor_scalar_value(tag, to_float(value))], step)

    def _close_writers(self) -> None:
        writers, self._writers = self._writers, {}
        for writer in writers.values():
            writer.close()

    def _batch_step_recorded(self) -> bool:
        return (
            isinstance(self.update_freq, int) and self._global_train_batch % self.update_freq == 0
        )

    # ---- Keras hooks ----------------------------------------------------------------------

    def set_model(self, model: Any) -> None:
        """Keep the model and write its config (the conceptual graph) if ``write_graph``."""
        super().set_model(model)
        if self.write_graph:
            self._write_keras_model()
        if self.embeddings_freq:
            names = [
                layer.name for layer in model.layers if isinstance(layer, keras.layers.Embedding)
            ]
            keras_embeddings.check_metadata(self.embeddings_metadata, names)

    def on_train_begin(self, logs: Any = None) -> None:
        self._training = True
        self._global_train_batch = 0
        self._previous_epoch_iterations = 0.0

    def on_train_end(self, logs: Any = None) -> None:
        self._training = False
        if self._is_tracing:
            self._stop_trace()
        self._close_writers()

    def on_test_end(self, logs: Any = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "iterations") and logs:
            step = int(keras.ops.convert_to_numpy(optimizer.iterations))
            for name, value in logs.items():
                self._scalar("val", f"evaluation_{name}_vs_iterations", value, step)
        if self._training:
            self._writer("val").flush()
        else:  # model.evaluate alone: nothing would close the files
            self._close_writers()

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()
        if self._profiler is None:
            return
        if self._global_train_batch == self._start_batch:
            self._profiler.start(self._train_dir)
            self._is_tracing = True
        if self._is_tracing:
            self._profiler.begin_batch(batch)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if self._batch_step_recorded():
            step = self._global_train_batch
            if self.write_steps_per_second:
                rate = 1.0 / max(time.time() - self._batch_start_time, 1e-9)
                self._scalar("train", "batch_steps_per_second", rate, step)
            if isinstance(logs, dict):
                for name, value in logs.items():
                    self._scalar("train", f"batch_{name}", value, step)
        if self._profiler is not None and self._is_tracing:
            self._profiler.end_batch()
            if self._global_train_batch >= self._stop_batch:
                self._stop_trace()

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if self.write_steps_per_second:
            iterations = keras.ops.convert_to_numpy(self.model.optimizer.iterations)
            self._previous_epoch_iterations = float(iterations)
            self._epoch_start_time = time.time()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        """Write the epoch's metrics, then histograms and embeddings when due."""
        self._log_epoch_metrics(epoch, logs)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._log_embeddings(epoch)
        for writer in self._writers.values():
            writer.flush()

    # ---- what is written ------------------------------------------------------------------

    def _stop_trace(self) -> None:
        if self._profiler is not None:
            self._profiler.stop()
        self._is_tracing = False

    def _write_keras_model(self) -> None:
        # As Keras: only Functional and Sequential models, whose JSON describes the graph.
        model = self.model
        if type(model).__name__ not in ("Functional", "Sequential"):
            return
        try:
            json_string = model.to_json()
        except Exception as error:  # a model that cannot be serialized must still train
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {error}", stacklevel=2)
            return
        metadata = make_metadata(KERAS_MODEL_PLUGIN, b"1")
        value = tensor_value("keras", np.asarray(json_string, dtype=object), metadata)
        writer = self._writer("train")
        writer.write_values([value], 0)
        writer.flush()

    def _learning_rates(self) -> dict[str, float]:
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
        if hasattr(optimizer, "optimizers"):
            return {
                f"learning_rate_{inner.name}": float(
                    keras.ops.convert_to_numpy(inner.learning_rate)
                )
                for inner in optimizer.optimizers
            }
        if isinstance(optimizer, keras.optimizers.Optimizer):
            return {"learning_rate": float(keras.ops.convert_to_numpy(optimizer.learning_rate))}
        return {}

    def _steps_per_second(self) -> float:
        iterations = float(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        elapsed = max(time.time() - self._epoch_start_time, 1e-9)
        return (iterations - self._previous_epoch_iterations) / elapsed

    def _log_epoch_metrics(self, epoch: int, logs: Any) -> None:
        if not logs:
            return
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        train_logs.update(self._learning_rates())
        if self.write_steps_per_second:
            train_logs["steps_per_second"] = self._steps_per_second()
        for name, value in train_logs.items():
            self._scalar("train", f"epoch_{name}", value, epoch)
        for name, value in val_logs.items():
            self._scalar("val", f"epoch_{name}", value, epoch)

    def _log_weights(self, epoch: int) -> None:
        values = []
        for layer in self.model.layers:
            for weight in layer.weights:
                # The full path (model/dense/kernel), so that layers never collide.
                name = weight.path.replace(":", "_")
                array = keras.ops.convert_to_numpy(weight)
                values.append(histograms.tensor_histogram_value(f"{name}/histogram", array))
                if self.write_images:
                    image = weight_image(array, keras.config.image_data_format())
                    if image is not None:
                        values.append(images.image_tensor_value(f"{name}/image", image))
        if values:
            # One event per value, as tf.summary writes them.
            writer = self._writer("train")
            for value in values:
                writer.write_values([value], epoch)

    def _log_embeddings(self, epoch: int) -> None:
        matrices = [
            (
                layer.name,
                np.asarray(keras.ops.convert_to_numpy(layer.embeddings), dtype=np.float32),
                keras_embeddings.metadata_path(self.embeddings_metadata, layer.name, self.log_dir),
            )
            for layer in self.model.layers
            if isinstance(layer, keras.layers.Embedding)
        ]
        if matrices:
            keras_embeddings.write_embeddings(self._train_dir, matrices, epoch)


def weight_image(weight: np.ndarray, data_format: str) -> np.ndarray | None:
    """A weight as Keras's callback shows it: ``[k, h, w, 1]``, or None when it cannot be.

    A vector is one column, a matrix is laid with its longer side across, a 3-D
    (conv) kernel is one image per output channel; anything else has no image.
    """
    image = np.squeeze(weight)
    if image.ndim == 1:
        image = image.reshape(1, image.shape[0], 1, 1)
    elif image.ndim == 2:
        if image.shape[0] > image.shape[1]:
            image = image.T
        image = image.reshape(1, image.shape[0], image.shape[1], 1)
    elif image.ndim == 3:
        if data_format == "channels_last":
            image = np.transpose(image, (2, 0, 1))
        image = image.reshape(image.shape[0], image.shape[1], image.shape[2], 1)
    if image.ndim == 4 and image.shape[-1] in (1, 3, 4):
        return image
    return None
