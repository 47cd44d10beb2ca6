"""The ``lumiboard export`` and ``lumiboard summary`` commands: a log directory for scripts.

Both read the log directory as :func:`lumiboard.read` does (any ``--logdir``
form: a path, an fsspec URL, a ``name:path,...`` spec; the persistent cache),
start no server, and pick runs and tags with regexes checked and bounded by
:mod:`lumiboard.store.patterns`. A failure is one line on stderr, never a
traceback: exit status 2 for a usage error (a bad regex or log directory
spec), 1 when the data is not there (no such directory, no run or tag matches,
an output that cannot be written). The summary's document and table are
:mod:`lumiboard.cli_summary`'s.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lumiboard import cli_summary

if TYPE_CHECKING:  # pandas and the reader load only when a command runs: `--help` stays fast
    import pandas as pd

    from lumiboard.experiment import Experiment

COMMANDS = ("export", "summary")
_T = TypeVar("_T")

EXPORT_DESCRIPTION = """\
Write the scalars, histograms, text and hparams of a log directory to files
other tools read (pandas, DuckDB, Polars, spreadsheets), without a server."""

EXPORT_EPILOG = """\
tables: scalars (run, tag, step, wall_time, value; always written), and when
the selection has any: histograms (one row per bucket: run, tag, step,
wall_time, left, right, count), text (run, tag, step, wall_time, text) and
hparams (one row per trial among the selected runs: run, each hyperparameter,
each final metric). Images and audio stay in the event files.

formats: parquet: a Hive-partitioned dataset DuckDB, Polars and Spark read
(scalars/run=<run>/tag=<tag>/part-<offset>.parquet: step, wall_time, value;
histograms/run=<run>/, text/run=<run>/, hparams/ in long form: run, kind, name,
value_num, value_str, value_bool; the schema in DEST/_schema.json), written
incrementally: a second export appends only the new points as new files (a
purged series is rewritten); DEST may be an fsspec URL (s3://bucket/prefix).
csv; json: JSON Lines, one <table>.jsonl per table and one object per row,
non-finite numbers as the strings "NaN", "Infinity", "-Infinity" (as in
lumiboard's HTTP API), a text table (a 2-D tensor) as a nested list (in csv
and parquet: its JSON). csv and json files of an earlier export to the same
directory are overwritten.

example: lumiboard export runs --format parquet out/
  duckdb -c "SELECT run, max(value) FROM read_parquet('out/scalars/**/*.parquet',
    hive_partitioning=true, hive_types={'run': VARCHAR, 'tag': VARCHAR})
    WHERE tag = 'accuracy' GROUP BY run\"
"""


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
        "dest",
        nargs="?",
        metavar="DEST",
        help="directory or fsspec URL to write into (as -o; default ./lumiboard-export)",
    )
    export.add_argument(
        "-o",
        "--output",
        help="directory to write into (default ./lumiboard-export)",
    )
    summary = commands.add_parser(
        "summary",
        help="print each run's scalars (points, last and best values) and health flags",
        description=cli_summary.SUMMARY_DESCRIPTION,
        epilog=cli_summary.SUMMARY_EPILOG,
        formatter_class=formatter,
    )
    _add_source_flags(summary)
    summary.add_argument("--json", action="store_true", help="print one JSON document (below)")


def claim_extras(args: argparse.Namespace, extras: list[str]) -> list[str]:
    """``extras`` less those a command takes: export's DEST after a flag (argparse fills
    the optional positionals at the first one, ``LOGDIR``, so a later DEST is left over)."""
    if (
        args.command == "export"
        and args.dest is None
        and len(extras) == 1
        and not extras[0].startswith("-")
    ):
        args.dest = extras[0]
        return []
    return extras


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
    except BrokenPipeError:  # the reader of our output left (`| head`): nothing more to say
        _silence_stdout()
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # a replaced stdout without a descriptor
        pass


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

    if args.dest and args.output:
        raise _CommandError("give DEST or -o, not both", 2)
    destination = args.dest or args.output or "lumiboard-export"
    chosen = _read(args)
    experiment, runs = chosen.experiment, chosen.runs
    if args.format == "parquet":
        return _export_dataset(chosen, destination, args.tags)
    text = experiment.text(runs, args.tags)
    hparams = experiment.hparams()
    tables = {
        "scalars": experiment.scalars(runs, args.tags),
        "histograms": experiment.histograms(runs, args.tags),
        "text": text if args.format == "json" else exporting.text_for_export(text),
        "hparams": hparams[hparams["run"].isin(runs)].reset_index(drop=True),
    }
    output = Path(destination)
    try:
        if args.format == "json":
            written = _write_json_lines(tables, output)
        else:
            written = exporting.write_tables(tables, output, args.format)
    except OSError as error:
        raise _CommandError(f"cannot write to {output}: {error.strerror or error}", 1) from None
    rows = {path.stem: len(tables[path.stem]) for path in written}
    print(
        f"wrote {len(written)} file{cli_summary.plural(len(written))} to {output} ({args.format}):"
    )
    width = max(len(str(path)) for path in written)
    for path in written:
        count = rows[path.stem]
        print(f"  {path!s:<{width}}  {count} row{cli_summary.plural(count)}")
    return 0


def _export_dataset(chosen: _Selection, destination: str, tags: str | None) -> int:
    from lumiboard.export_parquet import export_dataset

    try:
        summary = export_dataset(chosen.experiment, chosen.runs, tags, destination)
    except (OSError, ImportError) as error:  # unwritable; no fsspec backend for the URL
        raise _CommandError(f"cannot write to {destination}: {error}", 1) from None
    written = sum(summary.files.values())
    print(
        f"wrote {written} file{cli_summary.plural(written)} to {destination} (parquet dataset): "
        f"scalar series: {summary.created} new, {summary.appended} appended to, "
        f"{summary.rewritten} rewritten, {summary.unchanged} unchanged"
    )
    for table, rows in summary.rows.items():
        count = summary.files[table]
        rows_text = f"{rows} new row{cli_summary.plural(rows)}"
        print(f"  {table:<10}  {rows_text} in {count} file{cli_summary.plural(count)}")
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
    items[bad] = [cli_summary.json_number(float(value)) for value in values[bad]]
    return list(items.tolist())


def _json_default(item: Any) -> Any:
    if hasattr(item, "tolist"):  # a numpy array (a text table) or numpy scalar
        return item.tolist()
    return str(item)


# ---- summary ------------------------------------------------------------------


def _summary(args: argparse.Namespace) -> int:
    chosen = _read(args)
    logdir = args.logdir or args.logdir_flag
    document = cli_summary.summarize(chosen.experiment, chosen.runs, chosen.tags, args.tags, logdir)
    if args.json:
        import orjson

        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write("".join(f"{line}\n" for line in cli_summary.render(document)))
    return 0
