"""What a snapshot holds: the selected runs and tags, as lumiboard's own routes answer them.

The log directory is loaded in this process by the server's :class:`Reloader` and asked, through
the server's ASGI app (:mod:`.snapshot_asgi`), every request the snapshot's dashboards make:
the run list, plugins listing, environment, status and health flags, then per dashboard its
tag listing and each series' answers (images and audio with their bytes). Answers are stored
under the key the web app computes from the URL it builds (:func:`request_key`).

Scalars are the exception: every point of each series is stored as columns, and the web app
reduces them per pixel itself (``snapshot/reduce.ts``, the server's reduction in TypeScript),
so zooming refines the chart as it does against a server.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
import orjson

from lumiboard.reader.discover import parse_logdir
from lumiboard.reader.reload import Reloader
from lumiboard.snapshot_asgi import Answer, AppCaller, request_key
from lumiboard.store.patterns import Budget, compile_pattern

#: The dashboards a snapshot carries: the snapshot build of the web app mounts these only, and
#: the others are listed as "not in this snapshot".
DASHBOARDS = (
    "scalars",
    "health",
    "images",
    "audio",
    "distributions",
    "histograms",
    "text",
    "hparams",
)
#: Histograms the histograms dashboard asks for per series: ``SAMPLES`` in
#: ``frontend/src/dashboards/histograms/Card.tsx`` (a unit test holds the two equal).
HISTOGRAM_SAMPLES = 51
#: Seconds a ``--runs`` or ``--tags`` regex may spend matching all names.
MATCH_SECONDS = 10.0

Matcher = Callable[[str], bool]


def name_matcher(pattern: str | None) -> Matcher:
    """Whether a name is selected by ``pattern`` (``re.search``; None: every name), with the
    guards every user regex gets (:mod:`lumiboard.store.patterns`); PatternError when refused."""
    if pattern is None:
        return lambda name: True
    compiled = compile_pattern(pattern)
    budget = Budget.start(MATCH_SECONDS)
    return lambda name: compiled.search(name, budget)


@dataclass
class Sizes:
    """Bytes of the stored answers by what they are (as JSON text), for the command's report."""

    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, size: int) -> None:
        self.by_kind[kind] = self.by_kind.get(kind, 0) + size


@dataclass
class Collected:
    """A snapshot's data: ``responses`` by key, ``scalars`` by tag and run, and their sizes."""

    responses: dict[str, dict[str, Any]]
    scalars: dict[str, dict[str, dict[str, Any]]]
    runs: list[str]
    sizes: Sizes


def load(logdir: str, samples: dict[str, int | None] | None, runs: Matcher) -> Reloader:
    """The log directory read once, keeping the runs ``runs`` selects; ValueError when none
    is left (an empty snapshot is a wrong path or regex)."""
    reloader = Reloader(parse_logdir(logdir), samples=samples)
    reloader.reload()
    found = len(reloader.runs)
    if not found:
        raise ValueError(f"no runs found in {logdir}")
    for name in [name for name in reloader.runs if not runs(name)]:
        del reloader.runs[name]  # nothing reloads it: the Reloader serves only this snapshot
    if not reloader.runs:
        raise ValueError(f"none of the {found} runs in {logdir} matches --runs")
    return reloader


