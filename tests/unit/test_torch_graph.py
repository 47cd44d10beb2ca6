"""lumiboard.integrations.torch_graph: a traced nn.Module as a TensorBoard GraphDef.

Checked against torch's own ``add_graph`` conversion and read back with TensorBoard's
event accumulator and graph plugin.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tensorboard.compat.proto import config_pb2 as tb_config
from tensorboard.compat.proto import event_pb2 as tb_event
from tensorboard.compat.proto import graph_pb2 as tb_graph

from lumiboard.format.proto import graph_pb2, types_pb2
from lumiboard.integrations.torch_graph import graph_event_payloads, trace_graph

torch = pytest.importorskip("torch")
nn = torch.nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)
        self.act = nn.ReLU()
        self.register_buffer("scale", torch.ones(4))

    def forward(self, x: Any) -> Any:
        return self.act(self.fc(x)) * self.scale


class Net(nn.Module):
    """Linear -> ReLU -> a submodule with its own Linear -> a Sequential, times a constant."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.relu = nn.ReLU()
        self.block = Block()
        self.head = nn.Sequential(nn.Linear(4, 2), nn.Sigmoid())

    def forward(self, x: Any) -> Any:
        return self.head(self.block(self.relu(self.fc1(x)))) * 2


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Linear(3, 5)
        self.right = nn.Linear(2, 5)

    def forward(self, a: Any, b: Any) -> Any:
        return self.left(a) + self.right(b)


class TupleOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 6)

    def forward(self, x: Any) -> Any:
        hidden = self.fc(x).relu()
        values, indices = hidden.max(dim=1)
        return hidden, values, indices


class NoInput(nn.Module):
    def forward(self) -> Any:
        return torch.ones(2, 3)


def by_name(graph_def: Any) -> dict[str, Any]:
    return {node.name: node for node in graph_def.node}


def shapes(node: Any) -> list[list[int]]:
    return [[dim.size for dim in shape.dim] for shape in node.attr["_output_shapes"].list.shape]


def assert_well_formed(graph_def: Any) -> None:
    names = [node.name for node in graph_def.node]
    assert len(names) == len(set(names))
    for node in graph_def.node:
        for source in node.input:
            assert source in names, f"{node.name} reads {source}, which is no node"


# --- structure ------------------------------------------------------------------------


def test_small_module_nodes_ops_shapes_and_stats() -> None:
    graph_def, run_metadata = trace_graph(Net(), torch.zeros(3, 4))

    assert isinstance(graph_def, graph_pb2.GraphDef)
    assert graph_def.versions.producer == 22
    assert_well_formed(graph_def)
    nodes = by_name(graph_def)

    linear = nodes["Net/Linear[fc1]/input.1"]
    assert linear.op == "aten::linear"
    assert list(linear.input) == [
        "input/x",
        "Net/Linear[fc1]/weight/weight.1",
        "Net/Linear[fc1]/bias/bias.1",
    ]
    assert shapes(linear) == [[3, 8]]
    assert linear.attr["dtype"].type == types_pb2.DT_FLOAT
    relu = nodes["Net/ReLU[relu]/input.3"]
    assert relu.op == "aten::relu"
    assert list(relu.input) == ["Net/Linear[fc1]/input.1"]
    # The submodule's own Linear and the Sequential's children nest under their parents.
    assert nodes["Net/Block[block]/Linear[fc]/input.5"].op == "aten::linear"
    assert nodes["Net/Sequential[head]/Linear[0]/input"].op == "aten::linear"
    assert any(name.startswith("Net/Sequential[head]/Sigmoid[1]/") for name in nodes)

    # Parameters and buffers: no input (torch's names the module object), real shapes.
    weight = nodes["Net/Linear[fc1]/weight/weight.1"]
    assert weight.op == "prim::GetAttr"
    assert list(weight.input) == []
    assert shapes(weight) == [[8, 4]]
    assert weight.attr["attr"].s == b"{name: weight}"
    assert shapes(nodes["Net/Block[block]/scale/scale"]) == [[4]]

    x = nodes["input/x"]
    assert (x.op, list(x.input), shapes(x)) == ("IO Node", [], [[3, 4]])
    output = nodes["output/output.1"]
    assert output.op == "IO Node"
    assert shapes(output) == [[3, 2]]
    (source,) = output.input
    assert nodes[source].op == "aten::mul"

    (device,) = run_metadata.step_stats.dev_stats
    assert device.device == "/device:CPU:0"
    stats = {stat.node_name: stat for stat in device.node_stats}
    assert set(stats) <= set(nodes)
    (memory,) = stats["Net/Linear[fc1]/weight/weight.1"].memory
    assert (memory.allocator_name, memory.total_bytes) == ("cpu", 8 * 4 * 4)
    assert stats["input/x"].all_start_micros > 0


