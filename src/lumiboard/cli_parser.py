"""The parser of the ``lumiboard`` command: serve flags first, subcommands, TensorBoard's
ignored flags in one line; a bare log directory; suggestions for a mistyped flag or command.

``lumiboard --logdir runs`` takes TensorBoard's flags, so existing launch scripts keep
working: flags that do not apply to lumiboard are accepted (``main`` notes each one), and
a truly unknown flag is a usage error that names the flag it resembles.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
from collections.abc import Iterable, Sequence

from lumiboard import __version__, cli_mlflow, cli_scripts, snapshot

#: TensorBoard flags with no meaning here (lumiboard always reads every file,
#: in parallel, natively): accepted, noted, ignored.
IGNORED_FLAGS = {
    "--load_fast": "lumiboard always uses its native loader",
    "--reload_multifile": "lumiboard always tails every event file of a run",
    "--reload_multifile_inactive_secs": "lumiboard always tails every event file of a run",
    "--max_reload_threads": "lumiboard loads runs in parallel on every core",
    "--reload_task": "lumiboard reloads on a background thread",
    "--purge_orphaned_data": "lumiboard purges orphaned data, as TensorBoard does by default",
    "--detect_file_replacement": "lumiboard always detects replaced files",
    "--generic_data": "lumiboard serves every plugin from its own store",
    "--grpc_data_provider": "lumiboard reads event files itself",
    "--grpc_creds_type": "lumiboard reads event files itself",
    "--extra_data_server_flags": "lumiboard has no separate data server",
    "--reuse_port": "not needed",
    "--db": "not supported",
    "--db_import": "not supported",
    "--master_tpu_unsecure_channel": "not supported",
}

COMMANDS = ("serve", "demo", "snapshot", cli_mlflow.COMMAND, *cli_scripts.COMMANDS)

_TOP_LEVEL = ("-h", "--help", "--version")

_USAGE = (
    "%(prog)s [LOGDIR] [--logdir PATH] [--port PORT] [--host HOST] [options]\n"
    "       %(prog)s COMMAND [options]     (%(prog)s COMMAND --help: its options)"
)
_DESCRIPTION = (
    "Training visualization compatible with TensorBoard. `lumiboard runs` (or "
    "`lumiboard --logdir runs`) serves the web app; `lumiboard demo` serves a demo."
)
_SERVE_TITLE = "serve options (the default command)"
_SERVE_NOTE = (
    "`lumiboard LOGDIR` is `lumiboard --logdir LOGDIR`; `lumiboard serve ...` is the same. "
    "Flags written with '-' also take '_' (--cache_dir)."
)
IGNORED_NOTE = (
    "TensorBoard flags accepted and ignored for compatibility: " + ", ".join(IGNORED_FLAGS) + "."
)

_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:([kmgt])(?:i?b)?|(b))?\s*", re.IGNORECASE)
_SIZE_HELP = "a size: bytes, or with a suffix K, M, G, T (powers of 1024), e.g. 512M, 2G, 1.5GiB"


def parse_size(text: str) -> int:
    """Bytes of ``512M``, ``2G``, ``1.5GiB``, ``64 MiB`` or ``1048576`` (K/M/G/T are powers of
    1024, with or without ``B`` or ``iB``); ``argparse.ArgumentTypeError`` otherwise."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not {_SIZE_HELP}")
    number, unit = match.group(1), (match.group(2) or "").lower()
    if not unit and "." in number:
        raise argparse.ArgumentTypeError(f"{text!r}: bytes are whole; {_SIZE_HELP}")
    size = int(float(number) * 1024 ** ("kmgt".index(unit) + 1 if unit else 0))
    if size <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the budget must be positive; {_SIZE_HELP}")
    return size


def _port(text: str) -> int:
    if text == "default":
        return 6006
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a port is a number (or 'default'), got {text!r}"
        ) from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be in [0, 65535], got {port}")
    return port


