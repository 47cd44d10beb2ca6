"""The HTTP server answers in TensorBoard's shapes, checked against the real TensorBoard app.

One module-scoped log directory is written with lumiboard's SummaryWriter, its TF2-style API and
torch's SummaryWriter; lumiboard's app (Starlette ``TestClient``) and TensorBoard's WSGI app
(``werkzeug.test.Client``, the Python loader) serve it, and the same requests are compared.
Every series holds fewer than 1,000 points, so TensorBoard's reservoir keeps all of them.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from route_support import get_json, strict_json, tensorboard_client
from starlette.testclient import TestClient
from torch.utils import tensorboard as torch_tb

from lumiboard import SummaryWriter, summary
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app
from lumiboard.server.context import ServerOptions
from lumiboard.store.downsample import reduce_series
from lumiboard.store.provider import Provider

SCALARS = "/data/plugin/scalars"
#: Points in the long series (the /series route reduces it; TensorBoard would sample it).
LONG = 5_000
#: A tag description: TensorBoard and lumiboard render it from markdown to sanitized HTML.
DESCRIPTION = "**Bold**, `code` & *emphasis*\n\n* a list\n* of two"
#: Raw HTML in a description: TensorBoard's bleach escapes it, lumiboard's nh3 removes it.
HOSTILE_DESCRIPTION = "<script>alert(1)</script><b onclick='x()'>hi</b>"


def _write_logdir(root: Path) -> None:
    """Runs with distinct start times, odd names, NaN/Inf, float32 and float64 values."""
    with SummaryWriter(str(root / "lumi_b")) as writer:
        for step in range(50):
            wall = 1_000.0 + step
            writer.add_scalar("loss", 1 / (step + 1), step, walltime=wall)
            special = [0.1, math.nan, math.inf, -math.inf][step % 4]
            writer.add_scalar("train/acc", special, step, walltime=wall)
            writer.add_scalar(
                "f64", 0.1 * step, step, walltime=wall, new_style=True, double_precision=True
            )
            writer.add_scalar("f32", 0.1 * step, step, walltime=wall, new_style=True)
        writer.add_scalars("multi", {"x": 1.0, "y": 2.0}, 3, walltime=999.0)
        writer.add_text("note", "hello", 0, walltime=998.0)
    with SummaryWriter(str(root / "lumi_a")) as writer:
        for step in range(0, 900, 3):
            writer.add_scalar("loss", math.sin(step) * 1e6, step, walltime=1_000.5 + step)
    with SummaryWriter(str(root / "text_only")) as writer:
        writer.add_text("note", "no scalars here", 0, walltime=5.0)
    with SummaryWriter(str(root)) as writer:  # the run "."
        writer.add_scalar("root", 1.0, 0, walltime=2_000.0)
    tf2 = summary.create_file_writer(str(root / "tf2" / "nested"))
    with tf2.as_default(step=0):
        for step in range(10):
            summary.scalar("plain", step * 1.5, step=step)
            summary.scalar("described", step, step=step, description=DESCRIPTION)
            summary.scalar("hostile", step, step=step, description=HOSTILE_DESCRIPTION)
    tf2.close()
    writer = torch_tb.SummaryWriter(str(root / "torch run ü"))
    for step in range(20):
        writer.add_scalar("loss/train", 2.0**-step, step)
        writer.add_scalar("loss/weird tag ü", step, step)
    writer.close()


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("logs")
    _write_logdir(root)
    return root


@pytest.fixture(scope="module")
def reloader(logdir: Path) -> Reloader:
    loaded = Reloader(str(logdir))
    loaded.reload()
    return loaded


@pytest.fixture(scope="module")
def client(reloader: Reloader, logdir: Path) -> Iterator[TestClient]:
    app = create_app(reloader, ServerOptions(data_location=str(logdir), window_title="w"))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def tensorboard(logdir: Path) -> Any:
    """TensorBoard's own WSGI app over the same log directory, loaded once, synchronously."""
    return tensorboard_client(logdir)


def _scalar_series(tensorboard: Any) -> list[tuple[str, str]]:
    tags = get_json(tensorboard, f"{SCALARS}/tags")
    return [(run, tag) for run, by_tag in tags.items() for tag in by_tag]


# ---- TensorBoard's core routes and scalars routes, side by side ---------------------------


