"""Reading text (plugin ``text``, data class TENSOR).

A string tensor of any rank; TensorBoard renders a scalar as markdown and
1-D or 2-D arrays as tables, cutting higher ranks to 2-D
(``tb:plugins/text/text_plugin.py``).
"""

from __future__ import annotations

import numpy as np

from lumiboard.plugins.base import DataClass, PluginData, Value, with_data_class

PLUGIN_NAME = "text"


def migrate(value: Value) -> Value:
    """A text value gets its data class, as ``dataclass_compat`` does."""
    return with_data_class(value, DataClass.TENSOR)


def decode_text(array: np.ndarray) -> np.ndarray:
    """A string array of bytes as an object array of ``str``, shape kept.

    UTF-8, as TensorBoard decodes it; invalid bytes become U+FFFD where
    TensorBoard would fail the request.
    """
    source = np.asarray(array)
    texts = np.empty(source.shape, dtype=object)
    flat = texts.reshape(-1)
    for index, item in enumerate(source.reshape(-1).tolist()):
        flat[index] = item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
    return texts


def reduce_to_2d(array: np.ndarray) -> np.ndarray:
    """TensorBoard's cut of a rank > 2 array: index 0 on every leading axis."""
    if array.ndim < 2:
        raise ValueError(f"reduce_to_2d needs at least 2 dimensions, got {array.ndim}")
    reduced: np.ndarray = array[(0,) * (array.ndim - 2)]
    return reduced


PLUGIN_DATA = PluginData(
    name=PLUGIN_NAME, data_class=DataClass.TENSOR, default_samples=100, migrate=migrate
)
