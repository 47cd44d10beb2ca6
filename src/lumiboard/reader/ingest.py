"""Event files -> the store, for one run: scan, decode through the plugins, purge.

The scanner (``scan.py``) hands over scalar points as columns; every other
event is decoded here with protobuf and routed by its tag's plugin, whose
``data.py`` declares the data class and upgrades legacy forms. Bad records are
skipped, counted per run and tag, and logged once each.

A record costs at most itself: any exception while applying one (damage a
decoder refuses, a ``MemoryError``, a decoder's bug) skips that record or
value, counted and logged once per run and tag, and reading goes on. A file's
offset moves past every record as it is applied, so a pass never adds a
record twice; a failure outside any record (the scanner, say) leaves the file
where it was, for the next pass, and the run's other files are read meanwhile.
Tensors are decoded within the bytes they hold (``format/tensors.py``).

Purges follow TensorBoard's Python loader (``plugin_event_accumulator``): in
a run with ``file_version >= 2`` a ``SessionLog.START`` at step s drops every
point with step >= s, except the run's first START (a session start, not a
restart), whichever file it is in: a TF1 job restarted once, whose only
START opens its second file, keeps every point; without a version, a summary
event whose step is lower than the previous summary event's drops its own
tags' points with step >= its step.

Deliberate differences from TensorBoard:

- a writer's ``purge_step`` purges even when its START is the run's first
  (torch, tensorboardX and our writer write a second file version at the
  purge step right before that START, which TF1 never does): TensorBoard's
  Python loader keeps those orphans, unless an earlier START was written;
- every event file of a run is tailed, not only the newest;
- a record with a bad data checksum, or one that does not decode, is skipped
  and the file read on (TensorBoard stops reading the file); after a bad
  length checksum, reading resyncs at the next whole frame (``tail.py``),
  where TensorBoard's loaders stop; a record over ``tail.MAX_RECORD_BYTES``
  is skipped unread (TensorBoard reads any size);
- a scalar series is served sorted by step (stable), not in arrival order;
- the graph inside a ``MetaGraphDef`` is the run's graph when no ``GraphDef``
  is written (TensorBoard's ``Graph()`` reads it; its graphs dashboard not);
- values of a plugin with no reader here (no ``data.py``) are not kept.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError

from lumiboard.alerts import KEPT_ALERTS, is_alert_description
from lumiboard.format import tfrecord
from lumiboard.format.proto import event_pb2, summary_pb2
from lumiboard.format.tensors import decode_tensor
from lumiboard.format.tfrecord import HEADER_SIZE
from lumiboard.plugins import base
from lumiboard.plugins.base import DataClass, PluginData
from lumiboard.plugins.graphs import data as graphs
from lumiboard.plugins.scalars.data import decode_scalar
from lumiboard.reader import scan as scanner
from lumiboard.reader import tail
from lumiboard.reader.tail import FileState, read_range
from lumiboard.store import columns
from lumiboard.store.columns import ScalarSeries
from lumiboard.store.reservoir import Reservoir
from lumiboard.store.runs import BlobPoint, BlobRef, RunData, TagInfo, TensorPoint

#: A load pass that read this many bytes hands the memory its raw chunks
#: freed back to the system (:func:`_trim_heap`).
_TRIM_BYTES = 8 << 20


def _trim_heap() -> None:
    """Return the free pages of glibc's heaps to the system (a few ms for 100 MB).

    A load allocates and frees raw chunks (24 bytes a point) while it encodes
    them (~5-8 bytes a point): freed small blocks stay in the heaps, between
    live ones, and at 10M points would add a third to the resident memory.
    Elsewhere than glibc there is no malloc_trim, and nothing to do.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def trim_after(read: int) -> None:
    """Trim the heaps (:func:`_trim_heap`) after loads that read ``read`` bytes in all,
    when that is :data:`_TRIM_BYTES` or more: a pass of many runs trims once at its end
    (:attr:`RunLoader.trim` off), not after each run, whose next read would fault the pages
    just handed back in again (10M points: a fifth of the pass's CPU time)."""
    if read >= _TRIM_BYTES:
        _trim_heap()


