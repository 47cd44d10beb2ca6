"""Names from the file system as text that JSON (and a browser) can carry.

On POSIX a file name is bytes; Python decodes one that is not UTF-8 with
``surrogateescape``, leaving lone surrogates that no UTF-8 encoder (orjson,
Starlette) accepts. lumiboard shows such a name with each undecodable byte as
``\\xNN`` (``run\\xff``), as Python's ``backslashreplace`` would, and keeps the
real path wherever the file is opened; the shown name is the key every route
takes, so a run, worker or file is found by it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def safe_text(name: str) -> str:
    """``name`` as valid text: each lone surrogate (an undecodable byte, from
    ``os.fsdecode``, or a lone UTF-16 half on Windows) written as ``\\xNN`` or
    ``\\uNNNN``, like Python's ``backslashreplace``; any other name unchanged."""
    if not _SURROGATE.search(name):
        return name
    return _SURROGATE.sub(_escape_surrogate, name)


def safe_names(names: Iterable[str]) -> dict[str, str]:
    """:func:`safe_text` of each of ``names``, distinct: an escaped name that is
    also another directory's real name gets ``~2``, ``~3``... (in name order, so the
    same tree always gives the same names)."""
    ordered = sorted(set(names))
    shown = {name: name for name in ordered if not _SURROGATE.search(name)}
    taken = set(shown.values())
    for name in ordered:
        if name in shown:
            continue
        base = candidate = safe_text(name)
        count = 1
        while candidate in taken:
            count += 1
            candidate = f"{base}~{count}"
        taken.add(candidate)
        shown[name] = candidate
    return shown


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape's form of byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"
