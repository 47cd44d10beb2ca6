"""Recording of a PyTorch module call for ``summary.trace_on`` / ``trace_export``.

TensorFlow traces the ``tf.function`` calls made between ``trace_on`` and
``trace_export``. The PyTorch equivalent: a global forward pre-hook catches the
first module call after ``trace_on`` and keeps the module and its positional
inputs; at export the module is traced with ``torch.jit.trace`` on those inputs.
The first call to start is the outermost one (its submodules start after it),
so the hook removes itself on that first call and costs nothing afterwards.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from lumiboard.format.proto import event_pb2
from lumiboard.format.values import check_tag
from lumiboard.writer.functional import get_default_writer, get_step
from lumiboard.writer.steps import to_step, to_walltime


@dataclass(frozen=True)
class Recording:
    """What a trace produced: the graph payloads and the profile file, each if any."""

    graph: tuple[bytes, bytes] | None
    profile_path: str | None


class Tracer:
    """Catches one top-level ``nn.Module`` call and, optionally, a profile."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handle: Any = None
        self._call: tuple[Any, tuple[Any, ...]] | None = None
        self._profiler: Any = None
        self.profiler_outdir: str | None = None

    @property
    def active(self) -> bool:
        """Whether a recording is running (a call awaited or a profile running)."""
        return self._handle is not None or self._call is not None or self._profiler is not None

    def start(
        self, graph: bool = True, profiler: bool = False, profiler_outdir: str | None = None
    ) -> None:
        """Begin recording; a recording already running is dropped."""
        try:
            import torch
        except ImportError as error:
            raise ImportError("trace_on records PyTorch modules: pip install torch") from error
        self.stop()
        self.profiler_outdir = profiler_outdir
        if graph:
            self._handle = torch.nn.modules.module.register_module_forward_pre_hook(self._catch)
        if profiler:
            activities = [torch.profiler.ProfilerActivity.CPU]
            if torch.cuda.is_available():
                activities.append(torch.profiler.ProfilerActivity.CUDA)
            self._profiler = torch.profiler.profile(activities=activities, record_shapes=True)
            self._profiler.__enter__()

    def _catch(self, module: Any, args: tuple[Any, ...]) -> None:
        # torch snapshots the hook list before calling it, so removing the
        # handle here is safe; submodules of this call no longer reach us.
        with self._lock:
            if self._handle is None:
                return
            self._handle.remove()
            self._handle = None
            self._call = (module, args)

    def stop(self) -> None:
        """Stop recording and forget what was recorded."""
        with self._lock:
            if self._handle is not None:
                self._handle.remove()
                self._handle = None
            self._call = None
            profiler, self._profiler = self._profiler, None
        if profiler is not None:
            profiler.__exit__(None, None, None)

    def finish(self, profiler_outdir: str | None, trace_graph: bool = True) -> Recording:
        """Stop; write the profile into ``profiler_outdir``; trace the call if one was caught."""
        with self._lock:
            call, self._call = self._call, None
            profiler, self._profiler = self._profiler, None
        self.stop()
        profile_path = None
        if profiler is not None:
            profiler.__exit__(None, None, None)
            if profiler_outdir is not None:
                profile_path = _export_profile(profiler, profiler_outdir)
        if call is None or not trace_graph:
            return Recording(None, profile_path)
        from lumiboard.integrations.torch_graph import graph_event_payloads

        module, args = call
        return Recording(graph_event_payloads(module, args), profile_path)


def _export_profile(profiler: Any, outdir: str) -> str:
    # The file name follows torch's tensorboard_trace_handler:
    # <host>_<pid>.<time in ns>.pt.trace.json, which the profile dashboard discovers.
    from lumiboard.writer import fs

    fs.make_dirs(outdir)
    name = f"{socket.gethostname()}_{os.getpid()}.{time.time_ns()}.pt.trace.json"
    target = fs.join(outdir, name)
    if fs.is_remote(outdir):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, name)
            profiler.export_chrome_trace(local)
            with open(local, "rb") as handle:
                fs.write_file(target, handle.read())
    else:
        profiler.export_chrome_trace(target)
    return target


_tracer = Tracer()


def trace_on(
    graph: bool = True, profiler: bool = False, profiler_outdir: str | None = None
) -> None:
    """Start recording the next PyTorch module call (and, with ``profiler``, a profile).

    The first ``nn.Module`` call after this one is recorded (its submodule
    calls are part of it); :func:`trace_export` writes it. A profile goes to
    ``profiler_outdir`` (default: the default writer's log dir at export).

    Example::

        summary.trace_on(profiler=True)
        model(batch)                      # the call that gets recorded
        with writer.as_default():
            summary.trace_export("model", step=0)
    """
    _tracer.start(graph=graph, profiler=profiler, profiler_outdir=profiler_outdir)


def trace_off() -> None:
    """Stop recording without writing anything."""
    _tracer.stop()


def trace_export(name: str, step: int | None = None, profiler_outdir: str | None = None) -> bool:
    """Write what was recorded since :func:`trace_on` and stop recording.

    The module call goes to the default writer as the run's graph (an
    ``Event.graph_def``) plus run metadata tagged ``name``, which
    TensorBoard's graph dashboard shows; the module is traced with
    ``torch.jit.trace`` on the inputs of that call, so only positional
    tensor arguments are supported. A profile, when recorded, is written to
    ``profiler_outdir`` (else trace_on's, else the writer's log dir) as a
    Chrome trace ``<host>_<pid>.<ns>.pt.trace.json``.

    Returns True when something was written. False means nothing was: no
    module call (or profile) was recorded, or there is no default writer to
    take the graph. The recording ends either way.

    Example::

        summary.trace_on()
        model(batch)
        summary.trace_export("model", step=0)
    """
    check_tag(name, "name")
    writer = get_default_writer()
    resolved = step if step is not None else get_step()
    if writer is not None and resolved is None:
        raise ValueError("no step given: pass step= or call set_step() / as_default(step=)")
    outdir = profiler_outdir or _tracer.profiler_outdir or (writer.logdir if writer else None)
    # Without a writer the graph has nowhere to go: skip tracing it.
    recording = _tracer.finish(outdir, trace_graph=writer is not None)
    if writer is not None and recording.graph is not None:
        step_number = to_step(resolved, "step")
        graph, run_metadata = recording.graph
        wall_time = to_walltime(None)
        writer.write_event(event_pb2.Event(wall_time=wall_time, step=step_number, graph_def=graph))
        tagged = event_pb2.TaggedRunMetadata(tag=name, run_metadata=run_metadata)
        writer.write_event(
            event_pb2.Event(wall_time=wall_time, step=step_number, tagged_run_metadata=tagged)
        )
    return recording.graph is not None or recording.profile_path is not None
