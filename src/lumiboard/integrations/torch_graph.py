"""A PyTorch ``nn.Module`` as a TensorBoard ``GraphDef``, as ``SummaryWriter.add_graph`` logs it.

The module is traced with ``torch.jit.trace``. Every value the trace computes becomes one
``NodeDef`` named ``<scope>/<debug name>``, where the scope is the chain of modules that
produced it (``Net/Block[block]/Linear[fc]/input.5``), so that TensorBoard's graph dashboard
nests nodes by module. Graph inputs are named ``input/<argument>`` and graph outputs
``output/output.<n>``, both with op ``IO Node``. Names, ops and edges follow
``torch.utils.tensorboard._pytorch_graph``; where we differ, on purpose:

- torch lists the module object as the input of each parameter node (``prim::GetAttr``),
  under a name that is no node of the graph. We leave that input out: every input names a node.
- Parameter and buffer nodes carry their real shape (``_output_shapes``), read from the traced
  module; torch leaves them without one.
- Each node with a tensor output also has a ``dtype`` attr (a ``DataType``, as TensorFlow's
  ``Placeholder`` has), and ``RunMetadata`` has one ``NodeExecStats`` per such node with its
  output size in bytes (torch's step stats are empty).
- The ``attr`` string (the JIT node's attributes) has no quotes: torch swaps ``'`` for a space
  because the dashboard shows the pbtxt escape ``\\'`` literally; ``"`` has the same problem.

torch is imported inside the functions, so that a training script that never logs a graph
does not import torch through lumiboard.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from lumiboard.format.proto import graph_pb2, run_metadata_pb2, tensor_shape_pb2, types_pb2

__all__ = ["graph_event_payloads", "trace_graph"]

# TensorBoard reads this GraphDef version; torch reverse engineered it from TF's logs.
_PRODUCER = 22
# torch reports every graph as run on the CPU, whatever device the model is on.
_DEVICE = "/device:CPU:0"
_IO_OP = "IO Node"
# torch.jit names the module scopes of a trace "__module.<dotted path>".
_ROOT_ALIAS = "__module"
_GETATTR = "prim::GetAttr"
_CLASS_TYPE = "ClassType"

# torch dtype name (``str(dtype)`` without "torch.") to TensorFlow's DataType.
_DATA_TYPES: dict[str, types_pb2.DataType] = {
    "float32": types_pb2.DT_FLOAT,
    "float64": types_pb2.DT_DOUBLE,
    "float16": types_pb2.DT_HALF,
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
    "complex64": types_pb2.DT_COMPLEX64,
    "complex128": types_pb2.DT_COMPLEX128,
}


@dataclasses.dataclass(frozen=True)
class _TensorInfo:
    """Shape and element type of one tensor a node outputs."""

    shape: tuple[int, ...]
    dtype: str
    itemsize: int

    @classmethod
    def of(cls, shape: Any, dtype: Any) -> _TensorInfo:
        """From a torch shape and ``torch.dtype`` (named as ``float32``, without ``torch.``)."""
        return cls(tuple(shape), str(dtype).removeprefix("torch."), dtype.itemsize)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.itemsize


@dataclasses.dataclass(frozen=True)
class _Node:
    """One node of the graph before it becomes a ``NodeDef``."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attr: str
    tensor: _TensorInfo | None


