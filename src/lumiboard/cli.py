"""The ``lumiboard`` command: serve (the default), demo.

``lumiboard --logdir runs`` takes TensorBoard's flags, so existing launch
scripts keep working: flags that do not apply to lumiboard are accepted with a
one-line note, and a truly unknown flag is a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import inspect
import ipaddress
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, TextIO
from urllib.parse import quote

from lumiboard import __version__, cli_mlflow, cli_scripts, snapshot
from lumiboard.cli_parser import COMMANDS, IGNORED_FLAGS, build_parser, parse

__all__ = ["COMMANDS", "IGNORED_FLAGS", "build_parser", "main", "parse"]


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not to the stream of the
    moment ``main`` ran: a replaced stderr (a test's capture, a notebook's) may be closed later,
    and a background thread logging into it then fails on every record."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always the current sys.stderr


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        handlers=[_StderrHandler()],
    )
    notes = [
        f"note: {flag} is ignored ({IGNORED_FLAGS[flag]})"
        for flag in IGNORED_FLAGS
        if getattr(args, flag.lstrip("-"), None) is not None
    ]
    for note in notes:
        print(note, file=sys.stderr)
    if args.command == "demo":
        return _demo(args, notes)
    if args.command == "snapshot":
        return snapshot.run(args)
    if args.command == cli_mlflow.COMMAND:
        return cli_mlflow.run(args)
    if args.command in cli_scripts.COMMANDS:
        return cli_scripts.run(args)
    return _serve(args, notes)


def _logdir(args: argparse.Namespace) -> str:
    if args.logdir and args.logdir_spec:
        raise SystemExit("lumiboard: --logdir and --logdir_spec cannot be combined")
    logdir = args.logdir or args.logdir_spec
    if not logdir:
        raise SystemExit("lumiboard: a log directory is required: lumiboard --logdir PATH")
    return str(logdir)


def _demo(args: argparse.Namespace, notes: list[str]) -> int:
    from lumiboard.demo import DemoDirError, start_live_run, write_demo

    try:
        path = write_demo(args.logdir, steps=args.steps)
    except DemoDirError as error:
        raise SystemExit(f"lumiboard demo: {error}") from None
    print(f"lumiboard {__version__}: demo log directory written to {path.resolve()}")
    if args.no_serve:
        return 0
    live = start_live_run(path)
    try:
        return _serve(args, notes)
    finally:
        live.stop()


def _serve(args: argparse.Namespace, notes: list[str]) -> int:
    # Only what the reloader needs is imported before it starts: the server's modules
    # (uvicorn, starlette, the plugins' routes) are imported while the first pass loads.
    from lumiboard.reader.discover import parse_logdir
    from lumiboard.reader.reload import Reloader, parse_samples
    from lumiboard.server.auth import allowed_hosts

    logdir = _logdir(args)
    prefix = args.path_prefix.rstrip("/")
    if prefix and not prefix.startswith("/"):
        raise SystemExit("lumiboard: --path_prefix must start with '/'")
    try:
        samples = parse_samples(args.samples_per_plugin)
        sources = parse_logdir(logdir)
    except ValueError as error:
        raise SystemExit(f"lumiboard: {error}") from None
    token = _auth_token(args.auth_token)
    host = "::" if args.bind_all else (args.host or "localhost")
    hosts = allowed_hosts(host, args.allowed_hosts.split(","))
    cache_dir, budget = _cache(args)
    sockets = _listen(host, args.port)
    _share_malloc_arena()
    try:
        reloader = Reloader(sources, samples=samples, cache_dir=cache_dir, **budget)
        # The first pass starts now, on its threads (the native scanner releases the GIL),
        # while the server is imported and built: that start-up overlaps the load instead
        # of preceding it. The alert webhook must hear of every pass, the first too: with
        # one, the pass starts once the webhook listens (after the app is built).
        early = not args.alert_webhook
        if early:
            reloader.start(args.reload_interval)
        webhook = None
        previous: _Handler = None
        try:
            server, webhook = _build_server(
                args, notes, reloader, sockets, host=host, prefix=prefix, token=token, hosts=hosts
            )
            if not early:
                reloader.start(args.reload_interval)
            # uvicorn shuts down gracefully on SIGINT and SIGTERM, then raises the signal
            # again; by default SIGTERM would then kill the process before the cache is
            # saved. Treated as Ctrl+C instead, both end here: the reloader stops, the cache
            # is saved, the exit is 0.
            previous = _on_sigterm(_interrupt)
            with contextlib.suppress(KeyboardInterrupt):
                server.run(sockets=sockets)
        finally:
            reloader.stop()  # also when building the server failed: the early pass ends
            if webhook is not None:
                webhook.close()
            _on_sigterm(previous)
    finally:
        for sock in sockets:
            sock.close()
    return 0 if server.started else 1


def _build_server(
    args: argparse.Namespace,
    notes: list[str],
    reloader: Any,
    sockets: list[socket.socket],
    *,
    host: str,
    prefix: str,
    token: str | None,
    hosts: Any,
) -> tuple[Any, Any]:
    """The uvicorn server of ``reloader``'s app, and the alert webhook (None without one);
    the URLs and the install's warnings printed."""
    import uvicorn

    from lumiboard.server import preflight, workers
    from lumiboard.server.app import create_app
    from lumiboard.server.context import ServerOptions

    logdir = _logdir(args)
    options = ServerOptions(
        data_location=logdir,
        window_title=args.window_title,
        reload_interval=args.reload_interval,
        notes=notes,
    )
    app = create_app(reloader, options, auth_token=token, path_prefix=prefix, allowed_hosts=hosts)
    webhook = _alert_webhook(args.alert_webhook, app, reloader, logdir)
    port = int(sockets[0].getsockname()[1])
    if args.port and port != args.port:
        print(f"lumiboard: port {args.port} is in use; serving on {port} instead", file=sys.stderr)
    _print_urls(host, port, prefix, token)
    for warning in preflight.warnings([source.location for source in reloader.sources]):
        print(f"warning: {warning}", file=sys.stderr)
    # log_config=None: uvicorn's default dictConfig would shut down and close every
    # logging handler the process already has (a notebook's, absl's: that closed a captured
    # stderr under pytest once keras was imported); its loggers go through ours instead.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", log_config=None))
    workers.shorten_gil_turns()  # the event loop gets the GIL back sooner
    return server, webhook


