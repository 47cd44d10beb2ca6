"""Build hook: compile lumiboard's native ingest core, and build the web app.

Native core: two extensions, each one C file that needs only the Python headers:
the ingest scanner (``src/lumiboard/reader/_scan.c`` -> ``reader/_native<EXT_SUFFIX>``)
and the profile decoder (``src/lumiboard/plugins/profile/_xspace.c`` ->
``plugins/profile/_xspace<EXT_SUFFIX>``). They are compiled through setuptools'
``build_ext`` (the compiler Python itself was built with: gcc or clang on Linux,
clang on macOS, MSVC on Windows; ``CC``/``CFLAGS`` are honoured as setuptools
honours them), in place (gitignored) when missing or older than their source, so
editable installs use them too, and included in wheels, which then carry a
platform tag.

Web app: ``frontend/`` (TypeScript, Vite) is built with ``npm`` into
``src/lumiboard/static/`` (gitignored; shipped in wheels and sdists through
``[tool.hatch.build] artifacts``) whenever the built ``index.html`` is missing or
older than any frontend source or package file: ``npm ci`` first when
``node_modules`` is missing or older than ``package-lock.json``, then
``npm run build``. An sdist carries the built app and not ``frontend/``, so a
wheel built from it needs no Node.

Nothing degrades silently: without a C compiler, or without Node.js >= 20.19 and
npm, the build FAILS with a message saying what to install, unless the user opts
out explicitly: ``LUMIBOARD_ALLOW_PURE_PYTHON=1`` installs without the native
code (lumiboard then reads logs about 100 times slower, profiles about 50 times),
``LUMIBOARD_SKIP_FRONTEND=1`` without the web app (the server shows a "not built"
page). An opt-out builds with a warning. The former opt-ins
``LUMIBOARD_REQUIRE_NATIVE=1`` / ``LUMIBOARD_REQUIRE_FRONTEND=1`` are still
accepted: they are the default now, and override the matching opt-out.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterable, Iterator
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
#: frontend/package.json's engines.node (Vite 7's floor).
MIN_NODE = (20, 19)

ALLOW_PURE_PYTHON = "LUMIBOARD_ALLOW_PURE_PYTHON"
SKIP_FRONTEND = "LUMIBOARD_SKIP_FRONTEND"
REQUIRE_NATIVE = "LUMIBOARD_REQUIRE_NATIVE"
REQUIRE_FRONTEND = "LUMIBOARD_REQUIRE_FRONTEND"

COMPILER_HELP = (
    "lumiboard's reader needs a C compiler and the Python headers to build from source. "
    "Install them and reinstall: Debian/Ubuntu `apt-get install gcc python3-dev` (or clang), "
    "Fedora `dnf install gcc python3-devel`, Alpine `apk add build-base python3-dev`, "
    "macOS `xcode-select --install`, Windows the Microsoft C++ Build Tools (MSVC). "
    f"Or set {ALLOW_PURE_PYTHON}=1 to install without the native code "
    "(reading logs is then about 100 times slower)."
)
FRONTEND_HELP = (
    "lumiboard's web app needs Node.js >= 20.19 and npm to build from source. "
    "Install them (https://nodejs.org) and reinstall, or install a lumiboard wheel, which "
    f"carries the built app. Or set {SKIP_FRONTEND}=1 to install without the web app "
    "(the server then shows a 'not built' page)."
)

# Flags beyond what Python's own build passes: the scanner's hot loops want -O3.
UNIX_FLAGS = ("-O3", "-std=c11", "-Wall")
MSVC_FLAGS = ("/O2",)

Warn = Callable[[str], None]


class BuildError(RuntimeError):
    """A build step that cannot go on; the message says what to install or set."""


def warn_stderr(message: str) -> None:
    print(f"lumiboard: WARNING: {message}", file=sys.stderr)


def opted_out(variable: str, require: str) -> bool:
    """Whether the user opted out explicitly (and did not also ask to require the part)."""
    return os.environ.get(variable) == "1" and os.environ.get(require) != "1"


# ---- native extensions -----------------------------------------------------------------


def native_targets(root: Path) -> list[tuple[Path, Path]]:
    """Each extension's (source, compiled target) paths."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return [
        (root / source, root / source.parent / f"{name}{suffix}") for source, name in NATIVE_MODULES
    ]


def compile_extension(
    source: Path, target: Path, macros: Iterable[str] = (), *, force: bool = False
) -> Path:
    """Compile one extension into ``target`` if it is missing or older than its source.

    ``target``'s name up to its first dot is the module's name (its ``PyInit_``).
    ``macros`` are defined on the command line (e.g. ``LUMIBOARD_NO_HW_CRC``).
    Raises BuildError, saying what to install, when no compiler can build it.
    """
    if not force and target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    try:
        from setuptools import Distribution, Extension
        from setuptools.command.build_ext import build_ext
        from setuptools.errors import BaseError, CCompilerError
    except ImportError as error:
        raise BuildError(
            f"compiling {source.name} needs setuptools (pip install setuptools): {error}"
        ) from error

    class BuildExt(build_ext):  # type: ignore[misc]
        """Adds flags by compiler family, known only once build_ext has chosen it."""

        def build_extensions(self) -> None:
            msvc = self.compiler.compiler_type == "msvc"
            for extension in self.extensions:
                extension.extra_compile_args = list(MSVC_FLAGS if msvc else UNIX_FLAGS)
            super().build_extensions()

    name = target.name.split(".")[0]
    extension = Extension(name, [str(source)], define_macros=[(m, None) for m in macros])
    with tempfile.TemporaryDirectory(prefix="lumiboard-build-") as tmp:
        command = BuildExt(Distribution({"name": "lumiboard-native", "ext_modules": [extension]}))
        command.build_lib = str(Path(tmp) / "lib")
        command.build_temp = str(Path(tmp) / "temp")
        command.force = True
        try:
            command.ensure_finalized()
            command.run()
        except (OSError, CCompilerError, BaseError) as error:
            raise BuildError(f"compiling {source.name} failed: {error}\n{COMPILER_HELP}") from error
        built = Path(command.get_ext_fullpath(name))
        # Copy, then rename: a running interpreter may have the old file mapped.
        staging = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(built, staging)
        os.replace(staging, target)
    return target


