"""Tensor files as ``add_embedding`` and TensorBoard's projector know them: a TSV of numbers
or raw little-endian float32; a bad one is an :class:`~.errors.AssetError` naming the line."""

from __future__ import annotations

import csv
import io

import numpy as np

from lumiboard.plugins.projector.errors import AssetError

#: Every byte a TSV of numbers is made of.
_TSV_BYTES = b"0123456789+-.eE \t\r\nnaNAifIFtyTY"


def decode_tensor(data: bytes, shape: tuple[int, ...], shown: str) -> np.ndarray:
    """Binary float32 when ``data`` is exactly ``shape`` of them, else a TSV (see read_tensor).

    A TSV of short numbers can have that size too (``0.0\t`` is 4 bytes): bytes
    that are all TSV characters are read as one.
    """
    sized = len(shape) == 2 and shape[0] * shape[1] * 4 == len(data) and len(data) > 0
    if sized and data.translate(None, _TSV_BYTES):
        tensor = np.frombuffer(data, dtype="<f4").reshape(shape).astype(np.float32)
        bad = np.flatnonzero(~np.isfinite(tensor).all(axis=1))
        if bad.size:
            raise AssetError(f"tensor file {shown!r}: row {int(bad[0]) + 1} holds NaN or infinity")
        return tensor
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if len(shape) == 2:
            expected = f"{shape[0]}x{shape[1]} float32 ({shape[0] * shape[1] * 4:,} bytes)"
        else:
            expected = "float32 of a 2-D tensor_shape (the config gives none)"
        raise AssetError(
            f"tensor file {shown!r} is not a UTF-8 TSV, nor raw {expected}: "
            f"it holds {len(data):,} bytes"
        ) from None
    return parse_tsv(text, shown)


def parse_tsv(text: str, shown: str) -> np.ndarray:
    """A TSV of numbers as ``[N, D]`` float32; a bad file is an :class:`AssetError` naming the line.

    Blank lines are skipped (as TensorBoard does). Ragged rows, cells that are
    not numbers and non-finite values are errors: every projection would turn
    them into NaN coordinates.
    """
    lines = text.split("\n")
    numbered = [(i + 1, line.rstrip("\r")) for i, line in enumerate(lines)]
    rows = [(n, line) for n, line in numbered if line.strip()]
    if not rows:
        raise AssetError(f"tensor file {shown!r} holds no rows")
    width = rows[0][1].count("\t") + 1
    for n, line in rows:
        count = line.count("\t") + 1
        if count != width:
            raise AssetError(
                f"tensor file {shown!r}, line {n}: {count} values, "
                f"but line {rows[0][0]} has {width}"
            )
    body = "\n".join(line for _, line in rows)
    try:
        import pandas as pd

        frame = pd.read_csv(
            io.StringIO(body),
            sep="\t",
            header=None,
            dtype=np.float64,
            engine="c",
            quoting=csv.QUOTE_NONE,
            na_filter=False,
            skip_blank_lines=False,
        )
        matrix = frame.to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        matrix = _parse_slowly(rows, shown)
    if matrix.shape != (len(rows), width):  # pragma: no cover - guarded by the checks above
        matrix = _parse_slowly(rows, shown)
    finite = np.abs(matrix) <= np.finfo(np.float32).max  # False for NaN, inf, overflow
    bad = np.flatnonzero(~finite.all(axis=1))
    if bad.size:
        n, line = rows[int(bad[0])]
        column = int(np.flatnonzero(~finite[int(bad[0])])[0])
        value = line.split("\t")[column]
        raise AssetError(
            f"tensor file {shown!r}, line {n}, column {column + 1}: {value.strip()!r} is not a "
            "finite float32 number"
        )
    result: np.ndarray = matrix.astype(np.float32)
    return result


def _parse_slowly(rows: list[tuple[int, str]], shown: str) -> np.ndarray:
    """Cell by cell, to say which line and column are not numbers."""
    out = np.empty((len(rows), rows[0][1].count("\t") + 1), dtype=np.float64)
    for r, (n, line) in enumerate(rows):
        for c, cell in enumerate(line.split("\t")):
            try:
                out[r, c] = float(cell)
            except ValueError:
                raise AssetError(
                    f"tensor file {shown!r}, line {n}, column {c + 1}: {cell.strip()!r} is not "
                    "a number"
                ) from None
    return out
