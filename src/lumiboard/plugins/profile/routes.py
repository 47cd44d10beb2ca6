"""HTTP routes of the profile plugin, under ``/data/plugin/profile``.

lumiboard's own routes (torch-tb-profiler's live under ``pytorch_profiler``
and are not mimicked). Every route but ``/runs`` names one trace file by
``run``, ``worker`` and ``span`` (the latest span when left out), looked up in
the listing of :mod:`.discover`: a query string never becomes a path. Files
are parsed in a worker thread and kept (:mod:`.cache`); so are the analyses.
A file that cannot be read answers 422 with ``{"error", "file"}``; so does a
trace that is a symlink leading outside its run and the log directories (the
rule of every file beside event files, :mod:`lumiboard.reader.assets`).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard.plugins.profile import advice, distributed, memory, ops, overview, timeline
from lumiboard.plugins.profile.cache import TraceCache
from lumiboard.plugins.profile.discover import Listing, TraceFile, TraceIndex
from lumiboard.plugins.profile.trace import Trace, TraceError, gc_paused
from lumiboard.reader.assets import OutsideError, confine
from lumiboard.reader.names import safe_text
from lumiboard.server import workers as pool  # 'workers' names a run's ranks here
from lumiboard.server.context import Context, context, query, query_int
from lumiboard.server.errors import BadRequestError
from lumiboard.server.responses import json_response
from lumiboard.store.provider import NotFoundError
from lumiboard.writer.fs import is_remote

TAB_NAME = "Profile"

INDEX = TraceIndex()
CACHE = TraceCache()


def is_active(ctx: Context) -> bool:
    """True when a log directory holds a trace (for ``/data/plugins_listing``)."""
    return bool(INDEX.listing(ctx.reloader.sources))


async def _listing(request: Request) -> Listing:
    return await pool.run(INDEX.listing, context(request).reloader.sources)


def _pick(listing: Listing, request: Request) -> tuple[str, str, str, TraceFile]:
    run, worker = query(request, "run"), query(request, "worker")
    workers = listing.get(run)
    if workers is None:
        raise NotFoundError(f"no profiler traces in run {run!r}")
    spans = workers.get(worker)
    if spans is None:
        raise NotFoundError(f"no worker {worker!r} in run {run!r}")
    span = request.query_params.get("span") or list(spans)[-1]
    found = spans.get(span)
    if found is None:
        raise NotFoundError(f"no span {span!r} for worker {worker!r} in run {run!r}")
    return run, worker, span, found


class _UnreadableError(Exception):
    def __init__(self, file: TraceFile, error: Exception) -> None:
        super().__init__(str(error))
        self.file = safe_text(os.path.basename(file.path.rstrip("/")))


async def _load(file: TraceFile, request: Request) -> Trace:
    logdirs = context(request).logdirs()
    try:
        # Parsing a trace takes seconds: at most half the route threads (bulk work).
        return await pool.run_bulk(_confined_trace, file, logdirs)
    except (TraceError, OutsideError) as error:
        raise _UnreadableError(file, error) from None


def _confined_trace(file: TraceFile, logdirs: list[str]) -> Trace:
    """The parsed trace, if the file leads nowhere outside its run and the log directories
    and can be opened now."""
    real = confine(file.path, (os.path.dirname(file.path), *logdirs))
    if not is_remote(real):
        # A file that cannot be opened (permissions) is told here, not kept as the parse
        # cache's answer: chmod changes neither its size nor its mtime (the cache's key),
        # so the kept error would outlive the fix.
        try:
            with open(real, "rb"):
                pass
        except FileNotFoundError:
            raise TraceError("the trace file was removed") from None
        except OSError as error:
            raise TraceError(f"cannot read the trace file: {error.strerror or error}") from None
    return CACHE.get(file)


Handler = Callable[[Request], Awaitable[Response]]


#: What an XSpace (TensorFlow, Keras, JAX) profile lacks for a view, and what to record instead:
#: told in place of the view, since zeros would read as "nothing happened".
XSPACE_MISSING = {
    "Operators": (
        "this profile holds no TensorFlow or XLA ops: ops are recorded by the TensorFlow and "
        "JAX profilers around compiled steps (tf.function, jax.jit); the Trace view shows "
        "every event it holds"
    ),
    "Kernels": (
        "this profile has no GPU activity: kernels are recorded when the profiled program runs "
        "on a GPU (TensorFlow with CUDA, jax[cuda]); on CPU the Operators view lists the ops "
        "that ran"
    ),
    "Memory": (
        "this profile holds no allocator events: TensorFlow records them for its GPU (BFC) "
        "allocator while profiling; CPU runs and JAX profiles have none (JAX writes device "
        "memory profiles with jax.profiler.save_device_memory_profile)"
    ),
}


def _missing(trace: Trace, view: str | None) -> str | None:
    """What the XSpace profile lacks for ``view`` (see :data:`XSPACE_MISSING`), or None."""
    if view is None or trace.metadata.get("format") != "xplane":
        return None
    if view == "Operators" and not trace.category_mask("cpu_op", "kernel").any():
        return XSPACE_MISSING[view]
    if view == "Kernels" and not trace.category_mask("kernel").any():
        return XSPACE_MISSING[view]
    if view == "Memory" and not len(trace.memory.ts):
        return XSPACE_MISSING[view]
    return None


def _trace_route(compute: Callable[[Trace, Request], Any], view: str | None = None) -> Handler:
    """A route over one trace file: ``compute(trace, request)`` runs in a worker thread.
    ``view`` names the view, for what an XSpace profile lacks for it (:func:`_missing`)."""

    async def handler(request: Request) -> Response:
        run, worker, span, file = _pick(await _listing(request), request)
        try:
            trace = await _load(file, request)
        except _UnreadableError as error:
            return json_response({"error": str(error), "file": error.file}, status_code=422)

        def answer() -> Response:
            # The view and its JSON (a /trace window is up to 1M events) on the route
            # pool, never on the event loop, which serves every other request.
            missing = _missing(trace, view)
            with gc_paused():  # a view makes many small objects, and no cycles
                result = compute(trace, request)
            if isinstance(result, dict):
                result = {
                    "run": run,
                    "worker": worker,
                    "span": span,
                    "warnings": [*trace.warnings, missing] if missing else trace.warnings,
                    # False: the profile lacks what the view is computed from (its numbers
                    # would be zeros); the dashboard then shows the warning only.
                    "computed": missing is None,
                    **result,
                }
            return json_response(result)

        return await pool.run(answer)

    return handler


async def runs(request: Request) -> Response:
    """``{"runs": {run: {worker: [{span, file, size, mtime}]}}}``, every trace file found."""
    listing = await _listing(request)
    return json_response(
        {
            "runs": {
                run: {
                    worker: [
                        {
                            "span": span,
                            "file": safe_text(os.path.basename(f.path)),
                            "size": f.size,
                            "mtime": f.mtime,
                        }
                        for span, f in spans.items()
                    ]
                    for worker, spans in workers.items()
                }
                for run, workers in listing.items()
            }
        }
    )


def _memoized(trace: Trace, key: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A view's answer, computed once per parsed trace (a trace is parsed once per version of
    its file, so this is per version too): the walks over every kernel's args take seconds."""
    found: dict[str, Any] | None = trace.memo.get(key)
    if found is None:
        found = trace.memo[key] = compute()
    return found