def test_runs_in_tensorboard_order(client: TestClient, tensorboard: Any) -> None:
    ours = client.get("/data/runs").json()
    assert ours == get_json(tensorboard, "/data/runs")
    # By first event time (a writer's first event is written when it opens), then name.
    assert ours.index("lumi_b") < ours.index("lumi_a") < ours.index("text_only")
    assert {".", "tf2/nested", "torch run ü"} <= set(ours)


def test_scalar_tags_as_tensorboard(client: TestClient, tensorboard: Any) -> None:
    ours = client.get(f"{SCALARS}/tags").json()
    theirs = get_json(tensorboard, f"{SCALARS}/tags")
    assert set(ours) == set(theirs)
    assert "text_only" not in ours
    for run, tags in theirs.items():
        assert set(ours[run]) == set(tags), run
        for tag, info in tags.items():
            assert set(ours[run][tag]) == {"displayName", "description"}
            if tag == "described":
                assert ours[run][tag]["description"] == info["description"]
                assert "<strong>Bold</strong>" in info["description"]
            elif tag == "hostile":
                # Tags off the allowlist are shown as escaped text, as TensorBoard shows them.
                html = ours[run][tag]["description"]
                assert html == info["description"]
                assert "&lt;script&gt;" in html
                assert "<script" not in html
                assert "<b " not in html
            else:
                assert ours[run][tag]["description"] == info["description"] == ""
            # Tensor-native summaries written without a display name: TensorBoard sends "",
            # lumiboard the tag (documented in docs/HTTP_API.md).
            assert ours[run][tag]["displayName"] in (info["displayName"], tag)
            if info["displayName"]:
                assert ours[run][tag]["displayName"] == info["displayName"]