def trace_graph(
    model: Any,
    input_to_model: Any = None,
    verbose: bool = False,
    use_strict_trace: bool = True,
) -> tuple[graph_pb2.GraphDef, run_metadata_pb2.RunMetadata]:
    """Trace ``model`` into the graph and step stats that TensorBoard's graph dashboard reads.

    Args:
        model: The ``torch.nn.Module`` to trace. It is put in eval mode for the trace and
            given back in the mode it was in.
        input_to_model: The example input of ``model.forward``: one tensor, a tuple or list of
            positional arguments, or ``None`` for a ``forward`` that takes no argument. To
            pass a list as the one argument, wrap it: ``([a, b],)``.
        verbose: Print the traced TorchScript graph.
        use_strict_trace: Passed to ``torch.jit.trace`` as ``strict``; ``False`` lets the
            tracer record mutable containers (lists, dicts) that ``forward`` returns.

    Returns:
        ``(graph_def, run_metadata)``: the ``GraphDef`` to log as ``Event.graph_def`` and the
        ``RunMetadata`` to log as tagged run metadata.

    Raises:
        TypeError: ``model`` is not a ``torch.nn.Module``.
        ValueError: Tracing failed, for example because the input has the wrong shape; the
            error from torch is chained.

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.ReLU())
        >>> graph_def, run_metadata = trace_graph(net, torch.zeros(1, 4))
        >>> [node.op for node in graph_def.node if node.name.startswith("Sequential/ReLU")]
        ['aten::relu']
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    traced = _trace(model, _example_args(input_to_model), use_strict_trace)
    graph = _inline(traced)
    if verbose:
        print(graph)
    nodes = _collect_nodes(graph, traced)
    graph_def = graph_pb2.GraphDef(
        node=[_node_def(node) for node in nodes],
        versions=graph_pb2.VersionDef(producer=_PRODUCER),
    )
    return graph_def, _run_metadata(nodes)


def graph_event_payloads(model: Any, input_to_model: Any = None, **kw: Any) -> tuple[bytes, bytes]:
    """Trace ``model`` and return the serialized ``GraphDef`` and ``RunMetadata``.

    The bytes go straight into ``Event.graph_def`` and ``TaggedRunMetadata.run_metadata``
    (what ``trace_on``/``trace_export`` write). Keyword arguments are those of
    :func:`trace_graph`.

    Example:
        >>> import torch
        >>> graph_bytes, run_metadata_bytes = graph_event_payloads(
        ...     torch.nn.Linear(3, 1), torch.zeros(2, 3)
        ... )
        >>> graph_pb2.GraphDef.FromString(graph_bytes).versions.producer
        22
    """
    graph_def, run_metadata = trace_graph(model, input_to_model, **kw)
    return graph_def.SerializeToString(), run_metadata.SerializeToString()


def _example_args(input_to_model: Any) -> tuple[Any, ...]:
    """The positional arguments of ``forward``, as ``torch.jit.trace`` takes them."""
    if input_to_model is None:
        return ()
    if isinstance(input_to_model, tuple | list):
        return tuple(input_to_model)
    return (input_to_model,)


@contextlib.contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    """Trace in eval mode (dropout off, batch norm on running stats), as torch does."""
    was_training = model.training
    model.train(False)
    try:
        yield
    finally:
        model.train(was_training)


def _trace(model: Any, args: tuple[Any, ...], strict: bool) -> Any:
    import torch

    jit_trace: Callable[..., Any] = torch.jit.trace  # unannotated in torch
    with _eval_mode(model), warnings.catch_warnings():
        # torch 2.x deprecates torch.jit.trace in favour of torch.export, whose graphs have
        # no module scopes; add_graph itself still traces, so we do too. Only that
        # deprecation is silenced: TracerWarnings about the model stay visible.
        warnings.filterwarnings(
            "ignore",
            message=r"`torch\.jit\.trace(_method)?` is (deprecated|not supported)",
            category=DeprecationWarning,
        )
        try:
            return jit_trace(model, args, strict=strict)
        except Exception as error:
            # The model's own errors (a shape mismatch is a RuntimeError, a wrong number
            # of arguments a TypeError) and the tracer's all mean "no graph for this input".
            name = type(model).__name__
            raise ValueError(f"could not trace {name} with the given input: {error}") from error


def _inline(traced: Any) -> Any:
    """The trace's graph with submodule calls inlined, so that every op is one node."""
    import torch

    # add_graph inlines in place with this private pass, which keeps the tracer's numbering
    # of unnamed values ("Net/43"); the public ``inlined_graph`` copies the graph and
    # renumbers them. In place gives the same node names as torch, so we prefer it.
    inline_pass = getattr(torch._C, "_jit_pass_inline", None)
    if inline_pass is None:
        return traced.inlined_graph
    graph = traced.graph
    inline_pass(graph)
    return graph


