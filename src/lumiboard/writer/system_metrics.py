"""System metrics: CPU, memory, disk, network and NVIDIA GPUs, sampled in the background.

``SummaryWriter(log_dir, system_metrics=True)`` (every 10 s; a number sets the
interval in seconds) or :func:`monitor` (any writer) starts a daemon thread that
takes a sample at once and then every ``interval`` seconds, and writes it as one
event of ordinary scalars under ``system/``: TensorBoard reads them too.

**Step and time.** A sample's step is its index (0, 1, 2, ...), not the training
step, which the sampler cannot know; its wall time is when it was taken. To line
system metrics up with training curves, use the "Relative" or "Wall" x axis.

**Tags.** Sizes are in MiB (2**20 bytes); ``*_mib`` disk and network amounts count
from the first sample; ``*_per_s`` rates and CPU percentages cover the last
interval, so they need two readings and start at step 1.

- ``system/cpu_percent``: CPU busy over all cores, 0-100
- ``system/process_cpu_percent``: this process's CPU, 100 per busy core (top's convention)
- ``system/load_avg_1m``: the 1-minute load average (Unix)
- ``system/memory_used_mib``, ``system/memory_available_mib``, ``system/memory_percent``:
  system memory (psutil's ``used``, ``available``, ``percent``)
- ``system/process_rss_mib``: this process's resident memory
- ``system/disk_read_mib``, ``system/disk_write_mib``, ``system/disk_read_mib_per_s``,
  ``system/disk_write_mib_per_s``: all disks
- ``system/disk_used_percent``: the file system holding the log directory (the
  working directory for remote log dirs)
- ``system/network_sent_mib``, ``system/network_received_mib``,
  ``system/network_sent_mib_per_s``, ``system/network_received_mib_per_s``: all interfaces
- per GPU ``<i>``, numbered as the process sees them (``gpu0`` is ``cuda:0``, also
  under ``CUDA_VISIBLE_DEVICES``; see ``lumiboard.writer.system_gpu``):
  ``system/gpu<i>/utilization_percent`` (SM busy), ``.../memory_utilization_percent``
  (memory controller busy), ``.../memory_used_mib``, ``.../memory_total_mib``,
  ``.../memory_percent``, ``.../power_watts``, ``.../power_limit_watts``,
  ``.../temperature_celsius``, ``.../sm_clock_mhz``, ``.../memory_clock_mhz``,
  ``.../energy_joules`` (since the first sample), ``.../throttle_reasons`` (NVML's
  bit mask) and ``.../throttle/<reason>`` (1 while active, else 0) for ``gpu_idle``,
  ``applications_clocks_setting``, ``sw_power_cap``, ``hw_slowdown``, ``sync_boost``,
  ``sw_thermal_slowdown``, ``hw_thermal_slowdown``, ``hw_power_brake_slowdown``,
  ``display_clock_setting``, and ``.../ecc_corrected_errors``,
  ``.../ecc_uncorrected_errors`` (volatile counts: since the driver loaded)

**Dependencies.** psutil and nvidia-ml-py (``pynvml``) are optional and imported
by the sampler thread only. Without psutil, a warning is logged once and only
what the standard library gives is sampled: ``load_avg_1m``,
``process_cpu_percent`` and ``system/process_max_rss_mib`` (peak RSS). Without
pynvml or an NVIDIA driver, GPU metrics are skipped with one log line.

**Distributed jobs** (the writer's ``ranks=``): with ``"separate"`` each rank
samples into its own run (``<log_dir>/rank_<k>``) under ``system/``; with
``"all"`` (several processes in one run) each rank writes under
``system/rank_<k>/`` when the job has more than one process; with ``"zero"``
only rank 0 samples (the other ranks write no file at all), so only rank 0's
machine is seen: pick ``"separate"`` to see every machine. Each rank reports
every GPU its process can see.

**Never raises into training.** Each reading is guarded: one that fails (a GPU
without ECC, a container without disk counters) is dropped for good after its
first failure, logged once. A write that fails (a full disk) is logged once; a
closed writer ends the sampler. The thread stops on ``writer.close()`` and at
interpreter exit, and never delays exit (it is a daemon).
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

logger = logging.getLogger(__name__)

#: Seconds between samples when ``system_metrics=True``.
DEFAULT_INTERVAL = 10.0
MIB = 1024 * 1024

#: ``psutil=`` / ``nvml=`` default: import the real package.
AUTO: Any = object()

_told: set[str] = set()  # process-wide: a missing package is said once
_live: weakref.WeakSet[SystemMonitor] = weakref.WeakSet()

Writes = Callable[[Mapping[str, float], int, float], None]


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


def interval_from_option(option: object) -> float | None:
    """The interval ``SummaryWriter(system_metrics=...)`` asks for; None: off.

    ``False``/``None``: off; ``True``: :data:`DEFAULT_INTERVAL`; a number: seconds.
    """
    if option is None or option is False:
        return None
    if option is True:
        return DEFAULT_INTERVAL
    try:
        return check_interval(option)
    except (TypeError, ValueError) as error:
        raise type(error)(f"system_metrics: expected True, False or seconds; {error}") from None


class SystemMonitor:
    """Samples system metrics into a writer on a daemon thread; make one with :func:`monitor`.

    ``step`` is the index the next sample will be written at; ``active`` is
    False once stopped (or when this rank writes nothing). :meth:`sample_once`
    takes one sample now, in the caller's thread.
    """

    def __init__(
        self,
        writer: Any,
        interval: float = DEFAULT_INTERVAL,
        *,
        prefix: str = "system/",
        psutil: Any = AUTO,
        nvml: Any = AUTO,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        first_step: int = 0,
    ) -> None:
        self.writer = writer
        self.interval = check_interval(interval)
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self._write = _writes_for(writer)
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
        self._halt()
        thread = self._thread
        if thread is None:
            self._close_backends()
        elif thread is not threading.current_thread():
            thread.join(timeout)
        _live.discard(self)

    def sample_once(self) -> dict[str, float]:
        """Take one sample now and write it; returns ``{tag: value}`` as written (never raises)."""
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
                "average and this process's CPU and peak memory (pip install psutil)",
            )
        try:
            sensors = host_sensors(psutil, _local_dir(self.writer))
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


def monitor(
    writer: Any,
    interval: float = DEFAULT_INTERVAL,
    *,
    prefix: str | None = None,
    psutil: Any = AUTO,
    nvml: Any = AUTO,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    start: bool = True,
) -> SystemMonitor:
    """Sample system metrics into ``writer`` every ``interval`` seconds, on a daemon thread.

    ``writer`` is a lumiboard ``SummaryWriter``, a ``summary.create_file_writer()``
    writer, or any writer with ``add_scalar(tag, value, step, walltime=)``. The
    tags and steps are listed in this module's doc. ``prefix`` overrides the
    tag prefix (default ``system/``, or ``system/rank_<k>/``, see the module's
    doc). A new monitor on a writer that has one replaces it and goes on with
    its steps. ``SummaryWriter.close()`` stops it; so does :meth:`SystemMonitor.stop`.

    ``psutil``, ``nvml`` (a ``psutil``-like and a ``pynvml``-like module, or None
    for "not installed"), ``environ`` (for ``CUDA_VISIBLE_DEVICES``) and
    ``clock`` replace the real ones, for tests; ``start=False`` starts no thread
    (call :meth:`SystemMonitor.sample_once`).

    Example::

        from lumiboard import SummaryWriter
        from lumiboard.writer.system_metrics import monitor

        writer = SummaryWriter("runs/exp1")
        handle = monitor(writer, interval=5)
        ...  # train
        writer.close()  # or handle.stop()
    """
    seconds = check_interval(interval)
    chosen = rank_prefix(writer) if prefix is None else prefix
    previous = getattr(writer, "_system_monitor", None)
    first_step = 0
    if isinstance(previous, SystemMonitor):
        previous.stop()
        first_step = previous.step  # steps going back would make TensorBoard drop points
    handle = SystemMonitor(
        writer,
        seconds,
        prefix=chosen or "system/",
        psutil=psutil,
        nvml=nvml,
        environ=environ,
        clock=clock,
        first_step=first_step,
    )
    if chosen is None:
        handle._halt()  # a rank that writes nothing samples nothing
        return handle
    if _is_lumiboard_writer(writer):
        writer._system_monitor = handle
    if start:
        handle.start()
    return handle


def rank_prefix(writer: Any) -> str | None:
    """The tag prefix for this process's samples; None when this rank writes nothing."""
    from lumiboard.writer.functional import _MutedFileWriter
    from lumiboard.writer.ranks import detect_rank
    from lumiboard.writer.summary_writer import SummaryWriter

    if isinstance(writer, SummaryWriter):
        info, ranks = writer.rank_info, writer.ranks
        if ranks == "zero":
            return "system/" if info.rank == 0 else None
        if ranks == "separate" or not info.distributed:
            return "system/"
        return f"system/rank_{info.rank}/"
    if isinstance(writer, _MutedFileWriter):
        return None
    info = detect_rank()
    if not info.distributed:
        return "system/"
    # Other writers do not say their ranks mode: a rank_<k> log dir is the rank's own run.
    log_dir = _log_dir(writer) or ""
    if os.path.basename(log_dir.rstrip("/")) == f"rank_{info.rank}":
        return "system/"
    return f"system/rank_{info.rank}/"