def test_multi_input_tuple_and_list() -> None:
    a, b = torch.zeros(7, 3), torch.zeros(7, 2)
    graph_def, _ = trace_graph(TwoInputs(), (a, b))
    assert_well_formed(graph_def)
    nodes = by_name(graph_def)
    assert shapes(nodes["input/a"]) == [[7, 3]]
    assert shapes(nodes["input/b"]) == [[7, 2]]
    (left,) = [
        n
        for n in graph_def.node
        if n.name.startswith("TwoInputs/Linear[left]/") and n.op == "aten::linear"
    ]
    assert left.input[0] == "input/a"
    add = nodes[nodes["output/output.1"].input[0]]
    assert add.op == "aten::add"
    assert shapes(add) == [[7, 5]]

    from_list, _ = trace_graph(TwoInputs(), [a, b])
    assert [n.name for n in from_list.node] == [n.name for n in graph_def.node]


def test_forward_returning_a_tuple() -> None:
    graph_def, _ = trace_graph(TupleOut(), torch.zeros(2, 4))
    assert_well_formed(graph_def)
    nodes = by_name(graph_def)
    output = nodes["output/output.1"]
    tuple_node = nodes[output.input[0]]
    assert tuple_node.op == "prim::TupleConstruct"
    assert "_output_shapes" not in output.attr  # a tuple has no one shape
    # aten::max has two outputs: two nodes with the same op and inputs.
    maxes = [node for node in graph_def.node if node.op == "aten::max"]
    assert len(maxes) == 2
    assert maxes[0].input == maxes[1].input
    assert {tuple(shapes(node)[0]) for node in maxes} == {(2,)}
    assert {node.attr["dtype"].type for node in maxes} == {types_pb2.DT_FLOAT, types_pb2.DT_INT64}
    assert [nodes[name].op for name in tuple_node.input] == ["aten::relu", "aten::max", "aten::max"]


def test_forward_without_input() -> None:
    graph_def, _ = trace_graph(NoInput())
    assert_well_formed(graph_def)
    assert not any(node.name.startswith("input/") for node in graph_def.node)
    assert shapes(by_name(graph_def)["output/output.1"]) == [[2, 3]]


def test_mode_is_restored_and_verbose_prints(capsys: pytest.CaptureFixture[str]) -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    trace_graph(model, torch.zeros(1, 2), verbose=True)
    assert model.training
    assert "aten::linear" in capsys.readouterr().out
    model.eval()
    trace_graph(model, torch.zeros(1, 2))
    assert not model.training


def test_payloads_are_the_serialized_protos() -> None:
    model, x = Net(), torch.zeros(3, 4)
    graph_bytes, run_metadata_bytes = graph_event_payloads(model, x)
    graph_def, run_metadata = trace_graph(model, x)
    assert graph_pb2.GraphDef.FromString(graph_bytes) == graph_def
    parsed = tb_config.RunMetadata.FromString(run_metadata_bytes)
    assert len(parsed.step_stats.dev_stats[0].node_stats) == len(
        run_metadata.step_stats.dev_stats[0].node_stats
    )


# --- errors ---------------------------------------------------------------------------


def test_not_a_module_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module, got function"):
        trace_graph(lambda x: x, torch.zeros(1))


