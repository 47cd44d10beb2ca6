"""Regenerate the demo's stored torch model graph (``src/lumiboard/demo_data/``).

Usage::

    python scripts/make_demo_graph.py

``lumiboard demo`` must not need torch, so the graph of its ``lr_0.1`` run is traced once
here, with lumiboard's own ``add_graph`` tracer, and committed as two text protos: the
``GraphDef`` and the ``RunMetadata`` (step stats) that ``add_graph`` writes beside it. The
demo writes them back as the same two events. Needs torch.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import text_format

DATA = Path(__file__).resolve().parent.parent / "src" / "lumiboard" / "demo_data"
# A fixed start time keeps the generated file identical from one run of this script to the next.
START_MICROS = 1_700_000_000_000_000


def main() -> None:
    import torch

    from lumiboard.format.proto import graph_pb2, run_metadata_pb2
    from lumiboard.integrations.torch_graph import graph_event_payloads

    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    graph_bytes, metadata_bytes = graph_event_payloads(model, torch.zeros(1, 8))
    graph = graph_pb2.GraphDef.FromString(graph_bytes)
    metadata = run_metadata_pb2.RunMetadata.FromString(metadata_bytes)
    for device in metadata.step_stats.dev_stats:
        for node in device.node_stats:
            node.all_start_micros = START_MICROS
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "graph.pbtxt").write_text(text_format.MessageToString(graph))
    (DATA / "run_metadata.pbtxt").write_text(text_format.MessageToString(metadata))
    print(f"wrote {DATA / 'graph.pbtxt'} and {DATA / 'run_metadata.pbtxt'}")


if __name__ == "__main__":
    main()
