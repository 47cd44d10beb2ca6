"""Hyperparameters kept by the frameworks' own loggers, shown as hparams (issue 13 item 5).

The logs under tests/fixtures/framework_logs were written by Lightning's own
TensorBoardLogger and transformers' own TensorBoardCallback
(scripts/make_framework_log_fixtures.py). The expected hparams are computed here from the
YAML and the JSON themselves; the routes (the HParams dashboard's ``/table``, which the runs
table reads too, and TensorBoard's ``/session_groups``) must show them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from route_support import lumiboard_client
from starlette.testclient import TestClient

from lumiboard import SummaryWriter
from lumiboard import hparams as hp
from lumiboard.plugins.hparams import framework
from lumiboard.plugins.hparams.framework import RunFiles
from lumiboard.plugins.hparams.framework_values import MAX_VALUE_CHARS
from lumiboard.plugins.hparams.sessions import Sweep, read_sweep
from lumiboard.reader.reload import Reloader
from lumiboard.store.provider import Provider

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "framework_logs"
BASE = "/data/plugin/hparams"
ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


# ---- expectations, from the files themselves ------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return str(value)  # lists, None: as Lightning's and transformers' str()


def _flat(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Lightning's ``_flatten_dict`` (delimiter '/') and ``_sanitize_params``, written out."""
    found: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, dict):
            found.update(_flat(value, name))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for index, item in enumerate(value):
                found.update(_flat(item, f"{name}/{index}"))
        else:
            found[name] = _plain(value)
    return found


def yaml_hparams(version: str) -> dict[str, Any]:
    text = (FIXTURES / "lightning_logs" / version / "hparams.yaml").read_text()
    return _flat(yaml.safe_load(text))


def args_hparams(run: str) -> dict[str, Any]:
    """The ``args`` text as transformers' ``to_sanitized_dict`` types it (no flattening)."""
    from tensorboard.backend.event_processing.event_accumulator import (  # type: ignore[import-untyped]
        EventAccumulator,
    )

    accumulator = EventAccumulator(str(FIXTURES / "hf" / run), size_guidance={"tensors": 0})
    accumulator.Reload()
    text = accumulator.Tensors("args/text_summary")[-1].tensor_proto.string_val[0].decode()
    return {name: _plain(value) for name, value in json.loads(text).items()}


# ---- serving ----------------------------------------------------------------------------


def _copy(logdir: Path, *parts: str) -> Path:
    for part in parts:
        shutil.copytree(FIXTURES / part, logdir / part)
    return logdir


def table(client: TestClient) -> dict[str, dict[str, Any]]:
    """``/table`` as {run: {hparam: value}}, with the columns' types under ``"":``."""
    response = client.get(f"{BASE}/table")
    assert response.status_code == 200, response.text
    body = response.json()
    names = [column["name"] for column in body["hparams"]]
    rows: dict[str, dict[str, Any]] = {
        session["run"]: {
            name: value
            for name, value in zip(names, session["hparams"], strict=True)
            if value is not None
        }
        for session in body["sessions"]
    }
    rows[""] = {column["name"]: column["type"] for column in body["hparams"]}
    rows["metrics"] = {f"{m['group']}/{m['tag']}": True for m in body["metrics"]}
    return rows


def test_lightning_yaml_only_runs_are_sessions(tmp_path: Path) -> None:
    # default_hp_metric=False: no hparams summary, only hparams.yaml (twice, as two versions).
    _copy(tmp_path, "lightning_logs/version_1")
    second = tmp_path / "lightning_logs" / "version_2"
    shutil.copytree(tmp_path / "lightning_logs" / "version_1", second)
    (second / "hparams.yaml").write_text(
        (second / "hparams.yaml").read_text().replace("lr: 0.02", "lr: 0.5")
    )
    with lumiboard_client(tmp_path) as client:
        listing = client.get("/data/plugins_listing").json()
        rows = table(client)
        groups = client.post(
            f"{BASE}/session_groups",
            json={"startIndex": 0, "sliceSize": 10, "allowedStatuses": ALL_STATUSES},
        ).json()
        experiment = client.post(f"{BASE}/experiment", json={}).json()
    assert listing["hparams"]["enabled"] is True
    expected = yaml_hparams("version_1")
    assert rows["lightning_logs/version_1"] == expected
    assert rows["lightning_logs/version_2"] == {**expected, "lr": 0.5}
    assert rows[""]["optimizer/schedule/warmup"] == "number"
    assert rows[""]["use_bias"] == "bool"
    assert rows[""]["layers"] == "string"  # the list, as Lightning's summary shows it
    assert "optimizer/name" in rows[""]
    assert "optimizer" not in rows[""]
    # No experiment declared: the metrics are the runs' scalars, as TensorBoard infers them.
    assert "/train_loss" in rows["metrics"]
    by_name = {group["name"]: group for group in groups["sessionGroups"]}
    assert by_name["lightning_logs/version_2"]["hparams"]["lr"] == 0.5
    assert experiment["hparamInfos"][0]["name"] == "lr"  # the one that differs comes first


