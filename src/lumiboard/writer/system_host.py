"""CPU, memory, disk and network sensors for the system metrics sampler (psutil, or the stdlib).

Each sensor keeps what it needs to turn counters into rates, so nothing depends
on module-level state that the training code's own psutil calls could move
(``psutil.cpu_percent(None)`` measures from the previous call in that thread).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from lumiboard.writer.system_sampler import MIB, Sensor


def host_sensors(psutil: Any, disk_path: str) -> list[Sensor]:
    """The sensors of this machine and process; ``psutil`` None: the stdlib's only."""
    sensors = []
    if hasattr(os, "getloadavg"):
        sensors.append(Sensor("load_avg", _load_average))
    if psutil is None:
        sensors.append(Sensor("process_cpu", _ProcessCpu(time.process_time).read))
        with_rusage = _peak_rss_reader()
        if with_rusage is not None:
            sensors.append(Sensor("process_max_rss", with_rusage))
        return sensors
    process = psutil.Process()

    def process_seconds() -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    def system_memory(now: float) -> dict[str, float]:
        memory = psutil.virtual_memory()
        return {
            "memory_used_mib": memory.used / MIB,
            "memory_available_mib": memory.available / MIB,
            "memory_percent": float(memory.percent),
        }

    def disk_totals() -> dict[str, float]:
        counters = psutil.disk_io_counters()
        if counters is None:
            raise RuntimeError("no disk I/O counters on this machine")
        return {"disk_read": counters.read_bytes, "disk_write": counters.write_bytes}

    def network_totals() -> dict[str, float]:
        counters = psutil.net_io_counters()
        if counters is None:
            raise RuntimeError("no network I/O counters on this machine")
        return {"network_sent": counters.bytes_sent, "network_received": counters.bytes_recv}

    sensors += [
        Sensor("cpu", _CpuBusy(psutil.cpu_times).read),
        Sensor("process_cpu", _ProcessCpu(process_seconds).read),
        Sensor("memory", system_memory),
        Sensor("process_memory", lambda now: {"process_rss_mib": process.memory_info().rss / MIB}),
        Sensor("disk_io", _Amounts(disk_totals).read),
        Sensor(
            "disk_usage",
            lambda now: {"disk_used_percent": float(psutil.disk_usage(disk_path).percent)},
        ),
        Sensor("network_io", _Amounts(network_totals).read),
    ]
    return sensors


def _load_average(now: float) -> dict[str, float]:
    return {"load_avg_1m": os.getloadavg()[0]}


def _peak_rss_reader() -> Callable[[float], Mapping[str, float]] | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    import sys

    # ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS.
    unit = 1 if sys.platform == "darwin" else 1024

    def read(now: float) -> dict[str, float]:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return {"process_max_rss_mib": peak * unit / MIB}

    return read


class _CpuBusy:
    """System CPU percent from ``cpu_times()`` deltas (psutil's own formula)."""

    def __init__(self, read_times: Callable[[], Any]) -> None:
        self._read_times = read_times
        self._last: tuple[float, float] | None = None

    def read(self, now: float) -> dict[str, float]:
        fields = self._read_times()._asdict()
        # On Linux, guest time is already counted in user and nice time.
        total = sum(fields.values()) - fields.get("guest", 0.0) - fields.get("guest_nice", 0.0)
        busy = total - fields.get("idle", 0.0) - fields.get("iowait", 0.0)
        last, self._last = self._last, (total, busy)
        if last is None or total <= last[0]:
            return {}
        share = (busy - last[1]) / (total - last[0])
        return {"cpu_percent": 100.0 * min(1.0, max(0.0, share))}


class _ProcessCpu:
    """This process's CPU percent from its CPU seconds (all threads, user + system)."""

    def __init__(self, read_seconds: Callable[[], float]) -> None:
        self._read_seconds = read_seconds
        self._last: tuple[float, float] | None = None

    def read(self, now: float) -> dict[str, float]:
        seconds = self._read_seconds()
        last, self._last = self._last, (now, seconds)
        if last is None or now <= last[0]:
            return {}
        return {"process_cpu_percent": max(0.0, 100.0 * (seconds - last[1]) / (now - last[0]))}


class _Amounts:
    """Byte counters -> ``<name>_mib`` since the first reading, ``<name>_mib_per_s`` since the last.

    An interval in which a counter went back (a wrap, a removed device) adds
    nothing and has no rate, so the amounts never decrease.
    """

    def __init__(self, read_totals: Callable[[], Mapping[str, float]]) -> None:
        self._read_totals = read_totals
        self._sums: dict[str, float] = {}
        self._last: tuple[float, dict[str, float]] = (0.0, {})

    def read(self, now: float) -> dict[str, float]:
        totals = {name: float(total) for name, total in self._read_totals().items()}
        then, before = self._last
        self._last = (now, totals)
        values: dict[str, float] = {}
        for name, total in totals.items():
            previous = before.get(name)
            grew = previous is not None and total >= previous
            delta = total - previous if grew and previous is not None else 0.0
            self._sums[name] = self._sums.get(name, 0.0) + delta
            values[f"{name}_mib"] = self._sums[name] / MIB
            if grew and now > then:
                values[f"{name}_mib_per_s"] = delta / MIB / (now - then)
        return values
