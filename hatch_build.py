"""Build hook: compile lumiboard's native ingest core with the machine's C compiler.

The extension (``src/lumiboard/reader/_scan.c``) needs only the Python headers.
It is built in place (``src/lumiboard/reader/_native<EXT_SUFFIX>``, gitignored),
so editable installs use it too, and included in wheels, which then carry a
platform tag. Without a compiler the build goes on and lumiboard falls back to
its pure-Python scanner (about 100 times slower); set LUMIBOARD_REQUIRE_NATIVE=1
to make that an error instead.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/lumiboard/reader/_scan.c")


def native_target(root: Path) -> Path:
    """Where the compiled extension goes."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return root / SOURCE.parent / f"_native{suffix}"


def compile_native(root: Path) -> Path:
    """Compile the extension if it is missing or older than its source."""
    source, target = root / SOURCE, native_target(root)
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    include = sysconfig.get_paths()["include"]
    command = [
        *compiler[:1],
        "-O3",
        "-std=c11",
        "-Wall",
        "-shared",
        "-fPIC",
        f"-I{include}",
        str(source),
        "-o",
        str(target),
    ]
    if sys.platform == "darwin":
        command[1:1] = ["-undefined", "dynamic_lookup"]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return target


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles the native scanner before hatchling collects the files."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name not in {"wheel", "editable"}:
            return
        root = Path(self.root)
        try:
            target = compile_native(root)
        except (OSError, subprocess.CalledProcessError) as error:
            detail = getattr(error, "stderr", "") or str(error)
            if os.environ.get("LUMIBOARD_REQUIRE_NATIVE") == "1":
                raise RuntimeError(f"building the native scanner failed:\n{detail}") from error
            print(f"lumiboard: native scanner not built ({detail.strip()[:500]})", file=sys.stderr)
            return
        if self.target_name == "wheel":
            build_data["force_include"][str(target)] = str(target.relative_to(root / "src"))
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