def test_lightning_summary_wins_over_its_yaml(tmp_path: Path) -> None:
    # version_0 has both an hparams summary and hparams.yaml: one session, the summary's.
    with lumiboard_client(_copy(tmp_path, "lightning_logs/version_0")) as client:
        rows = table(client)
    assert [run for run in rows if run.startswith("lightning")] == ["lightning_logs/version_0"]
    row = rows["lightning_logs/version_0"]
    assert set(row) == set(yaml_hparams("version_0"))
    # torch's hparams() writes the bool as a number: proof that the summary was read.
    assert row["use_bias"] == 1.0
    assert rows["metrics"] == {"/hp_metric": True}


def test_transformers_args_text_is_hparams() -> None:
    with lumiboard_client(FIXTURES / "hf") as client:
        listing = client.get("/data/plugins_listing").json()
        rows = table(client)
        experiment = client.post(f"{BASE}/experiment", json={}).json()
    assert listing["hparams"]["enabled"] is True
    for run in ("run_a", "run_b"):
        expected = args_hparams(run)
        assert len(expected) > 50
        assert rows[run] == expected
    assert rows["run_a"]["learning_rate"] == 5e-4
    assert rows["run_b"]["learning_rate"] == 1e-3
    assert rows[""]["learning_rate"] == "number"
    assert rows[""]["accelerator_config"] == "string"  # a dict, as to_sanitized_dict shows it
    # model_config is not read: its keys are no hparams.
    assert "hidden_size" not in rows[""]
    assert "vocab_size" not in rows[""]
    assert "/train/loss" in rows["metrics"]
    differing = [info["name"] for info in experiment["hparamInfos"] if info.get("differs")]
    assert "learning_rate" in differing


def test_a_session_of_its_own_wins_over_args(tmp_path: Path) -> None:
    # lumiboard's transformers callback writes the args text and an hparams session: one row.
    with SummaryWriter(tmp_path / "run") as writer:
        writer.add_text("args", json.dumps({"learning_rate": 0.1, "seed": 3}))
        hp.hparams({"learning_rate": 0.1}, writer=writer)
        writer.add_scalar("loss", 1.0, 0)
    sweep = sweep_of(tmp_path)
    assert [session.hparams for session in sweep.sessions] == [{"learning_rate": 0.1}]


# ---- hostile files ----------------------------------------------------------------------


def sweep_of(logdir: Path) -> Sweep:
    reloader = Reloader(str(logdir))
    reloader.reload()
    return read_sweep(Provider(reloader.runs), RunFiles(reloader.location, (str(logdir),)))


def lightning_run(logdir: Path, yaml_text: str | bytes) -> Path:
    run = logdir / "lightning_logs" / "version_0"
    with SummaryWriter(run) as writer:
        writer.add_scalar("train_loss", 1.0, 0)
    path = run / "hparams.yaml"
    if isinstance(yaml_text, bytes):
        path.write_bytes(yaml_text)
    else:
        path.write_text(yaml_text)
    return run


def skips_of(reason: str) -> int:
    return framework.skipped.get(reason, 0)


BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    + ["lr: 0.1"]
)
MAPPING_BOMB = "\n".join(
    ["a: &a {x: 1, y: 2, z: 3}"]
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} {{p: *{chr(97 + i)}, q: *{chr(97 + i)}, r: *{chr(97 + i)}}}"
        for i in range(14)
    ]
)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("- 1\n- 2\n", "not a mapping"),
        ("just text\n", "not a mapping"),
        ("lr: [1, 2\n", "not YAML"),
        ("a: !!binary |\n  not base64!!\n", "not YAML"),
        ("a: &x {b: *x}\n", "too large"),  # a mapping holding itself
        ("x: " + "{a: " * 40 + "1" + "}" * 40 + "\n", "too large"),  # deeper than allowed
        (MAPPING_BOMB, "too large"),  # 3**14 leaves through aliases
        (b"lr: 0.1\n" + b"#" * (framework.MAX_FILE_BYTES + 10), "too large"),
    ],
)
def test_hostile_yaml_is_skipped_and_counted(
    tmp_path: Path, text: str | bytes, reason: str
) -> None:
    lightning_run(tmp_path, text)
    before = skips_of(reason)
    assert sweep_of(tmp_path).sessions == []
    assert skips_of(reason) == before + 1
    # Cached by (path, size, mtime): asked again, it is neither parsed nor counted again.
    assert sweep_of(tmp_path).sessions == []
    assert skips_of(reason) == before + 1


