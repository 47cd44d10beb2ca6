"""The ``lumiboard`` command line: TensorBoard's flags, serve by default, and a real server."""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cli_support import Served, hold_port, record_serving, write_logdir

from lumiboard import SummaryWriter, __version__, cli

#: Flags TensorBoard takes that mean nothing to lumiboard, as a launch script may pass them.
IGNORED = [
    ["--load_fast=true"],
    ["--load_fast", "false"],
    ["--reload_multifile", "true"],
    ["--reload_multifile_inactive_secs", "-1"],
    ["--max_reload_threads", "4"],
    ["--reload_task", "process"],
    ["--purge_orphaned_data=false"],
    ["--detect_file_replacement"],
    ["--generic_data", "auto"],
    ["--reuse_port"],
]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    """``main`` runs up to the server and returns: the server only records what it was given."""
    return record_serving(monkeypatch)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    return write_logdir(tmp_path)


# ---- parsing ---------------------------------------------------------------------------


def test_no_command_means_serve() -> None:
    assert cli.parse([]).command == "serve"
    args = cli.parse(["--logdir", "runs", "--port", "7000"])
    assert (args.command, args.logdir, args.port) == ("serve", "runs", 7000)
    assert cli.parse(["serve", "--logdir", "runs"]).logdir == "runs"


def test_a_logdir_named_like_a_command_is_a_logdir() -> None:
    args = cli.parse(["--logdir", "demo"])
    assert (args.command, args.logdir) == ("serve", "demo")
    assert cli.parse(["--logdir", "serve", "--window_title", "demo"]).command == "serve"


