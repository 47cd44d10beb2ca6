"""System metrics (issue 14 item 2): sampled into ordinary scalars under ``system/``.

The sensors are fakes (a psutil-like object, an NVML-like object with two GPUs)
whose readings move by known amounts per call, and the clock is a fake that moves
10 s per sample, so every value, rate and step is known exactly; samples are taken
with ``sample_once()``. TensorBoard's own ``EventAccumulator`` reads the files.
One test runs the real psutil, one the real thread, one a real interpreter exit.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter, namedtuple
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lumiboard import SummaryWriter, summary
from lumiboard.writer import system_metrics, system_sampler
from lumiboard.writer.event_file import EventWriteError
from lumiboard.writer.system_gpu import visible_gpus
from lumiboard.writer.system_host import _Amounts
from lumiboard.writer.system_metrics import SystemMonitor, monitor

MIB = 1024 * 1024
GIB = 1024 * MIB

CpuTimes = namedtuple("CpuTimes", "user nice system idle iowait guest guest_nice")
ProcessTimes = namedtuple("ProcessTimes", "user system children_user children_system")

HOST_TAGS = {
    "cpu_percent",
    "process_cpu_percent",
    "load_avg_1m",
    "memory_used_mib",
    "memory_available_mib",
    "memory_percent",
    "process_rss_mib",
    "disk_read_mib",
    "disk_write_mib",
    "disk_read_mib_per_s",
    "disk_write_mib_per_s",
    "disk_used_percent",
    "network_sent_mib",
    "network_received_mib",
    "network_sent_mib_per_s",
    "network_received_mib_per_s",
}
THROTTLE = (
    "gpu_idle",
    "applications_clocks_setting",
    "sw_power_cap",
    "hw_slowdown",
    "sync_boost",
    "sw_thermal_slowdown",
    "hw_thermal_slowdown",
    "hw_power_brake_slowdown",
    "display_clock_setting",
)
GPU_TAGS = {
    "utilization_percent",
    "memory_utilization_percent",
    "memory_used_mib",
    "memory_total_mib",
    "memory_percent",
    "power_watts",
    "power_limit_watts",
    "temperature_celsius",
    "sm_clock_mhz",
    "memory_clock_mhz",
    "energy_joules",
    "throttle_reasons",
    "ecc_corrected_errors",
    "ecc_uncorrected_errors",
} | {f"throttle/{name}" for name in THROTTLE}


class FakePsutil:
    """Every counter moves by a fixed amount per call (one call per sample)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.disk_paths: list[str] = []
        self.sampled = threading.Event()

    def _next(self, name: str) -> int:
        self.calls[name] += 1
        return self.calls[name] - 1

    def cpu_times(self) -> CpuTimes:
        k = self._next("cpu_times")
        # Per sample: user 2, system 1, idle 1, guest 0.5 (already inside user): 75 % busy.
        return CpuTimes(2.0 * k, 0.0, 1.0 * k, 1.0 * k, 0.0, 0.5 * k, 0.0)

    def Process(self) -> Any:
        def cpu_times() -> ProcessTimes:
            k = self._next("process_cpu")
            return ProcessTimes(1.5 * k, 0.5 * k, 0.0, 0.0)  # 2 CPU-seconds per 10 s: 20 %

        return SimpleNamespace(
            cpu_times=cpu_times, memory_info=lambda: SimpleNamespace(rss=512 * MIB)
        )

    def virtual_memory(self) -> Any:
        self._next("virtual_memory")
        if self.calls["virtual_memory"] >= 3:
            self.sampled.set()
        return SimpleNamespace(used=4 * GIB, available=12 * GIB, percent=25.0)

    def disk_io_counters(self) -> Any:
        k = self._next("disk_io")
        return SimpleNamespace(read_bytes=1000 * MIB + 10 * MIB * k, write_bytes=20 * MIB * k)

    def disk_usage(self, path: str) -> Any:
        self.disk_paths.append(path)
        return SimpleNamespace(percent=42.0)

    def net_io_counters(self) -> Any:
        k = self._next("net_io")
        return SimpleNamespace(bytes_sent=5 * MIB * k, bytes_recv=50 * MIB * k)


