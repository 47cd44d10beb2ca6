"""What a plugin declares, and the registry that finds it.

A plugin is one folder named after TensorBoard's ``plugin_data.plugin_name``.
On the reading side it declares, in its ``data.py``, a :class:`PluginData`:
its data class, how many points to keep per series by default, and how its
values are brought to the modern tensor form TensorBoard's reader sees:

- a plugin that owns a legacy ``Summary.Value`` field (``simple_value``,
  ``histo``, ``image``, ``audio``) upgrades values using it
  (``tb:data_compat.py``);
- every plugin fixes up values of its own series whose metadata names no data
  class: it fills the data class in, and e.g. hparams adds the empty tensor
  torch leaves out (``tb:dataclass_compat.py``).

Both are one hook, :attr:`PluginData.migrate`; :func:`migrate_value` decides
when to call it. The ingest code asks the registry; it never tests plugin
names itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any

import numpy as np

from lumiboard.format.proto import summary_pb2, tensor_pb2
from lumiboard.format.tensors import decode_tensor

Value = summary_pb2.Summary.Value
Metadata = summary_pb2.SummaryMetadata


class DataClass(Enum):
    """TensorBoard's three kinds of time series (``SummaryMetadata.data_class``)."""

    SCALAR = summary_pb2.DATA_CLASS_SCALAR
    TENSOR = summary_pb2.DATA_CLASS_TENSOR
    BLOB_SEQUENCE = summary_pb2.DATA_CLASS_BLOB_SEQUENCE


#: Value -> upgraded Value (tensor + metadata); None when it cannot be upgraded.
#: It must not modify its argument; it may return it unchanged.
Migration = Callable[[Value], Value | None]


@dataclass(frozen=True)
class PluginData:
    """A plugin's reading-side declaration (see the module docstring)."""

    name: str
    data_class: DataClass
    #: Points kept per series unless --samples_per_plugin says otherwise
    #: (None: all). Scalars always keep every point.
    default_samples: int | None
    #: The legacy oneof field of Summary.Value this plugin owns, if any.
    legacy_field: str | None = None
    #: Applied (1) to every value whose oneof is ``legacy_field``, and (2) to
    #: every value of a series of this plugin (or of an alias) whose first
    #: metadata has no data class. See :func:`migrate_value`.
    migrate: Migration | None = None
    #: For blob sequences: the number of blobs in one value's tensor...
    blob_count: Callable[[tensor_pb2.TensorProto], int] | None = None
    #: ...and blob i of it (IndexError when out of range).
    read_blob: Callable[[tensor_pb2.TensorProto, int], bytes] | None = None
    #: For tensors: the array kept in the store (default: the whole tensor).
    to_array: Callable[[tensor_pb2.TensorProto], np.ndarray] | None = None
    #: Other ``plugin_name`` values this plugin reads (graphs reads TF's
    #: ``graph_run_metadata`` and friends); the registry maps them here.
    aliases: tuple[str, ...] = ()

    def decode(self, tensor: tensor_pb2.TensorProto) -> np.ndarray:
        """The array kept for ``tensor``: ``to_array``, else the decoded tensor."""
        return self.to_array(tensor) if self.to_array is not None else decode_tensor(tensor)


#: Plugins with a reading side, by name. One line per plugin: adding a plugin
#: means adding its folder and its name here.
PLUGIN_NAMES = (
    "scalars",
    "histograms",
    "images",
    "audio",
    "text",
    "pr_curves",
    "custom_scalars",
    "mesh",
    "hparams",
    "graphs",
)


@cache
def _declarations() -> dict[str, PluginData]:
    found: dict[str, PluginData] = {}
    for name in PLUGIN_NAMES:
        module = importlib.import_module(f"lumiboard.plugins.{name}.data")
        declared = module.PLUGIN_DATA
        if not isinstance(declared, PluginData) or declared.name != name:
            raise TypeError(
                f"lumiboard.plugins.{name}.data.PLUGIN_DATA must be PluginData({name!r})"
            )
        for key in (name, *declared.aliases):
            found[key] = declared
    return found


def plugin_data(name: str) -> PluginData | None:
    """The declaration reading plugin ``name`` (or an alias), None if unknown."""
    return _declarations().get(name)


@cache
def legacy_owners() -> dict[str, PluginData]:
    """Legacy ``Summary.Value`` field name -> the plugin that upgrades it."""
    owners = {}
    for name in PLUGIN_NAMES:
        declared = plugin_data(name)
        if declared is not None and declared.legacy_field:
            owners[declared.legacy_field] = declared
    return owners


