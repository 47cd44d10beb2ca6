"""The checked-in protobuf code matches what scripts/gen_protos.py generates."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "src" / "lumiboard" / "format" / "proto"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    written = _generator().generate(tmp_path)
    fresh = {path.name: path.read_bytes() for path in written}
    current = {path.name: path.read_bytes() for path in CHECKED_IN.glob("*_pb2.py*")}
    assert sorted(fresh) == sorted(current), "run: python scripts/gen_protos.py"
    stale = [name for name in fresh if fresh[name] != current[name]]
    assert not stale, f"stale generated code {stale}: run python scripts/gen_protos.py"
    protos = sorted(p.stem for p in CHECKED_IN.glob("*.proto"))
    assert sorted({name.split("_pb2")[0] for name in fresh}) == protos
