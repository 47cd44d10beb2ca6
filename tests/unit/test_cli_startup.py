"""What ``lumiboard`` says when it starts: the port it fell back to, what the install lacks
(the native scanner, the built web app), a log directory that does not exist; the same in
``/data/status``; and ``--memory-budget`` reaching the reloader."""

from __future__ import annotations

import inspect
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import Served, hold_port, record_serving, write_logdir

from lumiboard import cli
from lumiboard.reader import scan
from lumiboard.server import static


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    return record_serving(monkeypatch)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    return write_logdir(tmp_path)


@pytest.fixture
def no_native(monkeypatch: pytest.MonkeyPatch) -> None:
    """The C scanner hidden, as on an install built without a compiler."""
    monkeypatch.setattr(scan, "_native", None)
    monkeypatch.setattr(scan, "NATIVE", False)


@pytest.fixture
def no_web_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The built web app missing, as on an install built without Node."""
    empty = tmp_path / "no-static"
    empty.mkdir()
    monkeypatch.setenv("LUMIBOARD_STATIC_DIR", str(empty))


@pytest.fixture
def web_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    built = tmp_path / "static"
    built.mkdir()
    (built / "index.html").write_text("<!doctype html><title>lumiboard</title>")
    monkeypatch.setenv("LUMIBOARD_STATIC_DIR", str(built))


# ---- the port ---------------------------------------------------------------------------------


@pytest.fixture
def taken_port() -> Iterator[int]:
    with hold_port() as port:
        yield port


def test_a_taken_port_says_which_port_serves_instead(
    served: Served, logdir: Path, taken_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", str(taken_port)]) == 0
    port = served.calls[-1]["port"]
    assert port != taken_port
    captured = capsys.readouterr()
    assert f"port {taken_port} is in use; serving on {port} instead" in captured.err
    assert f"http://localhost:{port}/ " in captured.out  # the URL has the port really served


def test_a_free_port_says_nothing_of_ports(
    served: Served, logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as finder:
        finder.bind(("127.0.0.1", 0))
        free = int(finder.getsockname()[1])
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", str(free)]) == 0
    assert served.calls[-1]["port"] == free
    assert "in use" not in capsys.readouterr().err


# ---- /data/status -----------------------------------------------------------------------------


def test_status_reports_the_install_and_each_logdir(
    served: Served, logdir: Path, tmp_path: Path, web_app: None
) -> None:
    missing = tmp_path / "not" / "there"
    spec = f"a:{logdir},b:{missing}"
    assert cli.main(["--logdir", spec, "--no-cache", "--port", "0"]) == 0
    with served.client() as client:
        status = client.get("/data/status").json()
    assert status["native_scanner"] is True
    assert status["web_app"] is True
    assert status["logdirs"] == [
        {"name": "a", "path": str(logdir), "exists": True},
        {"name": "b", "path": str(missing), "exists": False},
    ]
    assert status["logdir_exists"] is False
    # Created later: the next status says so.
    missing.mkdir(parents=True)
    with served.client() as client:
        status = client.get("/data/status").json()
    assert [entry["exists"] for entry in status["logdirs"]] == [True, True]
    assert status["logdir_exists"] is True


def test_status_without_the_native_scanner_or_the_web_app(
    served: Served, logdir: Path, no_native: None, no_web_app: None
) -> None:
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0"]) == 0
    with served.client() as client:
        status = client.get("/data/status").json()
    assert status["native_scanner"] is False
    assert status["web_app"] is False
    assert status["logdirs"] == [{"name": None, "path": str(logdir), "exists": True}]
    assert status["logdir_exists"] is True


def test_a_remote_logdir_is_not_probed(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    # Its existence is unknown (null): status is polled, and a bucket listing is slow.
    from lumiboard.server import preflight

    assert preflight.logdir_states(["s3://bucket/runs"]) == [
        {"name": None, "path": "s3://bucket/runs", "exists": None}
    ]


# ---- start-up warnings ------------------------------------------------------------------------


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def test_no_warnings_on_a_full_install(
    served: Served, logdir: Path, web_app: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0"]) == 0
    assert _warnings(capsys.readouterr().err) == []


def test_warns_when_the_native_scanner_is_missing(
    served: Served,
    logdir: Path,
    web_app: None,
    no_native: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0"]) == 0
    (warning,) = _warnings(capsys.readouterr().err)
    assert "native scanner" in warning
    assert "100" in warning  # how much slower
    assert "wheel" in warning
    assert "compiler" in warning


def test_warns_when_the_web_app_is_missing(
    served: Served,
    logdir: Path,
    no_web_app: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0"]) == 0
    (warning,) = _warnings(capsys.readouterr().err)
    assert "web app" in warning
    assert "Node" in warning
    assert "wheel" in warning


def test_warns_when_the_logdir_does_not_exist(
    served: Served, tmp_path: Path, web_app: None, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo"
    assert cli.main([str(missing), "--no-cache", "--port", "0"]) == 0
    (warning,) = _warnings(capsys.readouterr().err)
    assert f"log directory {missing} does not exist" in warning
    assert served.calls  # served all the same: it may be created later


def test_the_not_built_page_says_what_to_install(
    served: Served, logdir: Path, no_web_app: None
) -> None:
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0"]) == 0
    assert static.static_dir() is None
    with served.client() as client:
        page = client.get("/")
    assert page.status_code == 503
    assert "Node" in page.text
    assert "wheel" in page.text


# ---- --memory-budget reaches the reloader ------------------------------------------------------


def test_memory_budget_reaches_the_reloader(
    served: Served, logdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lumiboard.reader import reload

    seen: list[dict[str, Any]] = []
    real = reload.Reloader

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            seen.append(dict(kwargs))
            if "memory_budget" in inspect.signature(real.__init__).parameters:
                super().__init__(*args, **kwargs)
            else:  # the reloader's keyword is another change's: record, then build without
                kwargs.pop("memory_budget", None)
                super().__init__(*args, **kwargs)

    monkeypatch.setattr(reload, "Reloader", Recording)
    monkeypatch.setattr(cli, "_reloader_takes_budget", lambda: True)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert cli.main(["--logdir", str(logdir), *cache, "--memory-budget", "1.5GiB"]) == 0
    assert seen[-1]["memory_budget"] == 3 * 2**29
    assert cli.main(["--logdir", str(logdir), *cache]) == 0
    assert seen[-1].get("memory_budget") is None
    # The budget drops series to read them back from the cache: without one, a clear error.
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--logdir", str(logdir), "--no-cache", "--memory-budget", "1G"])
    assert "--no-cache" in str(exit_info.value.code)


def test_memory_budget_without_support_is_a_clear_error(
    served: Served, logdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_reloader_takes_budget", lambda: False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--logdir", str(logdir), "--no-cache", "--memory-budget", "1G"])
    assert "--memory-budget" in str(exit_info.value.code)
    assert not served.calls


def test_the_parser_module_is_light() -> None:
    # Parsing (and --help) imports no server.
    import subprocess

    code = (
        "import sys; from lumiboard import cli_parser; cli_parser.parse(['x']); "
        "print(sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
