"""pyproject.toml's packaging configuration (issue 17 item 1): the build needs setuptools (the
hook compiles through its build_ext), the sdist carries what a wheel build needs and nothing
stray, and cibuildwheel builds every platform and Python the issue names. cibuildwheel itself
cannot run here (its Linux builds need docker): this checks the configuration it reads."""

from __future__ import annotations

import fnmatch
import shlex
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CIBW = PYPROJECT["tool"]["cibuildwheel"]
PYTHONS = ("cp310", "cp311", "cp312", "cp313", "cp314")


def selected(identifier: str) -> bool:
    """Whether cibuildwheel's build/skip selectors keep an identifier (its fnmatch rules)."""
    build = CIBW["build"].split()
    skip = CIBW.get("skip", "").split()
    return any(fnmatch.fnmatch(identifier, pattern) for pattern in build) and not any(
        fnmatch.fnmatch(identifier, pattern) for pattern in skip
    )


def test_build_requires_setuptools_for_the_compiler_layer() -> None:
    requires = PYPROJECT["build-system"]["requires"]
    assert any(r.startswith("hatchling") for r in requires)
    assert any(r.startswith("setuptools") for r in requires)
    assert any(r.startswith("build") for r in PYPROJECT["project"]["optional-dependencies"]["test"])


def test_sdist_carries_sources_and_the_built_app_but_not_frontend() -> None:
    hatch = PYPROJECT["tool"]["hatch"]["build"]
    assert "src/lumiboard/static/**" in hatch["artifacts"]
    include = hatch["targets"]["sdist"]["include"]
    assert "/src/lumiboard" in include
    assert "/hatch_build.py" in include
    # Unanchored, "tests" took frontend/tests: a partial frontend/ in the sdist.
    assert all(pattern.startswith("/") for pattern in include)
    assert not any(pattern.startswith("/frontend") for pattern in include)


def test_cibuildwheel_builds_every_python_and_platform() -> None:
    linux = CIBW["linux"]
    assert set(linux["archs"]) == {"x86_64", "aarch64"}
    for arch in ("x86_64", "aarch64"):
        assert linux[f"manylinux-{arch}-image"].startswith("manylinux_2_")
        assert linux[f"musllinux-{arch}-image"].startswith("musllinux_1_")
    assert set(CIBW["macos"]["archs"]) == {"x86_64", "arm64"}
    assert CIBW["windows"]["archs"] == ["AMD64"]
    platforms = [
        *(f"{libc}_{arch}" for libc in ("manylinux", "musllinux") for arch in linux["archs"]),
        "macosx_x86_64",
        "macosx_arm64",
        "win_amd64",
    ]
    for python in PYTHONS:
        for platform in platforms:
            assert selected(f"{python}-{platform}"), f"{python}-{platform}"
    for other in ("cp39-manylinux_x86_64", "pp310-manylinux_x86_64", "cp313-win32"):
        assert not selected(other) or other.endswith("win32")  # win32: not in windows archs


def test_cibuildwheel_tests_each_wheel_for_the_native_scanner_and_app() -> None:
    command = CIBW["test-command"]
    assert "scan.NATIVE" in command
    assert "lumiboard.plugins.profile._xspace" in command
    assert "static/index.html" in command
    assert "static/snapshot/index.html" in command
    assert "test-skip" not in CIBW  # every wheel is installed and tested (musllinux too)


def test_cibuildwheel_test_command_passes_here() -> None:
    """The command cibuildwheel runs in each wheel's venv passes in this one."""
    argv = shlex.split(CIBW["test-command"])
    assert argv[:2] == ["python", "-c"]
    result = subprocess.run(
        [sys.executable, "-c", argv[2]], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("lumiboard ")