def _overview(trace: Trace, request: Request) -> dict[str, Any]:
    return _memoized(trace, "view:overview", lambda: _compute_overview(trace))


def _compute_overview(trace: Trace) -> dict[str, Any]:
    steps = overview.breakdown(trace)
    gpus = overview.gpu_metrics(trace)
    share = ops.tensor_core_share(trace) if gpus else None
    return {
        "devices": overview.devices(trace),
        "host": overview.host_summary(trace),
        "breakdown": steps,
        "gpu": gpus,
        "tensor_core_share": share,
        "events": len(trace.ts),
        "duration": trace.end - trace.start,
        "recommendations": advice.recommendations(
            steps["mean"],
            gpus,
            share,
            "xplane" if trace.metadata.get("format") == "xplane" else "pytorch",
        ),
    }


def _group_by(request: Request, allowed: tuple[str, ...]) -> str:
    value = request.query_params.get("group_by", allowed[0])
    if value not in allowed:
        raise BadRequestError(f"group_by must be one of {', '.join(allowed)}")
    return value


def _operators(trace: Trace, request: Request) -> dict[str, Any]:
    group_by = _group_by(request, ("operation", "operation_input_shape"))
    return _memoized(
        trace,
        f"view:operators:{group_by}",
        lambda: {"group_by": group_by, "operators": ops.operators(trace, group_by)},
    )


