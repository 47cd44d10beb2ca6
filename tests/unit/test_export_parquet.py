"""``lumiboard export LOGDIR --format parquet DEST``: a Hive-partitioned dataset that DuckDB
and Polars read back exactly as ``lumiboard.read`` sees the log directory; incremental;
to ``s3://`` as well (moto on 127.0.0.1)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

import lumiboard
from lumiboard import SummaryWriter, cli
from lumiboard.export_parquet import SCHEMA, SCHEMA_FILE, partition

T0 = 1_700_000_000.0
#: Names an engine could misread: separators, "=", "%", spaces, non-ASCII, digits only.
RUNS = ("plain", "odd run/a=b %", "2024", "café")
TAGS = ("loss", "eval/acc=1 %", "123")
HIVE = "hive_partitioning=true, hive_types={'run': VARCHAR, 'tag': VARCHAR}"


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


def _write(root: Path, steps: range, runs: tuple[str, ...] = RUNS) -> None:
    for index, run in enumerate(runs):
        with SummaryWriter(root / run) as writer:
            for step in steps:
                for number, tag in enumerate(TAGS):
                    value = math.sin(step * (number + 1)) + index
                    if step == 3 and number == 0:
                        value = math.nan
                    writer.add_scalar(tag, value, step, walltime=T0 + step + index / 7)
            if steps.start == 0:
                writer.add_histogram("weights", [0.0, 1.0, 2.0, 2.5 + index], 0, walltime=T0)
                writer.add_text("notes", f"run **{run}**", 0, walltime=T0)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    _write(root, range(50))
    with SummaryWriter(root / "trial") as writer:
        writer.add_scalar("loss", 0.25, 1, walltime=T0)
        writer.add_hparams(
            {"lr": 0.01, "optimizer": "adam", "nesterov": True},
            {"final/loss": 0.25},
            run_name=".",
        )
    return root


def _export(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status = cli.main(["export", *argv])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def _expected(logdir: Path) -> pd.DataFrame:
    frame = lumiboard.read(str(logdir), cache=False).scalars()
    frame = frame.astype({"run": str, "tag": str})
    return frame.sort_values(["run", "tag", "step"], kind="stable").reset_index(drop=True)


def _sql(query: str) -> duckdb.DuckDBPyRelation:
    relation = duckdb.sql(query)
    assert relation is not None  # a SELECT always gives one
    return relation


def _duckdb_scalars(dest: str) -> pd.DataFrame:
    query = (
        f"SELECT run, tag, step, wall_time, value FROM read_parquet("
        f"'{dest}/scalars/**/*.parquet', {HIVE}) ORDER BY run, tag, step"
    )
    return _sql(query).df()


def _polars_scalars(dest: str) -> pd.DataFrame:
    frame = (
        pl.scan_parquet(
            f"{dest}/scalars/**/*.parquet",
            hive_partitioning=True,
            hive_schema={"run": pl.String, "tag": pl.String},
        )
        .select("run", "tag", "step", "wall_time", "value")
        .sort("run", "tag", "step", maintain_order=True)
        .collect()
    )
    return frame.to_pandas()


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal row for row, every float bit for bit (NaN included)."""
    assert got["run"].tolist() == expected["run"].tolist()
    assert got["tag"].tolist() == expected["tag"].tolist()
    assert got["step"].to_numpy(np.int64).tolist() == expected["step"].tolist()
    for column in ("wall_time", "value"):
        ours = got[column].to_numpy(np.float64)
        assert ours.dtype == np.float64
        np.testing.assert_array_equal(
            ours.view(np.int64), expected[column].to_numpy().view(np.int64)
        )


def test_duckdb_and_polars_read_what_lumiboard_reads(
    capsys: pytest.CaptureFixture[str], logdir: Path, tmp_path: Path
) -> None:
    dest = str(tmp_path / "dataset")
    out = _export(capsys, str(logdir), "--format", "parquet", dest)
    assert "scalar series: 14 new, 0 appended to, 0 rewritten, 0 unchanged" in out
    expected = _expected(logdir)
    assert len(expected) == 4 * 3 * 50 + 2  # and the trial's loss and final/loss
    assert expected["value"].isna().sum() == 4  # NaN survives
    # Sorted by run, tag, step in both: the engines' collation is byte order, as pandas'.
    _same(_duckdb_scalars(dest), expected)
    _same(_polars_scalars(dest), expected)
    # The odd names are percent-encoded directories, decoded back by both engines.
    odd = Path(dest) / "scalars" / partition("run", "odd run/a=b %")
    assert odd.name == "run=odd%20run%2Fa%3Db%20%25"
    assert (odd / partition("tag", "eval/acc=1 %") / "part-00000000.parquet").is_file()
    assert json.loads((Path(dest) / SCHEMA_FILE).read_text()) == SCHEMA


