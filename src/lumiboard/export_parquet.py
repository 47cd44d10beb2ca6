"""``lumiboard export LOGDIR --format parquet DEST``: a Hive-partitioned Parquet dataset that
DuckDB, Polars, Spark, pyarrow and pandas read, kept up to date incrementally.

Layout under DEST (a local directory or an fsspec URL such as ``s3://bucket/prefix``)::

    scalars/run=<run>/tag=<tag>/part-<offset>.parquet   step int64, wall_time float64,
                                                          value float64
    histograms/run=<run>/part-<n>.parquet                tag, step, wall_time,
                                                          bucket_left, bucket_right, count
    text/run=<run>/part-<n>.parquet                      tag, step, wall_time, text
    hparams/part-00000000.parquet                        run, kind, name, value_num,
                                                          value_str, value_bool
    _schema.json                                         this schema, for programs
    _lumiboard_state.json                                what was exported (next export)

``run`` and ``tag`` are the partition keys (percent-encoded: any byte but ``A-Za-z0-9._-~``
as ``%XX`` of its UTF-8, which every engine decodes). ``value`` is float64 in every file:
a dataset has one schema (Polars refuses files that disagree, DuckDB casts to the first
file's), and float32 values widen to float64 exactly. Names starting with ``_`` are skipped
by the engines' globs and by Spark.

Incremental: the state file records, per scalar series, how many points were exported and
the last one (step, wall time). The next export writes only the points after it, as a new
part named by the row offset of its first point (a part written by an export that died
before saving the state is overwritten, not duplicated). A series whose exported points
changed (a purge by a restarted job, points written out of step order) is rewritten whole.
Histograms and text are kept per run (their reservoirs are sampled, not append-only): a
run's part is rewritten when its content changed. hparams is small and rewritten each time.
Runs and series no longer in the log directory (or not selected) are left as they were.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from lumiboard.experiment import Experiment

STATE_FILE = "_lumiboard_state.json"
SCHEMA_FILE = "_schema.json"
STATE_VERSION = 1

#: The dataset's schema, as written to ``_schema.json`` (Arrow type names).
SCHEMA: dict[str, Any] = {
    "version": STATE_VERSION,
    "partitioning": "hive; keys percent-encoded UTF-8 (decode %XX); read them as strings",
    "tables": {
        "scalars": {
            "path": "scalars/run={run}/tag={tag}/part-{offset:08d}.parquet",
            "partition_keys": {"run": "string", "tag": "string"},
            "columns": {"step": "int64", "wall_time": "float64", "value": "float64"},
            "notes": "every point, sorted by step within a part; offset: the series row "
            "of the part's first point",
        },
        "histograms": {
            "path": "histograms/run={run}/part-{n:08d}.parquet",
            "partition_keys": {"run": "string"},
            "columns": {
                "tag": "string",
                "step": "int64",
                "wall_time": "float64",
                "bucket_left": "float64",
                "bucket_right": "float64",
                "count": "float64",
            },
            "notes": "one row per bucket; a histogram is the rows of one (run, tag, step)",
        },
        "text": {
            "path": "text/run={run}/part-{n:08d}.parquet",
            "partition_keys": {"run": "string"},
            "columns": {"tag": "string", "step": "int64", "wall_time": "float64", "text": "string"},
            "notes": "a table (2-D text tensor) as its JSON nested list",
        },
        "hparams": {
            "path": "hparams/part-00000000.parquet",
            "partition_keys": {},
            "columns": {
                "run": "string",
                "kind": "string",
                "name": "string",
                "value_num": "float64",
                "value_str": "string",
                "value_bool": "bool",
            },
            "notes": "one row per trial and hyperparameter (kind 'hparam') or final metric "
            "(kind 'metric'; its last value); one of value_num, value_str, value_bool is "
            "set; a missing value has no row",
        },
    },
}


@dataclass
class ExportSummary:
    """What one export wrote: rows and files per table; scalar series new, appended to,
    rewritten and unchanged."""

    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    created: int = 0
    appended: int = 0
    rewritten: int = 0
    unchanged: int = 0

    def add(self, table: str, rows: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + rows
        self.files[table] = self.files.get(table, 0) + 1


def partition(key: str, value: str) -> str:
    """``key=value`` with ``value`` percent-encoded (``/``, ``=``, spaces, non-ASCII ...)."""
    return f"{key}={quote(value, safe='')}"


def export_dataset(
    experiment: Experiment, runs: list[str], tags: str | None, dest: str
) -> ExportSummary:
    """Export ``runs`` (their tags that the regex ``tags`` picks, or all) of ``experiment``
    into the dataset at ``dest``, incrementally; see the module's docstring."""
    target = Target(dest)
    state = _load_state(target)
    summary = ExportSummary()
    for run in runs:
        _export_scalars(experiment, run, tags, target, state, summary)
        _export_run_table(
            "histograms", _histogram_rows(experiment, run, tags), run, target, state, summary
        )
        _export_run_table("text", _text_rows(experiment, run, tags), run, target, state, summary)
    _export_hparams(experiment, runs, target, summary)
    target.write_bytes(SCHEMA_FILE, json.dumps(SCHEMA, indent=2).encode() + b"\n")
    # Last: an export that dies before this leaves parts the next one overwrites.
    target.write_bytes(STATE_FILE, json.dumps(state, sort_keys=True).encode())
    return summary


