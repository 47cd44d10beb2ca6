"""Text summaries as safe HTML: TensorBoard's markdown and table rules, an allowlist that no
hostile input gets through, and caps that keep huge or pathological input fast."""

from __future__ import annotations

import random
import re
import time
from html.parser import HTMLParser

import markdown  # type: ignore[import-untyped]
import numpy as np
import pytest

from lumiboard.plugins.text import render
from lumiboard.plugins.text.render import (
    MAX_CHARS,
    MAX_COLUMNS,
    MAX_ROWS,
    markdown_to_html,
    render_text,
    sanitize,
)


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML fragment."""

    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def names(self) -> list[str]:
        return [tag for tag, _ in self.tags]


def _scalar(text: str | bytes) -> np.ndarray:
    return np.asarray(text.encode() if isinstance(text, str) else text, dtype=object)


def _cells(fragment: str) -> list[list[str]]:
    """The text of each ``<td>`` of the (first) table, row by row."""
    rows = re.findall(r"<tr>(.*?)</tr>", fragment, re.S)
    return [
        [
            "".join(_Elements(cell).text).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


# ---- markdown features ------------------------------------------------------------------------


def test_headings_emphasis_lists_links_code() -> None:
    source = (
        "# Title\n\n## Sub\n\n**bold** and *em*\n\n- one\n- two\n\nthen\n\n1. first\n2. second\n\n"
        '[site](https://example.com "tip") and `inline`\n\n```python\nx = 1 < 2\n```\n\n'
        "> quoted\n\n---\n"
    )
    out = render_text(_scalar(source))
    elements = _Elements(out)
    assert elements.names()[:2] == ["h1", "h2"]
    for name in ("strong", "em", "ul", "ol", "li", "a", "code", "pre", "blockquote", "hr"):
        assert name in elements.names(), name
    link = next(attrs for tag, attrs in elements.tags if tag == "a")
    assert link == {"href": "https://example.com", "title": "tip", "rel": "noopener noreferrer"}
    assert "x = 1 &lt; 2" in out  # code is escaped, monospace in <pre><code>


def test_markdown_table_with_header_and_alignment() -> None:
    out = render_text(_scalar("| name | value |\n|:-----|------:|\n| lr | 0.1 |\n| bs | 32 |"))
    elements = _Elements(out)
    assert elements.names().count("th") == 2
    assert elements.names().count("tr") == 3
    assert _cells(out) == [[], ["lr", "0.1"], ["bs", "32"]]
    aligns = [attrs.get("align") for tag, attrs in elements.tags if tag in ("th", "td")]
    assert aligns == ["left", "right"] * 3


def test_plain_text_fast_path_matches_python_markdown() -> None:
    converter = markdown.Markdown(extensions=["tables", "fenced_code"])
    alphabet = "aZ09 ,.:;=%/?@$'\"-+#*_`<>&[]!|\\~()\n\t1."
    rng = random.Random(7)
    samples = ["0.5", "1.", "1. x", "loss", "a  ", "x 1/2 = 50%", 'it\'s "q"']
    samples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(3000)
    ]
    for sample in samples:
        if render._PLAIN.fullmatch(sample) and not render._ORDERED_LIST.match(sample):
            assert converter.reset().convert(sample) == f"<p>{sample}</p>", sample


# ---- tensors: scalar, 1-D, 2-D, more ------------------------------------------------------------


def test_vector_is_one_column_table_of_markdown_cells() -> None:
    out = render_text(np.array([b"**a**", b"b"], dtype=object))
    assert out.startswith("<table>")
    assert _cells(out) == [["a"], ["b"]]
    assert "<td><p><strong>a</strong></p></td>" in out
    assert "<thead>" not in out  # TensorBoard's make_table has no header row


def test_matrix_is_a_table() -> None:
    cells = np.array([[b"r0c0", b"r0c1", b"r0c2"], [b"r1c0", b"*r1c1*", b"r1c2"]], dtype=object)
    out = render_text(cells)
    assert _cells(out) == [["r0c0", "r0c1", "r0c2"], ["r1c0", "r1c1", "r1c2"]]
    assert "<em>r1c1</em>" in out


def test_rank_3_is_cut_to_2d_with_a_warning() -> None:
    cube = np.array([[[b"a", b"b"], [b"c", b"d"]], [[b"e", b"f"], [b"g", b"h"]]], dtype=object)
    out = render_text(cube)
    assert out.startswith("<p><strong>Warning:</strong> This text summary contained data of")
    assert "dimensionality 3" in out
    assert _cells(out) == [["a", "b"], ["c", "d"]]  # the [0, :, :] slice, as TensorBoard


def test_markdown_off_escapes_everything() -> None:
    out = render_text(_scalar("**not bold** <b>tag</b>\nline 2"), enable_markdown=False)
    assert out == "<pre>**not bold** &lt;b&gt;tag&lt;/b&gt;\nline 2</pre>"
    table = render_text(np.array([b"*x*", b"<i>y</i>"], dtype=object), enable_markdown=False)
    assert "<td>*x*</td>" in table
    assert "<td>&lt;i&gt;y&lt;/i&gt;</td>" in table


def test_invalid_utf8_and_nul_bytes() -> None:
    out = render_text(_scalar(b"ok \xff\xfe end\x00"))
    assert out == "<p>ok \ufffd\ufffd end</p>"
    table = render_text(np.array([b"\xc3", b"fine"], dtype=object))
    assert _cells(table) == [["\ufffd"], ["fine"]]


def test_empty_vector_is_an_empty_table() -> None:
    assert _cells(render_text(np.array([], dtype=object))) == []


# ---- hostile input ---------------------------------------------------------------------------

HOSTILE = [
    "<script>window.__pwned = 1</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="window.__pwned=1">',
    '<img src="https://example.com/a.png" onload=alert(1)>',
    "<svg onload=alert(1)><circle r=5 /></svg>",
    '<iframe src="https://evil.example"></iframe>',
    "<style>body { display: none }</style>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1)">x</a>',
    '<a href="&#x6A;avascript&#x3A;alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="\x01javascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)",
    '<p style="background:url(javascript:alert(1))" onclick="alert(1)">x</p>',
    '<form action="https://evil.example"><input name=a><button>go</button></form>',
    '<object data="x"></object><embed src="x">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<link rel=stylesheet href="https://evil.example/x.css">',
    '<div onmouseover="alert(1)">hover</div>',
    "<!--<script>alert(1)</script>-->",
    "<<script>script>alert(1)<</script>/script>",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
]

_FORBIDDEN_TAGS = {
    "script", "style", "iframe", "svg", "math", "form", "input", "button", "object",
    "embed", "meta", "base", "link", "body", "div", "details", "noscript",
}  # fmt: skip


_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))


def _assert_inert(fragment: str) -> None:
    for tag, attrs in _Elements(fragment).tags:
        assert tag in render.ALLOWED_TAGS, (tag, fragment)
        assert tag not in _FORBIDDEN_TAGS, (tag, fragment)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, fragment)
            assert name != "style", fragment
            if name in ("href", "src"):
                # What a browser's URL parser does: trim C0 and space, drop tab and newline.
                scheme = re.sub(r"[\t\n\r]", "", (value or "").strip(_C0_AND_SPACE)).lower()
                assert not scheme.startswith(("javascript:", "data:", "vbscript:")), fragment
            if tag == "a":
                assert attrs.get("rel") == "noopener noreferrer"
    # Payloads may survive as escaped text (harmless), never as markup.
    assert "<script" not in fragment.lower()


@pytest.mark.parametrize("payload", HOSTILE)
@pytest.mark.parametrize("markdown_on", [True, False])
def test_hostile_input_is_inert(payload: str, markdown_on: bool) -> None:
    _assert_inert(render_text(_scalar(payload), markdown_on))
    _assert_inert(render_text(np.array([[payload.encode(), b"ok"]], dtype=object), markdown_on))


def test_sanitize_keeps_safe_markup() -> None:
    safe = (
        '<p><a href="https://x.example/a?b=1" title="t">x</a>'
        ' <img src="https://x.example/i.png" alt="i"></p>'
    )
    out = sanitize(safe)
    assert '<a href="https://x.example/a?b=1" title="t" rel="noopener noreferrer">x</a>' in out
    assert '<img src="https://x.example/i.png" alt="i">' in out
    assert 'href="mailto:a@b.example"' in sanitize('<a href="mailto:a@b.example">m</a>')
    assert 'href="#section"' in sanitize('<a href="#section">s</a>')


# What TensorBoard shows escaped (bleach escapes the tags off its allowlist): users see what
# they logged. transformers' TensorBoardCallback logs its TrainingArguments as JSON text, with
# "<HUB_TOKEN>" where the token was.
ESCAPED = [
    ('{"output_dir": "out", "hub_token": "<HUB_TOKEN>", "lr": 0.1}', "<HUB_TOKEN>"),
    ("make it <b>bold</b>, or not", "<b>bold</b>"),
    ("before <script>window.__pwned=1</script> after", "<script>window.__pwned=1</script>"),
]


def _visible(fragment: str) -> str:
    """The text a browser shows for ``fragment`` (entities decoded, tags gone)."""
    return "".join(_Elements(fragment).text)


@pytest.mark.parametrize(("source", "shown"), ESCAPED)
def test_html_off_the_allowlist_is_shown_as_text(source: str, shown: str) -> None:
    for out in (
        render_text(_scalar(source)),
        render_text(np.array([source.encode(), b"x"], dtype=object)),
        markdown_to_html(source),
    ):
        assert shown in _visible(out), out
        _assert_inert(out)


@pytest.mark.parametrize(
    "source",
    [
        *(source for source, _ in ESCAPED),
        "<HUB_TOKEN>",
        "a <em>kept</em> and <strong>kept</strong>, <i>escaped</i> and <u>escaped</u>",
        "<div>\n\n*block*\n\n</div>",
        '<iframe src="https://evil.example"></iframe> and <style>p { }</style>',
        "<!-- a comment --> after it",
        "x < y > z and a <https://x.example/a> link",
        "`<code>` and <br> and <hr/>",
        '<a href="https://x.example" onclick="alert(1)">link</a> <SPAN>upper</SPAN>',
    ],
)
def test_escaping_matches_tensorboard(source: str) -> None:
    """The text shown and the tags kept are TensorBoard's (``markdown_to_safe_html``)."""
    plugin_util = pytest.importorskip("tensorboard.plugin_util")
    theirs = plugin_util.markdown_to_safe_html(source)
    ours = markdown_to_html(source)
    assert _visible(ours).strip() == _visible(theirs).strip(), (ours, theirs)
    assert _Elements(ours).names() == _Elements(theirs).names(), (ours, theirs)


