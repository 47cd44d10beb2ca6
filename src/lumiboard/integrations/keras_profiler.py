"""Profiling Keras batches with the backend's own profiler (``TensorBoard(profile_batch=...)``).

Each backend writes where lumiboard's Profile dashboard (and xprof, for XSpace
files) finds it, under the callback's ``<log_dir>/train``:

- ``tensorflow``: ``tf.profiler.experimental.start(train_dir)``, as Keras's own
  callback: ``train/plugins/profile/<time>/<host>.xplane.pb``; each profiled batch is
  a ``Trace("Profiled batch", step_num=batch)``.
- ``jax``: ``jax.profiler.start_trace(train_dir)``: the same directory, with
  ``<host>.xplane.pb`` and ``<host>.trace.json.gz``; each batch is a
  ``StepTraceAnnotation("Profiled batch", step_num=batch)`` (Keras uses a plain
  ``TraceAnnotation("Profiled batch N")``, which carries no step number, so the
  Overview could not find the steps).
- ``torch``: ``torch.profiler.profile`` with ``tensorboard_trace_handler(train_dir)``:
  ``train/<host>_<pid>.<time>.pt.trace.json.gz``, each batch a
  ``record_function("ProfilerStep#N")`` as ``profiler.step()`` names steps (Keras's
  own callback refuses to profile on torch).

Only the backend in use is imported, and only when a profile starts. As in Keras,
a profiler that fails to start or stop logs the error and training goes on.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

_LOG = logging.getLogger(__name__)

#: The backends that can profile.
BACKENDS = ("tensorflow", "jax", "torch")


def parse_profile_batch(profile_batch: Any) -> tuple[int, int]:
    """``(start, stop)`` from Keras's ``profile_batch``: an int, a pair, or ``"start,stop"``.

    The checks and the message are Keras's (``TensorBoard._init_profile_batch``);
    ``(0, 0)`` means no profiling.
    """
    message = (
        "profile_batch must be a non-negative integer or 2-tuple of positive integers. "
        "A pair of positive integers signifies a range of batches to profile. "
        f"Found: {profile_batch}"
    )
    value = profile_batch
    if isinstance(value, str):
        value = [int(part) for part in value.split(",")]
        if len(value) == 1:
            value = value[0]
    if isinstance(value, int):
        start, stop = value, value
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        start, stop = value
    else:
        raise ValueError(message)
    if not isinstance(start, int) or not isinstance(stop, int) or start < 0 or stop < start:
        raise ValueError(message)
    return start, stop


class BatchProfiler:
    """Starts and stops one backend's profiler and marks the profiled batches."""

    def __init__(self, backend: str) -> None:
        if backend not in BACKENDS:
            raise ValueError(
                f"Profiling is not available with the {backend} backend (only "
                f"{', '.join(BACKENDS)}). Received a non-zero profile_batch (must be 0)"
            )
        self.backend = backend
        self.started = False
        self._torch_profiler: Any = None
        self._batch: Any = None

    def warm_up(self) -> None:
        """Start and stop without saving, as Keras does before a later first batch (TF only).

        TensorFlow's first profiling session is slow to start; JAX's and torch's are not
        worth a throw-away session (Keras's JAX warm-up does nothing either).
        """
        if self.backend == "tensorflow":
            self.start("")
            self.stop(save=False)

    def start(self, logdir: str) -> None:
        """Start profiling into ``logdir`` unless this profiler already runs."""
        if self.started:
            return
        try:
            if self.backend == "tensorflow":
                _tensorflow().profiler.experimental.start(logdir=logdir)
            elif self.backend == "jax":
                import jax

                jax.profiler.start_trace(logdir)
            else:
                self._torch_profiler = _torch_profiler(logdir)
                self._torch_profiler.start()
            self.started = True
        except Exception as error:  # a profiler error must not stop training
            _LOG.error("Failed to start profiler: %s", error)

    def stop(self, save: bool = True) -> None:
        """Stop the profiler this object started; ``save=False`` drops what it recorded."""
        if not self.started:
            return
        try:
            self.end_batch()
            if self.backend == "tensorflow":
                _tensorflow().profiler.experimental.stop(save=save)
            elif self.backend == "jax":
                import jax

                jax.profiler.stop_trace()  # type: ignore[no-untyped-call]
            else:
                profiler, self._torch_profiler = self._torch_profiler, None
                if not save:
                    profiler.on_trace_ready = None
                profiler.stop()
        except Exception as error:
            _LOG.error("Failed to stop profiler: %s", error)
        finally:
            self.started = False

    def begin_batch(self, batch: int) -> None:
        """Mark the start of batch ``batch`` (its index in the epoch, as Keras numbers it)."""
        if not self.started:
            return
        self.end_batch()
        if self.backend == "tensorflow":
            trace = _tensorflow().profiler.experimental.Trace
            context: Any = trace("Profiled batch", step_num=batch)
        elif self.backend == "jax":
            import jax

            context = jax.profiler.StepTraceAnnotation("Profiled batch", step_num=batch)
        else:
            import torch

            context = torch.profiler.record_function(f"ProfilerStep#{batch}")
        context.__enter__()
        self._batch = context

    def end_batch(self) -> None:
        """Close the current batch's mark, if any."""
        context, self._batch = self._batch, None
        if context is not None:
            context.__exit__(None, None, None)


def _tensorflow() -> Any:
    # The backend Keras already imported: lumiboard itself never imports TensorFlow.
    return sys.modules["tensorflow"]


def _torch_profiler(logdir: str) -> Any:
    import torch
    from torch.profiler import ProfilerActivity, profile, tensorboard_trace_handler

    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    return profile(
        activities=activities,
        on_trace_ready=tensorboard_trace_handler(logdir, use_gzip=True),
        record_shapes=True,
    )
