"""Graphs as the routes serve them: TensorBoard's pbtxt, and lumiboard's compact JSON.

``GraphDef`` and ``RunMetadata`` come from the event files as bytes; every parse here raises
:class:`GraphError` (never a protobuf or JSON error) with a message that says what is wrong.

The JSON the dashboard lays out (:func:`graph_json`) holds per node its name, op, device,
output shapes (from the ``_output_shapes`` attr TensorFlow and torch write), its inputs as
``[source index, output slot, control]`` (indices into ``nodes``, so names are sent once) and
its other attrs as short strings; a long attr is cut and says how long it was.
"""

from __future__ import annotations

import math
from typing import Any

from google.protobuf.message import DecodeError

from lumiboard.format.proto import graph_pb2, run_metadata_pb2, types_pb2
from lumiboard.format.wire import WireError, field_bytes, length_delimited_fields

#: Longest attr value (characters) the JSON carries; longer ones are cut.
ATTR_CHARS = 160
#: Attrs per node in the JSON; the rest are counted.
ATTRS_PER_NODE = 24
#: Items of a list attr shown before "…".
LIST_ITEMS = 16
#: A graph with more nodes is refused (JSON and pbtxt): the browser could not draw it anyway.
MAX_NODES = 500_000
#: The attr TensorFlow and torch put output shapes in.
OUTPUT_SHAPES = "_output_shapes"


class GraphError(ValueError):
    """A stored graph or run metadata that cannot be read; the message says why."""


# ---- parsing ------------------------------------------------------------------------------


def parse_graph(data: bytes) -> graph_pb2.GraphDef:
    """A serialized ``GraphDef``; :class:`GraphError` if it is not one."""
    try:
        graph: graph_pb2.GraphDef = graph_pb2.GraphDef.FromString(data)
    except (DecodeError, RuntimeError, ValueError) as error:
        raise GraphError(f"the stored graph is not a valid GraphDef ({error})") from None
    if len(graph.node) > MAX_NODES:
        raise GraphError(f"the graph has {len(graph.node)} nodes, more than {MAX_NODES}")
    return graph


def parse_run_metadata(data: bytes) -> run_metadata_pb2.RunMetadata:
    """A serialized ``RunMetadata``; :class:`GraphError` if it is not one."""
    try:
        metadata: run_metadata_pb2.RunMetadata = run_metadata_pb2.RunMetadata.FromString(data)
    except (DecodeError, RuntimeError, ValueError) as error:
        raise GraphError(f"the stored run metadata is not valid ({error})") from None
    return metadata


def function_graphs(run_metadata: bytes) -> list[graph_pb2.GraphDef]:
    """``RunMetadata.function_graphs[*].pre_optimization_graph`` (fields 4 and 2).

    TensorFlow's ``trace_export`` puts the traced op graph there; lumiboard's
    ``RunMetadata`` does not declare the field, so it is read off the wire.
    """
    try:
        payloads = [
            field_bytes(payload, 2)
            for number, payload in length_delimited_fields(run_metadata)
            if number == 4
        ]
    except WireError:
        raise GraphError("the stored run metadata is malformed") from None
    return [parse_graph(graph) for graph in payloads]


def merge_graphs(graphs: list[graph_pb2.GraphDef]) -> graph_pb2.GraphDef:
    """One graph of several traced ones, each under the scope ``graph_<i>`` (as TensorBoard).

    TensorBoard prefixes a control input ``^x`` to ``graph_1/^x``, an input that names no
    node; here it becomes ``^graph_1/x``.
    """
    if len(graphs) == 1:
        return graphs[0]
    merged = graph_pb2.GraphDef()
    if not graphs:
        return merged
    if graphs[0].versions.producer:
        merged.versions.CopyFrom(graphs[0].versions)
    for number, graph in enumerate(graphs, start=1):
        if graph.versions.producer != merged.versions.producer:
            raise GraphError("the traced graphs have different GraphDef versions")
        prefix = f"graph_{number}"
        for node in graph.node:
            copy = merged.node.add()
            copy.CopyFrom(node)
            copy.name = f"{prefix}/{node.name}"
            copy.input[:] = [
                f"^{prefix}/{name[1:]}" if name.startswith("^") else f"{prefix}/{name}"
                for name in node.input
            ]
            if copy.op == "PartitionedCall" and "f" in copy.attr:
                copy.attr["f"].func.name = f"{prefix}_{copy.attr['f'].func.name}"
    if len(merged.node) > MAX_NODES:
        raise GraphError(f"the graph has {len(merged.node)} nodes, more than {MAX_NODES}")
    return merged


