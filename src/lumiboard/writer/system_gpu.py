"""NVIDIA GPU sensors for the system metrics sampler, read through NVML (``nvidia-ml-py``).

:func:`visible_gpus` maps the GPUs this process can use, as ``CUDA_VISIBLE_DEVICES``
numbers them, to NVML handles; :func:`gpu_sensors` makes one sensor per reading of
each, so a reading a GPU does not support (ECC on a consumer card, energy before
Volta, utilization of a MIG-enabled GPU) is dropped alone and the rest go on.

Numbering follows CUDA, as the training code sees it: ``gpu<i>`` is ``cuda:<i>``.
With ``CUDA_VISIBLE_DEVICES=1`` the machine's second GPU is reported as ``gpu0``.
Without the variable every GPU is reported in NVML's order (PCI bus order), which
is CUDA's order when ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` or the GPUs are all of one
model. Entries are parsed as CUDA parses them: integers are NVML indices,
``GPU-<uuid>`` (or a unique prefix of it) names a GPU by UUID, the first invalid
entry hides it and every entry after it, and an empty value hides every GPU.
MIG instances (``MIG-...`` entries) are not reported: NVML has no utilization,
clocks or power per instance; they keep their CUDA index, so the GPUs after them
keep theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from lumiboard.writer.system_sampler import MIB, Sensor

logger = logging.getLogger("lumiboard.writer.system_metrics")

# NVML's clocks event (formerly "throttle") reason bits; they are part of
# NVML's C ABI, so they are spelled here rather than read from a pynvml version.
THROTTLE_REASONS = (
    ("gpu_idle", 0x1),
    ("applications_clocks_setting", 0x2),
    ("sw_power_cap", 0x4),
    ("hw_slowdown", 0x8),
    ("sync_boost", 0x10),
    ("sw_thermal_slowdown", 0x20),
    ("hw_thermal_slowdown", 0x40),
    ("hw_power_brake_slowdown", 0x80),
    ("display_clock_setting", 0x100),
)

# NVML constants (nvml.h), used when the module passed in does not define them.
_TEMPERATURE_GPU = 0
_CLOCK_SM = 1
_CLOCK_MEM = 2
_ERROR_CORRECTED = 0
_ERROR_UNCORRECTED = 1
_VOLATILE_ECC = 0


def visible_gpus(nvml: Any, environ: Mapping[str, str]) -> list[tuple[int, Any]]:
    """``[(cuda index, NVML handle)]`` of the GPUs this process sees (see the module's doc)."""
    count = int(nvml.nvmlDeviceGetCount())
    spec = environ.get("CUDA_VISIBLE_DEVICES")
    if spec is None:
        return [(index, nvml.nvmlDeviceGetHandleByIndex(index)) for index in range(count)]
    uuids: list[str] | None = None
    chosen: list[int | None] = []  # None: a MIG instance, which keeps its CUDA index
    for raw in spec.split(","):
        entry = raw.strip()
        if entry.startswith("MIG-"):
            logger.info("lumiboard: system metrics skip MIG instance %s (not sampled)", entry)
            chosen.append(None)
            continue
        if entry.startswith("GPU-"):
            if uuids is None:
                uuids = [
                    _text(nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i)))
                    for i in range(count)
                ]
            matches = [i for i, uuid in enumerate(uuids) if uuid.startswith(entry)]
            index = matches[0] if len(matches) == 1 else -1
        else:
            try:
                index = int(entry)
            except ValueError:
                index = -1
        if not 0 <= index < count or index in chosen:
            break  # as CUDA: an invalid (or repeated) entry ends the list
        chosen.append(index)
    return [
        (position, nvml.nvmlDeviceGetHandleByIndex(index))
        for position, index in enumerate(chosen)
        if index is not None
    ]


def gpu_sensors(nvml: Any, environ: Mapping[str, str]) -> list[Sensor]:
    """One sensor per reading of every visible GPU (tags ``gpu<i>/...``)."""
    sensors: list[Sensor] = []
    for index, handle in visible_gpus(nvml, environ):
        sensors += _GpuReader(nvml, handle, f"gpu{index}/").sensors()
    return sensors


def _text(value: Any) -> str:
    # Older pynvml releases return bytes.
    return value.decode() if isinstance(value, bytes) else str(value)


