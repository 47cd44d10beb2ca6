"""hatch_build.py: building from source fails loudly without Node or a compiler (issue 17 item 2),
unless the user opts out; the C scanner's portable CRC-32C path gives google_crc32c's answers."""

from __future__ import annotations

import importlib.util
import os
import random
import shlex
import shutil
import stat
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import google_crc32c
import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hatch_build_under_test", ROOT / "hatch_build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = load_hook()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "LUMIBOARD_ALLOW_PURE_PYTHON",
        "LUMIBOARD_SKIP_FRONTEND",
        "LUMIBOARD_REQUIRE_NATIVE",
        "LUMIBOARD_REQUIRE_FRONTEND",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def warnings_seen() -> list[str]:
    return []


def frontend_tree(root: Path) -> Path:
    """A source tree whose web app was never built."""
    (root / "frontend").mkdir(parents=True)
    (root / "frontend" / "package.json").write_text("{}")
    return root


def path_with(tmp_path: Path, scripts: dict[str, str]) -> str:
    """A PATH of one folder holding only the given shell scripts."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, body in scripts.items():
        script = folder / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(folder)


def native_tree(root: Path) -> Path:
    """A source tree holding the two C files where the hook looks for them."""
    for source, _name in hook.NATIVE_MODULES:
        (root / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / source, root / source)
    return root


# ---- web app ---------------------------------------------------------------------------


def test_no_npm_fails_naming_node_and_the_opt_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = frontend_tree(tmp_path / "src")
    monkeypatch.setenv("PATH", path_with(tmp_path, {}))
    with pytest.raises(hook.BuildError) as raised:
        hook.ensure_frontend(root)
    message = str(raised.value)
    assert "node and npm not found on PATH" in message
    assert "Node.js >= 20.19 and npm" in message
    assert "LUMIBOARD_SKIP_FRONTEND=1" in message


def test_old_node_fails_saying_it_is_too_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = frontend_tree(tmp_path / "src")
    monkeypatch.setenv("PATH", path_with(tmp_path, {"node": "echo v18.20.4", "npm": "exit 0"}))
    with pytest.raises(hook.BuildError, match=r"Node\.js v18\.20\.4 is too old"):
        hook.ensure_frontend(root)


def test_skip_frontend_builds_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warnings_seen: list[str]
) -> None:
    root = frontend_tree(tmp_path / "src")
    monkeypatch.setenv("PATH", path_with(tmp_path, {}))
    monkeypatch.setenv("LUMIBOARD_SKIP_FRONTEND", "1")
    hook.ensure_frontend(root, warnings_seen.append)
    assert len(warnings_seen) == 1
    assert "LUMIBOARD_SKIP_FRONTEND=1" in warnings_seen[0]
    assert "not built" in warnings_seen[0]


def test_the_old_require_variable_overrides_the_opt_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = frontend_tree(tmp_path / "src")
    monkeypatch.setenv("PATH", path_with(tmp_path, {}))
    monkeypatch.setenv("LUMIBOARD_SKIP_FRONTEND", "1")
    monkeypatch.setenv("LUMIBOARD_REQUIRE_FRONTEND", "1")
    with pytest.raises(hook.BuildError, match=r"Node\.js"):
        hook.ensure_frontend(root)


def test_an_sdist_without_the_built_app_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_with(tmp_path, {}))
    with pytest.raises(hook.BuildError, match="neither the built web app"):
        hook.ensure_frontend(tmp_path)


def test_an_sdist_with_the_built_app_needs_no_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warnings_seen: list[str]
) -> None:
    for index in (hook.STATIC_INDEX, hook.SNAPSHOT_INDEX):
        (tmp_path / index).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / index).write_text("<html></html>")
    monkeypatch.setenv("PATH", path_with(tmp_path, {}))
    hook.ensure_frontend(tmp_path, warnings_seen.append)
    assert warnings_seen == []


# ---- native extensions ---------------------------------------------------------------


def test_no_compiler_fails_naming_compilers_and_the_opt_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = native_tree(tmp_path / "src")
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.raises(hook.BuildError) as raised:
        hook.build_native(root)
    message = str(raised.value)
    assert "compiling _scan.c failed" in message
    assert "C compiler" in message
    for hint in ("gcc", "clang", "MSVC", "xcode-select", "LUMIBOARD_ALLOW_PURE_PYTHON=1"):
        assert hint in message
    assert not list(root.rglob("_native*"))


def test_allow_pure_python_builds_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warnings_seen: list[str]
) -> None:
    root = native_tree(tmp_path / "src")
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("LUMIBOARD_ALLOW_PURE_PYTHON", "1")
    assert hook.build_native(root, warnings_seen.append) == []
    assert [w.split(" ")[0] for w in warnings_seen] == ["_scan.c", "_xspace.c"]
    assert all("pure Python" in w for w in warnings_seen)


def test_require_native_overrides_allow_pure_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = native_tree(tmp_path / "src")
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("LUMIBOARD_ALLOW_PURE_PYTHON", "1")
    monkeypatch.setenv("LUMIBOARD_REQUIRE_NATIVE", "1")
    with pytest.raises(hook.BuildError):
        hook.build_native(root)


# ---- the CRC-32C paths ---------------------------------------------------------------


def tf_masked(data: bytes) -> int:
    crc: int = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def default_compiler() -> str | None:
    command = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shutil.which(shlex.split(command)[0])


def build_scanner(tmp_path: Path, macros: tuple[str, ...] = ()) -> ModuleType:
    """_scan.c compiled through the build hook into a private folder, then imported."""
    if default_compiler() is None:
        pytest.skip("no C compiler here")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    tmp_path.mkdir(parents=True, exist_ok=True)
    target = tmp_path / f"_native{suffix}"
    hook.compile_extension(ROOT / "src/lumiboard/reader/_scan.c", target, macros, force=True)
    spec = importlib.util.spec_from_file_location("_native", target)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def samples() -> Iterator[bytes]:
    rng = random.Random(17)
    data = bytes(rng.randrange(256) for _ in range(4096))
    yield b""
    yield b"123456789"
    # Every alignment and every tail length of the 8-byte loop.
    for offset in range(8):
        for length in (*range(20), 63, 64, 65, 1000, 4000):
            yield data[offset : offset + length]


def test_portable_crc_path_matches_google_crc32c(tmp_path: Path) -> None:
    table = build_scanner(tmp_path, ("LUMIBOARD_NO_HW_CRC",))
    assert table.crc_path() == "table"
    # CRC-32C's check value (RFC 3720's test vector) under TensorFlow's mask.
    assert google_crc32c.value(b"123456789") == 0xE3069283
    assert table.masked_crc32c(b"123456789") == tf_masked(b"123456789")
    for sample in samples():
        assert table.masked_crc32c(sample) == tf_masked(sample), len(sample)


def test_installed_scanner_reports_its_crc_path_and_agrees() -> None:
    from lumiboard.reader import _native  # type: ignore[attr-defined]

    assert _native.crc_path() in {"sse4.2", "armv8-crc", "table"}
    if os.uname().machine == "x86_64":
        assert _native.crc_path() == "sse4.2"  # every x86-64 CI machine has SSE4.2
    for sample in samples():
        assert _native.masked_crc32c(sample) == tf_masked(sample), len(sample)


def test_resync_finds_the_same_frames_on_both_paths(tmp_path: Path) -> None:
    from lumiboard.format import tfrecord
    from lumiboard.reader import _native  # type: ignore[attr-defined]

    table = build_scanner(tmp_path, ("LUMIBOARD_NO_HW_CRC",))
    rng = random.Random(5)
    frames = b"".join(tfrecord.encode_record(rng.randbytes(rng.randrange(40))) for _ in range(30))
    noisy = bytearray(frames)
    for _ in range(40):
        noisy[rng.randrange(len(noisy))] = rng.randrange(256)
    for start in range(0, len(noisy), 7):
        assert table.find_frame(bytes(noisy), start, 1 << 20) == _native.find_frame(
            bytes(noisy), start, 1 << 20
        )


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang is not installed")
def test_clang_builds_the_scanner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", "clang")
    for macros in ((), ("LUMIBOARD_NO_HW_CRC",)):
        module = build_scanner(tmp_path / "-".join(macros or ("hw",)), macros)
        for sample in samples():
            assert module.masked_crc32c(sample) == tf_masked(sample)
