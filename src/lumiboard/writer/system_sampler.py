"""The system metrics sampler: a daemon thread that reads sensors and writes what they read.

What is sampled, the tags and the rules (steps, ranks, failures) are described in
``lumiboard.writer.system_metrics``, the public face; the sensors live in
``system_host`` (CPU, memory, disk, network) and ``system_gpu`` (NVML).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import numbers
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from lumiboard.writer.event_file import EventWriteError

# One logger for the whole feature, named after its public module.
logger = logging.getLogger("lumiboard.writer.system_metrics")

MIB = 1024 * 1024

#: ``psutil=`` / ``nvml=`` default: import the real package.
AUTO: Any = object()

#: How a sample reaches the writer: ``write({tag: value}, step, wall_time)``.
Writes = Callable[[Mapping[str, float], int, float], None]

_told: set[str] = set()  # process-wide: a missing package is said once
_live: weakref.WeakSet[SystemMonitor] = weakref.WeakSet()


@dataclass(frozen=True)
class Sensor:
    """One reading: ``read(now)`` returns ``{tag suffix: value}``; ``now`` is a monotonic time."""

    name: str
    read: Callable[[float], Mapping[str, float]]


def check_interval(interval: object) -> float:
    """``interval`` in seconds as a float; ``TypeError``/``ValueError`` unless a positive number."""
    if isinstance(interval, bool) or not isinstance(interval, numbers.Real):
        raise TypeError(f"interval must be a number of seconds, not {type(interval).__name__}")
    seconds = float(interval)
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
    return seconds


class SystemMonitor:
    """Samples system metrics on a daemon thread and hands each sample to ``write``.

    Made by ``lumiboard.writer.system_metrics.monitor``, which picks ``write``
    (how the writer takes scalars), ``prefix`` and ``disk_path`` for a writer.

    ``step`` is the index the next sample will be written at; ``active`` is
    False once stopped (or when this rank writes nothing). :meth:`sample_once`
    takes one sample now, in the caller's thread.
    """

    def __init__(
        self,
        write: Writes,
        interval: float,
        *,
        prefix: str = "system/",
        disk_path: str = ".",
        psutil: Any = AUTO,
        nvml: Any = AUTO,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        first_step: int = 0,
    ) -> None:
        self.interval = check_interval(interval)
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self._write = write
        self._disk_path = disk_path
        self._psutil = psutil
        self._nvml = nvml
        self._environ = os.environ if environ is None else environ
        self._clock = clock
        self._step = first_step
        self._sensors: list[Sensor] | None = None
        self._nvml_open: Any = None
        self._told: set[str] = set()
        # _sample_lock: one sample at a time; _write_lock: no write starts after stop().
        self._sample_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stopped = False
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    @property
    def step(self) -> int:
        """The step (sample index) the next sample is written at."""
        return self._step

    @property
    def active(self) -> bool:
        """True until :meth:`stop` (or a closed writer) ends sampling."""
        return not self._stopped

    def start(self) -> SystemMonitor:
        """Start the sampling thread (once); returns ``self``."""
        if self._thread is None and not self._stopped:
            self._thread = threading.Thread(
                target=self._run, name="lumiboard-system-metrics", daemon=True
            )
            _live.add(self)
            self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Stop sampling: no write starts after this returns. Calling it again does nothing.

        Waits up to ``timeout`` seconds for a sample in progress to end.
        """
        if self._forked():
            self._stopped = True
            return
        self._halt()
        thread = self._thread
        if thread is None:
            self._close_backends()
        elif thread is not threading.current_thread():
            thread.join(timeout)
        _live.discard(self)

    def sample_once(self) -> dict[str, float]:
        """Take one sample now and write it; returns ``{tag: value}`` as written (never raises)."""
        if self._forked():
            return {}
        with self._sample_lock:
            if self._stopped:
                return {}
            if self._sensors is None:
                self._sensors = self._open_sensors()
            now, wall_time = self._clock(), time.time()
            values: dict[str, float] = {}
            for sensor in list(self._sensors):
                try:
                    reading = {self.prefix + key: float(v) for key, v in sensor.read(now).items()}
                except Exception as error:
                    self._sensors.remove(sensor)
                    logger.info("lumiboard: system metric %s dropped: %r", sensor.name, error)
                    continue
                # NaN would read as a training failure (health flags): leave the point out.
                values.update((tag, v) for tag, v in reading.items() if math.isfinite(v))
            step = self._step
            self._step += 1
            with self._write_lock:
                if self._stopped:
                    return {}
                if values and not self._write_sample(values, step, wall_time):
                    return {}
            return values

    # ---- internals ------------------------------------------------------------

    def _write_sample(self, values: dict[str, float], step: int, wall_time: float) -> bool:
        try:
            self._write(values, step, wall_time)
        except EventWriteError as error:
            # A full disk: the writer refuses events until a write succeeds; keep sampling.
            self._tell_once("write", f"lumiboard: system metrics not written: {error}")
            return False
        except Exception as error:
            # A closed writer (or one that cannot take them): sampling is over.
            logger.info("lumiboard: system metrics stopped: %r", error)
            self._stopped = True
            self._wake.set()
            return False
        return True

    def _tell_once(self, key: str, message: str) -> None:
        if key not in self._told:
            self._told.add(key)
            logger.warning("%s", message)

    def _forked(self) -> bool:
        # A forked child has no sampler thread, and the parent's locks may have
        # been held at the fork, forever: the child neither samples nor waits.
        return os.getpid() != self._pid

    def _halt(self, wait: float = -1) -> None:
        # Under the write lock, so that no write is in progress once stopped.
        locked = self._write_lock.acquire(timeout=wait)
        try:
            self._stopped = True
            self._wake.set()
        finally:
            if locked:
                self._write_lock.release()

    def _run(self) -> None:
        try:
            deadline = time.monotonic()
            while not self._stopped:
                self.sample_once()
                deadline += self.interval
                now = time.monotonic()
                if deadline < now:  # a slow sample: skip the missed ticks, no burst
                    deadline += math.ceil((now - deadline) / self.interval) * self.interval
                if self._wake.wait(deadline - now):
                    break
        except Exception as error:  # sample_once guards everything; this is a last resort
            logger.warning("lumiboard: system metrics stopped: %r", error)
        finally:
            self._close_backends()

    def _close_backends(self) -> None:
        with self._sample_lock:
            nvml, self._nvml_open = self._nvml_open, None
            self._sensors = []
        if nvml is not None:
            with contextlib.suppress(Exception):
                nvml.nvmlShutdown()

    def _open_sensors(self) -> list[Sensor]:
        from lumiboard.writer.system_host import host_sensors

        psutil = _import_optional("psutil") if self._psutil is AUTO else self._psutil
        if psutil is None:
            _say_once(
                logging.WARNING,
                "lumiboard: psutil is not installed: system metrics are limited to the load "
                "average and this process's CPU and peak memory (pip install 'lumiboard[system]')",
            )
        try:
            sensors = host_sensors(psutil, self._disk_path)
        except Exception as error:
            logger.warning("lumiboard: no CPU/memory metrics: %r", error)
            sensors = []
        return sensors + self._gpu_sensors()

    def _gpu_sensors(self) -> list[Sensor]:
        nvml = _import_optional("pynvml") if self._nvml is AUTO else self._nvml
        if nvml is None:
            # Loud only where NVIDIA GPUs are there to be missed.
            level = logging.WARNING if os.path.exists("/dev/nvidia0") else logging.INFO
            _say_once(level, "lumiboard: no GPU metrics: pip install nvidia-ml-py for them")
            return []
        try:
            nvml.nvmlInit()
        except Exception as error:
            _say_once(logging.INFO, f"lumiboard: no GPU metrics: NVML unavailable ({error})")
            return []
        self._nvml_open = nvml
        try:
            from lumiboard.writer.system_gpu import gpu_sensors

            return gpu_sensors(nvml, self._environ)
        except Exception as error:
            logger.warning("lumiboard: no GPU metrics: %r", error)
            return []

    def __enter__(self) -> SystemMonitor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _import_optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
    except Exception as error:  # a broken install must not stop training
        logger.warning("lumiboard: cannot import %s: %r", name, error)
        return None


def _say_once(level: int, message: str) -> None:
    if message not in _told:
        _told.add(message)
        logger.log(level, "%s", message)


def _stop_all_at_exit() -> None:
    # Before the writers' own exit hooks flush and close their files (hooks run
    # in reverse order of registration, and event_file registered first). The
    # daemon threads are not waited for: exit is never delayed.
    for handle in list(_live):
        handle._halt(wait=0.5)


def _register_exit_hook() -> None:
    # threading's exit hooks run before atexit's, as soon as shutdown begins.
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        with contextlib.suppress(RuntimeError):  # imported during shutdown: too late anyway
            register(_stop_all_at_exit)
    else:
        import atexit

        atexit.register(_stop_all_at_exit)


_register_exit_hook()
