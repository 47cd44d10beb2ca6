"""Reading graphs (plugin ``graphs``, data class BLOB_SEQUENCE).

Graphs do not come as ordinary summaries. ``Event.graph_def`` (torch's
``add_graph``, TF's ``tf.summary.graph``) and ``Event.tagged_run_metadata``
are turned into blob values by TensorBoard's ``dataclass_compat``: the graph
under the tag :data:`RUN_GRAPH_TAG` with plugin ``graphs``, run metadata under
its own tag with plugin :data:`PLUGIN_NAME_TAGGED_RUN_METADATA`;
:func:`event_values` does the same. TF's ``trace_export`` and Keras write
summaries under the other ``graph_*`` plugin names (``tb:plugins/graph/metadata.py``),
which this plugin reads too (:attr:`PluginData.aliases`).
"""

from __future__ import annotations

from lumiboard.format.proto import event_pb2, summary_pb2, tensor_pb2, types_pb2
from lumiboard.format.tensors import encode_shape
from lumiboard.plugins.base import DataClass, Metadata, PluginData, Value, with_data_class

PLUGIN_NAME = "graphs"
#: The tag of a run's ``graph_def`` (TensorBoard's ``RUN_GRAPH_NAME``).
RUN_GRAPH_TAG = "__run_graph__"
#: ``trace_export`` with profiling: run metadata holding a graph and a profile.
PLUGIN_NAME_RUN_METADATA = "graph_run_metadata"
#: ``trace_export`` without profiling: run metadata holding the op graph.
PLUGIN_NAME_RUN_METADATA_WITH_GRAPH = "graph_run_metadata_graph"
#: Keras' model config as JSON, the conceptual graph.
PLUGIN_NAME_KERAS_MODEL = "graph_keras_model"
#: ``Event.tagged_run_metadata`` (torch's ``add_graph`` writes one: step stats).
PLUGIN_NAME_TAGGED_RUN_METADATA = "graph_tagged_run_metadata"
_MADE_BY_THE_READER = (PLUGIN_NAME, PLUGIN_NAME_TAGGED_RUN_METADATA)


def migrate(value: Value) -> Value:
    """A ``graph_*`` summary gets its data class and, if rank 0, shape ``[1]``.

    As ``dataclass_compat._migrate_graph_sub_plugin_value``, which TensorBoard
    applies to the three TF plugin names. A ``graphs`` or tagged-run-metadata
    value is left alone, as there (TensorBoard makes those with a data class);
    only a later value of such a series without metadata cannot be told apart.
    """
    if value.metadata.plugin_data.plugin_name in _MADE_BY_THE_READER:
        return value
    fixed = with_data_class(value, DataClass.BLOB_SEQUENCE)
    if fixed.tensor.tensor_shape.dim:
        return fixed
    if fixed is value:
        fixed = Value()
        fixed.CopyFrom(value)
    fixed.tensor.tensor_shape.dim.add(size=1)
    return fixed


def _blob_value(tag: str, plugin_name: str, blob: bytes) -> Value:
    return Value(
        tag=tag,
        tensor=tensor_pb2.TensorProto(
            dtype=types_pb2.DT_STRING, tensor_shape=encode_shape([1]), string_val=[blob]
        ),
        metadata=Metadata(
            plugin_data=Metadata.PluginData(plugin_name=plugin_name),
            data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
        ),
    )


def run_graph_value(graph_def: bytes) -> Value:
    """The value TensorBoard makes of an ``Event.graph_def`` (a serialized GraphDef)."""
    return _blob_value(RUN_GRAPH_TAG, PLUGIN_NAME, graph_def)


def tagged_run_metadata_value(tag: str, run_metadata: bytes) -> Value:
    """The value TensorBoard makes of an ``Event.tagged_run_metadata``."""
    return _blob_value(tag, PLUGIN_NAME_TAGGED_RUN_METADATA, run_metadata)


def event_values(event: event_pb2.Event) -> list[Value]:
    """The values a graph or run-metadata event stands for (none for others).

    TensorBoard also keeps the ``graph_def`` event itself for its legacy
    graph loader; the reader needs only the value.
    """
    what = event.WhichOneof("what")
    if what == "graph_def":
        return [run_graph_value(event.graph_def)]
    if what == "tagged_run_metadata":
        trm = event.tagged_run_metadata
        return [tagged_run_metadata_value(trm.tag, trm.run_metadata)]
    return []


def blob_count(tensor: tensor_pb2.TensorProto) -> int:
    """The number of blobs (one graph or run metadata per value)."""
    return len(tensor.string_val)


def read_blob(tensor: tensor_pb2.TensorProto, index: int) -> bytes:
    """Blob ``index``: a serialized GraphDef, RunMetadata or Keras JSON."""
    if not 0 <= index < blob_count(tensor):
        raise IndexError(f"blob {index} of {blob_count(tensor)}")
    blob: bytes = tensor.string_val[index]
    return blob


PLUGIN_DATA = PluginData(
    name=PLUGIN_NAME,
    data_class=DataClass.BLOB_SEQUENCE,
    default_samples=None,
    migrate=migrate,
    blob_count=blob_count,
    read_blob=read_blob,
    aliases=(
        PLUGIN_NAME_RUN_METADATA,
        PLUGIN_NAME_RUN_METADATA_WITH_GRAPH,
        PLUGIN_NAME_KERAS_MODEL,
        PLUGIN_NAME_TAGGED_RUN_METADATA,
    ),
)
