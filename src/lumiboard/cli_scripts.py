"""The ``lumiboard export`` and ``lumiboard summary`` commands: a log directory for scripts.

Both read the log directory as :func:`lumiboard.read` does (any ``--logdir``
form: a path, an fsspec URL, a ``name:path,...`` spec; the persistent cache),
start no server, and pick runs and tags with regexes checked and bounded by
:mod:`lumiboard.store.patterns`. A failure is one line on stderr, never a
traceback: exit status 2 for a usage error (a bad regex or log directory
spec), 1 when the data is not there (no such directory, no run or tag matches,
an output that cannot be written).
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:  # pandas and the reader load only when a command runs: `--help` stays fast
    import pandas as pd

    from lumiboard.experiment import Experiment

COMMANDS = ("export", "summary")
#: Bump when a key of ``summary --json`` changes meaning or goes away (adding keys does not).
SCHEMA_VERSION = 1
WIDTH = 100
#: Flags shown per run in the table (``--json`` has them all).
SHOWN_FLAGS = 3
#: A tag is minimized when one of its words (split at anything but letters and digits) is one of
#: these, or contains "loss" or "error"; every other tag is maximized.
MINIMIZED_WORDS = frozenset(
    ("loss", "error", "err", "mse", "mae", "rmse", "nll", "perplexity", "ppl", "wer", "cer", "cost")
)

_T = TypeVar("_T")

SUMMARY_DESCRIPTION = """\
Summarize a log directory without a server: per run and scalar tag, the number
of points, first and last step, last and best value and last wall time; and the
run's health flags. A table for people (100 columns), --json for programs."""

SUMMARY_EPILOG = f"""\
best value: the minimum for a tag that looks like a loss or an error (a word of
the tag, split at anything but letters and digits, contains "loss" or "error",
or is one of {", ".join(sorted(MINIMIZED_WORDS - {"loss", "error"}))}),
the maximum otherwise; non-finite values are never the best. The health flags
are the run's, whichever tags --tags picks.

--json prints one document; non-finite numbers are the strings "NaN",
"Infinity", "-Infinity" (as in lumiboard's HTTP API); keys are only ever added
while schema_version stays {SCHEMA_VERSION}. Runs and tags in name order, flags in step order:
  {{"schema_version": {SCHEMA_VERSION}, "logdir": str,
   "generated_at": ISO 8601 time with its UTC offset,
   "runs": {{RUN: {{
     "tags": {{TAG: {{"points": int, "first_step": int, "last_step": int,
                   "last_value": number, "best": "min" | "max",
                   "best_value": number | null, "best_step": int | null,
                   "last_wall_time": seconds since the epoch (the latest)}}}},
     "other_tags": {{TAG: plugin}},   (histograms, text ...: not summarized)
     "health": [{{"tag", "kind", "level", "step", "wall_time", "value",
                 "message"}}, ...],
     "health_counts": {{"error": int, "warning": int, "info": int}}}}}}}}

example: fail a CI job when a run's last accuracy is under 0.9 (a fuller
script: examples/summary_in_ci.sh):
  lumiboard summary runs --json --tags '^accuracy$' | python -c 'import json, sys; \\
  sys.exit(any(not float(r["tags"]["accuracy"]["last_value"]) >= 0.9 \\
  for r in json.load(sys.stdin)["runs"].values()))'"""

EXPORT_DESCRIPTION = """\
Write the scalars, histograms, text and hparams of a log directory to files
other tools read (pandas, DuckDB, Polars, spreadsheets), without a server."""

EXPORT_EPILOG = """\
tables: scalars (run, tag, step, wall_time, value; always written), and when
the selection has any: histograms (one row per bucket: run, tag, step,
wall_time, left, right, count), text (run, tag, step, wall_time, text) and
hparams (one row per trial among the selected runs: run, each hyperparameter,
each final metric). Images and audio stay in the event files. The files of an
earlier export to the same directory are overwritten.

formats: parquet (pyarrow; run and tag dictionary-encoded); csv; json: JSON
Lines, one <table>.jsonl per table and one object per row, non-finite numbers
as the strings "NaN", "Infinity", "-Infinity" (as in lumiboard's HTTP API),
a text table (a 2-D tensor) as a nested list (in csv and parquet: its JSON)."""


