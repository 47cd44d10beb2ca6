"""``--alert-webhook``: new flags and alerts posted as Slack-compatible JSON to a local receiver.

A receiver (``http.server`` on 127.0.0.1, in a thread) records what is posted and answers
with the statuses a test gives it. The test drives the reloader pass by pass and waits for
the webhook with :meth:`HealthWebhook.flush` (an event, not a sleep).
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from lumiboard import SummaryWriter, cli
from lumiboard.alerts import alert
from lumiboard.reader.reload import Reloader
from lumiboard.server.webhook import HealthWebhook, slack_message
from lumiboard.store.health import HealthFlag, index_for
from lumiboard.store.provider import Provider


@dataclass
class Receiver:
    """What was posted, and the statuses to answer with (200 once they run out)."""

    url: str
    bodies: list[dict[str, object]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)  # answer once set
    arrived: threading.Event = field(default_factory=threading.Event)  # a post came in


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            record.arrived.set()
            record.hold.wait(30)
            record.bodies.append(body)
            record.headers.append(dict(self.headers))
            status = record.statuses.pop(0) if record.statuses else 200
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    record = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/B000/secret")
    record.hold.set()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield record
    record.hold.set()
    server.shutdown()
    server.server_close()
    thread.join()


def _train(root: Path, steps: range, nan_from: int | None = None) -> None:
    with SummaryWriter(str(root / "run")) as writer:
        for step in steps:
            value = math.nan if nan_from is not None and step >= nan_from else 1.0 / (step + 1)
            writer.add_scalar("loss", value, step)


@pytest.fixture
def served(tmp_path: Path, receiver: Receiver) -> Iterator[tuple[Reloader, HealthWebhook]]:
    """A reloader over ``tmp_path`` whose passes the webhook follows."""
    reloader = Reloader(str(tmp_path))
    webhook = HealthWebhook(
        receiver.url, index_for(Provider(reloader.runs)), source="runs/", backoff=0.01
    )
    reloader.add_listener(webhook.after_pass)
    webhook.start()
    yield reloader, webhook
    webhook.close()


def _pass(reloader: Reloader, webhook: HealthWebhook) -> None:
    reloader.reload()
    assert webhook.flush(timeout=30)


def test_new_flags_and_alerts_are_posted_once_and_old_ones_never(
    tmp_path: Path, receiver: Receiver, served: tuple[Reloader, HealthWebhook]
) -> None:
    reloader, webhook = served
    _train(tmp_path, range(100), nan_from=50)  # in the logs before the server starts
    _pass(reloader, webhook)
    assert receiver.bodies == []

    with SummaryWriter(str(tmp_path / "second")) as writer:
        writer.add_scalar("loss", math.inf, 7)
        alert("Epoch done", "accuracy 0.91", writer=writer, step=7)  # info: alerts always go
    _pass(reloader, webhook)
    (body,) = receiver.bodies
    assert list(body) == ["text"]
    assert body["text"] == (
        "*lumiboard*: 2 new health flags in runs/\n"
        ":information_source: *info* alert · run `second` · `alerts` · step 7: "
        "Epoch done: accuracy 0.91\n"
        ":red_circle: *error* nonfinite · run `second` · `loss` · step 7: "
        "loss is Infinity from step 7 on (first non-finite value)"
    )
    assert receiver.headers[0]["Content-Type"] == "application/json"

    _pass(reloader, webhook)  # nothing new: nothing sent
    assert len(receiver.bodies) == 1


def test_a_failed_post_is_retried_with_backoff_then_given_up_without_raising(
    tmp_path: Path,
    receiver: Receiver,
    served: tuple[Reloader, HealthWebhook],
    caplog: pytest.LogCaptureFixture,
) -> None:
    reloader, webhook = served
    _pass(reloader, webhook)
    receiver.statuses = [500, 429]
    _train(tmp_path, range(10), nan_from=5)
    _pass(reloader, webhook)
    assert len(receiver.bodies) == 3  # 500, 429 (Retry-After: 0), then 200
    assert receiver.bodies[0] == receiver.bodies[2]

    receiver.statuses = [503] * 4  # every try fails: dropped, logged
    with SummaryWriter(str(tmp_path / "other")) as writer:
        writer.add_scalar("loss", math.nan, 1)
    with caplog.at_level(logging.WARNING, logger="lumiboard.server.webhook"):
        _pass(reloader, webhook)
    assert len(receiver.bodies) == 7
    assert "dropped after 4 attempts (HTTP 503)" in caplog.text
    assert "secret" not in caplog.text  # the URL's key is never logged

    receiver.statuses = [400]  # no retry can fix a refusal
    with SummaryWriter(str(tmp_path / "third")) as writer:
        writer.add_scalar("loss", math.nan, 1)
    _pass(reloader, webhook)
    assert len(receiver.bodies) == 8


def test_a_slow_receiver_never_holds_up_the_reload(
    tmp_path: Path, receiver: Receiver, served: tuple[Reloader, HealthWebhook]
) -> None:
    reloader, webhook = served
    _pass(reloader, webhook)
    receiver.hold.clear()  # the receiver answers only when the test says so
    _train(tmp_path, range(10), nan_from=5)
    reloader.reload()
    reloader.reload()  # two passes done while the post waits for its answer
    assert receiver.arrived.wait(30)
    assert receiver.bodies == []  # still in flight: the passes did not wait for it
    receiver.hold.set()
    assert webhook.flush(timeout=30)
    assert len(receiver.bodies) == 1


def test_an_unreachable_webhook_only_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    reloader = Reloader(str(tmp_path))
    closed = "http://127.0.0.1:9/hook"  # the discard port: nothing listens
    webhook = HealthWebhook(closed, index_for(Provider(reloader.runs)), retries=1, backoff=0.0)
    reloader.add_listener(webhook.after_pass)
    webhook.start()
    try:
        _pass(reloader, webhook)
        _train(tmp_path, range(3), nan_from=1)
        with caplog.at_level(logging.WARNING, logger="lumiboard.server.webhook"):
            _pass(reloader, webhook)
        assert "http://127.0.0.1: message dropped after 2 attempts (URLError)" in caplog.text
    finally:
        webhook.close()


def test_info_flags_are_not_posted(
    tmp_path: Path, receiver: Receiver, served: tuple[Reloader, HealthWebhook]
) -> None:
    reloader, webhook = served
    _pass(reloader, webhook)
    rng = np.random.default_rng(2)
    loss = (2.3 * np.exp(-np.arange(1000) / 200) + 0.1) * np.exp(rng.normal(0, 0.05, 1000))
    loss[500] *= 4  # a spike within the curve's range: info
    with SummaryWriter(str(tmp_path / "run")) as writer:
        for step, value in enumerate(loss):
            writer.add_scalar("loss", value, step)
    _pass(reloader, webhook)
    assert receiver.bodies == []
    flags = webhook.index.report().flags
    assert [(flag.kind, flag.level, flag.step) for flag in flags] == [("spike", "info", 500)]


def _flag(run: str, message: str) -> HealthFlag:
    return HealthFlag(run, "loss", "nonfinite", "error", 3, 0.0, math.nan, message)


def test_the_message_escapes_slack_controls_and_is_bounded() -> None:
    text = slack_message([_flag("a<b>&c", "x < y")])["text"]
    assert text == (
        "*lumiboard*: 1 new health flag\n"
        ":red_circle: *error* nonfinite · run `a&lt;b&gt;&amp;c` · `loss` · step 3: x &lt; y"
    )
    many = str(slack_message([_flag(f"r{k}", "bad") for k in range(25)])["text"])
    assert many.count("\n") == 21
    assert many.endswith("... and 5 more (the Health view lists them)")


def test_the_url_must_be_http(tmp_path: Path) -> None:
    index = index_for(Provider({}))
    for url in ("file:///etc/passwd", "ftp://host/x", "http://", "not a url"):
        with pytest.raises(ValueError, match="http:// or https://"):
            HealthWebhook(url, index)
    args = cli.parse(["--logdir", str(tmp_path), "--alert-webhook", "file:///etc/passwd"])
    assert args.alert_webhook == "file:///etc/passwd"
    with pytest.raises(SystemExit, match="--alert-webhook: the alert webhook must be an http"):
        cli.main(["--logdir", str(tmp_path), "--alert-webhook", "file:///x", "--port", "0"])
