"""The worker pool: where routes do their work, off the event loop.

One event loop serves every connection, so whatever a route does on it delays
every other answer: encoding a 2M-point CSV held ``/data/runs`` for 2.8 s, a
catastrophic regex for minutes. Routes therefore only parse their parameters
on the loop and hand the rest (reading the store, which waits on the loader's
run locks; encoding JSON, CSV and base64; converting graphs; matching regexes)
to :func:`run`.

The pool is small on purpose. Its threads share the GIL with the loop, and
each CPU-bound thread in it adds up to a switch interval (5 ms) to every wait
of the loop for the GIL; a bounded pool keeps that wait bounded while a burst
of requests queues, instead of 40 threads (Starlette's default) contending.
Much of the heavy work (numpy, zlib, file reads, the ``regex`` package's
matching) releases the GIL, so a few threads still use the cores.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from starlette.requests import Request
from starlette.responses import Response

#: Threads doing route work at once; more requests wait for one (FIFO).
WORKERS = min(4, max(2, os.cpu_count() or 1))

P = ParamSpec("P")
T = TypeVar("T")

_POOL = ThreadPoolExecutor(WORKERS, thread_name_prefix="lumiboard-route")


async def run(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` on the worker pool; its exceptions are raised here.

    A request whose client goes away stops waiting, but the work already
    started finishes (threads cannot be interrupted): work must be bounded.
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, work, *args, **kwargs)
    return await loop.run_in_executor(_POOL, call)


def off_loop(handler: Callable[[Request], Response]) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that runs ``handler`` (a plain function of the request: its query
    parameters, its reads of the store, its encoding) whole on the worker pool.

    For GET routes; a route with a body reads it on the loop (``await request.body()``)
    and hands the rest to :func:`run`.
    """

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        return await run(handler, request)

    return endpoint