def build_native(root: Path, warn: Warn = warn_stderr) -> list[Path]:
    """Compile every extension that is missing or stale; the targets that exist after.

    A compiler failure raises BuildError unless LUMIBOARD_ALLOW_PURE_PYTHON=1, which
    warns and leaves that extension out (lumiboard falls back to pure Python).
    """
    built = []
    for source, target in native_targets(root):
        try:
            built.append(compile_extension(source, target))
        except BuildError as error:
            if not opted_out(ALLOW_PURE_PYTHON, REQUIRE_NATIVE):
                raise
            warn(
                f"{source.name} not compiled ({ALLOW_PURE_PYTHON}=1): lumiboard falls back to "
                f"pure Python, far slower. {str(error).splitlines()[0][:500]}"
            )
    return built


# ---- web app -----------------------------------------------------------------------------


def frontend_inputs(frontend: Path) -> Iterator[Path]:
    """The files the built web app is made from."""
    for name in FRONTEND_FILES:
        path = frontend / name
        if path.is_file():
            yield path
    source = frontend / "src"
    if source.is_dir():
        yield from (path for path in source.rglob("*") if path.is_file())


def frontend_built(root: Path) -> bool:
    return (root / STATIC_INDEX).is_file() and (root / SNAPSHOT_INDEX).is_file()


def frontend_stale(root: Path) -> bool:
    """Whether the web app needs building: sources present, and newer than the build."""
    frontend = root / FRONTEND
    if not (frontend / "package.json").is_file():
        return False  # e.g. a wheel built from an sdist, which carries the built app
    if not frontend_built(root):
        return True
    built = min((root / STATIC_INDEX).stat().st_mtime, (root / SNAPSHOT_INDEX).stat().st_mtime)
    return any(path.stat().st_mtime > built for path in frontend_inputs(frontend))


def node_problem() -> str | None:
    """Why Node.js and npm on PATH cannot build the app, or None when they can."""
    node, npm = shutil.which("node"), shutil.which("npm")
    missing = [name for name, path in (("node", node), ("npm", npm)) if path is None]
    if node is None or npm is None:
        return f"{' and '.join(missing)} not found on PATH"
    try:
        output = subprocess.run(
            [node, "--version"], check=True, capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return f"`node --version` failed: {error}"
    match = re.match(r"v?(\d+)\.(\d+)", output.strip())
    if match is None:
        return f"`node --version` printed {output.strip()!r}"
    if (int(match[1]), int(match[2])) < MIN_NODE:
        return f"Node.js {output.strip()} is too old"
    return None


def _npm(args: list[str], cwd: Path) -> None:
    npm = shutil.which("npm") or "npm"
    try:
        subprocess.run([npm, *args], cwd=cwd, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as error:
        output = (getattr(error, "stdout", "") or "") + (getattr(error, "stderr", "") or "")
        detail = output.strip()[-3000:] or str(error)
        raise BuildError(f"`npm {' '.join(args)}` failed:\n{detail}\n{FRONTEND_HELP}") from error


def build_frontend(root: Path) -> None:
    """``npm ci`` when the dependencies are missing or stale, then ``npm run build``."""
    problem = node_problem()
    if problem is not None:
        raise BuildError(f"cannot build the web app: {problem}.\n{FRONTEND_HELP}")
    frontend = root / FRONTEND
    lock = frontend / "package-lock.json"
    # npm writes node_modules/.package-lock.json on every install: its age is the install's.
    installed = frontend / "node_modules" / ".package-lock.json"
    if not installed.is_file() or (
        lock.is_file() and lock.stat().st_mtime > installed.stat().st_mtime
    ):
        _npm(["ci", "--no-audit", "--no-fund"], frontend)
    _npm(["run", "build"], frontend)


def ensure_frontend(root: Path, warn: Warn = warn_stderr) -> None:
    """Build the web app if it is stale; BuildError when it cannot be had, unless opted out."""
    skip = opted_out(SKIP_FRONTEND, REQUIRE_FRONTEND)
    has_sources = (root / FRONTEND / "package.json").is_file()
    if has_sources and not frontend_stale(root):
        return
    if not has_sources and frontend_built(root):
        return  # an sdist: the built app came with it
    if skip:
        warn(f"the web app is not built ({SKIP_FRONTEND}=1): the server shows a 'not built' page.")
        return
    if not has_sources:
        raise BuildError(
            "this source tree has neither the built web app (src/lumiboard/static) nor its "
            f"sources (frontend/).\n{FRONTEND_HELP}"
        )
    build_frontend(root)


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Builds the web app and compiles the native extensions before hatchling collects the files."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name not in {"wheel", "sdist"}:
            return
        root = Path(self.root)

        def warn(message: str) -> None:
            self.app.display_warning(f"lumiboard: WARNING: {message}")

        ensure_frontend(root, warn)
        if self.target_name == "sdist":
            return
        built = build_native(root, warn)
        # An editable install imports the extensions from src/ where they were built.
        if version == "editable" or not built:
            return
        for target in built:
            build_data["force_include"][str(target)] = str(target.relative_to(root / "src"))
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
