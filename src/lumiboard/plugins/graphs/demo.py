"""Demo data for the Graphs dashboard, written without torch or TensorFlow.

:func:`write_demo` writes one run, ``graphs_demo``, holding what the dashboard can show: an op
graph (a small residual network in name scopes, with output shapes and two devices), its step
stats (compute time and memory per node, so that *Color by* compute time and memory work) and
a Keras model config (the conceptual graph).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from lumiboard.format.proto import (
    event_pb2,
    graph_pb2,
    run_metadata_pb2,
    summary_pb2,
    tensor_shape_pb2,
    types_pb2,
)
from lumiboard.plugins.graphs import data
from lumiboard.writer.event_file import EventFileWriter

_BLOCKS = 3
_WIDTH = 64


def _node(
    graph: graph_pb2.GraphDef,
    name: str,
    op: str,
    inputs: list[str],
    shape: list[int],
    device: str,
) -> None:
    node = graph.node.add(name=name, op=op, input=inputs, device=device)
    node.attr["T"].type = types_pb2.DT_FLOAT
    dims = [tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in shape]
    node.attr["_output_shapes"].list.shape.add(dim=dims)


def demo_graph() -> graph_pb2.GraphDef:
    """input -> stem -> block_1..3 (dense, relu, add) -> head -> loss, plus a control edge."""
    graph = graph_pb2.GraphDef()
    cpu, gpu = "/device:CPU:0", "/device:GPU:0"
    _node(graph, "input/x", "Placeholder", [], [-1, _WIDTH], cpu)
    _node(graph, "input/labels", "Placeholder", [], [-1], cpu)
    _node(graph, "stem/kernel", "VariableV2", [], [_WIDTH, _WIDTH], gpu)
    _node(graph, "stem/matmul", "MatMul", ["input/x", "stem/kernel"], [-1, _WIDTH], gpu)
    previous = "stem/matmul"
    for block in range(1, _BLOCKS + 1):
        scope = f"block_{block}"
        _node(graph, f"{scope}/dense/kernel", "VariableV2", [], [_WIDTH, _WIDTH], gpu)
        _node(graph, f"{scope}/dense/bias", "VariableV2", [], [_WIDTH], gpu)
        _node(
            graph,
            f"{scope}/dense/matmul",
            "MatMul",
            [previous, f"{scope}/dense/kernel"],
            [-1, _WIDTH],
            gpu,
        )
        _node(
            graph,
            f"{scope}/dense/add",
            "BiasAdd",
            [f"{scope}/dense/matmul", f"{scope}/dense/bias"],
            [-1, _WIDTH],
            gpu,
        )
        _node(graph, f"{scope}/relu", "Relu", [f"{scope}/dense/add"], [-1, _WIDTH], gpu)
        _node(graph, f"{scope}/residual", "AddV2", [f"{scope}/relu", previous], [-1, _WIDTH], gpu)
        previous = f"{scope}/residual"
    _node(graph, "head/kernel", "VariableV2", [], [_WIDTH, 10], gpu)
    _node(graph, "head/logits", "MatMul", [previous, "head/kernel"], [-1, 10], gpu)
    _node(
        graph,
        "loss/xent",
        "SparseSoftmaxCrossEntropyWithLogits",
        ["head/logits", "input/labels"],
        [-1],
        gpu,
    )
    _node(graph, "loss/mean", "Mean", ["loss/xent", "^input/labels"], [], cpu)
    return graph


def demo_run_metadata(graph: graph_pb2.GraphDef) -> run_metadata_pb2.RunMetadata:
    """Step stats: compute time grows with the op's work, memory is the output's size."""
    stats: dict[str, list[run_metadata_pb2.NodeExecStats]] = {}
    for position, node in enumerate(graph.node):
        dims = [max(d.size, 32) for d in node.attr["_output_shapes"].list.shape[0].dim]
        size = 4
        for dim in dims:
            size *= dim
        micros = (40 if node.op == "MatMul" else 6) + position % 5
        stats.setdefault(node.device, []).append(
            run_metadata_pb2.NodeExecStats(
                node_name=node.name,
                all_start_micros=1_000_000 + position * 50,
                op_start_rel_micros=1,
                op_end_rel_micros=micros,
                all_end_rel_micros=micros + 1,
                memory=[
                    run_metadata_pb2.AllocatorMemoryUsed(allocator_name="bfc", total_bytes=size)
                ],
            )
        )
    return run_metadata_pb2.RunMetadata(
        step_stats=run_metadata_pb2.StepStats(
            dev_stats=[
                run_metadata_pb2.DeviceStepStats(device=device, node_stats=nodes)
                for device, nodes in stats.items()
            ]
        )
    )


def demo_keras_model() -> dict[str, object]:
    """A Keras 3 functional model config: two inputs, a shared tower, concatenated."""

    def history(name: str) -> dict[str, object]:
        return {"config": {"keras_history": [name, 0, 0]}}

    def layer(cls: str, name: str, *inbound: str) -> dict[str, object]:
        config: dict[str, object] = {"name": name, "dtype": "float32"}
        return {
            "class_name": cls,
            "config": config,
            "inbound_nodes": [{"args": [[history(i) for i in inbound]]}] if inbound else [],
        }

    layers = [
        layer("InputLayer", "image"),
        layer("InputLayer", "meta"),
        layer("Conv2D", "conv_1", "image"),
        layer("MaxPooling2D", "pool_1", "conv_1"),
        layer("Conv2D", "conv_2", "pool_1"),
        layer("Flatten", "flatten", "conv_2"),
        layer("Dense", "meta_dense", "meta"),
        layer("Concatenate", "concat", "flatten", "meta_dense"),
        layer("Dense", "logits", "concat"),
    ]
    return {
        "class_name": "Functional",
        "config": {
            "name": "classifier",
            "layers": layers,
            "input_layers": [["image", 0, 0], ["meta", 0, 0]],
            "output_layers": [["logits", 0, 0]],
        },
    }


def write_demo(logdir: Path) -> None:
    """Write the run ``graphs_demo`` under ``logdir``."""
    graph = demo_graph()
    writer = EventFileWriter(Path(logdir) / "graphs_demo")
    now = time.time()
    writer.add_event(event_pb2.Event(wall_time=now, graph_def=graph.SerializeToString()))
    tagged = event_pb2.TaggedRunMetadata(
        tag="step1", run_metadata=demo_run_metadata(graph).SerializeToString()
    )
    writer.add_event(event_pb2.Event(wall_time=now, tagged_run_metadata=tagged))
    value = data.run_graph_value(json.dumps(demo_keras_model()).encode())
    value.tag = "keras"
    value.metadata.plugin_data.plugin_name = data.PLUGIN_NAME_KERAS_MODEL
    value.metadata.plugin_data.content = b"1"
    writer.add_event(event_pb2.Event(wall_time=now, summary=summary_pb2.Summary(value=[value])))
    writer.close()
