"""Response helpers: orjson for speed, TensorBoard's JSON quirks where we mimic it."""

from __future__ import annotations

import base64
import csv
import io
import math
import re
import threading
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


#: Points encoded per piece. Each C call below (orjson, split, join) holds the GIL for the
#: whole of its piece, a few ms at this size: between pieces the event loop takes it back.
PIECE = 20_000


#: Below this many points a series is written by orjson over Python tuples (a few µs fixed);
#: from it on, column by column (:func:`_interleave`: ~70 µs fixed, less per point). CSV
#: turns the tuples' text into lines (one more pass): its crossing comes sooner.
SMALL = 4096
SMALL_CSV = 1024


def tensorboard_triples(wall_time: np.ndarray, step: np.ndarray, value: np.ndarray) -> bytes:
    """``[[wall_time, step, value], ...]`` as TensorBoard's scalars route writes it.

    TensorBoard's JSON (``json_util.Cleanse``) turns non-finite floats into
    the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``: valid JSON
    that every parser reads, and what scripts written against TensorBoard
    expect. So do we.
    """
    if not len(step):
        return b"[]"
    if len(step) < SMALL:  # e.g. each run of a scalars_multirun answer
        rows = zip(_json_list(wall_time), _int64(step).tolist(), _json_list(value), strict=True)
        return orjson.dumps(list(rows))
    parts = _pieces(len(step))
    pieces = [
        _interleave(
            b"[",
            [_json_floats(wall_time[part]), _integers(step[part]), _json_floats(value[part])],
            [b",", b",", b"],"],
            # The answer's brackets written in place (no copy of the whole to add them).
            head=b"[" if number == 0 else b"",
            last=b"]]" if number == len(parts) - 1 else None,
        )
        for number, part in enumerate(parts)
    ]
    return b"".join(pieces)


def tensorboard_csv(wall_time: np.ndarray, step: np.ndarray, value: np.ndarray) -> bytes:
    """TensorBoard's CSV download (UTF-8): header ``Wall time,Step,Value``, every point.

    Byte for byte as TensorBoard's ``csv.writer`` writes it: ``repr`` of each
    float (``nan``, ``inf``) and ``\\r\\n`` line ends.
    """
    header = b"Wall time,Step,Value\r\n"
    small = _small_csv(b"", [_float64(wall_time), _int64(step), _float64(value)])
    if small is not None:
        return header + small
    if not len(step):
        return header
    pieces = [
        _interleave(
            b"",
            [_float_reprs(wall_time[part]), _integers(step[part]), _float_reprs(value[part])],
            [b",", b",", b"\r\n"],
            head=header if part.start == 0 else b"",
        )
        for part in _pieces(len(step))
    ]
    return b"".join(pieces)