class _GpuReader:
    """The readings of one GPU, each a method returning ``{tag suffix: value}``."""

    def __init__(self, nvml: Any, handle: Any, prefix: str) -> None:
        self._nvml = nvml
        self._handle = handle
        self._prefix = prefix
        self._first_energy: float | None = None

    def sensors(self) -> list[Sensor]:
        readings = (
            self.utilization,
            self.memory,
            self.power,
            self.power_limit,
            self.temperature,
            self.sm_clock,
            self.memory_clock,
            self.energy,
            self.throttle,
            self.ecc,
        )
        return [Sensor(self._prefix + read.__name__, self._prefixed(read)) for read in readings]

    def _prefixed(
        self, read: Callable[[float], Mapping[str, float]]
    ) -> Callable[[float], Mapping[str, float]]:
        prefix = self._prefix
        return lambda now: {prefix + key: value for key, value in read(now).items()}

    def _constant(self, name: str, default: int) -> Any:
        return getattr(self._nvml, name, default)

    def utilization(self, now: float) -> dict[str, float]:
        rates = self._nvml.nvmlDeviceGetUtilizationRates(self._handle)
        return {
            "utilization_percent": float(rates.gpu),
            "memory_utilization_percent": float(rates.memory),
        }

    def memory(self, now: float) -> dict[str, float]:
        info = self._nvml.nvmlDeviceGetMemoryInfo(self._handle)
        used, total = float(info.used), float(info.total)
        return {
            "memory_used_mib": used / MIB,
            "memory_total_mib": total / MIB,
            "memory_percent": 100.0 * used / total if total else 0.0,
        }

    def power(self, now: float) -> dict[str, float]:
        milliwatts = self._nvml.nvmlDeviceGetPowerUsage(self._handle)
        return {"power_watts": float(milliwatts) / 1000.0}

    def power_limit(self, now: float) -> dict[str, float]:
        milliwatts = self._nvml.nvmlDeviceGetEnforcedPowerLimit(self._handle)
        return {"power_limit_watts": float(milliwatts) / 1000.0}

    def temperature(self, now: float) -> dict[str, float]:
        sensor = self._constant("NVML_TEMPERATURE_GPU", _TEMPERATURE_GPU)
        return {
            "temperature_celsius": float(self._nvml.nvmlDeviceGetTemperature(self._handle, sensor))
        }

    def sm_clock(self, now: float) -> dict[str, float]:
        clock = self._constant("NVML_CLOCK_SM", _CLOCK_SM)
        return {"sm_clock_mhz": float(self._nvml.nvmlDeviceGetClockInfo(self._handle, clock))}

    def memory_clock(self, now: float) -> dict[str, float]:
        clock = self._constant("NVML_CLOCK_MEM", _CLOCK_MEM)
        return {"memory_clock_mhz": float(self._nvml.nvmlDeviceGetClockInfo(self._handle, clock))}

    def energy(self, now: float) -> dict[str, float]:
        # NVML counts millijoules since the driver loaded; the run wants its own share.
        total = float(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))
        if self._first_energy is None or total < self._first_energy:
            self._first_energy = total  # first reading, or the driver was reloaded
        return {"energy_joules": (total - self._first_energy) / 1000.0}

    def throttle(self, now: float) -> dict[str, float]:
        # NVML renamed "throttle reasons" to "clocks event reasons" (same bits).
        read = getattr(self._nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
        if read is None:
            read = self._nvml.nvmlDeviceGetCurrentClocksThrottleReasons
        mask = int(read(self._handle))
        values = {"throttle_reasons": float(mask)}
        for name, bit in THROTTLE_REASONS:
            values[f"throttle/{name}"] = 1.0 if mask & bit else 0.0
        return values

    def ecc(self, now: float) -> dict[str, float]:
        # Volatile counts: errors since the driver loaded (the aggregate ones span the GPU's life).
        counter = self._constant("NVML_VOLATILE_ECC", _VOLATILE_ECC)
        read = self._nvml.nvmlDeviceGetTotalEccErrors
        corrected = read(
            self._handle,
            self._constant("NVML_MEMORY_ERROR_TYPE_CORRECTED", _ERROR_CORRECTED),
            counter,
        )
        uncorrected = read(
            self._handle,
            self._constant("NVML_MEMORY_ERROR_TYPE_UNCORRECTED", _ERROR_UNCORRECTED),
            counter,
        )
        return {
            "ecc_corrected_errors": float(corrected),
            "ecc_uncorrected_errors": float(uncorrected),
        }
