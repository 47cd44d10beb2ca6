"""One self-contained HTML page: the web app's snapshot build inlined, and the data.

The snapshot build (``vite build --mode snapshot``, in ``lumiboard/static/snapshot``) is one
script and one stylesheet; both go into the page, as do the data, in two blocks the app reads at
start (``frontend/src/snapshot/data.ts``): what the snapshot is of, as JSON, and the data, as
gzipped JSON in base64 (a third of the size: the histograms' and tables' JSON compresses well;
the browser inflates it with ``DecompressionStream``) or, with ``compress=False``, as JSON.
A Content-Security-Policy allows that one script (by its hash), inline styles, and
``data:``/``blob:`` URLs the page makes itself: nothing else runs, and nothing is fetched.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import re
from pathlib import Path

from lumiboard.server import static

#: The ids of the data blocks (``ELEMENT_ID``, ``META_ELEMENT_ID`` in
#: ``frontend/src/snapshot/data.ts``).
DATA_ELEMENT_ID = "lumiboard-snapshot"
META_ELEMENT_ID = "lumiboard-snapshot-meta"

_SCRIPT = re.compile(r'<script type="module"[^>]*\bsrc="\./(assets/[^"]+\.js)"[^>]*></script>')
_STYLESHEET = re.compile(r'<link rel="stylesheet"[^>]*\bhref="\./(assets/[^"]+\.css)"[^>]*>')
_PRELOAD = re.compile(r'\s*<link rel="(?:preload|modulepreload)"[^>]*>')
_COMMENT = re.compile(r"\s*<!--.*?-->", re.DOTALL)


class SnapshotBuildError(RuntimeError):
    """The snapshot build of the web app is missing or not what this module expects."""


def build_dir() -> Path:
    """The snapshot build's directory; SnapshotBuildError when the web app was built without it."""
    directory = static.static_dir()
    snapshot = None if directory is None else directory / "snapshot"
    if snapshot is None or not (snapshot / "index.html").is_file():
        raise SnapshotBuildError(
            "the web app's snapshot build is missing (lumiboard/static/snapshot): build the "
            "frontend with `cd frontend && npm run build`, or install lumiboard with its web app"
        )
    return snapshot


def inline_script(code: str) -> str:
    """``code`` safe between ``<script>`` and ``</script>``: the HTML parser ends a script at
    ``</script`` and treats ``<!--`` specially, and both can only occur in the bundle's string
    literals, where ``<\\/`` and ``<\\!`` mean the same characters. Line ends are ``\\n`` (the
    parser turns ``\\r\\n`` into ``\\n``, and the CSP hash is of what it keeps)."""
    code = code.replace("\r\n", "\n").replace("\r", "\n")
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return code.replace("<!--", "<\\!--")


def inline_style(css: str) -> str:
    """``css`` safe between ``<style>`` and ``</style>`` (``<\\/`` is ``</`` in CSS too)."""
    return re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)


def json_block(payload: bytes) -> str:
    """The JSON ``payload`` as the text of a ``<script type="application/json">``: every ``<``
    (only ever inside a JSON string) written ``\\u003c``, so no ``</script>`` or ``<!--`` in a
    run name, tag or text can end the block or change how it is parsed."""
    return payload.decode("utf-8").replace("<", "\\u003c")


def data_block(payload: bytes, compress: bool) -> str:
    """The data block: gzipped ``payload`` as base64 (no ``<`` at all), or its JSON."""
    if not compress:
        return (
            f'<script type="application/json" id="{DATA_ELEMENT_ID}">{json_block(payload)}</script>'
        )
    packed = base64.b64encode(gzip.compress(payload, compresslevel=6, mtime=0)).decode("ascii")
    return (
        f'<script type="application/octet-stream" id="{DATA_ELEMENT_ID}" '
        f'data-encoding="gzip-base64">{packed}</script>'
    )


def content_security_policy(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'sha256-{digest}'",
            "style-src 'unsafe-inline'",
            "img-src data: blob:",
            "media-src data: blob:",
            "font-src data:",
            "connect-src data: blob:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def render(
    payload: bytes,
    meta: bytes,
    title: str,
    directory: Path | None = None,
    compress: bool = True,
) -> str:
    """The page: the snapshot build in ``directory`` (default: the package's) with ``payload``
    (the data as JSON), ``meta`` (what it is of, as JSON) and ``title``."""
    directory = build_dir() if directory is None else directory
    page = (directory / "index.html").read_text(encoding="utf-8")
    # The template is edited first; the app's code goes in last, by position, so that nothing
    # in it can be taken for a tag of the template.
    page = _PRELOAD.sub("", _COMMENT.sub("", page))
    page = re.sub(
        r"<title>.*?</title>", lambda _: f"<title>{html.escape(title)}</title>", page, count=1
    )
    blocks = (
        f'<script type="application/json" id="{META_ELEMENT_ID}">{json_block(meta)}</script>\n'
        f"    {data_block(payload, compress)}"
    )
    page = page.replace("</body>", f"  {blocks}\n  </body>", 1)
    scripts = list(_SCRIPT.finditer(page))
    styles = list(_STYLESHEET.finditer(page))
    if len(scripts) != 1 or len(styles) > 1:
        raise SnapshotBuildError(
            f"the snapshot build must be one script and at most one stylesheet, found "
            f"{len(scripts)} and {len(styles)}: rebuild it with `npm run build`"
        )
    if page.count("./assets/") != len(scripts) + len(styles):
        raise SnapshotBuildError("the snapshot build refers to files beside it: rebuild it")
    script = inline_script((directory / scripts[0].group(1)).read_text(encoding="utf-8"))
    inlined = [(scripts[0], f'<script type="module">{script}</script>')]
    inlined += [
        (match, f"<style>{inline_style((directory / match.group(1)).read_text('utf-8'))}</style>")
        for match in styles
    ]
    policy = content_security_policy(script)
    charset = '<meta charset="utf-8" />'
    at = page.index(charset) + len(charset)
    edits = [(at, at, f'\n    <meta http-equiv="Content-Security-Policy" content="{policy}" />')]
    edits += [(match.start(), match.end(), text) for match, text in inlined]
    for start, end, text in sorted(edits, reverse=True):
        page = page[:start] + text + page[end:]
    return page
