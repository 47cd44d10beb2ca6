"""The query interface over a loaded experiment, used by the server and ``lumiboard.read``.

Everything a dashboard or a script asks for goes through :class:`Provider`:
runs, tags by plugin, scalar columns (whole, or reduced for a chart without
hiding spikes), tensor series, blob sequences and the blobs themselves, read
from the event files on demand.
"""

from __future__ import annotations

import os
import posixpath
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from google.protobuf.message import DecodeError

from lumiboard.format.proto import event_pb2
from lumiboard.format.wire import WireError, field_bytes
from lumiboard.plugins import base
from lumiboard.plugins.base import DataClass
from lumiboard.reader.names import safe_text
from lumiboard.reader.tail import read_range
from lumiboard.store.budget import note_read
from lumiboard.store.columns import ScalarSeries
from lumiboard.store.downsample import Reduced, XAxis, reduce_series
from lumiboard.store.runs import (
    BlobPoint,
    BlobRef,
    RunData,
    TagInfo,
    TensorPoint,
    listing_stamp,
)

#: Drawn once per process (again in a forked child, whose versions would repeat the parent's):
#: a scalar stamp from another process, or a server that restarted, never matches.
_PROCESS = [secrets.token_hex(4)]


def _redraw_process_token() -> None:
    _PROCESS[0] = secrets.token_hex(4)


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_redraw_process_token)


class NotFoundError(LookupError):
    """A run, tag or blob that does not exist; the message names it."""


@dataclass(frozen=True)
class ScalarColumns:
    """Every point of a scalar series, sorted by step (read-only arrays)."""

    step: np.ndarray
    wall_time: np.ndarray
    value: np.ndarray


