"""``lumiboard export`` and ``lumiboard summary``: a log directory's data for scripts."""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lumiboard import SummaryWriter, cli
from lumiboard.cli_summary import best_of

LONG_TAG = "validation/" + "very_long_metric_name_" * 5 + "accuracy"
#: Wall times of the points: step s of run "good" was written at T0 + s.
T0 = 1_700_000_000.0
EXAMPLE = Path(__file__).parents[2] / "examples" / "summary_in_ci.sh"


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The commands cache in ~/.cache/lumiboard by default: keep the tests' caches out of it.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two runs: "good" (loss down, accuracy up, a histogram, a text) and "nan" (loss NaN at 5)."""
    root = tmp_path_factory.mktemp("logs")
    with SummaryWriter(root / "good") as writer:
        for step in range(20):
            writer.add_scalar("loss", 1.0 / (step + 1), step, walltime=T0 + step)
            writer.add_scalar("accuracy", step / 20, step, walltime=T0 + step)
            writer.add_scalar(LONG_TAG, 0.5, step, walltime=T0 + step)
        writer.add_histogram("weights", [0.0, 1.0, 2.0, 2.5], 0, walltime=T0)
        writer.add_histogram("weights", [1.0, 3.0], 10, walltime=T0 + 10)
        writer.add_text("notes", "hello **world**", 0, walltime=T0)
    with SummaryWriter(root / "nan") as writer:
        for step in range(10):
            loss = math.nan if step == 5 else 2.0 - step / 10
            writer.add_scalar("loss", loss, step, walltime=T0 + step)
            writer.add_scalar("accuracy", 0.1 * step, step, walltime=T0 + step)
    return root


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``lumiboard ARGV`` in this process: (exit status, stdout, stderr)."""
    try:
        status = cli.main(list(argv))
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


# ---- summary ------------------------------------------------------------------


def test_summary_json_schema(capsys: pytest.CaptureFixture[str], logdir: Path) -> None:
    status, out, err = run_cli(capsys, "summary", str(logdir), "--json")
    assert status == 0, err
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    assert doc["logdir"] == str(logdir)
    generated = datetime.datetime.fromisoformat(doc["generated_at"])
    assert generated.tzinfo is not None
    assert list(doc["runs"]) == ["good", "nan"]

    good = doc["runs"]["good"]
    assert sorted(good["tags"]) == sorted(["accuracy", "loss", LONG_TAG])
    assert good["tags"]["loss"] == {
        "points": 20,
        "first_step": 0,
        "last_step": 19,
        "last_value": pytest.approx(1 / 20),
        "best": "min",
        "best_value": pytest.approx(1 / 20),
        "best_step": 19,
        "last_wall_time": T0 + 19,
    }
    accuracy = good["tags"]["accuracy"]
    assert accuracy["best"] == "max"
    assert accuracy["best_value"] == pytest.approx(19 / 20)
    assert accuracy["best_step"] == 19
    assert good["other_tags"] == {"notes/text_summary": "text", "weights": "histograms"}
    assert good["health"] == []
    assert good["health_counts"] == {"error": 0, "warning": 0, "info": 0}

    nan = doc["runs"]["nan"]
    loss = nan["tags"]["loss"]
    assert loss["points"] == 10
    assert loss["last_value"] == pytest.approx(1.1)
    # The best ignores the NaN; min for a loss.
    assert (loss["best"], loss["best_step"]) == ("min", 9)
    assert nan["health_counts"]["error"] == 1
    flag = nan["health"][0]
    assert flag["kind"] == "nonfinite"
    assert (flag["tag"], flag["level"], flag["step"]) == ("loss", "error", 5)
    assert flag["value"] == "NaN"  # as the HTTP API writes non-finite numbers
    assert "NaN" in flag["message"]


@pytest.mark.parametrize(
    ("tag", "best"),
    [
        ("loss", "min"),
        ("val_loss", "min"),
        ("train/valLoss", "min"),
        ("eval/error_rate", "min"),
        ("top1_err", "min"),
        ("perplexity", "min"),
        ("accuracy", "max"),
        ("f1", "max"),
        ("tower/power", "max"),  # "wer" only as a whole word
        ("lower_bound", "max"),
    ],
)
def test_best_is_min_for_losses_and_errors(tag: str, best: str) -> None:
    assert best_of(tag) == best


def test_summary_nonfinite_last_value_is_valid_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with SummaryWriter(tmp_path / "run") as writer:
        writer.add_scalar("loss", 1.0, 0)
        writer.add_scalar("loss", math.inf, 1)
        writer.add_scalar("nan_only", math.nan, 0)
    status, out, _ = run_cli(capsys, "summary", str(tmp_path), "--json")
    assert status == 0
    doc = json.loads(out, parse_constant=lambda name: pytest.fail(f"bare {name} in JSON"))
    tags = doc["runs"]["run"]["tags"]
    assert tags["loss"]["last_value"] == "Infinity"
    assert tags["loss"]["best_value"] == 1.0
    assert tags["nan_only"]["best_value"] is None
    assert tags["nan_only"]["best_step"] is None


def test_summary_table_fits_100_columns(capsys: pytest.CaptureFixture[str], logdir: Path) -> None:
    status, out, err = run_cli(capsys, "summary", str(logdir))
    assert status == 0, err
    lines = out.splitlines()
    assert max(map(len, lines)) <= 100
    assert lines[0].startswith(f"lumiboard summary of {logdir}")
    sections = [line for line in lines if line.startswith("run ")]
    assert [line.split()[1] for line in sections] == ["good", "nan"]
    assert "health: ok" in sections[0]
    assert "health: 1 error" in sections[1]
    header = next(line for line in lines if line.strip().startswith("tag"))
    for word in ("points", "first", "last", "last value", "best", "last written"):
        assert word in header
    loss_row = next(line for line in lines if line.split()[:1] == ["loss"])
    assert loss_row.split()[1:4] == ["20", "0", "19"]
    assert re.search(r"  min +0\.05  ", loss_row)
    accuracy_row = next(line for line in lines if line.split()[:1] == ["accuracy"])
    assert re.search(r"  max +0\.95  ", accuracy_row)
    # The long tag is cut in its middle: both ends stay readable.
    long_row = next(line for line in lines if line.strip().startswith("validation/"))
    name = long_row.split()[0]
    assert "..." in name
    assert name.endswith("accuracy")
    assert LONG_TAG not in out
    assert any(line.strip().startswith("other tags:") and "weights" in line for line in lines)
    flag_line = next(line for line in lines if "nonfinite" in line)
    assert "error" in flag_line
    assert "step 5" in flag_line


def test_summary_selects_runs_and_tags(capsys: pytest.CaptureFixture[str], logdir: Path) -> None:
    status, out, _ = run_cli(
        capsys, "summary", str(logdir), "--json", "--runs", "^nan$", "--tags", "^loss$"
    )
    assert status == 0
    runs = json.loads(out)["runs"]
    assert list(runs) == ["nan"]
    assert list(runs["nan"]["tags"]) == ["loss"]
    assert runs["nan"]["other_tags"] == {}
    # Health flags are the run's, whichever tags are shown.
    assert runs["nan"]["health_counts"]["error"] == 1


def test_summary_reads_a_logdir_spec(capsys: pytest.CaptureFixture[str], logdir: Path) -> None:
    spec = f"a:{logdir / 'good'},b:{logdir / 'nan'}"
    # As a flag too, as `lumiboard --logdir` takes it.
    status, out, _ = run_cli(capsys, "summary", "--logdir", spec, "--json", "--tags", "accuracy")
    assert status == 0
    doc = json.loads(out)
    assert doc["logdir"] == spec
    assert list(doc["runs"]) == ["a", "b"]
    assert doc["runs"]["b"]["tags"]["accuracy"]["points"] == 10


def test_summary_reads_a_remote_logdir(
    capsys: pytest.CaptureFixture[str], logdir: Path, tmp_path: Path
) -> None:
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    remote = f"memory://lumiboard-cli-scripts/{tmp_path.name}"
    for path in (logdir / "good").iterdir():
        memory.pipe_file(f"{remote}/good/{path.name}", path.read_bytes())
    try:
        status, out, err = run_cli(capsys, "summary", remote, "--json", "--tags", "^loss$")
        assert status == 0, err
        assert json.loads(out)["runs"]["good"]["tags"]["loss"]["points"] == 20
        status, out, err = run_cli(
            capsys, "export", remote, "--format", "csv", "-o", str(tmp_path / "out")
        )
        assert status == 0, err
        assert len(pd.read_csv(tmp_path / "out" / "scalars.csv")) == 60
    finally:
        memory.rm(remote.removeprefix("memory://"), recursive=True)


def test_summary_as_a_process(logdir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lumiboard", "summary", str(logdir), "--json", "--tags", "loss"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["runs"]["good"]["tags"]["loss"]["best"] == "min"


def test_summary_in_ci_example(logdir: Path, tmp_path: Path) -> None:
    """The README's CI gate: passes on a good accuracy, fails (exit 1) on a bad one."""
    env = {**os.environ, "PYTHON": sys.executable, "LUMIBOARD": f"{sys.executable} -m lumiboard"}
    good = subprocess.run(
        ["bash", str(EXAMPLE), str(logdir / "good"), "accuracy", "0.92"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert "ok" in good.stdout
    bad = subprocess.run(
        ["bash", str(EXAMPLE), str(logdir / "nan"), "accuracy", "0.92"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert "accuracy" in bad.stderr


class ClosedPipe:
    """A stdout whose reader has left, as ``lumiboard summary ... | head -1`` leaves it."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("command", [["summary"], ["summary", "--json"], ["export"]])
def test_a_closed_pipe_ends_quietly(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    logdir: Path,
    tmp_path: Path,
    command: list[str],
) -> None:
    output = ["-o", str(tmp_path / "out")] if command == ["export"] else []
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert cli.main([*command, str(logdir), *output]) == 1
    monkeypatch.undo()
    assert capsys.readouterr().err == ""


def test_summary_help_documents_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "summary", "--help")
    assert status == 0
    for key in ("schema_version", "generated_at", "best_value", "health_counts", "other_tags"):
        assert key in out
    assert "loss" in out  # the min/max rule
    status, out, _ = run_cli(capsys, "--help")
    assert "summary" in out
    assert "export" in out


# ---- export -------------------------------------------------------------------


def test_export_csv(capsys: pytest.CaptureFixture[str], logdir: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    status, out, err = run_cli(capsys, "export", str(logdir), "--format", "csv", "-o", str(out_dir))
    assert status == 0, err
    assert sorted(path.name for path in out_dir.iterdir()) == [
        "histograms.csv",
        "scalars.csv",
        "text.csv",
    ]
    scalars = pd.read_csv(out_dir / "scalars.csv")
    assert list(scalars.columns) == ["run", "tag", "step", "wall_time", "value"]
    assert len(scalars) == 3 * 20 + 2 * 10
    assert scalars["value"].isna().sum() == 1
    text = pd.read_csv(out_dir / "text.csv")
    assert text["text"].tolist() == ["hello **world**"]
    assert out.startswith(f"wrote 3 files to {out_dir} (csv):")
    assert re.search(rf"^  {re.escape(str(out_dir / 'scalars.csv'))} +80 rows$", out, re.M)
    assert re.search(rf"^  {re.escape(str(out_dir / 'text.csv'))} +1 row$", out, re.M)


def test_export_parquet_selected(
    capsys: pytest.CaptureFixture[str], logdir: Path, tmp_path: Path
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out_dir = tmp_path / "pq"
    status, _, err = run_cli(
        capsys,
        "export",
        str(logdir),
        "--format",
        "parquet",
        "--runs",
        "good",
        "--tags",
        "^(loss|weights)$",
        "-o",
        str(out_dir),
    )
    assert status == 0, err
    # A Hive-partitioned dataset (lumiboard/export_parquet.py; test_export_parquet.py).
    assert sorted(path.name for path in out_dir.iterdir()) == [
        "_lumiboard_state.json",
        "_schema.json",
        "histograms",
        "scalars",
    ]
    scalars = pq.read_table(out_dir / "scalars", partitioning="hive").to_pandas()
    assert set(scalars["run"]) == {"good"}
    assert set(scalars["tag"]) == {"loss"}
    assert scalars["value"].tolist() == pytest.approx([1 / (step + 1) for step in range(20)])
    histograms = pq.read_table(out_dir / "histograms", partitioning="hive").to_pandas()
    assert sorted(set(histograms["step"])) == [0, 10]


def test_export_json_lines(
    capsys: pytest.CaptureFixture[str], logdir: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "js"
    status, out, err = run_cli(
        capsys, "export", str(logdir), "--format", "json", "--runs", "nan", "-o", str(out_dir)
    )
    assert status == 0, err
    assert sorted(path.name for path in out_dir.iterdir()) == ["scalars.jsonl"]
    lines = (out_dir / "scalars.jsonl").read_text().splitlines()
    rows = [json.loads(line, parse_constant=pytest.fail) for line in lines]
    assert len(rows) == 20
    assert rows[0].keys() == {"run", "tag", "step", "wall_time", "value"}
    nan_row = next(row for row in rows if row["tag"] == "loss" and row["step"] == 5)
    assert nan_row["value"] == "NaN"
    first = next(row for row in rows if row["tag"] == "accuracy" and row["step"] == 3)
    assert first == {
        "run": "nan",
        "tag": "accuracy",
        "step": 3,
        "wall_time": T0 + 3,
        "value": pytest.approx(0.3),
    }
    assert re.search(r"scalars.jsonl +20 rows$", out, re.M)
    # pandas reads it back as JSON lines.
    assert len(pd.read_json(out_dir / "scalars.jsonl", lines=True)) == 20


def test_export_default_directory(
    capsys: pytest.CaptureFixture[str],
    logdir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli(capsys, "export", str(logdir), "--format", "csv", "--tags", "^loss$")
    assert status == 0, err
    assert (tmp_path / "lumiboard-export" / "scalars.csv").is_file()


# ---- bad input ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["summary", "export"])
@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--runs", "("], 2, "--runs"),
        (["--tags", "a{5000}"], 2, "--tags"),
        (["--runs", "^nothing$"], 1, "no run matches"),
        (["--tags", "^nothing$"], 1, "no tag matches"),
    ],
)
def test_bad_selection(
    capsys: pytest.CaptureFixture[str],
    logdir: Path,
    tmp_path: Path,
    command: str,
    args: list[str],
    status: int,
    message: str,
) -> None:
    output = ["-o", str(tmp_path / "x")] if command == "export" else []
    got, out, err = run_cli(capsys, command, str(logdir), *args, *output)
    assert got == status
    assert message in err
    assert err.startswith(f"lumiboard {command}: ")
    assert "Traceback" not in err
    assert out == ""
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("command", ["summary", "export"])
def test_bad_logdir(capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str) -> None:
    got, _, err = run_cli(capsys, command, str(tmp_path / "missing"))
    assert got == 1
    assert "no such directory" in err
    assert "Traceback" not in err
    (tmp_path / "empty").mkdir()
    got, _, err = run_cli(capsys, command, str(tmp_path / "empty"))
    assert got == 1
    assert "no runs" in err
    got, _, err = run_cli(capsys, command, "name:")
    assert got == 2
    assert "gives no path" in err
    got, _, err = run_cli(capsys, command)
    assert got == 2
    assert "LOGDIR" in err
    got, _, err = run_cli(capsys, command, str(tmp_path), "--logdir", str(tmp_path))
    assert got == 2
    assert "not both" in err


def test_export_bad_format_and_output(
    capsys: pytest.CaptureFixture[str], logdir: Path, tmp_path: Path
) -> None:
    got, _, err = run_cli(capsys, "export", str(logdir), "--format", "xlsx")
    assert got == 2
    assert "invalid choice" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    got, _, err = run_cli(capsys, "export", str(logdir), "-o", str(blocker))
    assert got == 1
    assert "Traceback" not in err
    assert str(blocker) in err
