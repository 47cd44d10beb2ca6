"""Reading meshes (plugin ``mesh``, data class TENSOR).

One mesh is up to three series, ``<name>_VERTEX``, ``<name>_FACE`` and
``<name>_COLOR``, each a ``[B, N, 3]`` tensor whose ``MeshPluginData`` names
the mesh, its part and the parts present (``tb:plugins/mesh/metadata.py``).
"""

from __future__ import annotations

import numpy as np

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


#: (lowest, highest, stand-in for non-finite, wire type) of the integer parts.
_INTEGER_PARTS: dict[int, tuple[int, int, int, str]] = {
    mesh_pb2.MeshPluginData.FACE: (-1, 2**31 - 1, -1, "<i4"),
    mesh_pb2.MeshPluginData.COLOR: (0, 255, 0, "u1"),
}


def encode_part(array: np.ndarray, sample: int, content_type: int) -> bytes:
    """Sample ``sample`` of one part's ``[B, N, 3]`` tensor as TensorBoard serves it.

    Vertices become little-endian float32, faces int32 and colours uint8
    (``mesh_plugin._serve_mesh_data``). Values outside a type's range cannot
    crash the cast: a non-finite or negative face index becomes -1 (an index
    the viewer drops), colours are clipped to [0, 255]. ``IndexError`` when
    there is no such sample, ``ValueError`` when the tensor is not numeric
    ``[B, N, 3]``.
    """
    data = np.asarray(array)
    if data.dtype.kind not in "biuf":
        raise ValueError(f"a mesh part must be numeric, got {data.dtype}")
    if data.ndim == 2:  # [N, 3] from a writer that left the batch out
        data = data[np.newaxis]
    if data.ndim != 3 or data.shape[-1] != 3:
        raise ValueError(f"a mesh part must be [B, N, 3], got {list(data.shape)}")
    if not 0 <= sample < data.shape[0]:
        raise IndexError(f"sample {sample} out of range (this step has {data.shape[0]})")
    part = data[sample].astype(np.float64)
    if content_type == mesh_pb2.MeshPluginData.VERTEX:
        with np.errstate(over="ignore"):  # float64 beyond float32's range: inf
            return bytes(part.astype("<f4").tobytes())
    if content_type not in _INTEGER_PARTS:
        raise ValueError(f"unknown mesh part {content_type}")
    low, high, fill, wire = _INTEGER_PARTS[content_type]
    part = np.clip(np.where(np.isfinite(part), part, fill), low, high)
    return bytes(part.astype(wire).tobytes())
