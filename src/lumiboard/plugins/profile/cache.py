"""Parsed traces kept per file identity (path, size, mtime), parsed once even when asked twice.

Parsing a big trace takes seconds, and a dashboard asks several routes of the
same file at once: the first request parses (in a worker thread, never on the
event loop), the others wait for it on the same per-file lock. A file that
changes (a new size or mtime) is a new key; the most recently used traces are
kept, up to :data:`MAX_ENTRIES` and about :data:`MAX_BYTES` of parsed data (so
the 8 ranks of a distributed job fit, and a few huge traces do not pile up).
A file that failed is remembered too, so a broken file is not re-read on every
request until it changes.
"""

from __future__ import annotations

import logging

from lumiboard.plugins.profile.discover import TraceFile
from lumiboard.plugins.profile.trace import Trace, TraceError, parse_trace, read_bytes
from lumiboard.plugins.profile.xplane import parse_xspace
from lumiboard.plugins.profile.xplane_kinds import classify_chrome
from lumiboard.store.buildcache import BuildCache

MAX_ENTRIES = 32
#: Parsed traces kept, in bytes as estimated by :func:`approx_bytes`.
MAX_BYTES = 1 << 30

logger = logging.getLogger(__name__)

Key = tuple[str, int, float]


class TraceCache:
    """Parsed traces (or their errors) by file identity (see the module docstring)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._traces: BuildCache[Key, Trace | TraceError] = BuildCache(
            max_entries, max_bytes, approx_bytes
        )

    def get(self, file: TraceFile) -> Trace:
        """The parsed trace of ``file``; raises :class:`TraceError` for a bad file.

        Blocking (reads and parses): call it from a worker thread.
        """
        return _result(self._traces.get((file.path, file.size, file.mtime), lambda: _parse(file)))


def _parse(file: TraceFile) -> Trace | TraceError:
    """The trace, or the error to keep (and tell) for this version of the file."""
    try:
        if file.path.endswith(".xplane.pb"):
            return parse_xspace(read_bytes(file.path))
        trace = parse_trace(read_bytes(file.path))
        classify_chrome(trace)  # JAX's JSON exports of an XSpace; other traces stay as they are
        return trace
    except TraceError as error:
        return error
    except MemoryError:
        return TraceError("not enough memory to parse this trace")
    except Exception as error:  # a parser bug on odd input: told, and kept too
        logger.exception("profile: cannot parse %s", file.path)
        return TraceError(f"cannot read this trace ({type(error).__name__})")


def approx_bytes(found: Trace | TraceError) -> int:
    """About how much memory a parsed trace holds: its columns (~42 bytes an event) and each
    event's ``args`` dict (a few hundred bytes); an error, nothing to speak of."""
    if isinstance(found, TraceError):
        return 0
    return len(found.ts) * 450 + len(found.memory.ts) * 80


def _result(found: Trace | TraceError) -> Trace:
    if isinstance(found, TraceError):
        raise TraceError(str(found))  # a fresh error: the kept one's traceback must not grow
    return found
