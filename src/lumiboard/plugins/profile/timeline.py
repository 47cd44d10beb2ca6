"""The Trace view's data: events as columns per track, with nesting depth, capped per request.

Each (process, thread) of the trace is a track; events that nest on a track
(operators inside annotations, kernels inside GPU annotations) are put on rows
by depth. A request asks for a time window; when the window holds more than
``limit`` events the longest ones are sent (the overall structure stays
visible) with ``truncated`` set, and the client asks again for a narrower
window as the user zooms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lumiboard.plugins.profile.trace import Trace

DEFAULT_LIMIT = 200_000
MAX_LIMIT = 1_000_000
#: Argument text sent for one event at most (a huge args dict is cut).
MAX_ARGS_CHARS = 20_000


def depths(trace: Trace) -> np.ndarray:
    """Nesting depth of every event on its track (0: outermost)."""
    memo = trace.memo.get("depths")
    if memo is None:
        memo = trace.memo["depths"] = _depths(trace)
    return memo


def _depths(trace: Trace) -> np.ndarray:
    depth = np.zeros(len(trace.ts), dtype=np.int16)
    order = np.lexsort((-trace.dur, trace.ts, trace.track))
    ends = (trace.ts + trace.dur).tolist()
    starts = trace.ts.tolist()
    tracks = trace.track.tolist()
    stack: list[float] = []
    current = -1
    # One loop over all events: a stack of open ends per track (events sorted by track, start).
    for index in order.tolist():
        if tracks[index] != current:
            current, stack = tracks[index], []
        start = starts[index]
        while stack and stack[-1] <= start:
            stack.pop()
        depth[index] = min(len(stack), 32_767)
        stack.append(ends[index])
    return depth


def track_order(trace: Trace) -> list[int]:
    """Track ids in display order: host threads, then devices' streams, then the rest."""
    return sorted(
        range(len(trace.tracks)), key=lambda t: (trace.tracks[t].sort, trace.tracks[t].name)
    )


def window(trace: Trace, start: float | None, end: float | None, limit: int) -> dict[str, Any]:
    """Events overlapping ``[start, end]`` (µs from the trace start), ``limit`` at most."""
    origin = trace.start
    rel_start = trace.ts - origin
    rel_end = rel_start + trace.dur
    lo = 0.0 if start is None else start
    hi = (trace.end - origin) if end is None else end
    inside = np.flatnonzero((rel_end >= lo) & (rel_start <= hi))
    total = len(inside)
    truncated = total > limit
    if truncated:
        longest = np.argpartition(-trace.dur[inside], limit - 1)[:limit]
        inside = np.sort(inside[longest])
    depth = depths(trace)
    used_names, name_index = np.unique(trace.name[inside], return_inverse=True)
    max_depth = np.zeros(len(trace.tracks), dtype=np.int64)
    np.maximum.at(max_depth, trace.track, depth.astype(np.int64))
    present = np.bincount(trace.track, minlength=len(trace.tracks)) > 0
    tracks = [
        {
            "id": t,
            "name": trace.tracks[t].name,
            "kind": trace.tracks[t].kind,
            "rows": int(max_depth[t]) + 1,
        }
        for t in track_order(trace)
        if present[t]
    ]
    return {
        "origin": origin,
        "duration": trace.end - origin,
        "window": [lo, hi],
        "total": total,
        "truncated": truncated,
        "tracks": tracks,
        "categories": trace.categories,
        "names": [trace.names[int(n)] for n in used_names.tolist()],
        "events": {
            "id": inside,
            "track": trace.track[inside],
            "start": np.round(rel_start[inside], 3),
            "duration": np.round(trace.dur[inside], 3),
            "depth": depth[inside],
            "name": name_index.astype(np.int32),
            "category": trace.cat[inside],
        },
    }


def event(trace: Trace, index: int) -> dict[str, Any]:
    """One event's details (IndexError when out of range)."""
    if not 0 <= index < len(trace.ts):
        raise IndexError(index)
    args = trace.args[index] or {}
    shown: dict[str, Any] = {}
    used = 0
    for key, value in args.items():
        text = str(value)
        used += len(key) + len(text)
        if used > MAX_ARGS_CHARS:
            shown["…"] = "arguments cut (too long)"
            break
        shown[str(key)] = value
    return {
        "id": index,
        "name": trace.names[int(trace.name[index])],
        "category": trace.categories[int(trace.cat[index])],
        "start": float(trace.ts[index]) - trace.start,
        "duration": float(trace.dur[index]),
        "track": trace.tracks[int(trace.track[index])].name,
        "args": shown,
    }