class FakeNvml:
    """Two GPUs; GPU i's readings differ so that a mix-up shows."""

    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2

    def __init__(self, failing: tuple[str, ...] = (), old_throttle_name: bool = False) -> None:
        self.failing = failing
        self.calls: Counter[str] = Counter()
        self.initialized = 0
        self.shut_down = 0
        if old_throttle_name:
            self.nvmlDeviceGetCurrentClocksThrottleReasons = self._reasons
        else:
            self.nvmlDeviceGetCurrentClocksEventReasons = self._reasons

    def _call(self, name: str) -> int:
        self.calls[name] += 1
        if name in self.failing:
            raise RuntimeError(f"NVMLError_NotSupported: {name}")
        return self.calls[name]

    def nvmlInit(self) -> None:
        self.initialized += 1

    def nvmlShutdown(self) -> None:
        self.shut_down += 1

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        if not 0 <= index < 2:
            raise ValueError(index)
        return index

    def nvmlDeviceGetUUID(self, gpu: int) -> bytes:
        return f"GPU-{'ab'[gpu] * 8}-0000-1111-2222-333333333333".encode()  # old pynvml: bytes

    def nvmlDeviceGetUtilizationRates(self, gpu: int) -> Any:
        self._call("utilization")
        return SimpleNamespace(gpu=10 + 80 * gpu, memory=5 + gpu)

    def nvmlDeviceGetMemoryInfo(self, gpu: int) -> Any:
        self._call("memory")
        return SimpleNamespace(used=(1 + gpu) * 8 * GIB, total=80 * GIB)

    def nvmlDeviceGetPowerUsage(self, gpu: int) -> int:
        self._call("power")
        return 100_000 + 200_000 * gpu  # milliwatts

    def nvmlDeviceGetEnforcedPowerLimit(self, gpu: int) -> int:
        self._call("power_limit")
        return 700_000

    def nvmlDeviceGetTemperature(self, gpu: int, sensor: int) -> int:
        assert sensor == 0
        return 40 + 30 * gpu

    def nvmlDeviceGetClockInfo(self, gpu: int, clock: int) -> int:
        return {1: 1400 + 100 * gpu, 2: 2600}[clock]

    def nvmlDeviceGetTotalEnergyConsumption(self, gpu: int) -> int:
        k = self._call(f"energy{gpu}") - 1
        return 5_000_000 + k * 1_000_000 * (gpu + 1)  # millijoules since the driver loaded

    def _reasons(self, gpu: int) -> int:
        return 0x1 if gpu == 0 else 0x4 | 0x40  # idle; power cap + HW thermal slowdown

    def nvmlDeviceGetTotalEccErrors(self, gpu: int, error_type: int, counter: int) -> int:
        assert counter == 0  # volatile
        return 3 * gpu if error_type == 0 else 0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        now = self.now
        self.now += 10.0
        return now


@pytest.fixture(autouse=True)
def _fresh_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    # "Said once per process": each test starts as a new process would.
    monkeypatch.setattr(system_sampler, "_told", set())


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[SummaryWriter]:
    with SummaryWriter(str(tmp_path)) as made:
        yield made


def fake_monitor(writer: Any, **options: Any) -> SystemMonitor:
    options.setdefault("psutil", FakePsutil())
    options.setdefault("nvml", FakeNvml())
    options.setdefault("environ", {})
    return monitor(writer, 10, clock=FakeClock(), start=False, **options)