def _collect_nodes(graph: Any, traced: Any) -> list[_Node]:
    """Walk the inlined TorchScript graph: inputs, then operations, then outputs."""
    walk = _Walk(traced)
    for value in graph.inputs():
        walk.add_input(value)
    for node in graph.nodes():
        if node.kind() == _GETATTR:
            walk.add_attribute(node)
        else:
            walk.add_operation(node)
    for index, value in enumerate(graph.outputs(), start=1):
        walk.add_output(index, value)
    return walk.nodes


class _Walk:
    """The nodes found so far, and how values of the JIT graph map to them."""

    def __init__(self, traced: Any) -> None:
        self.traced = traced
        self.base = _class_name(traced)
        self.aliases = _module_aliases(traced)
        self.nodes: list[_Node] = []
        self.used: set[str] = set()
        self.names: dict[str, str] = {}  # debug name of a value -> node that outputs it
        self.modules: dict[str, str] = {}  # debug name of a module value -> dotted path

    def add_input(self, value: Any) -> None:
        if value.type().kind() == _CLASS_TYPE:  # ``self``: the root module
            self.modules[value.debugName()] = ""
        elif value.uses():  # torch leaves out inputs that forward never reads
            name = f"input/{value.debugName()}"
            self._add(value, _Node(name, _IO_OP, (), "", _info(value)))

    def add_attribute(self, node: Any) -> None:
        """``prim::GetAttr``: a submodule (no node, only a scope) or a parameter or buffer."""
        parent = self.modules.get(node.input().debugName(), "")
        path = f"{parent}.{node.s('name')}" if parent else node.s("name")
        output = node.output()
        if output.type().kind() == _CLASS_TYPE:
            self.modules[output.debugName()] = path
            return
        # Grouped under its module and then its own name (Net/Linear[fc1]/bias/bias.1), as
        # in torch; the module value is no node, so the parameter node has no input.
        scope = _scope_name(self.base, _path_aliases(path), self.aliases)
        tensor = _tensor_info(_lookup(self.traced, path))
        name = f"{scope}/{output.debugName()}"
        self._add(output, _Node(name, node.kind(), (), _attr_string(node), tensor))

    def add_operation(self, node: Any) -> None:
        """One node per output (``aten::max`` has two), each with all of the op's inputs."""
        inputs = tuple(
            self.names[value.debugName()]
            for value in node.inputs()
            if value.debugName() not in self.modules
        )
        scope = _scope_name(self.base, node.scopeName().split("/"), self.aliases)
        attr = _attr_string(node)
        for value in node.outputs():
            name = f"{scope}/{value.debugName()}"
            self._add(value, _Node(name, node.kind(), inputs, attr, _info(value)))

    def add_output(self, index: int, value: Any) -> None:
        source = (self.names[value.debugName()],)
        name = f"output/output.{index}"
        self._add(None, _Node(name, _IO_OP, source, "", _info(value)))

    def _add(self, value: Any, node: _Node) -> None:
        """Add ``node`` under a unique name; ``value``, the JIT value it outputs, maps to it."""
        node = dataclasses.replace(node, name=_claim(node.name, self.used))
        if value is not None:
            self.names[value.debugName()] = node.name
        self.nodes.append(node)


def _claim(name: str, used: set[str]) -> str:
    """``name``, or ``name_<n>`` if a node already has it (TensorBoard needs unique names)."""
    candidate, n = name, 0
    while candidate in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate)
    return candidate


def _class_name(module: Any) -> str:
    # A traced submodule's Python class is TracedModule; the original class name is kept.
    return str(getattr(module, "original_name", None) or type(module).__name__)


