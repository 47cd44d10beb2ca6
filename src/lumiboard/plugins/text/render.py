"""Text summaries as safe HTML: markdown, sanitizing and tables.

The rules are TensorBoard's (``tb:plugins/text/text_plugin.py`` and
``tb:plugin_util.py``): a rank-0 string is markdown (with the ``tables`` and
``fenced_code`` extensions); a 1-D or 2-D array is a ``<table>`` whose cells
are each markdown (a 1-D array is one column); a higher rank is cut to its
``[0, ..., 0, :, :]`` slice under a warning paragraph. The HTML is then
sanitized with an allowlist that is TensorBoard's (bleach) one: no scripts,
styles, event handlers, forms or frames, links only to ``http``, ``https`` and
``mailto`` (plus relative ones), ``rel="noopener noreferrer"`` on links.

A tag off the allowlist is shown as the text it was, escaped, as bleach does
(``<HUB_TOKEN>`` in transformers' ``args``, ``<b>``, ``<script>...</script>``
are seen as written, never dropped): :func:`escape_disallowed` turns such tags
into text before nh3 sanitizes the rest (nh3 alone removes them). Comments are
dropped, as there.

Where we differ, on purpose:

- ``markdown=False`` gives the text escaped in ``<pre>`` (tables: escaped
  cells), where TensorBoard still lets allowed HTML tags through.
- Invalid UTF-8 becomes U+FFFD instead of failing the request.
- What is rendered is capped (TensorBoard has no cap): a string past
  :data:`MAX_CHARS` characters and a table past :data:`MAX_ROWS` rows or
  :data:`MAX_COLUMNS` columns are cut, with a visible note. Markdown that
  Python-Markdown would take long on (it is quadratic on many short lines,
  nested markers and unclosed brackets; see :func:`markdown_cost`) or that
  raises (``RecursionError``) is shown escaped in ``<pre>`` instead; a table's
  cells share one such budget.
- Images load only from absolute ``http(s)`` URLs (a relative ``src`` such as
  the ``x`` of ``<img src=x onerror=...>`` is dropped); the app's CSP decides
  whether they load at all. Table column alignment survives as ``align``.
"""

from __future__ import annotations

import html
import re
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from lumiboard.plugins.text.data import decode_text, reduce_to_2d

if TYPE_CHECKING:
    import markdown  # type: ignore[import-untyped]

#: Characters of one string rendered (a scalar text, or one table cell).
MAX_CHARS = 50_000
#: Rows and columns of a table rendered.
MAX_ROWS = 200
MAX_COLUMNS = 50
#: Nanoseconds of Python-Markdown one text value may cost, as :func:`markdown_cost`
#: estimates them (a scalar, or all the cells of a table together): markdown past it is
#: shown escaped in ``<pre>``, so no value takes much more than a quarter of a second.
MAX_MARKDOWN_COST = 300_000_000
# The estimate's weights (nanoseconds), measured on Python-Markdown 3 with some margin.
_NS_PER_CHAR = 500
_NS_PER_LINE = 2_000
_NS_PER_BLOCK = 40_000
_NS_PER_MARKER = 30_000  # an inline marker (* _ ` & ! \), a hard line break, a fence line
_NS_PER_ROW = 40_000  # a table row
_NS_PER_ITEM = 40_000  # a list item or quote
_NS_RESCAN_BRACKET = 300  # per unclosed [ or <, per character of its block
_NS_RESCAN_SPLIT = 50  # per heading or rule line, per character of its block
_NS_RESCAN_ITEM = 5  # per list or quote marker, per character of its block

#: TensorBoard's bleach allowlist (``plugin_util._ALLOWED_TAGS``).
ALLOWED_TAGS = frozenset(
    {
        "ul", "ol", "li", "p", "pre", "code", "blockquote",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br", "strong", "em",
        "a", "img", "table", "thead", "tbody", "td", "tr", "th",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "title", "alt"}}
#: bleach's default protocols; relative URLs are kept, as bleach keeps them.
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_ALIGN = {"align": {"left", "center", "right"}}
#: Removed with their content (not just the tags): their text is code or markup.
_CLEAN_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "template", "noscript"})

