"""TensorBoard's core routes (same paths and shapes) and lumiboard's status route.

``/data/runs`` answers on the event loop (it sorts the run list and takes no lock), as do
the routes that answer options; ``/data/plugins_listing`` and ``/data/status`` read every
run under its lock, which the loader holds while it applies a chunk, so they run on the
worker pool (:mod:`.workers`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lumiboard import __version__
from lumiboard.plugins import base
from lumiboard.reader import mlflow_runs
from lumiboard.reader.names import safe_text
from lumiboard.server import preflight, workers
from lumiboard.server.context import Context, context
from lumiboard.server.responses import json_response

logger = logging.getLogger(__name__)


async def runs(request: Request) -> Response:
    """``["run", ...]`` ordered by first event time, then name (as TensorBoard)."""
    return json_response(context(request).provider.list_runs())


@workers.off_loop
def plugins_listing(request: Request) -> Response:
    """``{plugin: {enabled, tab_name, ...}}``: every served plugin, enabled when it has data."""
    ctx = context(request)
    listing = {}
    for plugin in base.served_plugins():
        if plugin.is_active is not None:
            enabled = _is_active(plugin.name, plugin.is_active, ctx)
        else:
            # A plugin's aliases count: a run with only a Keras model keeps it under
            # ``graph_keras_model``, which the graphs dashboard shows.
            declared = base.plugin_data(plugin.data_plugin)
            names = (plugin.data_plugin, *(declared.aliases if declared else ()))
            enabled = any(ctx.provider.list_tags(plugin=name) for name in names)
        listing[plugin.name] = {
            "enabled": enabled,
            "tab_name": plugin.tab_name,
            "disable_reload": False,
            "remove_dom": False,
            "loading_mechanism": {"type": "NG_COMPONENT"},
        }
    return json_response(listing)


def _is_active(name: str, is_active: Callable[[Context], bool], ctx: Context) -> bool:
    """A plugin's ``is_active`` (it may walk directories or a bucket: on the worker pool,
    as the whole listing); a plugin that fails to tell is inactive (logged), not the
    listing's 500."""
    try:
        return bool(is_active(ctx))
    except Exception:
        logger.exception("plugin %s could not tell whether it has data", name)
        return False


async def environment(request: Request) -> Response:
    """TensorBoard's environment: version, data location, window title."""
    options = context(request).options
    return json_response(
        {
            "version": __version__,
            # A path from the command line may hold bytes that are not UTF-8.
            "data_location": safe_text(options.data_location),
            "window_title": safe_text(options.window_title),
            "experiment_name": "",
            "experiment_description": "",
            "creation_time": 0,
            "reload_interval": options.reload_interval,
        }
    )


async def logdir(request: Request) -> Response:
    """Legacy TensorBoard route."""
    return json_response({"logdir": safe_text(context(request).options.data_location)})


async def window_properties(request: Request) -> Response:
    """Legacy TensorBoard route."""
    return json_response({"window_title": safe_text(context(request).options.window_title)})


@workers.off_loop
def status(request: Request) -> Response:
    """Ingestion progress, the records skipped per run and tag, and what the install lacks
    (native scanner, web app) or the log directories that do not exist."""
    ctx = context(request)
    progress = ctx.reloader.progress()
    skipped = {}
    links = {}
    for name in ctx.provider.list_runs():
        run = ctx.reloader.runs.get(name)
        if run is None:
            continue  # dropped by a reload since it was listed
        page = mlflow_runs.page_of(ctx.reloader.location(name))  # a run read from MLflow
        if page is not None:
            links[name] = {"mlflow": page}
        with run.lock:  # the loader thread counts into it
            counts = dict(run.skipped)
        unreadable = ctx.reloader.unreadable_files(name)  # event files it cannot open
        if unreadable:
            counts[""] = counts.get("", 0) + unreadable
        if counts:
            skipped[name] = counts
    sources = ctx.reloader.sources
    logdirs = preflight.logdir_states(
        [source.location for source in sources], [source.name for source in sources]
    )
    return json_response(
        {
            "loading": progress.loading,
            "runs_total": progress.runs_total,
            "runs_done": progress.runs_done,
            "bytes_total": progress.bytes_total,
            "bytes_done": progress.bytes_done,
            "passes": progress.passes,
            "last_reload_seconds": progress.last_duration,
            "native_scanner": preflight.native_scanner(),
            "web_app": preflight.web_app(),
            "logdirs": logdirs,
            "logdir_exists": all(state["exists"] is not False for state in logdirs),
            "skipped": skipped,
            "links": links,
            "notes": ctx.options.notes,
        }
    )


ROUTES = [
    Route("/data/runs", runs),
    Route("/data/plugins_listing", plugins_listing),
    Route("/data/environment", environment),
    Route("/data/logdir", logdir),
    Route("/data/window_properties", window_properties),
    Route("/data/status", status),
]
