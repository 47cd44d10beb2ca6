"""Issue 11, items 3 and 4: users' regexes are bounded, and no route holds the event loop.

- ReDoS: the hparams ``filterRegexp`` (and :func:`lumiboard.read`'s selectors) go through
  :mod:`lumiboard.store.patterns`, as custom scalars' tag regexes do: bounded repeats, a
  time budget, a 400 that says why. With ``re``, ``(a|aa)+$`` against a long value ran for
  ever on the event loop and every route stopped answering.
- Responsiveness: routes do their work on the worker pool. Each test holds one route inside
  its work (a run lock the loader would hold, or an encoder stopped on an event) and checks
  that ``/data/runs`` still answers meanwhile: when the work ran on the event loop, it
  could not. The waits are deadlock bounds, not timings.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from route_support import route_fixtures
from starlette.testclient import TestClient

from lumiboard import SummaryWriter
from lumiboard.experiment.selection import select
from lumiboard.plugins.custom_scalars import routes as custom_scalars_routes
from lumiboard.plugins.hparams import routes as hparams_routes
from lumiboard.plugins.profile import routes as profile_routes
from lumiboard.plugins.profile.demo import synthetic_trace, write_trace
from lumiboard.plugins.scalars import routes as scalars_routes
from lumiboard.store import patterns

HP = "/data/plugin/hparams"
#: A value on which ``(a|aa)+$`` backtracks exponentially (Fibonacci(200) paths).
LONG_VALUE = "a" * 200 + "!"
#: How long a test waits for something that must happen (a deadlock bound, not a timing).
BOUND = 20.0


def _write(root: Path) -> None:
    with SummaryWriter(str(root / "train")) as writer:
        for step in range(50):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
            writer.add_scalar("acc", step / 50, step)
        writer.add_histogram("weights", np.arange(100, dtype=np.float64), 0)
        writer.add_text("notes", "**hello**", 0)
        writer.add_image("sample", np.zeros((3, 4, 4), dtype=np.uint8), 0)
        writer.add_custom_scalars({"training": {"losses": ["Multiline", ["loss"]]}})
    with SummaryWriter(str(root / "sweep")) as writer:
        for index, optimizer in enumerate(["adam", LONG_VALUE, "sgd"]):
            writer.add_hparams(
                {"optimizer": optimizer, "lr": 0.1 * (index + 1)},
                {"hparam/accuracy": 0.5 + index / 10},
                run_name=f"trial{index}",
            )
    write_trace(root / "prof", "worker0", 1, synthetic_trace(steps=2, ops_per_step=20))


# One client for the module, entered: its requests share one event loop, as a server's.
logdir, client, tensorboard = route_fixtures(_write)


# ---- ReDoS -----------------------------------------------------------------------------------


def _groups(client: TestClient, regexp: str) -> Any:
    body = {
        "colParams": [{"hparam": "optimizer", "filterRegexp": regexp}],
        "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE"],
        "startIndex": 0,
        "sliceSize": 10,
    }
    return client.post(f"{HP}/session_groups", json=body)


def test_filter_regexp_still_filters(client: TestClient) -> None:
    response = _groups(client, "^(adam|sgd)$")
    assert response.status_code == 200, response.text
    values = [group["hparams"]["optimizer"] for group in response.json()["sessionGroups"]]
    assert sorted(values) == ["adam", "sgd"]


@pytest.mark.parametrize(
    ("regexp", "reason"),
    [
        ("a{1001}", "a counted repeat over 1000"),  # regex would expand it as it compiles
        ("(?:a{200}){200}", "nested counted repeats"),
        ("(", "missing )"),
        ("a" * (patterns.MAX_PATTERN_LENGTH + 1), "longer than"),
    ],
)
def test_filter_regexp_refused_is_400(client: TestClient, regexp: str, reason: str) -> None:
    response = _groups(client, regexp)
    assert response.status_code == 400
    error = response.json()["error"]
    assert "filterRegexp" in error
    assert reason in error


def test_filter_regexp_catastrophic_is_400(client: TestClient) -> None:
    # re backtracks through Fibonacci(200) paths on LONG_VALUE, holding the GIL throughout.
    response = _groups(client, "(a|aa)+$")
    assert response.status_code == 400
    assert "took longer than" in response.json()["error"]
    assert client.get("/data/runs").status_code == 200


def test_the_issues_regex_answers(client: TestClient) -> None:
    # The pattern of the report: regex's engine sees that no value holds an "x".
    response = _groups(client, "(.|.|.)*x")
    assert response.status_code == 200, response.text
    assert response.json()["sessionGroups"] == []


def test_filter_regexp_budget_spent_is_400(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(patterns, "MATCH_SECONDS", 0.0)
    response = _groups(client, "adam")
    assert response.status_code == 400
    assert "took longer than 0 s" in response.json()["error"]


def test_download_data_bounds_the_regex_too(client: TestClient) -> None:
    request = '{"colParams": [{"hparam": "optimizer", "filterRegexp": "a{5000}"}]}'
    response = client.get(f"{HP}/download_data", params={"format": "csv", "request": request})
    assert response.status_code == 400
    assert "counted repeat" in response.json()["error"]


def test_selection_bounds_regexes() -> None:
    names = ["loss/train", "Loss/val", LONG_VALUE]
    assert select(names, "loss", "tag") == ["loss/train"]
    assert select(names, re.compile("^loss", re.IGNORECASE), "tag") == ["loss/train", "Loss/val"]
    with pytest.raises(ValueError, match="took longer than"):
        select(names, "(a|aa)+$", "tag")
    with pytest.raises(ValueError, match="a counted repeat over 1000"):
        select(names, "x{2000}", "tag")
    with pytest.raises(ValueError, match="a counted repeat over 1000"):
        select(names, re.compile("x{2000}"), "tag")


def test_pattern_flags_follow_re() -> None:
    budget = patterns.Budget.start()
    verbose = patterns.compile_pattern(" a b  # a comment", re.VERBOSE | re.IGNORECASE)
    assert verbose.match("AB", budget)
    assert patterns.compile_pattern(r"\w", re.ASCII).search("é", budget) is False
    assert patterns.compile_pattern(r"\w").search("é", budget) is True
    with pytest.raises(patterns.PatternError, match="flags"):
        patterns.compile_pattern("a", 1 << 20)


# ---- responsiveness -----------------------------------------------------------------------


class WatchedLock:
    """A run lock that tells (``waited``) when a thread has to wait for it (an RLock underneath)."""

    def __init__(self, waited: threading.Event) -> None:
        self._lock = threading.RLock()
        self.waited = waited

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        self.waited.set()
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _in_thread(request: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(request()), daemon=True)
    thread.start()
    return thread, result


def _runs_answers_meanwhile(client: TestClient, held: threading.Thread) -> bool:
    """Whether ``/data/runs`` answers while ``held`` (a request held in its work) waits."""
    runs, answer = _in_thread(lambda: client.get("/data/runs"))
    runs.join(BOUND)
    answered = not runs.is_alive() and answer[0].status_code == 200
    return answered and held.is_alive()


ROUTES_TAKING_RUN_LOCKS = [
    ("get", "/data/status", None),
    ("get", "/data/plugins_listing", None),
    ("get", "/data/plugin/scalars/tags", None),
    ("get", "/data/plugin/histograms/tags", None),
    ("get", "/data/plugin/histograms/histograms?run=train&tag=weights", None),
    ("get", "/data/plugin/distributions/distributions?run=train&tag=weights", None),
    ("get", "/data/plugin/images/tags", None),
    ("get", "/data/plugin/images/images?run=train&tag=sample", None),
    ("get", "/data/plugin/audio/tags", None),
    ("get", "/data/plugin/text/tags", None),
    ("get", "/data/plugin/text/text?run=train&tag=notes/text_summary", None),
    ("get", "/data/plugin/text/steps?run=train&tag=notes/text_summary", None),
    ("get", "/data/plugin/pr_curves/tags", None),
    ("get", "/data/plugin/mesh/tags", None),
    ("get", "/data/plugin/graphs/info", None),
    ("get", "/data/plugin/custom_scalars/layout", None),
    ("get", "/data/plugin/hparams/table", None),
    ("post", "/data/plugin/hparams/experiment", {}),
    ("post", "/data/plugin/hparams/session_groups", {"startIndex": 0, "sliceSize": 5}),
    ("post", "/data/plugin/custom_scalars/series", {"regexes": ["loss"], "runs": ["train"]}),
]


@pytest.mark.parametrize(("method", "url", "body"), ROUTES_TAKING_RUN_LOCKS)
def test_runs_answers_while_a_route_waits_for_the_loader(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    url: str,
    body: dict[str, Any] | None,
) -> None:
    """The loader holds a run's lock while it applies a chunk: a route that waits for it
    must wait on the pool, not on the event loop."""
    waited = threading.Event()
    locks = [WatchedLock(waited) for _ in client.app.state.context.reloader.runs]
    for run, lock in zip(client.app.state.context.reloader.runs.values(), locks, strict=True):
        monkeypatch.setattr(run, "lock", lock)
    for lock in locks:
        lock.acquire()
    try:
        kwargs = {} if body is None else {"json": body}
        held, answer = _in_thread(lambda: getattr(client, method)(url, **kwargs))
        assert waited.wait(BOUND), "the route never waited for a run lock"
        assert _runs_answers_meanwhile(client, held)
    finally:
        for lock in locks:
            lock.release()
    held.join(BOUND)
    assert not held.is_alive()
    assert answer[0].status_code == 200, answer[0].text


class Hold:
    """Wraps a function so that each call stops until released (and says it has begun)."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.begun = threading.Event()
        self.released = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.begun.set()
        self.released.wait(BOUND)
        return self.function(*args, **kwargs)


