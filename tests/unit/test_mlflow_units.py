"""The pieces of the MLflow bridge that need no tracking server: ``mlflow+`` URIs, the
event records a mirror writes (read back by TensorBoard's own EventAccumulator), params as
typed values, names MLflow accepts, and a mirror's recovery from a crash mid-write."""

from __future__ import annotations

import math
import os
from pathlib import Path

import orjson
import pytest

from lumiboard.format.proto import event_pb2
from lumiboard.format.tfrecord import Record, read_records
from lumiboard.reader.discover import Source, parse_logdir
from lumiboard.reader.mlflow_events import ScalarEncoder, file_version_record
from lumiboard.reader.mlflow_mirror import RunMirror, typed_param
from lumiboard.reader.mlflow_uri import MlflowLocation, parse_mlflow, run_page, shown


def test_mlflow_locations() -> None:
    assert parse_mlflow("mlflow+http://host:5000") == MlflowLocation("http://host:5000", ())
    assert parse_mlflow("mlflow+https://h/mlflow?experiment=a%20b&experiment=c") == (
        MlflowLocation("https://h/mlflow", ("a b", "c"))
    )
    assert parse_mlflow("mlflow+sqlite:////data/mlflow.db?experiment=x") == (
        MlflowLocation("sqlite:////data/mlflow.db", ("x",))
    )
    assert parse_mlflow("mlflow+http://h?token=t&experiment=x").tracking_uri == "http://h?token=t"
    with pytest.raises(ValueError, match="no tracking URI"):
        parse_mlflow("mlflow+")


def test_mlflow_locations_in_a_logdir_spec() -> None:
    assert parse_logdir("mlflow+http://127.0.0.1:5000?experiment=e") == [
        Source(None, "mlflow+http://127.0.0.1:5000?experiment=e")
    ]
    assert parse_logdir("local:/tmp/runs,tracked:mlflow+sqlite:///m.db") == [
        Source("local", "/tmp/runs"),
        Source("tracked", "mlflow+sqlite:///m.db"),
    ]


def test_pages_and_log_lines_leave_credentials_out() -> None:
    page = run_page("https://user:secret@mlflow.example.com/prefix/", "3", "abc")
    assert page == "https://mlflow.example.com/prefix/#/experiments/3/runs/abc"
    assert run_page("sqlite:///m.db", "3", "abc") is None  # a database has no UI
    assert shown("https://user:secret@mlflow.example.com:8443/x?token=t") == (
        "https://mlflow.example.com:8443"
    )


def test_records_read_by_tensorboard(tmp_path: Path) -> None:
    """Points as a mirror writes them: exact float64 values, int64 steps (negative too),
    millisecond wall times, TensorBoard's ``scalars`` metadata: its own reader agrees."""
    from tensorboard.backend.event_processing import (  # type: ignore[import-untyped]
        event_accumulator,
    )

    points = [(1.7e9 + 0.001 * i, step, value) for i, (step, value) in enumerate(
        [(-5, 0.1), (0, 1 / 3), (2**40, -2.5e-300), (7, math.inf), (8, 1e308)]
    )]  # fmt: skip
    encoder = ScalarEncoder("loss/train")
    data = file_version_record(1.7e9) + b"".join(
        encoder.records(points[:2], with_metadata=True)
        + encoder.records(points[2:], with_metadata=False)
    )
    run = tmp_path / "run"
    run.mkdir()
    (run / "events.out.tfevents.0000000000.mlflow").write_bytes(data)

    with (run / "events.out.tfevents.0000000000.mlflow").open("rb") as file:
        records = [record for record in read_records(file) if isinstance(record, Record)]
    events = [event_pb2.Event.FromString(record.data) for record in records]
    assert events[0].file_version == "brain.Event:2"
    values = [event.summary.value[0] for event in events[1:]]
    assert [v.metadata.plugin_data.plugin_name for v in values] == ["scalars", "", "", "", ""]
    assert [event.step for event in events[1:]] == [step for _, step, _ in points]

    accumulator = event_accumulator.EventAccumulator(str(run), size_guidance={"tensors": 0})
    accumulator.Reload()
    read = accumulator.Tensors("loss/train")
    assert [(t.wall_time, t.step) for t in read] == [(w, s) for w, s, _ in points]
    assert [t.tensor_proto.double_val[0] for t in read] == [v for _, _, v in points]


def test_params_are_typed_back() -> None:
    assert typed_param("0.001") == 0.001
    assert typed_param("64") == 64
    assert typed_param("True") is True
    assert typed_param("false") is False
    assert typed_param("adam") == "adam"
    assert typed_param("nan") == "nan"  # not a number an hparams domain can hold
    assert typed_param("[1, 2]") == "[1, 2]"


def test_exported_names_are_names_mlflow_takes() -> None:
    validation = pytest.importorskip("mlflow.utils.validation")
    from lumiboard.integrations.mlflow_export import _mlflow_name

    for tag in ["loss (train)", "a//b", "/x/./y/", "../up", "é€", "ok/name-1.2 :x", ""]:
        name = _mlflow_name(tag, 250)
        validation._validate_metric_name(name)  # raises when MLflow refuses it
    assert _mlflow_name("loss (train)", 250) == "loss _train_"
    assert _mlflow_name("ok/name-1.2 :x", 250) == "ok/name-1.2 :x"


def test_a_mirror_recovers_from_a_crash_between_append_and_state(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    mirror = RunMirror(str(directory), "r1", str(tmp_path / "scratch"))
    good = file_version_record(1.0) + b"".join(
        ScalarEncoder("x").records([(1.0, 0, 1.0)], with_metadata=True)
    )
    Path(mirror.metrics_path).write_bytes(good + b"half a record")
    state = {"run_id": "r1", "generation": 0, "size": len(good), "cursors": {}}
    (directory / "mlflow_state.json").write_bytes(orjson.dumps(state))
    again = RunMirror(str(directory), "r1", str(tmp_path / "scratch"))
    assert os.path.getsize(again.metrics_path) == len(good)  # cut back to what the state says

    (directory / "mlflow_state.json").write_bytes(orjson.dumps({**state, "size": 10**6}))
    shorter = RunMirror(str(directory), "r1", str(tmp_path / "scratch"))
    assert shorter.state.generation == 1  # read again from MLflow, into a new file
    assert not os.path.exists(mirror.metrics_path)
