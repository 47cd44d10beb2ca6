"""Time to first paint of the Scalars dashboard: 100 runs x 10,000 points in headless Chromium.

Generates a log directory with lumiboard's SummaryWriter (``--runs`` runs x ``--tags`` scalar
tags x ``--steps`` steps; default 100 x 1 x 10,000 = 1M points; one writer process per core),
kept under ``--workdir`` (named by its size) and reused by the next invocation. Starts
``python -m lumiboard --logdir D --port 0 --no-cache`` and waits until ``data/status`` says the
log directory is loaded, so what is timed is the page, not the ingestion. Then, ``--repeat``
times, in a fresh browser context each time (empty HTTP cache and localStorage), opens the app
in Debian's ``/usr/bin/chromium`` (headless, software rendering, never a downloaded browser) and
measures, inside the page, from navigation start (``performance.timeOrigin``):

- **series ms**: the last ``data/plugin/scalars/series`` response ends (the charts' data);
- **drawn ms**: every card is there and every chart on screen has drawn (``[data-testid=chart]``
  has ``data-points``, set right after the chart drew, and every run is a line: ``data-runs`` =
  ``--runs``; cards below the fold load only when scrolled to, as in TensorBoard);
- **paint ms**: the next animation frame after that, i.e. the frame that shows it: the figure
  checked against the target;

and, from Python, **wall ms**: ``page.goto`` to the drawn state seen by Playwright (adds the
driver's round trips). Each chart canvas on screen (**cards**) is then checked to be non-blank
(**blank**: canvases with almost no pixel drawn), and its lines and points drawn are summed.
The first load is a warm-up (the browser's compile caches and the server's first requests) and is
reported but not counted.

The table gives every run and the median of the counted ones; the target is a median paint
under 1 s (``--target-ms``). ``--check`` exits with status 1 when it fails.

Usage::

    .venv/bin/python benchmarks/render.py                    # 100 runs x 10,000 points
    .venv/bin/python benchmarks/render.py --tags 4 --check   # 4 cards of 100 runs each
"""

from __future__ import annotations

# benchmarks/http.py is named like the standard library's ``http`` package (which urllib
# imports): run as a script, this folder comes first on sys.path. Drop that entry first.
import os
import sys

if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import json
import math
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

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

# Runs in the page before the app: records when every chart has drawn, and the frame after.
OBSERVER = """
(() => {
  const expected = %(cards)d, runs = %(runs)d;
  const done = () => {
    const charts = [...document.querySelectorAll('[data-testid=scalar-card] [data-testid=chart]')];
    if (charts.length !== expected) return false;
    // Cards below the fold load and draw only when scrolled to: the ones on screen count.
    const visible = charts.filter((c) => c.getBoundingClientRect().top < innerHeight);
    return visible.length > 0 && visible.every(
      (c) => c.dataset.points !== undefined && c.dataset.runs === String(runs));
  };
  const observer = new MutationObserver(() => {
    if (window.__drawn !== undefined || !done()) return;
    window.__drawn = performance.now();
    observer.disconnect();
    requestAnimationFrame(() => { window.__paint = performance.now(); });
  });
  observer.observe(document, { subtree: true, attributes: true, attributeFilter: ['data-points'] });
})();
"""

# After the paint: whether every chart canvas has pixels drawn, and what the charts hold.
INSPECT = """
() => {
  const charts = [...document.querySelectorAll('[data-testid=scalar-card] [data-testid=chart]')]
    .filter((c) => c.getBoundingClientRect().top < innerHeight);
  const blank = charts.filter((c) => {
    const canvas = c.querySelector('canvas');
    if (!canvas) return true;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) drawn++;
    return drawn < 1000;
  }).length;
  const series = performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('data/plugin/scalars/series'))
    .map((e) => e.responseEnd);
  return {
    cards: charts.length,
    blank,
    points: charts.reduce((n, c) => n + Number(c.dataset.points), 0),
    lines: charts.reduce((n, c) => n + Number(c.dataset.runs), 0),
    seriesEnd: series.length ? Math.max(...series) : null,
    requests: series.length,
  };
}
"""


def _write_run(args: tuple[str, int, int, int]) -> int:
    from lumiboard import SummaryWriter

    path, index, tags, steps = args
    with SummaryWriter(path, flush_secs=30, max_queue=1000) as writer:
        for step in range(steps):
            base = 0.2 + 0.02 * index + 2.0 * math.exp(-step / 2_000)
            for t in range(tags):
                noise = 0.05 * math.sin(step * 0.7 + index + t)
                writer.add_scalar(f"loss/tag{t}" if tags > 1 else "loss", base + t + noise, step)
    return index


def generate(root: Path, runs: int, tags: int, steps: int) -> Path:
    done = root / "COMPLETE"
    if done.exists():
        print(f"reusing {root}")
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    started = time.perf_counter()
    jobs = [(str(root / f"run_{i:03d}"), i, tags, steps) for i in range(runs)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(_write_run, jobs))
    done.write_text(f"{runs} x {tags} x {steps}\n")
    points = runs * tags * steps
    print(f"wrote {points:,} points to {root} in {time.perf_counter() - started:.1f} s")
    return root