def _module_aliases(traced: Any) -> dict[str, str]:
    """Scope alias (``__module.block.fc``) -> scope segment (``Linear[fc]``), per submodule."""
    return {
        alias: f"{_class_name(module)}[{alias.rsplit('.', 1)[-1]}]"
        for alias, module in traced.named_modules(prefix=_ROOT_ALIAS)
        if alias != _ROOT_ALIAS
    }


def _path_aliases(path: str) -> list[str]:
    """``block.fc.weight`` -> the aliases of each prefix, as the tracer writes scopes."""
    parts = path.split(".")
    return [".".join([_ROOT_ALIAS, *parts[: i + 1]]) for i in range(len(parts))]


def _scope_name(base: str, scope_aliases: list[str], aliases: dict[str, str]) -> str:
    """``Net/Block[block]/Linear[fc]``; an alias that is no module keeps its last part."""
    segments = [aliases.get(alias, alias.rsplit(".", 1)[-1]) for alias in scope_aliases if alias]
    return "/".join([base, *segments])


def _lookup(traced: Any, path: str) -> Any:
    """The parameter or buffer at ``path`` in the traced module, or ``None``."""
    owner, _, attr = path.rpartition(".")
    try:
        return getattr(traced.get_submodule(owner), attr)
    except AttributeError:
        return None


def _info(value: Any) -> _TensorInfo | None:
    """Shape and dtype of a JIT value, when the trace recorded a concrete tensor."""
    if not value.isCompleteTensor():
        return None
    return _TensorInfo.of(value.type().sizes(), value.type().dtype())


def _tensor_info(tensor: Any) -> _TensorInfo | None:
    import torch

    return _TensorInfo.of(tensor.shape, tensor.dtype) if isinstance(tensor, torch.Tensor) else None


def _attr_string(node: Any) -> str:
    """The JIT node's attributes as ``{name: bias}``, what the dashboard shows as ``attr``."""
    items = [f"{key}: {_attr_value(node, key)}" for key in node.attributeNames()]
    return "{" + ", ".join(items) + "}"


def _attr_value(node: Any, key: str) -> str:
    # Attributes are typed by kind ("s", "i", "f", "t", "ival", ...), each with a getter of
    # the same name; quotes are dropped (see the module docstring).
    kind = node.kindOf(key)
    try:
        text = str(getattr(node, kind)(key))
    except (AttributeError, RuntimeError):
        text = f"<{kind}>"
    return text.replace("'", "").replace('"', "")


def _node_def(node: _Node) -> graph_pb2.NodeDef:
    attr = {"attr": graph_pb2.AttrValue(s=node.attr.encode())}
    if node.tensor is not None:
        shape = tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in node.tensor.shape]
        )
        attr["_output_shapes"] = graph_pb2.AttrValue(
            list=graph_pb2.AttrValue.ListValue(shape=[shape])
        )
        data_type = _DATA_TYPES.get(node.tensor.dtype)
        if data_type is not None:
            attr["dtype"] = graph_pb2.AttrValue(type=data_type)
    return graph_pb2.NodeDef(name=node.name, op=node.op, input=node.inputs, attr=attr)


def _run_metadata(nodes: list[_Node]) -> run_metadata_pb2.RunMetadata:
    """One device's step stats; sizes are real, times are not (a trace measures none)."""
    start = int(time.time() * 1e6)
    stats = [
        run_metadata_pb2.NodeExecStats(
            node_name=node.name,
            all_start_micros=start,
            all_end_rel_micros=0,
            memory=[
                run_metadata_pb2.AllocatorMemoryUsed(
                    allocator_name="cpu", total_bytes=node.tensor.nbytes
                )
            ],
        )
        for node in nodes
        if node.tensor is not None
    ]
    device = run_metadata_pb2.DeviceStepStats(device=_DEVICE, node_stats=stats)
    return run_metadata_pb2.RunMetadata(step_stats=run_metadata_pb2.StepStats(dev_stats=[device]))