def test_histograms_text_and_hparams_tables(
    capsys: pytest.CaptureFixture[str], logdir: Path, tmp_path: Path
) -> None:
    dest = str(tmp_path / "dataset")
    _export(capsys, str(logdir), "--format", "parquet", dest)
    experiment = lumiboard.read(str(logdir), cache=False)
    histograms = _sql(
        f"SELECT run, tag, step, wall_time, bucket_left, bucket_right, count FROM read_parquet("
        f"'{dest}/histograms/**/*.parquet', hive_partitioning=true, hive_types={{'run': VARCHAR}})"
        " ORDER BY run, tag, step, bucket_left"
    ).df()
    expected = experiment.histograms().astype({"run": str, "tag": str})
    expected = expected.sort_values(["run", "tag", "step", "left"]).reset_index(drop=True)
    assert len(histograms) == len(expected) > 0
    assert histograms["run"].tolist() == expected["run"].tolist()
    for ours, theirs in (("bucket_left", "left"), ("bucket_right", "right"), ("count", "count")):
        assert histograms[ours].tolist() == expected[theirs].tolist()
    text = pl.read_parquet(
        f"{dest}/text/**/*.parquet", hive_partitioning=True, hive_schema={"run": pl.String}
    ).sort("run")
    assert text["run"].to_list() == sorted(RUNS)
    assert text["text"].to_list() == [f"run **{run}**" for run in sorted(RUNS)]
    hparams = _sql(
        f"SELECT kind, name, value_num, value_str, value_bool FROM '{dest}/hparams/*.parquet'"
        " ORDER BY kind, name"
    ).fetchall()
    assert hparams == [
        ("hparam", "lr", 0.01, None, None),
        ("hparam", "nesterov", None, None, True),
        ("hparam", "optimizer", None, "adam", None),
        ("metric", "final/loss", 0.25, None, None),
    ]


def _parts(dest: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(dest)): path.read_bytes()
        for path in sorted((dest / "scalars").rglob("*.parquet"))
    }


def test_a_second_export_appends_only_the_new_points(
    capsys: pytest.CaptureFixture[str], logdir: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "dataset"
    _export(capsys, str(logdir), "--format", "parquet", str(dest))
    first = _parts(dest)
    again = _export(capsys, str(logdir), "--format", "parquet", str(dest))
    assert "scalar series: 0 new, 0 appended to, 0 rewritten, 14 unchanged" in again
    assert _parts(dest) == first  # nothing rewritten, nothing added

    _write(logdir, range(50, 60), runs=("plain",))
    out = _export(capsys, str(logdir), "--format", "parquet", str(dest))
    assert "scalar series: 0 new, 3 appended to, 0 rewritten" in out
    assert "scalars     30 new rows in 3 files" in out
    second = _parts(dest)
    assert {name: second[name] for name in first} == first  # old parts untouched
    added = sorted(set(second) - set(first))
    assert added == [
        f"scalars/run=plain/{partition('tag', tag)}/part-00000050.parquet" for tag in sorted(TAGS)
    ]
    assert ds.dataset(dest / added[0]).to_table().column("step").to_pylist() == list(range(50, 60))
    _same(_duckdb_scalars(str(dest)), _expected(logdir))


def test_a_purged_series_is_rewritten(
    capsys: pytest.CaptureFixture[str], logdir: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "dataset"
    _export(capsys, str(logdir), "--format", "parquet", str(dest))
    # A restarted job: steps from 40 on are written again (different values), purging the old.
    with SummaryWriter(logdir / "2024", purge_step=40) as writer:
        for step in range(40, 45):
            for tag in TAGS:
                writer.add_scalar(tag, -1.0, step, walltime=T0 + 1_000 + step)
    out = _export(capsys, str(logdir), "--format", "parquet", str(dest))
    assert "scalar series: 0 new, 0 appended to, 3 rewritten" in out
    series = dest / "scalars" / "run=2024" / "tag=loss"
    assert [path.name for path in series.iterdir()] == ["part-00000000.parquet"]
    expected = _expected(logdir)
    assert len(expected) == 4 * 3 * 50 + 2 - 3 * 5
    _same(_duckdb_scalars(str(dest)), expected)
    _same(_polars_scalars(str(dest)), expected)


def test_a_dataset_in_s3(capsys: pytest.CaptureFixture[str], logdir: Path, s3_server: Any) -> None:
    dest = f"s3://{s3_server.bucket}/exports/one"
    _export(capsys, str(logdir), "--format", "parquet", dest)
    client = s3_server.client
    client.invalidate_cache()
    names = client.find(f"{s3_server.bucket}/exports/one")
    assert f"{s3_server.bucket}/exports/one/_schema.json" in names
    dataset = ds.dataset(
        f"{s3_server.bucket}/exports/one/scalars",
        filesystem=client,
        format="parquet",
        partitioning=ds.partitioning(
            schema=pa.schema([("run", "string"), ("tag", "string")]),
            flavor="hive",
        ),
    )
    got = dataset.to_table().to_pandas()
    got = got.sort_values(["run", "tag", "step"], kind="stable").reset_index(drop=True)
    _same(got, _expected(logdir))
    _write(logdir, range(50, 52), runs=("café",))
    out = _export(capsys, str(logdir), "--format", "parquet", dest)
    assert "scalar series: 0 new, 3 appended to, 0 rewritten" in out
    client.invalidate_cache()
    assert len(client.find(f"{s3_server.bucket}/exports/one/scalars/run=caf%C3%A9")) == 6
