"""Encoding of text (plugin ``text``): string tensors rendered as markdown."""

from __future__ import annotations

import numpy as np

from lumiboard.format.proto import plugin_data_pb2, summary_pb2
from lumiboard.format.values import DataClass, make_metadata, tensor_value

PLUGIN_NAME = "text"


def text_value(tag: str, data: object, description: str | None = None) -> summary_pb2.Summary.Value:
    """A string tensor of any rank; ``data`` is a str, bytes or an array of them."""
    array = np.asarray(data)
    if array.dtype.kind not in "USO":
        raise TypeError(f"text must be a string or an array of strings, got {array.dtype}")
    if array.dtype.kind == "O" and not all(
        isinstance(item, (str, bytes)) for item in array.reshape(-1).tolist()
    ):
        raise TypeError("text must hold only str or bytes")
    metadata = make_metadata(
        PLUGIN_NAME,
        plugin_data_pb2.TextPluginData(version=0).SerializeToString(),
        DataClass.DATA_CLASS_TENSOR,
        description=description,
    )
    return tensor_value(tag, array, metadata)


def torch_text_value(tag: str, text: str) -> summary_pb2.Summary.Value:
    """``add_text``: a shape-[1] string tensor under ``<tag>/text_summary``, as torch does."""
    if not isinstance(text, str):
        raise TypeError(f"text_string must be a str, not {type(text).__name__}")
    return text_value(f"{tag}/text_summary", np.asarray([text], dtype=object))
