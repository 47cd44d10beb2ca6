"""A Keras model config (``model.to_json()``) as a ``GraphDef``: the conceptual graph.

Keras' TensorBoard callback logs the model config under plugin ``graph_keras_model``.
TensorBoard turns it into a ``GraphDef`` (``tb:plugins/graph/keras_util.py``) whose nodes
are the layers, named ``<model>/<nested model>/<layer>`` so that nested models become name
scopes, with attrs ``keras_class`` (the layer class) and ``dtype``, and an input per inbound
layer. This module builds the same graph:

- A layer's inputs come from its ``inbound_nodes`` (Keras 3: ``{"args": [...]}`` whose
  tensors carry ``keras_history = [layer, node_index, tensor_index]``); a layer without
  ``inbound_nodes`` (a Sequential model's) takes the previous layer.
- An input naming a nested model is that model's output layer (``tensor_index`` picks among
  several outputs); a nested model's input layers take what flows into the model.
- Beyond TensorBoard: Keras 2's list form of ``inbound_nodes``
  (``[[[layer, node_index, tensor_index, kwargs], ...]]``) is read too; TensorBoard skips it
  and draws such models without edges. A nested functional model's input layers are
  connected to what feeds the model (TensorBoard misreads Keras 3's ``input_layers``, a list
  of ``[name, i, j]``, and leaves them unconnected), and when that is a nested model, to its
  output layer rather than to the model's name (which is no node).

A config that is not a model (wrong types, missing names) raises :class:`ValueError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lumiboard.format.proto import graph_pb2, types_pb2

#: Keras dtype names to TensorFlow's DataType (as ``tf.as_dtype`` names them).
_DTYPES: dict[str, int] = {
    "float32": types_pb2.DT_FLOAT,
    "float": types_pb2.DT_FLOAT,
    "float64": types_pb2.DT_DOUBLE,
    "double": types_pb2.DT_DOUBLE,
    "float16": types_pb2.DT_HALF,
    "half": types_pb2.DT_HALF,
    "bfloat16": types_pb2.DT_BFLOAT16,
    "int8": types_pb2.DT_INT8,
    "int16": types_pb2.DT_INT16,
    "int32": types_pb2.DT_INT32,
    "int64": types_pb2.DT_INT64,
    "uint8": types_pb2.DT_UINT8,
    "uint16": types_pb2.DT_UINT16,
    "uint32": types_pb2.DT_UINT32,
    "uint64": types_pb2.DT_UINT64,
    "bool": types_pb2.DT_BOOL,
    "string": types_pb2.DT_STRING,
    "complex64": types_pb2.DT_COMPLEX64,
    "complex128": types_pb2.DT_COMPLEX128,
    "qint8": types_pb2.DT_QINT8,
    "quint8": types_pb2.DT_QUINT8,
    "qint32": types_pb2.DT_QINT32,
    "resource": types_pb2.DT_RESOURCE,
    "variant": types_pb2.DT_VARIANT,
}

#: Nested models deeper than this are refused (a hostile config could recurse without end).
MAX_DEPTH = 64


@dataclass
class _State:
    """What the walk has learnt so far (names are scoped)."""

    #: A nested model's input layer -> the layer that feeds the model.
    feeds: dict[str, str] = field(default_factory=dict)
    #: A model -> its output layers.
    outputs: dict[str, list[str]] = field(default_factory=dict)
    #: The layer before the current one, for Sequential models.
    previous: str | None = None


def _scoped(scope: str, name: str) -> str:
    return f"{scope}/{name}" if scope else name


def _config(layer: Any) -> dict[str, Any]:
    if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict):
        raise ValueError("a layer must be an object with a 'config' object")
    config: dict[str, Any] = layer["config"]
    return config


def _name(config: dict[str, Any]) -> str:
    name = config.get("name")
    if not isinstance(name, str):
        raise ValueError("a layer config has no string 'name'")
    return name


def _is_model(layer: Any) -> bool:
    return _config(layer).get("layers") is not None


def _walk(layer: Any, scope: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(scope, layer) for the model and every layer in it, depth first, in order."""
    if depth > MAX_DEPTH:
        raise ValueError(f"models nested more than {MAX_DEPTH} deep")
    yield scope, layer
    layers = _config(layer).get("layers")
    if layers:
        if not isinstance(layers, list):
            raise ValueError("a model's 'layers' must be a list")
        inner = _scoped(scope, _name(_config(layer)))
        for child in layers:
            yield from _walk(child, inner, depth + 1)


def _history(item: Any) -> list[Any] | None:
    """``[layer, node_index, tensor_index]`` of one Keras 3 argument tensor, if it has one."""
    if not isinstance(item, dict):
        return None
    config = item.get("config")
    history = config.get("keras_history") if isinstance(config, dict) else None
    if isinstance(history, list) and len(history) >= 3:
        return history[:3]
    return None