def test_defaults_are_tensorboards() -> None:
    args = cli.parse(["--logdir", "runs"])
    assert args.port == 6006
    assert args.host is None
    assert args.bind_all is False
    assert args.path_prefix == ""
    assert args.reload_interval == 5.0
    assert cli.parse(["--logdir", "x", "--port", "default"]).port == 6006
    assert cli.parse(["--logdir", "x", "--port", "0"]).port == 0


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_bad_port_is_a_usage_error(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.parse(["--logdir", "x", "--port", port])
    assert exit_info.value.code == 2
    assert "--port" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--bogus"], ["--logdir", "x", "--load-fast"], ["-z"]])
def test_unknown_flag_is_a_usage_error(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(flags)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err
    assert flags[-1] in err


@pytest.mark.parametrize("flags", IGNORED)
def test_tensorboard_flags_that_do_not_apply_are_noted(
    flags: list[str], served: Served, logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--logdir", str(logdir), "--no-cache", *flags]) == 0
    name = flags[0].split("=")[0]
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1
    assert notes[0].startswith(f"note: {name} is ignored (")
    # The note is shown in /data/status too.
    with served.client() as client:
        assert client.get("/data/status").json()["notes"] == notes


def test_several_ignored_flags_one_line_each(
    served: Served, logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--load_fast=true", "--reload_multifile", "true", "--max_reload_threads", "4"]
    assert cli.main(["--logdir", str(logdir), "--no-cache", *flags]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert [note.split()[1] for note in notes] == [
        "--load_fast",
        "--reload_multifile",
        "--max_reload_threads",
    ]


def test_logdir_and_logdir_spec_together_is_an_error(served: Served, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--logdir", str(tmp_path), "--logdir_spec", f"a:{tmp_path}"])
    message = str(exit_info.value.code)
    assert "--logdir" in message
    assert "--logdir_spec" in message
    assert not served.calls


def test_a_logdir_is_required(served: Served) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert "--logdir" in str(exit_info.value.code)
    assert not served.calls


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--path_prefix", "tb"], "must start with '/'"),
        (["--samples_per_plugin", "nonsense=3"], "nonsense"),
        (["--samples_per_plugin", "images"], "samples_per_plugin"),
        (["--samples_per_plugin", "images=-1"], "negative"),
    ],
)
def test_bad_values_are_clear_errors(
    flags: list[str], words: str, served: Served, logdir: Path
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--logdir", str(logdir), "--no-cache", *flags])
    assert isinstance(exit_info.value.code, str)
    assert exit_info.value.code.startswith("lumiboard: ")
    assert words in exit_info.value.code
    assert not served.calls


def test_logdir_spec_serves_named_runs(served: Served, logdir: Path) -> None:
    assert cli.main(["--logdir_spec", f"train:{logdir}", "--no-cache", "--port", "0"]) == 0
    with served.client() as client:
        assert client.get("/data/runs").json() == ["train/run"]


def test_path_prefix_and_url(
    served: Served, logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0", "--path_prefix", "/tb/"])
        == 0
    )
    call = served.calls[-1]
    assert call["host"] == "127.0.0.1"  # localhost
    assert call["port"] > 0
    out = capsys.readouterr().out
    assert f"http://localhost:{call['port']}/tb/ " in out
    with served.client() as client:
        assert client.get("/tb/data/runs").json() == ["run"]
        assert client.get("/data/runs").status_code == 404


def test_bind_all_and_host(served: Served, logdir: Path) -> None:
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0", "--bind_all"]) == 0
    assert served.calls[-1]["host"] in ("::", "0.0.0.0")  # 0.0.0.0: a machine without IPv6
    assert (
        cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0", "--host", "127.0.0.1"]) == 0
    )
    assert served.calls[-1]["host"] == "127.0.0.1"


def test_auth_token_from_the_environment(
    served: Served,
    logdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LUMIBOARD_AUTH_TOKEN", "from env/ü")
    assert cli.parse(["--logdir", "x"]).auth_token == "from env/ü"
    assert cli.parse(["--logdir", "x", "--auth-token", "flag"]).auth_token == "flag"
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0"]) == 0
    out = capsys.readouterr().out
    assert "?token=from%20env%2F%C3%BC " in out  # the printed URL carries it, quoted
    with served.client() as client:
        assert client.get("/data/runs").status_code == 401
        assert client.get("/data/runs", params={"token": "from env/ü"}).status_code == 200


def test_no_token_by_default(served: Served, logdir: Path) -> None:
    assert cli.parse(["--logdir", "x"]).auth_token is None
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0"]) == 0
    with served.client() as client:
        assert client.get("/data/runs").status_code == 200


# ---- ports -------------------------------------------------------------------------------


@pytest.fixture
def taken_port() -> Iterator[int]:
    with hold_port() as port:
        yield port


def _port_of(sockets: list[socket.socket]) -> int:
    ports = {int(sock.getsockname()[1]) for sock in sockets}
    assert len(ports) == 1  # every address of the host on one port
    for sock in sockets:
        sock.close()
    return ports.pop()


def test_taken_port_moves_to_the_next_free_one(taken_port: int) -> None:
    for host in ("localhost", "127.0.0.1"):
        port = _port_of(cli._listen(host, taken_port))
        assert taken_port < port < taken_port + 100


def test_the_wanted_port_when_free(taken_port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as finder:
        finder.bind(("127.0.0.1", 0))
        free = int(finder.getsockname()[1])
    assert _port_of(cli._listen("localhost", free)) == free


def test_port_zero_asks_the_os() -> None:
    assert 0 < _port_of(cli._listen("localhost", 0)) < 65536


# ---- subprocesses: --version, demo, a real server ------------------------------------------


def _python_m(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lumiboard", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_version() -> None:
    result = _python_m("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"lumiboard {__version__}"
    assert _python_m("--logdir", "x", "--version").stdout.strip() == f"lumiboard {__version__}"


@pytest.mark.slow
def test_demo_without_serving(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = _python_m("demo", "--no-serve", "--logdir", str(target), "--steps", "5")
    assert result.returncode == 0, result.stderr
    assert str(target.resolve()) in result.stdout
    assert {"lr_0.1", "lr_0.01", "media", "tf2_style"} <= {p.name for p in target.iterdir()}
    assert list(target.glob("events.out.tfevents.*"))


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _until(condition: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


@pytest.mark.slow
def test_serve_end_to_end(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path / "live"))
    for step in range(3):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
    writer.flush()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lumiboard",
            "--logdir",
            str(tmp_path),
            "--port",
            "0",
            "--reload_interval",
            "1",
            "--no-cache",
            "--load_fast=true",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
    try:
        first = lines.get(timeout=30)
        assert first.startswith(f"lumiboard {__version__} at http://localhost:")
        url = first.split(" at ")[1].split()[0]
        assert url.endswith("/")
        assert _until(lambda: "live" in _get_json(url + "data/runs"))
        scalars = url + "data/plugin/scalars/scalars?" + urlencode({"run": "live", "tag": "loss"})
        assert [point[1] for point in _get_json(scalars)] == [0, 1, 2]
        for step in range(3, 6):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
        writer.flush()
        assert _until(lambda: len(_get_json(scalars)) == 6)
        assert [point[1] for point in _get_json(scalars)] == list(range(6))
        status = _get_json(url + "data/status")
        assert status["passes"] >= 2
        assert status["notes"] == [
            "note: --load_fast is ignored (lumiboard always uses its native loader)"
        ]
    finally:
        writer.close()
        process.terminate()
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert err.splitlines()[0] == (
        "note: --load_fast is ignored (lumiboard always uses its native loader)"
    )


def test_log_records_go_to_the_stderr_of_the_moment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``main``'s log handler follows ``sys.stderr``: a stream replaced then closed (a test's
    capture, a notebook's) is never written to again by a thread that logs later."""
    import io
    import logging

    handler = cli._StderrHandler()
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    record = logging.LogRecord("lumiboard", logging.WARNING, __file__, 1, "kept", None, None)
    handler.emit(record)
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    handler.emit(record)  # the closed stream would raise "I/O operation on closed file"
    assert second.getvalue() == "kept\n"


def test_serving_leaves_the_process_logging_handlers_alone(
    served: Served, logdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starting the server must not shut down handlers the process already has (uvicorn's
    default logging config closes them all: absl's, imported with keras, then closed a
    captured stderr under pytest)."""
    import io
    import logging

    class Closing(logging.StreamHandler):  # type: ignore[type-arg]
        """Closes its stream when closed, as absl's handler does."""

        def close(self) -> None:
            self.stream.close()
            super().close()

    stream = io.StringIO()
    handler = Closing(stream)
    logging.getLogger("someone.else").addHandler(handler)
    try:
        assert cli.main(["--logdir", str(logdir), "--no-cache"]) == 0
        assert not stream.closed
        logging.getLogger("someone.else").warning("still here")
        assert "still here" in stream.getvalue()
    finally:
        logging.getLogger("someone.else").removeHandler(handler)
