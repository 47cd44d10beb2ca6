"""``lumiboard snapshot``: one self-contained HTML file of a log directory, to share.

The file holds the web app and the selected runs' data (scalars with every point, images,
audio, text, histograms and distributions, the HParams table and health flags). Opened from
disk it needs no server and makes no network request; it is read-only.

    lumiboard snapshot --logdir runs -o report.html --runs 'lr_0\\.1' --tags 'loss|accuracy'

From Python: :func:`write_snapshot`. The data are the answers of the server's own routes
(:mod:`.snapshot_collect`), inlined with the app's snapshot build (:mod:`.snapshot_page`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lumiboard import __version__

__all__ = ["SnapshotReport", "write_snapshot"]

COMMAND = "snapshot"


@dataclass(frozen=True)
class SnapshotReport:
    """What :func:`write_snapshot` wrote."""

    path: Path
    #: The file's size in bytes.
    size: int
    #: The runs in the snapshot.
    runs: list[str]
    #: The data's bytes by dashboard (``scalars``, ``images``, ...) before compression (JSON
    #: text; media as base64).
    parts: dict[str, int]


def write_snapshot(
    logdir: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    runs: str | None = None,
    tags: str | None = None,
    samples_per_plugin: str | dict[str, int | str | None] | None = None,
    title: str | None = None,
    compress: bool = True,
) -> SnapshotReport:
    """Write a snapshot of ``logdir`` to ``output`` (an ``.html`` file) and say what it holds.

    ``runs`` and ``tags`` are regexes (searched, as the app's filters) selecting what goes in;
    ``samples_per_plugin`` is the server's flag (``"images=3"``: the steps kept per series);
    ``title`` names the page (its tab and header).
    ``compress=False`` keeps the data as readable JSON in the page (about three times larger).
    Raises ``ValueError`` for a bad regex or flag, and
    :class:`~lumiboard.snapshot_page.SnapshotBuildError` when the web app is not built.
    """
    import orjson

    from lumiboard.reader.reload import parse_samples
    from lumiboard.server.app import create_app
    from lumiboard.server.context import ServerOptions
    from lumiboard.snapshot_collect import DASHBOARDS, collect, load, name_matcher
    from lumiboard.snapshot_page import build_dir, render

    directory = build_dir()  # before reading anything: the web app must be there
    location = os.fspath(logdir)
    samples = parse_samples(samples_per_plugin or "")
    keep_runs, keep_tags = name_matcher(runs), name_matcher(tags)
    reloader = load(location, samples, keep_runs)
    # The title is the app's window title too: its tab and header show it.
    options = ServerOptions(data_location=location, window_title=title or "", reload_interval=0)
    collected = collect(create_app(reloader, options), keep_tags)
    meta = {
        "logdir": location,
        "created": time.time(),
        "version": __version__,
        "runs": runs,
        "tags": tags,
        "dashboards": list(DASHBOARDS),
    }
    payload = orjson.dumps(
        {
            "format": 1,
            "meta": meta,
            "responses": collected.responses,
            "scalars": collected.scalars,
        }
    )
    text = render(
        payload, orjson.dumps(meta), title or f"lumiboard snapshot: {location}", directory, compress
    )
    page = text.encode("utf-8")
    path = Path(output)
    _write_whole(path, page)
    return SnapshotReport(path, len(page), collected.runs, collected.sizes.by_kind)


def _write_whole(path: Path, data: bytes) -> None:
    """``data`` at ``path``, replacing it whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ---- the command ------------------------------------------------------------------------------


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``lumiboard snapshot``'s parser, among ``commands``."""
    parser = commands.add_parser(
        COMMAND,
        help="write one self-contained HTML file of a log directory (no server needed)",
        description="Write the web app and the selected runs' data into one HTML file that "
        "opens from disk with no server and no network request.",
    )
    parser.add_argument("--logdir", required=True, help="log directory (or a comma list)")
    parser.add_argument("-o", "--output", required=True, help="the HTML file to write")
    parser.add_argument("--runs", default=None, help="regex: only the runs it finds")
    parser.add_argument("--tags", default=None, help="regex: only the tags it finds")
    parser.add_argument(
        "--samples_per_plugin",
        "--samples-per-plugin",
        dest="samples_per_plugin",
        default="",
        help="steps kept per series, as the server's flag (e.g. images=3)",
    )
    parser.add_argument("--title", default=None, help="the page's title (tab and header)")
    parser.add_argument(
        "--no-compress",
        "--no_compress",
        dest="compress",
        action="store_false",
        help="keep the data as readable JSON in the page (about three times larger)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``lumiboard snapshot``; print what was written."""
    from lumiboard.snapshot_page import SnapshotBuildError

    try:
        report = write_snapshot(
            args.logdir,
            args.output,
            runs=args.runs,
            tags=args.tags,
            samples_per_plugin=args.samples_per_plugin,
            title=args.title,
            compress=args.compress,
        )
    except (ValueError, SnapshotBuildError) as error:
        raise SystemExit(f"lumiboard snapshot: {error}") from None
    parts = ", ".join(f"{name} {_megabytes(size)}" for name, size in report.parts.items() if size)
    print(
        f"lumiboard {__version__}: snapshot of {args.logdir} ({len(report.runs)} runs) written "
        f"to {report.path} ({_megabytes(report.size)}; data before compression: {parts})"
    )
    return 0


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 10_000 else f"{size / 1e3:.1f} kB"