def _kernels(trace: Trace, request: Request) -> dict[str, Any]:
    group_by = _group_by(request, ("kernel", "kernel_operator"))
    return _memoized(
        trace,
        f"view:kernels:{group_by}",
        lambda: {"group_by": group_by, **ops.kernels(trace, group_by)},
    )


_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _float(request: Request, name: str) -> float | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    if not _NUMBER.fullmatch(text):  # float() would take " 1_0 " and other digits too
        raise BadRequestError(f"{name!r} must be a number (microseconds)")
    value = float(text)
    if not math.isfinite(value):
        raise BadRequestError(f"{name!r} must be finite")
    return value


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer parameter in ``[low, high]``, ``default`` when absent; 400 when it is
    anything else, empty (``id=``) included."""
    value = query_int(request, name, low, high)
    return default if value is None else value


def _trace_window(trace: Trace, request: Request) -> dict[str, Any]:
    start, end = _float(request, "start"), _float(request, "end")
    if start is not None and end is not None and start > end:
        raise BadRequestError("'start' must not exceed 'end'")
    limit = _int(request, "limit", timeline.DEFAULT_LIMIT, 1, timeline.MAX_LIMIT)
    return timeline.window(trace, start, end, limit)


def _event(trace: Trace, request: Request) -> dict[str, Any]:
    query(request, "id")
    index = _int(request, "id", 0, 0, 2**62)
    try:
        return timeline.event(trace, index)
    except IndexError:
        raise NotFoundError(f"no event {index} in this trace") from None


def _memory(trace: Trace, request: Request) -> dict[str, Any]:
    return memory.memory(trace)


async def distributed_view(request: Request) -> Response:
    """Per worker of a run: GPU info, computation/communication overlap and collectives."""
    listing = await _listing(request)
    run = query(request, "run")
    workers = listing.get(run)
    if workers is None:
        raise NotFoundError(f"no profiler traces in run {run!r}")
    chosen = _spans_by_worker(workers, request.query_params.get("span"))
    result = []
    for worker, file in chosen.items():
        try:
            trace = await _load(file, request)
        except _UnreadableError as error:
            result.append({"worker": worker, "error": str(error), "file": error.file})
            continue
        result.append({"worker": worker, **(await pool.run(_worker_summary, trace))})
    return json_response({"run": run, "workers": result})


def _spans_by_worker(
    workers: dict[str, dict[str, TraceFile]], span: str | None
) -> dict[str, TraceFile]:
    """Each worker's file for ``span``: by name, else at its position (ranks stamp spans apart)."""
    position = -1
    if span:
        for spans in workers.values():
            if span in spans:
                position = list(spans).index(span)
                break
        else:
            raise NotFoundError(f"no span {span!r} in this run")
    chosen = {}
    for worker, spans in workers.items():
        names = list(spans)
        if span and span in spans:
            chosen[worker] = spans[span]
        elif -len(names) <= position < len(names):
            chosen[worker] = spans[names[position]]
    return chosen


def _worker_summary(trace: Trace) -> dict[str, Any]:
    steps = overview.breakdown(trace)
    return {
        "devices": overview.devices(trace),
        "gpu": overview.gpu_metrics(trace),
        "overlap": distributed.overlap(trace),
        "collectives": distributed.collectives(trace),
        "step_time": steps["mean"]["duration"],
        "breakdown": steps["mean"],
        "warnings": trace.warnings,
    }


ROUTES = [
    Route("/runs", runs),
    Route("/overview", _trace_route(_overview, "Overview")),
    Route("/operators", _trace_route(_operators, "Operators")),
    Route("/kernels", _trace_route(_kernels, "Kernels")),
    Route("/trace", _trace_route(_trace_window)),
    Route("/event", _trace_route(_event)),
    Route("/memory", _trace_route(_memory, "Memory")),
    Route("/distributed", distributed_view),
]
