"""Conditional answers (server/conditional.py): tags on JSON and text answers, 304 when the
client's ``If-None-Match`` still names the answer, and every other answer left alone."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import AsyncIterator, Iterator

import pytest
from memory_runs import memory_reloader
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from lumiboard.server.app import create_app
from lumiboard.server.compression import Compression
from lumiboard.server.conditional import OFF_LOOP_SIZE, Conditional, etag_of, matches

SERIES = "/data/plugin/scalars/scalars?run=run_1&tag=loss"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    reloader = memory_reloader(tmp_path_factory.mktemp("empty"), runs=3, points=2_000)
    with TestClient(create_app(reloader)) as test_client:
        yield test_client


@pytest.mark.parametrize("path", [SERIES, SERIES + "&format=csv", "/data/plugin/scalars/tags"])
def test_a_repeated_ask_gets_304_with_no_body(client: TestClient, path: str) -> None:
    first = client.get(path)
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert tag == f'W/"{hashlib.blake2b(first.content, digest_size=16).hexdigest()}"'
    assert first.headers["cache-control"] == "private, no-cache"
    again = client.get(path, headers={"if-none-match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert again.headers["cache-control"] == "private, no-cache"
    assert "accept-encoding" in again.headers["vary"].lower()  # as its 200 would say
    # HEAD: the same tag, and the same 304.
    head = client.head(path)
    assert (head.status_code, head.headers["etag"]) == (200, tag)
    assert client.head(path, headers={"if-none-match": tag}).status_code == 304
    assert "content-type" not in again.headers
    assert "content-length" not in again.headers or again.headers["content-length"] == "0"
    # A tag among others, or sent strong, still matches (the weak comparison); another does not.
    assert client.get(path, headers={"if-none-match": f'"x", {tag[2:]}'}).status_code == 304
    other = client.get(path, headers={"if-none-match": 'W/"0123"'})
    assert other.status_code == 200
    assert other.content == first.content


def test_the_tag_names_the_identity_bytes_whatever_the_encoding(client: TestClient) -> None:
    plain = client.get(SERIES, headers={"accept-encoding": "identity"})
    with client.stream("GET", SERIES, headers={"accept-encoding": "gzip"}) as response:
        sent = b"".join(response.iter_raw())
        assert response.headers["content-encoding"] == "gzip"
        zipped_tag = response.headers["etag"]
    assert gzip.decompress(sent) == plain.content
    assert zipped_tag == plain.headers["etag"] == etag_of(plain.content)
    # A client of either encoding revalidates with the tag it got: 304, nothing compressed.
    again = client.get(SERIES, headers={"accept-encoding": "gzip", "if-none-match": zipped_tag})
    assert again.status_code == 304
    assert "content-encoding" not in again.headers


def test_posts_and_errors_are_not_tagged(client: TestClient) -> None:
    form = {"tag": "loss", "runs": ["run_0", "run_1"]}
    posted = client.post("/data/plugin/scalars/scalars_multirun", data=form)
    assert posted.status_code == 200
    assert "etag" not in posted.headers
    missing = client.get("/data/plugin/scalars/scalars?run=nope&tag=loss")
    assert missing.status_code == 404
    assert "etag" not in missing.headers
    # An error is never turned into a 304, whatever the client sends.
    asked = client.get(
        "/data/plugin/scalars/scalars?run=nope&tag=loss", headers={"if-none-match": "*"}
    )
    assert asked.status_code == 404


def _app(state: dict[str, bytes]) -> Compression:
    async def body(request: Request) -> Response:
        return Response(state["body"], media_type="application/json")

    async def streamed(request: Request) -> Response:
        async def pieces() -> AsyncIterator[bytes]:
            yield b"[1,"
            yield b"2]"

        return StreamingResponse(pieces(), media_type="application/json")

    async def tagged(request: Request) -> Response:
        return Response(b"abc", media_type="text/csv", headers={"etag": '"v1"'})

    async def png(request: Request) -> Response:
        return Response(b"\x89PNG....", media_type="image/png")

    async def private(request: Request) -> Response:
        return JSONResponse([1], headers={"cache-control": "no-store"})

    async def cookie(request: Request) -> Response:
        response = JSONResponse({"a": 1})
        response.set_cookie("lumiboard_token", "t")
        return response

    async def huge(request: Request) -> Response:  # hashed on the worker pool
        return Response(b"7" * OFF_LOOP_SIZE, media_type="text/plain")

    routes = [
        Route("/body", body),
        Route("/streamed", streamed),
        Route("/tagged", tagged),
        Route("/png", png),
        Route("/private", private),
        Route("/huge", huge),
        Route("/cookie", cookie),
    ]
    return Compression(Conditional(Starlette(routes=routes)))


def test_a_changed_answer_gets_its_new_bytes_and_tag() -> None:
    state = {"body": b'{"points": [1, 2, 3]}'}
    with TestClient(_app(state)) as client:
        first = client.get("/body")
        tag = first.headers["etag"]
        assert client.get("/body", headers={"if-none-match": tag}).status_code == 304
        state["body"] = b'{"points": [1, 2, 3, 4]}'
        changed = client.get("/body", headers={"if-none-match": tag})
        assert changed.status_code == 200
        assert changed.content == state["body"]
        assert changed.headers["etag"] != tag
        assert client.get("/body", headers={"if-none-match": "*"}).status_code == 304
        # A 304 keeps the cookie the 200 would set (a token's), and drops the body's headers.
        first = client.get("/cookie")
        again = client.get("/cookie", headers={"if-none-match": first.headers["etag"]})
        assert again.status_code == 304
        assert "lumiboard_token=t" in again.headers["set-cookie"]
        assert "content-type" not in again.headers


def test_what_is_never_tagged() -> None:
    with TestClient(_app({"body": b"{}"})) as client:
        streamed = client.get("/streamed", headers={"if-none-match": "*"})
        assert (streamed.status_code, streamed.content) == (200, b"[1,2]")
        assert "etag" not in streamed.headers
        # A route's own tag is left as it is (and no 304 made for it here).
        own = client.get("/tagged", headers={"if-none-match": '"v1"'})
        assert (own.status_code, own.headers["etag"]) == (200, '"v1"')
        png = client.get("/png")
        assert "etag" not in png.headers
        # A route's own Cache-Control is kept.
        assert client.get("/private").headers["cache-control"] == "no-store"
        huge = client.get("/huge")
        assert huge.headers["etag"] == etag_of(b"7" * OFF_LOOP_SIZE)
        assert (
            client.get("/huge", headers={"if-none-match": huge.headers["etag"]}).status_code == 304
        )


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ('W/"a"', True),
        ('"a"', True),
        ('"b", W/"a"', True),
        ("*", True),
        ('W/"b"', False),
        ("", False),
        ('W/"ab"', False),
    ],
)
def test_matches_is_the_weak_comparison(asked: str, expected: bool) -> None:
    assert matches(asked, 'W/"a"') is expected
