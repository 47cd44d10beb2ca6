"""``scalars_multirun`` answers 10,000 runs (Starlette's form parser stopped at 999: "Too many
fields"), and says 413 in JSON above its bound, urlencoded or multipart."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import orjson
import pytest
from memory_runs import memory_reloader
from starlette.testclient import TestClient

from lumiboard.plugins.scalars import routes
from lumiboard.server.app import create_app

MULTIRUN = "/data/plugin/scalars/scalars_multirun"
RUNS = 10_000
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    reloader = memory_reloader(tmp_path_factory.mktemp("empty"), runs=RUNS, points=3)
    with TestClient(create_app(reloader)) as test_client:
        yield test_client


def _form(runs: list[str], tag: str = "loss") -> bytes:
    return urlencode([("tag", tag), *[("runs", run) for run in runs]]).encode()


def test_ten_thousand_runs_are_answered(client: TestClient) -> None:
    names = [f"run_{index}" for index in range(RUNS)]
    response = client.post(MULTIRUN, content=_form(names), headers=FORM)
    assert response.status_code == 200, response.text[:200]
    answer = orjson.loads(response.content)
    assert list(answer) == names
    assert all(len(points) == 3 for points in answer.values())
    assert answer["run_9999"][2][1] == 2  # [wall_time, step, value]


def test_ten_thousand_runs_in_a_multipart_form(client: TestClient) -> None:
    names = [f"run_{index}" for index in range(0, RUNS, 1)]
    response = client.post(MULTIRUN, data={"tag": "loss", "runs": names}, files={"x": b""})
    assert response.status_code == 200, response.text[:200]
    assert len(orjson.loads(response.content)) == RUNS


def test_names_are_decoded_as_starlette_decodes_them(client: TestClient) -> None:
    body = b"tag=loss&runs=run_1&runs=run%5F2&runs=run+3&runs=&runs=caf%C3%A9"
    response = client.post(MULTIRUN, content=body, headers=FORM)
    assert list(orjson.loads(response.content)) == ["run_1", "run_2"]
    missing = client.post(MULTIRUN, content=b"runs=run_1", headers=FORM)
    assert missing.status_code == 400
    assert missing.json() == {"error": "missing form field 'tag'"}


def test_above_the_bound_is_a_413_in_json(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "MAX_MULTIRUN_FIELDS", 101)
    names = [f"run_{index}" for index in range(101)]
    for response in (
        client.post(MULTIRUN, content=_form(names), headers=FORM),
        client.post(MULTIRUN, data={"tag": "loss", "runs": names}, files={"x": b""}),
    ):
        assert response.status_code == 413
        assert response.json() == {"error": "at most 100 runs per scalars_multirun request"}
    assert client.post(MULTIRUN, content=_form(names[:100]), headers=FORM).status_code == 200
    monkeypatch.setattr(routes, "MAX_FORM_BYTES", 1 << 20)
    huge = client.post(MULTIRUN, content=b"tag=loss&runs=" + b"a" * (2 << 20), headers=FORM)
    assert huge.status_code == 413
    assert huge.json() == {"error": "the form is over 1 MiB"}


def test_default_bound_is_far_above_tensorboards() -> None:
    assert routes.MAX_MULTIRUN_FIELDS - 1 >= 100_000
