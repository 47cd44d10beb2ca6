"""``lumiboard snapshot``: the data it stores (the server's own answers), the selection by
``--runs``/``--tags``, the page it writes (one file, the app's script allowed by hash, data that
cannot break out of its block) and the command. The page is opened in a browser by
``tests/e2e/test_browser_snapshot.py``."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import gzip
import hashlib
import html.parser
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lumiboard import SummaryWriter, snapshot_collect, snapshot_page
from lumiboard import hparams as hp
from lumiboard.cli import main
from lumiboard.server import static
from lumiboard.snapshot import write_snapshot
from lumiboard.snapshot_asgi import request_key
from lumiboard.snapshot_collect import HISTOGRAM_SAMPLES, encode_column

REPO = Path(__file__).resolve().parents[2]
HOSTILE = "</script><script>alert(1)</script><!--<script>"
STEPS = 30


def _loss(run: str, step: int) -> float:
    return (2.0 if run == "alpha" else 3.0) / (1 + step) + 0.01 * step


def _write_logdir(root: Path) -> None:
    rng = np.random.default_rng(0)
    for index, run in enumerate(("alpha", "beta")):
        with SummaryWriter(root / run) as writer:
            hp.hparams({"lr": 0.1 * (index + 1), "optimizer": "adam"}, writer=writer)
            for step in range(STEPS):
                loss = _loss(run, step)
                if run == "beta" and step >= 20:
                    loss = math.nan  # a health flag on beta's loss
                writer.add_scalar("loss", loss, step)
                writer.add_scalar("accuracy", 1 - _loss(run, step) / 4, step)
                if step % 10 == 0:
                    writer.add_histogram("weights", rng.normal(0, 1 + index, 500), step)
            writer.add_image("sample", np.full((3, 8, 12), 0.5 * index), 0)
            writer.add_text("notes", f"**{run}** {HOSTILE}", 0)


def _fake_build(root: Path, script: str = 'console.log("</script>", "<!--")') -> Path:
    """A snapshot build as vite writes it (the real one is opened by the browser test)."""
    (root / "assets").mkdir(parents=True)
    (root / "assets" / "index-abc.js").write_text(script, encoding="utf-8")
    (root / "assets" / "style-abc.css").write_text("body{color:red}", encoding="utf-8")
    (root / "index.html").write_text(
        '<!doctype html>\n<html lang="en">\n  <head>\n    <meta charset="utf-8" />\n'
        "    <!-- a comment -->\n"
        '    <link rel="preload" href="data/runs" as="fetch" crossorigin />\n'
        "    <title>lumiboard</title>\n"
        '    <script type="module" crossorigin src="./assets/index-abc.js"></script>\n'
        '    <link rel="stylesheet" crossorigin href="./assets/style-abc.css">\n'
        '  </head>\n  <body>\n    <div id="app"></div>\n  </body>\n</html>\n',
        encoding="utf-8",
    )
    return root


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("logs")
    _write_logdir(root)
    return root


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = _fake_build(tmp_path / "static" / "snapshot")
    monkeypatch.setattr(static, "static_dir", lambda: directory.parent)
    return directory


class _Scripts(html.parser.HTMLParser):
    """The page's script elements: (attributes, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self.metas: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._open = dict(attrs)
            self.scripts.append((self._open, ""))
        elif tag == "meta":
            self.metas.append(dict(attrs))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            attributes, text = self.scripts[-1]
            self.scripts[-1] = (attributes, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = None


def _parse(page: str) -> _Scripts:
    parser = _Scripts()
    parser.feed(page)
    return parser


def _data(page: str) -> dict[str, Any]:
    """The page's data block, decoded as the web app decodes it."""
    scripts = {attrs.get("id"): (attrs, text) for attrs, text in _parse(page).scripts}
    attrs, text = scripts["lumiboard-snapshot"]
    if attrs.get("data-encoding") == "gzip-base64":
        text = gzip.decompress(base64.b64decode(text)).decode("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _column(stored: list[str]) -> np.ndarray:
    dtype, encoded = stored
    return np.frombuffer(base64.b64decode(encoded), dtype=f"<{dtype}").astype(np.float64)


def _answer(data: dict[str, Any], path: str, **query: str) -> Any:
    stored = data["responses"][request_key(path, list(query.items()))]
    assert stored["status"] == 200, stored
    return stored["json"] if "json" in stored else base64.b64decode(stored["base64"])


# ---- keys and columns --------------------------------------------------------------------------


def test_request_keys_are_the_ones_the_web_app_computes() -> None:
    # The same strings as frontend/tests/snapshot.test.ts expects of `requestKey`.
    pairs = [("tag", "loss/train*(x)~!'"), ("run", "lr 0.1+a&b=c%/é"), ("sample", "0")]
    assert request_key("/data/plugin/images/images", pairs) == (
        "data/plugin/images/images?run=lr%200.1%2Ba%26b%3Dc%25%2F%C3%A9&sample=0"
        "&tag=loss%2Ftrain*(x)~!'"
    )
    multirun = [("tag", "w"), ("runs", "b"), ("runs", "a"), ("samples", "51")]
    assert (
        request_key("data/plugin/histograms/multirun", multirun)
        == "data/plugin/histograms/multirun?runs=b&runs=a&samples=51&tag=w"
    )
    assert request_key("/data/runs") == "data/runs"


def test_columns_are_stored_exactly_in_the_narrowest_dtype() -> None:
    assert encode_column(np.array([0, 5, 2**31 - 1]), integers=True)[0] == "i4"
    big = np.array([0, 2**40])
    assert encode_column(big, integers=True)[0] == "f8"
    assert _column(encode_column(big, integers=True)).tolist() == [0, 2**40]
    halves = np.array([0.5, np.nan, -np.inf, 1e30], dtype=np.float32).astype(np.float64)
    assert encode_column(halves)[0] == "f4"
    assert np.array_equal(_column(encode_column(halves)), halves, equal_nan=True)
    tenth = np.array([0.1, 1e300])
    assert encode_column(tenth)[0] == "f8"
    assert _column(encode_column(tenth)).tolist() == [0.1, 1e300]


def test_constants_match_the_web_app() -> None:
    card = (REPO / "frontend/src/dashboards/histograms/Card.tsx").read_text()
    assert re.search(r"export const SAMPLES = (\d+);", card)[1] == str(HISTOGRAM_SAMPLES)  # type: ignore[index]
    dashboards = (REPO / "frontend/src/snapshot/dashboards.ts").read_text()
    mounts = re.search(r"const mounts: Record<string, Mount> = \{([^}]*)\}", dashboards)
    assert mounts is not None
    assert {name.strip() for name in mounts[1].split(",")} == set(snapshot_collect.DASHBOARDS)
    data_ts = (REPO / "frontend/src/snapshot/data.ts").read_text()
    assert f"ELEMENT_ID = '{snapshot_page.DATA_ELEMENT_ID}'" in data_ts
    assert f"META_ELEMENT_ID = '{snapshot_page.META_ELEMENT_ID}'" in data_ts


# ---- what a snapshot holds -----------------------------------------------------------------------


def test_snapshot_holds_every_point_and_each_dashboards_answers(
    logdir: Path, build: Path, tmp_path: Path
) -> None:
    report = write_snapshot(logdir, tmp_path / "out" / "report.html")
    page = report.path.read_text(encoding="utf-8")
    assert report.size == len(page.encode("utf-8"))
    assert sorted(report.runs) == ["alpha", "beta"]
    assert report.parts["scalars"] > 0
    assert report.parts["images"] > 0
    data = _data(page)
    assert data["meta"]["logdir"] == str(logdir)
    assert data["meta"]["runs"] is None

    assert sorted(_answer(data, "/data/runs")) == ["alpha", "beta"]
    assert _answer(data, "/data/environment")["reload_interval"] == 0
    assert _answer(data, "/data/status")["loading"] is False

    # Scalars: every point of every series, exactly.
    for run in ("alpha", "beta"):
        stored = data["scalars"]["accuracy"][run]
        assert _column(stored["step"]).tolist() == list(range(STEPS))
        expected = np.array([1 - _loss(run, s) / 4 for s in range(STEPS)], np.float32)
        assert np.array_equal(_column(stored["value"]), expected.astype(np.float64))
    beta_loss = _column(data["scalars"]["loss"]["beta"]["value"])
    assert np.isnan(beta_loss[20:]).all()
    assert set(_answer(data, "/data/plugin/scalars/tags")["alpha"]) == {"accuracy", "loss"}

    # Images: the listing and each image's bytes, as the routes answer them.
    listing = _answer(data, "/data/plugin/images/images", run="beta", tag="sample", sample="0")
    assert len(listing) == 1
    assert (listing[0]["width"], listing[0]["height"]) == (12, 8)
    blob_pairs = dict([listing[0]["query"].split("=", 1)])
    image = _answer(data, "/data/plugin/images/individualImage", **blob_pairs)
    assert image.startswith(b"\x89PNG")

    # Text, with and without markdown: the hostile text is escaped by the server's renderer.
    for markdown in ({}, {"markdown": "false"}):
        entries = _answer(
            data, "/data/plugin/text/text", run="alpha", tag="notes/text_summary", **markdown
        )
        assert "alpha" in entries[0]["text"]
        assert "<script>" not in entries[0]["text"]

    # Histograms per run (the app asks for several at once), distributions per series.
    answer = _answer(
        data,
        "/data/plugin/histograms/multirun",
        tag="weights",
        runs="alpha",
        samples=str(HISTOGRAM_SAMPLES),
    )
    assert [point[1] for point in answer["runs"]["alpha"]] == [0, 10, 20]
    distributions = _answer(
        data, "/data/plugin/distributions/distributions", run="beta", tag="weights"
    )
    assert len(distributions) == 3
    assert len(distributions[0][2]) == 9

    # HParams: one session per run; health: beta's NaN loss.
    table = _answer(data, "/data/plugin/hparams/table")
    assert sorted(session["run"] for session in table["sessions"]) == ["alpha", "beta"]
    flags = _answer(data, "/data/health")["flags"]
    assert {(flag["run"], flag["tag"]) for flag in flags} == {("beta", "loss")}

    # The snapshot's dashboards are enabled by their data; the others are off.
    listing_all = _answer(data, "/data/plugins_listing")
    for name in ("scalars", "images", "text", "histograms", "distributions", "hparams"):
        assert listing_all[name]["enabled"], name
    for name in ("audio", "pr_curves", "graphs", "projector", "mesh", "custom_scalars"):
        assert not listing_all[name]["enabled"], name


def test_runs_and_tags_select_what_goes_in(logdir: Path, build: Path, tmp_path: Path) -> None:
    report = write_snapshot(logdir, tmp_path / "r.html", runs="^al", tags="acc|weights")
    data = _data(report.path.read_text(encoding="utf-8"))
    assert data["meta"]["runs"] == "^al"
    assert data["meta"]["tags"] == "acc|weights"
    assert _answer(data, "/data/runs") == ["alpha"]
    assert list(data["scalars"]) == ["accuracy"]
    assert list(data["scalars"]["accuracy"]) == ["alpha"]
    assert _answer(data, "/data/plugin/scalars/tags") == {
        "alpha": {"accuracy": {"displayName": "accuracy", "description": ""}}
    }
    assert _answer(data, "/data/plugin/text/tags") == {"alpha": []}
    assert _answer(data, "/data/health")["flags"] == []
    listing = _answer(data, "/data/plugins_listing")
    assert listing["histograms"]["enabled"]
    assert not listing["text"]["enabled"]
    table = _answer(data, "/data/plugin/hparams/table")
    assert [session["run"] for session in table["sessions"]] == ["alpha"]
    assert not any("beta" in key for key in data["responses"])


def test_snapshot_is_taken_where_an_event_loop_runs(
    logdir: Path, build: Path, tmp_path: Path
) -> None:
    # A notebook's cell, or Playwright's sync API, runs inside an event loop.
    async def in_a_loop() -> list[str]:
        return write_snapshot(logdir, tmp_path / "r.html", runs="beta").runs

    # On a thread of its own: earlier browser tests leave Playwright's loop running on this
    # one, where asyncio.run refuses to start.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(lambda: asyncio.run(in_a_loop())).result() == ["beta"]


# ---- the page ------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
def test_page_is_one_file_whose_data_cannot_break_out(
    logdir: Path, build: Path, tmp_path: Path, compress: bool
) -> None:
    report = write_snapshot(logdir, tmp_path / "r.html", title=HOSTILE, compress=compress)
    page = report.path.read_text(encoding="utf-8")
    parsed = _parse(page)
    # The app's script, the description and the data: nothing else, nothing loaded.
    kinds = [(attrs.get("type"), attrs.get("id")) for attrs, _ in parsed.scripts]
    data_type = "application/octet-stream" if compress else "application/json"
    assert kinds == [
        ("module", None),
        ("application/json", "lumiboard-snapshot-meta"),
        (data_type, "lumiboard-snapshot"),
    ]
    assert not re.search(r"<(?:script|link|img)[^>]+(?:src|href)=", page)
    assert "<!-- a comment -->" not in page
    assert "preload" not in page
    # The script is the build's, its `</script` and `<!--` escaped; the CSP allows it by hash.
    script = parsed.scripts[0][1]
    assert script == 'console.log("<\\/script>", "<\\!--")'
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = next(m["content"] for m in parsed.metas if m.get("http-equiv"))
    assert policy is not None
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy
    assert "connect-src data: blob:" in policy
    assert "<style>body{color:red}</style>" in page
    # The title is text; the data hold the hostile strings intact (in a text, a run's notes).
    assert f"<title>{HOSTILE}" not in page
    assert "<title>&lt;/script&gt;" in page
    data = _data(page)
    assert _answer(data, "/data/environment")["window_title"] == HOSTILE
    raw = _answer(
        data, "/data/plugin/text/text", run="beta", tag="notes/text_summary", markdown="false"
    )
    assert "alert(1)" in raw[0]["text"]


def test_inline_script_escapes_only_what_the_html_parser_reads() -> None:
    code = "a='</SCRIPT>';b=`<!--`;c=x<y;\r\nd=1\re=2"
    assert snapshot_page.inline_script(code) == "a='<\\/SCRIPT>';b=`<\\!--`;c=x<y;\nd=1\ne=2"
    assert snapshot_page.inline_style("a{content:'</style>'}") == "a{content:'<\\/style>'}"


def test_a_build_of_several_chunks_is_refused(tmp_path: Path) -> None:
    directory = _fake_build(tmp_path / "snapshot")
    index = directory / "index.html"
    index.write_text(
        index.read_text().replace("</head>", '<link rel="x" href="./assets/other.js"></head>')
    )
    with pytest.raises(snapshot_page.SnapshotBuildError, match="beside it"):
        snapshot_page.render(b"{}", b"{}", "t", directory)


# ---- the command ---------------------------------------------------------------------------------


def test_command_writes_the_file_and_says_its_size(
    logdir: Path, build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    assert main(["snapshot", "--logdir", str(logdir), "-o", str(out), "--tags", "loss"]) == 0
    printed = capsys.readouterr().out
    assert f"written to {out}" in printed
    assert "(2 runs)" in printed
    assert re.search(r"\(\d+\.\d+ [km]B; data before compression: core", printed)
    assert list(_data(out.read_text(encoding="utf-8"))["scalars"]) == ["loss"]


def test_command_errors_are_one_line(
    logdir: Path, build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = str(tmp_path / "r.html")
    with pytest.raises(SystemExit, match=r"lumiboard snapshot: .*"):
        main(["snapshot", "--logdir", str(logdir), "-o", out, "--runs", "(unclosed"])
    with pytest.raises(SystemExit, match=r"none of the 2 runs in .* matches --runs"):
        main(["snapshot", "--logdir", str(logdir), "-o", out, "--runs", "gamma"])
    with pytest.raises(SystemExit, match="no runs found in"):
        main(["snapshot", "--logdir", str(tmp_path / "missing"), "-o", out])
    with pytest.raises(SystemExit, match="samples_per_plugin"):
        main(["snapshot", "--logdir", str(logdir), "-o", out, "--samples_per_plugin", "x"])
    monkeypatch.setattr(static, "static_dir", lambda: None)
    with pytest.raises(SystemExit, match="npm run build"):
        main(["snapshot", "--logdir", str(logdir), "-o", out])
    assert not Path(out).exists()
