"""The mesh plugin's routes, against TensorBoard's own mesh plugin on the same log directory.

Runs are written with lumiboard's SummaryWriter and torch's; every series holds at most 10
steps, so TensorBoard's Python loader (which keeps 10 meshes per series) keeps all of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
import torch
from route_support import get_ok, lumiboard_client, route_fixtures
from starlette.testclient import TestClient
from torch.utils import tensorboard as torch_tb

from lumiboard import SummaryWriter

MESH = "/data/plugin/mesh"
CONFIG = {"camera": {"cls": "PerspectiveCamera", "fov": 60}, "material": {"size": 0.2}}
#: Runs whose data TensorBoard serves sanely (the others hold broken meshes on purpose).
COMPARED = ("lumi", "torch")


def _cube(step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    corners = np.array(
        [[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float32
    )
    faces = np.array(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
         [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]],
        dtype=np.int32,
    )  # fmt: skip
    colors = ((corners + 1) * 127.5).astype(np.uint8)
    return corners[None] * (1 + step), faces[None], colors[None]


def _cloud(step: int, batch: int = 1, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(step)
    vertices = rng.normal(size=(batch, n, 3)).astype(np.float32)
    colors = rng.integers(0, 256, size=(batch, n, 3)).astype(np.uint8)
    return vertices, colors


def _write_logdir(root: Path) -> None:
    with SummaryWriter(str(root / "lumi")) as writer:
        for step in range(4):
            vertices, faces, colors = _cube(step)
            writer.add_mesh(
                "shape", vertices, colors=colors, faces=faces, config_dict=CONFIG,
                global_step=step, walltime=100.0 + step,
            )  # fmt: skip
            cloud, cloud_colors = _cloud(step, batch=2)
            writer.add_mesh(
                "points/cloud", cloud, colors=cloud_colors, global_step=step * 10,
                walltime=200.0 + step,
            )  # fmt: skip
    writer = torch_tb.SummaryWriter(str(root / "torch"))
    for step in range(3):
        cloud, cloud_colors = _cloud(step + 7)
        writer.add_mesh(
            "cloud", torch.from_numpy(cloud), colors=torch.from_numpy(cloud_colors),
            global_step=step, walltime=300.0 + step,
        )  # fmt: skip
        vertices, faces, _ = _cube(step)
        writer.add_mesh(
            "tri", torch.from_numpy(vertices), faces=torch.from_numpy(faces), global_step=step
        )
    writer.close()
    with SummaryWriter(str(root / "broken")) as writer:
        vertices, faces, colors = _cube(0)
        # Colours at step 0 only: the parts' step sets differ.
        writer.add_mesh("partial", vertices, colors=colors, global_step=0)
        writer.add_mesh("partial", vertices * 2, global_step=1)
        # Face indices out of range and not finite, colours out of range.
        bad_faces = np.array([[[0, 1, 99], [0, 1, 2], [-5, 1, 2]]], dtype=np.float32)
        bad_faces = np.concatenate([bad_faces, [[[np.nan, 1, 2]]]], axis=1)
        bad_colors = np.array([[[300.0, -4.0, np.nan]] * 8], dtype=np.float32)
        writer.add_mesh("bad", vertices, colors=bad_colors, faces=bad_faces, global_step=0)


logdir, client, tensorboard = route_fixtures(_write_logdir)


def _url(route: str, **params: Any) -> str:
    return f"{MESH}/{route}?{urlencode(params)}"


# ---- side by side with TensorBoard ---------------------------------------------------------


def test_tags_as_tensorboard(client: TestClient, tensorboard: Any) -> None:
    ours = get_ok(client, f"{MESH}/tags").json()
    theirs = json.loads(tensorboard.get(f"{MESH}/tags").get_data(as_text=True))
    assert {run: ours[run] for run in COMPARED} == {run: theirs[run] for run in COMPARED}
    assert ours["lumi"] == {"shape": {"samples": 1}, "points/cloud": {"samples": 2}}
    assert ours["broken"] == {"partial": {"samples": 1}, "bad": {"samples": 1}}


def test_meshes_as_tensorboard(client: TestClient, tensorboard: Any) -> None:
    for run, name in [("lumi", "shape"), ("lumi", "points/cloud"), ("torch", "cloud"),
                      ("torch", "tri")]:  # fmt: skip
        url = _url("meshes", run=run, tag=name, sample=0)
        ours = get_ok(client, url).json()
        theirs = json.loads(tensorboard.get(url).get_data(as_text=True))
        assert ours == theirs, (run, name)
    shape = get_ok(client, _url("meshes", run="lumi", tag="shape")).json()
    assert [(entry["step"], entry["content_type"]) for entry in shape] == [
        (step, part) for step in range(4) for part in (1, 2, 3)
    ]
    assert shape[0] == {
        "wall_time": 100.0,
        "step": 0,
        "content_type": 1,
        "components": 14,
        "config": json.dumps(CONFIG, sort_keys=True),
        "data_shape": [1, 8, 3],
    }


def test_data_as_tensorboard_and_as_written(client: TestClient, tensorboard: Any) -> None:
    cases = [("lumi", "shape", step, 0) for step in range(4)]
    cases += [("lumi", "points/cloud", step * 10, sample) for step in range(4) for sample in (0, 1)]
    cases += [("torch", "cloud", step, 0) for step in range(3)]
    for run, name, step, sample in cases:
        for part in ("VERTEX", "COLOR") + (("FACE",) if name == "shape" else ()):
            url = _url("data", run=run, tag=name, step=step, sample=sample, content_type=part)
            response = get_ok(client, url)
            assert response.headers["content-type"] == "application/octet-stream"
            theirs = tensorboard.get(url)
            assert response.content == theirs.get_data(), (run, name, step, part)
    vertices, faces, colors = _cube(2)
    get = client.get
    assert get(_url("data", run="lumi", tag="shape", step=2, content_type="VERTEX")).content == (
        vertices[0].astype("<f4").tobytes()
    )
    assert get(_url("data", run="lumi", tag="shape", step=2, content_type="FACE")).content == (
        faces[0].astype("<i4").tobytes()
    )
    assert get(_url("data", run="lumi", tag="shape", step=2, content_type="COLOR")).content == (
        colors[0].tobytes()
    )
    cloud, _ = _cloud(3, batch=2)
    url = _url("data", run="lumi", tag="points/cloud", step=30, sample=1, content_type="VERTEX")
    assert np.frombuffer(get(url).content, "<f4").reshape(-1, 3).tolist() == cloud[1].tolist()


def test_torch_faces_written_as_floats_come_back_as_int32(client: TestClient) -> None:
    _, faces, _ = _cube(1)
    url = _url("data", run="torch", tag="tri", step=1, content_type="FACE")
    assert np.frombuffer(get_ok(client, url).content, "<i4").tolist() == faces[0].ravel().tolist()


# ---- odd data never crashes ----------------------------------------------------------------


def test_parts_with_different_steps(client: TestClient) -> None:
    entries = get_ok(client, _url("meshes", run="broken", tag="partial")).json()
    assert [(entry["step"], entry["content_type"]) for entry in entries] == [(0, 1), (0, 3), (1, 1)]
    url = _url("data", run="broken", tag="partial", step=1, content_type="COLOR")
    response = client.get(url)
    assert response.status_code == 404
    assert "no COLOR at step 1" in response.json()["error"]


def test_bad_faces_and_colours_are_clipped_not_crashed(client: TestClient) -> None:
    faces = get_ok(client, _url("data", run="broken", tag="bad", content_type="FACE")).content
    assert np.frombuffer(faces, "<i4").tolist() == [0, 1, 99, 0, 1, 2, -1, 1, 2, -1, 1, 2]
    colors = get_ok(client, _url("data", run="broken", tag="bad", content_type="COLOR")).content
    assert list(colors[:3]) == [255, 0, 0]


# ---- parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "params", "status", "message"),
    [
        ("meshes", {"tag": "shape"}, 400, "'run'"),
        ("meshes", {"run": "lumi"}, 400, "'tag'"),
        ("meshes", {"run": "nope", "tag": "shape"}, 404, "no run named"),
        ("meshes", {"run": "lumi", "tag": "nope"}, 404, "no mesh named"),
        ("meshes", {"run": "lumi", "tag": "shape_VERTEX"}, 404, "no mesh named"),
        ("meshes", {"run": "lumi", "tag": "shape", "sample": "x"}, 400, "'sample'"),
        ("data", {"run": "lumi", "tag": "shape"}, 400, "'content_type'"),
        ("data", {"run": "lumi", "tag": "shape", "content_type": "UNDEFINED"}, 400, "VERTEX"),
        ("data", {"run": "lumi", "tag": "shape", "content_type": "vertex"}, 400, "VERTEX"),
        ("data", {"run": "lumi", "tag": "shape", "content_type": "VERTEX", "step": "x"}, 400,
         "'step'"),
        ("data", {"run": "lumi", "tag": "shape", "content_type": "VERTEX", "step": "nan"}, 400,
         "'step'"),
        ("data", {"run": "lumi", "tag": "shape", "content_type": "VERTEX", "step": "1.5"}, 400,
         "'step'"),
        ("data", {"run": "lumi", "tag": "shape", "content_type": "VERTEX", "step": "1e400"},
         400, "'step'"),
        *[
            ("data", {"run": "lumi", "tag": "shape", "content_type": "VERTEX", "step": bad}, 400,
             "'step'")
            for bad in ("\u0662", "1_0", " 2 ", "2\n", "inf", "-nan", "0x2", "2.0.0", "--2", "")
        ],
        ("meshes", {"run": "lumi", "tag": "shape", "sample": "\u0660"}, 400, "'sample'"),
        ("data", {"run": "lumi", "tag": "shape", "content_type": "VERTEX", "step": 99}, 404,
         "at step 99"),
        ("data", {"run": "lumi", "tag": "shape", "content_type": "VERTEX", "sample": 1}, 404,
         "sample 1 out of range"),
        ("data", {"run": "lumi", "tag": "shape", "content_type": "VERTEX", "sample": -1}, 400,
         "'sample'"),
        ("data", {"run": "lumi", "tag": "points/cloud", "content_type": "FACE"}, 404,
         "no FACE part"),
        ("data", {"run": "nope", "tag": "shape", "content_type": "VERTEX"}, 404, "no run"),
    ],
)  # fmt: skip
def test_bad_parameters(
    client: TestClient, route: str, params: dict[str, Any], status: int, message: str
) -> None:
    response = client.get(_url(route, **params))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["error"]


def test_step_as_float_text_as_tensorboard_accepts_it(client: TestClient) -> None:
    for step in ("2.0", "2.", "0.2e1", "+2", "2", "02"):
        url = _url("data", run="lumi", tag="shape", step=step, content_type="VERTEX")
        assert len(get_ok(client, url).content) == 8 * 3 * 4, step


def test_large_steps_are_exact(tmp_path: Path) -> None:
    """A step above 2**53 is matched exactly (a float would round it to its neighbour)."""
    vertices, _, _ = _cube(0)
    big = 2**53 + 1
    with SummaryWriter(str(tmp_path / "run")) as writer:
        writer.add_mesh("shape", vertices, global_step=big)
        writer.add_mesh("shape", vertices * 2, global_step=big - 1)
    with lumiboard_client(tmp_path) as client:
        for step, scale in ((big, 1), (big - 1, 2)):
            url = _url("data", run="run", tag="shape", step=str(step), content_type="VERTEX")
            data = np.frombuffer(get_ok(client, url).content, "<f4").reshape(-1, 3)
            np.testing.assert_array_equal(data, vertices[0] * scale)
        url = _url("data", run="run", tag="shape", step=str(2**63 - 1), content_type="VERTEX")
        assert client.get(url).status_code == 404


def test_plugin_listed_when_meshes_exist(client: TestClient) -> None:
    listing = get_ok(client, "/data/plugins_listing").json()
    assert listing["mesh"]["enabled"] is True
    assert listing["mesh"]["tab_name"] == "Mesh"
