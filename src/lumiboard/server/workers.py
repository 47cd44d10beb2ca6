"""The worker pools: where routes do their work, off the event loop.

One event loop serves every connection, so whatever a route does on it delays
every other answer: encoding a 2M-point CSV held ``/data/runs`` for 2.8 s, a
catastrophic regex for minutes. Routes therefore only parse their parameters
on the loop and hand the rest (reading the store, which waits on the loader's
run locks; encoding JSON, CSV and base64; converting graphs; matching regexes)
to a pool:

- :func:`run` (:func:`off_loop`): the routes the dashboards poll (tag
  listings, reduced series, status), whose work is bounded by what a screen shows;
- :func:`run_bulk` (:func:`off_loop_bulk`): answers that grow with the data
  (every point of a series, downloads, whole graphs), which take seconds. They
  run on the same threads, but at most :data:`BULK_WORKERS` at once: the others
  wait their turn without holding a thread, so downloads can never take every
  thread from the dashboards' requests.

The pool is small on purpose. Its threads share the GIL with the loop, and
each CPU-bound thread adds up to a switch interval (5 ms) to every wait of the
loop for the GIL. With 50 polling clients, a writer and a client downloading a
2M-point CSV over and over, on 2 cores, ``/data/runs`` p99 was 139 ms with 2
threads, 462 ms with 8, and 320 to 490 ms with a third thread of its own for
the downloads (the download loop got more of the CPU, and every thread that
releases the GIL waits behind it to take it back). Much of the work (numpy,
zlib, file reads, the ``regex`` package's matching) releases the GIL, so a few
threads still use the cores.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from starlette.requests import Request
from starlette.responses import Response

#: Threads doing the polled routes' work at once; more requests wait for one (FIFO).
WORKERS = min(4, max(2, os.cpu_count() or 1))
#: Of those, how many may answer with whole series, downloads and graphs at once.
BULK_WORKERS = max(1, WORKERS // 2)
#: How long a thread keeps the GIL once another asks for it, in the server (Python's
#: default: 5 ms). The event loop asks after every socket call, so each of its turns
#: could wait that long behind a worker encoding an answer.
SWITCH_INTERVAL = 0.001

P = ParamSpec("P")
T = TypeVar("T")
Handler = Callable[[Request], Response]
Endpoint = Callable[[Request], Awaitable[Response]]

_POOL = ThreadPoolExecutor(WORKERS, thread_name_prefix="lumiboard-route")
#: Hands bulk work to the pool BULK_WORKERS at a time; its threads only wait.
_BULK_GATE = ThreadPoolExecutor(BULK_WORKERS, thread_name_prefix="lumiboard-bulk")


def _in_context(work: Callable[[], T]) -> Callable[[], T]:
    return functools.partial(contextvars.copy_context().run, work)


def _through_pool(work: Callable[[], T]) -> T:
    return _POOL.submit(_in_context(work)).result()


async def _on(executor: ThreadPoolExecutor, work: Callable[[], T]) -> T:
    # A request whose client goes away stops waiting, but the work already started
    # finishes (threads cannot be interrupted): work must be bounded.
    return await asyncio.get_running_loop().run_in_executor(executor, _in_context(work))


async def run(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` on the route pool; its exceptions are raised here."""
    return await _on(_POOL, functools.partial(work, *args, **kwargs))


async def run_bulk(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` on the pool, at most :data:`BULK_WORKERS` such at once
    (answers that grow with the data)."""
    return await _on(
        _BULK_GATE, functools.partial(_through_pool, functools.partial(work, *args, **kwargs))
    )


def off_loop(handler: Handler) -> Endpoint:
    """An endpoint that runs ``handler`` (a plain function of the request: its query
    parameters, its reads of the store, its encoding) whole on the route pool.

    For GET routes; a route with a body reads it on the loop (``await request.body()``)
    and hands the rest to :func:`run`.
    """

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        return await run(handler, request)

    return endpoint


def off_loop_bulk(handler: Handler) -> Endpoint:
    """:func:`off_loop` for a route answering with whole series, downloads or graphs."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        return await run_bulk(handler, request)

    return endpoint


def shorten_gil_turns() -> None:
    """Set the GIL's switch interval to :data:`SWITCH_INTERVAL` (at most), for a server
    process: with a CSV being encoded and 50 polling clients, ``/data/runs`` p99 went
    from 179-632 ms to 157-186 ms on 2 cores, the dashboards' ``/series`` p99 from
    1.8 s to 0.9 s. The cost is more switches between CPU-bound threads."""
    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
