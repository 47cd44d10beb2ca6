"""Decode a ``<host>.xplane.pb`` (the XSpace that TensorFlow, Keras and JAX profilers write) into
the :class:`~lumiboard.plugins.profile.trace.Trace` the views read, without TensorFlow.

The XSpace is parsed with lumiboard's own copy of its ``.proto``
(:mod:`lumiboard.format.proto.xplane_pb2`) and mapped to Chrome-trace events the way
xprof's trace viewer shows it, then handed to the Chrome-trace parser, so every view
reads one model:

- each **plane** (``/host:CPU``, ``/device:GPU:0``, ...) is a process, numbered by its
  position in the file; a GPU plane is labelled ``GPU <n>`` (a device track group);
- each **line** of a plane is a thread named by its ``display_name`` or ``name``;
- each **event** is a complete event at ``(line.timestamp_ns * 1000 + offset_ps) / 1e6``
  microseconds lasting ``duration_ps / 1e6``, named by its metadata's ``display_name``
  or ``name``, in the category of its line's name (less a trailing thread id); its
  args are the stats of its metadata and then its own, by stat name, a ``ref_value``
  resolved to the stat metadata's name it points at;
- the planes' own stats (device facts) are kept in ``metadata["planes"]``.

Aggregated events (``num_occurrences`` instead of an offset) have no time and are
skipped, with a warning. A file that is not a valid XSpace (damaged, truncated) raises
:class:`~lumiboard.plugins.profile.trace.TraceError`, as a bad JSON trace does.
"""

from __future__ import annotations

import re
from typing import Any

from google.protobuf.message import DecodeError

from lumiboard.format.proto import xplane_pb2
from lumiboard.plugins.profile.trace import Trace, TraceError, trace_from_events

#: Bytes of a ``bytes_value`` stat shown at most (as hex): such stats hold serialized protos.
MAX_STAT_BYTES = 64
_GPU_PLANE = "/device:GPU:"
#: A thread line's name ends in its thread id (``tf_Compute/-3292872236913730786``); its
#: category is the name without it, so that a kind of thread is one category.
_THREAD_ID = re.compile(r"/-?\d+$")


def parse_xspace(data: bytes) -> Trace:
    """The trace of an XSpace's serialized bytes; TraceError when they are not one."""
    space = xplane_pb2.XSpace()
    try:
        space.ParseFromString(data)
    except (DecodeError, ValueError, RecursionError) as error:
        raise TraceError(
            f"not a valid XSpace profile: the protobuf is damaged or truncated ({error})"
        ) from None
    events: list[dict[str, Any]] = []
    planes: list[dict[str, Any]] = []
    skipped = 0
    for pid, plane in enumerate(space.planes):
        skipped += _plane_events(plane, pid, events)
        planes.append(
            {"id": plane.id, "name": plane.name, "stats": _stats(plane.stats, plane.stat_metadata)}
        )
    metadata = {
        "format": "xplane",
        "hostnames": list(space.hostnames),
        "planes": planes,
    }
    trace = trace_from_events(events, metadata)
    trace.warnings.extend(f"profiler error: {text}" for text in space.errors)
    trace.warnings.extend(f"profiler warning: {text}" for text in space.warnings)
    if skipped:
        trace.warnings.append(
            f"{skipped} aggregated events (counts without times) are not shown on the timeline"
        )
    return trace


def _plane_events(plane: xplane_pb2.XPlane, pid: int, events: list[dict[str, Any]]) -> int:
    """Append the plane's metadata and complete events to ``events``; the count skipped."""
    process = str(pid)
    events.append({"ph": "M", "name": "process_name", "pid": process, "args": {"name": plane.name}})
    events.append(
        {"ph": "M", "name": "process_sort_index", "pid": process, "args": {"sort_index": pid}}
    )
    if plane.name.startswith(_GPU_PLANE):
        label = f"GPU {plane.name[len(_GPU_PLANE) :]}"
        events.append(
            {"ph": "M", "name": "process_labels", "pid": process, "args": {"labels": label}}
        )
    names: dict[int, str] = {}
    metadata_args: dict[int, dict[str, Any]] = {}
    for key, meta in plane.event_metadata.items():
        names[key] = meta.display_name or meta.name
        metadata_args[key] = _stats(meta.stats, plane.stat_metadata)
    skipped = 0
    for index, line in enumerate(plane.lines):
        thread = str(index)
        line_name = line.display_name or line.name
        category = _THREAD_ID.sub("", line_name)
        events.append(
            {
                "ph": "M",
                "name": "thread_name",
                "pid": process,
                "tid": thread,
                "args": {"name": line_name},
            }
        )
        events.append(
            {
                "ph": "M",
                "name": "thread_sort_index",
                "pid": process,
                "tid": thread,
                "args": {"sort_index": index},
            }
        )
        base_ps = line.timestamp_ns * 1000
        for event in line.events:
            if event.WhichOneof("data") == "num_occurrences":
                skipped += 1
                continue
            args = dict(metadata_args.get(event.metadata_id, ()))
            args.update(_stats(event.stats, plane.stat_metadata))
            events.append(
                {
                    "ph": "X",
                    "name": names.get(event.metadata_id, f"event {event.metadata_id}"),
                    "cat": category,
                    "pid": process,
                    "tid": thread,
                    "ts": (base_ps + event.offset_ps) / 1e6,
                    "dur": event.duration_ps / 1e6,
                    "args": args or None,
                }
            )
    return skipped


def _stats(
    stats: Any, stat_metadata: Any
) -> dict[str, Any]:  # repeated XStat, map<int64, XStatMetadata>
    """Stats as ``{name: value}``: a reference resolved, bytes shown as (cut) hex."""
    result: dict[str, Any] = {}
    for stat in stats:
        meta = stat_metadata.get(stat.metadata_id)
        key = meta.name if meta is not None and meta.name else f"stat {stat.metadata_id}"
        kind = stat.WhichOneof("value")
        value: Any
        if kind == "ref_value":
            target = stat_metadata.get(stat.ref_value)
            value = target.name if target is not None else f"<unknown ref {stat.ref_value}>"
        elif kind == "bytes_value":
            raw = stat.bytes_value
            value = raw[:MAX_STAT_BYTES].hex() + ("…" if len(raw) > MAX_STAT_BYTES else "")
        elif kind is None:
            value = None
        else:
            value = getattr(stat, kind)
        result[key] = value
    return result
