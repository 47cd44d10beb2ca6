"""Helpers for the MLflow tests: a real tracking server, and a stand-in that misbehaves.

* :func:`mlflow_server` starts ``mlflow server`` (SQLite backend store, local artifact root,
  one worker, no job runner) on a free port of 127.0.0.1 in its own process group, waits
  for ``/health`` and kills the group afterwards.
* :class:`FakeTracking` answers the few REST calls the reader makes with what a test puts
  in it: pages, errors (5xx), or a hang, to test what a real server will not do on demand.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def mlflow_server(root: Path) -> Iterator[str]:
    """A real MLflow tracking server over ``root``; yields its URL."""
    port = free_port()
    log = (root / "server.log").open("wb")
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    command = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--default-artifact-root", str(root / "artifacts"),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {_tail(root / 'server.log')}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server not up in time: {_tail(root / 'server.log')}")
            time.sleep(0.2)
        yield url
    finally:
        _stop(process)
        log.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


# ---- a stand-in tracking server --------------------------------------------------------

Answer = tuple[int, dict[str, Any]]


class FakeTracking:
    """A tracking server on 127.0.0.1 whose answers the test decides.

    ``routes`` maps a REST path (``/api/2.0/mlflow/runs/search``) to a function of the
    request's JSON (or query) giving (status, JSON body); ``/health`` answers ``health``.
    Every request is recorded in ``requests`` as (path, body). ``hang`` makes every API
    request wait until it is set.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict[str, Any]], Answer]] = {}
        self.health = 200
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.hang = threading.Event()
        self.hang.set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, body: dict[str, Any]) -> None:
                path = urlsplit(self.path).path
                fake.requests.append((path, body))
                if path == "/health":
                    status, payload = fake.health, {}
                else:
                    fake.hang.wait(30)
                    route = fake.routes.get(path)
                    status, payload = (404, {"error_code": "ENDPOINT_NOT_FOUND"})
                    if route is not None:
                        status, payload = route(body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                self._answer({key: values[-1] for key, values in query.items()})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._answer(json.loads(self.rfile.read(length) or b"{}"))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.hang.set()
        self.server.shutdown()
        self.server.server_close()

    def count(self, path: str) -> int:
        return sum(1 for seen, _ in self.requests if seen == path)


def run_json(run_id: str, name: str, metrics: dict[str, tuple[int, int, float]]) -> dict[str, Any]:
    """A run as ``runs/search`` answers it; ``metrics``: key -> latest (timestamp, step, value)."""
    return {
        "info": {
            "run_id": run_id, "run_uuid": run_id, "run_name": name, "experiment_id": "1",
            "status": "FINISHED", "start_time": 1_700_000_000_000,
            "end_time": 1_700_000_100_000, "artifact_uri": "/nonexistent/artifacts",
            "lifecycle_stage": "active",
        },
        "data": {
            "metrics": [
                {"key": key, "timestamp": t, "step": s, "value": v}
                for key, (t, s, v) in metrics.items()
            ],
            "params": [], "tags": [],
        },
    }  # fmt: skip
