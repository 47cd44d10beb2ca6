"""The ``/series`` answer as typed arrays: what the web app asks for (``Accept:
application/vnd.lumiboard.series``), a third of the JSON's bytes and no base64 to undo.

The JSON answer (the default) carries each column as base64 of float64; this one carries
the same numbers as little-endian arrays the browser wraps without parsing::

    offset 0   4 bytes   b"LBS1" (lumiboard series, version 1)
    offset 4   uint32    N, the length of the metadata
    offset 8   N bytes   UTF-8 JSON metadata, then zero bytes up to a multiple of 8
    then, for each run of the metadata in order: its step, wall_time and value columns,
    each ``count`` items of its dtype, each followed by zero bytes up to a multiple of 8

The metadata is ``{"tag": str, "runs": [{"run": str, "total": int, "stamp": str,
"count": int, "step": dtype, "wall_time": dtype, "value": dtype}, ...], "unchanged":
[str]}``: a list, in the order the JSON answer's object has them (``unchanged``, present
when not empty: the runs the request's ``known`` stamps still name, sent without columns).
Every column starts 8-byte aligned from the start of the body, so a float64 column is a
``Float64Array`` over the body's own buffer.

dtypes (all little-endian): ``step`` is ``"i4"`` when every step fits an int32 (half the
bytes of float64), else ``"f8"`` when every step is exact in a float64 (|step| <= 2**53),
else ``"i8"``; ``wall_time`` is ``"f8"``; ``value`` is ``"f4"`` when the store holds the
series as float32 (every value exactly a float32), else ``"f8"``. Read as float64, each
column is exactly the JSON answer's (its steps are float64 there too).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

import numpy as np
import orjson

from lumiboard.store.downsample import Reduced

MEDIA_TYPE = "application/vnd.lumiboard.series"
MAGIC = b"LBS1"
ALIGN = 8
#: The largest step magnitude every float64 holds exactly.
EXACT_FLOAT64 = 2**53
_INT32 = np.iinfo(np.int32)


def accepts_binary(accept: str) -> bool:
    """Whether an ``Accept`` header names :data:`MEDIA_TYPE` (with a quality above 0)."""
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if media.lower() != MEDIA_TYPE:
            continue
        quality = next((p.partition("=")[2] for p in params if p.lower().startswith("q=")), "1")
        try:
            if float(quality) > 0:
                return True
        except ValueError:
            return True  # a malformed quality counts as the default, 1
    return False


def step_dtype(step: np.ndarray) -> str:
    """The narrowest of int32, float64 (exact) and int64 that holds every step."""
    if not len(step):
        return "i4"
    low, high = int(step.min()), int(step.max())
    if _INT32.min <= low and high <= _INT32.max:
        return "i4"
    if low >= -EXACT_FLOAT64 and high <= EXACT_FLOAT64:
        return "f8"
    return "i8"


def value_dtype(value: np.ndarray) -> str:
    return "f4" if value.dtype == np.float32 else "f8"


def encode_series(
    tag: str,
    runs: Sequence[tuple[str, Reduced]],
    stamps: Mapping[str, str] | None = None,
    unchanged: Sequence[str] = (),
) -> bytes:
    """The binary answer for ``runs`` (run name, reduced columns) of ``tag``; each run's
    ``stamp`` from ``stamps``, and the runs the client has already in ``unchanged``."""
    meta = []
    columns: list[np.ndarray] = []
    for run, reduced in runs:
        dtypes = {
            "step": step_dtype(reduced.step),
            "wall_time": "f8",
            "value": value_dtype(reduced.value),
        }
        entry: dict[str, object] = {"run": run, "total": reduced.total}
        if stamps is not None and run in stamps:
            entry["stamp"] = stamps[run]
        meta.append({**entry, "count": len(reduced.step), **dtypes})
        for name, dtype in dtypes.items():
            columns.append(np.ascontiguousarray(getattr(reduced, name), dtype="<" + dtype))
    head: dict[str, object] = {"tag": tag, "runs": meta}
    if unchanged:
        head["unchanged"] = list(unchanged)
    header = orjson.dumps(head)
    pieces: list[bytes | memoryview] = [MAGIC, struct.pack("<I", len(header)), header]
    size = len(MAGIC) + 4 + len(header)
    pieces.append(_padding(size))
    size += len(pieces[-1])
    for column in columns:
        # A memoryview: join copies the column once, straight into the body.
        pieces.append(column.data.cast("B"))
        size += column.nbytes
        pieces.append(_padding(size))
        size += len(pieces[-1])
    return b"".join(pieces)


def _padding(size: int) -> bytes:
    return bytes(-size % ALIGN)
