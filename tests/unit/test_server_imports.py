"""A server starts light: modules only some dashboards need load on their first use
(issue 18 items 1 and 4: an empty logdir's server memory, start-up time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

#: Loaded on first use only: pandas by the hparams dashboard's inferred metrics
#: (``lumiboard.experiment``), markdown and nh3 by the first text rendered.
LAZY = ("pandas", "markdown", "nh3")


def test_a_server_answering_its_first_requests_has_not_imported_them(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from starlette.testclient import TestClient\n"
        "from lumiboard.reader.reload import Reloader\n"
        "from lumiboard.server.app import create_app\n"
        f"reloader = Reloader({str(tmp_path)!r})\n"
        "reloader.reload()\n"
        "with TestClient(create_app(reloader)) as client:\n"
        "    for path in ('/data/runs', '/data/plugins_listing', '/data/environment'):\n"
        "        assert client.get(path).status_code == 200, path\n"
        f"print(sorted(name for name in {LAZY!r} if name in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


def test_text_renders_once_its_modules_load_on_first_use() -> None:
    code = (
        "import sys\n"
        "from lumiboard.plugins.text import render\n"
        "assert 'markdown' not in sys.modules and 'nh3' not in sys.modules\n"
        "print(render.markdown_to_html('**bold** <script>x</script>'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "<strong>bold</strong>" in done.stdout
    assert "<script>" not in done.stdout
