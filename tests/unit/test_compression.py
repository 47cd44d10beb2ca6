"""Compressed answers (server/compression.py): gzip, brotli and zstd when the client accepts
them, byte-exact; identity for small answers, images, ranges, streams and HEAD requests."""

from __future__ import annotations

import gzip
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import brotli  # type: ignore[import-untyped]
import pytest
import zstandard
from memory_runs import memory_reloader
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app
from lumiboard.server.compression import (
    MINIMUM_SIZE,
    OFF_LOOP_SIZE,
    Compression,
    choose_encoding,
)

SCALARS = "/data/plugin/scalars"
DECODE = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda data: zstandard.ZstdDecompressor().decompress(data),
}


def _raw(
    client: TestClient, method: str, path: str, encoding: str, data: dict[str, Any] | None = None
) -> tuple[int, Any, bytes]:
    """Status, headers and the body as sent (not decoded by the client)."""
    headers = {"accept-encoding": encoding}
    with client.stream(method, path, headers=headers, data=data) as response:
        return response.status_code, response.headers, b"".join(response.iter_raw())


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """lumiboard's app over three runs of 5,000 points (an in-memory store)."""
    reloader = memory_reloader(tmp_path_factory.mktemp("empty"), runs=3, points=5_000)
    with TestClient(create_app(reloader)) as test_client:
        yield test_client


def _multirun(client: TestClient, encoding: str) -> tuple[int, Any, bytes]:
    form = {"tag": "loss", "runs": ["run_0", "run_1", "run_2"]}
    return _raw(client, "POST", f"{SCALARS}/scalars_multirun", encoding, data=form)


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_each_encoding_round_trips_byte_exactly(client: TestClient, encoding: str) -> None:
    _, _, identity = _multirun(client, "identity")
    status, headers, sent = _multirun(client, encoding)
    assert status == 200
    assert headers["content-encoding"] == encoding
    assert int(headers["content-length"]) == len(sent) < len(identity) / 2
    assert "accept-encoding" in headers["vary"].lower()
    assert headers["content-type"] == "application/json"
    assert DECODE[encoding](sent) == identity
    for path in (
        f"{SCALARS}/scalars?run=run_1&tag=loss",
        f"{SCALARS}/scalars?run=run_1&tag=loss&format=csv",
    ):
        _, _, plain = _raw(client, "GET", path, "identity")
        _, headers, sent = _raw(client, "GET", path, encoding)
        assert headers["content-encoding"] == encoding
        assert DECODE[encoding](sent) == plain


def test_identity_when_nothing_is_accepted(client: TestClient) -> None:
    for encoding in ("identity", "", "deflate", "gzip;q=0, br;q=0, zstd;q=0, *;q=0"):
        status, headers, sent = _multirun(client, encoding)
        assert status == 200
        assert "content-encoding" not in headers
        assert int(headers["content-length"]) == len(sent)
        assert sent.startswith(b'{"run_0":[[')
        assert "accept-encoding" in headers["vary"].lower()


def test_small_answers_are_not_compressed(client: TestClient) -> None:
    status, headers, sent = _raw(client, "GET", f"{SCALARS}/tags", "gzip, br, zstd")
    assert status == 200
    assert len(sent) < MINIMUM_SIZE
    assert "content-encoding" not in headers
    assert int(headers["content-length"]) == len(sent)


def test_the_clients_preference_wins_and_then_ours() -> None:
    offered = ["zstd", "br", "gzip"]
    assert choose_encoding("gzip, deflate, br, zstd", offered) == "zstd"
    assert choose_encoding("gzip, deflate, br", offered) == "br"
    assert choose_encoding("gzip;q=1.0, br;q=0.5", offered) == "gzip"
    assert choose_encoding("GZIP", offered) == "gzip"
    assert choose_encoding("*", offered) == "zstd"
    assert choose_encoding("*;q=0.1, zstd;q=0", offered) == "br"
    assert choose_encoding("identity", offered) is None
    assert choose_encoding("br;q=nonsense", offered) is None
    assert choose_encoding("gzip, br", ["gzip"]) == "gzip"  # brotli not installed: gzip


