"""The images plugin's routes: TensorBoard's shapes and bytes, blob keys, caching, sampling.

One module-scoped log directory holds images written by lumiboard's SummaryWriter (legacy
``Summary.Image``, GIF video, boxes), its TF2-style API (``[w, h, png...]`` tensors with several
images per step), torch's SummaryWriter, raw values in every format TensorBoard sniffs, and the
TensorFlow fixture; lumiboard's app and TensorBoard's own app serve it side by side.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import struct
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import matplotlib
import numpy as np
import orjson
import pytest
from PIL import Image
from route_support import get_json, get_ok, lumiboard_client, route_fixtures
from starlette.testclient import TestClient
from torch.utils import tensorboard as torch_tb

from lumiboard import SummaryWriter, summary
from lumiboard.format.proto import event_pb2, summary_pb2, tensor_pb2, types_pb2
from lumiboard.server import blobs
from lumiboard.writer.event_file import EventFileWriter

IMAGES = "/data/plugin/images"
FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "tf2_keras" / "tf_summary"
#: Solid colours by step: the test reads them back from the served bytes.
COLORS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
WALL = 1_700_000_000.0


def _encoded(image: np.ndarray, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format=fmt, **options)
    return out.getvalue()


def _raw_image(tag: str, data: bytes, height: int, width: int) -> summary_pb2.Summary.Value:
    image = summary_pb2.Summary.Image(
        height=height, width=width, colorspace=3, encoded_image_string=data
    )
    return summary_pb2.Summary.Value(tag=tag, image=image)


def _write_logdir(root: Path) -> None:
    with SummaryWriter(str(root / "ours")) as writer:
        for step, color in enumerate(COLORS):
            solid = np.zeros((6, 10, 3), np.uint8)
            solid[:] = color
            writer.add_image("solid", solid, step * 10, walltime=WALL + step, dataformats="HWC")
        writer.add_video("video", np.random.default_rng(0).random((1, 5, 3, 8, 8)), 0)
        background = np.zeros((3, 32, 32))
        writer.add_image_with_boxes("boxes", background, np.array([[4, 4, 28, 28]]), 0)
        frame = np.zeros((20, 30, 3), np.uint8)
        frame[:, :15] = 200
        for fmt, tag, options in (
            ("JPEG", "formats/jpeg", {"quality": 95}),
            ("GIF", "formats/gif", {}),
            ("BMP", "formats/bmp", {}),
            ("PNG", "formats/png", {}),
        ):
            value = _raw_image(tag, _encoded(frame, fmt, **options), 20, 30)
            writer.write_values([value], 0, WALL)
        writer.write_values([_raw_image("formats/unknown", b"not an image", 1, 1)], 0, WALL)
    functional_writer = summary.create_file_writer(str(root / "tf2"))
    with functional_writer.as_default(step=0):
        for step in range(3):
            batch = np.zeros((3, 4, 5, 3), np.uint8)
            for index in range(3):
                batch[index] = COLORS[index]
            summary.image("multi", batch, step=step, max_outputs=3 if step else 2)
    functional_writer.close()
    matplotlib.use("Agg")
    from matplotlib import pyplot

    torch_writer = torch_tb.SummaryWriter(str(root / "torch"))
    for step, color in enumerate(COLORS[:2]):
        solid = np.zeros((3, 6, 10), np.uint8)
        for channel in range(3):
            solid[channel] = color[channel]
        torch_writer.add_image("solid", solid, step, walltime=WALL + step)
    torch_writer.add_image_with_boxes(
        "boxes", np.zeros((3, 32, 32)), np.array([[4, 4, 28, 28]]), 0, walltime=WALL
    )
    figure = pyplot.figure(figsize=(2, 1.5), dpi=50)
    figure.gca().plot([0, 1, 2], [0, 1, 0])
    torch_writer.add_figure("figure", figure, 0, walltime=WALL)
    torch_writer.close()


def _write_all(root: Path) -> None:
    _write_logdir(root)
    if FIXTURE.is_dir():
        shutil.copytree(FIXTURE, root / "tf_fixture")


logdir, client, tensorboard = route_fixtures(_write_all)


def _listing(client: TestClient, run: str, tag: str, sample: int = 0) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = get_json(
        client, f"{IMAGES}/images", run=run, tag=tag, sample=sample
    )
    return entries


def _image(client: TestClient, entry: dict[str, Any]) -> Any:
    return get_ok(client, f"{IMAGES}/individualImage?{entry['query']}")


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


# ---- TensorBoard's shapes, side by side ---------------------------------------------------


def test_tags_as_tensorboard(client: TestClient, tensorboard: Any) -> None:
    ours = client.get(f"{IMAGES}/tags").json()
    theirs = orjson.loads(get_ok(tensorboard, f"{IMAGES}/tags").get_data())
    assert set(ours) == set(theirs)
    for run, tags in theirs.items():
        assert set(ours[run]) == set(tags), run
        for tag, info in tags.items():
            assert set(ours[run][tag]) == {"displayName", "description", "samples"}
            assert ours[run][tag]["samples"] == info["samples"], (run, tag)
            assert ours[run][tag]["displayName"] in (info["displayName"], tag)
    assert ours["tf2"]["multi"]["samples"] == 3
    assert ours["ours"]["solid"] == {"displayName": "solid", "description": "", "samples": 1}
    if FIXTURE.is_dir():
        assert ours["tf_fixture"]  # TF2's grayscale images are listed


def test_images_and_bytes_as_tensorboard(client: TestClient, tensorboard: Any) -> None:
    tags = orjson.loads(get_ok(tensorboard, f"{IMAGES}/tags").get_data())
    compared = 0
    for run, by_tag in tags.items():
        for tag, info in by_tag.items():
            for sample in range(info["samples"] + 1):
                query = urlencode({"run": run, "tag": tag, "sample": sample})
                theirs = orjson.loads(get_ok(tensorboard, f"{IMAGES}/images?{query}").get_data())
                ours = _listing(client, run, tag, sample)
                assert [(e["step"], e["wall_time"]) for e in ours] == [
                    (e["step"], e["wall_time"]) for e in theirs
                ], (run, tag, sample)
                for mine, their in zip(ours, theirs, strict=True):
                    assert mine["query"].startswith("blob_key=")
                    tb_response = get_ok(tensorboard, f"{IMAGES}/individualImage?{their['query']}")
                    response = _image(client, mine)
                    assert response.content == tb_response.get_data(), (run, tag, sample)
                    assert response.headers["content-type"] == tb_response.headers["Content-Type"]
                    compared += 1
    assert compared >= 20


# ---- what the listing and the images hold --------------------------------------------------


def test_solid_colours_by_step(client: TestClient) -> None:
    for run, expected in (("ours", COLORS), ("torch", COLORS[:2])):
        entries = _listing(client, run, "solid")
        assert len(entries) == len(expected)
        for entry, color in zip(entries, expected, strict=True):
            assert (entry["width"], entry["height"]) == (10, 6)
            pixels = _pixels(_image(client, entry).content)
            assert pixels.shape == (6, 10, 3)
            assert tuple(pixels[3, 5]) == color
    assert [e["step"] for e in _listing(client, "ours", "solid")] == [0, 10, 20, 30]
    assert _listing(client, "ours", "solid")[1]["wall_time"] == WALL + 1


def test_sample_index_selects_the_image(client: TestClient) -> None:
    for sample in range(3):
        entries = _listing(client, "tf2", "multi", sample)
        # Step 0 logged two images: it has no third.
        assert [e["step"] for e in entries] == ([1, 2] if sample == 2 else [0, 1, 2])
        for entry in entries:
            assert (entry["width"], entry["height"]) == (5, 4)
            assert tuple(_pixels(_image(client, entry).content)[0, 0]) == COLORS[sample]
    assert _listing(client, "tf2", "multi", 3) == []


@pytest.mark.parametrize(
    ("tag", "mime_type"),
    [
        ("formats/png", "image/png"),
        ("formats/jpeg", "image/jpeg"),
        ("formats/gif", "image/gif"),
        ("formats/bmp", "image/bmp"),
        ("formats/unknown", "application/octet-stream"),
    ],
)
def test_mime_type_sniffed_from_the_bytes(client: TestClient, tag: str, mime_type: str) -> None:
    (entry,) = _listing(client, "ours", tag)
    response = _image(client, entry)
    assert response.headers["content-type"] == mime_type
    assert response.headers["x-content-type-options"] == "nosniff"


def test_video_is_an_animated_gif(client: TestClient) -> None:
    (entry,) = _listing(client, "ours", "video")
    response = _image(client, entry)
    assert response.headers["content-type"] == "image/gif"
    gif = Image.open(io.BytesIO(response.content))
    assert gif.format == "GIF"
    assert gif.n_frames == 5


@pytest.mark.parametrize("run", ["ours", "torch"])
def test_boxes_are_drawn_into_the_pixels(client: TestClient, run: str) -> None:
    (entry,) = _listing(client, run, "boxes")
    pixels = _pixels(_image(client, entry).content).astype(int)
    red = (pixels[..., 0] > 150) & (pixels[..., 1] < 100) & (pixels[..., 2] < 100)
    assert red[4:29, 4].sum() >= 20  # the box's left edge, on a black image
    assert not red[16, 16]  # not filled


def test_figure_is_served(client: TestClient) -> None:
    (entry,) = _listing(client, "torch", "figure")
    assert (entry["width"], entry["height"]) == (100, 75)
    pixels = _pixels(_image(client, entry).content)
    assert pixels.shape == (75, 100, 3)
    assert (pixels.min(axis=2) < 128).sum() > 20  # the plotted line and axes


# ---- caching -------------------------------------------------------------------------------


def test_strong_caching_and_304(client: TestClient) -> None:
    first, second = _listing(client, "ours", "solid")[:2]
    response = _image(client, first)
    etag = response.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert response.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert _image(client, first).headers["etag"] == etag  # stable
    assert _image(client, second).headers["etag"] != etag
    url = f"{IMAGES}/individualImage?{first['query']}"
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        cached = client.get(url, headers={"If-None-Match": header})
        assert cached.status_code == 304, header
        assert cached.content == b""
        assert cached.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    head = client.head(url)
    assert head.status_code == 200
    assert head.headers["etag"] == etag


def test_listing_is_stable_across_reloads(logdir: Path, client: TestClient) -> None:
    with lumiboard_client(logdir) as other:
        assert _listing(other, "ours", "solid") == _listing(client, "ours", "solid")


# ---- bad requests ----------------------------------------------------------------------------


def _key(*fields: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(fields)).encode()).decode().rstrip("=")


def test_forged_and_garbled_keys(client: TestClient) -> None:
    (entry,) = _listing(client, "ours", "video")
    key = blobs.decode_blob_key(entry["query"].removeprefix("blob_key="))
    garbled = [
        "",
        "abc",
        "not base64!",
        "../../etc/passwd",
        "%2e%2e%2f",
        "A" * (blobs.MAX_KEY_LENGTH + 4),
        _key(),
        _key("ours", "video", 0, key.wall_time, 0),  # a field short
        _key("ours", "video", "0", key.wall_time, 0, key.fingerprint),
        _key("ours", "video", 0, 1.5, 0, key.fingerprint),  # wall time not as hex
        _key("ours", "video", 0, "0x1.zzp+3", 0, key.fingerprint),
        _key("x", "y", 0, "0x1p99999", 0, "AAAAAAAAAAA"),  # float.fromhex overflows
        "WyJ4IiwieSIsMCwiMHgxcDk5OTk5IiwwLCJBQUFBQUFBQUFBQSJd",
        _key("ours", "video", 0, key.wall_time, -1, key.fingerprint),
        _key("ours", "video", True, key.wall_time, 0, key.fingerprint),
        _key("ours", "video", 2**70, key.wall_time, 0, key.fingerprint),
        _key("ours", "video", 0, key.wall_time, 0, "../short"),
        base64.urlsafe_b64encode(b"\xff\xfe garbage").decode().rstrip("="),
    ]
    for text in garbled:
        response = client.get(f"{IMAGES}/individualImage", params={"blob_key": text})
        assert response.status_code == 400, text
        assert response.json() == {"error": "invalid blob_key"}
    missing = [
        _key("nope", "video", 0, key.wall_time, 0, key.fingerprint),
        _key("../../../etc", "passwd", 0, key.wall_time, 0, key.fingerprint),
        _key("ours", "nope", 0, key.wall_time, 0, key.fingerprint),
        _key("ours", "video", 1, key.wall_time, 0, key.fingerprint),
        _key(
            "ours",
            "video",
            0,
            (key_wall := float.fromhex(key.wall_time) + 1).hex(),
            0,
            key.fingerprint,
        ),
        _key("ours", "video", 0, key.wall_time, 1, key.fingerprint),  # one image only
        _key("ours", "video", 0, key.wall_time, 0, "AAAAAAAAAAA"),  # another file
        _key("ours", "solid", 0, key.wall_time, 0, key.fingerprint),
    ]
    assert key_wall
    for text in missing:
        response = client.get(f"{IMAGES}/individualImage", params={"blob_key": text})
        assert response.status_code == 404, text
        assert set(response.json()) == {"error"}


def test_audio_key_is_not_an_image(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "run")) as writer:
        writer.add_audio("sound", np.zeros(100), 0, sample_rate=8000)
    with lumiboard_client(tmp_path) as client:
        (entry,) = client.get(
            "/data/plugin/audio/audio", params={"run": "run", "tag": "sound"}
        ).json()
        key = entry["query"].split("&")[0]
        assert client.get(f"{IMAGES}/individualImage?{key}").status_code == 404


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{IMAGES}/images?tag=solid", 400),
        (f"{IMAGES}/images?run=ours", 400),
        (f"{IMAGES}/images?run=ours&tag=solid&sample=-1", 400),
        (f"{IMAGES}/images?run=ours&tag=solid&sample=x", 400),
        (f"{IMAGES}/images?run=ours&tag=solid&sample=99999999999999", 400),
        (f"{IMAGES}/images?run=nope&tag=solid", 404),
        (f"{IMAGES}/images?run=ours&tag=nope", 404),
        (f"{IMAGES}/images?run=ours&tag=video&sample=1", 200),
        (f"{IMAGES}/individualImage", 400),
    ],
)
def test_bad_parameters(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    if status != 200:
        assert set(response.json()) == {"error"}


def test_not_an_image_tag(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
        writer.add_audio("sound", np.zeros(100), 0, sample_rate=8000)
    with lumiboard_client(tmp_path) as client:
        assert client.get(f"{IMAGES}/tags").json() == {}
        for tag in ("loss", "sound"):
            response = client.get(f"{IMAGES}/images", params={"run": "run", "tag": tag})
            assert response.status_code == 404


# ---- sampling and size ---------------------------------------------------------------------


def test_samples_per_plugin(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "run")) as writer:
        for step in range(30):
            writer.add_image("many", np.full((3, 2, 2), step / 30), step)
    with lumiboard_client(tmp_path, samples={"images": 4}) as client:
        entries = _listing(client, "run", "many")
        assert len(entries) == 4
        assert entries[-1]["step"] == 29  # the newest is always kept
        for entry in entries:
            assert _image(client, entry).headers["content-type"] == "image/png"


def test_huge_images_are_read_by_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    size = 4096
    generator = np.random.default_rng(1)
    with SummaryWriter(str(tmp_path / "run")) as writer:
        for step in range(3):
            image = np.zeros((size, size, 3), np.uint8)
            image[:512, :512] = generator.integers(0, 256, (512, 512, 3))
            writer.add_image("huge", image, step, dataformats="HWC")
    with lumiboard_client(tmp_path) as client:
        read: list[int] = []
        original = blobs.read_range

        def counting(path: str, start: int, end: int) -> bytes:
            read.append(end - start)
            return original(path, start, end)

        monkeypatch.setattr(blobs, "read_range", counting)
        blobs_image_size_cache_clear()
        entries = _listing(client, "run", "huge")
        assert [(e["width"], e["height"]) for e in entries] == [(size, size)] * 3
        # The listing reads one window of each step, not the ~800 KB images.
        assert sum(read) <= 3 * blobs.WINDOW
        data = _image(client, entries[-1]).content
        assert len(data) > 500_000
        assert Image.open(io.BytesIO(data)).size == (size, size)


def blobs_image_size_cache_clear() -> None:
    from lumiboard.plugins.images import routes

    routes.image_size.cache_clear()


# ---- hostile sizes in the event file -----------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _raw_image_event(tag: str, height: int, width: int, data: bytes) -> bytes:
    """An ``Event`` with a legacy ``Summary.Image`` whose sizes are any varints (up to
    2**70 - 1, which protobuf itself would not write into an int32 field)."""
    image = _varint(1 << 3) + _varint(height) + _varint(2 << 3) + _varint(width)
    image += _varint(3 << 3) + _varint(3) + _field(4, data)
    value = _field(1, tag.encode()) + _field(4, image)
    wall_time = _varint(1 << 3 | 1) + struct.pack("<d", WALL)
    return wall_time + _varint(2 << 3) + _varint(0) + _field(5, _field(1, value))


def _tensor_image(tag: str, width: bytes, height: bytes, data: bytes) -> summary_pb2.Summary.Value:
    tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[width, height, data])
    tensor.tensor_shape.dim.add(size=3)
    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "images"
    return summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=tensor)


def test_implausible_sizes_are_left_out(tmp_path: Path) -> None:
    """Sizes from the file that JSON cannot hold, or no image has, are dropped, not a 500."""
    png = _encoded(np.zeros((4, 5, 3), np.uint8), "PNG")
    cases: dict[str, Any] = {
        "legacy/huge": _raw_image_event("legacy/huge", 4, 2**70 - 1, png),
        "legacy/big": _raw_image_event("legacy/big", 2**31, 5, png),
        "legacy/negative": _raw_image_event("legacy/negative", 4, 2**64 - 1, png),
        "legacy/zero": _raw_image_event("legacy/zero", 0, 5, png),
        "legacy/fine": _raw_image_event("legacy/fine", 4, 5, png),
        "tensor/huge": _tensor_image("tensor/huge", b"99999999999999999999", b"4", png),
        "tensor/big": _tensor_image("tensor/big", b"5", b"2147483648", png),
        "tensor/negative": _tensor_image("tensor/negative", b"-5", b"4", png),
        "tensor/spaces": _tensor_image("tensor/spaces", b" 5 ", b"4", png),
        "tensor/fine": _tensor_image("tensor/fine", b"2147483647", b"4", png),
    }
    with SummaryWriter(str(tmp_path / "run")) as writer:
        writer.write_values([_raw_image("legacy/int32", png, -1, 5)], 0, WALL)
    events = EventFileWriter(str(tmp_path / "run"), filename_suffix=".hostile")
    for case in cases.values():
        if isinstance(case, bytes):
            events.add_serialized(case)
        else:
            events.add_event(event_pb2.Event(wall_time=WALL, step=0, summary={"value": [case]}))
    events.close()
    blobs_image_size_cache_clear()
    with lumiboard_client(tmp_path) as client:
        sizes = {}
        for tag in [*cases, "legacy/int32"]:
            response = client.get(f"{IMAGES}/images", params={"run": "run", "tag": tag})
            assert response.status_code == 200, (tag, response.text)
            (entry,) = response.json()
            sizes[tag] = (entry.get("width"), entry.get("height"))
            assert _image(client, entry).content == png
    assert sizes == {
        **dict.fromkeys([*cases, "legacy/int32"], (None, None)),
        "legacy/fine": (5, 4),
        "tensor/fine": (2**31 - 1, 4),
    }
