"""``lumiboard`` starts loading before it builds the server: the first reload pass runs while
uvicorn, starlette and the plugins' routes are imported and the app is built, and the server
answers while that pass is still loading."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cli_support import Served, record_serving

from lumiboard import SummaryWriter, cli
from lumiboard.reader import ingest, reload
from lumiboard.server import app as server_app


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    return record_serving(monkeypatch)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    with SummaryWriter(str(tmp_path / "logs" / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    return tmp_path / "logs"


@pytest.fixture
def order(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What happened, in order: the reloader started, a listener added, the app built."""
    events: list[str] = []
    start, add_listener = reload.Reloader.start, reload.Reloader.add_listener
    create_app = server_app.create_app

    def recording_start(self: reload.Reloader, interval: float) -> None:
        events.append("reloader started")
        start(self, interval)

    def recording_add_listener(self: reload.Reloader, listener: Any) -> None:
        events.append("listener added")
        add_listener(self, listener)

    def recording_create_app(*args: Any, **kwargs: Any) -> Any:
        events.append("app built")
        return create_app(*args, **kwargs)

    monkeypatch.setattr(reload.Reloader, "start", recording_start)
    monkeypatch.setattr(reload.Reloader, "add_listener", recording_add_listener)
    monkeypatch.setattr(server_app, "create_app", recording_create_app)
    return events


def test_the_first_pass_starts_before_the_app_is_built(
    served: Served, logdir: Path, order: list[str]
) -> None:
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0"]) == 0
    assert order == ["reloader started", "app built"]
    with served.client() as client:  # and what it loaded is served
        assert client.get("/data/runs").json() == ["run"]


def test_with_an_alert_webhook_the_first_pass_starts_once_it_listens(
    served: Served, logdir: Path, order: list[str]
) -> None:
    # The webhook hears of every pass, the first one too.
    hook = "http://127.0.0.1:9/hook"
    args = ["--logdir", str(logdir), "--no-cache", "--port", "0", "--alert-webhook", hook]
    assert cli.main(args) == 0
    assert order == ["app built", "listener added", "reloader started"]


def test_a_request_while_the_first_pass_loads_is_answered(
    monkeypatch: pytest.MonkeyPatch, logdir: Path
) -> None:
    import uvicorn

    loading, release = threading.Event(), threading.Event()
    load = ingest.RunLoader.load

    def slow_load(self: ingest.RunLoader, *args: Any, **kwargs: Any) -> int:
        loading.set()
        assert release.wait(30)
        return load(self, *args, **kwargs)

    answers: dict[str, Any] = {}

    def run_while_loading(server: uvicorn.Server, sockets: Any = None) -> None:
        from starlette.testclient import TestClient

        assert loading.wait(30)  # the pass is under way, held in the middle of a run
        try:
            with TestClient(server.config.app, base_url="http://localhost") as client:
                answers["status"] = client.get("/data/status").json()
                answers["runs"] = client.get("/data/runs").json()
        finally:
            release.set()
        server.started = True

    monkeypatch.setattr(ingest.RunLoader, "load", slow_load)
    monkeypatch.setattr(uvicorn.Server, "run", run_while_loading)
    monkeypatch.delenv("LUMIBOARD_AUTH_TOKEN", raising=False)
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0"]) == 0
    assert answers["status"]["loading"] is True
    assert answers["status"]["runs_done"] == 0
    assert answers["runs"] == ["run"]  # listed as soon as the pass found it


def test_a_failure_while_building_the_server_stops_the_early_pass(
    monkeypatch: pytest.MonkeyPatch, served: Served, logdir: Path
) -> None:
    stopped: list[reload.Reloader] = []
    stop = reload.Reloader.stop

    def recording_stop(self: reload.Reloader) -> None:
        stopped.append(self)
        stop(self)

    def broken_create_app(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no app")

    monkeypatch.setattr(reload.Reloader, "stop", recording_stop)
    monkeypatch.setattr(server_app, "create_app", broken_create_app)
    with pytest.raises(RuntimeError, match="no app"):
        cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0"])
    assert len(stopped) == 1
    assert not [t for t in threading.enumerate() if t.name == "lumiboard-reload"]
    assert not served.calls


# ---- one malloc heap for the server's threads ---------------------------------------------------


class _FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return 1


@pytest.fixture
def libc(monkeypatch: pytest.MonkeyPatch) -> _FakeLibc:
    import ctypes

    ingest._malloc_trim()  # cached now, with the real C library (it is looked up once)
    fake = _FakeLibc()
    monkeypatch.setattr(ctypes, "CDLL", lambda name: fake)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    return fake


def test_the_server_asks_for_one_malloc_heap_before_its_threads_start(
    served: Served, logdir: Path, libc: _FakeLibc, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    init = reload.Reloader.__init__
    share = cli._share_malloc_arena

    def recording_init(self: reload.Reloader, *args: Any, **kwargs: Any) -> None:
        events.append("reloader built")
        init(self, *args, **kwargs)

    def recording_share() -> None:
        events.append("one heap")
        share()

    monkeypatch.setattr(reload.Reloader, "__init__", recording_init)
    monkeypatch.setattr(cli, "_share_malloc_arena", recording_share)
    assert cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0"]) == 0
    assert events == ["one heap", "reloader built"]
    assert libc.calls == [(-8, 1)]  # M_ARENA_MAX, 1


def test_malloc_arena_max_in_the_environment_is_left_alone(
    libc: _FakeLibc, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    cli._share_malloc_arena()
    assert libc.calls == []


def test_without_glibc_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    def no_libc(name: Any) -> Any:
        raise OSError("no C library here")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    cli._share_malloc_arena()  # no error


def test_the_server_is_not_imported_before_the_first_pass_starts(logdir: Path) -> None:
    # Imported after the pass has started, uvicorn, starlette and the plugins' routes load
    # while the event files are read.
    code = (
        "import sys\n"
        "from lumiboard import cli\n"
        "from lumiboard.reader import reload\n"
        "def start(self, interval):\n"
        "    heavy = ('uvicorn', 'starlette.applications', 'lumiboard.server.app')\n"
        "    print(sorted(m for m in heavy if m in sys.modules))\n"
        "    raise SystemExit(0)\n"
        "reload.Reloader.start = start\n"
        f"cli.main(['--logdir', {str(logdir)!r}, '--no-cache', '--port', '0'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
