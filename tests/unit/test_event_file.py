"""The writer engine: background writes, flushing, naming, fork, kill -9, errors.

Files are read back with TensorBoard's own loader.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

from lumiboard.format.proto import event_pb2
from lumiboard.writer import event_file
from lumiboard.writer.event_file import EventFileWriter, WriterClosedError
from lumiboard.writer.summary_writer import SummaryWriter

NAME = re.compile(r"^events\.out\.tfevents\.\d{10}\.[^.]+(\.[^.]+)*\.(\d+)\.(\d+)(.*)$")


def events(path: str | Path) -> list:
    return list(LegacyEventFileLoader(str(path)).Load())


def steps(path: str | Path) -> list[int]:
    return [e.step for e in events(path) if e.HasField("summary")]


def files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if "tfevents" in p.name)


def scalar_event(step: int) -> event_pb2.Event:
    event = event_pb2.Event(step=step, wall_time=time.time())
    event.summary.value.add(tag="x", simple_value=float(step))
    return event


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_file_name_and_header(tmp_path: Path) -> None:
    writer = EventFileWriter(tmp_path, filename_suffix=".v2")
    writer.close()
    (path,) = files(tmp_path)
    match = NAME.match(path.name)
    assert match is not None, path.name
    assert match.group(2) == str(os.getpid())
    assert path.name.endswith(".v2")
    first = events(path)[0]
    assert first.file_version == "brain.Event:2"


def test_flush_makes_events_visible(tmp_path: Path) -> None:
    writer = EventFileWriter(tmp_path, max_queue=1000, flush_secs=60)
    for step in range(5):
        writer.add_event(scalar_event(step))
    writer.flush()
    assert steps(writer.path) == [0, 1, 2, 3, 4]
    writer.close()


def test_periodic_flush_without_calls(tmp_path: Path) -> None:
    writer = EventFileWriter(tmp_path, max_queue=1000, flush_secs=0.2)
    writer.add_event(scalar_event(7))
    deadline = time.monotonic() + 5
    while steps(writer.path) != [7] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert steps(writer.path) == [7]
    writer.close()


def test_max_queue_triggers_a_write(tmp_path: Path) -> None:
    writer = EventFileWriter(tmp_path, max_queue=3, flush_secs=60)
    for step in range(3):
        writer.add_event(scalar_event(step))
    deadline = time.monotonic() + 5
    while len(steps(writer.path)) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert steps(writer.path) == [0, 1, 2]
    writer.close()


def test_queue_capacity_applies_backpressure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_file, "QUEUE_CAPACITY", 20)
    writer = EventFileWriter(tmp_path, max_queue=5, flush_secs=60)
    for step in range(500):
        writer.add_event(scalar_event(step))
        assert len(writer._pending) <= 21
    writer.close()
    assert steps(writer.path) == list(range(500))


def test_close_is_idempotent_and_add_after_close_raises(tmp_path: Path) -> None:
    writer = EventFileWriter(tmp_path)
    writer.add_event(scalar_event(1))
    writer.close()
    writer.close()
    writer.flush()  # a no-op once closed
    with pytest.raises(WriterClosedError):
        writer.add_event(scalar_event(2))
    assert steps(writer.path) == [1]


def test_summary_writer_reopens_after_close(tmp_path: Path) -> None:
    writer = SummaryWriter(tmp_path)
    writer.add_scalar("a", 1.0, 1)
    writer.close()
    writer.add_scalar("a", 2.0, 2)
    writer.close()
    found = files(tmp_path)
    assert len(found) == 2
    assert sorted(s for f in found for s in steps(f)) == [1, 2]


def test_writer_thread_error_is_raised_in_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = EventFileWriter(tmp_path, max_queue=1, flush_secs=60)

    def broken_write(data: bytes, ends: object = ()) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer._sink, "write", broken_write)
    writer.add_event(scalar_event(1))
    with pytest.raises(RuntimeError, match="No space left") as info:
        writer.flush()
    assert isinstance(info.value.__cause__, OSError)
    # The write never succeeded: close reports the event as lost.
    with pytest.raises(RuntimeError, match="1 accepted events were not written"):
        writer.close()


def test_error_surfaces_on_the_next_add(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = EventFileWriter(tmp_path, max_queue=1, flush_secs=60)
    monkeypatch.setattr(
        writer._sink, "write", lambda data, ends=(): (_ for _ in ()).throw(OSError("boom"))
    )
    writer.add_event(scalar_event(1))
    deadline = time.monotonic() + 5
    while writer._failure is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(RuntimeError, match="boom"):
        writer.add_event(scalar_event(2))
    monkeypatch.undo()
    writer.close()


def test_error_surfaces_on_close(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = EventFileWriter(tmp_path, max_queue=100, flush_secs=60)
    monkeypatch.setattr(
        writer._sink, "write", lambda data, ends=(): (_ for _ in ()).throw(OSError("late"))
    )
    writer.add_event(scalar_event(1))
    with pytest.raises(RuntimeError, match="late"):
        writer.close()


def test_processes_sharing_a_directory_get_distinct_files(tmp_path: Path) -> None:
    code = """
        import sys
        from lumiboard import SummaryWriter
        with SummaryWriter(sys.argv[1]) as writer:
            for step in range(50):
                writer.add_scalar("rank", float(sys.argv[2]), step)
    """
    procs = [run_python(code, str(tmp_path), str(rank)) for rank in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    found = files(tmp_path)
    assert len(found) == 4
    ranks = set()
    for path in found:
        values = [e.summary.value[0].simple_value for e in events(path) if e.HasField("summary")]
        assert len(values) == 50
        assert len(set(values)) == 1
        ranks.add(values[0])
    assert ranks == {0.0, 1.0, 2.0, 3.0}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
# JAX (imported by other tests) warns at every fork from its at-fork hook.
@pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
def test_forked_child_writes_its_own_file(tmp_path: Path) -> None:
    writer = SummaryWriter(tmp_path, max_queue=1000, flush_secs=60)
    writer.add_scalar("who", 1.0, 1)  # still queued in memory at fork time
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            writer.add_scalar("who", 2.0, 2)
            writer.close()
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    writer.add_scalar("who", 3.0, 3)
    writer.close()
    by_pid = {}
    for path in files(tmp_path):
        match = NAME.match(path.name)
        assert match is not None
        by_pid[int(match.group(2))] = steps(path)
    assert by_pid == {os.getpid(): [1, 3], pid: [2]}


def test_kill_minus_9_loses_at_most_flush_secs(tmp_path: Path) -> None:
    code = """
        import sys, time
        from lumiboard import SummaryWriter
        writer = SummaryWriter(sys.argv[1], flush_secs=0.3)
        for step in range(1000):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
        print("written", flush=True)
        step = 1000
        while True:  # keep writing: the kill lands mid-stream
            writer.add_scalar("loss", 0.0, step)
            step += 1
            time.sleep(0.0005)
    """
    proc = run_python(code, str(tmp_path))
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "written"
    time.sleep(1.0)  # > flush_secs: the first 1000 points must be on disk
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)  # reaps the process and closes its pipes
    (path,) = files(tmp_path)
    recorded = steps(path)  # reading raises if a record is damaged
    assert recorded[:1000] == list(range(1000))
    assert recorded == list(range(len(recorded)))


def test_interpreter_exit_flushes(tmp_path: Path) -> None:
    code = """
        import sys
        from lumiboard import SummaryWriter
        writer = SummaryWriter(sys.argv[1], flush_secs=3600, max_queue=100000)
        for step in range(10):
            writer.add_scalar("x", step, step)
        # no flush, no close: the exit hook must write everything
    """
    proc = run_python(code, str(tmp_path))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    (path,) = files(tmp_path)
    assert steps(path) == list(range(10))


def test_purge_step_events(tmp_path: Path) -> None:
    SummaryWriter(tmp_path, purge_step=42).close()
    (path,) = files(tmp_path)
    loaded = events(path)
    assert loaded[1].step == 42
    assert loaded[1].file_version == "brain.Event:2"
    assert loaded[2].step == 42
    assert loaded[2].session_log.status == event_pb2.SessionLog.START


def test_invalid_flush_secs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="flush_secs"):
        EventFileWriter(tmp_path, flush_secs=0)
