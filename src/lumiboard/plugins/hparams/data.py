"""Reading hyperparameter summaries (plugin ``hparams``, data class TENSOR).

The data lives in the metadata's ``HParamsPluginData`` (an experiment, a
session start or a session end); the tensor is TensorBoard's ``NULL_TENSOR``,
float32 of shape ``[0]``. torch and tensorboardX write the metadata without
any tensor; ``dataclass_compat._migrate_hparams_value`` fills the empty tensor
in, and so does :func:`migrate`.
"""

from __future__ import annotations

from lumiboard.format.proto import hparams_pb2, tensor_pb2, types_pb2
from lumiboard.format.tensors import encode_shape
from lumiboard.plugins.base import DataClass, PluginData, Value, with_data_class

PLUGIN_NAME = "hparams"
EXPERIMENT_TAG = "_hparams_/experiment"
SESSION_START_INFO_TAG = "_hparams_/session_start_info"
SESSION_END_INFO_TAG = "_hparams_/session_end_info"
#: The only ``HParamsPluginData.version`` TensorBoard reads.
VERSION = 0
NULL_TENSOR = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=encode_shape([0]))


def migrate(value: Value) -> Value:
    """An hparams value gets its data class, and NULL_TENSOR if it has no tensor."""
    fixed = with_data_class(value, DataClass.TENSOR)
    if fixed.HasField("tensor"):
        return fixed
    if fixed is value:
        fixed = Value()
        fixed.CopyFrom(value)
    fixed.tensor.CopyFrom(NULL_TENSOR)
    return fixed


def parse_plugin_data(content: bytes) -> hparams_pb2.HParamsPluginData:
    """The ``HParamsPluginData`` of a series' metadata.

    Raises ValueError for a version other than 0, as TensorBoard's
    ``metadata._parse_plugin_data_as`` refuses it.
    """
    parsed: hparams_pb2.HParamsPluginData = hparams_pb2.HParamsPluginData.FromString(content)
    if parsed.version != VERSION:
        raise ValueError(f"hparams plugin data version {parsed.version} (only {VERSION} is read)")
    return parsed


def data_kind(content: bytes) -> str | None:
    """Which of ``experiment``, ``session_start_info``, ``session_end_info`` is set."""
    kind: str | None = parse_plugin_data(content).WhichOneof("data")
    return kind


PLUGIN_DATA = PluginData(
    name=PLUGIN_NAME, data_class=DataClass.TENSOR, default_samples=100, migrate=migrate
)