# ---- scalars ---------------------------------------------------------------------


def _export_scalars(
    experiment: Experiment,
    run: str,
    tags: str | None,
    target: Target,
    state: dict[str, Any],
    summary: ExportSummary,
) -> None:
    frame = experiment.scalars([run], tags)
    if frame.empty:
        return
    done: dict[str, Any] = state["scalars"].setdefault(run, {})
    tag_codes = frame["tag"].cat.codes.to_numpy()
    names = frame["tag"].cat.categories
    step = frame["step"].to_numpy()
    wall_time = frame["wall_time"].to_numpy()
    value = frame["value"].to_numpy()
    for start, end in _runs_of(tag_codes):
        tag = str(names[tag_codes[start]])
        columns = (step[start:end], wall_time[start:end], value[start:end])
        directory = f"scalars/{partition('run', run)}/{partition('tag', tag)}"
        before = done.get(tag)
        kept = _kept_rows(before, columns)
        if kept == len(columns[0]):
            summary.unchanged += 1
            continue
        if kept == 0:
            if before is None:
                summary.created += 1
            else:
                summary.rewritten += 1
            target.delete_files(directory)
        else:
            summary.appended += 1
        new = tuple(column[kept:] for column in columns)
        table = _scalar_table(*new)
        target.write_bytes(f"{directory}/part-{kept:08d}.parquet", _parquet(table))
        summary.add("scalars", table.num_rows)
        done[tag] = {
            "rows": len(columns[0]),
            "last_step": int(columns[0][-1]),
            "last_wall_time": float(columns[1][-1]),
        }


def _kept_rows(before: dict[str, Any] | None, columns: tuple[np.ndarray, ...]) -> int:
    """How many leading points of the series the dataset holds already, as they are now:
    all that were exported when the last of them is still in its place, else 0."""
    if before is None:
        return 0
    rows = int(before["rows"])
    if not 0 < rows <= len(columns[0]):
        return 0
    same_step = int(columns[0][rows - 1]) == before["last_step"]
    # Compared as bits: a NaN wall time equals itself.
    wall = np.float64(columns[1][rows - 1]).tobytes()
    same_wall = wall == np.float64(before["last_wall_time"]).tobytes()
    return rows if same_step and same_wall else 0