@pytest.mark.parametrize(
    "source", ["<a " * 20_000, "<x" * 20_000, '<a "' * 20_000, "<b>" * 20_000, "<!--" * 20_000]
)
def test_many_unclosed_or_escaped_tags(source: str) -> None:
    """Inputs on which a tag pattern that scans to the end from each ``<`` is quadratic (or
    worse: minutes): shown as text, in about the time of plain text (benchmarks/ has figures)."""
    out = sanitize(source)
    assert "<b>" not in out
    _assert_inert(out)


# ---- caps ------------------------------------------------------------------------------------


def _timed(array: np.ndarray) -> tuple[str, float]:
    # CPU seconds of this thread (rendering runs on the caller's), not wall time nor the
    # process's: these bounds guard against blow-ups (seconds where milliseconds are due),
    # and another process, or a test's leftover server thread, busy on a 2-core CI machine
    # must not fail them.
    start = time.thread_time()
    out = render_text(array)
    return out, time.thread_time() - start


def test_huge_text_is_cut_with_a_note() -> None:
    out, seconds = _timed(_scalar("word *x* " * 600_000))  # 5.4 MB
    assert seconds < 5
    assert 'class="text-truncated"' in out
    assert f"showing the first {MAX_CHARS:,} of 5,400,000 characters" in out


