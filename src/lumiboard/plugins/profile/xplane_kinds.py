"""What each event of an XSpace profile is, in the categories the views read.

The views (Overview, Operators, Kernels, Memory) were written for PyTorch traces,
whose events carry a category (``cpu_op``, ``kernel``, ``cuda_runtime`` ...). An
XSpace has none: what an event is follows from its plane, its line, its name and
its stats, as xprof reads them. Each event gets one of :data:`CATEGORIES`:

- on a **host** plane (``/host:CPU``):

  - ``step``: a step marker, an event whose stats hold ``step_num``: Keras's
    ``Profiled batch``, ``tf.profiler.experimental.Trace(name, step_num=...)``
    and JAX's ``StepTraceAnnotation``;
  - ``cpu_op``: a TensorFlow op (named ``<name>:<Type>``) or an XLA op run on
    the host (its stats hold ``hlo_op``, as JAX on CPU writes);
  - ``python_function``: a frame of the Python tracer (``$file.py:12 f``);
  - ``cuda_runtime``: a CUDA (or HIP) API call (``cuLaunchKernel`` ...), which
    shares its ``correlation_id`` with the device activity it launched;
  - ``tf_data``: the input pipeline's work (``Iterator::...`` and the
    ``tf_data_*`` threads);
  - ``user_annotation``: any other TraceMe (executor and runtime activity);

- on a **device** plane (``/device:GPU:0``, ``/device:TPU:0`` ...), the events of
  stream lines are ``kernel``, ``gpu_memcpy`` or ``gpu_memset`` by name; the lines
  xprof derives (``Steps``, ``XLA Modules``, ``XLA Ops``, ``TF Ops`` ...) are
  ``device_step``, ``xla_module`` and ``device_annotation``, except that a device
  with no stream lines (a TPU) runs its ``XLA Ops`` as its ``kernel`` events.

The same rules classify the Chrome-JSON exports of an XSpace (:func:`classify_chrome`).

Stats are per event, and reading every event's stats would cost more than the
rest of the decoding: a kind of event (its metadata) is judged by the stats of one
of its events, which is how profilers write them (a TraceMe name used as a step
marker always carries ``step_num``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace

import numpy as np

from lumiboard.plugins.profile.trace import Trace

CATEGORIES = (
    "user_annotation",
    "cpu_op",
    "python_function",
    "cuda_runtime",
    "step",
    "tf_data",
    "kernel",
    "gpu_memcpy",
    "gpu_memset",
    "device_step",
    "xla_module",
    "device_annotation",
)
CODE = {name: code for code, name in enumerate(CATEGORIES)}

#: A TensorFlow op's TraceMe: ``<op name>:<op type>`` (no spaces, the type an identifier).
_TF_OP = re.compile(r"^[^:\s]+:[A-Za-z_][A-Za-z0-9_]*$")
#: CUDA runtime/driver and HIP API calls.
_RUNTIME = re.compile(r"^(?:cu|cuda|hip)[A-Z][A-Za-z0-9_]*$")
#: Lines xprof derives on a device plane, by name, and the category of their events.
_DERIVED_LINES = {
    "Steps": "device_step",
    "XLA Modules": "xla_module",
    "XLA Ops": "device_annotation",
    "TF Ops": "device_annotation",
    "Framework Ops": "device_annotation",
    "TF Name Scope": "device_annotation",
    "Framework Name Scope": "device_annotation",
    "Source code": "device_annotation",
    "XLA TraceMe": "device_annotation",
    "Launch Stats": "device_annotation",
}
#: Events of stats that make a step marker, an XLA op.
STEP_STAT = "step_num"
HLO_STATS = frozenset({"hlo_op"})


def is_device_plane(name: str) -> bool:
    """A plane of accelerator activity (GPU, TPU, custom device)."""
    return name.startswith("/device:")


def device_label(name: str) -> str:
    """``GPU 0``, ``TPU 3`` ...: the track group of a device plane (``/device:GPU:0``)."""
    kind, _, number = name[len("/device:") :].partition(":")
    return f"{kind} {number}".strip()


def is_stream_line(name: str) -> bool:
    """A line of device activity as recorded (not derived by xprof)."""
    return name not in _DERIVED_LINES


def is_tf_op(name: str) -> bool:
    """A TensorFlow op's TraceMe name (``<op name>:<op type>``)."""
    return bool(_TF_OP.match(name))


