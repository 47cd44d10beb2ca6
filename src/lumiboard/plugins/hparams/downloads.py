"""The session-group table as a file: CSV, JSON or LaTeX (TensorBoard's ``download_data``).

One column per hparam and metric of the experiment (``columnsVisibility``
hides some), one row per session group. Differences from TensorBoard: a
metric's header is ``group/tag`` when it has a group (TensorBoard writes the
tag alone, so ``loss`` of two groups collide), and LaTeX escapes every special
character (TensorBoard escapes ``_`` and ``%`` only, and fails on a bool).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

import orjson

from lumiboard.format.proto import hparams_pb2
from lumiboard.plugins.hparams.groups import Group

FORMATS = {"csv": "text/csv", "json": "application/json", "latex": "application/x-latex"}
EXTENSIONS = {"csv": "csv", "json": "json", "latex": "tex"}

Cell = float | str | bool | None


def table_cells(
    experiment: hparams_pb2.Experiment, groups: list[Group], visible: Sequence[bool] | None
) -> tuple[list[str], list[list[Cell]]]:
    """The header and the rows, with only the visible columns."""
    header = [info.display_name or info.name for info in experiment.hparam_infos]
    header += [
        info.display_name
        or (f"{info.name.group}/{info.name.tag}" if info.name.group else info.name.tag)
        for info in experiment.metric_infos
    ]
    shown = list(visible) if visible is not None else [True] * len(header)
    shown += [True] * (len(header) - len(shown))
    rows = []
    for group in groups:
        row: list[Cell] = [group.hparams.get(info.name) for info in experiment.hparam_infos]
        for info in experiment.metric_infos:
            found = group.metrics.get((info.name.group, info.name.tag))
            row.append(found.value if found is not None else None)
        rows.append([cell for cell, keep in zip(row, shown, strict=False) if keep])
    return [name for name, keep in zip(header, shown, strict=False) if keep], rows


def render(fmt: str, header: list[str], rows: list[list[Cell]]) -> bytes:
    """The file's bytes in ``fmt`` (csv, json or latex)."""
    if fmt == "json":
        return orjson.dumps({"header": header, "rows": [[_json_cell(c) for c in r] for r in rows]})
    if fmt == "latex":
        return latex_table(header, rows).encode("utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([["" if cell is None else _csv_cell(cell) for cell in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


def _csv_cell(cell: float | str | bool) -> str:
    if isinstance(cell, float):
        return repr(cell)
    return str(cell)


def _json_cell(cell: Cell) -> Any:
    if isinstance(cell, float) and not math.isfinite(cell):
        return "NaN" if math.isnan(cell) else ("Infinity" if cell > 0 else "-Infinity")
    return cell


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "_": r"\_",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """``text`` safe in a LaTeX table cell."""
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)


def latex_cell(cell: Cell) -> str:
    """A cell as TensorBoard's LaTeX: numbers in math mode, 3 significant digits."""
    if cell is None:
        return "-"
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, str):
        return latex_escape(cell)
    if math.isnan(cell):
        return r"$\mathrm{NaN}$"
    if math.isinf(cell):
        return r"$+\infty$" if cell > 0 else r"$-\infty$"
    text = f"{cell:.3g}"
    if "e" in text:
        coefficient, exponent = text.split("e")
        return f"${coefficient}\\cdot 10^{{{int(exponent)}}}$"
    return f"${text}$"


def latex_table(header: list[str], rows: list[list[Cell]]) -> str:
    lines = [
        "\\begin{table}[tbp]",
        "\\begin{tabular}{" + "l" * len(header) + "}",
        " & ".join(latex_escape(name) for name in header) + " \\\\ \\hline",
    ]
    lines += [" & ".join(latex_cell(cell) for cell in row) + " \\\\" for row in rows]
    lines += ["\\hline", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines) + "\n"