def test_huge_table_is_cut_with_a_note() -> None:
    out, seconds = _timed(np.full((10_000, 100), b"0.125", dtype=object))
    assert seconds < 5
    cells = _cells(out)
    assert len(cells) == MAX_ROWS
    assert {len(row) for row in cells} == {MAX_COLUMNS}
    assert f"showing {MAX_ROWS:,} of 10,000 rows and {MAX_COLUMNS:,} of 100 columns" in out


def test_long_cells_are_cut_with_a_note() -> None:
    out = render_text(np.array([b"a" * (MAX_CHARS + 10)], dtype=object))
    assert "cells longer than" in out


@pytest.mark.parametrize(
    "source",
    [
        "[" * 20_000 + "x" + "]" * 20_000,
        "- " * 5_000 + "a",
        "> " * 5_000 + "a",
        "[a](" * 3_000,
        "[" * 8_000,
        "[a][" * 4_000,
        "<a " * 4_000,
        "| a |\n|---|\n| " + "[" * 5_000 + " |",
    ],
)
def test_pathological_markdown_is_fast_and_shown(source: str) -> None:
    out, seconds = _timed(_scalar(source))
    assert seconds < 5
    assert out  # shown (escaped, in <pre>, when markdown gives up)


@pytest.mark.parametrize(
    "source",
    [
        "a\n-\n" * 12_500,  # setext headings: 18 s of Python-Markdown
        "a\n=\n" * 12_500,
        "-\n" * 10_000,
        "#\n" * 25_000,
        "***\n" * 12_500,
        "1. " * 16_000,  # nested lists on one line
        "- > " * 12_500,
        "> " * 25_000,
        "- a\n" * 12_500,
        "a\n\n" * 12_500,
        "*a" * 25_000,
        "_a" * 25_000,
        "**a" * 16_000,
        "[" * 50_000,
        "<" * 50_000,
        "<a" * 25_000,
        "| a |\n|---|\n" + "| x |\n" * 12_000,
    ],
    ids=lambda source: repr(source[:12]),
)
def test_quadratic_markdown_is_bounded(source: str) -> None:
    out, seconds = _timed(_scalar(source))
    assert seconds < 0.5
    assert out