def host_category(name: str, line: str, stat_names: frozenset[str]) -> str:
    """The category of a host event named ``name`` on ``line`` whose stats are named so."""
    if STEP_STAT in stat_names:
        return "step"
    if stat_names & HLO_STATS or _TF_OP.match(name):
        return "cpu_op"
    if name.startswith("$"):
        return "python_function"
    if _RUNTIME.match(name):
        return "cuda_runtime"
    if name.startswith("Iterator::") or line.startswith("tf_data"):
        return "tf_data"
    return "user_annotation"


def device_category(name: str, line: str, has_streams: bool) -> str:
    """The category of an event named ``name`` on the device line ``line``."""
    derived = _DERIVED_LINES.get(line)
    if derived is not None:
        if line == "XLA Ops" and not has_streams:
            return "kernel"
        return derived
    lowered = name.lower()
    if "memcpy" in lowered:
        return "gpu_memcpy"
    if "memset" in lowered:
        return "gpu_memset"
    return "kernel"


def is_input_wait(name: str) -> bool:
    """The training loop waiting for its next batch from tf.data (xprof's "input" time)."""
    return name in ("IteratorGetNextOp::DoCompute", "IteratorGetNextAsOptionalOp::DoCompute") or (
        # The graph op (``IteratorGetNext:IteratorGetNext``) and the eager call of it.
        name.endswith(_NEXT_OPS) and (":" in name)
    )


_NEXT_OPS = ("IteratorGetNext", "IteratorGetNextSync", "IteratorGetNextAsOptional")


@functools.lru_cache(maxsize=4096)
def kernel_details(text: str) -> dict[str, object]:
    """The launch parameters of a ``kernel_details`` stat
    (``regs:32 static_shared:0 dynamic_shared:0 grid:80,1,1 block:256,1,1 occ_pct:50``); kept
    per text (a kernel launched again and again has one), so callers must not change it."""
    found: dict[str, object] = {}
    for token in text.split():
        key, sep, value = token.partition(":")
        if not sep:
            continue
        numbers = value.split(",")
        try:
            parsed = [float(number) for number in numbers]
        except ValueError:
            continue
        if key == "regs":
            found["registers per thread"] = int(parsed[0])
        elif key in ("static_shared", "dynamic_shared"):
            found[f"{key.replace('_', ' ')} memory"] = int(parsed[0])
        elif key in ("grid", "block") and len(parsed) == 3:
            found[key] = [int(n) for n in parsed]
        elif key == "occ_pct":
            found["est. achieved occupancy %"] = parsed[0]
    return found


def classify_chrome(trace: Trace) -> None:
    """Give the events of a Chrome-JSON export of an XSpace (JAX's ``<host>.trace.json.gz``
    and ``perfetto_trace.json.gz``: processes named ``/host:CPU``, ``/device:GPU:0``...) the
    categories of the module docstring, in place; any other trace is left as it is.

    A kind of event (a name on a thread) is judged by its first occurrence's args.
    """
    processes = {track.process for track in trace.tracks}
    if not any(name.startswith(("/host:", "/device:")) for name in processes):
        return
    streams = {
        track.process
        for track in trace.tracks
        if is_device_plane(track.process) and is_stream_line(track.thread)
    }
    tracks = [
        replace(track, kind="gpu") if is_device_plane(track.process) else track
        for track in trace.tracks
    ]
    pairs = trace.track.astype(np.int64) * (len(trace.names) + 1) + trace.name
    _, first, inverse = np.unique(pairs, return_index=True, return_inverse=True)
    codes = np.zeros(len(first), dtype=np.int16)
    for k, index in enumerate(first.tolist()):
        track = tracks[int(trace.track[index])]
        name = trace.names[int(trace.name[index])]
        if is_device_plane(track.process):
            category = device_category(name, track.thread, track.process in streams)
        else:
            keys = frozenset(trace.args[index] or ())
            category = host_category(name, track.thread, keys)
        codes[k] = CODE[category]
    trace.cat = codes[inverse.reshape(-1)] if len(first) else np.zeros(0, dtype=np.int16)
    trace.categories = list(CATEGORIES)
    trace.tracks = tracks
    trace.metadata["format"] = "xplane"
    trace.memo.clear()  # anything computed from the old categories
    device = np.flatnonzero(
        np.isin(
            trace.cat, [CODE[c] for c in ("cuda_runtime", "kernel", "gpu_memcpy", "gpu_memset")]
        )
    )
    for index in device.tolist():
        value = (trace.args[index] or {}).get("correlation_id")
        number = int(value) if isinstance(value, int | str) and str(value).isdigit() else -1
        if 0 <= number < 2**63:
            trace.correlation[index] = number
