"""``lumiboard mlflow-export LOGDIR --tracking-uri URI``: a log directory's runs into MLflow.

What is sent, and why running it again sends only what is new:
:mod:`lumiboard.integrations.mlflow_export`. A failure is one line on stderr: exit status
2 for a usage error (no tracking URI, a bad regex or log directory spec), 1 when the data
or the tracking server is not there.
"""

from __future__ import annotations

import argparse
import os
import sys

COMMAND = "mlflow-export"

DESCRIPTION = """\
Send each run of a log directory to an MLflow tracking server: every scalar point as a
metric (step and time kept), hyperparameters as params, event files as artifacts under
tensorboard_logs/, and the tags lumiboard.run, tensorboard.log_dir (and lumiboard.url with
--lumiboard-url). Running it again sends only the points, params and files that are new."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``mlflow-export`` to the subcommands of ``lumiboard``."""
    parser = commands.add_parser(
        COMMAND,
        help="send a log directory's runs to MLflow (metrics, params, event files)",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "logdir", metavar="LOGDIR", help="log directory, fsspec URL or name1:/path1,... spec"
    )
    parser.add_argument(
        "--tracking-uri",
        "--tracking_uri",
        dest="tracking_uri",
        default=os.environ.get("MLFLOW_TRACKING_URI"),
        help="MLflow tracking URI, e.g. http://localhost:5000 (default: $MLFLOW_TRACKING_URI)",
    )
    parser.add_argument(
        "--experiment", help="MLflow experiment name (default: the log directory's name)"
    )
    parser.add_argument("--runs", metavar="REGEX", help="only the runs this regex matches")
    parser.add_argument(
        "--lumiboard-url",
        "--lumiboard_url",
        dest="lumiboard_url",
        help="where lumiboard serves this log directory: each MLflow run links back to it",
    )
    parser.add_argument(
        "--no-cache", "--no_cache", dest="no_cache", action="store_true",
        help="do not use the persistent cache",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run ``mlflow-export``; return the exit status."""
    try:
        print(f"lumiboard {COMMAND}: {_export(args)}", flush=True)
    except _CommandError as failure:
        print(f"lumiboard {COMMAND}: {failure}", file=sys.stderr)
        return failure.status
    return 0


class _CommandError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _export(args: argparse.Namespace) -> object:
    from lumiboard.reader.discover import parse_logdir
    from lumiboard.reader.mlflow_uri import shown
    from lumiboard.store.patterns import PatternError, check_pattern
    from lumiboard.writer.fs import is_remote

    if not args.tracking_uri:
        raise _CommandError("give --tracking-uri (or set MLFLOW_TRACKING_URI)", 2)
    if args.runs is not None:
        try:
            check_pattern(args.runs)
        except PatternError as error:
            raise _CommandError(f"--runs {args.runs!r}: {error}", 2) from None
    try:
        sources = parse_logdir(args.logdir)
    except ValueError as error:
        raise _CommandError(str(error), 2) from None
    missing = [s.location for s in sources if not is_remote(s.location)]
    missing = [location for location in missing if not os.path.isdir(location)]
    if missing:
        raise _CommandError(f"no such directory: {', '.join(missing)}", 1)
    from lumiboard.experiment import read

    try:
        experiment = read(args.logdir, cache=not args.no_cache)
        runs = experiment.runs(args.runs)
    except (ImportError, OSError) as error:
        raise _CommandError(f"cannot read {args.logdir}: {error}", 1) from None
    except (ValueError, KeyError) as error:
        raise _CommandError(str(error).strip("'\""), 2) from None
    if not runs:
        raise _CommandError(
            f"no runs under {args.logdir}" + (f" match {args.runs!r}" * bool(args.runs)), 1
        )
    try:
        return experiment.to_mlflow(
            args.tracking_uri, args.experiment, runs=runs, lumiboard_url=args.lumiboard_url
        )
    except ImportError as error:
        raise _CommandError(str(error), 1) from None
    except Exception as error:  # MlflowException, requests' errors: the server's answer
        where = shown(args.tracking_uri)
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        raise _CommandError(f"MLflow at {where}: {first}", 1) from None