def test_alias_bomb_in_a_list_is_left_out_not_expanded(tmp_path: Path) -> None:
    # 9**9 leaves through aliases; str() of it would never end. The other hparams stay.
    lightning_run(tmp_path, BOMB)
    before = skips_of("hparam value too long")
    [session] = sweep_of(tmp_path).sessions
    assert session.hparams["lr"] == 0.1
    assert "i" not in session.hparams
    assert skips_of("hparam value too long") > before


def test_python_tags_are_read_as_data_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = (
        "shape: !!python/tuple [3, 4]\n"
        f"evil: !!python/object/apply:os.system [touch {marker}]\n"
        "ns: !!python/object:argparse.Namespace {depth: 2}\n"
        "custom: !mytag 7\n"
        "when: 2024-01-02\n"
        "long: " + "x" * (MAX_VALUE_CHARS + 1) + "\n"
        "lr: 1e-3\n"
    )
    lightning_run(tmp_path, text)
    [session] = sweep_of(tmp_path).sessions
    assert not marker.exists()
    assert session.hparams["shape"] == "(3, 4)"  # as Lightning's str() of the tuple
    assert session.hparams["evil"] == str([f"touch {marker}"])
    assert session.hparams["ns/depth"] == 2.0
    assert session.hparams["custom"] == "7"
    assert session.hparams["when"] == "2024-01-02"
    assert session.hparams["lr"] == "1e-3"  # YAML 1.1 reads 1e-3 (no dot) as a string
    assert "long" not in session.hparams


def test_empty_yaml_is_no_session(tmp_path: Path) -> None:
    lightning_run(tmp_path, "{}\n")  # what Lightning writes for a module without hparams
    (tmp_path / "other").mkdir()
    lightning_run(tmp_path / "other", "")
    assert sweep_of(tmp_path).sessions == []


def test_yaml_symlink_leading_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("secret: 1\n")
    logdir = tmp_path / "logs"
    run = lightning_run(logdir, "lr: 0.1\n")
    (run / "hparams.yaml").unlink()
    os.symlink(outside, run / "hparams.yaml")
    before = skips_of("outside the log directory")
    assert sweep_of(logdir).sessions == []
    assert skips_of("outside the log directory") == before + 1


def test_without_pyyaml_yaml_is_skipped_and_args_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(framework, "_yaml_module", lambda: None)
    lightning_run(tmp_path / "a", "lr: 0.123\n")
    with SummaryWriter(tmp_path / "b") as writer:
        writer.add_text("args", json.dumps({"learning_rate": 0.1}))
    before = skips_of("PyYAML missing")
    sweep = sweep_of(tmp_path)
    assert [(s.run, s.hparams) for s in sweep.sessions] == [("b", {"learning_rate": 0.1})]
    assert skips_of("PyYAML missing") == before + 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON"),
        ("[1, 2, 3]", "not a mapping"),
        ('{"a": "' + "x" * framework.MAX_FILE_BYTES + '"}', "too large"),
    ],
)
def test_hostile_args_text_is_skipped_and_counted(tmp_path: Path, text: str, reason: str) -> None:
    with SummaryWriter(tmp_path / "run") as writer:
        writer.add_text("args", text)
    before = skips_of(reason)
    assert sweep_of(tmp_path).sessions == []
    assert skips_of(reason) == before + 1


def test_args_nested_values_are_text_and_nulls_none(tmp_path: Path) -> None:
    args = {"lr": 0.1, "fsdp": None, "kwargs": {"a": [1, 2]}, "flag": True, "name": "x"}
    with SummaryWriter(tmp_path / "run") as writer:
        writer.add_text("args", json.dumps(args, indent=2))
    [session] = sweep_of(tmp_path).sessions
    assert session.hparams == {
        "lr": 0.1,
        "fsdp": "None",
        "kwargs": "{'a': [1, 2]}",
        "flag": True,
        "name": "x",
    }


def test_yaml_on_a_url_is_read_and_looked_at_again_once_a_minute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    memory.pipe("/framework_logs/run/hparams.yaml", b"lr: 0.5\n")
    files = RunFiles(lambda run: "memory://framework_logs/run")
    try:
        assert framework.framework_hparams(Provider({}), "run", files) == {"lr": 0.5}
        memory.pipe("/framework_logs/run/hparams.yaml", b"lr: 0.25\n")
        # Within the minute the URL is not asked again (a bucket's round trips are slow)...
        assert framework.framework_hparams(Provider({}), "run", files) == {"lr": 0.5}
        monkeypatch.setattr(framework, "REMOTE_RECHECK_SECONDS", 0.0)
        # ...after it, the new file is read.
        assert framework.framework_hparams(Provider({}), "run", files) == {"lr": 0.25}
    finally:
        memory.rm("/framework_logs", recursive=True)
