"""Encoding of meshes and point clouds (plugin ``mesh``).

One mesh is up to three values, tagged ``<tag>_VERTEX``, ``<tag>_FACE`` and
``<tag>_COLOR``, each a ``[B, N, 3]`` tensor whose ``MeshPluginData`` names the
mesh, its part, and a bitmask of the parts present.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np

from lumiboard.format.proto import mesh_pb2, summary_pb2
from lumiboard.format.values import DataClass, make_metadata, tensor_value

PLUGIN_NAME = "mesh"
_Content = mesh_pb2.MeshPluginData.ContentType


def mesh_values(
    tag: str,
    vertices: np.ndarray,
    colors: np.ndarray | None = None,
    faces: np.ndarray | None = None,
    config_dict: Mapping[str, object] | None = None,
    display_name: str | None = None,
    description: str | None = None,
) -> list[summary_pb2.Summary.Value]:
    """The values of one mesh; ``colors`` and ``faces`` are optional."""
    parts = [
        (name, array, content)
        for name, array, content in (
            ("vertices", vertices, _Content.VERTEX),
            ("faces", faces, _Content.FACE),
            ("colors", colors, _Content.COLOR),
        )
        if array is not None
    ]
    components = 0
    for _, _, content in parts:
        components |= 1 << content
    json_config = json.dumps(dict(config_dict), sort_keys=True) if config_dict else "{}"
    values = []
    for name, array, content in parts:
        data = np.asarray(array)
        if data.ndim != 3 or data.shape[-1] != 3:
            raise ValueError(f"{name} must be [B, N, 3], got {list(data.shape)}")
        plugin_data = mesh_pb2.MeshPluginData(
            version=0,
            name=tag,
            content_type=content,
            components=components,
            shape=list(data.shape),
            json_config=json_config,
        )
        metadata = make_metadata(
            PLUGIN_NAME,
            plugin_data.SerializeToString(),
            DataClass.DATA_CLASS_TENSOR,
            display_name=display_name,
            description=description,
        )
        instance = f"{tag}_{_Content.Name(content)}"
        values.append(tensor_value(instance, data.astype(np.float32), metadata))
    return values
