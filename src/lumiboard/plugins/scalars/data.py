"""Reading scalars (plugin ``scalars``, data class SCALAR).

A scalar is a rank-0 tensor with ``scalars`` metadata. torch and tensorboardX
write ``simple_value`` instead; TensorBoard's ``data_compat`` upgrades it to a
float32 rank-0 tensor, which :func:`migrate` reproduces.
"""

from __future__ import annotations

from lumiboard.format.proto import plugin_data_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from lumiboard.format.tensors import decode_tensor, num_elements
from lumiboard.plugins.base import (
    DataClass,
    PluginData,
    Value,
    legacy_metadata,
    with_data_class,
)

PLUGIN_NAME = "scalars"
_CONTENT = plugin_data_pb2.ScalarPluginData(version=0).SerializeToString()


def migrate(value: Value) -> Value:
    """``simple_value`` -> float32 rank-0 tensor; a tensor value gets its data class.

    As ``data_compat._migrate_scalar_value``: the display name defaults to the
    tag, the description is kept, the content is ``ScalarPluginData(version=0)``.
    The value is written as one ``float_val``, as TensorBoard's
    ``make_tensor_proto`` does for a single float.
    """
    if value.WhichOneof("value") != "simple_value":
        return with_data_class(value, DataClass.SCALAR)
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_FLOAT,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(),
        float_val=[value.simple_value],
    )
    metadata = legacy_metadata(value, PLUGIN_NAME, _CONTENT, DataClass.SCALAR)
    return Value(tag=value.tag, metadata=metadata, tensor=tensor)


def decode_scalar(tensor: tensor_pb2.TensorProto) -> float:
    """The one number a scalar tensor holds (float32, float64 or integer).

    Raises ValueError when the tensor does not hold exactly one number; its
    shape is checked before anything is decoded.
    """
    if num_elements(tensor) != 1:
        shape = [dim.size for dim in tensor.tensor_shape.dim]
        raise ValueError(f"a scalar holds one number, got shape {shape}")
    if not tensor.tensor_content and not tensor.tensor_shape.dim:
        # Fast path for the common single-value forms.
        if tensor.dtype == types_pb2.DT_FLOAT and len(tensor.float_val) == 1:
            return float(tensor.float_val[0])
        if tensor.dtype == types_pb2.DT_DOUBLE and len(tensor.double_val) == 1:
            return float(tensor.double_val[0])
    array = decode_tensor(tensor)
    if array.size != 1 or array.dtype.kind not in "biuf":
        raise ValueError(f"a scalar holds one number, got {array.dtype} {list(array.shape)}")
    return float(array.reshape(-1)[0])


PLUGIN_DATA = PluginData(
    name=PLUGIN_NAME,
    data_class=DataClass.SCALAR,
    default_samples=None,
    legacy_field="simple_value",
    migrate=migrate,
)