def _app(script_file: Path | None = None) -> Compression:
    big = b"[" + b"1.25," * 4_000 + b"0]"

    async def png(request: Request) -> Response:
        return Response(b"\x89PNG" + bytes(range(256)) * 40, media_type="image/png")

    async def ranged(request: Request) -> Response:
        return Response(
            big, status_code=206, media_type="application/json", headers={"content-range": "x"}
        )

    async def streamed(request: Request) -> Response:
        async def pieces() -> AsyncIterator[bytes]:
            yield big
            yield big

        return StreamingResponse(pieces(), media_type="application/json")

    async def tagged(request: Request) -> Response:
        return Response(big, media_type="text/csv", headers={"etag": '"v1"'})

    async def huge(request: Request) -> Response:  # compressed on the worker pool
        return Response(b"a" * OFF_LOOP_SIZE, media_type="text/plain")

    async def script(request: Request) -> Response:  # sent in 64 KiB pieces, length declared
        assert script_file is not None
        return FileResponse(script_file, media_type="text/javascript")

    async def encoded(request: Request) -> Response:
        return Response(big, media_type="application/json", headers={"content-encoding": "br"})

    routes = [
        Route(f"/{name}", endpoint)
        for name, endpoint in [
            ("png", png),
            ("ranged", ranged),
            ("streamed", streamed),
            ("tagged", tagged),
            ("huge", huge),
            ("encoded", encoded),
            ("script", script),
        ]
    ]
    return Compression(Starlette(routes=routes))


def test_what_is_never_compressed() -> None:
    with TestClient(_app()) as client:
        for path in ("/png", "/ranged", "/streamed", "/encoded"):
            status, headers, sent = _raw(client, "GET", path, "gzip")
            assert status in (200, 206), path
            assert headers.get("content-encoding") in (None, "br"), path
            if path == "/encoded":
                assert headers["content-encoding"] == "br"  # left as the route set it
        _, headers, sent = _raw(client, "GET", "/png", "gzip")
        assert sent.startswith(b"\x89PNG")
        assert "vary" not in headers
        head = client.head("/tagged", headers={"accept-encoding": "gzip"})
        assert "content-encoding" not in head.headers


def test_etags_turn_weak_and_big_bodies_compress_off_the_loop() -> None:
    with TestClient(_app()) as client:
        _, headers, sent = _raw(client, "GET", "/tagged", "gzip")
        assert headers["etag"] == 'W/"v1"'
        assert gzip.decompress(sent).startswith(b"[1.25,")
        _, headers, sent = _raw(client, "GET", "/huge", "br")
        assert headers["content-encoding"] == "br"
        assert brotli.decompress(sent) == b"a" * OFF_LOOP_SIZE


def test_unused_path_is_untouched(tmp_path: Path) -> None:
    """A 404's JSON error (small) goes out as it is."""
    reloader = Reloader(str(tmp_path))
    with TestClient(create_app(reloader)) as client:
        status, headers, sent = _raw(client, "GET", "/data/nothing", "gzip")
        assert status == 404
        assert "content-encoding" not in headers
        assert sent.startswith(b'{"error"')


def test_a_file_sent_by_pathsend_passes_as_it_is() -> None:
    """An ASGI server with the pathsend extension gets the start first, then the pathsend."""
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/javascript"), (b"content-length", b"5000")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.pathsend", "path": "/static/app.js"})

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/app.js",
        "headers": [(b"accept-encoding", b"gzip")],
    }
    # On a thread of its own: the browser tests leave an event loop running on this one.
    runner = threading.Thread(target=anyio.run, args=(Compression(app), scope, receive, send))
    runner.start()
    runner.join()
    assert [message["type"] for message in sent] == [
        "http.response.start",
        "http.response.pathsend",
    ]
    assert (b"content-encoding", b"gzip") not in sent[0]["headers"]


def test_files_are_gathered_and_compressed(tmp_path: Path) -> None:
    """A file (length declared, sent in 64 KiB pieces) is compressed whole; a stream is not."""
    script = tmp_path / "app.js"
    script.write_bytes(b"".join(b"export const x%d = %d;\n" % (i, i * i) for i in range(20_000)))
    assert script.stat().st_size > 4 * 64 * 1024
    with TestClient(_app(script)) as client:
        _, headers, sent = _raw(client, "GET", "/script", "gzip")
        assert headers["content-encoding"] == "gzip"
        assert int(headers["content-length"]) == len(sent)
        assert gzip.decompress(sent) == script.read_bytes()
        assert headers["etag"].startswith('W/"')
        _, headers, sent = _raw(client, "GET", "/script", "identity")
        assert sent == script.read_bytes()
        assert "content-encoding" not in headers
        _, headers, sent = _raw(client, "GET", "/streamed", "gzip")  # no length declared
        assert "content-encoding" not in headers
        assert sent.startswith(b"[1.25,")