class _Formatter(argparse.HelpFormatter):
    """Wider flag column; a flag with aliases (``--cache-dir``, ``--cache_dir``) shown once."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        flags = action.option_strings
        if len(flags) < 2 or any(flag.replace("_", "-") != flags[0] for flag in flags):
            return super()._format_action_invocation(action)
        if action.nargs == 0:
            return flags[0]
        metavar = self._format_args(action, self._get_default_metavar_for_optional(action))
        return f"{flags[0]} {metavar}"

    def _format_action(self, action: argparse.Action) -> str:
        if isinstance(action, argparse._SubParsersAction):  # the commands, without a COMMAND line
            return "".join(self._format_action(command) for command in action._get_subactions())
        return super()._format_action(action)


def _add_serve_flags(group: argparse._ActionsContainer) -> None:
    """The flags of ``serve`` (and ``demo``), into ``group``: all shown in ``--help``."""
    group.add_argument("--logdir", metavar="PATH", help="log directory (or a comma list of them)")
    group.add_argument(
        "--logdir_spec",
        metavar="SPEC",
        help="TensorBoard's name1:/path1,name2:/path2 (one name per directory)",
    )
    group.add_argument(
        "--port",
        type=_port,
        default=6006,
        help="port (default 6006; when taken, the next free one; 0: any free port)",
    )
    group.add_argument("--host", default=None, help="address to listen on (default localhost)")
    group.add_argument(
        "--bind_all", action="store_true", help="listen on every interface (IPv4 and IPv6)"
    )
    group.add_argument(
        "--reload_interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between reloads (default 5; 0: load once)",
    )
    group.add_argument(
        "--samples_per_plugin",
        default="",
        metavar="SPEC",
        help="points kept per series, e.g. images=100,histograms=all (scalars: always all)",
    )
    group.add_argument(
        "--path_prefix",
        default="",
        metavar="PATH",
        help="serve under this URL path, e.g. /tensorboard",
    )
    group.add_argument(
        "--window_title", default="", metavar="TITLE", help="the browser window's title"
    )
    group.add_argument(
        "--cache-dir",
        "--cache_dir",
        dest="cache_dir",
        default=None,
        metavar="DIR",
        help="where the persistent cache lives: a directory or an fsspec URL (s3://...)",
    )
    group.add_argument(
        "--no-cache",
        "--no_cache",
        dest="no_cache",
        action="store_true",
        help="do not use the persistent cache",
    )
    group.add_argument(
        "--memory-budget",
        "--memory_budget",
        dest="memory_budget",
        type=parse_size,
        default=None,
        metavar="SIZE",
        help="keep at most this much series data in memory, the rest read from the cache "
        "(512M, 2G, 1.5GiB, bytes; default: no limit)",
    )
    group.add_argument(
        "--auth-token",
        "--auth_token",
        dest="auth_token",
        default=os.environ.get("LUMIBOARD_AUTH_TOKEN"),
        metavar="TOKEN",
        help="require this token on every request (or set LUMIBOARD_AUTH_TOKEN, which other "
        "users of the machine cannot see in the process list)",
    )
    group.add_argument(
        "--allowed-hosts",
        "--allowed_hosts",
        dest="allowed_hosts",
        default="",
        metavar="NAMES",
        help="comma list of extra Host names a server on localhost answers to (e.g. behind a "
        "reverse proxy); '.example.com' allows a domain, '*' any name",
    )
    group.add_argument(
        "--alert-webhook",
        "--alert_webhook",
        dest="alert_webhook",
        default=os.environ.get("LUMIBOARD_ALERT_WEBHOOK"),
        metavar="URL",
        help="post new health flags and alerts to this URL as Slack-compatible JSON (or set "
        "LUMIBOARD_ALERT_WEBHOOK: the URL is a secret, which the process list would show)",
    )


def _add_ignored_flags(parser: argparse.ArgumentParser) -> None:
    """TensorBoard's flags that mean nothing here: parsed, hidden (the epilog names them)."""
    for flag in IGNORED_FLAGS:
        parser.add_argument(flag, nargs="?", const="true", default=None, help=argparse.SUPPRESS)


