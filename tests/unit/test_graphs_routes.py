"""The graphs plugin's routes, checked against TensorBoard's graphs plugin on the same files.

One module-scoped log directory holds a graph written by lumiboard's ``add_graph``, one by
``torch.utils.tensorboard``, the Keras fixture (a conceptual graph), a TF ``trace_export``-like
op graph (``graph_run_metadata_graph`` with two function graphs), a Keras 3 nested functional
model, and broken blobs (a corrupt GraphDef, corrupt Keras JSON). lumiboard's app and
TensorBoard's app serve it; ``/info``, ``/graph`` and ``/run_metadata`` must answer alike.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import torch
from route_support import get_json, lumiboard_client, route_fixtures, tensorboard_client
from starlette.testclient import TestClient
from tensorboard.compat.proto import config_pb2, event_pb2, graph_pb2, summary_pb2  # type: ignore[import-untyped]
from tensorboard.plugins.graph import keras_util  # type: ignore[import-untyped]
from tensorboard.summary.writer.event_file_writer import EventFileWriter  # type: ignore[import-untyped]
from torch.utils import tensorboard as torch_tb

from lumiboard import SummaryWriter
from lumiboard.format.proto import graph_pb2 as our_graph_pb2
from lumiboard.plugins.graphs import convert
from lumiboard.plugins.graphs.keras import keras_to_graph_def

GRAPHS = "/data/plugin/graphs"
KERAS_FIXTURE = Path("/work/shared/fixtures/tf2_keras/keras_fit")


class Block(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(8, 8)
        self.act = torch.nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.fc(x)) + x


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = Block()
        self.dec = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.Tanh())
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dec(self.enc(x)))


def _traced_graph(prefix: str) -> graph_pb2.GraphDef:
    graph = graph_pb2.GraphDef()
    graph.versions.producer = 1
    a = graph.node.add(name=f"{prefix}x", op="Placeholder")
    a.attr["dtype"].type = 1
    b = graph.node.add(name=f"{prefix}scope/mul", op="Mul", input=[f"{prefix}x", f"{prefix}x:0"])
    b.attr["T"].type = 1
    graph.node.add(name=f"{prefix}out", op="Identity", input=[f"{prefix}scope/mul", f"^{prefix}x"])
    return graph


def _blob_event(tag: str, plugin: str, blob: bytes, content: bytes = b"1") -> event_pb2.Event:
    value = summary_pb2.Summary.Value(tag=tag)
    value.metadata.plugin_data.plugin_name = plugin
    value.metadata.plugin_data.content = content
    value.metadata.data_class = summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    value.tensor.dtype = 7
    value.tensor.tensor_shape.dim.add(size=1)
    value.tensor.string_val.append(blob)
    return event_pb2.Event(wall_time=1.0, step=0, summary=summary_pb2.Summary(value=[value]))


#: A Keras 3 functional model with a nested Sequential model and a nested functional model.
NESTED_KERAS: dict[str, Any] = {
    "class_name": "Functional",
    "config": {
        "name": "outer",
        "layers": [
            {
                "class_name": "InputLayer",
                "config": {"name": "inp", "dtype": "float32"},
                "inbound_nodes": [],
            },
            {
                "class_name": "Sequential",
                "config": {
                    "name": "seq",
                    "layers": [
                        {
                            "class_name": "Dense",
                            "config": {"name": "d1", "dtype": {"config": {"name": "float32"}}},
                        },
                        {"class_name": "Dense", "config": {"name": "d2", "dtype": "mixed_float16"}},
                    ],
                },
                "inbound_nodes": [{"args": [{"config": {"keras_history": ["inp", 0, 0]}}]}],
            },
            {
                "class_name": "Functional",
                "config": {
                    "name": "inner",
                    "layers": [
                        {"class_name": "InputLayer", "config": {"name": "i2"}, "inbound_nodes": []},
                        {
                            "class_name": "Dense",
                            "config": {"name": "d3"},
                            "inbound_nodes": [
                                {"args": [{"config": {"keras_history": ["i2", 0, 0]}}]}
                            ],
                        },
                    ],
                    "input_layers": [["i2", 0, 0]],
                    "output_layers": [["d3", 0, 0]],
                },
                "inbound_nodes": [{"args": [{"config": {"keras_history": ["seq", 0, 0]}}]}],
            },
            {
                "class_name": "Add",
                "config": {"name": "add"},
                "inbound_nodes": [
                    {
                        "args": [
                            [
                                {"config": {"keras_history": ["inner", 0, 0]}},
                                {"config": {"keras_history": ["inp", 0, 0]}},
                            ]
                        ]
                    }
                ],
            },
        ],
        "input_layers": [["inp", 0, 0]],
        "output_layers": [["add", 0, 0]],
    },
}


def _write_logdir(root: Path) -> None:
    net = Net()
    with SummaryWriter(str(root / "lumi")) as writer:
        writer.add_graph(net, torch.zeros(1, 8))
    writer = torch_tb.SummaryWriter(str(root / "torch"))
    writer.add_graph(net, torch.zeros(1, 8))
    writer.close()
    shutil.copytree(KERAS_FIXTURE, root / "keras")

    run_metadata = config_pb2.RunMetadata()
    for prefix in ("", "f2/"):
        run_metadata.function_graphs.add().pre_optimization_graph.CopyFrom(_traced_graph(prefix))
    trace = EventFileWriter(str(root / "trace"))
    trace.add_event(
        _blob_event("trace", "graph_run_metadata_graph", run_metadata.SerializeToString())
    )
    trace.add_event(_blob_event("nested", "graph_keras_model", json.dumps(NESTED_KERAS).encode()))
    trace.add_event(
        _blob_event("old", "graph_keras_model", b"{}", content=b"2")
    )  # ignored by /info
    trace.close()

    broken = EventFileWriter(str(root / "broken"))
    broken.add_event(event_pb2.Event(wall_time=1.0, graph_def=b"\x0a\xff\xff\xff"))
    broken.add_event(_blob_event("bad_json", "graph_keras_model", b"{not json"))
    broken.add_event(_blob_event("bad_model", "graph_keras_model", b'{"config": {"layers": 3}}'))
    broken.add_event(
        _blob_event("bad_trace", "graph_run_metadata", b"\x22\x05\x12\x03\x0a\xff\xff")
    )
    broken.close()


logdir, client, tensorboard = route_fixtures(_write_logdir)


def _both(client: TestClient, tensorboard: Any, route: str, **params: str) -> tuple[Any, Any]:
    url = f"{GRAPHS}/{route}?{urlencode(params)}"
    return client.get(url), tensorboard.get(url)


# ---- TensorBoard's routes ---------------------------------------------------------------


def test_info_equals_tensorboard(client: TestClient, tensorboard: Any) -> None:
    ours = get_json(client, f"{GRAPHS}/info")
    assert ours == get_json(tensorboard, f"{GRAPHS}/info")
    assert ours["lumi"]["run_graph"]
    assert ours["torch"]["run_graph"]
    assert ours["lumi"]["tags"]["step1"]["profile"]
    assert ours["keras/train"]["tags"]["keras"]["conceptual_graph"]
    assert ours["trace"]["tags"]["trace"]["op_graph"]
    assert "old" not in ours["trace"]["tags"]


@pytest.mark.parametrize(
    "params",
    [
        {"run": "lumi"},
        {"run": "torch"},
        {"run": "keras/train", "tag": "keras", "conceptual": "true"},
        {"run": "trace", "tag": "trace"},
        {"run": "lumi", "limit_attr_size": "12", "large_attrs_key": "_too_large_attrs"},
    ],
)
def test_graph_pbtxt_equals_tensorboard(
    client: TestClient, tensorboard: Any, params: dict[str, str]
) -> None:
    ours, theirs = _both(client, tensorboard, "graph", **params)
    assert ours.status_code == theirs.status_code == 200
    assert ours.headers["content-type"].startswith("text/x-protobuf")
    # TensorBoard prefixes a traced graph's control input "^x" as "graph_1/^x" (no node has
    # that name); lumiboard writes "^graph_1/x".
    expected = re.sub(r'"(graph_\d+)/\^', r'"^\1/', theirs.get_data(as_text=True))
    assert ours.text == expected
    assert "node {" in ours.text


@pytest.mark.parametrize("run", ["lumi", "torch"])
def test_run_metadata_pbtxt_equals_tensorboard(
    client: TestClient, tensorboard: Any, run: str
) -> None:
    ours, theirs = _both(client, tensorboard, "run_metadata", run=run, tag="step1")
    assert ours.status_code == theirs.status_code == 200
    assert ours.text == theirs.get_data(as_text=True)


def test_nested_keras_config_converts_as_tensorboard_and_connects_nested_inputs() -> None:
    ours = {node.name: node for node in keras_to_graph_def(NESTED_KERAS).node}
    theirs = {node.name: node for node in keras_util.keras_model_to_graph_def(NESTED_KERAS).node}
    assert list(ours) == list(theirs)
    for name, node in ours.items():
        assert {k: str(v) for k, v in node.attr.items()} == {
            k: str(v) for k, v in theirs[name].attr.items()
        }, name
        if name != "outer/inner/i2":
            assert list(node.input) == list(theirs[name].input), name
    # TensorBoard leaves the nested functional model's input layer unconnected.
    assert list(theirs["outer/inner/i2"].input) == []
    assert list(ours["outer/inner/i2"].input) == ["outer/seq/d2"]
    assert list(ours["outer/add"].input) == ["outer/inner/d3", "outer/inp"]


def test_keras2_inbound_nodes_give_edges() -> None:
    config = {
        "class_name": "Model",
        "config": {
            "name": "m",
            "layers": [
                {"class_name": "InputLayer", "config": {"name": "a"}, "inbound_nodes": []},
                {
                    "class_name": "Dense",
                    "config": {"name": "b"},
                    "inbound_nodes": [[["a", 0, 0, {}]]],
                },
            ],
            "input_layers": [["a", 0, 0]],
            "output_layers": [["b", 0, 0]],
        },
    }
    assert [list(node.input) for node in keras_to_graph_def(config).node] == [[], ["m/a"]]


def test_keras_negative_tensor_index_is_not_an_error() -> None:
    """An inbound node's tensor index below 0 (garbled config) takes the first output, as a
    too-large one takes the last; the conversion does not raise IndexError (a 500)."""
    config = {
        "class_name": "Model",
        "config": {
            "name": "m",
            "layers": [
                {"class_name": "InputLayer", "config": {"name": "a"}, "inbound_nodes": []},
                {
                    "class_name": "Dense",
                    "config": {"name": "b"},
                    "inbound_nodes": [[["a", 0, -3, {}]]],
                },
            ],
            "input_layers": [["a", 0, 0]],
            "output_layers": [["b", 0, 0]],
        },
    }
    assert [list(node.input) for node in keras_to_graph_def(config).node] == [[], ["m/a"]]


# ---- lumiboard's JSON --------------------------------------------------------------------


def test_graph_json_of_a_torch_graph(client: TestClient) -> None:
    body = get_json(client, f"{GRAPHS}/graph_json", run="lumi")
    assert (body["run"], body["tag"], body["kind"], body["dangling"]) == ("lumi", None, "op", 0)
    nodes = body["nodes"]
    names = [node["name"] for node in nodes]
    assert {name.split("/", 1)[0] for name in names} == {"input", "Net", "output"}
    assert any(name.startswith("Net/Block[enc]/Linear[fc]/") for name in names)
    linear = next(n for n in nodes if n["op"] == "aten::linear" and "Block[enc]" in n["name"])
    assert linear["shapes"] == [[1, 8]]
    assert next(names[source] for source, _, _ in linear["inputs"]) == "input/x"
    assert ["dtype", "DT_FLOAT"] in linear["attrs"]
    assert all(key != "_output_shapes" for node in nodes for key, _ in node.get("attrs", []))


def test_graph_json_scopes_inputs_control_edges_and_shapes() -> None:
    graph = our_graph_pb2.GraphDef()
    graph.node.add(name="a/x", op="Placeholder", device="/device:GPU:0")
    graph.node[0].attr["_output_shapes"].list.shape.add().dim.add(size=-1)
    graph.node[0].attr["_output_shapes"].list.shape.add().unknown_rank = True
    node = graph.node.add(name="a/b/y", op="Split", input=["a/x:1", "^a/x", "nowhere"])
    node.attr["value"].s = b"v" * 5000
    node.attr["list"].list.i.extend(range(100))
    body = convert.graph_json(graph)
    assert body["dangling"] == 1
    x, y = body["nodes"]
    assert x == {
        "name": "a/x",
        "op": "Placeholder",
        "device": "/device:GPU:0",
        "shapes": [[-1], None],
    }
    assert y["inputs"] == [[0, 1, 0], [0, 0, 1]]
    attrs = dict(y["attrs"])
    assert attrs["value"].endswith("(5000 bytes)")
    assert len(attrs["value"]) < 200
    assert attrs["list"].startswith("[0, 1, 2")
    assert "(100 items)" in attrs["list"]


def test_graph_json_of_keras_and_traced_graphs(client: TestClient) -> None:
    keras = get_json(
        client, f"{GRAPHS}/graph_json", run="keras/train", tag="keras", conceptual="true"
    )
    assert keras["kind"] == "conceptual"
    assert [(n["name"], n["op"]) for n in keras["nodes"]] == [
        ("sequential/input_layer", "InputLayer"),
        ("sequential/dense", "Dense"),
        ("sequential/dense_1", "Dense"),
    ]
    assert keras["nodes"][2]["inputs"] == [[1, 0, 0]]
    trace = get_json(client, f"{GRAPHS}/graph_json", run="trace", tag="trace")
    names = [n["name"] for n in trace["nodes"]]
    assert names[:3] == ["graph_1/x", "graph_1/scope/mul", "graph_1/out"]
    assert names[3] == "graph_2/f2/x"
    assert trace["nodes"][2]["inputs"] == [[1, 0, 0], [0, 0, 1]]  # ^x stays a control edge
    assert trace["dangling"] == 0


def test_run_metadata_json(client: TestClient) -> None:
    body = get_json(client, f"{GRAPHS}/run_metadata_json", run="lumi", tag="step1")
    assert body["devices"] == ["/device:CPU:0"]
    graph = get_json(client, f"{GRAPHS}/graph_json", run="lumi")
    weight = next(n for n in graph["nodes"] if n["name"].endswith("Linear[fc]/weight/weight.1"))
    assert body["nodes"][weight["name"]]["memory_bytes"] == 8 * 8 * 4
    assert all(stats["compute_micros"] == 0 for stats in body["nodes"].values())


def test_json_routes_answer_304_for_the_same_graph(client: TestClient) -> None:
    first = client.get(f"{GRAPHS}/graph_json?run=torch")
    assert first.status_code == 200
    etag = first.headers["etag"]
    # Weak when the answer was compressed (the bytes on the wire differ; the JSON does not).
    assert first.json()["key"] == etag.removeprefix("W/").strip('"')
    again = client.get(f"{GRAPHS}/graph_json?run=torch", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = client.get(f"{GRAPHS}/graph_json?run=lumi", headers={"If-None-Match": etag})
    assert other.status_code == 200


# ---- hostile and odd input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "params", "status"),
    [
        ("graph", {}, 400),
        ("graph", {"run": "nope"}, 404),
        ("graph", {"run": "keras/train"}, 404),  # no run graph
        ("graph", {"run": "lumi", "tag": "nope"}, 404),
        ("graph", {"run": "lumi", "tag": "step1"}, 404),  # a profile, not an op graph
        ("graph", {"run": "lumi", "conceptual": "true"}, 400),
        ("graph", {"run": "lumi", "limit_attr_size": "abc"}, 400),
        ("graph", {"run": "lumi", "limit_attr_size": "-1", "large_attrs_key": "k"}, 400),
        ("graph", {"run": "lumi", "limit_attr_size": "10"}, 400),
        ("graph", {"run": "broken"}, 400),
        ("graph", {"run": "broken", "tag": "bad_json", "conceptual": "true"}, 400),
        ("graph", {"run": "broken", "tag": "bad_model", "conceptual": "true"}, 400),
        ("graph", {"run": "broken", "tag": "bad_trace"}, 400),
        ("graph_json", {}, 400),
        ("graph_json", {"run": "broken"}, 400),
        ("graph_json", {"run": "broken", "tag": "bad_json", "conceptual": "true"}, 400),
        ("graph_json", {"run": "lumi", "tag": "../../etc/passwd"}, 404),
        ("run_metadata", {"run": "lumi"}, 400),
        ("run_metadata", {"tag": "step1"}, 400),
        ("run_metadata", {"run": "keras/train", "tag": "keras"}, 404),
        ("run_metadata_json", {"run": "lumi", "tag": "nope"}, 404),
        ("run_metadata_json", {"run": "trace", "tag": "trace"}, 404),
    ],
)
def test_bad_requests_get_json_errors(
    client: TestClient, route: str, params: dict[str, str], status: int
) -> None:
    response = client.get(f"{GRAPHS}/{route}?{urlencode(params)}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]


def test_corrupt_graph_error_says_what(client: TestClient) -> None:
    response = client.get(f"{GRAPHS}/graph_json?run=broken")
    assert "not a valid GraphDef" in response.json()["error"]


def test_wire_reader_refuses_garbage() -> None:
    for garbage in (b"\x22\x80", b"\x22\x05ab", b"\x07", b"\x22\x02\x0f\x00"):
        with pytest.raises(convert.GraphError):
            convert.function_graphs(garbage)


def test_demo_run_has_every_kind(tmp_path: Path) -> None:
    from lumiboard.plugins.graphs.demo import write_demo

    write_demo(tmp_path)
    tensorboard = tensorboard_client(tmp_path)
    with lumiboard_client(tmp_path) as client:
        info = get_json(client, f"{GRAPHS}/info")
        assert info == get_json(tensorboard, f"{GRAPHS}/info")
        run = info["graphs_demo"]
        assert run["run_graph"]
        assert run["tags"]["step1"]["profile"]
        assert run["tags"]["keras"]["conceptual_graph"]
        for params in (
            {"run": "graphs_demo"},
            {"run": "graphs_demo", "tag": "keras", "conceptual": "true"},
        ):
            ours, theirs = _both(client, tensorboard, "graph", **params)
            assert ours.text == theirs.get_data(as_text=True)
        stats = get_json(client, f"{GRAPHS}/run_metadata_json", run="graphs_demo", tag="step1")
        assert stats["nodes"]["stem/matmul"]["compute_micros"] > 0
        assert set(stats["devices"]) == {"/device:CPU:0", "/device:GPU:0"}
        keras = get_json(
            client, f"{GRAPHS}/graph_json", run="graphs_demo", tag="keras", conceptual="true"
        )
        concat = next(n for n in keras["nodes"] if n["name"] == "classifier/concat")
        assert len(concat["inputs"]) == 2
