"""``lumiboard``'s argument parsing: the help's layout, a mistyped flag's suggestion, a bare
log directory, subcommands it must not shadow, and ``--memory-budget`` sizes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lumiboard import cli, cli_parser

# ---- --help -----------------------------------------------------------------------------------


@pytest.fixture
def help_text(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal's width
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_help_shows_the_serve_flags_first_then_the_commands(help_text: str) -> None:
    lines = help_text.splitlines()

    def line_of(text: str) -> int:
        return next(i for i, line in enumerate(lines) if line.lstrip().startswith(text))

    serve_flags = [
        "--logdir",
        "--port",
        "--host",
        "--bind_all",
        "--reload_interval",
        "--samples_per_plugin",
        "--path_prefix",
        "--cache-dir",
        "--memory-budget",
    ]
    flag_lines = [line_of(flag) for flag in serve_flags]
    commands = [line_of(name) for name in ("demo", "summary", "export", "snapshot")]
    assert max(flag_lines) < min(commands), help_text
    # The bare form is told, and each subcommand's own help is pointed to.
    assert "lumiboard LOGDIR" in help_text
    assert "COMMAND --help" in help_text


def test_help_lists_the_ignored_tensorboard_flags_in_one_short_paragraph(help_text: str) -> None:
    # Not one entry each: every ignored flag is named once, in the paragraph at the end.
    start = help_text.index("accepted and ignored")
    paragraph = help_text[start:]
    assert help_text.index("--port") < start
    for flag in cli_parser.IGNORED_FLAGS:
        assert (
            help_text.count(flag + ",") + help_text.count(flag + ".") + help_text.count(flag + "\n")
            >= 1
        ), flag
        assert flag in paragraph
        assert help_text.count(flag) == paragraph.count(flag)  # nowhere else
    assert len(paragraph.strip().splitlines()) <= 6


def test_help_as_a_word(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["help"])
    assert exit_info.value.code == 0
    assert "serve options" in capsys.readouterr().out
    (tmp_path / "help").mkdir()  # unless a directory has that name
    assert cli.parse(["help"]).logdir == "help"


def test_serve_help_has_the_same_groups(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    text = capsys.readouterr().out
    assert text.index("--logdir") < text.index("accepted and ignored")
    assert "ignored:" not in text  # no per-flag "ignored" entries


def test_usage_errors_do_not_list_the_ignored_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--port", "nonsense"])
    err = capsys.readouterr().err
    assert "usage:" in err
    assert "--load_fast" not in err


# ---- a mistyped flag --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "typo", "meant"),
    [
        (["--logidr", "logs"], "--logidr", "--logdir"),
        (["--logdir", "x", "--prot", "7000"], "--prot", "--port"),
        (["--logdir=x", "--reload_intervall=3"], "--reload_intervall", "--reload_interval"),
        (["--logdir", "x", "--cache_dri", "/tmp/c"], "--cache_dri", "--cache_dir"),
        (["--logdir", "x", "--memory_budgte", "1G"], "--memory_budgte", "--memory_budget"),
        (["demo", "--stepz", "5"], "--stepz", "--steps"),
    ],
)
def test_a_mistyped_flag_suggests_the_right_one(
    argv: list[str], typo: str, meant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"unknown flag {typo}; did you mean {meant}?" in err
    assert "usage:" in err


def test_a_flag_like_no_other_gets_no_guess(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--logdir", "x", "--qqqqqqqq"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown flag --qqqqqqqq" in err
    assert "did you mean" not in err


# ---- a bare log directory ---------------------------------------------------------------------


def test_a_bare_path_is_the_logdir(tmp_path: Path) -> None:
    args = cli.parse(["logs"])
    assert (args.command, args.logdir) == ("serve", "logs")
    args = cli.parse(["logs", "--port", "7000"])
    assert (args.command, args.logdir, args.port) == ("serve", "logs", 7000)
    args = cli.parse(["--port", "7000", str(tmp_path)])
    assert (args.command, args.logdir, args.port) == ("serve", str(tmp_path), 7000)
    assert cli.parse(["serve", "runs"]).logdir == "runs"
    assert cli.parse(["s3://bucket/runs"]).logdir == "s3://bucket/runs"


def test_a_subcommand_name_stays_the_subcommand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Even with directories of those names here, the word is the command ...
    monkeypatch.chdir(tmp_path)
    for name in ("demo", "summary", "export", "snapshot", "serve"):
        (tmp_path / name).mkdir()
    assert cli.parse(["demo", "--no-serve"]).command == "demo"
    assert cli.parse(["summary", "runs"]).command == "summary"
    assert cli.parse(["export", "runs"]).command == "export"
    assert cli.parse(["snapshot", "--logdir", "runs", "-o", "x.html"]).command == "snapshot"
    # ... and the directory is served as a path, or with --logdir.
    assert cli.parse(["./demo"]).logdir == "./demo"
    assert cli.parse(["--logdir", "demo"]).logdir == "demo"


def test_a_mistyped_command_is_not_taken_for_a_logdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.parse(["sumary", "runs"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "did you mean summary?" in err
    assert "--logdir sumary" in err  # how to serve a directory of that name anyway
    # A directory of that name that exists is served.
    (tmp_path / "sumary").mkdir()
    assert cli.parse(["sumary"]).logdir == "sumary"


def test_a_path_and_logdir_together_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.parse(["logs", "--logdir", "other"])
    assert exit_info.value.code == 2
    assert "--logdir" in capsys.readouterr().err


def test_one_bare_path_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.parse(["a", "b"])
    assert exit_info.value.code == 2
    assert "a,b" in capsys.readouterr().err  # how to give several


# ---- --memory-budget --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1048576", 1_048_576),
        ("512M", 512 * 2**20),
        ("512m", 512 * 2**20),
        ("2G", 2 * 2**30),
        ("2GB", 2 * 2**30),
        ("1.5GiB", 3 * 2**29),
        ("64 MiB", 64 * 2**20),
        ("100k", 100 * 1024),
        ("1T", 2**40),
        ("300B", 300),
    ],
)
def test_memory_budget_sizes(text: str, size: int) -> None:
    assert cli_parser.parse_size(text) == size
    assert cli.parse(["--logdir", "x", "--memory-budget", text]).memory_budget == size
    assert cli.parse(["--logdir", "x", "--memory_budget", text]).memory_budget == size


def test_memory_budget_is_unset_by_default() -> None:
    assert cli.parse(["--logdir", "x"]).memory_budget is None


@pytest.mark.parametrize("text", ["", "lots", "2X", "-1G", "0", "1.5", "G", "1e9", "2 G B"])
def test_bad_memory_budget_is_a_clear_usage_error(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.parse(["--logdir", "x", f"--memory-budget={text}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--memory-budget" in err
    assert "512M" in err  # an example of what it takes


def test_cache_dir_url_passes_through() -> None:
    url = "s3://bucket/lumiboard-cache"
    assert cli.parse(["--logdir", "x", "--cache-dir", url]).cache_dir == url
    assert os.fspath(cli.parse(["x", "--cache_dir", "gs://b/c"]).cache_dir) == "gs://b/c"
