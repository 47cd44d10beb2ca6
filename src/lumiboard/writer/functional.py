"""TF2-style summaries without TensorFlow: ``lumiboard.summary``.

Mirrors ``tf.summary``: a writer made by :func:`create_file_writer` becomes the
default inside ``with writer.as_default(step=...)``, and the ops (:func:`scalar`,
:func:`histogram`, :func:`image`, :func:`audio`, :func:`text`) write to it.
Each op returns True when it wrote, False when no default writer is set, and
raises ``ValueError`` when no step is given or set. The defaults and the step
are per thread, as in TensorFlow. ``trace_on`` / ``trace_export`` live in
``lumiboard.writer.tracing``.

Example::

    from lumiboard import summary

    writer = summary.create_file_writer("logs/run1")
    with writer.as_default(step=0):
        for step in range(100):
            summary.scalar("loss", 1.0 / (step + 1), step=step)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from lumiboard.format.arrays import to_float, to_numpy
from lumiboard.format.proto import event_pb2, summary_pb2
from lumiboard.format.values import check_tag, tensor_value
from lumiboard.plugins.histograms import summary as histograms
from lumiboard.plugins.scalars import summary as scalars
from lumiboard.plugins.text import summary as text_summary
from lumiboard.writer import fs
from lumiboard.writer.event_file import EventFileWriter
from lumiboard.writer.ranks import detect_rank, rank_log_dir
from lumiboard.writer.steps import to_step, to_walltime

Value = summary_pb2.Summary.Value


class _State(threading.local):
    # threading.local runs __init__ once per thread: each thread starts with
    # no default writer and no step, as in TensorFlow.
    def __init__(self) -> None:
        self.writer: SummaryFileWriter | None = None
        self.step: int | None = None


_state = _State()

_NO_STEP = "no step given: pass step= or call set_step() / as_default(step=)"


class SummaryFileWriter:
    """A TF2-style summary writer; make one with :func:`create_file_writer`."""

    def __init__(
        self,
        logdir: str | os.PathLike[str],
        max_queue: int | None = None,
        flush_millis: int | None = None,
        filename_suffix: str | None = None,
    ) -> None:
        if flush_millis is not None and not flush_millis > 0:
            raise ValueError(f"flush_millis must be positive, got {flush_millis!r}")
        if max_queue is not None and max_queue < 0:
            raise ValueError(f"max_queue must be non-negative, got {max_queue!r}")
        self._event_writer: EventFileWriter | None = EventFileWriter(
            logdir,
            max_queue=10 if max_queue is None else max_queue,
            flush_secs=2.0 if flush_millis is None else flush_millis / 1000.0,
            filename_suffix=".v2" if filename_suffix is None else filename_suffix,
        )

    @property
    def logdir(self) -> str:
        """Where this writer writes."""
        return self._writer().get_logdir()

    def _writer(self) -> EventFileWriter:
        if self._event_writer is None:
            raise RuntimeError("this summary writer is closed")
        return self._event_writer

    @contextmanager
    def as_default(self, step: int | None = None) -> Iterator[SummaryFileWriter]:
        """Make this the default writer (and ``step`` the default step) inside a ``with``.

        On exit the previous default writer (and, if ``step`` was given, the
        previous step) comes back, and this writer is flushed.

        Example::

            with writer.as_default(step=10):
                summary.scalar("loss", 0.5)   # written at step 10
        """
        step_number = None if step is None else to_step(step, "step")
        previous_writer, previous_step = _state.writer, _state.step
        _state.writer = self
        if step_number is not None:
            _state.step = step_number
        try:
            yield self
        finally:
            _state.writer = previous_writer
            if step_number is not None:
                _state.step = previous_step
            self.flush()

    def set_as_default(self, step: int | None = None) -> None:
        """Make this the default writer (and ``step`` the default step) of this thread."""
        if step is not None:
            _state.step = to_step(step, "step")
        _state.writer = self

    def init(self) -> None:
        """Nothing to do: the file is created with the writer (kept for tf.summary parity)."""

    def flush(self) -> None:
        """Make everything written so far visible to readers."""
        if self._event_writer is not None:
            self._event_writer.flush()

    def close(self) -> None:
        """Flush and close; the writer cannot be used afterwards."""
        if self._event_writer is not None:
            self._event_writer.close()
            self._event_writer = None

    def write_values(self, values: Sequence[Value], step: Any, walltime: Any = None) -> None:
        """Write prepared ``Summary.Value`` protos as one event (low-level)."""
        event = event_pb2.Event(
            wall_time=to_walltime(walltime),
            step=to_step(step, "step"),
            summary=summary_pb2.Summary(value=values),
        )
        self._writer().add_serialized(event.SerializeToString())

    def write_event(self, event: event_pb2.Event) -> None:
        """Write a whole ``Event`` (graphs, run metadata)."""
        self._writer().add_event(event)


class _MutedFileWriter(SummaryFileWriter):
    # ranks="zero" on a rank other than 0: like tf.summary.create_noop_writer(),
    # it writes nothing and the ops return False without encoding anything.
    def __init__(self, logdir: str) -> None:
        self._event_writer = None
        self._muted_logdir = logdir

    @property
    def logdir(self) -> str:
        return self._muted_logdir

    def write_values(self, values: Sequence[Value], step: Any, walltime: Any = None) -> None:
        pass

    def write_event(self, event: event_pb2.Event) -> None:
        pass


def create_file_writer(
    logdir: str | os.PathLike[str],
    max_queue: int | None = None,
    flush_millis: int | None = None,
    filename_suffix: str | None = None,
    name: str | None = None,
    *,
    ranks: str = "all",
) -> SummaryFileWriter:
    """Create a writer for ``logdir`` (a path or an fsspec URL).

    ``max_queue`` (default 10) events wait in memory before the background
    thread writes them; ``flush_millis`` (default 2,000; TensorFlow: 120,000)
    bounds how long a written event stays invisible to readers.
    ``filename_suffix`` defaults to ``".v2"``, as TensorFlow names its files.
    ``name`` is accepted for ``tf.summary`` parity and unused.
    ``ranks`` says which processes of a distributed job write, as in
    ``SummaryWriter``: ``"all"`` (default), ``"zero"`` (only rank 0; elsewhere
    the writer writes nothing and the ops return False) or ``"separate"``
    (``<logdir>/rank_<k>``).

    Example::

        writer = summary.create_file_writer("logs/run1", flush_millis=10_000)
        with writer.as_default(step=0):
            summary.scalar("loss", 0.25)
    """
    del name
    if logdir is None:
        raise ValueError("logdir cannot be None")
    own_dir = rank_log_dir(fs.normalize(logdir), ranks, detect_rank())
    if own_dir is None:
        return _MutedFileWriter(fs.normalize(logdir))
    return SummaryFileWriter(own_dir, max_queue, flush_millis, filename_suffix)


def get_default_writer() -> SummaryFileWriter | None:
    """The default writer of this thread, or None."""
    return _state.writer


def set_step(step: int | None) -> None:
    """Set the default step of this thread (``tf.summary.experimental.set_step``)."""
    _state.step = None if step is None else to_step(step, "step")


def get_step() -> int | None:
    """The default step of this thread, or None."""
    return _state.step


def flush(writer: SummaryFileWriter | None = None) -> None:
    """Flush ``writer`` or, by default, the default writer."""
    target = writer if writer is not None else _state.writer
    if target is not None:
        target.flush()


def _emit(make_values: Callable[[], Sequence[Value]], step: Any) -> bool:
    # As TensorFlow's lazy summary tensors: with no default writer nothing is
    # encoded (no PNG, no WAV) and False comes back; the step is checked before
    # the data so that a missing step is reported first.
    writer = _state.writer
    if writer is None or isinstance(writer, _MutedFileWriter):
        return False
    resolved = step if step is not None else _state.step
    if resolved is None:
        raise ValueError(_NO_STEP)
    writer.write_values(make_values(), to_step(resolved, "step"))
    return True


def scalar(name: str, data: Any, step: int | None = None, description: str | None = None) -> bool:
    """Write a scalar as a float32 rank-0 tensor (plugin ``scalars``).

    Returns True when written, False when there is no default writer.

    Example::

        summary.scalar("loss", loss.item(), step=step)
    """
    check_tag(name, "name")
    return _emit(
        lambda: [
            scalars.tensor_scalar_value(name, to_float(data, "data"), description=description)
        ],
        step,
    )


def histogram(
    name: str,
    data: Any,
    step: int | None = None,
    buckets: int | None = None,
    description: str | None = None,
) -> bool:
    """Write a histogram of ``data`` in ``buckets`` (default 30) equal-width buckets.

    The tensor is float64 ``[buckets, 3]`` of (left edge, right edge, count),
    bucketed as ``tf.summary.histogram``; non-finite values are left out.

    Example::

        summary.histogram("weights", model.fc.weight, step=step, buckets=20)
    """
    check_tag(name, "name")
    return _emit(
        lambda: [
            histograms.tensor_histogram_value(name, to_numpy(data, "data"), buckets, description)
        ],
        step,
    )


def image(
    name: str,
    data: Any,
    step: int | None = None,
    max_outputs: int = 3,
    description: str | None = None,
) -> bool:
    """Write up to ``max_outputs`` images from ``data`` ``[k, h, w, c]`` (c in 1-4).

    Floats are read in [0, 1], integers over their dtype's range; each image
    is stored as a PNG in a string tensor ``[width, height, png...]``.

    Example::

        summary.image("inputs", batch_nhwc, step=step, max_outputs=4)
    """
    from lumiboard.plugins.images import summary as images

    check_tag(name, "name")
    return _emit(
        lambda: [images.image_tensor_value(name, to_numpy(data, "data"), max_outputs, description)],
        step,
    )


def audio(
    name: str,
    data: Any,
    sample_rate: int,
    step: int | None = None,
    max_outputs: int = 3,
    encoding: str | None = None,
    description: str | None = None,
) -> bool:
    """Write up to ``max_outputs`` clips from ``data`` ``[k, t, c]`` in [-1, 1] as WAV.

    ``encoding`` may only be ``"wav"`` (the default), as in TensorFlow.

    Example::

        summary.audio("speech", clips[..., None], sample_rate=16_000, step=step)
    """
    from lumiboard.plugins.audio import summary as audio_summary

    check_tag(name, "name")
    if encoding not in (None, "wav"):
        raise ValueError(f"encoding must be 'wav' (or None), got {encoding!r}")

    def make_values() -> list[Value]:
        return [
            audio_summary.audio_tensor_value(
                name, to_numpy(data, "data"), sample_rate, max_outputs, encoding, description
            )
        ]

    return _emit(make_values, step)


def text(name: str, data: Any, step: int | None = None, description: str | None = None) -> bool:
    """Write a string (markdown) or a tensor of strings (a 2-D one is shown as a table).

    Example::

        summary.text("config", "lr: **0.01**", step=0)
    """
    check_tag(name, "name")
    # Lists go in as objects so that a non-string item is refused, as
    # TensorBoard refuses it, rather than turned into a string by numpy.
    array = np.array(data, dtype=object) if isinstance(data, (list, tuple)) else data
    return _emit(lambda: [text_summary.text_value(name, array, description)], step)


def write(
    tag: str,
    tensor: Any,
    step: int | None = None,
    metadata: Any = None,
) -> bool:
    """Write a raw tensor with optional metadata (``tf.summary.write``).

    ``tensor`` is anything array-like, a string or an array of strings, or a
    callable returning one (called only when there is a default writer).
    ``metadata`` is a ``SummaryMetadata`` (ours or TensorBoard's) or its
    serialized bytes.

    Example::

        summary.write("raw/counts", np.arange(4), step=0)
    """
    check_tag(tag)
    resolved_metadata = _to_metadata(metadata)

    def make_values() -> list[Value]:
        data = tensor() if callable(tensor) else tensor
        return [tensor_value(tag, _raw_array(data), resolved_metadata)]

    return _emit(make_values, step)


def _to_metadata(metadata: Any) -> summary_pb2.SummaryMetadata:
    if metadata is None:
        return summary_pb2.SummaryMetadata()
    if isinstance(metadata, summary_pb2.SummaryMetadata):
        return metadata
    if isinstance(metadata, bytes):
        data = metadata
    elif type(metadata).__name__ == "SummaryMetadata" and hasattr(metadata, "SerializeToString"):
        # TensorBoard's own class (tensorboard.compat.proto): same wire format.
        data = metadata.SerializeToString()
    else:
        raise TypeError(
            f"metadata must be a SummaryMetadata or bytes, not {type(metadata).__name__}"
        )
    parsed = summary_pb2.SummaryMetadata()
    parsed.ParseFromString(data)
    return parsed


def _raw_array(data: Any) -> np.ndarray:
    if isinstance(data, (str, bytes)):
        return np.asarray(data, dtype=object)
    if isinstance(data, (list, tuple, np.ndarray)):
        array = np.asarray(data)
        if array.dtype.kind in "USO":
            return array  # encode_tensor writes str/bytes items as DT_STRING
    return to_numpy(data, "tensor")
