"""Writing an experiment's tables to files other tools read: Parquet or CSV.

One file per table, long format, in one directory: ``scalars``, and where the
experiment has any, ``histograms``, ``text`` and ``hparams``. Parquet goes
through pyarrow (``run`` and ``tag`` dictionary-encoded), so DuckDB, Polars
or Spark can query the directory directly (``SELECT * FROM 'out/*.parquet'``
per table); CSV through pandas. Images and audio are not exported (they stay
in the event files).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

Format = Literal["parquet", "csv"]
FORMATS: tuple[Format, ...] = ("parquet", "csv")


def write_tables(
    tables: Mapping[str, pd.DataFrame], path: str | os.PathLike[str], format: str
) -> list[Path]:
    """Write ``tables`` as ``<path>/<name>.<format>``; ``scalars`` even when empty,
    the others only when they have rows. Returns the files written."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        if frame.empty and name != "scalars":
            continue
        target = directory / f"{name}.{format}"
        if format == "parquet":
            _write_parquet(frame, target)
        else:
            frame.to_csv(target, index=False)
        written.append(target)
    return written


def text_for_export(frame: pd.DataFrame) -> pd.DataFrame:
    """``text`` as strings only: an array (a table) becomes its JSON nested list."""
    texts = frame["text"]
    if texts.empty or all(isinstance(text, str) for text in texts):
        return frame
    return frame.assign(
        text=[
            text if isinstance(text, str) else json.dumps(np.asarray(text).tolist())
            for text in texts
        ]
    )


def _write_parquet(frame: pd.DataFrame, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # An hparam whose trials used different types (a bool here, a string
        # there): Parquet columns have one type, so such a column is text.
        table = pa.Table.from_pandas(_mixed_as_text(frame), preserve_index=False)
    pq.write_table(table, target)


def _mixed_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    fixed: dict[str, Any] = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object and len({type(item) for item in column.dropna()}) > 1:
            column = column.map(str, na_action="ignore")
        fixed[name] = column
    return pd.DataFrame(fixed)