#: ``WARNING_TEMPLATE`` of TensorBoard's text plugin, for arrays of rank > 2.
WARNING = (
    "**Warning:** This text summary contained data of dimensionality {rank}, but only "
    "2d tables are supported. Showing a 2d slice of the data instead."
)

_TRUNCATED_CLASS = "text-truncated"
# Text that Python-Markdown renders as "<p>text</p>" with nothing to escape:
# no markdown or HTML syntax, no leading block markers, no trailing spaces.
# Checked against Python-Markdown in the tests; it skips the slow parser for
# the plain numbers and words that fill most tables.
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ,.:;=%/?@$'\"]*(?<! )")
_ORDERED_LIST = re.compile(r"\d+\.(?: |$)")
_TABLE_RULE = re.compile(r"\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_INLINE = re.compile(r"[*_`&!\\]")
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.M)
# Lines that split their block: ATX and setext headings, rules.
_SPLIT_LINE = re.compile(
    r"^(?:#| {0,3}(?:=+|-+)[ \t]*$| {0,3}(?:(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$)", re.M
)
# The list and quote markers that start a line (nested ones too: "- > 1. x").
_ITEM_RUN = re.compile(r"^[ \t]*(?:(?:>|(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$))[ \t]*)+", re.M)
_ITEM = re.compile(r">|[-*+](?=\s|$)|\d{1,9}[.)](?=\s|$)")


def _new_converter() -> markdown.Markdown:
    # Imported on first use: a server that shows no text never pays for markdown.
    import markdown
    from markdown.extensions.tables import TableExtension  # type: ignore[import-untyped]

    return markdown.Markdown(extensions=[TableExtension(use_align_attribute=True), "fenced_code"])


class _Markdown(threading.local):
    """One converter per thread: a ``Markdown`` instance is not thread-safe. Made on
    the thread's first conversion (the module's import makes none)."""

    converter: markdown.Markdown | None = None


_MARKDOWN = _Markdown()


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    # An image from a relative URL would be fetched from lumiboard itself.
    if element == "img" and attribute == "src" and not re.match(r"https?://", value, re.I):
        return None
    return value


# A tag as html5ever and bleach read one, well enough to find its end: ``<`` or ``</``, a
# name, then attributes with quoted values up to ``>``. The name and an unquoted run stop at
# ``<``, so a text of many unclosed ``<a`` costs one short scan each, not one to its end.
_TAG = re.compile(r"""<(/?)([A-Za-z][^\s/<>]*)((?:"[^"]*"|'[^']*'|[^'"<>])*)>""")
# Markup that is no tag: comments (dropped), and declarations and processing
# instructions (escaped, as bleach does).
_OTHER = re.compile(r"<!--.*?(?:-->|$)|<[!?][^<>]*>", re.S)
# Where either might start (one pass, to skip the rest when there is nothing to escape).
_OPENING = re.compile(r"<(?:[!?]|/?([A-Za-z][^\s/<>]*))")


def escape_disallowed(unsafe: str) -> str:
    """``unsafe`` HTML with every tag off the allowlist turned into the text it was
    (``<b>`` -> ``&lt;b&gt;``, as bleach's ``strip=False``) and comments dropped.

    Not the security boundary (:func:`sanitize` runs nh3 on the result): this only
    decides that a tag nh3 would remove is shown instead. A tag this does not see as
    one (odd syntax) is still removed by nh3.
    """
    if not any(
        match.group(1) is None or match.group(1).lower() not in ALLOWED_TAGS
        for match in _OPENING.finditer(unsafe)
    ):
        return unsafe  # nothing to escape: the common case (markdown's own tags only)
    return _TAG.sub(_escape_tag, _OTHER.sub(_escape_other, unsafe))


def _escape_tag(match: re.Match[str]) -> str:
    if match.group(2).lower() in ALLOWED_TAGS:
        return match.group()
    return html.escape(match.group(), quote=False)


def _escape_other(match: re.Match[str]) -> str:
    text = match.group()
    return "" if text.startswith("<!--") else html.escape(text, quote=False)


def sanitize(unsafe: str) -> str:
    """``unsafe`` HTML reduced to the allowlist (the security boundary of the dashboard);
    tags off it are shown as escaped text (:func:`escape_disallowed`)."""
    import nh3  # on first use, as markdown

    return nh3.clean(
        escape_disallowed(unsafe),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_CLEAN_CONTENT),
        attributes={name: set(values) for name, values in ALLOWED_ATTRIBUTES.items()},
        tag_attribute_values={"td": _ALIGN, "th": _ALIGN},
        attribute_filter=_keep_attribute,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def markdown_cost(text: str) -> int:
    """Python-Markdown's time on ``text``, estimated in nanoseconds (on the slow side).

    Beyond a cost per character, line, block and inline marker, three things make it
    quadratic, each charged as its count times the length of its block (blocks are split
    at blank lines; a table's rows are parsed one by one, so there a row is the block):

    - an unclosed ``[`` or ``<``: inline patterns rescan the rest from each
      (``"[" * 8000`` takes 18 s);
    - a line that splits its block (an ATX or setext heading, a rule): the rest of the
      block is copied and parsed again (``"a\\n-\\n" * 12500`` takes 18 s);
    - a list item or quote marker at the start of a line, and each marker nested after
      it on the same line (``"1. " * 16000``, ``"- > " * 12500``).
    """
    cost = _NS_PER_CHAR * len(text) + _NS_PER_LINE * text.count("\n")
    markers = len(_INLINE.findall(text)) + text.count("  \n") + len(_FENCE.findall(text))
    cost += _NS_PER_MARKER * markers
    for block in text.split("\n\n"):
        cost += _NS_PER_BLOCK
        lines = block.split("\n")
        # A table (its header and rule both hold a "|": the tables extension's test).
        table = len(lines) > 1 and "|" in lines[0] and "|" in lines[1]
        parts = lines if table and _TABLE_RULE.match(lines[1]) else [block]
        if len(parts) > 1:
            cost += _NS_PER_ROW * len(parts)
        for part in parts:
            brackets = part.count("[") + part.count("<")
            splits = len(_SPLIT_LINE.findall(part))
            items = len(_ITEM.findall("\n".join(_ITEM_RUN.findall(part))))
            cost += _NS_PER_ITEM * items
            cost += len(part) * (
                _NS_RESCAN_BRACKET * brackets + _NS_RESCAN_SPLIT * splits + _NS_RESCAN_ITEM * items
            )
    return cost


def _markdown_unsafe(text: str, budget: list[int] | None = None) -> str:
    """Python-Markdown's HTML of ``text``, not yet sanitized; escaped in ``<pre>`` where
    its :func:`markdown_cost` is more than what is left of ``budget`` (one budget shared
    by every cell of a table: ``[nanoseconds left]``, spent as cells are rendered)."""
    if _PLAIN.fullmatch(text) and not _ORDERED_LIST.match(text):
        return f"<p>{text}</p>"
    if budget is None:
        budget = [MAX_MARKDOWN_COST]
    # A lower bound first: a cell past what is left is not even scanned, and scanning
    # one is charged, so a table's cells are not all scanned either.
    floor = _NS_PER_CHAR * len(text)
    if floor > budget[0]:
        return _preformatted(text)
    cost = markdown_cost(text)
    if cost > budget[0]:
        budget[0] -= floor
        return _preformatted(text)
    budget[0] -= cost
    try:
        if _MARKDOWN.converter is None:
            _MARKDOWN.converter = _new_converter()
        converted: str = _MARKDOWN.converter.reset().convert(text)
    except (RecursionError, ValueError, IndexError, KeyError):
        # e.g. thousands of nested list markers: shown as written.
        _MARKDOWN.converter = _new_converter()  # its state is unknown now
        return _preformatted(text)
    return converted


def _preformatted(text: str) -> str:
    return f"<pre>{html.escape(text, quote=False)}</pre>"


def _cap(text: str) -> tuple[str, int]:
    """``text`` cut to :data:`MAX_CHARS`, and its full length; NULs dropped (as TensorBoard)."""
    text = text.replace("\x00", "")
    return text[:MAX_CHARS], len(text)


def _note(message: str) -> str:
    # Added after sanitizing (it is ours), so its class survives for styling.
    return f'<p class="{_TRUNCATED_CLASS}"><em>{html.escape(message)}</em></p>'


def markdown_to_html(text: str) -> str:
    """One markdown document as sanitized HTML (capped, with a note when cut)."""
    shown, total = _cap(text)
    body = sanitize(_markdown_unsafe(shown))
    if total > len(shown):
        body += _note(f"Truncated: showing the first {len(shown):,} of {total:,} characters.")
    return body


@lru_cache(maxsize=4096)
def description_html(text: str) -> str:
    """A tag's description as TensorBoard's ``/tags`` routes send it: markdown rendered to
    sanitized HTML (``plugin_util.markdown_to_safe_html``), empty for none.

    Tags not on the allowlist are shown escaped, as TensorBoard's bleach does. Cached:
    every run of a tag usually carries the same description.
    """
    return markdown_to_html(text) if text else ""


def _cell(text: str, enable_markdown: bool, budget: list[int]) -> tuple[str, bool]:
    shown, total = _cap(text)
    if enable_markdown:
        content = _markdown_unsafe(shown, budget)
    else:
        content = html.escape(shown, quote=False)
    return content, total > len(shown)


def make_table(cells: np.ndarray, enable_markdown: bool = True) -> str:
    """A 1-D (one column) or 2-D string array as a sanitized ``<table>``.

    The layout is TensorBoard's ``make_table``: no header row, one ``<tr>``
    per row, one ``<td>`` per cell, each cell rendered on its own. Only the
    first :data:`MAX_ROWS` rows and :data:`MAX_COLUMNS` columns are decoded. The cells
    share one markdown budget (:data:`MAX_MARKDOWN_COST`): a cell that no longer fits in
    what is left is shown escaped in ``<pre>``.
    """
    if cells.ndim not in (1, 2):
        raise ValueError(f"a table needs a 1-D or 2-D array, got {cells.ndim}-D")
    grid = cells.reshape(-1, 1) if cells.ndim == 1 else cells
    rows, columns = grid.shape
    shown = decode_text(grid[:MAX_ROWS, :MAX_COLUMNS])
    cut_cells = False
    budget = [MAX_MARKDOWN_COST]  # one for the whole table
    lines = ["<table>\n<tbody>\n"]
    for row in shown:
        lines.append("<tr>\n")
        for item in row:
            content, cut = _cell(item, enable_markdown, budget)
            cut_cells = cut_cells or cut
            lines.append(f"<td>{content}</td>\n")
        lines.append("</tr>\n")
    lines.append("</tbody>\n</table>")
    body = sanitize("".join(lines))
    notes = []
    if rows > shown.shape[0] or columns > shown.shape[1]:
        notes.append(
            f"Truncated: showing {shown.shape[0]:,} of {rows:,} rows"
            f" and {shown.shape[1]:,} of {columns:,} columns."
        )
    if cut_cells:
        notes.append(f"Truncated: cells longer than {MAX_CHARS:,} characters are cut.")
    return body + "".join(_note(message) for message in notes)


def render_text(array: np.ndarray, enable_markdown: bool = True) -> str:
    """The HTML of one text value (a string tensor of any rank), as the text route serves it."""
    array = np.asarray(array)
    if array.ndim == 0:
        text: str = decode_text(array).item()
        if enable_markdown:
            return markdown_to_html(text)
        shown, total = _cap(text)
        body = sanitize(_preformatted(shown))
        if total > len(shown):
            body += _note(f"Truncated: showing the first {len(shown):,} of {total:,} characters.")
        return body
    warning = ""
    if array.ndim > 2:
        # TensorBoard renders its warning as markdown whatever ``markdown`` says.
        warning = markdown_to_html(WARNING.format(rank=array.ndim))
        array = reduce_to_2d(array)
    return warning + make_table(array, enable_markdown)