HEAVY_ROUTES = [
    (scalars_routes, "tensorboard_csv", "get", "/data/plugin/scalars/scalars?run=train&tag=loss&format=csv", None),  # noqa: E501
    (scalars_routes, "tensorboard_triples", "get", "/data/plugin/scalars/scalars?run=train&tag=loss", None),  # noqa: E501
    (scalars_routes, "tensorboard_triples", "post", "/data/plugin/scalars/scalars_multirun", None),
    (scalars_routes, "float64_base64", "post", "/data/plugin/scalars/series", {"tag": "loss", "runs": ["train"]}),  # noqa: E501
    (scalars_routes, "attachment", "get", "/data/plugin/scalars/download?tag=loss&format=csv", None),  # noqa: E501
    (custom_scalars_routes, "tensorboard_csv", "get", "/data/plugin/custom_scalars/download_data?run=train&tag=loss&format=csv", None),  # noqa: E501
    (custom_scalars_routes, "filter_names", "get", "/data/plugin/custom_scalars/scalars?run=train&tag=loss", None),  # noqa: E501
    (hparams_routes, "tensorboard_triples", "post", "/data/plugin/hparams/metric_evals", {"sessionName": "sweep/trial0", "metricName": {"tag": "hparam/accuracy"}}),  # noqa: E501
    (hparams_routes, "render", "post", "/data/plugin/hparams/download_data?format=csv", {}),
    (profile_routes, "json_response", "get", "/data/plugin/profile/trace?run=prof&worker=worker0", None),  # noqa: E501
    (profile_routes, "_compute_overview", "get", "/data/plugin/profile/overview?run=prof&worker=worker0", None),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(("module", "name", "method", "url", "body"), HEAVY_ROUTES)
def test_runs_answers_while_a_route_encodes(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    name: str,
    method: str,
    url: str,
    body: dict[str, Any] | None,
) -> None:
    """A route held inside its CPU work (encoding CSV, JSON, base64; matching a regex)."""
    hold = Hold(getattr(module, name))
    monkeypatch.setattr(module, name, hold)
    if body is not None:
        kwargs: dict[str, Any] = {"json": body}
    elif method == "post":  # scalars_multirun: TensorBoard's form
        kwargs = {"data": {"tag": "loss", "runs": ["train"]}}
    else:
        kwargs = {}
    held, answer = _in_thread(lambda: getattr(client, method)(url, **kwargs))
    try:
        assert hold.begun.wait(BOUND), "the route never began its work"
        assert _runs_answers_meanwhile(client, held)
    finally:
        hold.released.set()
    held.join(BOUND)
    assert not held.is_alive()
    assert answer[0].status_code == 200, answer[0].text


def test_a_pattern_error_anywhere_is_a_400() -> None:
    # The safety net for a future route that lets a PatternError through: a 400, not a 500.
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    from lumiboard.server import errors

    def matching(request: Request) -> Any:
        patterns.filter_names("a{5000}", ["a"], patterns.Budget.start(), anchored=True)

    app = Starlette(routes=[Route("/", matching)], exception_handlers=errors.HANDLERS)
    response = TestClient(app).get("/")
    assert response.status_code == 400
    assert "counted repeat" in response.json()["error"]


def test_served_connections_send_small_answers_at_once() -> None:
    """The CLI's listening sockets say TCP, so asyncio sets TCP_NODELAY on each connection:
    with proto 0 it did not, and every small answer waited ~40 ms for a delayed ACK."""
    import asyncio
    import socket

    from lumiboard import cli

    nodelay: list[int] = []

    async def serve_once() -> None:
        listening = cli._bind("127.0.0.1", 0)
        try:

            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                connection = writer.get_extra_info("socket")
                nodelay.append(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                writer.close()

            server = await asyncio.start_server(handle, sock=listening[0])
            async with server:
                reader, writer = await asyncio.open_connection(*listening[0].getsockname()[:2])
                await reader.read()
                writer.close()
        finally:
            for sock in listening:
                sock.close()

    # On a thread of its own: after the browser tests, Playwright's loop may still run on
    # this one, where asyncio.run() refuses to start.
    errors: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(serve_once())
        except BaseException as error:  # handed to the test's thread
            errors.append(error)

    thread = threading.Thread(target=main)
    thread.start()
    thread.join(BOUND)
    assert not thread.is_alive()
    assert not errors, errors
    assert nodelay == [nodelay[0]]
    assert nodelay[0] != 0


def test_bulk_answers_do_not_hold_the_dashboards_routes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As many held CSV downloads as the route pool has threads: the dashboards' routes
    (a reduced series, the tags) still answer, since downloads queue on their own pool."""
    from lumiboard.server import workers

    hold = Hold(scalars_routes.tensorboard_csv)
    monkeypatch.setattr(scalars_routes, "tensorboard_csv", hold)
    url = "/data/plugin/scalars/scalars?run=train&tag=loss&format=csv"
    downloads = [_in_thread(lambda: client.get(url)) for _ in range(workers.WORKERS)]
    try:
        assert hold.begun.wait(BOUND), "no download began"
        series, answer = _in_thread(
            lambda: client.post(
                "/data/plugin/scalars/series", json={"tag": "loss", "runs": ["train"]}
            )
        )
        tags, listing = _in_thread(lambda: client.get("/data/plugin/scalars/tags"))
        series.join(BOUND)
        tags.join(BOUND)
        assert not series.is_alive()
        assert not tags.is_alive()
        assert answer[0].status_code == 200
        assert listing[0].status_code == 200
        assert all(thread.is_alive() for thread, _ in downloads)
    finally:
        hold.released.set()
    for thread, result in downloads:
        thread.join(BOUND)
        assert result[0].status_code == 200


def test_csv_and_json_encoders_are_exact_in_pieces() -> None:
    """The encoders build big answers from orjson's output in pieces (so the GIL is let
    go between them); the bytes stay those of ``csv.writer`` (TensorBoard's CSV) and of
    TensorBoard's JSON, across piece boundaries and for every kind of float."""
    import csv
    import io
    import json

    from lumiboard.server import responses

    rng = np.random.default_rng(11)
    count = 2 * responses.PIECE + 7
    step = np.arange(count, dtype=np.int64) * 3 - 5
    wall_time = 1.7e9 + np.cumsum(rng.random(count))
    value = rng.standard_normal(count) * 10.0 ** rng.integers(-30, 30, count)
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, 1e-4, 9.9e-5, 1e16, 9999999999999998.0]
    value[: len(special)] = special
    wall_time[responses.PIECE] = np.nan
    rows = zip(wall_time.tolist(), step.tolist(), value.tolist(), strict=True)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([["Wall time", "Step", "Value"], *rows])
    assert responses.tensorboard_csv(wall_time, step, value) == buffer.getvalue().encode()

    def cleanse(number: float) -> float | str:
        if math.isnan(number):
            return "NaN"
        return number if math.isfinite(number) else ("Infinity" if number > 0 else "-Infinity")

    triples = json.loads(responses.tensorboard_triples(wall_time, step, value))
    assert triples == [
        [cleanse(w), s, cleanse(v)]
        for w, s, v in zip(wall_time.tolist(), step.tolist(), value.tolist(), strict=True)
    ]
    assert responses.tensorboard_triples(wall_time[:0], step[:0], value[:0]) == b"[]"
    assert responses.tensorboard_csv(wall_time[:0], step[:0], value[:0]) == (
        b"Wall time,Step,Value\r\n"
    )


def test_the_server_process_shortens_gil_turns() -> None:
    import sys

    from lumiboard.server import workers

    previous = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)  # Python's default
        workers.shorten_gil_turns()
        assert sys.getswitchinterval() == pytest.approx(workers.SWITCH_INTERVAL)
    finally:
        sys.setswitchinterval(previous)


