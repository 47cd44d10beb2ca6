"""Regenerate the Python code for lumiboard's .proto files.

Usage::

    python scripts/gen_protos.py            # rewrite src/lumiboard/format/proto/*_pb2.py(i)
    python scripts/gen_protos.py --out DIR  # write the generated tree under DIR instead

Needs grpcio-tools (the exact version pinned in pyproject's ``test`` extra, so
that the output is reproducible; tests/unit/test_proto_codegen.py fails when the
checked-in code is stale).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PROTO_DIR = SRC / "lumiboard" / "format" / "proto"


def generate(out: Path) -> list[Path]:
    """Run protoc over every .proto file; return the files written."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(str(p.relative_to(SRC)) for p in PROTO_DIR.glob("*.proto"))
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{SRC}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed: " + " ".join(args))
    return sorted((out / "lumiboard" / "format" / "proto").glob("*_pb2.py*"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SRC, help="root of the generated tree")
    args = parser.parse_args()
    for path in generate(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
