"""``--alert-webhook URL``: new health flags and alerts, posted as Slack-compatible JSON.

After each reload pass (:meth:`Reloader.add_listener`) the webhook's own thread asks the
health index (the one ``/data/health`` uses) for the flags, and posts those it has not
seen before in one message ``{"text": "..."}`` (Slack's incoming webhooks, and the many
services that take their format). The reload thread only sets an event; the event loop
is never involved.

- What the logs already hold when the server starts (the flags after the first pass) is
  not sent: restarting a server must not repeat old news. Only flags and alerts that
  appear later are.
- Alerts are sent whatever their level (training code asked for them); detected flags
  from ``warning`` up (``min_level``): an ``info`` spike is for the Health view.
- A failed post is retried with exponential backoff (``backoff`` x 1, 2, 4 ...; a 429's
  ``Retry-After`` up to a minute), then dropped with a warning in the log; statuses
  that no retry can fix (400, 401, 403, 404 ...) are not retried. Nothing raises.
- The URL is a secret (Slack's holds the key): logs name only its scheme and host.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from urllib.parse import urlsplit

from lumiboard import __version__
from lumiboard.store.health import LEVELS, HealthFlag, HealthIndex

logger = logging.getLogger(__name__)

#: Flags listed in one message; the rest are counted.
MAX_LINES = 20
#: Statuses worth another try.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: The longest wait a 429's Retry-After can ask for, in seconds.
MAX_RETRY_AFTER = 60.0
_MARKS = {"error": ":red_circle:", "warning": ":warning:", "info": ":information_source:"}

FlagKey = tuple[str, str, str, int, str]


class HealthWebhook:
    """Posts new flags of ``index`` to ``url`` from a thread of its own.

    Wire it to a reloader with ``reloader.add_listener(webhook.after_pass)`` and
    :meth:`start` it; :meth:`close` stops it.
    """

    def __init__(
        self,
        url: str,
        index: HealthIndex,
        *,
        source: str = "",
        min_level: str = "warning",
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 1.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the alert webhook must be an http:// or https:// URL")
        if retries < 0 or timeout <= 0 or backoff < 0:
            raise ValueError("retries and backoff must be >= 0, timeout > 0")
        if min_level not in LEVELS:
            raise ValueError(f"min_level must be one of {', '.join(LEVELS)}, not {min_level!r}")
        self.url = url
        self.index = index
        self.source = source
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._levels = LEVELS[: LEVELS.index(min_level) + 1]
        self._where = f"{parts.scheme}://{parts.hostname}"  # for logs: never the whole URL
        self._seen: set[FlagKey] | None = None
        self._opener = urllib.request.build_opener()
        self._changed = threading.Condition()
        self._asked = 0  # passes signalled
        self._done = 0  # passes handled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- life cycle ----------------------------------------------------------------

    def start(self) -> None:
        """Start the posting thread (a daemon: it never holds the process up)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name="lumiboard-webhook", daemon=True
            )
            self._thread.start()

    def after_pass(self) -> None:
        """A reload pass ended: look for new flags (on the webhook's thread, soon)."""
        with self._changed:
            self._asked += 1
            self._changed.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every pass signalled so far is handled (its post sent or given up);
        False if ``timeout`` seconds passed first."""
        with self._changed:
            target = self._asked
            return self._changed.wait_for(
                lambda: self._done >= target or self._stop.is_set(), timeout
            )

    def close(self, timeout: float = 5.0) -> None:
        """Stop: a post being retried gives up; the thread gets ``timeout`` seconds."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._asked > self._done or self._stop.is_set())
                if self._stop.is_set():
                    return
                target = self._asked
            try:
                self.check()
            except Exception:  # never let the thread die: the next pass tries again
                logger.exception("alert webhook: looking for new flags failed")
            with self._changed:
                self._done = target
                self._changed.notify_all()

    # ---- flags ------------------------------------------------------------------

    def check(self) -> list[HealthFlag]:
        """Post the flags not seen before (the first call only remembers them); return
        those posted (or given up on)."""
        flags = self.index.report().flags
        keys = [_key(flag) for flag in flags]
        if self._seen is None:
            self._seen = set(keys)
            return []
        new = [
            flag
            for flag, key in zip(flags, keys, strict=True)
            if key not in self._seen and (flag.kind == "alert" or flag.level in self._levels)
        ]
        self._seen.update(keys)
        if new:
            self.post(slack_message(new, self.source))
        return new

    def post(self, message: dict[str, object]) -> bool:
        """POST ``message`` as JSON, retried as the module says; True when delivered."""
        body = json.dumps(message).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": f"lumiboard/{__version__}"}
        for attempt in range(self.retries + 1):
            delay = self.backoff * 2**attempt
            try:
                request = urllib.request.Request(self.url, body, headers, method="POST")
                with self._opener.open(request, timeout=self.timeout) as response:
                    response.read(65_536)
                return True
            except urllib.error.HTTPError as error:
                error.close()
                if error.code not in RETRY_STATUSES:
                    logger.warning(
                        "alert webhook %s refused the message (HTTP %d): not retried",
                        self._where,
                        error.code,
                    )
                    return False
                delay = _retry_after(error, delay)
                why = f"HTTP {error.code}"
            except (OSError, ValueError) as error:  # URLError, timeouts, refused connections
                why = type(error).__name__
            if attempt < self.retries:
                logger.info("alert webhook %s: %s, retrying in %.1f s", self._where, why, delay)
                if self._stop.wait(delay):
                    break
        logger.warning(
            "alert webhook %s: message dropped after %d attempts (%s)",
            self._where,
            attempt + 1,
            why,
        )
        return False


def slack_message(flags: Sequence[HealthFlag], source: str = "") -> dict[str, object]:
    """``{"text": ...}``: one line per flag (at most MAX_LINES), in Slack's mrkdwn."""
    where = f" in {_escape(source)}" if source else ""
    plural = "s" if len(flags) != 1 else ""
    lines = [f"*lumiboard*: {len(flags)} new health flag{plural}{where}"]
    lines += [
        f"{_MARKS.get(flag.level, '')} *{flag.level}* {flag.kind} · run "
        f"`{_escape(flag.run)}` · `{_escape(flag.tag)}` · step {flag.step}: "
        f"{_escape(flag.message)}"
        for flag in flags[:MAX_LINES]
    ]
    if len(flags) > MAX_LINES:
        lines.append(f"... and {len(flags) - MAX_LINES} more (the Health view lists them)")
    return {"text": "\n".join(lines)}


def _key(flag: HealthFlag) -> FlagKey:
    # An alert is told apart by its message (two alerts can share a step); a detected
    # flag by where it starts (its message's numbers change as points arrive).
    return (flag.run, flag.tag, flag.kind, flag.step, flag.message if flag.kind == "alert" else "")


def _escape(text: str) -> str:
    """Slack's three control characters in text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _retry_after(error: urllib.error.HTTPError, default: float) -> float:
    try:
        asked = float(error.headers.get("Retry-After", ""))
    except ValueError:
        return default
    return min(max(asked, 0.0), MAX_RETRY_AFTER)