def read_scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(str(log_dir))
    accumulator.Reload()
    return {
        tag: [(event.step, event.value) for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }


def test_samples_are_the_documented_scalars_at_sample_index_steps(
    tmp_path: Path, writer: SummaryWriter
) -> None:
    handle = fake_monitor(writer)
    for _ in range(3):
        handle.sample_once()
    writer.close()
    found = read_scalars(tmp_path)
    expected = {f"system/{tag}" for tag in HOST_TAGS}
    expected |= {f"system/gpu{i}/{tag}" for i in (0, 1) for tag in GPU_TAGS}
    assert set(found) == expected
    # Levels from the first sample; rates and CPU percentages from the second.
    assert [step for step, _ in found["system/memory_used_mib"]] == [0, 1, 2]
    assert [step for step, _ in found["system/cpu_percent"]] == [1, 2]
    expect = {
        "system/cpu_percent": 75.0,
        "system/process_cpu_percent": 20.0,
        "system/memory_used_mib": 4096.0,
        "system/memory_available_mib": 12288.0,
        "system/memory_percent": 25.0,
        "system/process_rss_mib": 512.0,
        "system/disk_read_mib": 20.0,  # since the first sample, not since boot
        "system/disk_read_mib_per_s": 1.0,
        "system/disk_write_mib": 40.0,
        "system/disk_write_mib_per_s": 2.0,
        "system/disk_used_percent": 42.0,
        "system/network_sent_mib": 10.0,
        "system/network_sent_mib_per_s": 0.5,
        "system/network_received_mib": 100.0,
        "system/network_received_mib_per_s": 5.0,
        "system/gpu0/utilization_percent": 10.0,
        "system/gpu1/utilization_percent": 90.0,
        "system/gpu1/memory_utilization_percent": 6.0,
        "system/gpu1/memory_used_mib": 16384.0,
        "system/gpu1/memory_total_mib": 81920.0,
        "system/gpu1/memory_percent": 20.0,
        "system/gpu0/power_watts": 100.0,
        "system/gpu1/power_watts": 300.0,
        "system/gpu1/power_limit_watts": 700.0,
        "system/gpu1/temperature_celsius": 70.0,
        "system/gpu1/sm_clock_mhz": 1500.0,
        "system/gpu1/memory_clock_mhz": 2600.0,
        "system/gpu0/energy_joules": 2000.0,
        "system/gpu1/energy_joules": 4000.0,
        "system/gpu0/throttle_reasons": 1.0,
        "system/gpu1/throttle_reasons": 0x44,
        "system/gpu0/throttle/gpu_idle": 1.0,
        "system/gpu1/throttle/gpu_idle": 0.0,
        "system/gpu1/throttle/sw_power_cap": 1.0,
        "system/gpu1/throttle/hw_thermal_slowdown": 1.0,
        "system/gpu1/throttle/hw_slowdown": 0.0,
        "system/gpu1/ecc_corrected_errors": 3.0,
        "system/gpu1/ecc_uncorrected_errors": 0.0,
    }
    last = {tag: points[-1][1] for tag, points in found.items()}
    assert {tag: last[tag] for tag in expect} == pytest.approx(expect)
    assert found["system/gpu0/energy_joules"][0] == (0, 0.0)
    assert found["system/load_avg_1m"][0][1] >= 0


def test_disk_usage_is_read_for_the_log_directory(tmp_path: Path, writer: SummaryWriter) -> None:
    psutil = FakePsutil()
    fake_monitor(writer, psutil=psutil).sample_once()
    assert psutil.disk_paths == [str(tmp_path)]


@pytest.mark.parametrize(
    ("visible", "expected"),
    [
        (None, [(0, 0), (1, 1)]),
        ("1", [(0, 1)]),
        (" 1 , 0", [(0, 1), (1, 0)]),
        ("", []),
        ("-1", []),
        ("0,7,1", [(0, 0)]),  # as CUDA: an invalid entry hides itself and what follows
        ("0,0", [(0, 0)]),
        ("GPU-bbbbbbbb-0000-1111-2222-333333333333", [(0, 1)]),
        ("GPU-bb", [(0, 1)]),  # a unique prefix
        ("GPU-,0", []),  # ambiguous
        ("MIG-4f1c,1", [(1, 1)]),  # the MIG instance keeps cuda:0, unsampled
    ],
)
def test_cuda_visible_devices_numbers_gpus_as_the_process_sees_them(
    visible: str | None, expected: list[tuple[int, int]]
) -> None:
    environ = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    assert visible_gpus(FakeNvml(), environ) == expected


def test_the_only_visible_gpu_is_gpu0(tmp_path: Path, writer: SummaryWriter) -> None:
    values = fake_monitor(writer, environ={"CUDA_VISIBLE_DEVICES": "1"}).sample_once()
    assert values["system/gpu0/power_watts"] == 300.0  # the machine's second GPU
    assert not any(tag.startswith("system/gpu1/") for tag in values)


def test_a_failing_sensor_is_dropped_after_its_first_failure(
    tmp_path: Path, writer: SummaryWriter, caplog: pytest.LogCaptureFixture
) -> None:
    nvml = FakeNvml(failing=("power",))
    handle = fake_monitor(writer, nvml=nvml)
    with caplog.at_level(logging.INFO, logger="lumiboard.writer.system_metrics"):
        samples = [handle.sample_once() for _ in range(3)]
    assert nvml.calls["power"] == 2  # once per GPU, never again
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 2
    assert "gpu0/power" in dropped[0]
    assert "NotSupported" in dropped[0]
    for values in samples:
        assert "system/gpu0/power_watts" not in values
        assert values["system/gpu0/power_limit_watts"] == 700.0
    assert handle.active


def test_non_finite_readings_are_left_out(writer: SummaryWriter) -> None:
    psutil = FakePsutil()
    psutil.virtual_memory = lambda: SimpleNamespace(  # type: ignore[method-assign]
        used=float("nan"), available=12 * GIB, percent=25.0
    )
    values = fake_monitor(writer, psutil=psutil, nvml=None).sample_once()
    assert "system/memory_used_mib" not in values
    assert values["system/memory_available_mib"] == 12288.0


def test_older_pynvml_throttle_reasons_name(writer: SummaryWriter) -> None:
    values = fake_monitor(writer, nvml=FakeNvml(old_throttle_name=True)).sample_once()
    assert values["system/gpu1/throttle/sw_power_cap"] == 1.0


def test_without_pynvml_gpus_are_skipped_with_one_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    with caplog.at_level(logging.INFO, logger="lumiboard.writer.system_metrics"):
        for name in ("a", "b"):
            with SummaryWriter(str(tmp_path / name)) as one:
                values = fake_monitor(one, nvml=system_metrics.AUTO).sample_once()
                assert values["system/memory_percent"] == 25.0
                assert not any("gpu" in tag for tag in values)
    told = [r for r in caplog.records if "nvidia-ml-py" in r.getMessage()]
    assert len(told) == 1


def test_without_an_nvidia_driver_gpus_are_skipped(
    writer: SummaryWriter, caplog: pytest.LogCaptureFixture
) -> None:
    nvml = FakeNvml()

    def no_driver() -> None:
        raise OSError("NVML Shared Library Not Found")

    nvml.nvmlInit = no_driver  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="lumiboard.writer.system_metrics"):
        values = fake_monitor(writer, nvml=nvml).sample_once()
    assert "system/cpu_percent" not in values  # first sample
    assert values["system/process_rss_mib"] == 512.0
    assert not any("gpu" in tag for tag in values)
    assert any("Shared Library Not Found" in r.getMessage() for r in caplog.records)