def test_serve_shortens_gil_turns(monkeypatch: pytest.MonkeyPatch, logdir: Path) -> None:
    import sys

    import uvicorn

    from lumiboard import cli
    from lumiboard.server import workers

    seen: list[float] = []

    def fake_run(server: uvicorn.Server, sockets: Any = None) -> None:
        seen.append(sys.getswitchinterval())
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    monkeypatch.delenv("LUMIBOARD_AUTH_TOKEN", raising=False)
    previous = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        assert cli.main(["--logdir", str(logdir), "--port", "0", "--no-cache"]) == 0
    finally:
        sys.setswitchinterval(previous)
    assert seen == [pytest.approx(workers.SWITCH_INTERVAL)]


# ---- integer query parameters: one strict parser (server/context.query_int) ----------------


@pytest.mark.parametrize(
    "url",
    [
        "/data/plugin/histograms/histograms?run=train&tag=weights&samples=",
        "/data/plugin/histograms/histograms?run=train&tag=weights&samples=1_0",
        "/data/plugin/histograms/multirun?runs=train&tag=weights&samples=%205",
        "/data/plugin/distributions/distributions?run=train&tag=weights&samples=",
        "/data/plugin/text/text?run=train&tag=notes/text_summary&min_step=",
        "/data/plugin/text/text?run=train&tag=notes/text_summary&max_step=%D9%A1",
        "/data/plugin/graphs/graph?run=train&limit_attr_size=",
        "/data/plugin/graphs/graph?run=train&limit_attr_size=1_0",
        "/data/plugin/profile/event?run=prof&worker=worker0&id=",
    ],
)
def test_an_empty_or_loose_integer_parameter_is_a_400(client: TestClient, url: str) -> None:
    # Empty was read as "absent" (or as 0), and int() took " 5", "1_0" and Arabic-Indic digits.
    response = client.get(url)
    assert response.status_code == 400, response.text
    assert "must be an integer" in response.json()["error"]


def test_integer_parameters_still_read_plain_integers(client: TestClient) -> None:
    answer = client.get("/data/plugin/histograms/histograms?run=train&tag=weights&samples=1")
    assert answer.status_code == 200
    assert len(answer.json()) == 1
    answer = client.get("/data/plugin/text/text?run=train&tag=notes/text_summary&min_step=-3")
    assert answer.status_code == 200