def encode_short_series(small: list[ScalarSeries]) -> None:
    """Encode the short series many runs' loads left raw (``RunLoader.load(files, small)``)
    in one batch, then hand the memory their raw chunks held back to the system."""
    points = sum(len(series) for series in small)
    columns.consolidate_many(small)
    if points * 24 >= _TRIM_BYTES:
        _trim_heap()


@functools.cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):  # not glibc; Windows: no CDLL(None)
        return None


logger = logging.getLogger(__name__)

#: The tag under which a run's GraphDef is kept (TensorBoard's RUN_GRAPH_NAME).
RUN_GRAPH_TAG = "__run_graph__"


class RunLoader:
    """Reads the event files of one run into a :class:`RunData`, incrementally."""

    def __init__(self, run: RunData, samples: dict[str, int | None] | None = None) -> None:
        self.run = run
        self.files: dict[str, FileState] = {}
        #: tag -> scanner.SCALAR / scanner.OTHER, shared with the scanner.
        self.tag_kinds: dict[str, int] = {}
        self.file_version: float | None = None
        #: The step of the last summary event, for the purge of unversioned files.
        self.most_recent_step = -1
        #: Whether a SessionLog.START was read (the first one is no restart).
        self.seen_start = False
        #: (path, step, payload offset) where a ``purge_step`` START would be.
        self._purge_mark: tuple[str, int, int] | None = None
        self._samples = samples or {}
        self._logged: set[tuple[str, str]] = set()
        #: Whether a load that read :data:`_TRIM_BYTES` trims the heaps itself (else its
        #: caller does, once for many loads: :func:`trim_after`).
        self.trim = True

    # ---- files ------------------------------------------------------------

    def load(
        self, files: Sequence[tuple[str, int]], small: list[ScalarSeries] | None = None
    ) -> int:
        """Read what is new in ``files`` ((path, size), in order); return bytes read.

        With ``small``, the run's short new series are added to it unencoded, for the
        caller to encode with many runs' at once (:func:`columns.consolidate_many`).
        """
        total = 0
        for path, size in files:
            state = self.files.get(path)
            if state is None:
                state = self.files[path] = FileState(path)
            if size < state.offset:
                # Shrunk: the file was replaced (e.g. rsync). Start the run over.
                self._reset()
                return self.load(files, small)
            state.size = size
            if size == state.offset:
                continue
            try:
                total += self._read_file(state)
            except OSError as error:
                # The file vanished or cannot be read now: the next pass retries.
                # A failed read() names no file (only open() does): name it, so
                # the caller skips this file (counted, logged once), not the run.
                if error.filename is None:
                    error.filename = state.path
                raise
            except Exception as error:
                # Not a record's fault (each is guarded in _apply): what was
                # applied moved the offset with it, so the next pass retries
                # from there; meanwhile the run's other files are read.
                self._log_once(state.path, f"reading {state.path} failed, retried next pass", error)
        if total:
            # Encode each series' chunks here, on the loading thread: encoded
            # later by a query's thread, the freed chunks would stay in this
            # thread's malloc arena and double the resident memory per point.
            # Nothing is decoded until a query asks; a run's short series are encoded
            # together. A spilled series (memory budget) got no new points.
            try:
                columns.consolidate_many(
                    [series for series in list(self.run.scalars.values()) if not series.spilled],
                    small,
                )
            except MemoryError as error:  # a series merges unchanged or not at all: later
                self._log_once("", "merging scalar chunks failed", error)
            if self.trim:
                trim_after(total)
        return total

    def _reset(self) -> None:
        with self.run.lock:
            name = self.run.name
            fresh = RunData(name)
            for key in ("tags", "scalars", "tensors", "blobs", "start_time", "skipped"):
                setattr(self.run, key, getattr(fresh, key))
        self.files.clear()
        self.tag_kinds.clear()
        self.file_version = None
        self.most_recent_step = -1
        self.seen_start = False
        self._purge_mark = None

    def _read_file(self, state: FileState) -> int:
        start = state.offset
        while state.offset < state.size:
            data = read_range(state.path, state.offset, tail.window_end(state))
            if self._read_records(state, data):
                continue
            whole, skips = tail.follow(state, data)  # a big record, damage or a growing tail
            for offset, reason in skips:
                self._skip("", f"{reason} at byte {offset} of {state.path}")
            if whole is None and skips:
                continue
            if whole is None or not self._read_records(state, whole):
                break  # a record still being written: retry at the next reload
        return state.offset - start

    def _read_records(self, state: FileState, data: bytes) -> int:
        """Apply the whole records at the start of ``data`` (the file from
        ``state.offset`` on), moving the offset past them; return bytes used."""
        view = memoryview(data)
        used = 0
        # A file's first record is its file version: read it alone, and the
        # rest knowing it.
        first = state.offset == 0
        disordered = isolate = False
        while used < len(data):
            if first:
                first = False
                size = self._leading_version(state, view)
                if size:
                    state.offset += size
                    used += size
                    continue
                first = True
            one = first or isolate or (disordered and not self._versioned)
            end = used + _record_size(view[used:]) if one else len(data)
            try:
                result = scanner.scan(view[used:end], state.offset, self.tag_kinds)
            except Exception as error:
                # Nothing is applied yet. Find the record the scanner fails
                # on by scanning one record at a time, and skip that one.
                if not one:
                    isolate = True
                    continue
                skipped = self._skip_unscannable(state, view[used:end], error)
                used += skipped
                if not skipped:
                    break
                continue
            if not (one or self._versioned or self._in_order(result)):
                # Without a file version, TensorBoard's purge depends on the
                # order of events across tags, which a scan's columns do not
                # keep: read the rest of this chunk one record at a time.
                disordered = True
                continue
            first = False
            # Whatever _apply adds, the offset moves past it: a pass never
            # reads (and adds) the same record twice.
            self._apply(state, view[used:end], result)
            state.offset += result.consumed
            used += result.consumed
            if not result.consumed:
                break
        return used

    def _leading_version(self, state: FileState, view: memoryview) -> int:
        """Apply a file's first record when it is a whole, intact ``file_version`` event
        (as writers begin every file), without a scanner call: a log directory of
        thousands of small files pays for one per file. Returns its size; 0 for
        anything else, which the scanner then reads alone, as any first record."""
        size = _frame_size(view)
        if size is None or size > len(view) or tfrecord.read_length(view) is None:
            return 0
        payload = view[HEADER_SIZE : size - 4]
        if tfrecord.masked_crc32c(payload) != int.from_bytes(view[size - 4 : size], "little"):
            return 0
        try:
            event = event_pb2.Event.FromString(payload)
        except DecodeError:
            return 0
        if event.WhichOneof("what") != "file_version":
            return 0
        with self.run.lock:
            self._apply_payload(state.path, state.offset + HEADER_SIZE, bytes(payload))
        return size

    @property
    def _versioned(self) -> bool:
        # TensorBoard's test: file_version >= 2 selects SessionLog purges.
        return self.file_version is not None and self.file_version >= 2

    def _in_order(self, result: scanner.Scan) -> bool:
        """Whether ``result`` holds only scalar events whose steps never go
        back, so that no purge can happen in it (its events need no order)."""
        steps = result.steps
        return not len(result.others) and (
            not len(steps)
            or bool(steps[0] >= self.most_recent_step and np.all(steps[1:] >= steps[:-1]))
        )

    # ---- applying a scan ----------------------------------------------------

    def _apply(self, state: FileState, data: memoryview, result: scanner.Scan) -> None:
        """Add what ``result`` found. Never raises: whatever goes wrong costs the
        record it happens in (counted and logged), so the caller always moves
        the file offset past what was added."""
        with self.run.lock:
            if len(result.values):
                try:
                    if not self._versioned:
                        # One event, or events in order (see _read_records).
                        self._check_order(int(result.steps[0]), result.tags)
                        self.most_recent_step = int(result.steps[-1])
                    self._add_scalars(result)
                except Exception as error:  # e.g. MemoryError: the points are lost, once
                    where = f"at byte {state.offset} of {state.path}"
                    self._skip("", f"scalar points {where}: {_describe(error)}")
            for offset, length in result.others.tolist():
                start = offset - state.offset
                try:
                    self._apply_payload(state.path, offset, bytes(data[start : start + length]))
                except Exception as error:
                    self._skip("", f"record at byte {offset} of {state.path}: {_describe(error)}")
            for offset, reason in result.damages:
                self._skip("", f"{reason} at byte {offset} of {state.path}")

    def _check_order(self, step: int, tags: Collection[str]) -> None:
        """TensorBoard's purge without a file version: a summary event whose
        step is lower than the previous summary event's (of any tag) drops
        the points of its own tags with step >= its step."""
        if step < self.most_recent_step:
            dropped = self.run.purge_from(step, tags)
            if dropped:
                logger.warning(
                    "run %s: %d points purged (step went back to %d)", self.run.name, dropped, step
                )
        self.most_recent_step = step

    def _restart(self, step: int, purge_step: bool) -> None:
        """A SessionLog.START at ``step``: drop every point with step >= ``step``.

        TensorBoard takes a run's first START for a session start, not a
        restart (TF1's Supervisor writes one, at times after the first events
        of its step; a TF1 job restarted once writes its only START in its
        second file), whichever file it is in. So do we, unless the START is a
        writer's ``purge_step`` (see :meth:`_apply_payload`): the user asked
        for that purge in so many words.
        """
        first = not self.seen_start
        self.seen_start = True
        if first and not purge_step:
            return
        dropped = self.run.purge_from(step)
        if dropped:
            logger.warning(
                "run %s: %d points purged by a restart at step %d", self.run.name, dropped, step
            )

    def _add_scalars(self, result: scanner.Scan) -> None:
        run = self.run
        if run.start_time is None:
            run.start_time = float(result.wall_times[0])
        ids = result.tag_ids
        if len(result.tags) == 1:
            self._scalar_tag(result.tags[0])
            run.scalars[result.tags[0]].append(result.steps, result.wall_times, result.values)
            return
        count = len(result.tags)
        if _round_robin(ids, count):
            # Every step writes each tag once, in the same order (add_scalar in a loop,
            # the usual case): tag t's points are every count-th from t, in arrival order.
            for index, tag in enumerate(result.tags):
                self._scalar_tag(tag)
                run.scalars[tag].append(
                    result.steps[index::count],
                    result.wall_times[index::count],
                    result.values[index::count],
                )
            return
        # Sorting int16 codes is ~2.5x faster than int32 (a run rarely has 32k tags).
        codes = ids.astype(np.int16) if len(result.tags) < 2**15 else ids
        order = np.argsort(codes, kind="stable")
        sorted_ids = ids[order]
        bounds = np.flatnonzero(np.diff(sorted_ids)) + 1
        for segment in np.split(order, bounds):
            tag = result.tags[int(ids[segment[0]])]
            self._scalar_tag(tag)
            run.scalars[tag].append(
                result.steps[segment], result.wall_times[segment], result.values[segment]
            )

    def _scalar_tag(self, tag: str) -> None:
        if tag not in self.run.tags:
            self.run.tags[tag] = TagInfo("scalars", DataClass.SCALAR, display_name=tag)
            self.tag_kinds[tag] = scanner.SCALAR
        if tag not in self.run.scalars:
            self.run.scalar_series(tag)

    def _apply_payload(self, path: str, offset: int, payload: bytes) -> None:
        try:
            event = event_pb2.Event.FromString(payload)
        except DecodeError:
            self._skip("", f"undecodable event at byte {offset} of {path}")
            return
        run = self.run
        if run.start_time is None and event.wall_time:
            run.start_time = event.wall_time
        what = event.WhichOneof("what")
        ref = BlobRef(path, offset, len(payload), -1)
        if what == "summary":
            if not self._versioned:
                self._check_order(event.step, {value.tag for value in event.summary.value})
            for index, value in enumerate(event.summary.value):
                self._apply_value(event, value, BlobRef(path, offset, len(payload), index))
        elif what == "file_version":
            self._set_file_version(event.file_version)
            if offset > HEADER_SIZE:
                # Not the file's own first record: torch's, tensorboardX's and
                # our writer's ``purge_step`` writes a second file version at
                # the purge step right before its START; remember where that
                # START would begin.
                self._purge_mark = (path, event.step, offset + len(payload) + 4 + HEADER_SIZE)
        elif what == "session_log":
            if event.session_log.status == event_pb2.SessionLog.START and self._versioned:
                self._restart(event.step, self._purge_mark == (path, event.step, offset))
        elif what in ("graph_def", "meta_graph_def"):
            if what == "meta_graph_def" and RUN_GRAPH_TAG in run.blobs:
                return  # a GraphDef wins over the graph inside a MetaGraphDef
            self._add_blob(RUN_GRAPH_TAG, "graphs", event, ref, 1)
        elif what == "tagged_run_metadata":
            tag = event.tagged_run_metadata.tag
            self._add_blob(tag, graphs.PLUGIN_NAME_TAGGED_RUN_METADATA, event, ref, 1)

    def _set_file_version(self, text: str) -> None:
        try:
            self.file_version = float(text.split(":", 1)[1])
        except (IndexError, ValueError):
            logger.warning("run %s: unknown file version %r", self.run.name, text)

    def _apply_value(
        self, event: event_pb2.Event, value: summary_pb2.Summary.Value, ref: BlobRef
    ) -> None:
        run = self.run
        tag = value.tag
        info = run.tags.get(tag)
        plugin = base.plugin_data(info.plugin_name) if info else self._first_sight(value)
        if plugin is None:
            return
        try:
            if plugin.migrate is not None:
                upgraded = plugin.migrate(value)
                if upgraded is None:
                    self._skip(tag, f"value of tag {tag!r} could not be read")
                    return
                value = upgraded
            if info is None:
                info = self._remember(tag, plugin, value.metadata)
            self._store(event, value, plugin, ref)
        except Exception as error:
            # Damage (TensorError...), or anything else a decoder raises
            # (MemoryError, RecursionError, a bug): this value is lost, once.
            self._skip(tag, f"value of tag {tag!r} at step {event.step}: {_describe(error)}")

    def _first_sight(self, value: summary_pb2.Summary.Value) -> PluginData | None:
        name = value.metadata.plugin_data.plugin_name
        if name:
            return base.plugin_data(name)
        return base.legacy_owners().get(value.WhichOneof("value") or "")

    def _remember(
        self, tag: str, plugin: PluginData, metadata: summary_pb2.SummaryMetadata
    ) -> TagInfo:
        info = TagInfo(
            # The name written, as TensorBoard lists it: graphs reads several
            # (``graph_keras_model``...) that its dashboard tells apart.
            metadata.plugin_data.plugin_name or plugin.name,
            plugin.data_class,
            display_name=metadata.display_name or tag,
            description=metadata.summary_description,
            plugin_content=metadata.plugin_data.content,
        )
        self.run.tags[tag] = info
        self.tag_kinds[tag] = (
            scanner.SCALAR if plugin.data_class is DataClass.SCALAR else scanner.OTHER
        )
        return info

    def _store(
        self,
        event: event_pb2.Event,
        value: summary_pb2.Summary.Value,
        plugin: PluginData,
        ref: BlobRef,
    ) -> None:
        tag, run = value.tag, self.run
        if plugin.data_class is DataClass.SCALAR:
            # One number (shape checked before anything is decoded); a string
            # is damage, never parsed (float(b"nan") would serve a NaN).
            number = np.asarray([decode_scalar(value.tensor)])
            run.scalar_series(tag).append(
                np.asarray([event.step]), np.asarray([event.wall_time]), number
            )
        elif plugin.data_class is DataClass.TENSOR:
            convert = plugin.to_array or decode_tensor
            point = TensorPoint(event.step, event.wall_time, convert(value.tensor))
            self._reservoir(run.tensors, tag, plugin).add(point)
        else:
            count = plugin.blob_count(value.tensor) if plugin.blob_count else 1
            self._reservoir(run.blobs, tag, plugin).add(
                BlobPoint(event.step, event.wall_time, ref, count)
            )

    def _add_blob(
        self, tag: str, plugin_name: str, event: event_pb2.Event, ref: BlobRef, count: int
    ) -> None:
        plugin = base.plugin_data(plugin_name)
        if plugin is None:  # pragma: no cover - graphs is always registered
            return
        if tag not in self.run.tags:
            self.run.tags[tag] = TagInfo(plugin_name, plugin.data_class, display_name=tag)
        self._reservoir(self.run.blobs, tag, plugin).add(
            BlobPoint(event.step, event.wall_time, ref, count)
        )

    def _reservoir(self, table: dict[str, Reservoir], tag: str, plugin: PluginData) -> Reservoir:  # type: ignore[type-arg]
        reservoir = table.get(tag)
        if reservoir is None:
            size = self._samples.get(plugin.name, plugin.default_samples)
            info = self.run.tags.get(tag)
            if size is not None and info is not None and is_alert_description(info.description):
                size = max(size, KEPT_ALERTS)  # alerts are events, not a sample of a series
            reservoir = table[tag] = Reservoir(size)
        return reservoir

    def _skip_unscannable(self, state: FileState, data: memoryview, error: Exception) -> int:
        """The scanner raised on the one record at the start of ``data``: skip it
        (counted) and return its size, or 0 when it is not whole yet (it is
        read again, whole, as any record still being written)."""
        size = _frame_size(data)
        if size is None or size > len(data):
            return 0
        where = f"at byte {state.offset} of {state.path}"
        self._skip("", f"record the scanner failed on {where}: {_describe(error)}")
        state.offset += size
        return size

    def _log_once(self, key: str, message: str, error: Exception) -> None:
        if (key, type(error).__name__) not in self._logged:
            self._logged.add((key, type(error).__name__))
            logger.warning("run %s: %s: %s", self.run.name, message, _describe(error))

    def _skip(self, tag: str, message: str) -> None:
        self.run.count_skip(tag)
        key = (tag, message.split(" at ", maxsplit=1)[0])
        if key not in self._logged:
            self._logged.add(key)
            logger.warning("run %s: skipped %s", self.run.name, message)


def _round_robin(ids: np.ndarray, count: int) -> bool:
    """Whether ``ids`` is ``0, 1, ..., count - 1`` over and over (whole rounds only)."""
    if len(ids) % count:
        return False
    rounds = ids.reshape(-1, count)
    return bool((rounds == np.arange(count, dtype=ids.dtype)).all())


def _describe(error: BaseException) -> str:
    """``error`` for a log line: its type, and its message when it has one."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _frame_size(data: memoryview) -> int | None:
    """The whole size (header, payload, data CRC) its header gives the record at the
    start of ``data``; None while the header is incomplete."""
    if len(data) < HEADER_SIZE:
        return None
    return HEADER_SIZE + int.from_bytes(data[:8], "little") + 4


def _record_size(data: memoryview) -> int:
    """Bytes of the record at the start of ``data``, at most all of them."""
    size = _frame_size(data)
    return len(data) if size is None else min(len(data), size)
