"""Build hook: compile lumiboard's native ingest core, and build the web app.

Native core: two extensions, each one C file that needs only the Python headers:
the ingest scanner (``src/lumiboard/reader/_scan.c`` -> ``reader/_native<EXT_SUFFIX>``)
and the profile decoder (``src/lumiboard/plugins/profile/_xspace.c`` ->
``plugins/profile/_xspace<EXT_SUFFIX>``). Each is built in place (gitignored) when
missing or older than its source, so editable installs use them too, and included
in wheels, which then carry a platform tag. Without a compiler the build goes on
and lumiboard falls back to pure Python (the scanner about 100 times slower, the
XSpace decoder about 50 times); set LUMIBOARD_REQUIRE_NATIVE=1 to make that an
error instead.

Web app: ``frontend/`` (TypeScript, Vite) is built with ``npm`` into
``src/lumiboard/static/`` (gitignored; shipped in wheels and sdists through
``[tool.hatch.build] artifacts``) whenever the built ``index.html`` is missing or
older than any frontend source or package file: ``npm ci`` first when
``node_modules`` is missing or older than ``package-lock.json``, then
``npm run build``. Without npm (or on a failed build) the build goes on with a
warning and the server shows its "not built" page; set
LUMIBOARD_REQUIRE_FRONTEND=1 to make that an error, or LUMIBOARD_SKIP_FRONTEND=1
to skip the web app. A wheel built from an sdist finds the web app already
built (the sdist carries it) and needs no npm.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# Each extension: its C source and the module name it is built as, next to the source.
NATIVE_MODULES = (
    (Path("src/lumiboard/reader/_scan.c"), "_native"),
    (Path("src/lumiboard/plugins/profile/_xspace.c"), "_xspace"),
)
FRONTEND = Path("frontend")
STATIC_INDEX = Path("src/lumiboard/static/index.html")
#: The single-file build ``lumiboard snapshot`` inlines (``vite build --mode snapshot``).
SNAPSHOT_INDEX = Path("src/lumiboard/static/snapshot/index.html")
# What the built app depends on, besides everything under frontend/src.
FRONTEND_FILES = (
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
)


def native_targets(root: Path) -> list[tuple[Path, Path]]:
    """Each extension's (source, compiled target) paths."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return [
        (root / source, root / source.parent / f"{name}{suffix}") for source, name in NATIVE_MODULES
    ]


def compile_extension(source: Path, target: Path) -> Path:
    """Compile one extension if it is missing or older than its source."""
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


def compile_native(root: Path) -> list[Path]:
    """Compile every extension that is missing or older than its source."""
    return [compile_extension(source, target) for source, target in native_targets(root)]


def frontend_inputs(frontend: Path) -> Iterator[Path]:
    """The files the built web app is made from."""
    for name in FRONTEND_FILES:
        path = frontend / name
        if path.is_file():
            yield path
    source = frontend / "src"
    if source.is_dir():
        yield from (path for path in source.rglob("*") if path.is_file())


def frontend_stale(root: Path) -> bool:
    """Whether the web app needs building: sources present, and newer than the build."""
    frontend = root / FRONTEND
    if not (frontend / "package.json").is_file():
        return False  # e.g. a wheel built from an sdist, which carries the built app
    index, snapshot = root / STATIC_INDEX, root / SNAPSHOT_INDEX
    if not index.is_file() or not snapshot.is_file():
        return True
    built = min(index.stat().st_mtime, snapshot.stat().st_mtime)
    return any(path.stat().st_mtime > built for path in frontend_inputs(frontend))


def _npm(npm: str, args: list[str], cwd: Path) -> None:
    try:
        subprocess.run([npm, *args], cwd=cwd, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as error:
        output = (error.stdout or "") + (error.stderr or "")
        raise RuntimeError(f"`npm {' '.join(args)}` failed:\n{output.strip()[-3000:]}") from error


def build_frontend(root: Path) -> None:
    """``npm ci`` when the dependencies are missing or stale, then ``npm run build``."""
    frontend = root / FRONTEND
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on PATH (Node.js >= 20.19 builds the web app)")
    modules = frontend / "node_modules"
    lock = frontend / "package-lock.json"
    # npm writes node_modules/.package-lock.json on every install: its age is the install's.
    installed = modules / ".package-lock.json"
    if not installed.is_file() or (
        lock.is_file() and lock.stat().st_mtime > installed.stat().st_mtime
    ):
        _npm(npm, ["ci", "--no-audit", "--no-fund"], frontend)
    _npm(npm, ["run", "build"], frontend)


def ensure_frontend(root: Path) -> None:
    """Build the web app if it is stale; warn (or raise, if required) when that fails."""
    if os.environ.get("LUMIBOARD_SKIP_FRONTEND") == "1" or not frontend_stale(root):
        return
    try:
        build_frontend(root)
    except (OSError, RuntimeError) as error:
        if os.environ.get("LUMIBOARD_REQUIRE_FRONTEND") == "1":
            raise RuntimeError(f"building the web app failed: {error}") from error
        print(
            f"lumiboard: web app not built ({str(error).strip()[:800]}); the server will show "
            "its 'not built' page. Install Node.js and npm, then reinstall.",
            file=sys.stderr,
        )


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Builds the web app and compiles the native extensions before hatchling collects the files."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name not in {"wheel", "editable", "sdist"}:
            return
        root = Path(self.root)
        ensure_frontend(root)
        if self.target_name == "sdist":
            return
        for source, target in native_targets(root):
            try:
                compile_extension(source, target)
            except (OSError, subprocess.CalledProcessError) as error:
                detail = getattr(error, "stderr", "") or str(error)
                if os.environ.get("LUMIBOARD_REQUIRE_NATIVE") == "1":
                    raise RuntimeError(f"building {source.name} failed:\n{detail}") from error
                print(
                    f"lumiboard: {source.name} not built ({detail.strip()[:500]})", file=sys.stderr
                )
                continue
            if self.target_name == "wheel":
                build_data["force_include"][str(target)] = str(target.relative_to(root / "src"))
                build_data["pure_python"] = False
                build_data["infer_tag"] = True
