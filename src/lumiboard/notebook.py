"""lumiboard inside notebooks: ``%load_ext lumiboard``, then ``%lumiboard --logdir runs``.

As TensorBoard's magic does, ``%lumiboard`` takes the command line's flags, runs the server
as a background process (``python -m lumiboard ...``) and shows the app in the cell's output.
Run again with the same flags from the same directory, it shows the server already running
instead of starting another: each server started here is recorded as one JSON file in an
info directory (``$LUMIBOARD_INFO_DIR``, or ``.lumiboard-info-<uid>`` in the temporary
directory), and an entry whose server is gone is deleted when next read. Servers outlive the
kernel (a restarted kernel finds them again): :func:`stop` ends one.

Where the app shows:

- Jupyter (Notebook, Lab) and VS Code notebooks: an iframe to ``http://localhost:PORT/``,
  which the browser reaches on the kernel's machine (VS Code forwards the port of a remote
  kernel; for Jupyter behind ``jupyter-server-proxy`` set ``LUMIBOARD_PROXY_URL`` to e.g.
  ``/proxy/%PORT%/``, as ``TENSORBOARD_PROXY_URL``);
- Colab: through Colab's own proxy of the kernel's ports;
- elsewhere (a script, terminal IPython): the URL is printed.

Example::

    %load_ext lumiboard
    %lumiboard --logdir runs

    import lumiboard.notebook
    lumiboard.notebook.list()                    # the servers running, with their ports
    lumiboard.notebook.display(port=6006, height=600)
    lumiboard.notebook.stop(6006)

IPython is needed only to show the app; ``import lumiboard`` does not import this module.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime
import html
import importlib
import io
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import argparse

__all__ = ["ServerInfo", "display", "list", "list_servers", "start", "stop"]

#: The pages allowed to frame the app (the server's CSP ``frame-ancestors``): notebook
#: outputs live on another origin than the server (Jupyter's port, VS Code's webviews,
#: Colab's output frames), which the server's default, ``'self'``, would refuse.
FRAME_ANCESTORS = "'self' http: https: vscode-webview: vscode-file:"

#: The line the server prints once it listens (``lumiboard 0.1.0 at http://...``).
_URL_LINE = re.compile(r"^lumiboard \S+ at (https?://\S+)", re.MULTILINE)

#: Servers started by this process, kept to reap them (a dead child stays a zombie until
#: waited for, and a zombie still answers ``kill(pid, 0)``).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ServerInfo:
    """A server started by :func:`start`: what :func:`list_servers` returns."""

    pid: int
    port: int
    #: The flags it was started with, as given (what a reuse must match, with ``cwd``).
    args: tuple[str, ...]
    cwd: str
    logdir: str
    #: Seconds since the epoch.
    start_time: float
    #: The URL the kernel's machine opens it at (holding the token, if one is required).
    url: str
    #: The server's output (its warnings and errors land here).
    log: str

    @property
    def age(self) -> str:
        """How long ago it started, as ``H:MM:SS``."""
        return str(datetime.timedelta(seconds=int(max(0.0, time.time() - self.start_time))))


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%lumiboard`` line magic (``%load_ext lumiboard`` calls this).

    ``ipython``: the ``InteractiveShell``.
    """
    ipython.register_magic_function(_magic, magic_kind="line", magic_name="lumiboard")


def _magic(line: str) -> None:
    start(line)  # nothing returned: the cell shows the app, not a repr


def start(args_string: str, timeout: float = 60.0) -> ServerInfo | None:
    """Start a server as ``lumiboard ARGS`` would, or reuse one, and show it.

    ``args_string`` holds the command line's flags, split as a shell would (no
    pipes or variables), e.g. ``"--logdir runs --port 0"``. A server started
    earlier with the same flags from the same directory, still running, is
    reused. The server's errors (a bad flag, a missing log directory) are shown
    as text; None is returned then.
    """
    shell = _shell()
    handle = _show_text(shell, "Launching lumiboard...")
    try:
        argv = shlex.split(args_string, comments=True, posix=True)
    except ValueError as error:
        _show_text(shell, f"ERROR: cannot read the flags {args_string!r}: {error}", handle)
        return None
    cwd = os.getcwd()
    for info in list_servers():
        if info.args == tuple(argv) and info.cwd == cwd:
            _show_text(
                shell,
                f"Reusing lumiboard on port {info.port} (pid {info.pid}), started {info.age} "
                f"ago. (lumiboard.notebook.stop({info.port}) stops it.)",
                handle,
            )
            _show_app(shell, info.port, info.url, 800, None)
            return info
    started, failure = _launch(argv, cwd, shell, timeout)
    if started is None:
        _show_text(shell, failure, handle)
        return None
    _show_app(shell, started.port, started.url, 800, handle)
    return started