def collect(app: Any, tags: Matcher) -> Collected:
    """Every answer the snapshot's dashboards need from ``app`` (built by ``create_app``).

    Called where an event loop runs already (a notebook, Playwright's sync API), the requests
    run on a loop of their own in another thread: a thread has one running loop at most.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_Collector(app, tags).run())
    with ThreadPoolExecutor(1, thread_name_prefix="lumiboard-snapshot") as pool:
        return pool.submit(lambda: asyncio.run(_Collector(app, tags).run())).result()


def encode_column(array: np.ndarray, *, integers: bool = False) -> list[str]:
    """``[dtype, base64]`` of a column, little-endian: ``i4`` (integers that fit), ``f4``
    (floats that float32 holds exactly, NaN and Inf included) or ``f8``."""
    column = np.asarray(array)
    if integers:
        small = column.size == 0 or (column.min() >= -(2**31) and column.max() < 2**31)
        if small:
            return ["i4", _b64(column.astype("<i4"))]
        return ["f8", _b64(column.astype("<f8"))]
    wide = column.astype("<f8")
    with np.errstate(over="ignore"):  # a value float32 cannot hold fails the check below
        narrow = wide.astype("<f4")
    if np.array_equal(narrow.astype("<f8"), wide, equal_nan=True):
        return ["f4", _b64(narrow)]
    return ["f8", _b64(wide)]


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


class _Collector:
    def __init__(self, app: Any, tags: Matcher) -> None:
        self._caller = AppCaller(app)
        self._provider = app.state.context.provider
        self._tags = tags
        self._responses: dict[str, dict[str, Any]] = {}
        self._scalars: dict[str, dict[str, dict[str, Any]]] = {}
        self._sizes = Sizes()
        self._enabled: dict[str, bool] = {}

    async def run(self) -> Collected:
        runs = await self._json("core", "/data/runs")
        await self._json("core", "/data/environment")
        await self._json("core", "/data/status")
        await self._health()
        await self._json("hparams", "/data/plugin/hparams/table")
        await self._scalar_series()
        for plugin, route, blob_route in (
            ("images", "images", "individualImage"),
            ("audio", "audio", "individualAudio"),
        ):
            await self._blobs(plugin, route, blob_route)
        await self._histograms()
        await self._distributions()
        await self._text()
        await self._listing()
        return Collected(self._responses, self._scalars, list(runs or []), self._sizes)

    # ---- storing answers ---------------------------------------------------------------

    def _put_json(self, kind: str, key: str, value: Any, status: int = 200) -> None:
        text = orjson.dumps(value)
        self._responses[key] = {"status": status, "json": orjson.Fragment(text)}
        self._sizes.add(kind, len(text))

    def _put(self, kind: str, key: str, answer: Answer) -> Any:
        """Store ``answer``: JSON as JSON (None returned unless it is a 200), anything else
        as base64 with its media type."""
        if answer.media_type == "application/json":
            self._responses[key] = {"status": answer.status, "json": orjson.Fragment(answer.body)}
            self._sizes.add(kind, len(answer.body))
            return orjson.loads(answer.body) if answer.status == 200 else None
        encoded = base64.b64encode(answer.body).decode("ascii")
        self._responses[key] = {
            "status": answer.status,
            "type": answer.media_type,
            "base64": encoded,
        }
        self._sizes.add(kind, len(encoded))
        return None

    async def _json(self, kind: str, path: str, pairs: Iterable[tuple[str, str]] = ()) -> Any:
        listed = list(pairs)
        return self._put(kind, request_key(path, listed), await self._caller.get(path, listed))

    async def _listing_of(self, plugin: str) -> dict[str, Any]:
        """``plugin``'s tag listing ``{run: {tag: info}}`` (or ``{run: [tag]}``), the tags
        ``--tags`` leaves out removed, stored; it enables the plugin's tab when not empty."""
        path = f"/data/plugin/{plugin}/tags"
        answer = await self._caller.get(path)
        listing = orjson.loads(answer.body) if answer.status == 200 else {}
        kept: dict[str, Any] = {}
        for run, tags in listing.items():
            if isinstance(tags, list):
                kept[run] = [tag for tag in tags if self._tags(tag)]
            else:
                kept[run] = {tag: info for tag, info in tags.items() if self._tags(tag)}
        self._put_json(plugin, request_key(path), kept)
        self._enabled[plugin] = any(kept.values())
        return kept

    # ---- the dashboards ----------------------------------------------------------------

    async def _health(self) -> None:
        answer = await self._caller.get("/data/health")
        if answer.status != 200:
            self._put("health", request_key("/data/health"), answer)
            return
        from lumiboard.store.health import LEVELS

        report = orjson.loads(answer.body)
        flags = [flag for flag in report["flags"] if self._tags(flag["tag"])]
        counts: dict[str, dict[str, int]] = {}
        for flag in flags:
            counts.setdefault(flag["run"], dict.fromkeys(LEVELS, 0))[flag["level"]] += 1
        report.update(flags=flags, counts=counts)
        self._put_json("health", request_key("/data/health"), report)

    async def _scalar_series(self) -> None:
        listing = await self._listing_of("scalars")
        for run, tags in listing.items():
            for tag in tags:
                columns = await asyncio.to_thread(self._provider.read_scalars, run, tag)
                entry = {
                    "step": encode_column(columns.step, integers=True),
                    "wall_time": encode_column(columns.wall_time),
                    "value": encode_column(columns.value),
                }
                self._scalars.setdefault(tag, {})[run] = entry
                self._sizes.add("scalars", sum(len(encoded) for _, encoded in entry.values()))

    async def _blobs(self, plugin: str, route: str, blob_route: str) -> None:
        listing = await self._listing_of(plugin)
        for run, tags in listing.items():
            for tag, info in tags.items():
                for sample in range(int(info.get("samples", 0))):
                    pairs = [("run", run), ("tag", tag), ("sample", str(sample))]
                    entries = await self._json(plugin, f"/data/plugin/{plugin}/{route}", pairs)
                    for entry in entries or []:
                        blob_path = f"/data/plugin/{plugin}/{blob_route}"
                        blob_pairs = parse_qsl(str(entry["query"]), keep_blank_values=True)
                        await self._json(plugin, blob_path, blob_pairs)

    async def _histograms(self) -> None:
        listing = await self._listing_of("histograms")
        for run, tags in listing.items():
            for tag in tags:
                # One answer per run: the app asks for several runs at once, and the snapshot
                # answers from these (snapshot/fetch.ts).
                pairs = [("tag", tag), ("runs", run), ("samples", str(HISTOGRAM_SAMPLES))]
                await self._json("histograms", "/data/plugin/histograms/multirun", pairs)

    async def _distributions(self) -> None:
        listing = await self._listing_of("distributions")
        for run, tags in listing.items():
            for tag in tags:
                pairs = [("run", run), ("tag", tag)]
                await self._json("distributions", "/data/plugin/distributions/distributions", pairs)

    async def _text(self) -> None:
        listing = await self._listing_of("text")
        for run, tags in listing.items():
            for tag in tags:
                pairs = [("run", run), ("tag", tag)]
                await self._json("text", "/data/plugin/text/text", pairs)
                await self._json("text", "/data/plugin/text/text", [*pairs, ("markdown", "false")])

    async def _listing(self) -> None:
        """The plugins listing: the snapshot's dashboards enabled when their selected data is
        not empty, every other one disabled (its tab says it is not in this snapshot)."""
        answer = await self._caller.get("/data/plugins_listing")
        listing = orjson.loads(answer.body)
        for name, entry in listing.items():
            if name in self._enabled:
                entry["enabled"] = self._enabled[name]
            elif name not in DASHBOARDS:
                entry["enabled"] = False
            entry["disable_reload"] = True
        self._put_json("core", request_key("/data/plugins_listing"), listing)