class _CommandError(Exception):
    """What ends a command: its message, and the exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``export`` and ``summary`` to the subcommands of ``lumiboard``."""
    formatter = argparse.RawDescriptionHelpFormatter
    export = commands.add_parser(
        "export",
        help="write a log directory's tables as Parquet, CSV or JSON Lines files",
        description=EXPORT_DESCRIPTION,
        epilog=EXPORT_EPILOG,
        formatter_class=formatter,
    )
    _add_source_flags(export)
    export.add_argument(
        "--format",
        choices=("parquet", "csv", "json"),
        default="parquet",
        help="file format (default parquet)",
    )
    export.add_argument(
        "-o",
        "--output",
        default="lumiboard-export",
        help="directory to write into (default ./lumiboard-export)",
    )
    summary = commands.add_parser(
        "summary",
        help="print each run's scalars (points, last and best values) and health flags",
        description=SUMMARY_DESCRIPTION,
        epilog=SUMMARY_EPILOG,
        formatter_class=formatter,
    )
    _add_source_flags(summary)
    summary.add_argument("--json", action="store_true", help="print one JSON document (below)")


def _add_source_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "logdir",
        nargs="?",
        metavar="LOGDIR",
        help="log directory, fsspec URL (s3://...) or TensorBoard's name1:/path1,name2:/path2",
    )
    parser.add_argument(
        "--logdir",
        "--logdir_spec",
        dest="logdir_flag",
        metavar="LOGDIR",
        help="LOGDIR, given as a flag (as `lumiboard --logdir` takes it)",
    )
    parser.add_argument("--runs", metavar="REGEX", help="only the runs this regex matches")
    parser.add_argument("--tags", metavar="REGEX", help="only the tags this regex matches")
    parser.add_argument(
        "--no-cache",
        "--no_cache",
        dest="no_cache",
        action="store_true",
        help="do not use the persistent cache",
    )
    parser.add_argument(
        "--cache-dir", "--cache_dir", dest="cache_dir", help="where the persistent cache lives"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``export`` or ``summary``; return the exit status."""
    try:
        if args.command == "export":
            return _export(args)
        return _summary(args)
    except _CommandError as failure:
        print(f"lumiboard {args.command}: {failure}", file=sys.stderr)
        return failure.status


# ---- reading ------------------------------------------------------------------


class _Selection:
    """The experiment read, its runs picked by --runs, and its tags picked by --tags."""

    def __init__(self, experiment: Experiment, runs: list[str], tags: pd.DataFrame) -> None:
        self.experiment = experiment
        self.runs = runs
        #: run, tag, plugin, kind: every chosen tag of the chosen runs.
        self.tags = tags


def _read(args: argparse.Namespace) -> _Selection:
    from lumiboard.reader.discover import parse_logdir
    from lumiboard.store.patterns import PatternError, check_pattern
    from lumiboard.writer.fs import is_remote

    if args.logdir and args.logdir_flag:
        raise _CommandError("give LOGDIR or --logdir, not both", 2)
    logdir = args.logdir or args.logdir_flag
    if not logdir:
        raise _CommandError(f"a log directory is required: lumiboard {args.command} LOGDIR", 2)
    for flag in ("runs", "tags"):
        pattern = getattr(args, flag)
        if pattern is not None:
            try:  # before reading: a typo fails at once, not after a long read
                check_pattern(pattern)
            except PatternError as error:
                raise _CommandError(f"--{flag} {pattern!r}: {error}", 2) from None
    try:
        sources = parse_logdir(logdir)
    except ValueError as error:
        raise _CommandError(str(error), 2) from None
    # The reader waits for a missing directory to appear (a server may start first); here
    # nothing will appear, so a mistyped path says so.
    missing = [
        source.location
        for source in sources
        if not is_remote(source.location) and not os.path.isdir(source.location)
    ]
    if missing:
        raise _CommandError(f"no such directory: {', '.join(missing)}", 1)
    experiment = _bounded(lambda: _experiment(logdir, args))
    every_run = experiment.runs()
    if not every_run:
        raise _CommandError(f"no runs under {logdir} (a run is a directory holding event files)", 1)
    runs = _bounded(lambda: experiment.runs(args.runs))
    if not runs:
        raise _CommandError(f"no run matches --runs {args.runs!r}; runs: {_listing(every_run)}", 1)
    tags = experiment.tags(runs)
    if args.tags is not None:
        from lumiboard.experiment.selection import select

        every_tag = sorted(set(tags["tag"]))
        chosen = set(_bounded(lambda: select(every_tag, args.tags, "tag")))
        if not chosen:
            raise _CommandError(
                f"no tag matches --tags {args.tags!r}; tags: {_listing(every_tag)}", 1
            )
        tags = tags[tags["tag"].isin(chosen)].reset_index(drop=True)
    return _Selection(experiment, runs, tags)


def _experiment(logdir: str, args: argparse.Namespace) -> Experiment:
    from lumiboard.experiment import read

    cache: bool | str = False if args.no_cache else (args.cache_dir or True)
    try:
        return read(logdir, cache=cache)
    except (ImportError, OSError) as error:  # no fsspec backend for a URL; an unreadable place
        raise _CommandError(f"cannot read {logdir}: {error}", 1) from None


def _bounded(work: Callable[[], _T]) -> _T:
    """``work()``, with a regex that proved too slow (or a bad name list) as a usage error."""
    try:
        return work()
    except (ValueError, KeyError) as error:  # PatternError is a ValueError
        raise _CommandError(str(error).strip("'\""), 2) from None


def _listing(names: list[str], shown: int = 10) -> str:
    more = f" ... ({len(names)} in all)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


# ---- export -------------------------------------------------------------------


def _export(args: argparse.Namespace) -> int:
    from lumiboard.experiment import export as exporting

    chosen = _read(args)
    experiment, runs = chosen.experiment, chosen.runs
    text = experiment.text(runs, args.tags)
    hparams = experiment.hparams()
    tables = {
        "scalars": experiment.scalars(runs, args.tags),
        "histograms": experiment.histograms(runs, args.tags),
        "text": text if args.format == "json" else exporting.text_for_export(text),
        "hparams": hparams[hparams["run"].isin(runs)].reset_index(drop=True),
    }
    output = Path(args.output)
    try:
        if args.format == "json":
            written = _write_json_lines(tables, output)
        else:
            written = exporting.write_tables(tables, output, args.format)
    except OSError as error:
        raise _CommandError(f"cannot write to {output}: {error.strerror or error}", 1) from None
    rows = {path.stem: len(tables[path.stem]) for path in written}
    print(f"wrote {len(written)} files to {output} ({args.format}):")
    width = max(len(str(path)) for path in written)
    for path in written:
        count = rows[path.stem]
        print(f"  {path!s:<{width}}  {count} row{'' if count == 1 else 's'}")
    return 0


def _write_json_lines(tables: dict[str, pd.DataFrame], directory: Path) -> list[Path]:
    """``<table>.jsonl``, one object per row; ``scalars`` always, the others when not empty."""
    import orjson

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        if frame.empty and name != "scalars":
            continue
        target = directory / f"{name}.jsonl"
        keys = [str(column) for column in frame.columns]
        columns = [_json_column(frame[column]) for column in frame.columns]
        with target.open("wb") as file:
            file.writelines(
                orjson.dumps(
                    dict(zip(keys, row, strict=True)),
                    default=_json_default,
                    option=orjson.OPT_APPEND_NEWLINE,
                )
                for row in zip(*columns, strict=True)
            )
        written.append(target)
    return written


def _json_column(column: pd.Series) -> list[Any]:
    """A column's values as Python objects; non-finite floats as TensorBoard's strings."""
    import numpy as np

    if column.dtype.kind != "f":
        return list(column.tolist())
    values = column.to_numpy()
    bad = ~np.isfinite(values)
    if not bad.any():
        return list(values.tolist())
    items = values.astype(object)
    items[bad] = [_json_number(float(value)) for value in values[bad]]
    return list(items.tolist())


def _json_default(item: Any) -> Any:
    if hasattr(item, "tolist"):  # a numpy array (a text table) or numpy scalar
        return item.tolist()
    return str(item)


def _json_number(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


# ---- summary ------------------------------------------------------------------


def best_of(tag: str) -> Literal["min", "max"]:
    """Whether a tag's best value is its minimum (a loss, an error) or its maximum."""
    words = re.split(r"[^a-z0-9]+", tag.lower())
    minimized = any(w in MINIMIZED_WORDS or "loss" in w or "error" in w for w in words)
    return "min" if minimized else "max"


def _summary(args: argparse.Namespace) -> int:
    chosen = _read(args)
    logdir = args.logdir or args.logdir_flag
    document = summarize(chosen, args.tags, logdir)
    if args.json:
        import orjson

        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write("".join(f"{line}\n" for line in render(document)))
    return 0


def summarize(chosen: _Selection, tags: str | None, logdir: str) -> dict[str, Any]:
    """The ``summary --json`` document (see :data:`SUMMARY_EPILOG`)."""
    experiment = chosen.experiment
    stats = _series_stats(experiment.scalars(chosen.runs, tags))
    others = chosen.tags[chosen.tags["kind"] != "scalar"]
    flags = experiment.health(chosen.runs)
    runs: dict[str, Any] = {
        run: {"tags": {}, "other_tags": {}, "health": [], "health_counts": {}}
        for run in chosen.runs
    }
    for (run, tag), entry in stats.items():
        runs[run]["tags"][tag] = entry
    for run, tag, plugin in zip(others["run"], others["tag"], others["plugin"], strict=True):
        runs[run]["other_tags"][tag] = plugin
    for row in flags.itertuples(index=False):
        runs[str(row.run)]["health"].append(
            {
                "tag": str(row.tag),
                "kind": row.kind,
                "level": row.level,
                "step": int(row.step),
                "wall_time": float(row.wall_time),
                "value": None if row.kind == "alert" else _json_number(float(row.value)),
                "message": row.message,
            }
        )
    for entry in runs.values():
        entry["health_counts"] = {
            level: sum(flag["level"] == level for flag in entry["health"])
            for level in ("error", "warning", "info")
        }
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return {
        "schema_version": SCHEMA_VERSION,
        "logdir": logdir,
        "generated_at": now.isoformat(),
        "runs": runs,
    }


def _series_stats(frame: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (run, tag) of a scalar table (sorted by run, tag, step): its summary entry."""
    import numpy as np

    if frame.empty:
        return {}
    run_codes = frame["run"].cat.codes.to_numpy()
    tag_codes = frame["tag"].cat.codes.to_numpy()
    step, wall_time = frame["step"].to_numpy(), frame["wall_time"].to_numpy()
    value = frame["value"].to_numpy()
    cuts = np.flatnonzero((run_codes[1:] != run_codes[:-1]) | (tag_codes[1:] != tag_codes[:-1]))
    starts = [0, *(cuts + 1).tolist()]
    ends = [*(cuts + 1).tolist(), len(frame)]
    run_names, tag_names = frame["run"].cat.categories, frame["tag"].cat.categories
    stats = {}
    for start, end in zip(starts, ends, strict=True):
        run, tag = str(run_names[run_codes[start]]), str(tag_names[tag_codes[start]])
        values = value[start:end]
        best = best_of(tag)
        finite = np.flatnonzero(np.isfinite(values))
        best_at: int | None = None
        if len(finite):
            pick = np.argmin if best == "min" else np.argmax
            best_at = int(finite[pick(values[finite])])
        stats[run, tag] = {
            "points": end - start,
            "first_step": int(step[start]),
            "last_step": int(step[end - 1]),
            "last_value": _json_number(float(values[-1])),
            "best": best,
            "best_value": None if best_at is None else float(values[best_at]),
            "best_step": None if best_at is None else int(step[start + best_at]),
            "last_wall_time": float(wall_time[start:end].max()),
        }
    return stats


# ---- the table ----------------------------------------------------------------

#: The columns: header, and whether cells are right-aligned. "best" is a word ("min" or
#: "max") and a number, one space apart.
COLUMNS = (
    ("tag", False),
    ("points", True),
    ("first", True),
    ("last", True),
    ("last value", True),
    ("", False),
    ("best", True),
    ("last written", False),
)
HEADER = tuple(header for header, _ in COLUMNS)
LEVEL_ORDER = {"error": 0, "warning": 1, "info": 2}


def render(document: dict[str, Any]) -> list[str]:
    """The lines of ``summary``'s table: runs as sections, scalar tags as rows, <= WIDTH wide."""
    runs = document["runs"]
    rows = {run: [_row(tag, stats) for tag, stats in e["tags"].items()] for run, e in runs.items()}
    every_row = [HEADER, *(row for run_rows in rows.values() for row in run_rows)]
    widths = [max(len(row[i]) for row in every_row) for i in range(len(COLUMNS))]
    rest = 2 + sum(widths[1:]) + 2 * (len(COLUMNS) - 2) + 1
    widths[0] = max(12, min(widths[0], WIDTH - rest))  # long tags are cut, not the numbers
    title = f"lumiboard summary of {document['logdir']}: {len(runs)} run{_s(len(runs))}"
    lines = [_end_cut(title, WIDTH)]
    for run, entry in runs.items():
        count = len(entry["tags"])
        health = ", ".join(
            f"{n} {level}{_s(n) if level != 'info' else ''}"
            for level, n in entry["health_counts"].items()
            if n
        )
        tail = f"  ({count} scalar tag{_s(count)})  health: {health or 'ok'}"
        lines += ["", "run " + _middle_cut(run, WIDTH - 4 - len(tail)) + tail]
        if rows[run]:
            lines += [_line(row, widths) for row in [HEADER, *rows[run]]]
        if entry["other_tags"]:
            listed = ", ".join(f"{tag} ({plugin})" for tag, plugin in entry["other_tags"].items())
            lines.append(_end_cut(f"  other tags: {listed}", WIDTH))
        flags = sorted(entry["health"], key=lambda flag: LEVEL_ORDER.get(flag["level"], 3))
        for flag in flags[:SHOWN_FLAGS]:
            text = f"  {flag['level']:<7}  {flag['kind']} of {flag['tag']} at step {flag['step']}"
            lines.append(_end_cut(f"{text}: {flag['message']}", WIDTH))
        if len(flags) > SHOWN_FLAGS:
            lines.append(f"  ... {len(flags) - SHOWN_FLAGS} more flags (--json lists them all)")
    return lines


def _row(tag: str, entry: dict[str, Any]) -> tuple[str, ...]:
    best = entry["best_value"]
    return (
        tag,
        str(entry["points"]),
        str(entry["first_step"]),
        str(entry["last_step"]),
        _number(entry["last_value"]),
        entry["best"] if best is not None else "",
        "-" if best is None else _number(best),
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry["last_wall_time"])),
    )


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    parts = [_middle_cut(cells[0], widths[0]).ljust(widths[0])]
    for (_, right), cell, width in zip(COLUMNS[1:], cells[1:], widths[1:], strict=True):
        parts.append(cell.rjust(width) if right else cell.ljust(width))
    best = " ".join(parts[5:7])  # the word and its number
    return "  " + "  ".join([*parts[:5], best, *parts[7:]]).rstrip()


def _number(value: float | str) -> str:
    return value.lower().replace("infinity", "inf") if isinstance(value, str) else f"{value:.6g}"


def _middle_cut(text: str, width: int) -> str:
    """``text`` cut in its middle to ``width`` (both ends of a name tell runs apart)."""
    if len(text) <= width:
        return text
    head = max(1, (width - 3 + 1) // 2)
    return text[:head] + "..." + text[len(text) - max(1, width - 3 - head) :]


def _end_cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _s(count: int) -> str:
    return "" if count == 1 else "s"
