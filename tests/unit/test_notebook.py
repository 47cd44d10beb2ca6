"""``%load_ext lumiboard`` / ``%lumiboard``: a notebook executed by a real kernel (ipykernel).

The kernel starts the server as a background process; the test reads the cells' outputs,
asks the server for its runs, and stops it from the notebook, as a user would.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shlex
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lumiboard import SummaryWriter, notebook
from lumiboard.server import static

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


@pytest.fixture
def info_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private info directory (the kernel inherits it); every server in it ends with the test."""
    path = tmp_path / "info"
    monkeypatch.setenv("LUMIBOARD_INFO_DIR", str(path))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core warns without it
    yield path
    for record in path.glob("*.json"):
        pid = json.loads(record.read_text())["pid"]
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # left by a failed test: no process outlives it


def outputs_text(cell: Any) -> str:
    """Everything a cell showed, as text (streams, text/plain and text/html)."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("display_data", "execute_result"):
            parts.extend(output.data.get(kind, "") for kind in ("text/plain", "text/html"))
        elif output.output_type == "error":
            parts.append(f"ERROR {output.ename}: {output.evalue}")
    return "\n".join(parts)


def get(url: str) -> tuple[Any, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read(), dict(answer.headers)


def wait_for_runs(port: int) -> list[str]:
    """The server's runs once its first load has read the one written (it loads in the back)."""
    deadline = time.monotonic() + 20
    while True:
        runs: list[str] = json.loads(get(f"http://localhost:{port}/data/runs")[0])
        if runs or time.monotonic() > deadline:
            return runs
        time.sleep(0.1)


