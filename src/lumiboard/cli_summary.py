"""The ``lumiboard summary`` document and table: per run and scalar tag, the points, first
and last step, last and best value and last wall time; the run's health flags.

:func:`summarize` builds the ``--json`` document (its schema: :data:`SUMMARY_EPILOG`, the
command's help) from an :class:`~lumiboard.experiment.Experiment`; :func:`render` lays it
out for people, runs as sections and tags as rows, at most :data:`WIDTH` columns.
"""

from __future__ import annotations

import datetime
import math
import re
import time
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pandas loads only when the command runs: `lumiboard --help` stays fast
    import pandas as pd

    from lumiboard.experiment import Experiment

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


def best_of(tag: str) -> Literal["min", "max"]:
    """Whether a tag's best value is its minimum (a loss, an error) or its maximum."""
    words = re.split(r"[^a-z0-9]+", tag.lower())
    minimized = any(w in MINIMIZED_WORDS or "loss" in w or "error" in w for w in words)
    return "min" if minimized else "max"


def summarize(
    experiment: Experiment, runs: list[str], tags: pd.DataFrame, pattern: str | None, logdir: str
) -> dict[str, Any]:
    """The ``summary --json`` document of ``runs``: their scalar tags that ``pattern`` (a
    regex, or None) picks; ``tags`` (``Experiment.tags()``'s columns) lists the chosen
    tags of every kind."""
    stats = _series_stats(experiment.scalars(runs, pattern))
    others = tags[tags["kind"] != "scalar"]
    flags = experiment.health(runs)
    summaries: dict[str, Any] = {
        run: {"tags": {}, "other_tags": {}, "health": [], "health_counts": {}} for run in runs
    }
    for (run, tag), entry in stats.items():
        summaries[run]["tags"][tag] = entry
    for run, tag, plugin in zip(others["run"], others["tag"], others["plugin"], strict=True):
        summaries[run]["other_tags"][tag] = plugin
    for row in flags.itertuples(index=False):
        summaries[str(row.run)]["health"].append(
            {
                "tag": str(row.tag),
                "kind": row.kind,
                "level": row.level,
                "step": int(row.step),
                "wall_time": float(row.wall_time),
                "value": None if row.kind == "alert" else json_number(float(row.value)),
                "message": row.message,
            }
        )
    for entry in summaries.values():
        entry["health_counts"] = {
            level: sum(flag["level"] == level for flag in entry["health"])
            for level in ("error", "warning", "info")
        }
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return {
        "schema_version": SCHEMA_VERSION,
        "logdir": logdir,
        "generated_at": now.isoformat(),
        "runs": summaries,
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
            "last_value": json_number(float(values[-1])),
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
    title = f"lumiboard summary of {document['logdir']}: {len(runs)} run{plural(len(runs))}"
    lines = [_end_cut(title, WIDTH)]
    for run, entry in runs.items():
        count = len(entry["tags"])
        health = ", ".join(
            f"{n} {level}{plural(n) if level != 'info' else ''}"
            for level, n in entry["health_counts"].items()
            if n
        )
        tail = f"  ({count} scalar tag{plural(count)})  health: {health or 'ok'}"
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


def plural(count: int) -> str:
    return "" if count == 1 else "s"


def json_number(value: float | None) -> float | str | None:
    """``value``, or for a non-finite one TensorBoard's string (``"NaN"``, ``"Infinity"``,
    ``"-Infinity"``), as lumiboard's HTTP API writes them."""
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