def _is_lumiboard_writer(writer: Any) -> bool:
    from lumiboard.writer.functional import SummaryFileWriter
    from lumiboard.writer.summary_writer import SummaryWriter

    return isinstance(writer, (SummaryWriter, SummaryFileWriter))


def _writes_for(writer: Any) -> Writes:
    from lumiboard.plugins.scalars import summary as scalars
    from lumiboard.writer.functional import SummaryFileWriter
    from lumiboard.writer.summary_writer import SummaryWriter

    if isinstance(writer, SummaryFileWriter):
        # The TF2 writer's own scalars are float32 rank-0 tensors: write the same.
        def write_tensors(values: Mapping[str, float], step: int, wall_time: float) -> None:
            protos = [scalars.tensor_scalar_value(tag, v) for tag, v in values.items()]
            writer.write_values(protos, step, wall_time)

        return write_tensors
    if isinstance(writer, SummaryWriter):

        def write_simple(values: Mapping[str, float], step: int, wall_time: float) -> None:
            protos = [scalars.legacy_value(tag, v) for tag, v in values.items()]
            writer.write_values(protos, step, wall_time)

        return write_simple
    if callable(getattr(writer, "add_scalar", None)):

        def add_scalars(values: Mapping[str, float], step: int, wall_time: float) -> None:
            for tag, value in values.items():
                writer.add_scalar(tag, value, step, walltime=wall_time)

        return add_scalars
    raise TypeError(
        "monitor() needs a lumiboard SummaryWriter, a summary.create_file_writer() writer "
        f"or a writer with add_scalar(); got {type(writer).__name__}"
    )


def _log_dir(writer: Any) -> str | None:
    for name in ("log_dir", "logdir"):
        with contextlib.suppress(Exception):
            value = getattr(writer, name)
            if isinstance(value, str):
                return value
    with contextlib.suppress(Exception):
        return str(writer.get_logdir())
    return None


def _local_dir(writer: Any) -> str:
    # The log directory when it is local (its file system is the one that fills up).
    log_dir = _log_dir(writer)
    if log_dir and "://" not in log_dir and os.path.isdir(log_dir):
        return log_dir
    return os.getcwd()


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
