"""Building blocks of ``Summary.Value`` shared by every plugin's encoder."""

from __future__ import annotations

import numpy as np

from lumiboard.format.proto import summary_pb2
from lumiboard.format.tensors import encode_tensor

DataClass = summary_pb2.DataClass


def make_metadata(
    plugin_name: str,
    content: bytes = b"",
    data_class: int = DataClass.DATA_CLASS_UNKNOWN,
    display_name: str | None = None,
    description: str | None = None,
) -> summary_pb2.SummaryMetadata:
    """The ``SummaryMetadata`` that tells readers which plugin owns a value."""
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=plugin_name, content=content
        ),
        data_class=data_class,  # type: ignore[arg-type]
        display_name=display_name or "",
        summary_description=description or "",
    )


def tensor_value(
    tag: str, array: np.ndarray, metadata: summary_pb2.SummaryMetadata
) -> summary_pb2.Summary.Value:
    """A ``Summary.Value`` carrying ``array`` as a TensorProto."""
    return summary_pb2.Summary.Value(tag=tag, tensor=encode_tensor(array), metadata=metadata)


def check_tag(tag: object, name: str = "tag") -> str:
    """Return ``tag`` if it is a non-empty string; raise ``TypeError``/``ValueError``."""
    if not isinstance(tag, str):
        raise TypeError(f"{name} must be a str, not {type(tag).__name__}")
    if not tag:
        raise ValueError(f"{name} must not be empty")
    return tag