def test_without_psutil_the_standard_library_metrics_remain(
    tmp_path: Path,
    writer: SummaryWriter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)
    with caplog.at_level(logging.INFO, logger="lumiboard.writer.system_metrics"):
        handle = fake_monitor(writer, psutil=system_metrics.AUTO, nvml=None)
        first, second = handle.sample_once(), handle.sample_once()
    assert set(first) == {"system/load_avg_1m", "system/process_max_rss_mib"}
    assert set(second) == set(first) | {"system/process_cpu_percent"}
    assert first["system/process_max_rss_mib"] > 1
    assert second["system/process_cpu_percent"] >= 0
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1
    assert "pip install 'lumiboard[system]'" in warned[0].getMessage()


def test_the_real_psutil_gives_plausible_values(writer: SummaryWriter) -> None:
    pytest.importorskip("psutil")
    handle = monitor(writer, 10, nvml=None, start=False)
    handle.sample_once()
    # Some CPU time between the two samples, over a window long enough (~0.3 s) that the
    # 10 ms granularity of CPU-time counters cannot push a percentage past the cores' total.
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline:
        sum(i * i for i in range(10_000))
    values = handle.sample_once()
    cores = os.cpu_count() or 1
    assert 0 <= values["system/cpu_percent"] <= 100
    assert 0 <= values["system/process_cpu_percent"] <= 100 * cores * 1.05
    assert values["system/process_rss_mib"] > 10
    assert 0 < values["system/memory_percent"] < 100
    assert values["system/memory_available_mib"] > 0
    assert 0 < values["system/disk_used_percent"] <= 100
    for name in ("disk_read", "disk_write", "network_sent", "network_received"):
        if f"system/{name}_mib" in values:  # containers may have no counters
            assert values[f"system/{name}_mib"] >= 0
            assert values[f"system/{name}_mib_per_s"] >= 0


