"""Reading images (plugin ``images``, data class BLOB_SEQUENCE).

The modern form is a string tensor ``[width, height, image_1, ..., image_n]``
(width first, as ``tf.summary.image`` writes it). torch and tensorboardX write
a legacy ``Summary.Image``; :func:`migrate` upgrades it as TensorBoard's
``data_compat._migrate_image_value`` does.
"""

from __future__ import annotations

from lumiboard.format.proto import plugin_data_pb2, tensor_pb2, types_pb2
from lumiboard.format.tensors import encode_shape
from lumiboard.plugins.base import (
    DataClass,
    PluginData,
    Value,
    legacy_metadata,
    with_data_class,
)

PLUGIN_NAME = "images"
_CONTENT = plugin_data_pb2.ImagePluginData(version=0, converted_to_tensor=True).SerializeToString()

# Leading bytes of each format TensorBoard names (tb:util/img_mime_type_detector.py,
# which asks Pillow; these are the signatures Pillow's plugins accept).
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
DEFAULT_MIME_TYPE = "application/octet-stream"


def migrate(value: Value) -> Value:
    """``image`` -> ``[width, height, encoded]`` string tensor with
    ``ImagePluginData(converted_to_tensor=True)``; a tensor value gets its
    data class, as ``dataclass_compat`` does."""
    if value.WhichOneof("value") != "image":
        return with_data_class(value, DataClass.BLOB_SEQUENCE)
    image = value.image
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        tensor_shape=encode_shape([3]),
        string_val=[
            str(image.width).encode(),
            str(image.height).encode(),
            image.encoded_image_string,
        ],
    )
    metadata = legacy_metadata(value, PLUGIN_NAME, _CONTENT, DataClass.BLOB_SEQUENCE)
    return Value(tag=value.tag, metadata=metadata, tensor=tensor)


def blob_count(tensor: tensor_pb2.TensorProto) -> int:
    """The number of images: every string after width and height."""
    return max(0, len(tensor.string_val) - 2)


def read_blob(tensor: tensor_pb2.TensorProto, index: int) -> bytes:
    """Image ``index`` (0-based) of ``tensor``, encoded (PNG, GIF, JPEG...)."""
    if not 0 <= index < blob_count(tensor):
        raise IndexError(f"image {index} of {blob_count(tensor)}")
    blob: bytes = tensor.string_val[2 + index]
    return blob


def image_size(tensor: tensor_pb2.TensorProto) -> tuple[int, int]:
    """``(width, height)`` as written in the tensor's first two strings."""
    if len(tensor.string_val) < 2:
        raise ValueError("an image tensor starts with width and height")
    try:
        return int(tensor.string_val[0]), int(tensor.string_val[1])
    except ValueError:
        raise ValueError("an image tensor's width and height must be integers") from None


def detect_mime_type(data: bytes) -> str:
    """The MIME type TensorBoard serves an image with, from its leading bytes.

    PNG, JPEG, GIF (so ``add_video``'s animations play) and BMP; anything else
    is ``application/octet-stream``.
    """
    for signature, mime_type in _SIGNATURES:
        if data.startswith(signature):
            return mime_type
    return DEFAULT_MIME_TYPE


PLUGIN_DATA = PluginData(
    name=PLUGIN_NAME,
    data_class=DataClass.BLOB_SEQUENCE,
    default_samples=1000,
    legacy_field="image",
    migrate=migrate,
    blob_count=blob_count,
    read_blob=read_blob,
)
