"""The ``/series`` route's binary answer (``Accept: application/vnd.lumiboard.series``) holds
exactly the JSON answer's numbers: decoded here with ``numpy.frombuffer`` by the format's spec
(:mod:`lumiboard.plugins.scalars.series_binary`), column by column against the JSON."""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from lumiboard import SummaryWriter
from lumiboard.plugins.scalars.series_binary import MEDIA_TYPE, accepts_binary, encode_series
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app
from lumiboard.store.downsample import Reduced

SERIES = "/data/plugin/scalars/series"
BINARY = {"Accept": MEDIA_TYPE}
ODD = 'odd "run" ü/ä,\\ 🙂'


def _write(root: Path) -> None:
    rng = np.random.default_rng(1)
    with SummaryWriter(str(root / "f32")) as writer:  # float32 values, NaN and Inf among them
        for step, value in enumerate(rng.normal(size=3_000).tolist()):
            special = {7: math.nan, 8: math.inf, 9: -math.inf}.get(step, value)
            writer.add_scalar("loss", special, step * 3, walltime=1e9 + step * 0.37)
    with SummaryWriter(str(root / "f64")) as writer:
        for step in range(500):
            writer.add_scalar(
                "loss", 0.1 * step, step, walltime=5.0 + step, new_style=True, double_precision=True
            )
    with SummaryWriter(str(root / ODD)) as writer:
        writer.add_scalar("loss", 1.0, 0, walltime=1.0)
    with SummaryWriter(str(root / "big_steps")) as writer:  # beyond int32: float64 steps
        for step in range(10):
            writer.add_scalar("loss", float(step), 2**40 + step, walltime=3.0)
    with SummaryWriter(str(root / "huge_steps")) as writer:  # beyond 2**53: int64 steps
        for step in range(10):
            writer.add_scalar("loss", float(step), 2**62 + step * 1_001, walltime=3.0)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("series_binary")
    _write(root)
    loaded = Reloader(str(root))
    loaded.reload()
    with TestClient(create_app(loaded)) as test_client:
        yield test_client


def decode(body: bytes) -> dict[str, Any]:
    """The binary answer, read by the spec, in the JSON answer's shape (float64 columns)."""
    assert body[:4] == b"LBS1"
    (length,) = struct.unpack_from("<I", body, 4)
    meta = json.loads(body[8 : 8 + length].decode("utf-8"))
    offset = 8 + length
    offset += -offset % 8
    runs: dict[str, Any] = {}
    for run in meta["runs"]:
        columns: dict[str, Any] = {"total": run["total"]}
        for name in ("step", "wall_time", "value"):
            assert offset % 8 == 0
            dtype = np.dtype("<" + run[name])
            columns[name] = np.frombuffer(body, dtype=dtype, count=run["count"], offset=offset)
            offset += run["count"] * dtype.itemsize
            assert body[offset : offset + (-offset % 8)] == bytes(-offset % 8)
            offset += -offset % 8
        runs[run["run"]] = columns
    assert offset == len(body)
    return {"tag": meta["tag"], "runs": runs, "meta": meta}


def _json_columns(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        run: {
            "total": columns["total"],
            **{
                name: np.frombuffer(base64.b64decode(columns[name]), dtype="<f8")
                for name in ("step", "wall_time", "value")
            },
        }
        for run, columns in answer["runs"].items()
    }


