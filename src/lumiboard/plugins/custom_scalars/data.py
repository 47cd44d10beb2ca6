"""Reading the custom-scalars layout (plugin ``custom_scalars``, data class TENSOR).

A run's layout is one string tensor holding a serialized ``Layout`` under the
tag ``custom_scalars__config__``; the dashboard merges the layouts of all runs
(``tb:plugins/custom_scalar/custom_scalars_plugin.py``, ``layout_impl``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from google.protobuf.message import DecodeError

from lumiboard.format.proto import custom_scalars_pb2, tensor_pb2, types_pb2
from lumiboard.plugins.base import DataClass, PluginData, Value, with_data_class

PLUGIN_NAME = "custom_scalars"
CONFIG_TAG = "custom_scalars__config__"


def migrate(value: Value) -> Value:
    """A layout value gets its data class, as ``dataclass_compat`` does."""
    return with_data_class(value, DataClass.TENSOR)


def parse_layout(tensor: tensor_pb2.TensorProto) -> custom_scalars_pb2.Layout:
    """The ``Layout`` in a layout tensor (one string; TensorBoard takes ``.item()``).

    Raises ValueError when the tensor is not one string or not a Layout.
    """
    if tensor.dtype != types_pb2.DT_STRING or len(tensor.string_val) != 1:
        raise ValueError("a custom-scalars layout is a tensor holding one string")
    try:
        layout: custom_scalars_pb2.Layout = custom_scalars_pb2.Layout.FromString(
            tensor.string_val[0]
        )
    except DecodeError as error:
        raise ValueError(f"not a custom-scalars Layout: {error}") from None
    return layout


def layout_from_array(array: np.ndarray) -> custom_scalars_pb2.Layout:
    """The ``Layout`` in a stored layout value (the decoded string tensor).

    Raises ValueError when the array is not one string or not a Layout.
    """
    if array.size != 1 or not isinstance(array.reshape(-1)[0], bytes):
        raise ValueError("a custom-scalars layout is a tensor holding one string")
    try:
        layout: custom_scalars_pb2.Layout = custom_scalars_pb2.Layout.FromString(
            array.reshape(-1)[0]
        )
    except DecodeError as error:
        raise ValueError(f"not a custom-scalars Layout: {error}") from None
    return layout


def merge_layouts(layouts: Iterable[custom_scalars_pb2.Layout]) -> custom_scalars_pb2.Layout:
    """Merge runs' layouts in order (TensorBoard sorts runs by name first).

    A category title seen before gains the charts it lacks (equal charts are
    skipped); a new title is appended, even within one layout. TensorBoard, after the second layout,
    extends the source category instead of the merged one, losing charts a
    third run adds to it; here they are kept.
    """
    merged = custom_scalars_pb2.Layout()
    by_title: dict[str, custom_scalars_pb2.Category] = {}
    for layout in layouts:
        for category in layout.category:
            target = by_title.get(category.title)
            if target is None:
                target = merged.category.add()
                target.CopyFrom(category)
                by_title[category.title] = target
                continue
            target.chart.extend([chart for chart in category.chart if chart not in target.chart])
    return merged


PLUGIN_DATA = PluginData(
    name=PLUGIN_NAME, data_class=DataClass.TENSOR, default_samples=100, migrate=migrate
)