class Server:
    """``python -m lumiboard`` in its own process group, killed as a whole by ``stop``."""

    def __init__(self, logdir: Path, log: Path) -> None:
        self.log = log
        command = [sys.executable, "-m", "lumiboard", "--logdir", str(logdir), "--port", "0"]
        command.append("--no-cache")
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.url = ""

    def wait_ready(self, timeout: float) -> float:
        """Seconds until the URL is printed and ``data/status`` reports the load finished."""
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        while not self.url:
            match = re.search(r"at (http://\S+) ", self.log.read_text(errors="replace"))
            if match:
                self.url = match.group(1)
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"lumiboard did not start:\n{self.log.read_text()}")
            else:
                time.sleep(0.05)
        while True:
            try:
                with urllib.request.urlopen(self.url + "data/status", timeout=10) as response:
                    status = json.load(response)
                if not status.get("loading") and status.get("runs_done") == status.get(
                    "runs_total"
                ):
                    return time.perf_counter() - started
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"lumiboard did not load:\n{self.log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        if self.process.poll() is None:
            self.process.wait(timeout=10)


def measure(
    browser: Any, url: str, cards: int, runs: int, timeout_ms: int, screenshot: Path | None
) -> dict[str, Any]:
    context = browser.new_context(viewport=VIEWPORT)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.add_init_script(OBSERVER % {"cards": cards, "runs": runs})
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_function("() => window.__paint !== undefined", timeout=timeout_ms)
        wall = (time.perf_counter() - started) * 1000
        result = page.evaluate(INSPECT)
        result.update(
            drawn=page.evaluate("() => window.__drawn"),
            paint=page.evaluate("() => window.__paint"),
            wall=wall,
            errors=errors,
        )
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
        return result
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--tags", type=int, default=1, help="scalar tags (one card each)")
    parser.add_argument("--steps", type=int, default=10_000, help="points per run and tag")
    parser.add_argument("--repeat", type=int, default=5, help="timed loads (after one warm-up)")
    parser.add_argument("--target-ms", type=float, default=1_000.0)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "lumiboard-bench-render",
        help="where generated log directories are kept and reused",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per stage")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target fails")
    parser.add_argument("--screenshot", type=Path, help="save a PNG of the last load's page")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    root = args.workdir / f"{args.runs}x{args.tags}x{args.steps}"
    logdir = generate(root, args.runs, args.tags, args.steps)
    server = Server(logdir, args.workdir / "server.log")
    try:
        ready = server.wait_ready(args.timeout)
        print(f"server {server.url} ready (log directory loaded) in {ready:.1f} s")
        rows = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for i in range(args.repeat + 1):
                    shot = args.screenshot if i == args.repeat else None
                    timeout_ms = int(args.timeout * 1000)
                    rows.append(
                        measure(browser, server.url, args.tags, args.runs, timeout_ms, shot)
                    )
                    rows[-1]["label"] = "warm-up" if i == 0 else str(i)
            finally:
                browser.close()
    finally:
        server.stop()

    print()
    print(
        f"{args.runs} runs x {args.tags} tag(s) x {args.steps:,} points "
        f"= {args.runs * args.tags * args.steps:,} points, {args.tags} card(s), "
        f"viewport {VIEWPORT['width']}x{VIEWPORT['height']}, {os.cpu_count()} CPU(s), "
        "headless chromium, software rendering"
    )
    header = (
        f"{'load':>8} {'series ms':>10} {'drawn ms':>9} {'paint ms':>9} {'wall ms':>8} "
        f"{'cards':>6} {'lines':>6} {'points drawn':>13} {'requests':>9} {'blank':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        series = f"{row['seriesEnd']:.0f}" if row["seriesEnd"] is not None else "-"
        print(
            f"{row['label']:>8} {series:>10} {row['drawn']:>9.0f} {row['paint']:>9.0f} "
            f"{row['wall']:>8.0f} {row['cards']:>6} {row['lines']:>6} {row['points']:>13,} "
            f"{row['requests']:>9} {row['blank']:>6}"
        )
    counted = rows[1:]
    median = {key: statistics.median(r[key] for r in counted) for key in ("drawn", "paint", "wall")}
    series_median = statistics.median(r["seriesEnd"] or 0 for r in counted)
    print(
        f"{'median':>8} {series_median:>10.0f} {median['drawn']:>9.0f} {median['paint']:>9.0f} "
        f"{median['wall']:>8.0f}"
    )
    print()
    problems = [
        f"load {r['label']}: {what}"
        for r in rows
        for what in (
            [f"{r['blank']} blank chart canvas(es)"] * bool(r["blank"])
            + [f"console error: {e}" for e in r["errors"]]
        )
    ]
    for problem in problems:
        print(f"problem: {problem}")
    ok = median["paint"] < args.target_ms and not problems
    print(
        f"{'PASS' if ok else 'FAIL'}: first paint of all charts, median {median['paint']:.0f} ms "
        f"(target < {args.target_ms:.0f} ms)"
    )
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