def _both(client: TestClient, **request: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    plain = client.post(SERIES, json=request)
    binary = client.post(SERIES, json=request, headers=BINARY)
    assert plain.status_code == binary.status_code == 200
    assert plain.headers["content-type"] == "application/json"
    assert binary.headers["content-type"] == MEDIA_TYPE
    assert "accept" in binary.headers["vary"].lower()
    assert "accept" in plain.headers["vary"].lower()
    return plain.json(), decode(binary.content)


RUNS = ["f32", "f64", "nope", ODD, "big_steps", "huge_steps"]


@pytest.mark.parametrize(
    "request_body",
    [
        {"tag": "loss", "runs": RUNS, "buckets": 50},
        {"tag": "loss", "runs": RUNS, "buckets": 5_000},
        {"tag": "loss", "runs": RUNS, "buckets": 40, "x": "wall_time"},
        {
            "tag": "loss",
            "runs": list(reversed(RUNS)),
            "buckets": 60,
            "min_step": 30,
            "max_step": 90,
        },
        {"tag": "loss", "runs": [], "buckets": 10},
        {"tag": "missing", "runs": RUNS},
    ],
)
def test_binary_answer_holds_the_json_numbers(
    client: TestClient, request_body: dict[str, Any]
) -> None:
    plain, binary = _both(client, **request_body)
    assert binary["tag"] == plain["tag"]
    expected = _json_columns(plain)
    assert list(binary["runs"]) == list(expected)  # the same runs, in the same order
    for run, columns in expected.items():
        got = binary["runs"][run]
        assert got["total"] == columns["total"]
        for name in ("step", "wall_time", "value"):
            as_float64 = got[name].astype(np.float64)
            # Bit for bit: NaN, Inf and -0.0 included.
            assert as_float64.tobytes() == columns[name].tobytes(), (run, name)


def test_binary_dtypes_follow_the_stored_columns(client: TestClient) -> None:
    _, binary = _both(client, tag="loss", runs=RUNS, buckets=10_000)
    dtypes = {
        run["run"]: (run["step"], run["wall_time"], run["value"]) for run in binary["meta"]["runs"]
    }
    assert dtypes["f32"] == ("i4", "f8", "f4")
    assert dtypes["f64"] == ("i4", "f8", "f8")
    assert dtypes["big_steps"][0] == "f8"
    assert dtypes["huge_steps"][0] == "i8"
    huge = binary["runs"]["huge_steps"]["step"]
    assert huge.tolist() == [2**62 + step * 1_001 for step in range(10)]  # exact in int64
    values = binary["runs"]["f32"]["value"]
    assert np.isnan(values[7])
    assert values[8] == math.inf
    assert values[9] == -math.inf
    assert binary["runs"][ODD]["total"] == 1


def test_binary_is_smaller_and_compressed(client: TestClient) -> None:
    request = {"tag": "loss", "runs": RUNS, "buckets": 5_000}
    plain = client.post(SERIES, json=request, headers={"Accept-Encoding": "identity"})
    binary = client.post(SERIES, json=request, headers={**BINARY, "Accept-Encoding": "identity"})
    assert len(binary.content) < 0.6 * len(plain.content)  # 16-24 bytes a point, not 32
    zipped = client.post(SERIES, json=request, headers={**BINARY, "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == binary.content  # the client undid the gzip
    assert int(zipped.headers["content-length"]) < len(binary.content)


def test_errors_stay_json(client: TestClient) -> None:
    response = client.post(SERIES, content=b'{"tag": 1}', headers=BINARY)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("accept", "binary"),
    [
        ("", False),
        ("*/*", False),
        ("application/json", False),
        (MEDIA_TYPE, True),
        (f"{MEDIA_TYPE}, application/json;q=0.5", True),
        (f"application/json, {MEDIA_TYPE.upper()};q=0.9", True),
        (f"{MEDIA_TYPE};q=0", False),
        (f"{MEDIA_TYPE};q=0.0, application/json", False),
        (f"{MEDIA_TYPE}x", False),
    ],
)
def test_accepts_binary(accept: str, binary: bool) -> None:
    assert accepts_binary(accept) is binary


def test_encode_aligns_every_column() -> None:
    empty = np.zeros(0)
    reduced = [
        ("a", Reduced(np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0]), np.float32([1, 2, 3]), 3)),
        ("", Reduced(empty.astype(np.int64), empty, empty, 0)),
        ("b", Reduced(np.array([5]), np.array([0.5]), np.float32([-0.0]), 9)),
    ]
    body = encode_series("t", reduced)
    assert len(body) % 8 == 0
    decoded = decode(body)
    assert list(decoded["runs"]) == ["a", "", "b"]
    assert decoded["runs"][""]["step"].size == 0
    assert np.signbit(decoded["runs"]["b"]["value"][0])
    assert decoded["runs"]["b"]["total"] == 9