def _share_malloc_arena() -> None:
    """Have every thread of the server allocate from one glibc heap (``M_ARENA_MAX`` 1),
    unless ``MALLOC_ARENA_MAX`` says otherwise; call it before the reloader's threads start.

    Each thread that allocates gets a heap of its own by default, and the loading threads'
    freed chunks stay in theirs: 10M points left ~20 MB more resident (~109 MB against ~89
    MB, the same load time). Nearly every allocation is made holding the GIL anyway, so one
    heap's lock costs nothing measurable. Elsewhere than glibc there is nothing to set.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, TypeError):  # not glibc; Windows: no CDLL(None)
        return
    mallopt(_M_ARENA_MAX, 1)


#: glibc's mallopt parameter for the most heaps (malloc.h).
_M_ARENA_MAX = -8


def _cache(args: argparse.Namespace) -> tuple[str | None, dict[str, int]]:
    """The cache directory or URL (None: no cache) and the reloader's ``memory_budget``
    keyword (given only when asked for, so a reloader without it still serves)."""
    cache_dir = None
    if not args.no_cache:
        from lumiboard.store.cache import default_dir

        cache_dir = args.cache_dir or default_dir()
    if args.memory_budget is None:
        return cache_dir, {}
    if not _reloader_takes_budget():
        raise SystemExit(
            "lumiboard: --memory-budget is not supported by this build's reloader "
            "(lumiboard.reader.reload.Reloader takes no memory_budget)"
        )
    if cache_dir is None:
        raise SystemExit(
            "lumiboard: --memory-budget reads the series it drops back from the cache: "
            "leave out --no-cache"
        )
    return cache_dir, {"memory_budget": args.memory_budget}


def _reloader_takes_budget() -> bool:
    """Whether the reloader has ``memory_budget`` (the budget's own change adds it)."""
    from lumiboard.reader.reload import Reloader

    return "memory_budget" in inspect.signature(Reloader.__init__).parameters


def _alert_webhook(url: str | None, app: Any, reloader: Any, logdir: str) -> Any:
    """The health webhook of ``--alert-webhook``, started and told of every reload pass."""
    if not url:
        return None
    from lumiboard.server.webhook import HealthWebhook
    from lumiboard.store.health import index_for

    try:
        webhook = HealthWebhook(url, index_for(app.state.context.provider), source=logdir)
    except ValueError as error:
        raise SystemExit(f"lumiboard: --alert-webhook: {error}") from None
    reloader.add_listener(webhook.after_pass)
    webhook.start()
    return webhook


def _auth_token(value: str | None) -> str | None:
    """The token asked for; an empty one is an error, never "no auth" (an unset variable)."""
    if value is not None and not value.strip():
        raise SystemExit(
            "lumiboard: the auth token (--auth-token or LUMIBOARD_AUTH_TOKEN) is empty: "
            "give one, or leave both out to serve without a token"
        )
    return value


def _print_urls(host: str, port: int, prefix: str, token: str | None) -> None:
    """The URL to open, under the names remote users can use when listening on every interface."""
    from lumiboard.server.auth import EVERY_INTERFACE, is_local_host, normalize_host

    query = f"?token={quote(token, safe='')}" if token else ""
    everywhere = host in EVERY_INTERFACE
    names = (
        [socket.gethostname(), *_machine_addresses(ipv6=host != "0.0.0.0")]
        if everywhere
        else [host]
    )
    urls = [f"http://{_in_url(name)}:{port}{prefix}/{query}" for name in dict.fromkeys(names)]
    print(f"lumiboard {__version__} at {urls[0]} (Press CTRL+C to quit)", flush=True)
    for url in urls[1:]:
        print(f"  also at {url}", flush=True)
    if everywhere or not is_local_host(normalize_host(host)):
        if token is None:
            print(
                f"warning: listening on {'every interface' if everywhere else host} without a "
                f"token: anyone who can reach port {port} of this machine can read these logs; "
                "set LUMIBOARD_AUTH_TOKEN (or --auth-token) to require one",
                file=sys.stderr,
            )
    else:
        print(
            "Serving on localhost only; use --bind_all to expose it to the network", file=sys.stderr
        )


def _in_url(name: str) -> str:
    return f"[{name}]" if ":" in name else name  # an IPv6 address in a URL


def _machine_addresses(ipv6: bool) -> list[str]:
    """This machine's outward addresses: those its routes to the internet leave from.

    A UDP "connect" only picks the route; nothing is sent. No DNS lookup either,
    so a machine with a broken resolver starts as fast.
    """
    found = []
    targets = [(socket.AF_INET, "192.0.2.1")]  # documentation ranges: never answered
    if ipv6:
        targets.append((socket.AF_INET6, "2001:db8::1"))
    for family, target in targets:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((target, 9))
                address = ipaddress.ip_address(str(probe.getsockname()[0]))
        except (OSError, ValueError):
            continue  # no route (or no IPv6): nothing to show
        if not (address.is_loopback or address.is_link_local or address.is_unspecified):
            found.append(str(address))
    return found


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


_Handler = Callable[[int, FrameType | None], Any] | int | None


def _on_sigterm(handler: _Handler) -> _Handler:
    """Install ``handler`` for SIGTERM (main thread only); return the previous one."""
    if threading.current_thread() is not threading.main_thread() or handler is None:
        return None
    return signal.signal(signal.SIGTERM, handler)


def _listen(host: str, wanted: int) -> list[socket.socket]:
    """Sockets listening on ``wanted``, or on the next free port of the 99 after it
    (TensorBoard's rule); 0 takes any free port.

    Bound here and handed to the server, not probed and bound again: the port
    printed is the port served, with no race in between. SO_REUSEADDR, as
    servers set it, lets a restart take its port back while the old
    connections close (TIME_WAIT); a port another server listens on stays taken.
    """
    ports = range(wanted, min(wanted + 100, 65536)) if wanted else [0] * 8
    for port in ports:
        try:
            return _bind(host, port)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise SystemExit(
                    f"lumiboard: cannot listen on {host} port {port}: {error}"
                ) from None
    raise SystemExit("lumiboard: no free port" + (f" in {wanted}..{ports[-1]}" if wanted else ""))


def _bind(host: str, port: int) -> list[socket.socket]:
    """A listening socket per address of ``host``, all on one port (for 0: the first's).

    ``::`` (every interface) is one dual-stack socket, IPv4 included, as TensorBoard's
    --bind_all (asyncio would make it IPv6-only); without IPv6, ``0.0.0.0``.
    """
    addresses: list[tuple[socket.AddressFamily, tuple[Any, ...]]]
    if host == "::":
        addresses = [(socket.AF_INET6, ("::", 0))] if socket.has_dualstack_ipv6() else []
        addresses = addresses or [(socket.AF_INET, ("0.0.0.0", 0))]
    else:
        try:
            infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except socket.gaierror as error:
            raise SystemExit(f"lumiboard: cannot resolve --host {host}: {error}") from None
        addresses = list(dict.fromkeys((family, sockaddr) for family, _, _, _, sockaddr in infos))
    sockets: list[socket.socket] = []
    try:
        for family, sockaddr in addresses:
            try:
                # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on the connections of a
                # listening socket only when its proto says TCP; without it, each small
                # answer waited 40 ms for the client's delayed ACK (Nagle).
                sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            except OSError as error:
                if error.errno == errno.EAFNOSUPPORT and len(addresses) > 1:
                    continue  # e.g. localhost's ::1 on a machine without IPv6
                raise
            sockets.append(sock)
            if os.name == "posix":  # elsewhere it would let another socket share a taken port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, sockaddr[0] != "::")
            try:
                sock.bind((sockaddr[0], port, *sockaddr[2:]))
            except OSError as error:
                if error.errno == errno.EADDRNOTAVAIL and len(addresses) > 1:
                    sockets.pop().close()  # that family is off here (as asyncio skips it)
                    continue
                raise
            sock.listen(2048)  # now: from here on, a rival's bind fails (uvicorn listens again)
            port = int(sock.getsockname()[1])
        if not sockets:
            raise OSError(errno.EADDRNOTAVAIL, f"no address of {host} can be bound")
        return sockets
    except BaseException:
        for sock in sockets:
            sock.close()
        raise


if __name__ == "__main__":
    sys.exit(main())