def test_table_cells_share_one_budget() -> None:
    # Each cell alone is cheap enough to render; all of them together are not.
    cell = "- item\n" * 1_000
    assert render.markdown_cost(cell) < render.MAX_MARKDOWN_COST
    out, seconds = _timed(np.array([cell.encode()] * 40, dtype=object))
    assert seconds < 2
    assert out.count("<ul>") >= 1
    assert "<pre>" in out  # the cells past the budget, escaped
    assert out.count("<ul>") + out.count("<pre>") == 40


def test_huge_table_of_costly_cells_is_bounded() -> None:
    cell = ("a\n-\n" * 2_500).encode()  # 10,000 characters
    cells = np.empty((MAX_ROWS, MAX_COLUMNS), dtype=object)
    cells[:] = [[cell] * MAX_COLUMNS] * MAX_ROWS
    out, seconds = _timed(cells)
    # ~1 s of CPU alone; 2.6 s late in a full CI run (collections over a big heap). Without
    # the shared budget this table takes minutes.
    assert seconds < 5
    assert out.count("<td>") == MAX_ROWS * MAX_COLUMNS


def test_markdown_cost_is_low_for_ordinary_documents() -> None:
    document = "\n\n".join(
        f"## Section {i}\n\nSome *text* with `code`, a [link](https://x.example/{i}).\n\n"
        "- one\n- two\n  - nested\n\n1. first\n2. second\n\n> quoted\n"
        for i in range(100)
    )
    assert len(document) > 10_000
    assert render.markdown_cost(document) < render.MAX_MARKDOWN_COST / 3
    out = render_text(_scalar(document))
    assert out == sanitize(markdown.markdown(document, extensions=["tables", "fenced_code"]))


def test_ordinary_documents_are_not_taken_for_pathological() -> None:
    table = "| a | b |\n|---|---|\n" + "".join(
        f"| [link{i}](https://x.example/{i}) | <b>v</b> |\n" for i in range(500)
    )
    assert render_text(_scalar(table)).startswith("<table>")
    document = "\n\n".join(
        f"Para {i}: [a link](https://x.example/{i}) <b>b</b>." for i in range(500)
    )
    assert render_text(_scalar(document)).startswith("<p>Para 0: <a href=")


def test_markdown_to_html_is_reentrant_after_a_failure() -> None:
    render_text(_scalar("- " * 5_000 + "a"))
    assert markdown_to_html("**ok**") == "<p><strong>ok</strong></p>"