class Provider:
    """Read access to runs held in memory (``runs`` is shared with the loader)."""

    def __init__(self, runs: Mapping[str, RunData]) -> None:
        self._runs = runs

    # ---- runs and tags ------------------------------------------------------

    def list_runs(self) -> list[str]:
        """Run names ordered as TensorBoard does: by first event time, then name."""
        runs = list(self._runs.values())
        return [
            run.name
            for run in sorted(
                runs, key=lambda r: (r.start_time is None, r.start_time or 0.0, r.name)
            )
        ]

    def listing_key(self) -> tuple[int, int]:
        """Changes when the runs, their tags or their start times may have changed
        (:func:`lumiboard.store.runs.listing_stamp`, and the number of runs for a run
        that left): a tag listing cached under a key is current while the key is."""
        return listing_stamp(), len(self._runs)

    def run(self, name: str) -> RunData:
        """The data of run ``name``; :class:`NotFoundError` if there is none."""
        run = self._runs.get(name)
        if run is None:
            raise NotFoundError(f"no run named {name!r}")
        return run

    def list_tags(
        self, plugin: str | None = None, runs: list[str] | None = None
    ) -> dict[str, dict[str, TagInfo]]:
        """{run: {tag: TagInfo}} for the tags that have data, optionally of one plugin."""
        result: dict[str, dict[str, TagInfo]] = {}
        for name in runs if runs is not None else self.list_runs():
            run = self._runs.get(name) if runs is None else self.run(name)
            if run is None:
                continue  # dropped by a reload since it was listed
            with run.lock:
                tags = {
                    tag: info
                    for tag, info in run.tags.items()
                    if (plugin is None or info.plugin_name == plugin) and _has_data(run, tag, info)
                }
            if tags:
                result[name] = tags
        return result

    def tag_info(self, run: str, tag: str) -> TagInfo:
        """The metadata of one tag; :class:`NotFoundError` naming what is missing."""
        data = self.run(run)
        info = data.tags.get(tag)
        if info is None:
            raise NotFoundError(f"run {run!r} has no tag {tag!r}")
        return info

    # ---- scalars ------------------------------------------------------------

    def _scalar_series(self, run: str, tag: str) -> ScalarSeries:
        series = self.run(run).scalars.get(tag)
        if series is None:
            raise NotFoundError(f"run {run!r} has no scalar tag {tag!r}")
        return series

    def read_scalars(self, run: str, tag: str) -> ScalarColumns:
        """Every point of a scalar series, never sampled."""
        series = self._scalar_series(run, tag)
        note_read(series)  # the memory budget spills the least recently read first
        step, wall_time, value = series.columns()
        return ScalarColumns(step, wall_time, value)

    def scalar_stamp(self, run: str, tag: str) -> str:
        """A short string naming the points a scalar series holds now: a later call gives the
        same string only if the points are the same (in this process or another: the string
        carries a number drawn once per process). Clients send it back to skip unchanged runs."""
        return f"{_PROCESS[0]}.{self._scalar_series(run, tag).version}"

    def read_scalars_reduced(
        self,
        run: str,
        tag: str,
        buckets: int,
        step_range: tuple[int | None, int | None] | None = None,
        x: XAxis = "step",
    ) -> Reduced:
        """A series reduced for a chart ``buckets`` pixels wide: every bucket's
        min, max, first and last point kept, so no spike is hidden."""
        columns = self.read_scalars(run, tag)
        return reduce_series(columns.step, columns.wall_time, columns.value, buckets, step_range, x)

    # ---- tensors and blobs ------------------------------------------------------

    def read_tensors(self, run: str, tag: str) -> list[TensorPoint]:
        """The kept values of a tensor series (histograms, text, PR curves ...)."""
        data = self.run(run)
        with data.lock:
            reservoir = data.tensors.get(tag)
            if reservoir is None:
                raise NotFoundError(f"run {run!r} has no tensor tag {tag!r}")
            return list(reservoir.items)

    def read_blob_sequence(self, run: str, tag: str) -> list[BlobPoint]:
        """The kept steps of a blob sequence (images, audio, graphs): references only."""
        data = self.run(run)
        with data.lock:
            reservoir = data.blobs.get(tag)
            if reservoir is None:
                raise NotFoundError(f"run {run!r} has no blob tag {tag!r}")
            return list(reservoir.items)

    def read_blob(self, ref: BlobRef, index: int = 0) -> bytes:
        """Blob ``index`` of the value ``ref`` points at, read from its event file now.

        :class:`NotFoundError` when the file no longer holds it: deleted, cut shorter,
        unreadable, or other bytes there (the run is being rewritten; the next reload
        drops or re-reads it).
        """
        gone = NotFoundError(f"the event file {_file_name(ref.path)} no longer holds this blob")
        try:
            payload = read_range(ref.path, ref.offset, ref.offset + ref.length)
        except OSError:
            raise gone from None
        if len(payload) != ref.length:
            raise gone
        try:
            event = event_pb2.Event.FromString(payload)
        except DecodeError:
            raise gone from None
        if ref.index < 0:
            what = event.WhichOneof("what")
            if what == "tagged_run_metadata":
                return bytes(event.tagged_run_metadata.run_metadata)
            if what == "graph_def":
                return bytes(event.graph_def)
            if what == "meta_graph_def":
                return _graph_in_meta_graph(event.meta_graph_def)
            raise NotFoundError("the referenced event holds no blob")
        if ref.index >= len(event.summary.value):
            raise gone
        value = event.summary.value[ref.index]
        plugin = base.plugin_data(
            value.metadata.plugin_data.plugin_name
        ) or base.legacy_owners().get(value.WhichOneof("value") or "")
        if plugin is None or plugin.read_blob is None:
            raise NotFoundError(f"tag {value.tag!r} holds no blobs")
        if plugin.migrate is not None:
            value = plugin.migrate(value) or value
        count = plugin.blob_count(value.tensor) if plugin.blob_count else 1
        if not 0 <= index < count:
            raise NotFoundError(f"sample {index} out of range (this step has {count})")
        try:
            return plugin.read_blob(value.tensor, index)
        except (ValueError, IndexError):  # not the value that was read there
            raise gone from None

    def iter_scalars(self) -> Iterator[tuple[str, str, ScalarColumns]]:
        """(run, tag, columns) for every scalar series."""
        for name in self.list_runs():
            run = self._runs.get(name)
            if run is None:
                continue  # dropped by a reload since it was listed
            for tag in list(run.scalars):
                yield name, tag, self.read_scalars(name, tag)


def _file_name(path: str) -> str:
    """An event file's base name as text for a message (JSON cannot carry lone surrogates)."""
    return safe_text(posixpath.basename(path.replace("\\", "/")))


def _has_data(run: RunData, tag: str, info: TagInfo) -> bool:
    if info.data_class is DataClass.SCALAR:
        series = run.scalars.get(tag)
        return series is not None and len(series) > 0
    if info.data_class is DataClass.TENSOR:
        return bool(run.tensors.get(tag) and run.tensors[tag].items)
    return bool(run.blobs.get(tag) and run.blobs[tag].items)


def _graph_in_meta_graph(meta_graph: bytes) -> bytes:
    """``MetaGraphDef.graph_def`` (field 2) read off the protobuf wire: the
    GraphDef a TF1 meta graph carries, as TensorBoard's ``Graph()`` takes it."""
    try:
        return field_bytes(meta_graph, 2)
    except WireError:
        raise NotFoundError("the referenced meta graph is malformed") from None