def csv_long_rows(run: str, step: np.ndarray, wall_time: np.ndarray, value: np.ndarray) -> bytes:
    """``run,step,wall_time,value`` lines (``\\r\\n``) of one series, as ``csv.writer``
    writes them: the run quoted where it must be, ``repr`` of each float."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([run, ""])
    cell = buffer.getvalue().removesuffix(",\r\n").encode("utf-8")
    small = _small_csv(cell + b",", [_int64(step), _float64(wall_time), _float64(value)])
    if small is not None:
        return small
    pieces = [
        _interleave(
            cell + b",",
            [_integers(step[part]), _float_reprs(wall_time[part]), _float_reprs(value[part])],
            [b",", b",", b"\r\n"],
        )
        for part in _pieces(len(step))
    ]
    return b"".join(pieces)


def _small_csv(prefix: bytes, columns: list[np.ndarray]) -> bytes | None:
    """The CSV lines of a short series (``prefix`` starting each): orjson over Python
    tuples, the ``],[`` between rows made line ends. None where it does not apply: no
    points, many points, or a float that orjson writes otherwise than ``repr``."""
    count = len(columns[0])
    if not 0 < count < SMALL_CSV:
        return None
    if not all(_plain(column).all() for column in columns if column.dtype.kind == "f"):
        return None
    written = orjson.dumps(list(zip(*(column.tolist() for column in columns), strict=True)))
    return prefix + written[2:-2].replace(b"],[", b"\r\n" + prefix) + b"\r\n"


def _float64(column: np.ndarray) -> np.ndarray:
    return np.asarray(column, dtype=np.float64)


def _int64(column: np.ndarray) -> np.ndarray:
    return np.asarray(column, dtype=np.int64)


def _pieces(count: int) -> list[slice]:
    return [slice(start, start + PIECE) for start in range(0, count, PIECE)]


def _interleave(
    prefix: bytes,
    columns: list[bytes],
    separators: list[bytes],
    head: bytes = b"",
    last: bytes | None = None,
) -> bytes:
    """``head``, then rows of ``prefix``, then each column's cell followed by its separator
    (the last row's last separator replaced by ``last``, as long, when given).

    Each column comes as its cells joined by ``,`` (cells hold no comma: numbers, and
    TensorBoard's ``"NaN"`` strings), as orjson writes an array without its brackets.
    Every byte is copied by a few numpy passes (a cell and the comma after it land in
    one scatter), not by a Python loop or a list per row. Fresh pages cost more here than
    the arithmetic (a 10,000-point answer is ~430 KB): the index and mask buffers are kept
    per thread, and the answer is written once, its head and brackets included.
    """
    sources = [np.frombuffer(column, dtype=np.uint8) for column in columns]
    widest = max(map(len, sources))
    mask = _scratch("mask", widest, np.bool_)
    # A cell starts after each comma; with a comma counted after the last one too.
    cuts = [np.flatnonzero(np.equal(source, _COMMA, out=mask[: len(source)])) for source in sources]
    count = len(cuts[0]) + 1
    lengths = [
        np.diff(cut, prepend=-1, append=len(source)) - 1
        for cut, source in zip(cuts, sources, strict=True)
    ]
    row: np.ndarray = np.sum(lengths, axis=0) + len(prefix) + len(b"".join(separators))
    starts = np.empty(count, dtype=np.int64)
    starts[0] = len(head)
    np.cumsum(row[:-1], out=starts[1:])
    starts[1:] += len(head)
    size = int(starts[-1] + row[-1])
    out = _scratch("out", size, np.uint8)[:size]
    out[: len(head)] = np.frombuffer(head, dtype=np.uint8)
    at = starts.copy()
    _put(out, at, prefix)
    at += len(prefix)
    places = _scratch("places", widest, np.int32 if len(out) < 2**31 else np.int64)
    for source, cut, length, separator in zip(sources, cuts, lengths, separators, strict=True):
        # Where each byte of the column goes, as a running sum: +1 from one byte to the
        # next, and at each cell's first byte the jump from the previous cell's comma to
        # this cell's place in its row.
        place = places[: len(source)]
        place.fill(1)
        place[0] = at[0]
        place[cut + 1] = np.diff(at) - length[:-1]
        np.cumsum(place, out=place)
        out[place] = source
        at += length
        _put(out, at, separator)
        at += len(separator)
    if last is not None:
        out[len(out) - len(last) :] = np.frombuffer(last, dtype=np.uint8)
    return out.tobytes()


_buffers = threading.local()


def _scratch(name: str, size: int, dtype: type[np.generic]) -> np.ndarray:
    """A buffer of this thread's, at least ``size`` long (kept, grown as needed)."""
    kept: np.ndarray | None = getattr(_buffers, name, None)
    if kept is None or len(kept) < size or kept.dtype != dtype:
        kept = np.empty(max(size, 1 << 16), dtype=dtype)
        setattr(_buffers, name, kept)
    return kept


def _put(out: np.ndarray, at: np.ndarray, text: bytes) -> None:
    """``text`` written into ``out`` at each offset of ``at``."""
    if len(text) <= 4:  # separators: a scatter per byte, no 2-D index array
        for index, byte in enumerate(text):
            out[at + index] = byte
    else:  # a run's name (csv_long_rows)
        out[at[:, np.newaxis] + np.arange(len(text))] = np.frombuffer(text, dtype=np.uint8)


_COMMA = ord(",")


def _integers(column: np.ndarray) -> bytes:
    return orjson.dumps(np.asarray(column, dtype=np.int64), option=_OPTIONS)[1:-1]


def _json_floats(column: np.ndarray) -> bytes:
    """Each number of ``column`` as JSON, non-finite ones as TensorBoard's strings."""
    array = _float64(column)
    written = orjson.dumps(array, option=_OPTIONS)[1:-1]
    odd = np.flatnonzero(~np.isfinite(array)).tolist()
    if not odd:
        return written
    items = written.split(b",")
    for index in odd:
        items[index] = orjson.dumps(_cleansed(float(array[index])))
    return b",".join(items)


def _json_list(column: np.ndarray) -> list[float | str]:
    """``column`` as Python floats, non-finite ones as TensorBoard's strings."""
    array = _float64(column)
    items: list[float | str] = array.tolist()
    for index in np.flatnonzero(~np.isfinite(array)).tolist():
        items[index] = _cleansed(float(array[index]))
    return items


def _cleansed(number: float) -> str:
    """TensorBoard's string for a non-finite number."""
    if math.isnan(number):
        return "NaN"
    return "Infinity" if number > 0 else "-Infinity"


def _float_reprs(column: np.ndarray) -> bytes:
    """``repr`` of each number of ``column``, as bytes, mostly written by orjson.

    Both write the shortest digits that read back to the same float; they differ only in
    layout: ``repr`` switches to an exponent (``1e-05``, ``1e+16``) below 1e-4 and from
    1e16 on, where orjson writes ``0.00001``, ``1e-5`` and ``1e16``, and orjson writes
    non-finite numbers as ``null``. Those numbers get ``repr`` itself.
    """
    array = _float64(column)
    written = orjson.dumps(array, option=_OPTIONS)[1:-1]
    odd = np.flatnonzero(~_plain(array)).tolist()
    if not odd:
        return written
    items = written.split(b",")
    for index in odd:
        items[index] = repr(float(array[index])).encode("ascii")
    return b",".join(items)


def _plain(array: np.ndarray) -> np.ndarray:
    """Where orjson writes a float64 as ``repr`` does (see :func:`_float_reprs`)."""
    with np.errstate(invalid="ignore"):
        magnitude = np.abs(array)
        plain: np.ndarray = ((magnitude >= 1e-4) & (magnitude < 1e16)) | (array == 0)
    return plain


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` value that downloads as ``filename``, whatever it holds.

    Header values must be latin-1 without control characters, so the name is
    given twice: an ASCII fallback and RFC 5987's percent-encoded UTF-8 form,
    which browsers prefer. Path separators and control characters become ``_``.
    """
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", filename)
    fallback = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