def _inbound(layer: dict[str, Any]) -> list[tuple[str, int]]:
    """(layer name, tensor index) of every tensor flowing into ``layer``."""
    found: list[tuple[str, int]] = []
    nodes = layer.get("inbound_nodes") or []
    if not isinstance(nodes, list):
        return found
    for node in nodes:
        if isinstance(node, dict):  # Keras 3
            args = node.get("args") or []
            for arg in args if isinstance(args, list) else [args]:
                for item in arg if isinstance(arg, list) else [arg]:
                    history = _history(item)
                    if history is not None:
                        found.append((str(history[0]), _index(history[2])))
        elif isinstance(node, list):  # Keras 2: [[name, node_index, tensor_index, kwargs]]
            found.extend(
                (entry[0], _index(entry[2]))
                for entry in node
                if isinstance(entry, list) and len(entry) >= 3 and isinstance(entry[0], str)
            )
    return found


def _index(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _layer_names(layers: Any) -> list[str]:
    """Names in ``input_layers`` / ``output_layers``: one ``[name, i, j]`` or a list of them."""
    if not isinstance(layers, list) or not layers:
        return []
    entries = layers if isinstance(layers[0], list) else [layers]
    return [str(entry[0]) for entry in entries if isinstance(entry, list) and entry]


def _enter_model(scope: str, model: dict[str, Any], state: _State) -> None:
    """Record how a (nested) model connects: what feeds its inputs, what its outputs are."""
    config = _config(model)
    name = _scoped(scope, _name(config))
    inputs = _layer_names(config.get("input_layers"))
    outputs = _layer_names(config.get("output_layers"))
    inbound = _inbound(model)
    functional = bool(inputs and outputs)
    if inbound and functional:
        for input_layer, (source, index) in zip(inputs, inbound, strict=False):
            state.feeds[_scoped(name, input_layer)] = _output(state, scope, source, index)
    elif inbound:
        # A Sequential model takes one input: it flows into its first layer.
        state.previous = _output(state, scope, *inbound[0])
    elif functional and state.previous:
        if len(inputs) != 1:
            raise ValueError(f"model {name!r} has several inputs inside a Sequential model")
        state.feeds[_scoped(name, inputs[0])] = state.previous
    if functional:
        state.outputs[name] = [_scoped(name, output) for output in outputs]
    else:
        layers = config.get("layers")
        if not isinstance(layers, list) or not layers:
            raise ValueError(f"model {name!r} has no layers")
        state.outputs[name] = [_scoped(name, _name(_config(layers[-1])))]


def _output(state: _State, scope: str, source: str, index: int) -> str:
    """The layer an inbound ``source`` stands for: a nested model's ``index``-th output layer
    (the last when there are fewer, as TensorBoard), or the layer itself."""
    name = _scoped(scope, source)
    candidates = state.outputs.get(name, [name])
    return candidates[max(0, min(index, len(candidates) - 1))]  # a negative index: the first


def _dtype(config: dict[str, Any]) -> int | None:
    """The layer's DataType: a plain name, or a dtype policy's ``config.name``."""
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        policy = dtype.get("config")
        dtype = policy.get("name") if isinstance(policy, dict) else None
    return _DTYPES.get(dtype) if isinstance(dtype, str) else None


def keras_to_graph_def(model: Any) -> graph_pb2.GraphDef:
    """The conceptual graph of a Keras model config, as TensorBoard builds it.

    Example:
        >>> config = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
        ...     {"class_name": "Dense", "config": {"name": "d1"}},
        ...     {"class_name": "Dense", "config": {"name": "d2"}}]}}
        >>> [(n.name, list(n.input)) for n in keras_to_graph_def(config).node]
        [('seq/d1', []), ('seq/d2', ['seq/d1'])]
    """
    graph = graph_pb2.GraphDef()
    state = _State()
    for scope, layer in _walk(model):
        if _is_model(layer):
            _enter_model(scope, layer, state)
            continue
        config = _config(layer)
        node = graph.node.add(name=_scoped(scope, _name(config)))
        class_name = layer.get("class_name")
        if isinstance(class_name, str):
            node.attr["keras_class"].s = class_name.encode("utf-8")
        dtype = _dtype(config)
        if dtype is not None:
            node.attr["dtype"].type = dtype
        if layer.get("inbound_nodes") is not None:
            for source, index in _inbound(layer):
                node.input.append(_output(state, scope, source, index))
        elif state.previous is not None:
            node.input.append(state.previous)
        if node.name in state.feeds:
            node.input.append(state.feeds[node.name])
        state.previous = node.name
    return graph