def test_wrong_input_shape_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="could not trace Net") as caught:
        trace_graph(Net(), torch.zeros(3, 5))
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_importing_the_module_does_not_import_torch() -> None:
    code = "import sys, lumiboard.integrations.torch_graph; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert result.stdout.strip() == b"False"


# --- differential: torch's own add_graph conversion -------------------------------------


@pytest.mark.parametrize(
    ("model", "args"),
    [
        (Net(), (torch.zeros(3, 4),)),
        (TwoInputs(), (torch.zeros(7, 3), torch.zeros(7, 2))),
        (TupleOut(), (torch.zeros(2, 4),)),
        (
            nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten()),
            (torch.zeros(1, 3, 5, 5),),
        ),
    ],
    ids=["nested", "two-inputs", "tuple-out", "conv-bn"],
)
def test_same_graph_as_torch_add_graph(model: Any, args: tuple[Any, ...]) -> None:
    from torch.utils.tensorboard import _pytorch_graph

    expected, _ = _pytorch_graph.graph(model, args)
    ours = tb_graph.GraphDef.FromString(graph_event_payloads(model, args)[0])

    assert ours.versions.producer == expected.versions.producer
    theirs = by_name(expected)
    mine = by_name(ours)
    assert set(mine) == set(theirs)
    for name, node in theirs.items():
        assert mine[name].op == node.op, name
        # torch names the module object as a parameter's input, but that is no node.
        dangling = [source for source in node.input if source not in theirs]
        assert not dangling or node.op == "prim::GetAttr", name
        assert list(mine[name].input) == [s for s in node.input if s in theirs], name
        if "_output_shapes" in node.attr and node.op != "IO Node":
            assert mine[name].attr["_output_shapes"] == node.attr["_output_shapes"], name


# --- TensorBoard reads it -------------------------------------------------------------


def write_events(logdir: Path, graph_bytes: bytes, run_metadata_bytes: bytes) -> None:
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(logdir))
    writer.add_event(tb_event.Event(wall_time=1.0, step=0, graph_def=graph_bytes))
    tagged = tb_event.TaggedRunMetadata(tag="step0", run_metadata=run_metadata_bytes)
    writer.add_event(tb_event.Event(wall_time=1.0, step=0, tagged_run_metadata=tagged))
    writer.close()


def test_tensorboard_event_accumulator_and_graph_plugin(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.context import RequestContext
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.graph import graph_util, graphs_plugin

    graph_bytes, run_metadata_bytes = graph_event_payloads(Net(), torch.zeros(3, 4))
    write_events(tmp_path, graph_bytes, run_metadata_bytes)

    accumulator = EventAccumulator(str(tmp_path))
    accumulator.Reload()
    graph = accumulator.Graph()
    names = {node.name for node in graph.node}
    assert "Net/Block[block]/Linear[fc]/input.5" in names
    assert graph == tb_graph.GraphDef.FromString(graph_bytes)
    run_metadata = accumulator.RunMetadata("step0")
    assert run_metadata.step_stats.dev_stats[0].device == "/device:CPU:0"

    merged = graph_util.merge_graph_defs([graph, graph])
    assert len(merged.node) == 2 * len(graph.node)

    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(tmp_path))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(tmp_path))
    plugin = graphs_plugin.GraphsPlugin(base_plugin.TBContext(data_provider=provider))
    context = RequestContext()
    info = plugin.info_impl(context, experiment="")
    assert info["."]["run_graph"]
    body, mime = plugin.graph_impl(
        context,
        ".",
        None,
        is_conceptual=False,
        experiment="",
        limit_attr_size=1024,
        large_attrs_key="_too_large_attrs",
    )
    assert mime == "text/x-protobuf"
    assert 'name: "Net/Linear[fc1]/input.1"' in body
    assert 'op: "aten::linear"' in body
    body, _ = plugin.run_metadata_impl(context, "", ".", "step0")
    assert 'node_name: "Net/Linear[fc1]/weight/weight.1"' in body
