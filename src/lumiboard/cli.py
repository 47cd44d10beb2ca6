"""The ``lumiboard`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lumiboard import __version__


def _demo(args: argparse.Namespace) -> int:
    from lumiboard.demo import write_demo

    path = write_demo(args.logdir, steps=args.steps)
    print(f"lumiboard {__version__}: demo log directory written to {path.resolve()}")
    print("It holds scalars, histograms, images, video, audio, text, PR curves, hparams,")
    print("custom scalars, a mesh, an embedding and (with torch installed) a model graph.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lumiboard`` command."""
    parser = argparse.ArgumentParser(
        prog="lumiboard", description="Training visualization compatible with TensorBoard."
    )
    parser.add_argument("--version", action="version", version=f"lumiboard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="write a demo log directory with every kind of data")
    demo.add_argument("--logdir", default="demo_logs", help="where to write (default: demo_logs)")
    demo.add_argument("--steps", type=int, default=200, help="training steps per run")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