def _serve_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
) -> argparse.ArgumentParser:
    """A subcommand that serves: the serve flags in their group, the ignored ones hidden."""
    serve = name == "serve"  # the default command: its errors are the program's
    parser = commands.add_parser(
        name,
        help=help,
        prog="lumiboard" if serve else None,
        usage="%(prog)s [serve] " + _USAGE.split(" ", 1)[1].splitlines()[0]
        if serve
        else "%(prog)s [--logdir PATH] [--steps N] [--no-serve] [serve options]",
        description=_DESCRIPTION if serve else help,
        epilog=IGNORED_NOTE,
        formatter_class=_Formatter,
        add_help=False,
    )
    group = parser.add_argument_group(_SERVE_TITLE if serve else "serve options")
    if serve:
        group.add_argument(
            "bare_logdir", nargs="?", metavar="LOGDIR", help="the log directory, as --logdir"
        )
    _add_serve_flags(group)
    group.add_argument("-h", "--help", action="help", help="show this help and exit")
    group.add_argument(
        "--version", "--version_tb", action="version", version=f"lumiboard {__version__}"
    )
    _add_ignored_flags(parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``lumiboard [COMMAND]``.

    The top-level parser parses only ``--help`` and ``--version``; everything else is a
    subcommand's (:func:`parse` puts ``serve`` first when no command is named). Its help shows
    the serve flags first (the same group as ``serve``'s, values never parsed here), then the
    commands, then one line naming TensorBoard's ignored flags.
    """
    parser = argparse.ArgumentParser(
        prog="lumiboard",
        usage=_USAGE,
        description=_DESCRIPTION,
        epilog=IGNORED_NOTE,
        formatter_class=_Formatter,
        add_help=False,
    )
    group = parser.add_argument_group(_SERVE_TITLE, _SERVE_NOTE)
    _add_serve_flags(group)
    group.add_argument("-h", "--help", action="help", help="show this help and exit")
    group.add_argument("--version", action="version", version=f"lumiboard {__version__}")
    for action in group._group_actions:
        action.default = argparse.SUPPRESS  # shown here, parsed by the subcommand
    commands = parser.add_subparsers(
        dest="command", title="commands", metavar="COMMAND", prog="lumiboard"
    )
    _serve_parser(commands, "serve", "serve a log directory (the default command)")
    demo = _serve_parser(commands, "demo", "write a demo log directory and serve it")
    demo.set_defaults(logdir="demo_logs")
    demo.add_argument("--steps", type=int, default=200, metavar="N", help="training steps per run")
    demo.add_argument(
        "--no-serve", dest="no_serve", action="store_true", help="only write the demo log directory"
    )
    cli_scripts.add_parsers(commands)
    cli_mlflow.add_parser(commands)
    snapshot.add_parser(commands)
    return parser


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv``; without a command, ``serve`` is meant.

    Only the first argument can name the command, and a command's name is always the command
    (``lumiboard demo``; a directory named so is ``lumiboard ./demo`` or ``--logdir demo``).
    Any other first word is the log directory (``lumiboard logs`` is ``lumiboard --logdir
    logs``), unless it does not exist, does not look like a path and resembles a command
    (``lumiboard sumary``: a usage error naming ``summary``). ``lumiboard --help`` (or
    ``help``) and ``--version`` alone are the top-level parser's.
    """
    parser = build_parser()
    arguments = list(argv)
    if arguments[:1] == ["help"] and not os.path.exists("help"):
        arguments[0] = "--help"  # `lumiboard help`, as git and pip take it
    first = arguments[0] if arguments else None
    if first is None or (first not in COMMANDS and first not in _TOP_LEVEL):
        if first is not None and not first.startswith("-"):
            _refuse_mistyped_command(parser, first)
        arguments.insert(0, "serve")
    args, extras = parser.parse_known_args(arguments)
    command = _subparser(parser, args.command)
    if extras and args.command in cli_scripts.COMMANDS:  # `export LOGDIR --format F DEST`
        extras = cli_scripts.claim_extras(args, extras)
    if extras:
        command.error(_unknown(extras, command))
    bare = getattr(args, "bare_logdir", None)
    if bare is not None:
        if args.logdir is not None or args.logdir_spec is not None:
            command.error(f"the log directory is given twice: {bare} and --logdir (give one)")
        args.logdir = bare
    return args


def _subparser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            found: argparse.ArgumentParser = action.choices[command]
            return found
    return parser


def _unknown(extras: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """The message of arguments no flag took: a flag's likely meaning, a second path's form."""
    flags = [extra for extra in extras if extra.startswith("-") and extra != "-"]
    if not flags:
        return (
            f"unexpected argument {extras[0]!r}: one log directory per command "
            f"(several: --logdir a,b or lumiboard a,b)"
        )
    flag = flags[0].split("=", 1)[0]
    guess = _closest(flag, parser._option_string_actions)
    message = f"unknown flag {flag}" + (f"; did you mean {guess}?" if guess else "")
    return message + "".join(f" (also unknown: {other})" for other in flags[1:3])


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.7)
    return found[0] if found else None


def _looks_like_path(word: str) -> bool:
    return any(mark in word for mark in ("/", "\\", ":", ",", ".", "~")) or os.path.exists(word)


def _refuse_mistyped_command(parser: argparse.ArgumentParser, word: str) -> None:
    """``lumiboard sumary``: a usage error naming the command, not a missing log directory."""
    if _looks_like_path(word):
        return
    guess = _closest(word, COMMANDS)
    if guess is not None:
        parser.error(
            f"unknown command {word!r}; did you mean {guess}? (to serve a log directory of "
            f"that name that does not exist yet: lumiboard --logdir {word})"
        )
