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
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from lumiboard.writer.system_sampler import AUTO, SystemMonitor, Writes, check_interval

__all__ = ["AUTO", "DEFAULT_INTERVAL", "SystemMonitor", "interval_from_option", "monitor"]

#: Seconds between samples when ``system_metrics=True``.
DEFAULT_INTERVAL = 10.0


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
        _writes_for(writer),
        seconds,
        prefix=chosen or "system/",
        disk_path=_local_dir(writer),
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