def migrate_value(value: Value, first: Metadata | None = None) -> Value | None:
    """``value`` in the modern form, as TensorBoard's reader makes it.

    TensorBoard runs ``data_compat.migrate_value`` and then
    ``dataclass_compat``; so do we, through the plugins:

    1. a legacy oneof (``simple_value``, ``histo``, ``image``, ``audio``) is
       upgraded by its owner, metadata and data class included;
    2. otherwise, if the series' first metadata has no data class, the plugin
       it names fixes the value up; a series that declares one is left as is.

    ``first`` is the series' first metadata *as read from disk*, before this
    function (TensorBoard keeps that copy, so an audio series is projected
    value after value); None when ``value`` is the first, whose own metadata
    then counts. One deviation: a legacy value in a series that began as a
    tensor with a data class gets its data class too (TensorBoard leaves it
    unset there, but only the first metadata of a series is kept anyway).

    ``value`` is not modified. None means it cannot be upgraded (e.g. a
    HistogramProto with too few bucket limits, on which TensorBoard raises).
    """
    owner = legacy_owners().get(value.WhichOneof("value") or "")
    if owner is not None and owner.migrate is not None:
        return owner.migrate(value)
    series = value.metadata if first is None else first
    if series.data_class != summary_pb2.DATA_CLASS_UNKNOWN:
        return value
    declared = plugin_data(series.plugin_data.plugin_name)
    if declared is None or declared.migrate is None:
        return value
    return declared.migrate(value)


def legacy_metadata(
    value: Value, plugin_name: str, content: bytes, data_class: DataClass
) -> Metadata:
    """The metadata TensorBoard gives an upgraded legacy value.

    As ``data_compat``: the display name defaults to the tag, the description
    is kept, the plugin's content replaces any other; and the data class, as
    ``dataclass_compat`` then fills it in.
    """
    return Metadata(
        display_name=value.metadata.display_name or value.tag,
        summary_description=value.metadata.summary_description,
        plugin_data=Metadata.PluginData(plugin_name=plugin_name, content=content),
        data_class=data_class.value,
    )


def with_data_class(value: Value, data_class: DataClass) -> Value:
    """``dataclass_compat``'s fix-up: the data class set on the value's metadata.

    Only a value that carries metadata gets it (writers drop metadata after
    a series' first value). A copy is returned when anything changes.
    """
    if not value.HasField("metadata") or value.metadata.data_class == data_class.value:
        return value
    fixed = Value()
    fixed.CopyFrom(value)
    fixed.metadata.data_class = data_class.value
    return fixed


# ---- serving side ---------------------------------------------------------


@dataclass(frozen=True)
class ServedPlugin:
    """A plugin with a dashboard: its tab and its routes (``routes.py``).

    ``routes.py`` defines ``TAB_NAME`` and ``ROUTES``, a list of Starlette
    routes whose paths are relative to ``/data/plugin/<name>``; optionally
    ``DATA_PLUGIN``, the plugin whose series it shows when that is another
    one (distributions shows the histograms' data), and ``is_active``, a
    function of the server's context telling whether there is anything to show,
    for plugins whose data are files beside the event files (projector
    configs, profiler traces) rather than series; it must be cheap (cache).
    """

    name: str
    tab_name: str
    routes: list[object]
    data_plugin: str
    is_active: Callable[[Any], bool] | None = None


#: Plugins with a dashboard, in TensorBoard's tab order. One line per plugin.
SERVED_PLUGIN_NAMES = (
    "scalars",
    "custom_scalars",
    "images",
    "audio",
    "graphs",
    "distributions",
    "histograms",
    "text",
    "pr_curves",
    "profile",
    "hparams",
    "mesh",
    "projector",
)


@cache
def served_plugins() -> tuple[ServedPlugin, ...]:
    """The served plugins, their routes imported (this loads the web framework)."""
    served = []
    for name in SERVED_PLUGIN_NAMES:
        module = importlib.import_module(f"lumiboard.plugins.{name}.routes")
        data_plugin = getattr(module, "DATA_PLUGIN", name)
        is_active = getattr(module, "is_active", None)
        served.append(
            ServedPlugin(name, module.TAB_NAME, list(module.ROUTES), data_plugin, is_active)
        )
    return tuple(served)
