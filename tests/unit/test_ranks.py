"""Rank detection (torchrun, SLURM, MPI, TF_CONFIG, torch.distributed, JAX) and ``ranks=``."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from lumiboard import SummaryWriter, summary
from lumiboard.writer import ranks as ranks_module
from lumiboard.writer.ranks import RankInfo, detect_rank, rank_log_dir

VARIABLES = [
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "TF_CONFIG",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "MV2_COMM_WORLD_RANK",
    "MV2_COMM_WORLD_SIZE",
    "MV2_COMM_WORLD_LOCAL_RANK",
    "PMI_RANK",
    "PMI_SIZE",
    "MPI_LOCALRANKID",
    "SLURM_PROCID",
    "SLURM_NTASKS",
    "SLURM_NPROCS",
    "SLURM_LOCALID",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests may run inside a SLURM or MPI job; none of its variables may leak in.
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(ranks_module, "_warned", set())


def tf_config(cluster: dict[str, Any], kind: str, index: int) -> str:
    return json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})


CLUSTER = {"chief": ["c:1"], "worker": ["w0:1", "w1:1", "w2:1"], "ps": ["p:1"]}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, RankInfo(0, 1, None, "none")),
        ({"RANK": "2", "WORLD_SIZE": "4", "LOCAL_RANK": "0"}, RankInfo(2, 4, 0, "torchrun")),
        (
            {"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1"},
            RankInfo(5, 8, 1, "SLURM"),
        ),
        ({"SLURM_PROCID": "1", "SLURM_NPROCS": "2"}, RankInfo(1, 2, None, "SLURM")),
        (
            {
                "OMPI_COMM_WORLD_RANK": "3",
                "OMPI_COMM_WORLD_SIZE": "4",
                "OMPI_COMM_WORLD_LOCAL_RANK": "3",
            },
            RankInfo(3, 4, 3, "Open MPI"),
        ),
        ({"MV2_COMM_WORLD_RANK": "1", "MV2_COMM_WORLD_SIZE": "2"}, RankInfo(1, 2, None, "MVAPICH")),
        (
            {"PMI_RANK": "6", "PMI_SIZE": "7", "MPI_LOCALRANKID": "2"},
            RankInfo(6, 7, 2, "MPICH/Intel MPI"),
        ),
        # TensorFlow's numbering: the chief is 0, workers follow it.
        ({"TF_CONFIG": tf_config(CLUSTER, "chief", 0)}, RankInfo(0, 4, None, "TF_CONFIG")),
        ({"TF_CONFIG": tf_config(CLUSTER, "worker", 2)}, RankInfo(3, 4, None, "TF_CONFIG")),
        (
            {"TF_CONFIG": tf_config({"worker": ["a", "b"]}, "worker", 1)},
            RankInfo(1, 2, None, "TF_CONFIG"),
        ),
        # The evaluator is a cluster of its own; ps tasks have no rank.
        ({"TF_CONFIG": tf_config(CLUSTER, "evaluator", 0)}, RankInfo(0, 1, None, "TF_CONFIG")),
        ({"TF_CONFIG": tf_config(CLUSTER, "ps", 0)}, RankInfo(0, 1, None, "none")),
        # A single-worker TF_CONFIG names no cluster.
        ({"TF_CONFIG": json.dumps({"task": {"type": "worker", "index": 0}})}, RankInfo()),
    ],
)
def test_each_launcher(env: dict[str, str], expected: RankInfo) -> None:
    assert detect_rank(env, {}) == expected


def test_the_process_launcher_comes_before_the_scheduler() -> None:
    # torchrun or mpirun inside a SLURM allocation: SLURM_PROCID numbers the launchers.
    slurm = {"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_LOCALID": "0"}
    torchrun = {"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1"}
    mpi = {"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4"}
    pmi = {"PMI_RANK": "2", "PMI_SIZE": "3"}
    tf = {"TF_CONFIG": tf_config({"worker": ["a", "b"]}, "worker", 1)}
    assert detect_rank({**slurm, **torchrun, **mpi}, {}).source == "torchrun"
    assert detect_rank({**slurm, **mpi, **pmi}, {}).source == "Open MPI"
    assert detect_rank({**slurm, **pmi}, {}).source == "MPICH/Intel MPI"
    assert detect_rank({**slurm, **tf, **mpi}, {}).source == "TF_CONFIG"
    assert detect_rank({**slurm, **tf, **torchrun}, {}).source == "torchrun"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"RANK": "one", "WORLD_SIZE": "4"}, "RANK='one'"),
        ({"RANK": "-1", "WORLD_SIZE": "4"}, "RANK='-1'"),
        ({"RANK": "4", "WORLD_SIZE": "4"}, "not below WORLD_SIZE=4"),
        ({"RANK": "1"}, "WORLD_SIZE is not set"),
        ({"RANK": "1", "WORLD_SIZE": ""}, "WORLD_SIZE=''"),
        ({"TF_CONFIG": "{not json"}, "TF_CONFIG: malformed"),
        (
            {"TF_CONFIG": json.dumps({"cluster": {"worker": ["a"]}, "task": {"index": 0}})},
            "malformed",
        ),
        ({"TF_CONFIG": tf_config({"worker": ["a"]}, "worker", 3)}, "not in the cluster"),
        ({"TF_CONFIG": tf_config({"worker": ["a"]}, "worker", "0")}, "malformed"),  # type: ignore[arg-type]
    ],
)
def test_a_malformed_source_is_ignored_with_one_warning(
    bad: dict[str, str], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    fallback = {"SLURM_PROCID": "1", "SLURM_NTASKS": "3"}
    with caplog.at_level(logging.WARNING, logger="lumiboard.writer.ranks"):
        assert detect_rank({**bad, **fallback}, {}) == RankInfo(1, 3, None, "SLURM")
        assert detect_rank({**bad, **fallback}, {}) == RankInfo(1, 3, None, "SLURM")
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert message in warnings[0]


def test_a_malformed_local_rank_keeps_the_rank(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="lumiboard.writer.ranks"):
        info = detect_rank({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "x"}, {})
    assert info == RankInfo(1, 2, None, "torchrun")
    assert "LOCAL_RANK='x'" in caplog.text


def fake_torch(rank: int, size: int, *, initialized: bool = True) -> dict[str, Any]:
    dist = SimpleNamespace(
        is_available=lambda: True,
        is_initialized=lambda: initialized,
        get_rank=lambda: rank,
        get_world_size=lambda: size,
    )
    return {"torch": ModuleType("torch"), "torch.distributed": dist}


def test_an_initialized_torch_process_group_wins() -> None:
    # mp.spawn sets no variables; a stale SLURM_PROCID must not override the group.
    env = {"SLURM_PROCID": "0", "SLURM_NTASKS": "4"}
    assert detect_rank(env, fake_torch(2, 3)) == RankInfo(2, 3, None, "torch.distributed")
    # The local rank comes from a launcher that agrees with the group.
    torchrun = {"RANK": "2", "WORLD_SIZE": "3", "LOCAL_RANK": "2"}
    assert detect_rank(torchrun, fake_torch(2, 3)) == RankInfo(2, 3, 2, "torch.distributed")
    # Not initialized (or broken): the environment answers.
    assert detect_rank(env, fake_torch(2, 3, initialized=False)).source == "SLURM"

    def broken() -> bool:
        raise RuntimeError("torn down")

    modules = fake_torch(2, 3)
    modules["torch.distributed"].is_initialized = broken
    assert detect_rank(env, modules).source == "SLURM"


def fake_jax(*, client: bool, process: tuple[int, int], backends: bool) -> dict[str, Any]:
    state = SimpleNamespace(
        client=object() if client else None, process_id=process[0], num_processes=process[1]
    )
    jax = SimpleNamespace(process_index=lambda: process[0], process_count=lambda: process[1])
    return {
        "jax": jax,
        "jax._src.distributed": SimpleNamespace(global_state=state),
        "jax._src.xla_bridge": SimpleNamespace(backends_are_initialized=lambda: backends),
    }


def test_jax_answers_only_once_it_is_set_up() -> None:
    env = {"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_LOCALID": "0"}
    modules = fake_jax(client=True, process=(1, 2), backends=False)
    assert detect_rank({}, modules) == RankInfo(1, 2, None, "jax.distributed")
    modules = fake_jax(client=False, process=(3, 4), backends=True)
    assert detect_rank({}, modules) == RankInfo(3, 4, None, "jax")
    # Backends of one process, or none started: the launcher's variables answer.
    assert detect_rank(env, fake_jax(client=False, process=(0, 1), backends=True)).source == "SLURM"
    assert (
        detect_rank(env, fake_jax(client=False, process=(1, 2), backends=False)).source == "SLURM"
    )
    # A launcher that agrees gives the local rank.
    agreeing = {"SLURM_PROCID": "1", "SLURM_NTASKS": "2", "SLURM_LOCALID": "0"}
    modules = fake_jax(client=True, process=(1, 2), backends=False)
    assert detect_rank(agreeing, modules) == RankInfo(1, 2, 0, "jax.distributed")


def test_detection_imports_nothing_and_starts_no_jax_backend() -> None:
    code = """