def test_magic_starts_reuses_lists_and_stops_a_server(tmp_path: Path, info_dir: Path) -> None:
    logdir = tmp_path / "runs"
    flags = f"--logdir {shlex.quote(str(logdir))} --port 0 --no-cache --reload_interval 1"
    cells = [
        "from lumiboard import SummaryWriter\n"
        f"with SummaryWriter({str(logdir / 'train')!r}) as writer:\n"
        "    for step in range(5):\n"
        "        writer.add_scalar('loss', 1 / (step + 1), step)",
        "%load_ext lumiboard",
        f"%lumiboard {flags}",
        "import lumiboard.notebook as nb\nnb.list()",
        f"%lumiboard {flags}",
        f"%lumiboard {flags} --no_such_flag",
        "print('stopped:', [nb.stop(info.port) for info in nb.list_servers()])\nnb.list()",
    ]
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in cells])
    client = nbclient.NotebookClient(
        book, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    with client.setup_kernel():
        for index in range(6):
            client.execute_cell(book.cells[index], index)
        started, listed, reused, refused = (outputs_text(book.cells[i]) for i in range(2, 6))

        # The app shows inline, from the server on the kernel's machine.
        found = re.search(r'<iframe src="http://localhost:(\d+)/"', started)
        assert found is not None, started
        port = int(found.group(1))
        assert wait_for_runs(port) == ["train"]
        if static.static_dir() is not None:  # the page lets a notebook's output frame it
            _, headers = get(f"http://localhost:{port}/")
            assert (
                "frame-ancestors 'self' http: https: vscode-webview:"
                in (headers["content-security-policy"])
            )

        # One server, listed; the same flags again reuse it.
        assert re.findall(r"- port (\d+): (\S+)", listed) == [(str(port), str(logdir))]
        assert f"Reusing lumiboard on port {port}" in reused
        assert f'<iframe src="http://localhost:{port}/"' in reused
        (record,) = info_dir.glob("*.json")
        pid = json.loads(record.read_text())["pid"]

        # A server's error is text in the cell, not a traceback.
        assert "ERROR: lumiboard exited with status 2" in refused
        assert "unknown flag --no_such_flag" in refused
        assert "<iframe" not in refused

        client.execute_cell(book.cells[6], 6)
        assert outputs_text(book.cells[6]) == "stopped: [True]\nNo lumiboard server is running.\n"
    assert not any(output.output_type == "error" for cell in book.cells for output in cell.outputs)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone (and reaped by the kernel that started it)
    assert list(info_dir.iterdir()) == []  # its record and log went with it


def test_a_record_whose_server_is_gone_is_forgotten(info_dir: Path) -> None:
    info_dir.mkdir()
    log = info_dir / "server-x.log"
    log.write_text("")
    gone = notebook.ServerInfo(
        pid=2**22 + 1,  # above Linux's pid_max default: no such process
        port=9,
        args=("--logdir", "runs"),
        cwd="/",
        logdir="runs",
        start_time=0.0,
        url="http://localhost:9/",
        log=str(log),
    )
    (info_dir / f"{gone.pid}.json").write_text(json.dumps({**vars(gone), "args": ["--logdir"]}))
    (info_dir / "torn.json").write_text('{"pid": ')
    assert notebook.list_servers() == []
    assert list(info_dir.iterdir()) == []
    assert notebook.stop(9) is False


def test_outside_a_notebook_the_url_is_printed(
    info_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook.display(port=6123)
    assert capsys.readouterr().out == "lumiboard at http://localhost:6123/\n"
    with pytest.raises(ValueError, match="no lumiboard server is running"):
        notebook.display()


class FakeDisplay:
    """``IPython.display`` as the module sees it, keeping what was shown (and updated)."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    def Pretty(self, text: str) -> tuple[str, str]:
        return ("text", text)

    def HTML(self, text: str) -> tuple[str, str]:
        return ("html", text)

    def display(self, shown: tuple[str, str], display_id: bool = False) -> FakeDisplay:
        self.shown.append(shown)
        return self  # its own handle

    def update(self, shown: tuple[str, str]) -> None:
        self.shown.append(shown)


def test_in_colab_the_app_goes_through_colab_proxy(
    tmp_path: Path, info_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[tuple[int, str, str]] = []

    def serve_kernel_port_as_iframe(port: int, path: str = "/", height: str = "400") -> None:
        served.append((port, path, height))

    colab = type(
        "Output", (), {"serve_kernel_port_as_iframe": staticmethod(serve_kernel_port_as_iframe)}
    )
    shown = FakeDisplay()
    monkeypatch.setattr(notebook, "_shell", lambda: "colab")
    monkeypatch.setattr(notebook, "_colab_output", lambda: colab)
    monkeypatch.setattr(notebook, "_ipython_display", lambda: shown)
    info = notebook.start(f"--logdir {shlex.quote(str(tmp_path))} --port 0 --no-cache")
    assert info is not None
    try:
        assert served == [(info.port, "/", "800")]
        assert shown.shown == [("text", "Launching lumiboard..."), ("text", "")]
        # Colab's proxy asks under its own name: the Host check lets it through in Colab.
        connection = http.client.HTTPConnection("localhost", info.port, timeout=10)
        connection.request(
            "GET", "/data/runs", headers={"Host": "x-6006.colab.googleusercontent.com"}
        )
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        assert notebook.stop(info.port) is True
    assert notebook.list_servers() == []


def test_behind_jupyter_server_proxy_the_frame_uses_the_proxy_url(
    info_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = FakeDisplay()
    monkeypatch.setattr(notebook, "_shell", lambda: "notebook")
    monkeypatch.setattr(notebook, "_ipython_display", lambda: shown)
    monkeypatch.setenv("LUMIBOARD_PROXY_URL", "/user/me/proxy/%PORT%/")
    notebook.display(port=6123, height=500)
    ((kind, frame),) = shown.shown
    assert kind == "html"
    assert '<iframe src="/user/me/proxy/6123/" width="100%" height="500"' in frame


def test_frame_ancestors_follow_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "index.html").write_text("<!doctype html>")
    monkeypatch.setenv("LUMIBOARD_STATIC_DIR", str(tmp_path))

    def ancestors() -> str:
        page = static.index_page()
        assert page is not None
        return re.findall(r"frame-ancestors ([^;]*)", page.headers["content-security-policy"])[0]

    monkeypatch.delenv("LUMIBOARD_FRAME_ANCESTORS", raising=False)
    assert ancestors() == "'self'"  # a server of its own is never framed by other sites
    monkeypatch.setenv("LUMIBOARD_FRAME_ANCESTORS", notebook.FRAME_ANCESTORS)
    assert ancestors() == notebook.FRAME_ANCESTORS
    monkeypatch.setenv("LUMIBOARD_FRAME_ANCESTORS", "* ; script-src *")
    assert ancestors() == "'self'"  # one directive's sources, never another directive


def test_import_lumiboard_has_the_extension_hook() -> None:
    import lumiboard

    shell = type("Shell", (), {"register_magic_function": lambda *a, **k: calls.append(k)})
    calls: list[dict[str, Any]] = []
    lumiboard.load_ipython_extension(shell())
    assert calls == [{"magic_kind": "line", "magic_name": "lumiboard"}]
    assert SummaryWriter is lumiboard.SummaryWriter
