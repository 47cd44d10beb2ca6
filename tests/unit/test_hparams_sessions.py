"""The sweep (sessions, experiment, metrics) the hparams routes are built on."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lumiboard import SummaryWriter, summary
from lumiboard import hparams as hp
from lumiboard.format.proto import hparams_pb2
from lumiboard.plugins.hparams.sessions import (
    Sweep,
    hparam_columns,
    metric_run,
    read_sweep,
    value_text,
)
from lumiboard.reader.reload import Reloader
from lumiboard.store.provider import Provider


def sweep_of(logdir: Path) -> Sweep:
    reloader = Reloader(str(logdir))
    reloader.reload()
    return read_sweep(Provider(reloader.runs))


def test_declared_experiment_with_groups_and_status(tmp_path: Path) -> None:
    lr = hp.HParam("lr", hp.RealInterval(1e-4, 1.0))
    opt = hp.HParam("optimizer", hp.Discrete(["adam", "sgd"]))
    with summary.create_file_writer(str(tmp_path)).as_default():
        hp.hparams_config([lr, opt], [hp.Metric("accuracy", group="validation"), hp.Metric("loss")])
    statuses = {"t0": "success", "t1": "failure", "t2": None}
    for index, (name, status) in enumerate(statuses.items()):
        with SummaryWriter(tmp_path / name) as writer:
            hp.hparams({lr: 0.1 * (index + 1), opt: "adam"}, trial_id=name, writer=writer)
            for step in range(4):
                writer.add_scalar("loss", 10.0 - step - index, step)
            if status:
                hp.session_end(status, writer=writer)
        if name != "t2":
            with SummaryWriter(tmp_path / name / "validation") as writer:
                writer.add_scalar("accuracy", 0.5 + index, 3)
                writer.add_scalar("accuracy", math.nan, 4)
    sweep = sweep_of(tmp_path)
    assert sweep.declared
    assert sweep.metric_keys == [("validation", "accuracy"), ("", "loss")]
    assert [s.run for s in sweep.sessions] == ["t0", "t1", "t2"]
    assert [s.status for s in sweep.sessions] == [
        hparams_pb2.STATUS_SUCCESS,
        hparams_pb2.STATUS_FAILURE,
        hparams_pb2.STATUS_UNKNOWN,
    ]
    first = sweep.sessions[0]
    assert first.hparams == {"lr": pytest.approx(0.1), "optimizer": "adam"}
    loss = first.metrics[("", "loss")]
    assert (loss.value, loss.step, loss.min, loss.max) == (7.0, 3, 7.0, 10.0)
    accuracy = first.metrics[("validation", "accuracy")]
    assert math.isnan(accuracy.value)
    assert accuracy.step == 4
    assert accuracy.min == accuracy.max == 0.5  # extremes of the finite values
    assert ("validation", "accuracy") not in sweep.sessions[2].metrics
    columns = hparam_columns(sweep)
    assert [c.name for c in columns] == ["lr", "optimizer"]
    assert columns[0].differs
    assert not columns[1].differs
    assert columns[0].domain_interval.max_value == 1.0


def test_inferred_experiment_types_and_sub_directory_groups(tmp_path: Path) -> None:
    values = [
        ("a", {"lr": 0.1, "fast": True, "act": "relu", "mixed": 1}),
        ("b", {"lr": 0.3, "fast": False, "act": "gelu", "mixed": "x"}),
    ]
    for name, hparams in values:
        with SummaryWriter(tmp_path / name) as writer:
            hp.hparams(hparams, writer=writer)
            writer.add_scalar("loss", 1.0, 0)
        with SummaryWriter(tmp_path / name / "eval" / "deep") as writer:
            writer.add_scalar("acc", 0.5, 1)
    with SummaryWriter(tmp_path / "unrelated") as writer:
        writer.add_scalar("other", 1.0, 0)
    sweep = sweep_of(tmp_path)
    assert not sweep.declared
    infos = {info.name: info for info in sweep.experiment.hparam_infos}
    assert infos["lr"].type == hparams_pb2.DATA_TYPE_FLOAT64
    assert (infos["lr"].domain_interval.min_value, infos["lr"].domain_interval.max_value) == (
        0.1,
        0.3,
    )
    assert infos["fast"].type == hparams_pb2.DATA_TYPE_BOOL
    assert list(infos["fast"].domain_discrete.values) == [
        hparams_pb2.HParamInfo().domain_discrete.values.add(bool_value=False),
        hparams_pb2.HParamInfo().domain_discrete.values.add(bool_value=True),
    ]
    assert infos["act"].type == hparams_pb2.DATA_TYPE_STRING
    assert [v.string_value for v in infos["act"].domain_discrete.values] == ["gelu", "relu"]
    # Mixed kinds become strings, numbers written as protobuf's JSON does.
    assert infos["mixed"].type == hparams_pb2.DATA_TYPE_STRING
    assert [v.string_value for v in infos["mixed"].domain_discrete.values] == ["1.0", "x"]
    assert all(info.differs for info in infos.values())
    # Metrics: (tag, group) order, the group being the path below the session.
    assert sweep.metric_keys == [("eval/deep", "acc"), ("", "loss")]
    assert sweep.sessions[1].metrics[("eval/deep", "acc")].value == 0.5


def test_torch_add_hparams_sub_runs(tmp_path: Path) -> None:
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    writer = torch_tb.SummaryWriter(str(tmp_path))
    writer.add_hparams({"lr": 0.1, "bsize": 32}, {"hparam/acc": 0.8}, run_name="trial_a")
    writer.add_hparams({"lr": 0.2, "bsize": 64, "opt": "sgd"}, {"hparam/acc": 0.9}, run_name="b")
    writer.add_scalar("loss", 1.0, 0)
    writer.close()
    sweep = sweep_of(tmp_path)
    assert sweep.declared  # each add_hparams writes an experiment: they are merged
    assert [s.run for s in sweep.sessions] == ["b", "trial_a"]
    assert sweep.metric_keys == [("", "hparam/acc")]
    assert [s.metrics[("", "hparam/acc")].value for s in sweep.sessions] == pytest.approx(
        [0.9, 0.8]
    )
    assert [info.name for info in sweep.experiment.hparam_infos] == ["lr", "bsize", "opt"]


def test_session_without_metrics_and_odd_values(tmp_path: Path) -> None:
    hostile = "<img src=x onerror=alert(1)> \" ' & % $ # { } _ \\"
    with SummaryWriter(tmp_path / "only") as writer:
        hp.hparams({"depth": 3, "name": hostile, "nan": math.nan, "inf": math.inf}, writer=writer)
    sweep = sweep_of(tmp_path)
    assert [s.run for s in sweep.sessions] == ["only"]
    session = sweep.sessions[0]
    assert session.metrics == {}
    assert session.hparams["name"] == hostile
    assert math.isnan(session.hparams["nan"])  # type: ignore[arg-type]
    infos = {info.name: info for info in sweep.experiment.hparam_infos}
    # No finite value: no interval, and the hparam "differs" (NaN is not a value).
    assert not infos["nan"].HasField("domain_interval")
    assert sweep.metric_keys == []


def test_no_sessions(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path / "plain") as writer:
        writer.add_scalar("loss", 1.0, 0)
    sweep = sweep_of(tmp_path)
    assert sweep.sessions == []
    assert not sweep.declared
    assert len(sweep.experiment.metric_infos) == 0


def test_metric_run_and_value_text() -> None:
    assert metric_run("a/b", "") == "a/b"
    assert metric_run("a", "eval") == "a/eval"
    assert metric_run(".", "eval") == "eval"
    from google.protobuf import struct_pb2

    assert value_text(struct_pb2.Value(number_value=3.0)) == "3.0"
    assert value_text(struct_pb2.Value(number_value=1e-5)) == "1e-05"
    assert value_text(struct_pb2.Value(bool_value=True)) == "true"