def test_the_thread_samples_until_the_writer_closes(tmp_path: Path) -> None:
    psutil = FakePsutil()
    writer = SummaryWriter(str(tmp_path))
    handle = monitor(writer, 0.05, psutil=psutil, nvml=None)
    assert handle.active
    assert psutil.sampled.wait(10)  # three samples taken by the thread
    writer.close()
    assert not handle.active
    assert handle._thread is not None
    assert not handle._thread.is_alive()
    taken = psutil.calls["virtual_memory"]
    assert handle.sample_once() == {}  # stopped for good: no sensor is read
    assert psutil.calls["virtual_memory"] == taken
    steps = [step for step, _ in read_scalars(tmp_path)["system/memory_percent"]]
    assert steps == list(range(len(steps)))
    assert len(steps) >= 3


def test_summary_writer_option(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "on"), system_metrics=True) as on:
        handle = on._system_monitor
        assert isinstance(handle, SystemMonitor)
        assert handle.interval == 10.0
        assert handle.prefix == "system/"
    assert not handle.active
    assert on._system_monitor is None
    with SummaryWriter(str(tmp_path / "every"), system_metrics=2.5) as every:
        assert every._system_monitor.interval == 2.5
    with SummaryWriter(str(tmp_path / "off")) as off:
        assert off._system_monitor is None


@pytest.mark.parametrize(
    ("option", "error"),
    [(0, ValueError), (-1, ValueError), (math.nan, ValueError), ("fast", TypeError)],
)
def test_a_bad_system_metrics_option_raises(tmp_path: Path, option: Any, error: type) -> None:
    with pytest.raises(error, match="system_metrics"):
        SummaryWriter(str(tmp_path), system_metrics=option)
    with pytest.raises(error, match="interval"):
        monitor(SimpleNamespace(add_scalar=print), option)


def test_a_new_monitor_replaces_the_old_one_and_goes_on_with_its_steps(
    tmp_path: Path, writer: SummaryWriter
) -> None:
    first = fake_monitor(writer)
    first.sample_once()
    first.sample_once()
    second = fake_monitor(writer)
    assert not first.active
    assert second.step == 2
    second.sample_once()
    writer.close()
    steps = [step for step, _ in read_scalars(tmp_path)["system/memory_percent"]]
    assert steps == [0, 1, 2]  # a step going back would make TensorBoard drop points