import sys
from lumiboard.writer.ranks import detect_rank
assert detect_rank().source == "none"
assert "torch" not in sys.modules and "jax" not in sys.modules
import jax
from jax._src import xla_bridge
assert detect_rank().source == "none"
assert not xla_bridge.backends_are_initialized(), "detection started JAX's backends"
print("ok")
"""
    env = {"PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_rank_log_dir() -> None:
    one = RankInfo(1, 3, 1, "torchrun")
    assert rank_log_dir("runs/a", "all", one) == "runs/a"
    assert rank_log_dir("runs/a", "zero", one) is None
    assert rank_log_dir("runs/a", "zero", RankInfo()) == "runs/a"
    assert rank_log_dir("runs/a", "separate", one) == str(Path("runs/a/rank_1"))
    assert rank_log_dir("s3://bucket/a", "separate", one) == "s3://bucket/a/rank_1"


# ---- SummaryWriter(ranks=...) ------------------------------------------------


def writer_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lumiboard-writer:")]


@pytest.mark.parametrize("bad", ["none", "ALL", "rank0", "", None, 0, True])
def test_an_unknown_ranks_value_raises(bad: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ranks must be one of 'all', 'zero', 'separate'"):
        SummaryWriter(tmp_path / "run", ranks=bad)
    with pytest.raises(ValueError, match="ranks must be one of"):
        summary.create_file_writer(tmp_path / "run", ranks=bad)
    assert not (tmp_path / "run").exists()


def test_zero_on_another_rank_writes_nothing_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    before = writer_threads()
    writer = SummaryWriter(tmp_path / "run", ranks="zero")
    assert writer.rank_info == RankInfo(1, 2, None, "torchrun")
    assert writer.get_logdir() == str(tmp_path / "run")
    figure = plt.figure()
    # Every writing method is a no-op, whatever it is given (nothing is converted).
    assert writer.add_scalar("loss", object(), 3) is None
    writer.add_scalars("loss", {"a": 1.0}, 3)
    writer.add_histogram("w", np.arange(10), 3)
    writer.add_image("img", np.zeros((3, 4, 4)), 3)
    writer.add_text("note", "hi", 3)
    writer.add_hparams({"lr": 0.1}, {"acc": 0.9})
    writer.add_embedding(np.zeros((2, 2)))
    writer.add_custom_scalars({"a": {"b": ["Multiline", ["loss"]]}})
    writer.write_values([])
    writer.add_figure("fig", figure, 3)
    assert not plt.fignum_exists(figure.number), "a muted add_figure must still close the figure"
    writer.flush()
    writer.close()
    writer.add_scalar("after_close", 1.0, 4)
    assert not (tmp_path / "run").exists()
    assert writer_threads() == before

    with SummaryWriter(tmp_path / "run", ranks="all") as everyone:
        everyone.add_scalar("loss", 1.0, 1)
    assert len(list((tmp_path / "run").iterdir())) == 1


def test_zero_on_rank_zero_and_separate_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.setenv("SLURM_NTASKS", "4")
    with SummaryWriter(tmp_path / "zero", ranks="zero") as writer:
        writer.add_scalar("loss", 1.0, 1)
    assert [p.name.startswith("events.out.tfevents.") for p in (tmp_path / "zero").iterdir()] == [
        True
    ]

    monkeypatch.setenv("SLURM_PROCID", "2")
    with SummaryWriter(tmp_path / "job", ranks="separate", purge_step=0) as writer:
        writer.add_scalar("loss", 1.0, 1)
        writer.add_scalars("parts", {"a": 1.0}, 1)
        assert writer.get_logdir() == str(tmp_path / "job" / "rank_2")
    assert sorted(p.name for p in (tmp_path / "job").iterdir()) == ["rank_2"]
    assert sorted(p.name for p in (tmp_path / "job" / "rank_2").iterdir() if p.is_dir()) == [
        "parts_a"
    ]


def test_no_ranks_is_one_process_of_rank_zero(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path / "job", ranks="separate") as writer:
        assert writer.rank_info == RankInfo()
    assert [p.name for p in (tmp_path / "job").iterdir()] == ["rank_0"]


def test_tf2_writer_ranks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "1")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    before = writer_threads()
    muted = summary.create_file_writer(tmp_path / "zero", ranks="zero")
    with muted.as_default(step=0):
        # As under tf.summary.create_noop_writer(): the ops write nothing and say so.
        assert summary.scalar("loss", 1.0) is False
        assert summary.histogram("w", [1.0, 2.0]) is False
    muted.flush()
    muted.close()
    assert muted.logdir == str(tmp_path / "zero")
    assert not (tmp_path / "zero").exists()
    assert writer_threads() == before

    writer = summary.create_file_writer(tmp_path / "job", ranks="separate")
    with writer.as_default(step=0):
        assert summary.scalar("loss", 1.0) is True
    writer.close()
    assert [p.name for p in (tmp_path / "job").iterdir()] == ["rank_1"]
