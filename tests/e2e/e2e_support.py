"""Shared by the browser tests: the session's log directory and its values, the server
process, the page helper and the pixel counts.

Imported by ``conftest.py`` (the fixtures) and the test modules.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import Locator, Page

from lumiboard import SummaryWriter

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
#: Playwright's wait limit for one expectation (ms): generous for a loaded 2-core machine.
TIMEOUT_MS = 20_000

# The session's log directory: runs and tags, and the values written (a function of run and step).
RUNS = ["alpha_seed1", "alpha_seed2", "alpha_seed3", "beta_seed1", "beta_seed2"]
GROUPS = ["alpha", "beta"]
TRAIN_STEPS = 1_500  # more than the 1,000 points TensorBoard would sample
EVAL_EVERY = 10
TAGS = ["accuracy", "loss/train", "loss/val"]


def loss_value(run: str, step: int) -> float:
    """``loss/train`` of ``run`` at ``step``: each run at its own level, with visible noise."""
    i = RUNS.index(run)
    return 0.4 + 0.6 * i + 1.5 * math.exp(-step / 300) + 0.15 * math.sin(step * 1.7 + i)


def val_value(run: str, step: int) -> float:
    return loss_value(run, step) + 0.1


def accuracy_value(run: str, step: int) -> float:
    i = RUNS.index(run)
    return 0.1 * i + 0.5 * (1 - math.exp(-step / 400)) + 0.03 * math.cos(step * 0.9 + i)


def write_session_logdir(root: Path) -> None:
    for run in RUNS:
        with SummaryWriter(str(root / run)) as writer:
            for step in range(TRAIN_STEPS):
                writer.add_scalar("loss/train", loss_value(run, step), step)
                if step % EVAL_EVERY == 0:
                    writer.add_scalar("loss/val", val_value(run, step), step)
                    writer.add_scalar("accuracy", accuracy_value(run, step), step)


# --- the server -------------------------------------------------------------------------------


@dataclass
class Server:
    """A running ``lumiboard`` process."""

    url: str  # as printed: http://localhost:PORT/[prefix/][?token=...]
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        """The app's URL without the query (ends with ``/``)."""
        return self.url.split("?", 1)[0]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group (the server saves and exits), SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def start_server(logdir: Path, log: Path, *flags: str, token: str | None = None) -> Server:
    command = [
        sys.executable,
        "-m",
        "lumiboard",
        "--logdir",
        str(logdir),
        "--port",
        "0",
        "--reload_interval",
        "1",
        "--no-cache",
        *flags,
    ]
    env = {key: value for key, value in os.environ.items() if key != "LUMIBOARD_AUTH_TOKEN"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group: killed as a whole
        )
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None:
            match = re.search(r"at (http://\S+) ", log.read_text(errors="replace"))
            if match:
                url = match.group(1)
            elif process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"lumiboard did not print its URL:\n{log.read_text()}")
            else:
                time.sleep(0.02)
        server = Server(url, process, log)
        probe = server.base + "data/runs" + (f"?token={token}" if token else "")
        while True:
            try:
                with urllib.request.urlopen(probe, timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{probe} did not answer:\n{log.read_text()}")
            time.sleep(0.05)
        return server
    except BaseException:
        stop_server(process)
        raise


def rgb(css: str) -> tuple[int, int, int]:
    """``#rrggbb`` or ``rgb(r, g, b)`` as a tuple."""
    if css.startswith("#"):
        return int(css[1:3], 16), int(css[3:5], 16), int(css[5:7], 16)
    numbers = re.findall(r"[\d.]+", css)
    return int(float(numbers[0])), int(float(numbers[1])), int(float(numbers[2]))


@dataclass
class UI:
    """A page on a lumiboard server, with the helpers the tests share."""

    page: Page
    name: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    # Navigation and waiting.

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.get_by_test_id("dashboard").wait_for()

    def open_settings(self) -> Locator:
        """The Scalars Settings pane, opened (it is closed on first load)."""
        pane = self.page.get_by_test_id("settings-pane")
        if not pane.is_visible():
            self.page.get_by_test_id("settings-toggle").click()
        pane.wait_for()
        self.settle_layout()
        return pane

    def charts(self) -> Locator:
        return self.page.locator("[data-testid=scalar-card] [data-testid=chart]")

    def wait_charts(self, cards: int, runs: int | None = None) -> None:
        """Until ``cards`` cards are drawn (each with ``runs`` lines when given)."""
        self.page.wait_for_function(
            """([cards, runs]) => {
              const charts = [...document.querySelectorAll(
                '[data-testid=scalar-card] [data-testid=chart]')];
              return charts.length === cards && charts.every((c) =>
                c.dataset.points !== undefined &&
                c.querySelector('[data-testid=chart-canvas]') !== null &&
                (runs === null || c.dataset.runs === String(runs)));
            }""",
            arg=[cards, runs],
        )
        self.settle()

    def wait_reloads(self, route: str, count: int = 2) -> None:
        """Wait for ``count`` answers of ``route`` (a URL part): the app's auto-reload asking
        again, each re-rendering the dashboard; then let that render run."""
        for _ in range(count):
            with self.page.expect_response(lambda response: route in response.url, timeout=30_000):
                pass
        self.page.wait_for_timeout(300)

    def settle(self) -> None:
        """Let pending redraws (batched per animation frame) run."""
        self.page.evaluate(
            "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )

    def settle_layout(self) -> None:
        """Until every chart's plot area has kept its size for a few frames.

        Opening or closing a pane resizes the cards; the charts follow through a ResizeObserver
        and a frame later. A position computed from a box measured before then lands elsewhere.
        """
        self.page.evaluate(
            """() => new Promise((resolve) => {
              const sizes = () => [...document.querySelectorAll('.u-over')]
                .map((el) => {
                  const r = el.getBoundingClientRect();
                  return `${r.width}x${r.height}`;
                })
                .join(',');
              let last = sizes(), still = 0, frames = 0;
              const tick = () => {
                const now = sizes();
                still = now === last ? still + 1 : 0;
                last = now;
                if (still >= 5 || ++frames > 300) resolve(); else requestAnimationFrame(tick);
              };
              requestAnimationFrame(tick);
            })"""
        )

    def card(self, tag: str) -> Locator:
        return self.page.locator(f"[data-testid=scalar-card][data-tag='{tag}']").first

    def chart_of(self, tag: str) -> Locator:
        return self.card(tag).get_by_test_id("chart")

    def runs_drawn(self, tag: str) -> int:
        return int(self.chart_of(tag).get_attribute("data-runs") or -1)

    def points_drawn(self, tag: str) -> int:
        return int(self.chart_of(tag).get_attribute("data-points") or -1)

    def run_color(self, run: str) -> tuple[int, int, int]:
        locator = self.page.locator(f"[data-testid=run-color][data-run='{run}']")
        return rgb(locator.input_value())

    # What is on screen.

    def canvas(self, tag: str, shot: str | None = None) -> np.ndarray:
        """The card's chart canvas as the user sees it (RGB, composited on the card)."""
        canvas = self.card(tag).get_by_test_id("chart-canvas")
        png = canvas.screenshot()
        if shot:
            (ARTIFACTS / f"{self.name}-{shot}.png").write_bytes(png)
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)

    def background(self, tag: str) -> tuple[int, int, int]:
        """The colour behind the chart: the card's computed background."""
        css = self.card(tag).evaluate("(el) => getComputedStyle(el).backgroundColor")
        return rgb(css)

    def screenshot(self, shot: str) -> Path:
        path = ARTIFACTS / f"{self.name}-{shot}.png"
        self.page.screenshot(path=str(path))
        return path


def non_background(image: np.ndarray, background: tuple[int, int, int], tol: int = 24) -> int:
    """Pixels that differ from the background (lines, axes, labels)."""
    return int((np.abs(image - np.array(background)).max(axis=2) > tol).sum())


def chromatic(image: np.ndarray, min_chroma: int = 60) -> int:
    """Coloured pixels: the runs' lines (the axes, grid and labels are grey)."""
    return int((image.max(axis=2) - image.min(axis=2) >= min_chroma).sum())


def color_pixels(image: np.ndarray, color: tuple[int, int, int], tol: int = 12) -> int:
    """Pixels drawn in ``color`` (a run's solid line)."""
    return int((np.abs(image - np.array(color)).max(axis=2) <= tol).sum())


def differing(a: np.ndarray, b: np.ndarray, tol: int = 24) -> int:
    """Pixels that differ between two images of one size."""
    assert a.shape == b.shape
    return int((np.abs(a - b).max(axis=2) > tol).sum())
