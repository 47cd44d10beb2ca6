"""Reading meshes (plugin ``mesh``, data class TENSOR).

One mesh is up to three series, ``<name>_VERTEX``, ``<name>_FACE`` and
``<name>_COLOR``, each a ``[B, N, 3]`` tensor whose ``MeshPluginData`` names
the mesh, its part and the parts present (``tb:plugins/mesh/metadata.py``).
"""

from __future__ import annotations

from lumiboard.format.proto import mesh_pb2
from lumiboard.plugins.base import DataClass, PluginData, Value, with_data_class

PLUGIN_NAME = "mesh"
ContentType = mesh_pb2.MeshPluginData.ContentType
#: Every part, the ``components`` TensorBoard assumes for data written without one.
ALL_COMPONENTS = (
    (1 << mesh_pb2.MeshPluginData.VERTEX)
    | (1 << mesh_pb2.MeshPluginData.FACE)
    | (1 << mesh_pb2.MeshPluginData.COLOR)
)


def migrate(value: Value) -> Value:
    """A mesh value gets its data class, as ``dataclass_compat`` does."""
    return with_data_class(value, DataClass.TENSOR)


def parse_plugin_data(content: bytes) -> mesh_pb2.MeshPluginData:
    """The ``MeshPluginData`` of a series, as ``metadata.parse_plugin_metadata``.

    Content from before the ``components`` field (0) gets every part.
    """
    parsed: mesh_pb2.MeshPluginData = mesh_pb2.MeshPluginData.FromString(content)
    if parsed.components == 0:
        parsed.components = ALL_COMPONENTS
    return parsed


def component_names(components: int) -> tuple[str, ...]:
    """The parts a ``components`` bitmask names, e.g. ``("VERTEX", "FACE")``."""
    return tuple(
        name
        for name, number in ContentType.items()
        if number != mesh_pb2.MeshPluginData.UNDEFINED and components & (1 << number)
    )


def instance_tag(name: str, content_type: int) -> str:
    """The tag of one part's series: ``<name>_VERTEX`` and so on."""
    return f"{name}_{ContentType.Name(content_type)}"


PLUGIN_DATA = PluginData(
    name=PLUGIN_NAME, data_class=DataClass.TENSOR, default_samples=100, migrate=migrate
)