def test_scalars_json_equals_tensorboard(client: TestClient, tensorboard: Any) -> None:
    series = _scalar_series(tensorboard)
    assert len(series) >= 10
    for run, tag in series:
        query = urlencode({"run": run, "tag": tag})
        response = client.get(f"{SCALARS}/scalars?{query}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        ours = strict_json(response.text)
        theirs = get_json(tensorboard, f"{SCALARS}/scalars?{query}")
        assert ours == theirs, (run, tag)
        assert len(ours) < 1_000


def test_non_finite_values_as_tensorboard_writes_them(client: TestClient) -> None:
    query = urlencode({"run": "lumi_b", "tag": "train/acc"})
    points = strict_json(client.get(f"{SCALARS}/scalars?{query}").text)
    assert [value for _, _, value in points[:4]] == [
        pytest.approx(0.1),
        "NaN",
        "Infinity",
        "-Infinity",
    ]
    assert all(isinstance(step, int) for _, step, _ in points)


def test_scalars_csv_equals_tensorboard(client: TestClient, tensorboard: Any) -> None:
    for run, tag in _scalar_series(tensorboard):
        query = urlencode({"run": run, "tag": tag, "format": "csv"})
        response = client.get(f"{SCALARS}/scalars?{query}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        theirs = tensorboard.get(f"{SCALARS}/scalars?{query}").get_data(as_text=True)
        assert response.text == theirs, (run, tag)
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == ["Wall time", "Step", "Value"]
        json_query = urlencode({"run": run, "tag": tag})
        assert len(rows) - 1 == len(client.get(f"{SCALARS}/scalars?{json_query}").json())


def test_csv_download_name_survives_any_run_name(client: TestClient) -> None:
    query = urlencode({"run": "torch run ü", "tag": "loss/weird tag ü", "format": "csv"})
    disposition = client.get(f"{SCALARS}/scalars?{query}").headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert "filename*=UTF-8''torch%20run%20%C3%BC_loss_weird%20tag%20%C3%BC.csv" in disposition


def test_scalars_multirun_equals_tensorboard(client: TestClient, tensorboard: Any) -> None:
    form = {"tag": "loss", "runs": ["lumi_a", "lumi_b", "no such run", "text_only"]}
    ours = client.post(f"{SCALARS}/scalars_multirun", data=form)
    assert ours.status_code == 200
    theirs = tensorboard.post(f"{SCALARS}/scalars_multirun", data=form)
    assert theirs.status_code == 200
    expected = json.loads(theirs.get_data(as_text=True))
    assert strict_json(ours.text) == expected
    assert set(expected) == {"lumi_a", "lumi_b"}


def test_scalars_multirun_needs_a_tag(client: TestClient) -> None:
    response = client.post(f"{SCALARS}/scalars_multirun", data={"runs": ["lumi_a"]})
    assert response.status_code == 400
    assert "tag" in response.json()["error"]


def test_environment_has_tensorboards_keys(client: TestClient, tensorboard: Any, logdir: Path):  # type: ignore[no-untyped-def]
    ours = client.get("/data/environment").json()
    theirs = get_json(tensorboard, "/data/environment")
    assert set(theirs) - {"debug"} <= set(ours)
    assert ours["data_location"] == str(logdir) == theirs["data_location"]
    assert ours["window_title"] == "w"
    assert isinstance(ours["version"], str)
    assert isinstance(ours["creation_time"], int | float)


def test_environment_defaults_to_the_reloaders_logdir(reloader: Reloader, logdir: Path) -> None:
    with TestClient(create_app(reloader)) as bare:
        assert bare.get("/data/environment").json()["data_location"] == str(logdir)


def test_legacy_logdir_and_window_properties(client: TestClient, logdir: Path) -> None:
    assert client.get("/data/logdir").json() == {"logdir": str(logdir)}
    assert client.get("/data/window_properties").json() == {"window_title": "w"}


def test_plugins_listing_shape(client: TestClient, tensorboard: Any) -> None:
    ours = client.get("/data/plugins_listing").json()
    theirs = get_json(tensorboard, "/data/plugins_listing")
    assert ours["scalars"]["enabled"] is True
    for name, entry in ours.items():
        # TensorBoard has no "profile" entry (it lists "profile_redirect"): same keys as others.
        assert set(entry) == set(theirs.get(name, theirs["scalars"])), name
        assert isinstance(entry["tab_name"], str)
        assert entry["loading_mechanism"]["type"] in {
            "NG_COMPONENT",
            "CUSTOM_ELEMENT",
            "IFRAME",
            "NONE",
        }


def test_status_reports_progress(client: TestClient) -> None:
    status = client.get("/data/status").json()
    assert status["loading"] is False
    assert status["runs_total"] == status["runs_done"] == len(client.get("/data/runs").json())
    assert status["bytes_done"] == status["bytes_total"] > 0
    assert status["passes"] == 1
    assert status["last_reload_seconds"] >= 0
    assert isinstance(status["native_scanner"], bool)
    assert status["skipped"] == {}
    assert status["notes"] == []


# ---- the series route ------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("long")
    rng = np.random.default_rng(0)
    values = rng.normal(size=LONG)
    values[1234] = 100.0  # a spike a random sample would likely miss
    values[777] = math.nan
    with SummaryWriter(str(root / "long")) as writer:
        for step, value in enumerate(values.tolist()):
            writer.add_scalar("loss", value, step * 2, walltime=10_000.0 + step)
    with SummaryWriter(str(root / "short")) as writer:
        for step in range(5):
            writer.add_scalar("loss", float(step), step)
    with SummaryWriter(str(root / "other")) as writer:
        writer.add_scalar("accuracy", 1.0, 0)
    loaded = Reloader(str(root))
    loaded.reload()
    with TestClient(create_app(loaded)) as test_client:
        yield test_client


def _decode(column: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(column), dtype="<f8")


def _series(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post(f"{SCALARS}/series", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _expected(client: TestClient, run: str, tag: str, buckets: int, **kwargs: Any) -> Any:
    points = np.array(
        client.get(f"{SCALARS}/scalars", params={"run": run, "tag": tag}).json(), dtype=object
    )
    values = np.array([math.nan if v == "NaN" else float(v) for v in points[:, 2]])
    return reduce_series(
        points[:, 1].astype(np.int64), points[:, 0].astype(np.float64), values, buckets, **kwargs
    )


def test_series_columns_decode_to_the_reduced_points(long_client: TestClient) -> None:
    result = _series(long_client, tag="loss", runs=["long", "short", "other", "nope"], buckets=50)
    assert result["tag"] == "loss"
    assert set(result["runs"]) == {"long", "short"}  # runs without the tag are left out
    long = result["runs"]["long"]
    assert long["total"] == LONG
    step, wall, value = (_decode(long[key]) for key in ("step", "wall_time", "value"))
    assert len(step) == len(wall) == len(value) < LONG // 10
    expected = _expected(long_client, "long", "loss", 50)
    np.testing.assert_array_equal(step, expected.step)
    np.testing.assert_array_equal(wall, expected.wall_time)
    np.testing.assert_array_equal(value, expected.value)  # NaN positions equal too
    assert np.nanmax(value) == 100.0
    assert np.isnan(value).any()
    short = result["runs"]["short"]
    assert short["total"] == 5
    np.testing.assert_array_equal(_decode(short["value"]), [0.0, 1.0, 2.0, 3.0, 4.0])


def test_series_step_range_refines(long_client: TestClient) -> None:
    whole = _series(long_client, tag="loss", runs=["long"], buckets=50)["runs"]["long"]
    zoom = _series(
        long_client, tag="loss", runs=["long"], buckets=60, min_step=2_000, max_step=2_400
    )["runs"]["long"]
    assert zoom["total"] == 201  # steps 2000, 2002, ..., 2400
    step = _decode(zoom["step"])
    inside = step[(step >= 2_000) & (step <= 2_400)]
    # All 201 points of the range are there (201 <= 4 * 60), plus one neighbour on each side.
    assert len(inside) == 201
    assert list(step[[0, -1]]) == [1_998, 2_402]
    whole_steps = _decode(whole["step"])
    assert len(whole_steps[(whole_steps >= 2_000) & (whole_steps <= 2_400)]) < 201


@pytest.mark.parametrize("x", ["wall_time", "relative"])
def test_series_time_axes(long_client: TestClient, x: str) -> None:
    run = _series(long_client, tag="loss", runs=["long"], buckets=20, x=x)["runs"]["long"]
    expected = _expected(long_client, "long", "loss", 20, x=x)
    np.testing.assert_array_equal(_decode(run["wall_time"]), expected.wall_time)
    assert np.all(np.diff(_decode(run["wall_time"])) >= 0)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"\xff\xfe",
        b"[]",
        b'"loss"',
        b'{"runs": ["long"]}',
        b'{"tag": 1}',
        b'{"tag": "loss", "runs": "long"}',
        b'{"tag": "loss", "runs": [1]}',
        b'{"tag": "loss", "buckets": 0}',
        b'{"tag": "loss", "buckets": 1000000}',
        b'{"tag": "loss", "buckets": true}',
        b'{"tag": "loss", "buckets": 1.5}',
        b'{"tag": "loss", "min_step": "1"}',
        b'{"tag": "loss", "runs": ["long"], "min_step": 5, "max_step": 1}',
        b'{"tag": "loss", "x": "epoch"}',
    ],
)
def test_series_bad_bodies_are_400(long_client: TestClient, body: bytes) -> None:
    response = long_client.post(f"{SCALARS}/series", content=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]


def test_series_bounds_beyond_int64(long_client: TestClient) -> None:
    body = b'{"tag": "loss", "runs": ["short"], "min_step": 0, "max_step": 18446744073709551615}'
    response = long_client.post(f"{SCALARS}/series", content=body)
    assert response.status_code == 200
    assert response.json()["runs"]["short"]["total"] == 5


def test_series_needs_post(long_client: TestClient) -> None:
    assert long_client.get(f"{SCALARS}/series").status_code == 405


# ---- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"run": "nope", "tag": "loss"}, "nope"),
        ({"run": "lumi_a", "tag": "nope"}, "nope"),
        ({"run": "text_only", "tag": "note"}, "note"),
    ],
)
def test_missing_run_or_tag_is_404_naming_it(
    client: TestClient, params: dict[str, str], named: str
) -> None:
    response = client.get(f"{SCALARS}/scalars", params=params)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert named in response.json()["error"]