def test_the_tf2_writer(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing import plugin_event_accumulator
    from tensorboard.util import tensor_util

    writer = summary.create_file_writer(str(tmp_path))
    handle = fake_monitor(writer)
    handle.sample_once()
    assert handle.sample_once()["system/gpu1/power_watts"] == 300.0
    writer.close()
    assert handle.sample_once() == {}  # a closed writer ends sampling, without raising
    assert not handle.active
    accumulator = plugin_event_accumulator.EventAccumulator(str(tmp_path))
    accumulator.Reload()
    assert "system/gpu1/power_watts" in accumulator.PluginTagToContent("scalars")
    points = accumulator.Tensors("system/gpu1/power_watts")
    assert [event.step for event in points] == [0, 1]
    assert tensor_util.make_ndarray(points[1].tensor_proto).item() == 300.0


def test_other_writers_get_add_scalar_calls(writer: SummaryWriter) -> None:
    calls: list[tuple[str, float, int]] = []
    other = SimpleNamespace(
        add_scalar=lambda tag, value, step, walltime: calls.append((tag, value, step))
    )
    fake_monitor(other, nvml=None).sample_once()
    assert ("system/memory_percent", 25.0, 0) in calls


def test_a_failed_write_never_raises_into_training(caplog: pytest.LogCaptureFixture) -> None:
    def full_disk(tag: str, value: float, step: int, walltime: float) -> None:
        raise EventWriteError("No space left on device", errno=28, path="/runs/x")

    handle = fake_monitor(SimpleNamespace(add_scalar=full_disk), nvml=None)
    with caplog.at_level(logging.INFO, logger="lumiboard.writer.system_metrics"):
        assert handle.sample_once() == {}
        assert handle.sample_once() == {}
    assert handle.active  # a full disk may clear: sampling goes on
    assert handle.step == 2
    assert len([r for r in caplog.records if "No space left" in r.getMessage()]) == 1


@pytest.fixture
def rank_1_of_2(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "TF_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")


@pytest.mark.usefixtures("rank_1_of_2")
def test_ranks(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "all"), ranks="all") as shared:
        assert fake_monitor(shared).prefix == "system/rank_1/"
    with SummaryWriter(str(tmp_path / "separate"), ranks="separate") as own:
        values = fake_monitor(own).sample_once()
        assert "system/memory_percent" in values
        assert own.log_dir.endswith("rank_1")
    with SummaryWriter(str(tmp_path / "zero"), ranks="zero", system_metrics=0.05) as muted:
        assert muted._system_monitor is None
        handle = fake_monitor(muted)
        assert not handle.active
        assert handle.sample_once() == {}
        assert handle._thread is None
    assert not (tmp_path / "zero").exists()
    tf2_own = summary.create_file_writer(str(tmp_path / "tf2"), ranks="separate")
    assert fake_monitor(tf2_own).prefix == "system/"
    tf2_shared = summary.create_file_writer(str(tmp_path / "tf2"))
    assert fake_monitor(tf2_shared).prefix == "system/rank_1/"
    assert not fake_monitor(summary.create_file_writer(str(tmp_path), ranks="zero")).active
    tf2_own.close()
    tf2_shared.close()


def test_amounts_never_go_back() -> None:
    totals = iter([100.0, 100.0 + 2 * MIB, 5.0, 5.0 + MIB])  # the counter restarts at 5 bytes
    amounts = _Amounts(lambda: {"disk_read": next(totals)})
    readings = [amounts.read(now) for now in (0.0, 1.0, 2.0, 3.0)]
    assert [r["disk_read_mib"] for r in readings] == [0.0, 2.0, 2.0, 3.0]
    assert [r.get("disk_read_mib_per_s") for r in readings] == [None, 2.0, None, 1.0]


def test_exit_is_not_delayed_by_a_hung_sensor(tmp_path: Path) -> None:
    # A sensor that never returns (a wedged GPU driver) must not keep the process
    # alive, and what was written before still reads.
    script = textwrap.dedent(
        f"""
        import threading
        from types import SimpleNamespace
        from lumiboard import SummaryWriter
        from lumiboard.writer.system_metrics import monitor

        started = threading.Event()

        def hang(now=None):
            started.set()
            threading.Event().wait()

        nvml = SimpleNamespace(nvmlInit=hang)
        writer = SummaryWriter({str(tmp_path)!r})
        writer.add_scalar("loss", 1.0, 0)
        monitor(writer, 0.05, psutil=None, nvml=nvml)
        assert started.wait(30)
        print("exiting")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "exiting"
    assert read_scalars(tmp_path)["loss"] == [(0, 1.0)]


def test_a_forked_child_neither_samples_nor_waits_for_the_parents_locks(
    writer: SummaryWriter,
) -> None:
    psutil = FakePsutil()
    handle = fake_monitor(writer, psutil=psutil)
    # As after a fork in the middle of a parent's write: the locks stay held.
    handle._write_lock.acquire()
    handle._sample_lock.acquire()
    handle._pid = -1
    assert handle.sample_once() == {}
    handle.stop()
    assert not handle.active
    assert psutil.calls["virtual_memory"] == 0
