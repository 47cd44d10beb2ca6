"""Response helpers: orjson for speed, TensorBoard's JSON quirks where we mimic it."""

from __future__ import annotations

import base64
import math
import re
from typing import Any
from urllib.parse import quote

import numpy as np
import orjson
from starlette.responses import Response

from lumiboard.plugins.text.render import description_html
from lumiboard.store.runs import TagInfo

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def json_response(
    data: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialized by orjson (numpy arrays allowed; NaN becomes null).

    It encodes at once: a route whose answer can be big builds it on the worker pool
    (:mod:`lumiboard.server.workers`), never on the event loop.
    """
    return Response(
        orjson.dumps(data, option=_OPTIONS),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def tag_json(info: TagInfo) -> dict[str, str]:
    """A tag's ``{displayName, description}`` as TensorBoard's ``/tags`` routes send it (the
    description rendered from markdown to sanitized HTML)."""
    return {"displayName": info.display_name, "description": description_html(info.description)}


def float64_base64(array: np.ndarray) -> str:
    """A column as base64 of little-endian float64: exact, NaN and Inf included."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f8").tobytes()).decode("ascii")


def tensorboard_triples(wall_time: np.ndarray, step: np.ndarray, value: np.ndarray) -> bytes:
    """``[[wall_time, step, value], ...]`` as TensorBoard's scalars route writes it.

    TensorBoard's JSON (``json_util.Cleanse``) turns non-finite floats into
    the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``: valid JSON
    that every parser reads, and what scripts written against TensorBoard
    expect. So do we.
    """
    if not len(step):
        return b"[]"
    walls = _json_floats(wall_time)
    steps = orjson.dumps(np.asarray(step, dtype=np.int64), option=_OPTIONS)[1:-1].split(b",")
    values = _json_floats(value)
    body = b"],[".join(b",".join(triple) for triple in zip(walls, steps, values, strict=True))
    return b"[[" + body + b"]]"


def _json_floats(column: np.ndarray) -> list[bytes]:
    """Each number of ``column`` as JSON, non-finite ones as TensorBoard's strings."""
    array = np.asarray(column, dtype=np.float64)
    items = orjson.dumps(array, option=_OPTIONS)[1:-1].split(b",")
    for index in np.flatnonzero(~np.isfinite(array)).tolist():
        number = float(array[index])
        if math.isnan(number):
            items[index] = b'"NaN"'
        else:
            items[index] = b'"Infinity"' if number > 0 else b'"-Infinity"'
    return items


def tensorboard_csv(wall_time: np.ndarray, step: np.ndarray, value: np.ndarray) -> str:
    """TensorBoard's CSV download: header ``Wall time,Step,Value``, every point.

    Byte for byte as TensorBoard's ``csv.writer`` writes it: ``repr`` of each
    float (``nan``, ``inf``) and ``\\r\\n`` line ends.
    """
    lines = ["Wall time,Step,Value"]
    lines.extend(
        f"{w!r},{s},{v!r}"
        for w, s, v in zip(wall_time.tolist(), step.tolist(), value.tolist(), strict=True)
    )
    return "\r\n".join(lines) + "\r\n"


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` value that downloads as ``filename``, whatever it holds.

    Header values must be latin-1 without control characters, so the name is
    given twice: an ASCII fallback and RFC 5987's percent-encoded UTF-8 form,
    which browsers prefer. Path separators and control characters become ``_``.
    """
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", filename)
    fallback = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
