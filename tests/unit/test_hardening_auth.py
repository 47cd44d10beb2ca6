"""Issue 11, items 9 and 11: auth hygiene (the token leaves the URL, the cookie's path and
name, an empty token, the address printed, the Host check against DNS rebinding) and port
reuse (a port whose old connections are closing is taken again, a port in use is not)."""

from __future__ import annotations

import errno
import json
import socket
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from starlette.testclient import TestClient

from lumiboard import SummaryWriter, cli
from lumiboard.reader.reload import Reloader
from lumiboard.server import auth
from lumiboard.server.app import create_app

TOKEN = "s3cret-tøken"
#: What a browser sends when it opens a URL as a page; scripts send neither.
NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture(scope="module")
def reloader(tmp_path_factory: pytest.TempPathFactory) -> Reloader:
    logdir = tmp_path_factory.mktemp("logs")
    with SummaryWriter(str(logdir / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    loaded = Reloader(str(logdir))
    loaded.reload()
    return loaded


def _cookie_header(response: Any) -> str:
    values = response.headers.get_list("set-cookie")
    assert len(values) == 1, values
    return str(values[0])


def _attributes(set_cookie: str) -> dict[str, str]:
    return {
        key.strip().lower(): value
        for key, _, value in (part.partition("=") for part in set_cookie.split(";")[1:])
    }


# ---- the token leaves the URL ----------------------------------------------------------------


@pytest.mark.parametrize(
    "headers", [NAVIGATE, {"Accept": "text/html,*/*;q=0.8"}], ids=["sec-fetch", "accept"]
)
def test_a_page_opened_with_the_token_redirects_to_the_url_without_it(
    reloader: Reloader, headers: dict[str, str]
) -> None:
    app = create_app(reloader, auth_token=TOKEN)
    with TestClient(app, follow_redirects=False) as browser:
        first = browser.get(
            "/data/runs?tab=images&token=s3cret-t%C3%B8ken&runs=a%20b", headers=headers
        )
        assert first.status_code == 303
        location = first.headers["location"]
        assert "token" not in location
        # The other parameters are kept, as sent, in order.
        assert urljoin("http://testserver/data/runs", location) == (
            "http://testserver/data/runs?tab=images&runs=a%20b"
        )
        assert first.headers["cache-control"] == "no-store"
        assert "lumiboard_token" in _cookie_header(first)
        # The clean URL works with the cookie alone.
        again = browser.get(location.replace("./", "/data/", 1), headers=headers)
        assert again.status_code == 200
        assert again.json() == ["run"]


def test_the_redirect_is_relative_so_a_prefix_stripping_proxy_keeps_its_path(
    reloader: Reloader,
) -> None:
    with TestClient(create_app(reloader, auth_token=TOKEN), follow_redirects=False) as browser:
        page = browser.get("/", params={"token": TOKEN}, headers=NAVIGATE)
        assert page.status_code == 303
        assert page.headers["location"] == "./"
        # Seen by the browser at /user/me/proxy/6006/ while the server sees "/".
        assert urljoin("https://hub/user/me/proxy/6006/?token=x", "./") == (
            "https://hub/user/me/proxy/6006/"
        )
        named = browser.get("/data/a:b", params={"token": TOKEN, "x": "1"}, headers=NAVIGATE)
        assert named.headers["location"] == "./a:b?x=1"  # "./": "a:" is no scheme


def test_a_stale_token_in_the_url_is_removed_when_the_cookie_is_good(reloader: Reloader) -> None:
    with TestClient(create_app(reloader, auth_token=TOKEN), follow_redirects=False) as browser:
        assert browser.get("/data/runs", params={"token": TOKEN}).status_code == 200  # cookie
        stale = browser.get("/data/runs", params={"token": "old", "x": "1"}, headers=NAVIGATE)
        assert stale.status_code == 303
        assert stale.headers["location"] == "./runs?x=1"
        assert "set-cookie" not in stale.headers  # the good cookie stays as it is


def test_scripts_with_the_token_in_the_query_still_get_the_answer(reloader: Reloader) -> None:
    with TestClient(create_app(reloader, auth_token=TOKEN), follow_redirects=False) as script:
        response = script.get("/data/runs", params={"token": TOKEN})  # Accept: */*
        assert response.status_code == 200
        assert response.json() == ["run"]
        post = script.post(
            "/data/plugin/scalars/series",
            params={"token": TOKEN},
            json={"tag": "loss"},
            headers=NAVIGATE,  # a POST is never redirected: its body would be lost
        )
        assert post.status_code == 200


def test_a_wrong_token_in_a_page_url_is_still_401(reloader: Reloader) -> None:
    with TestClient(create_app(reloader, auth_token=TOKEN), follow_redirects=False) as browser:
        response = browser.get("/", params={"token": "wrong"}, headers=NAVIGATE)
        assert response.status_code == 401
        assert "set-cookie" not in response.headers


# ---- the cookie ----------------------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "path"), [("", "/"), ("/tb", "/tb"), ("/a/tb/", "/a/tb")])
def test_the_cookie_path_is_the_path_prefix(reloader: Reloader, prefix: str, path: str) -> None:
    app = create_app(reloader, auth_token=TOKEN, path_prefix=prefix)
    with TestClient(app, follow_redirects=False) as browser:
        response = browser.get(f"{path.rstrip('/')}/data/runs", params={"token": TOKEN})
        assert response.status_code == 200
        attributes = _attributes(_cookie_header(response))
        assert attributes["path"] == path
        assert "httponly" in attributes
        # Lax: a link opened from another site (a chat) carries it; links carry no token now.
        assert attributes["samesite"] == "Lax"


def test_two_servers_on_one_machine_keep_their_own_cookies(reloader: Reloader) -> None:
    """Cookies ignore ports: one name for both would let the second overwrite the first's."""
    first_app = create_app(reloader, auth_token="token-of-6006")
    second_app = create_app(reloader, auth_token="token-of-6007")
    jar: SimpleCookie = SimpleCookie()  # one host, one path: the browser keys cookies by name
    with TestClient(first_app) as first, TestClient(second_app) as second:
        jar.load(_cookie_header(first.get("/data/runs", params={"token": "token-of-6006"})))
        jar.load(_cookie_header(second.get("/data/runs", params={"token": "token-of-6007"})))
        cookie = "; ".join(f"{name}={morsel.coded_value}" for name, morsel in jar.items())
        assert first.get("/data/runs", headers={"Cookie": cookie}).status_code == 200
        assert second.get("/data/runs", headers={"Cookie": cookie}).status_code == 200
    assert auth.cookie_name("a") != auth.cookie_name("b")


# ---- an empty token ------------------------------------------------------------------------


def test_an_empty_token_is_an_error_not_auth_off(reloader: Reloader) -> None:
    with pytest.raises(ValueError, match="empty"):
        create_app(reloader, auth_token="")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """``cli.main`` runs up to the server and returns: the server only records its app."""
    import uvicorn

    apps: list[Any] = []

    def fake_run(server: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        apps.append(server.config.app)
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    monkeypatch.delenv("LUMIBOARD_AUTH_TOKEN", raising=False)
    return apps


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    with SummaryWriter(str(tmp_path / "logs" / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    return tmp_path / "logs"


def _main(logdir: Path, *flags: str) -> int:
    return cli.main(["--logdir", str(logdir), "--no-cache", "--port", "0", *flags])


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_auth_token_flag_is_an_error(served: list[Any], logdir: Path, value: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _main(logdir, "--auth-token", value)
    assert "empty" in str(exit_info.value.code)
    assert not served


def test_an_empty_auth_token_variable_is_an_error(
    served: list[Any], logdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LUMIBOARD_AUTH_TOKEN", "")  # e.g. export LUMIBOARD_AUTH_TOKEN=$UNSET
    with pytest.raises(SystemExit) as exit_info:
        _main(logdir)
    assert "LUMIBOARD_AUTH_TOKEN" in str(exit_info.value.code)
    assert not served


# ---- the address printed -------------------------------------------------------------------


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "lumi-box")
    monkeypatch.setattr(
        cli,
        "_machine_addresses",
        lambda ipv6: ["10.1.2.3", "2001:db8::7"] if ipv6 else ["10.1.2.3"],
    )


@pytest.mark.usefixtures("machine")
@pytest.mark.parametrize("flags", [["--bind_all"], ["--host", "0.0.0.0"], ["--host", "::"]])
def test_listening_everywhere_prints_the_real_address_and_warns_without_a_token(
    served: list[Any], logdir: Path, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    assert _main(logdir, *flags) == 0
    out, err = capsys.readouterr()
    first = out.splitlines()[0]
    assert " at http://lumi-box:" in first
    assert "localhost" not in out
    assert "0.0.0.0" not in out
    assert "[::]" not in out
    assert "  also at http://10.1.2.3:" in out
    assert ("[2001:db8::7]" in out) == (flags[-1] != "0.0.0.0")  # 0.0.0.0 is IPv4 only
    assert "warning:" in err
    assert "token" in err


@pytest.mark.usefixtures("machine")
def test_listening_everywhere_with_a_token_does_not_warn(
    served: list[Any], logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main(logdir, "--bind_all", "--auth-token", "t0k") == 0
    out, err = capsys.readouterr()
    assert " at http://lumi-box:" in out
    assert "?token=t0k " in out
    assert "warning:" not in err


def test_machine_addresses_are_never_loopback() -> None:
    import ipaddress

    for address in cli._machine_addresses(ipv6=True):
        parsed = ipaddress.ip_address(address)
        assert not parsed.is_loopback
        assert not parsed.is_unspecified
        assert not parsed.is_link_local


# ---- the Host check ------------------------------------------------------------------------


LOCAL_HOSTS = [
    "localhost",
    "localhost:6006",
    "LOCALHOST.",
    "127.0.0.1:6006",
    "127.0.0.2",
    "[::1]:6006",
    "[::ffff:127.0.0.1]:6006",
    "app.localhost:6006",
]
FOREIGN_HOSTS = ["evil.example", "evil.example:6006", "localhost.evil.example", "10.0.0.5:6006"]


def _get(app: Any, host: str, path: str = "/data/runs") -> Any:
    with TestClient(app) as client:
        return client.get(path, headers={"Host": host})


@pytest.mark.parametrize("host", LOCAL_HOSTS)
def test_a_loopback_server_answers_local_names(reloader: Reloader, host: str) -> None:
    assert _get(create_app(reloader, allowed_hosts=()), host).status_code == 200


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_a_loopback_server_refuses_other_names(reloader: Reloader, host: str) -> None:
    response = _get(create_app(reloader, allowed_hosts=()), host)
    assert response.status_code == 403
    error = response.json()["error"]
    assert "DNS rebinding" in error
    assert "--allowed-hosts" in error
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_host_check_comes_before_the_token(reloader: Reloader) -> None:
    app = create_app(reloader, auth_token=TOKEN, allowed_hosts=())
    with TestClient(app) as client:
        refused = client.get(
            "/data/runs", params={"token": TOKEN}, headers={"Host": "evil.example"}
        )
        assert refused.status_code == 403
        assert "set-cookie" not in refused.headers


def test_allowed_hosts_add_names_and_domains(reloader: Reloader) -> None:
    app = create_app(reloader, allowed_hosts=("Proxy.Example.com", ".corp.example"))
    for host in ("proxy.example.com:443", "corp.example", "tb.corp.example", "localhost"):
        assert _get(app, host).status_code == 200, host
    for host in ("example.com", "evilcorp.example", "corp.example.evil"):
        assert _get(app, host).status_code == 403, host


def test_without_allowed_hosts_every_name_is_served(reloader: Reloader) -> None:
    assert _get(create_app(reloader), "evil.example").status_code == 200


@pytest.mark.parametrize(
    ("bind", "extra", "expected"),
    [
        ("localhost", [], frozenset()),
        ("127.0.0.1", [], frozenset()),
        ("::1", [""], frozenset()),
        ("localhost", ["tb.example.com:443", ""], frozenset({"tb.example.com"})),
        ("::", [], None),
        ("0.0.0.0", [], None),
        ("localhost", ["*"], None),
        ("192.168.1.5", [], frozenset({"192.168.1.5", "lumi-box"})),
    ],
)
def test_allowed_hosts_follow_the_address_listened_on(
    monkeypatch: pytest.MonkeyPatch, bind: str, extra: list[str], expected: frozenset[str] | None
) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "Lumi-Box")
    assert auth.allowed_hosts(bind, extra) == expected


@pytest.mark.parametrize(
    ("flags", "host", "status"),
    [
        ([], "evil.example", 403),
        ([], "localhost:6006", 200),
        (["--bind_all"], "evil.example", 200),
        (["--host", "0.0.0.0"], "evil.example", 200),
        (["--allowed-hosts", "tb.example.com,.corp.example"], "tb.example.com", 200),
        (["--allowed-hosts", "tb.example.com,.corp.example"], "x.corp.example", 200),
        (["--allowed-hosts", "tb.example.com"], "evil.example", 403),
        (["--allowed_hosts", "*"], "evil.example", 200),
    ],
)
def test_the_command_line_checks_the_host_on_loopback_only(
    served: list[Any], logdir: Path, flags: list[str], host: str, status: int
) -> None:
    assert _main(logdir, *flags) == 0
    assert _get(served[-1], host).status_code == status


# ---- ports ---------------------------------------------------------------------------------


@pytest.fixture
def closing_port() -> int:
    """A port whose listener is gone and whose last connection is in TIME_WAIT on its side.

    The server side closes first, so the TIME_WAIT is on the server's port (as when a
    server that had clients is stopped and started again at once).
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As the old server (uvicorn, asyncio) set it: its connections inherit it, and Linux lets
    # a new socket take the port over their TIME_WAIT only when both sides asked for it.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = int(listener.getsockname()[1])
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server closes first ...
    assert client.recv(1) == b""  # ... the client sees its FIN ...
    client.close()  # ... and answers with its own: the server's side is in TIME_WAIT
    listener.close()
    # The condition holds: a plain bind (no SO_REUSEADDR) is refused.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as plain:
        with pytest.raises(OSError, match="in use") as refused:
            plain.bind(("127.0.0.1", port))
        assert refused.value.errno == errno.EADDRINUSE
    return port


def test_a_port_whose_connections_are_closing_is_taken_again(closing_port: int) -> None:
    sockets = cli._listen("127.0.0.1", closing_port)
    try:
        assert [int(sock.getsockname()[1]) for sock in sockets] == [closing_port]
    finally:
        for sock in sockets:
            sock.close()


def test_a_port_another_server_listens_on_is_skipped() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as rival:
        rival.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers set it
        rival.bind(("127.0.0.1", 0))
        rival.listen()
        taken = int(rival.getsockname()[1])
        sockets = cli._listen("127.0.0.1", taken)
        try:
            port = int(sockets[0].getsockname()[1])
            assert taken < port < taken + 100
        finally:
            for sock in sockets:
                sock.close()


@pytest.mark.skipif(not socket.has_dualstack_ipv6(), reason="no IPv6 on this machine")
def test_listening_everywhere_serves_ipv4_and_ipv6() -> None:
    """``--bind_all`` listens on ``::``, which asyncio alone would make IPv6-only."""
    sockets = cli._listen("::", 0)
    try:
        port = int(sockets[0].getsockname()[1])
        for address in ("127.0.0.1", "::1"):
            with socket.create_connection((address, port), timeout=5):
                pass
    finally:
        for sock in sockets:
            sock.close()


def test_the_403_body_is_json_even_for_a_hostile_host(reloader: Reloader) -> None:
    response = _get(create_app(reloader, allowed_hosts=()), 'x"<script>' + "a" * 500)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/json"
    json.loads(response.content)
    assert "<script>" in response.json()["error"]  # shown as JSON text, never as HTML
    assert len(response.json()["error"]) < 600