def _runs_of(codes: np.ndarray) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each stretch of equal codes."""
    cuts = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    bounds = [0, *cuts.tolist(), len(codes)]
    yield from itertools.pairwise(bounds)


def _scalar_table(step: np.ndarray, wall_time: np.ndarray, value: np.ndarray) -> pa.Table:
    import pyarrow as pa

    return pa.table(
        {
            "step": pa.array(np.asarray(step, dtype=np.int64)),
            "wall_time": pa.array(np.asarray(wall_time, dtype=np.float64)),
            "value": pa.array(np.asarray(value, dtype=np.float64)),
        }
    )


# ---- histograms, text: per run ----------------------------------------------------


def _histogram_rows(experiment: Experiment, run: str, tags: str | None) -> pa.Table | None:
    import pyarrow as pa

    frame = experiment.histograms([run], tags)
    if frame.empty:
        return None
    return pa.table(
        {
            "tag": pa.array(frame["tag"].astype(str).tolist(), type=pa.string()),
            "step": pa.array(frame["step"].to_numpy(dtype=np.int64)),
            "wall_time": pa.array(frame["wall_time"].to_numpy(dtype=np.float64)),
            "bucket_left": pa.array(frame["left"].to_numpy(dtype=np.float64)),
            "bucket_right": pa.array(frame["right"].to_numpy(dtype=np.float64)),
            "count": pa.array(frame["count"].to_numpy(dtype=np.float64)),
        }
    )


def _text_rows(experiment: Experiment, run: str, tags: str | None) -> pa.Table | None:
    import pyarrow as pa

    from lumiboard.experiment.export import text_for_export

    frame = experiment.text([run], tags)
    if frame.empty:
        return None
    frame = text_for_export(frame)
    return pa.table(
        {
            "tag": pa.array(frame["tag"].astype(str).tolist(), type=pa.string()),
            "step": pa.array(frame["step"].to_numpy(dtype=np.int64)),
            "wall_time": pa.array(frame["wall_time"].to_numpy(dtype=np.float64)),
            "text": pa.array(frame["text"].tolist(), type=pa.string()),
        }
    )


def _export_run_table(
    name: str,
    table: pa.Table | None,
    run: str,
    target: Target,
    state: dict[str, Any],
    summary: ExportSummary,
) -> None:
    if table is None:
        return
    data = _parquet(table)
    digest = hashlib.sha256(data).hexdigest()
    done: dict[str, Any] = state[name]
    before = done.get(run)
    if before is not None and before["sha256"] == digest:
        return
    directory = f"{name}/{partition('run', run)}"
    number = 0 if before is None else int(before["part"]) + 1
    # A new name, not the old one overwritten: a reader listing the directory now never
    # opens a file that changed under it.
    target.write_bytes(f"{directory}/part-{number:08d}.parquet", data)
    if before is not None:
        target.delete(f"{directory}/part-{int(before['part']):08d}.parquet")
    done[run] = {"sha256": digest, "part": number}
    summary.add(name, table.num_rows)


# ---- hparams ----------------------------------------------------------------------


def _export_hparams(
    experiment: Experiment, runs: list[str], target: Target, summary: ExportSummary
) -> None:
    frame = experiment.hparams()
    frame = frame[frame["run"].isin(runs)]
    if frame.empty:
        return
    table = hparams_table(frame)
    target.write_bytes("hparams/part-00000000.parquet", _parquet(table))
    summary.add("hparams", table.num_rows)


def hparams_table(frame: pd.DataFrame) -> pa.Table:
    """``Experiment.hparams()``'s wide table, long: run, kind, name and the value in the
    column of its type (numbers, strings, booleans)."""
    import pyarrow as pa

    kinds = dict.fromkeys(frame.attrs.get("hparams", []), "hparam")
    kinds.update(dict.fromkeys(frame.attrs.get("metrics", []), "metric"))
    rows: dict[str, list[Any]] = {
        key: [] for key in ("run", "kind", "name", "value_num", "value_str", "value_bool")
    }
    for column in frame.columns:
        if column == "run":
            continue
        for run, item in zip(frame["run"], frame[column], strict=True):
            if item is None or (isinstance(item, float) and np.isnan(item)):
                continue  # the trial has no such hyperparameter, or the metric no value
            number, text, flag = _typed(item)
            rows["run"].append(str(run))
            rows["kind"].append(kinds.get(column, "hparam"))
            rows["name"].append(str(column))
            rows["value_num"].append(number)
            rows["value_str"].append(text)
            rows["value_bool"].append(flag)
    return pa.table(
        {
            "run": pa.array(rows["run"], type=pa.string()),
            "kind": pa.array(rows["kind"], type=pa.string()),
            "name": pa.array(rows["name"], type=pa.string()),
            "value_num": pa.array(rows["value_num"], type=pa.float64()),
            "value_str": pa.array(rows["value_str"], type=pa.string()),
            "value_bool": pa.array(rows["value_bool"], type=pa.bool_()),
        }
    )


def _typed(item: object) -> tuple[float | None, str | None, bool | None]:
    if isinstance(item, (bool, np.bool_)):
        return None, None, bool(item)
    if isinstance(item, (int, float, np.integer, np.floating)):
        return float(item), None, None
    if item is None:
        return None, None, None
    return None, str(item), None


# ---- files --------------------------------------------------------------------------


def _parquet(table: pa.Table) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue())


def _load_state(target: Target) -> dict[str, Any]:
    fresh: dict[str, Any] = {"version": STATE_VERSION, "scalars": {}, "histograms": {}, "text": {}}
    data = target.read_bytes(STATE_FILE)
    if data is None:
        return fresh
    try:
        state = json.loads(data)
    except ValueError:
        return fresh  # unreadable: every series is written again, over its parts
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        return fresh
    for key in ("scalars", "histograms", "text"):
        state.setdefault(key, {})
    return state


class Target:
    """The dataset's root: a local directory, or an fsspec URL (``s3://...``)."""

    def __init__(self, dest: str) -> None:
        from lumiboard.writer.fs import is_remote

        self.remote = is_remote(dest)
        if self.remote:
            from fsspec.core import url_to_fs

            self.fs, root = url_to_fs(dest)
            self.root = root.rstrip("/")
            self.fs.makedirs(self.root, exist_ok=True)
        else:
            self.root = os.path.abspath(dest)
            os.makedirs(self.root, exist_ok=True)

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def write_bytes(self, relative: str, data: bytes) -> None:
        path = self.path(relative)
        if self.remote:
            self.fs.pipe_file(path, data)  # one PUT: readers see all of it or nothing
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # Hidden while it is written: Spark and pyarrow skip names starting with ".".
        partial = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.partial")
        with open(partial, "wb") as file:
            file.write(data)
        os.replace(partial, path)

    def read_bytes(self, relative: str) -> bytes | None:
        path = self.path(relative)
        try:
            if self.remote:
                return bytes(self.fs.cat_file(path))
            with open(path, "rb") as file:
                return file.read()
        except FileNotFoundError:
            return None

    def delete(self, relative: str) -> None:
        path = self.path(relative)
        try:
            if self.remote:
                self.fs.rm_file(path)
            else:
                os.remove(path)
        except FileNotFoundError:
            pass

    def delete_files(self, directory: str) -> None:
        """Every file of ``directory`` (a series' parts), if it exists."""
        path = self.path(directory)
        if self.remote:
            self.fs.invalidate_cache(path)
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)
            return
        if os.path.isdir(path):
            for name in os.listdir(path):
                os.remove(os.path.join(path, name))
