"""The text plugin's routes: TensorBoard's shapes, lumiboard's step range, errors, caps, and
the same tables and markdown structure as TensorBoard's own text plugin on the same files."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from route_support import get_json, route_fixtures
from starlette.testclient import TestClient
from torch.utils import tensorboard as torch_tb

from lumiboard import SummaryWriter, summary

TEXT = "/data/plugin/text"
MARKDOWN = (
    "# Notes\n\n**bold** and *em*, [a link](https://example.com)\n\n"
    "| k | v |\n|---|---|\n| lr | 0.1 |"
)


def _write_logdir(root: Path) -> None:
    with SummaryWriter(str(root / "lumi")) as writer:
        for step in (0, 5, 10):
            writer.add_text("notes", f"step **{step}**", step, walltime=100.0 + step)
        writer.add_text("md", MARKDOWN, 1, walltime=50.0)
        writer.add_scalar("loss", 1.0, 0)
    tf2 = summary.create_file_writer(str(root / "tables"))
    with tf2.as_default(step=3):
        summary.text("scalar", "*scalar* text")
        summary.text("vector", ["**a**", "b", "c"])
        summary.text("matrix", [["r0c0", "r0c1"], ["r1c0", "*r1c1*"]])
        summary.text("cube", np.array([[["a", "b"], ["c", "d"]], [["e", "f"], ["g", "h"]]]))
        summary.text("big_table", np.full((1_000, 80), "0.5"))
        summary.text("huge_text", "word " * 1_100_000)  # 5.5 MB
        summary.text("bad_utf8", np.asarray(b"ok \xff\xfe end", dtype=object))
        summary.text("hostile", "<script>window.__pwned=1</script><img src=x onerror=alert(1)>")
    tf2.close()
    writer = torch_tb.SummaryWriter(str(root / "torch"))
    writer.add_text("notes", "torch **bold**", 7)
    writer.add_text("notes", MARKDOWN, 8)
    writer.close()


logdir, client, tensorboard = route_fixtures(_write_logdir)


def _get(client: TestClient, route: str, **params: Any) -> Any:
    return get_json(client, f"{TEXT}/{route}", **params)


def test_tags_shape(client: TestClient) -> None:
    assert _get(client, "tags") == {
        "lumi": ["md/text_summary", "notes/text_summary"],
        "tables": sorted(
            ["scalar", "vector", "matrix", "cube", "big_table", "huge_text", "bad_utf8", "hostile"]
        ),
        "torch": ["notes/text_summary"],
    }


def test_text_shape_and_step_order(client: TestClient) -> None:
    entries = _get(client, "text", run="lumi", tag="notes/text_summary")
    assert [e["step"] for e in entries] == [0, 5, 10]
    assert [e["wall_time"] for e in entries] == [100.0, 105.0, 110.0]
    assert all(set(e) == {"wall_time", "step", "text"} for e in entries)
    # torch's add_text is a shape-[1] tensor: a one-cell table, as TensorBoard shows it.
    assert "<td><p>step <strong>5</strong></p></td>" in entries[1]["text"]


def test_step_range(client: TestClient) -> None:
    steps = [
        e["step"] for e in _get(client, "text", run="lumi", tag="notes/text_summary", min_step=5)
    ]
    assert steps == [5, 10]
    steps = [
        e["step"] for e in _get(client, "text", run="lumi", tag="notes/text_summary", max_step=5)
    ]
    assert steps == [0, 5]
    only = _get(client, "text", run="lumi", tag="notes/text_summary", min_step=5, max_step=5)
    assert [e["step"] for e in only] == [5]
    negative = _get(client, "text", run="lumi", tag="notes/text_summary", min_step=-3, max_step=0)
    assert [e["step"] for e in negative] == [0]
    assert _get(client, "steps", run="lumi", tag="notes/text_summary") == [
        {"wall_time": 100.0 + s, "step": s} for s in (0, 5, 10)
    ]


def test_markdown_false_escapes(client: TestClient) -> None:
    (entry,) = _get(client, "text", run="tables", tag="scalar", markdown="false")
    assert entry["text"] == "<pre>*scalar* text</pre>"
    (entry,) = _get(client, "text", run="tables", tag="scalar", markdown="true")
    assert entry["text"] == "<p><em>scalar</em> text</p>"


def test_tables(client: TestClient) -> None:
    (vector,) = _get(client, "text", run="tables", tag="vector")
    assert _cells(vector["text"]) == [["a"], ["b"], ["c"]]
    (matrix,) = _get(client, "text", run="tables", tag="matrix")
    assert _cells(matrix["text"]) == [["r0c0", "r0c1"], ["r1c0", "r1c1"]]
    (cube,) = _get(client, "text", run="tables", tag="cube")
    assert "dimensionality 3" in cube["text"]
    assert _cells(cube["text"]) == [["a", "b"], ["c", "d"]]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"run": "nope", "tag": "scalar"}, 404),
        ({"run": "tables", "tag": "nope"}, 404),
        ({"run": "lumi", "tag": "loss"}, 404),  # a scalar tag, not text
        ({"tag": "scalar"}, 400),
        ({"run": "tables"}, 400),
        ({"run": "tables", "tag": "scalar", "min_step": "x"}, 400),
        ({"run": "tables", "tag": "scalar", "max_step": "9" * 5000}, 400),
        ({"run": "tables", "tag": "scalar", "min_step": "\u0661\u0662"}, 400),  # Arabic-Indic 12
        ({"run": "tables", "tag": "scalar", "min_step": "1_0"}, 400),
        ({"run": "tables", "tag": "scalar", "min_step": " 3 "}, 400),
        ({"run": "tables", "tag": "scalar", "min_step": "+3"}, 400),
        ({"run": "tables", "tag": "scalar", "max_step": "--3"}, 400),
        ({"run": "tables", "tag": "scalar", "max_step": "3.0"}, 400),
        ({"run": "tables", "tag": "scalar", "min_step": "5", "max_step": "1"}, 400),
    ],
)
def test_errors_are_json(client: TestClient, params: dict[str, str], status: int) -> None:
    for route in ("text", "steps"):
        response = client.get(f"{TEXT}/{route}?{urlencode(params)}")
        assert response.status_code == status, response.text
        assert "error" in response.json()


def test_huge_inputs_are_capped_and_fast(client: TestClient) -> None:
    start = time.perf_counter()
    (big,) = _get(client, "text", run="tables", tag="big_table")
    (huge,) = _get(client, "text", run="tables", tag="huge_text")
    assert time.perf_counter() - start < 10
    assert "Truncated: showing 200 of 1,000 rows and 50 of 80 columns." in big["text"]
    assert "Truncated: showing the first 50,000 of 5,500,000 characters." in huge["text"]
    assert len(huge["text"]) < 100_000
    # A second request is served from the rendered cache.
    start = time.perf_counter()
    _get(client, "text", run="tables", tag="huge_text")
    assert time.perf_counter() - start < 1


def test_invalid_utf8_is_replaced(client: TestClient) -> None:
    (entry,) = _get(client, "text", run="tables", tag="bad_utf8")
    assert entry["text"] == "<p>ok \ufffd\ufffd end</p>"


def test_hostile_text_is_sanitized(client: TestClient) -> None:
    (entry,) = _get(client, "text", run="tables", tag="hostile")
    # The script is shown as the text it was (escaped, as TensorBoard shows it), never run.
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in entry["text"]
    assert "<script" not in entry["text"]
    assert "onerror" not in entry["text"]


# ---- against TensorBoard's own text plugin ------------------------------------------------------


class _Structure(HTMLParser):
    """Tag names in document order, and the text, of an HTML fragment."""

    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        # Whitespace normalized: TensorBoard's warning template has a run of spaces.
        if data.strip():
            self.text.append(" ".join(data.split()))


def _cells(fragment: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", fragment, re.S)
    return [
        [" ".join(_Structure(c).text) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in rows
    ]


COMPARED = [
    ("lumi", "notes/text_summary"),
    ("lumi", "md/text_summary"),
    ("tables", "scalar"),
    ("tables", "vector"),
    ("tables", "matrix"),
    ("tables", "cube"),
    ("torch", "notes/text_summary"),
]


def test_tags_equal_tensorboard(client: TestClient, tensorboard: Any) -> None:
    theirs = _get(tensorboard, "tags")
    ours = _get(client, "tags")
    assert {run: sorted(tags) for run, tags in theirs.items() if tags} == ours


@pytest.mark.parametrize(("run", "tag"), COMPARED)
def test_text_structure_equals_tensorboard(
    client: TestClient, tensorboard: Any, run: str, tag: str
) -> None:
    theirs = _get(tensorboard, "text", run=run, tag=tag)
    ours = _get(client, "text", run=run, tag=tag)
    assert [(e["step"], e["wall_time"]) for e in ours] == [
        (e["step"], e["wall_time"]) for e in theirs
    ]
    for mine, their in zip(ours, theirs, strict=True):
        assert _Structure(mine["text"]).tags == _Structure(their["text"]).tags
        assert _Structure(mine["text"]).text == _Structure(their["text"]).text
        assert _cells(mine["text"]) == _cells(their["text"])


def test_markdown_false_keeps_tensorboards_table_cells(
    client: TestClient, tensorboard: Any
) -> None:
    for tag in ("vector", "matrix"):
        (theirs,) = _get(tensorboard, "text", run="tables", tag=tag, markdown="false")
        (ours,) = _get(client, "text", run="tables", tag=tag, markdown="false")
        assert _cells(ours["text"]) == _cells(theirs["text"])