def limit_attrs(graph: graph_pb2.GraphDef, limit: int | None, key: str | None) -> None:
    """TensorBoard's ``prepare_graph_for_ui``: attrs over ``limit`` bytes are removed and
    their names listed in the attr ``key`` (a list of strings); in place."""
    if limit is None:
        return
    if key is None:
        raise ValueError("large_attrs_key is required with limit_attr_size")
    if limit <= 0:
        raise ValueError(f"limit_attr_size must be > 0, but is {limit}")
    for node in graph.node:
        for name in list(node.attr):
            if node.attr[name].ByteSize() > limit:
                del node.attr[name]
                node.attr[key].list.s.append(name.encode("utf-8"))


# ---- compact JSON ------------------------------------------------------------------------


def _split_input(name: str) -> tuple[str, int, bool]:
    """``^ctrl`` / ``node:2`` / ``node`` as (node, output slot, is control)."""
    if name.startswith("^"):
        return name[1:], 0, True
    node, colon, slot = name.rpartition(":")
    if colon and slot.isdigit():
        return node, int(slot), False
    return name, 0, False


def _cut(text: str, limit: int = ATTR_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def _dtype_name(value: int) -> str:
    try:
        name: str = types_pb2.DataType.Name(value)
    except ValueError:
        return f"dtype {value}"
    return name


def _shape_dims(shape: Any) -> list[int] | None:
    """A ``TensorShapeProto`` as its dims (-1: unknown size); ``None``: unknown rank."""
    if shape.unknown_rank:
        return None
    return [int(dim.size) for dim in shape.dim]


def _shape_text(shape: Any) -> str:
    dims = _shape_dims(shape)
    if dims is None:
        return "<unknown>"
    return "[" + ",".join("?" if d < 0 else str(d) for d in dims) + "]"


def _bytes_text(data: bytes) -> str:
    text = data[: ATTR_CHARS * 4].decode("utf-8", errors="replace")
    if len(data) > ATTR_CHARS * 4:
        return f"{text[:ATTR_CHARS]}… ({len(data)} bytes)"
    return _cut(text)


def _float_text(value: float) -> str:
    return repr(value) if math.isfinite(value) else str(value)


def _list_text(items: list[str]) -> str:
    shown = items[:LIST_ITEMS]
    more = f", … ({len(items)} items)" if len(items) > LIST_ITEMS else ""
    return "[" + ", ".join(shown) + more + "]"


def attr_text(value: graph_pb2.AttrValue) -> str:
    """An attr as the info panel shows it: short, typed by its content."""
    kind = value.WhichOneof("value")
    if kind == "s":
        return _bytes_text(value.s)
    if kind in ("i", "b"):
        return str(getattr(value, kind)).lower() if kind == "b" else str(value.i)
    if kind == "f":
        return _float_text(value.f)
    if kind == "type":
        return _dtype_name(value.type)
    if kind == "shape":
        return _shape_text(value.shape)
    if kind == "tensor":
        tensor = value.tensor
        return f"tensor<{_dtype_name(tensor.dtype)}>{_shape_text(tensor.tensor_shape)}"
    if kind == "func":
        return value.func.name
    if kind == "placeholder":
        return f"${value.placeholder}"
    if kind == "list":
        items = value.list
        parts: list[str] = []
        parts.extend(_bytes_text(s) for s in items.s[: LIST_ITEMS + 1])
        parts.extend(str(i) for i in items.i[: LIST_ITEMS + 1])
        parts.extend(_float_text(f) for f in items.f[: LIST_ITEMS + 1])
        parts.extend(str(b).lower() for b in items.b[: LIST_ITEMS + 1])
        parts.extend(_dtype_name(t) for t in items.type[: LIST_ITEMS + 1])
        parts.extend(_shape_text(s) for s in items.shape[: LIST_ITEMS + 1])
        parts.extend(f"tensor<{_dtype_name(t.dtype)}>" for t in items.tensor[: LIST_ITEMS + 1])
        parts.extend(f.name for f in items.func[: LIST_ITEMS + 1])
        total = (
            sum(
                len(field)
                for field in (items.s, items.i, items.f, items.b, items.type, items.shape)
            )
            + len(items.tensor)
            + len(items.func)
        )
        text = _list_text(parts)
        if total > len(parts):
            text = text[:-1] + f", … ({total} items)]"
        return _cut(text)
    return ""


def _node_json(
    node: graph_pb2.NodeDef, index: dict[str, int], dangling: list[int]
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": node.name, "op": node.op}
    if node.device:
        out["device"] = node.device
    inputs = []
    for name in node.input:
        source, slot, control = _split_input(name)
        found = index.get(source)
        if found is None:
            dangling[0] += 1
            continue
        inputs.append([found, slot, 1 if control else 0])
    if inputs:
        out["inputs"] = inputs
    attrs: list[list[str]] = []
    keys = sorted(node.attr)
    for key in keys:
        value = node.attr[key]
        if key == OUTPUT_SHAPES:
            out["shapes"] = [_shape_dims(shape) for shape in value.list.shape]
        elif key == "keras_class" and not node.op:
            out["op"] = _bytes_text(value.s)
        elif len(attrs) < ATTRS_PER_NODE:
            attrs.append([key, attr_text(value)])
    if attrs:
        out["attrs"] = attrs
    hidden = len(keys) - len(attrs) - (OUTPUT_SHAPES in node.attr)
    hidden -= "keras_class" in node.attr and out["op"] != node.op
    if hidden > 0:
        out["more_attrs"] = hidden
    return out


def graph_json(graph: graph_pb2.GraphDef) -> dict[str, Any]:
    """``{"nodes": [...], "dangling": n}``: the graph for the dashboard (see the module doc).

    A node named twice keeps its first index (TensorFlow names are unique); ``dangling``
    counts inputs that name no node of the graph. A Keras node's op is its ``keras_class``.
    """
    index: dict[str, int] = {}
    for position, node in enumerate(graph.node):
        index.setdefault(node.name, position)
    dangling = [0]
    nodes = [_node_json(node, index, dangling) for node in graph.node]
    return {"nodes": nodes, "dangling": dangling[0]}


def run_metadata_json(run_metadata: run_metadata_pb2.RunMetadata) -> dict[str, Any]:
    """Per-node compute time and memory from ``step_stats``, summed over devices.

    ``{"devices": [...], "nodes": {name: {"device", "compute_micros", "memory_bytes",
    "output_bytes"}}}``. Compute time is ``all_end_rel_micros`` (as TensorBoard's
    ``tf-graph``); memory is the sum of the allocators' ``total_bytes``; output bytes come
    from the outputs' descriptions (torch's stats carry only those). A ``name:slot`` stat is
    the node's.
    """
    nodes: dict[str, dict[str, Any]] = {}
    devices = []
    for device in run_metadata.step_stats.dev_stats:
        devices.append(device.device)
        for stats in device.node_stats:
            name = stats.node_name.split(":", 1)[0]
            entry = nodes.setdefault(
                name,
                {
                    "device": device.device,
                    "compute_micros": 0,
                    "memory_bytes": 0,
                    "output_bytes": 0,
                },
            )
            compute = stats.all_end_rel_micros or (
                stats.op_end_rel_micros - stats.op_start_rel_micros
            )
            entry["compute_micros"] += max(int(compute), 0)
            entry["memory_bytes"] += sum(max(int(m.total_bytes), 0) for m in stats.memory)
            entry["output_bytes"] += sum(_output_bytes(output) for output in stats.output)
    return {"devices": devices, "nodes": nodes}


_ITEM_BYTES = {
    types_pb2.DT_FLOAT: 4,
    types_pb2.DT_DOUBLE: 8,
    types_pb2.DT_HALF: 2,
    types_pb2.DT_BFLOAT16: 2,
    types_pb2.DT_INT8: 1,
    types_pb2.DT_UINT8: 1,
    types_pb2.DT_INT16: 2,
    types_pb2.DT_UINT16: 2,
    types_pb2.DT_INT32: 4,
    types_pb2.DT_UINT32: 4,
    types_pb2.DT_INT64: 8,
    types_pb2.DT_UINT64: 8,
    types_pb2.DT_BOOL: 1,
    types_pb2.DT_COMPLEX64: 8,
    types_pb2.DT_COMPLEX128: 16,
}


def _output_bytes(output: run_metadata_pb2.NodeOutput) -> int:
    description = output.tensor_description
    dims = _shape_dims(description.shape)
    if dims is None or any(d < 0 for d in dims):
        return 0
    return math.prod(dims) * _ITEM_BYTES.get(description.dtype, 0)