@pytest.mark.parametrize(
    ("params", "missing"), [({"tag": "loss"}, "run"), ({"run": "lumi_a"}, "tag"), ({}, "run")]
)
def test_missing_parameter_is_400(client: TestClient, params: dict[str, str], missing: str) -> None:
    response = client.get(f"{SCALARS}/scalars", params=params)
    assert response.status_code == 400
    assert missing in response.json()["error"]


def test_bad_format_is_400(client: TestClient) -> None:
    response = client.get(
        f"{SCALARS}/scalars", params={"run": "lumi_a", "tag": "loss", "format": "xml"}
    )
    assert response.status_code == 400
    assert "format" in response.json()["error"]


def test_unknown_route_is_json_404(client: TestClient) -> None:
    response = client.get("/data/no_such_route")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}
    assert client.post("/data/runs").status_code == 405


def test_exception_in_a_route_is_a_bare_500(
    reloader: Reloader, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(self: Provider, run: str, tag: str) -> None:
        raise RuntimeError("secret detail /home/user/.ssh")

    monkeypatch.setattr(Provider, "read_scalars", explode)
    with TestClient(create_app(reloader), raise_server_exceptions=False) as failing:
        response = failing.get(f"{SCALARS}/scalars", params={"run": "lumi_a", "tag": "loss"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error"}
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "secret detail" in caplog.text  # the traceback goes to the server's log


@pytest.mark.parametrize(
    "path",
    [
        "/data/runs",
        f"{SCALARS}/tags",
        f"{SCALARS}/scalars?run=lumi_a&tag=loss",
        f"{SCALARS}/scalars?run=lumi_a&tag=loss&format=csv",
        f"{SCALARS}/scalars?run=nope&tag=loss",
        f"{SCALARS}/scalars?run=lumi_a",
        "/data/no_such_route",
        "/",
    ],
)
def test_nosniff_everywhere(client: TestClient, path: str) -> None:
    assert client.get(path).headers["x-content-type-options"] == "nosniff"


# ---- auth token --------------------------------------------------------------------------


@pytest.fixture
def token_app(reloader: Reloader) -> Any:
    return create_app(reloader, auth_token="s3cret-tøken")


def test_token_required(token_app: Any) -> None:
    with TestClient(token_app) as anonymous:
        for path in ("/data/runs", f"{SCALARS}/tags", "/", "/data/nope"):
            response = anonymous.get(path)
            assert response.status_code == 401, path
            assert "token" in response.json()["error"]
            assert response.headers["x-content-type-options"] == "nosniff"
        assert anonymous.get("/data/runs", params={"token": "wrong"}).status_code == 401
        assert anonymous.get("/data/runs", params={"token": "ü"}).status_code == 401
        assert (
            anonymous.get("/data/runs", headers={"Authorization": "Bearer wrong"}).status_code
            == 401
        )
        assert anonymous.post(f"{SCALARS}/series", json={"tag": "loss"}).status_code == 401


def test_token_in_query_sets_a_cookie_that_then_suffices(token_app: Any) -> None:
    with TestClient(token_app) as browser:
        first = browser.get("/data/runs", params={"token": "s3cret-tøken"})
        assert first.status_code == 200
        assert first.headers["set-cookie"].startswith("lumiboard_token_")  # + the token's hash
        assert "HttpOnly" in first.headers["set-cookie"]
        assert browser.get("/data/runs").status_code == 200  # the cookie alone
        assert browser.get(f"{SCALARS}/tags").status_code == 200


def test_token_as_bearer_header(token_app: Any) -> None:
    with TestClient(token_app) as script:
        header = {b"Authorization": "Bearer s3cret-tøken".encode()}
        response = script.get("/data/runs", headers=header)
        assert response.status_code == 200
        assert "set-cookie" not in response.headers


# ---- path prefix -------------------------------------------------------------------------


def test_path_prefix(reloader: Reloader) -> None:
    with TestClient(create_app(reloader, path_prefix="/tb/"), follow_redirects=False) as proxied:
        assert proxied.get("/tb/data/runs").json() == Provider(reloader.runs).list_runs()
        assert proxied.get(f"/tb{SCALARS}/scalars?run=lumi_a&tag=loss").status_code == 200
        assert proxied.post(f"/tb{SCALARS}/series", json={"tag": "loss"}).status_code == 200
        redirect = proxied.get("/tb")
        assert redirect.status_code in (301, 302, 307, 308)
        assert redirect.headers["location"] == "/tb/"
        root = proxied.get("/")
        assert root.headers["location"] == "/tb/"
        outside = proxied.get("/data/runs")
        assert outside.status_code == 404
        assert outside.json() == {"error": "Not Found"}
        assert outside.headers["x-content-type-options"] == "nosniff"
        assert proxied.get("/tbx/data/runs").status_code == 404


def test_path_prefix_with_token_keeps_the_query(reloader: Reloader) -> None:
    app = create_app(reloader, auth_token="t", path_prefix="/tb")
    with TestClient(app, follow_redirects=False) as proxied:
        redirect = proxied.get("/tb", params={"token": "t"})
        assert redirect.headers["location"] == "/tb/?token=t"
        assert proxied.get("/tb/data/runs").status_code == 200  # the cookie set on redirect


# ---- hostile inputs -------------------------------------------------------------------------


HOSTILE = [
    "../../../../etc/passwd",
    "..\\..\\windows",
    "lumi_a/../lumi_b",
    "ü日本語😀",
    "\x00",
    "%00",
    "a" * 15_000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\r\nSet-Cookie: x=y",
    "",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_query_values_never_500(client: TestClient, value: str) -> None:
    for params in (
        {"run": value, "tag": "loss"},
        {"run": "lumi_a", "tag": value},
        {"run": value, "tag": value, "format": "csv"},
        {"run": "lumi_a", "tag": "loss", "format": value},
    ):
        response = client.get(f"{SCALARS}/scalars", params=params)
        assert response.status_code in (200, 400, 404), (params, response.text[:200])
        assert response.headers["content-type"].split(";")[0] in ("application/json", "text/csv")
    multirun = client.post(f"{SCALARS}/scalars_multirun", data={"tag": value, "runs": [value]})
    assert multirun.status_code == 200
    assert multirun.json() == {}
    series = client.post(f"{SCALARS}/series", json={"tag": value, "runs": [value, "lumi_a"]})
    assert series.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/data/plugin/%00/x",
        "/data/plugin/scalars/..%2F..%2Fetc%2Fpasswd",
        "/assets/../../etc/passwd",
        "/assets/%2e%2e/%2e%2e/etc/passwd",
        "/data/plugin/" + "x" * 10_000,
        "/data/plugin/scalars/scalars?run=%ff%fe&tag=%c0%af",
        "/data/plugin/scalars/scalars?run=a&run=b&tag=%00",
        "/%F0%9F%98%80",
    ],
)
def test_hostile_paths_never_500(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (200, 400, 404, 503)
    assert "root:" not in response.text


def test_malformed_forms_are_not_500(client: TestClient) -> None:
    broken = client.post(
        f"{SCALARS}/scalars_multirun",
        content=b"--x\r\nnot a part",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert broken.status_code == 400
    uploaded = client.post(
        f"{SCALARS}/scalars_multirun",
        data={"tag": "loss"},
        files={"runs": ("lumi_a", b"lumi_a")},
    )
    assert uploaded.status_code == 200
    assert uploaded.json() == {}


# ---- live data ---------------------------------------------------------------------------


def test_new_points_are_served_after_a_reload(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path / "live"))
    writer.add_scalar("loss", 1.0, 0)
    writer.flush()
    loaded = Reloader(str(tmp_path))
    loaded.reload()
    with TestClient(create_app(loaded)) as live:
        params = {"run": "live", "tag": "loss"}
        assert len(live.get(f"{SCALARS}/scalars", params=params).json()) == 1
        for step in range(1, 4):
            writer.add_scalar("loss", 1.0 / step, step)
        writer.add_scalar("new_tag", 5.0, 0)
        writer.flush()
        loaded.reload()
        assert [p[1] for p in live.get(f"{SCALARS}/scalars", params=params).json()] == [0, 1, 2, 3]
        assert set(live.get(f"{SCALARS}/tags").json()["live"]) == {"loss", "new_tag"}
        assert live.get("/data/status").json()["passes"] == 2
    writer.close()


def test_download_all_runs_of_a_tag(tmp_path: Path) -> None:
    import csv
    import io
    import json

    from starlette.testclient import TestClient

    from lumiboard.reader.reload import Reloader
    from lumiboard.server.app import create_app
    from lumiboard.writer.summary_writer import SummaryWriter

    for run, offset in (("a,b", 0.0), ("c", 10.0)):
        with SummaryWriter(tmp_path / run) as writer:
            for step in range(1500):
                writer.add_scalar("loss", offset + step, step)
            writer.add_scalar("other", 1.0, 0)
    reloader = Reloader(str(tmp_path))
    reloader.reload()
    client = TestClient(create_app(reloader))
    response = client.get("/data/plugin/scalars/download", params={"tag": "loss"})
    assert response.status_code == 200
    assert "loss_all_runs.csv" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["run", "step", "wall_time", "value"]
    assert len(rows) == 1 + 2 * 1500
    assert {row[0] for row in rows[1:]} == {"a,b", "c"}
    assert [float(r[3]) for r in rows[1:] if r[0] == "c"] == [10.0 + s for s in range(1500)]
    only = client.get(
        "/data/plugin/scalars/download", params={"tag": "loss", "runs": ["c"], "format": "json"}
    )
    data = json.loads(only.text)
    assert list(data) == ["c"]
    assert [point[1] for point in data["c"]] == list(range(1500))
    assert client.get("/data/plugin/scalars/download", params={"tag": "nope"}).status_code == 404
    assert (
        client.get(
            "/data/plugin/scalars/download", params={"tag": "loss", "format": "xml"}
        ).status_code
        == 400
    )