def display(port: int | None = None, height: int = 800) -> None:
    """Show a running server's app in the cell's output.

    ``port``: the server's (None: the one started last); ``height`` in pixels.
    """
    servers = list_servers()
    if port is None:
        if not servers:
            raise ValueError("no lumiboard server is running: start one with %lumiboard")
        info = servers[-1]
        port, url = info.port, info.url
    else:
        known = [info for info in servers if info.port == port]
        url = known[-1].url if known else f"http://localhost:{port}/"
    _show_app(_shell(), port, url, height, None)


def list() -> None:  # TensorBoard's name (notebook.list()), though it shadows a builtin
    """Print the running servers started by :func:`start` (:func:`list_servers` returns them)."""
    servers = list_servers()
    if not servers:
        print("No lumiboard server is running.")
        return
    print("Known lumiboard servers:")
    for info in servers:
        print(f"  - port {info.port}: {info.logdir} (started {info.age} ago; pid {info.pid})")


def list_servers() -> builtins.list[ServerInfo]:
    """The running servers started by :func:`start`, oldest first; gone ones are forgotten."""
    servers = []
    for path in sorted(_info_dir().glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            info = ServerInfo(**{**record, "args": tuple(record["args"])})
        except (OSError, ValueError, TypeError, KeyError):
            path.unlink(missing_ok=True)  # unreadable: written by another version, or torn
            continue
        if _alive(info.pid) and _listening(info.port):
            servers.append(info)
        else:
            _forget(path, info)
    return sorted(servers, key=lambda info: info.start_time)


def stop(port: int, timeout: float = 10.0) -> bool:
    """Stop the server on ``port`` started by :func:`start`; False when there is none.

    It gets SIGTERM (saving its cache on the way out, as after Ctrl+C), and SIGKILL
    after ``timeout`` seconds.
    """
    for info in list_servers():
        if info.port != port:
            continue
        os.kill(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(info.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(info.pid):
            os.kill(info.pid, getattr(signal, "SIGKILL", signal.SIGTERM))
            child = _children.get(info.pid)
            if child is not None:
                child.wait(timeout)
        _children.pop(info.pid, None)
        _forget(_info_dir() / f"{info.pid}.json", info)
        return True
    return False


def _launch(
    argv: builtins.list[str], cwd: str, shell: str, timeout: float
) -> tuple[ServerInfo | None, str]:
    """Run ``python -m lumiboard ARGV``; its info once it listens, or why it did not."""
    options = _parse(argv)
    extra = []
    if shell == "colab" and options is not None and not options.allowed_hosts:
        # Colab's proxy reaches the server under Colab's names; no browser reaches the VM's
        # loopback any other way, so the Host check (against DNS rebinding) has nothing to guard.
        extra = ["--allowed-hosts", "*"]
    directory = _info_dir()
    descriptor, log = tempfile.mkstemp(prefix="server-", suffix=".log", dir=directory)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("LUMIBOARD_FRAME_ANCESTORS", FRAME_ANCESTORS)
    with os.fdopen(descriptor, "wb") as output:
        # A session of its own: interrupting or restarting the kernel (signals to its
        # process group) leaves the server running, to be reused.
        process = subprocess.Popen(
            [sys.executable, "-m", "lumiboard", *argv, *extra],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children[process.pid] = process
    printed, failure = _wait_for_url(process, Path(log), timeout)
    if printed is None:
        return None, failure
    url = urlsplit(printed)
    port = int(url.port or 80)
    if options is None or options.bind_all or _is_local(options.host or "localhost"):
        url = url._replace(netloc=f"localhost:{port}")
    info = ServerInfo(
        pid=process.pid,
        port=port,
        args=tuple(argv),
        cwd=cwd,
        logdir=str((options.logdir or options.logdir_spec) if options else "") or "?",
        start_time=time.time(),
        url=urlunsplit(url),
        log=log,
    )
    _write(directory / f"{info.pid}.json", info)
    return info, ""


def _wait_for_url(
    process: subprocess.Popen[bytes], log: Path, timeout: float
) -> tuple[str | None, str]:
    """The URL the server prints once it listens; or None, and why it will not."""
    deadline = time.monotonic() + timeout
    while True:
        found = _URL_LINE.search(log.read_text(encoding="utf-8", errors="replace"))
        if found is not None:
            return found.group(1), ""
        status = process.poll()
        if status is None and time.monotonic() > deadline:
            process.kill()  # not left running unrecorded, where stop() could not find it
            status = process.wait()
            why = f"did not start within {timeout:g} s (stopped)"
        elif status is not None:
            why = f"exited with status {status}"
        else:
            time.sleep(0.05)
            continue
        _children.pop(process.pid, None)
        text = log.read_text(encoding="utf-8", errors="replace")  # all of it, now it is over
        log.unlink(missing_ok=True)
        return None, f"ERROR: lumiboard {why}.\n{text.strip()}"


def _parse(argv: builtins.list[str]) -> argparse.Namespace | None:
    """The flags as the server reads them; None when it will refuse them (and say why)."""
    from lumiboard import cli

    quiet = io.StringIO()
    with contextlib.redirect_stderr(quiet), contextlib.redirect_stdout(quiet):
        try:
            return cli.parse(argv)
        except SystemExit:
            return None


def _is_local(host: str) -> bool:
    from lumiboard.server.auth import is_local_host, normalize_host

    return is_local_host(normalize_host(host))


def _info_dir() -> Path:
    """Where servers are recorded: one per user (holding tokens, it is the user's alone)."""
    override = os.environ.get("LUMIBOARD_INFO_DIR")
    if override:
        path = Path(override)
    else:
        uid = getattr(os, "getuid", lambda: None)()  # None on Windows, where TEMP is per user
        name = ".lumiboard-info" if uid is None else f".lumiboard-info-{uid}"
        path = Path(tempfile.gettempdir()) / name
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _write(path: Path, info: ServerInfo) -> None:
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(asdict(info), file)
    os.replace(temporary, path)  # readers never see half a file


def _forget(path: Path, info: ServerInfo) -> None:
    path.unlink(missing_ok=True)
    Path(info.log).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    if os.name != "posix":
        return True  # os.kill(pid, 0) would end it on Windows: the port probe decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: a zombie (dead, not yet reaped by its parent) is state Z
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("localhost", port), timeout=1.0):
            return True
    except OSError:
        return False


def _shell() -> str:
    """Where output goes: ``colab``, ``notebook`` (a kernel: Jupyter, VS Code) or ``none``."""
    try:
        from IPython import get_ipython
    except ImportError:
        return "none"
    ipython = get_ipython()
    if ipython is None:
        return "none"
    if _colab_output() is not None:
        return "colab"
    return "notebook" if ipython.has_trait("kernel") else "none"


def _colab_output() -> ModuleType | None:
    try:
        return importlib.import_module("google.colab.output")
    except ImportError:
        return None


def _show_text(shell: str, text: str, handle: Any = None) -> Any:
    """Show ``text`` (in place of ``handle``'s output when given); the display's handle."""
    if shell == "none":
        print(text)
        return None
    shown = _ipython_display()
    if handle is not None:
        handle.update(shown.Pretty(text))
        return handle
    return shown.display(shown.Pretty(text), display_id=True)


def _show_app(shell: str, port: int, url: str, height: int, handle: Any) -> None:
    if shell == "none":
        print(f"lumiboard at {url}")
        return
    if shell == "colab":
        if handle is not None:
            handle.update(_ipython_display().Pretty(""))  # Colab's own frame goes below
        colab: Any = _colab_output()
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        colab.serve_kernel_port_as_iframe(port, path=path, height=str(height))
        return
    proxy = os.environ.get("LUMIBOARD_PROXY_URL")
    if proxy:
        query = urlsplit(url).query
        url = proxy.replace("%PORT%", str(port)) + (f"?{query}" if query else "")
    source = html.escape(url, quote=True)
    frame = (
        f'<iframe src="{source}" width="100%" height="{int(height)}" frameborder="0" '
        f'title="lumiboard on port {port}"></iframe>\n'
        f'<div><a href="{source}" target="_blank" rel="noopener">'
        f"Open lumiboard (port {port}) in a new tab</a></div>"
    )
    shown = _ipython_display()
    if handle is not None:
        handle.update(shown.HTML(frame))
    else:
        shown.display(shown.HTML(frame))


def _ipython_display() -> Any:
    """``IPython.display`` (its functions are untyped)."""
    return importlib.import_module("IPython.display")
