"""Keras 3: ``keras.callbacks.TensorBoard`` on every backend, without TensorFlow.

Example::

    import os
    os.environ["KERAS_BACKEND"] = "torch"  # or "jax", or "tensorflow"

    from lumiboard.keras import TensorBoard

    model.fit(x, y, epochs=5, validation_split=0.2,
              callbacks=[TensorBoard("logs/run1", histogram_freq=1)])

``WatchCallback(writer, log_freq=100, sample=x[:64])`` logs weights, gradients
(torch backend) and activations (see :mod:`lumiboard.integrations.keras_watch`).

Needs Keras 3 (``pip install "lumiboard[keras]"``); see
:mod:`lumiboard.integrations.keras_callback` for what is written where.
"""

from lumiboard.integrations.keras_callback import TensorBoard
from lumiboard.integrations.keras_watch import WatchCallback

__all__ = ["TensorBoard", "WatchCallback"]
