"""Encoding of scalars (plugin ``scalars``)."""

from __future__ import annotations

import numpy as np

from lumiboard.format.proto import plugin_data_pb2, summary_pb2
from lumiboard.format.values import DataClass, make_metadata, tensor_value

PLUGIN_NAME = "scalars"


def legacy_value(tag: str, value: float) -> summary_pb2.Summary.Value:
    """``simple_value``: what ``torch.utils.tensorboard`` writes by default."""
    return summary_pb2.Summary.Value(tag=tag, simple_value=value)


def tensor_scalar_value(
    tag: str,
    value: float,
    double_precision: bool = False,
    description: str | None = None,
    display_name: str | None = None,
) -> summary_pb2.Summary.Value:
    """A rank-0 float32 (or float64) tensor with ``scalars`` metadata (TF2's form)."""
    array = np.asarray(value, dtype=np.float64 if double_precision else np.float32)
    metadata = make_metadata(
        PLUGIN_NAME,
        plugin_data_pb2.ScalarPluginData(version=0).SerializeToString(),
        DataClass.DATA_CLASS_SCALAR,
        display_name=display_name,
        description=description,
    )
    return tensor_value(tag, array, metadata)
