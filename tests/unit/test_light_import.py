"""``import lumiboard`` stays light: the optional frameworks load only with their integration."""

from __future__ import annotations

import subprocess
import sys

#: Imported by an integration module (lumiboard.keras, .lightning, .transformers, the
#: projector's HDF5 reader, lumiboard.notebook's display), never by ``import lumiboard`` or
#: its writer.
HEAVY = (
    "tensorflow",
    "keras",
    "lightning",
    "pytorch_lightning",
    "transformers",
    "h5py",
    "jax",
    "IPython",
)


def test_import_lumiboard_loads_no_optional_framework() -> None:
    code = (
        "import sys, lumiboard\n"
        "from lumiboard import SummaryWriter\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
