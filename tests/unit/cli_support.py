"""Helpers of the CLI tests: ``main`` run up to the server, which only records what it got.

Imported by the test modules (``from cli_support import ...``); pytest puts this directory on
``sys.path`` because ``tests/unit`` is not a package.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lumiboard import SummaryWriter


@dataclass
class Served:
    """What the server was started with (the fake below records it instead of serving)."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def app(self) -> Any:
        return self.calls[-1]["app"]

    def client(self, host: str = "localhost") -> Any:
        """A client of the app, sending ``Host: host`` (a browser on this machine: localhost)."""
        from starlette.testclient import TestClient

        return TestClient(self.app, base_url=f"http://{host}")


def record_serving(monkeypatch: pytest.MonkeyPatch) -> Served:
    """Make uvicorn's ``Server.run`` record its app and sockets and return at once."""
    import uvicorn

    record = Served()

    def fake_run(server: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        assert sockets
        host, port = sockets[0].getsockname()[:2]
        record.calls.append(
            {"app": server.config.app, "host": host, "port": port, "sockets": list(sockets)}
        )
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    monkeypatch.delenv("LUMIBOARD_AUTH_TOKEN", raising=False)
    return record


@contextlib.contextmanager
def hold_port() -> Iterator[int]:
    """A port of 127.0.0.1 that another socket listens on, held until the block ends."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def write_logdir(tmp_path: Path) -> Path:
    """``tmp_path/logs``: one run, one scalar point (what most CLI tests serve)."""
    with SummaryWriter(str(tmp_path / "logs" / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    return tmp_path / "logs"
