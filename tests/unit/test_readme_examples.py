"""The README's examples run as pasted.

Every ```` ```python ```` block of README.md runs in its own interpreter (this venv's), in a
fresh empty working directory, with a timeout; the blocks run in parallel, a few at a time.
A block that cannot run here (it needs a GPU, a server, network, credentials or a framework
that is not installed) is preceded in the README by a marker naming why::

    <!-- readme-test: skip (needs TensorFlow) -->

Such skips are counted and printed, and kept few. The ``lumiboard ...`` lines of the bash
blocks are parsed by the command line's own parser (nothing is run).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>\w*)\s*$")
#: Seconds one block may take (a Keras, Lightning or transformers import is a few seconds).
TIMEOUT = 150
#: Frameworks the examples use that an environment may lack (the project's venv has them all):
#: a block failing only because one is missing is skipped, not failed.
OPTIONAL = {"torch", "keras", "lightning", "transformers", "matplotlib", "jax", "pyarrow"}
MISSING = re.compile(r"ModuleNotFoundError: No module named '(?P<name>[\w]+)")
#: At most this many skipped blocks: each one is an example a reader cannot trust.
MAX_SKIPS = 4


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    skip: str | None  # the marker's reason


@dataclass(frozen=True)
class Outcome:
    returncode: int
    output: str


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block, with the skip marker on the last non-blank line before it."""
    lines = text.splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not FENCE.match(lines[end]):
            end += 1
        before = next((line for line in reversed(lines[:index]) if line.strip()), "")
        marker = SKIP.search(before)
        blocks.append(
            Block(
                line=index + 1,
                lang=fence["lang"],
                code=textwrap.dedent("\n".join(lines[index + 1 : end])) + "\n",
                skip=marker["reason"].strip() if marker else None,
            )
        )
        index = end + 1
    return blocks


TEXT = README.read_text()  # read once: every test sees the same README
PYTHON = [block for block in readme_blocks(TEXT) if block.lang == "python"]
RUN = [block for block in PYTHON if block.skip is None]
SKIPPED = [block for block in PYTHON if block.skip is not None]


def _run(block: Block, workdir: Path) -> Outcome:
    workdir.mkdir(parents=True)
    (workdir / "example.py").write_text(block.code)
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "XDG_CACHE_HOME": str(workdir / ".cache"),  # lumiboard.read's cache stays in the temp dir
        "OMP_NUM_THREADS": "1",  # the blocks run side by side on a few cores
        "HF_HUB_OFFLINE": "1",  # nothing is downloaded: the examples build their models
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONWARNINGS": "ignore",  # the frameworks' own deprecation chatter
    }
    try:
        result = subprocess.run(
            [sys.executable, "example.py"],
            check=False,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as error:
        return Outcome(-1, f"timed out after {TIMEOUT} s\n{error.output or ''}{error.stderr or ''}")
    return Outcome(result.returncode, result.stdout + result.stderr)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Outcome]:
    """Run every block once, a few at a time (each test below reads its block's outcome)."""
    root = tmp_path_factory.mktemp("readme")
    workers = max(2, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        # Slowest first (the framework imports), so that the pool ends together.
        ordered = sorted(RUN, key=lambda block: -_weight(block))
        futures = {
            block.line: pool.submit(_run, block, root / f"line{block.line}") for block in ordered
        }
        return {line: future.result() for line, future in futures.items()}


def _weight(block: Block) -> int:
    heavy = ("transformers", "lightning", "keras", "torch", "demo")
    return sum(name in block.code for name in heavy)


@pytest.mark.parametrize("block", RUN, ids=[f"line{block.line}" for block in RUN])
def test_readme_python_block_runs(block: Block, outcomes: dict[int, Outcome]) -> None:
    outcome = outcomes[block.line]
    missing = MISSING.search(outcome.output)
    if outcome.returncode != 0 and missing and missing["name"] in OPTIONAL:
        pytest.skip(f"README.md line {block.line} needs {missing['name']}, not installed here")
    if outcome.returncode != 0:
        pytest.fail(
            f"README.md line {block.line}: the block failed:\n{block.code}\n--- output ---\n"
            f"{outcome.output[-4000:]}",
            pytrace=False,
        )


def test_readme_skips_are_few_and_explained(capsys: pytest.CaptureFixture[str]) -> None:
    assert RUN, "no ```python block found in README.md"
    with capsys.disabled():
        print(f"\nREADME python blocks: {len(RUN)} run, {len(SKIPPED)} skipped")
        for block in SKIPPED:
            print(f"  skipped: line {block.line}: {block.skip}")
    assert len(SKIPPED) <= MAX_SKIPS
    assert all(len(block.skip or "") >= 8 for block in SKIPPED)  # a reason, not just "skip"


def test_readme_markers_precede_python_blocks() -> None:
    """A marker that no longer sits right above a python block skips nothing: say so."""
    lines = TEXT.splitlines()
    marked = {index + 1 for index, line in enumerate(lines) if SKIP.search(line)}
    used = set()
    for block in SKIPPED:
        before = [i + 1 for i in range(block.line - 1) if lines[i].strip()]
        used.add(before[-1])
    assert marked == used


def _cli_lines() -> list[tuple[int, list[str]]]:
    """The ``lumiboard`` commands of the bash blocks: (README line, arguments)."""
    found = []
    for block in readme_blocks(TEXT):
        if block.lang != "bash":
            continue
        for offset, line in enumerate(block.code.splitlines()):
            for command in line.split("  #")[0].split("&&"):
                words = shlex.split(command)
                # Placeholders in brackets ([--experiment NAME]) are documentation, not a command.
                if words and Path(words[0]).name == "lumiboard" and "[" not in command:
                    found.append((block.line + 1 + offset, words[1:]))
    return found


def test_readme_cli_lines_parse() -> None:
    from lumiboard import cli

    lines = _cli_lines()
    assert lines
    for line, arguments in lines:
        try:
            cli.parse(arguments)
        except SystemExit as error:  # argparse's way to refuse
            raise AssertionError(f"README.md line {line}: {arguments} does not parse") from error


def test_readme_first_command_installs_no_framework() -> None:
    """The first command (set up and run the demo) installs lumiboard alone: no torch.

    That the demo itself runs without torch is test_demo.py::test_demo_graph_without_torch.
    """
    first = next(block for block in readme_blocks(TEXT) if block.lang == "bash")
    assert "lumiboard demo" in first.code
    assert not re.search(r"\b(torch|tensorflow|jax|keras)\b", first.code), first.code
