"""The audio plugin's routes: TensorBoard's shapes and bytes, WAV headers, labels, caching.

Clips written by lumiboard's SummaryWriter (legacy ``Summary.Audio``), its TF2-style API
(``[k, 2]`` tensors, stereo, several clips per step), TensorBoard's v1 form with labels, torch's
SummaryWriter and the TensorFlow fixture (22,050 Hz), served by lumiboard and by TensorBoard.
"""

from __future__ import annotations

import io
import shutil
import wave
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import numpy as np
import orjson
import pytest
from route_support import get_json, get_ok, lumiboard_client, route_fixtures
from starlette.testclient import TestClient
from torch.utils import tensorboard as torch_tb

from lumiboard import SummaryWriter, summary
from lumiboard.plugins.audio import routes
from lumiboard.plugins.audio.data import parse_wav_header
from lumiboard.plugins.audio.summary import audio_tensor_value, encode_wav
from lumiboard.server import blobs

AUDIO = "/data/plugin/audio"
FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "tf2_keras" / "tf_summary"
WALL = 1_700_000_000.0
#: ["x","y",0,"0x1p99999",0,"AAAAAAAAAAA"]: a wall time that float.fromhex overflows on.
OVERFLOWING_KEY = "WyJ4IiwieSIsMCwiMHgxcDk5OTk5IiwwLCJBQUFBQUFBQUFBQSJd"
LABEL = "**bold** <script>alert(1)</script> ü"


def _tone(seconds: float, rate: int, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return 0.5 * np.sin(2 * np.pi * frequency * t)


def _write_logdir(root: Path) -> None:
    with SummaryWriter(str(root / "ours")) as writer:
        for step in range(3):
            writer.add_audio("speech", _tone(0.25 * (step + 1), 16_000), step, 16_000, WALL + step)
        # TensorBoard's v1 `audio.summary.op`: [k, 2] (wav, label) with labels.
        value = audio_tensor_value("labelled", np.zeros((2, 80, 1)), 8_000, max_outputs=2)
        value.tensor.string_val[1] = LABEL.encode()
        value.tensor.string_val[3] = b"second"
        writer.write_values([value], 0, WALL)
    functional_writer = summary.create_file_writer(str(root / "tf2"))
    with functional_writer.as_default(step=0):
        for step in range(2):
            clips = np.random.default_rng(step).uniform(-1, 1, (3, 441, 2))
            summary.audio("stereo", clips, 44_100, step=step, max_outputs=3 if step else 1)
    functional_writer.close()
    torch_writer = torch_tb.SummaryWriter(str(root / "torch"))
    for step in range(2):
        torch_writer.add_audio("sound", _tone(0.1, 8_000), step, sample_rate=8_000, walltime=WALL)
    torch_writer.close()


def _write_all(root: Path) -> None:
    _write_logdir(root)
    if FIXTURE.is_dir():
        shutil.copytree(FIXTURE, root / "tf_fixture")


logdir, client, tensorboard = route_fixtures(_write_all)


def _listing(client: TestClient, run: str, tag: str, sample: int = 0) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = get_json(
        client, f"{AUDIO}/audio", run=run, tag=tag, sample=sample
    )
    return entries


def _clip(client: TestClient, entry: dict[str, Any]) -> Any:
    return get_ok(client, f"{AUDIO}/individualAudio?{entry['query']}")


def test_tags_as_tensorboard(client: TestClient, tensorboard: Any) -> None:
    ours = client.get(f"{AUDIO}/tags").json()
    theirs = orjson.loads(get_ok(tensorboard, f"{AUDIO}/tags").get_data())
    assert set(ours) == set(theirs)
    for run, tags in theirs.items():
        assert set(ours[run]) == set(tags), run
        for tag, info in tags.items():
            assert set(ours[run][tag]) == {"displayName", "description", "samples"}
            assert ours[run][tag]["samples"] == info["samples"], (run, tag)
    assert ours["tf2"]["stereo"]["samples"] == 3
    assert ours["ours"]["labelled"]["samples"] == 2


def test_audio_and_bytes_as_tensorboard(client: TestClient, tensorboard: Any) -> None:
    tags = orjson.loads(get_ok(tensorboard, f"{AUDIO}/tags").get_data())
    compared = 0
    for run, by_tag in tags.items():
        for tag, info in by_tag.items():
            for sample in range(info["samples"]):
                query = urlencode({"run": run, "tag": tag, "sample": sample})
                # TensorBoard's listing keeps steps with exactly `sample` clips (an off-by-one)
                # and then raises IndexError; lumiboard leaves such steps out.
                try:
                    theirs = orjson.loads(get_ok(tensorboard, f"{AUDIO}/audio?{query}").get_data())
                except IndexError:
                    continue
                ours = _listing(client, run, tag, sample)
                served = theirs
                assert [(e["step"], e["wall_time"]) for e in ours] == [
                    (e["step"], e["wall_time"]) for e in served
                ], (run, tag, sample)
                for mine, their in zip(ours, served, strict=True):
                    assert mine["contentType"] == their["contentType"] == "audio/wav"
                    assert parse_qs(mine["query"])["content_type"] == ["audio/wav"]
                    if tag != "labelled":
                        assert mine["label"] == their["label"] == ""
                    theirs_bytes = get_ok(tensorboard, f"{AUDIO}/individualAudio?{their['query']}")
                    response = _clip(client, mine)
                    assert response.content == theirs_bytes.get_data()
                    assert response.headers["content-type"] == "audio/wav"
                    compared += 1
    assert compared >= 10


def test_wav_header_in_the_listing(client: TestClient) -> None:
    entries = _listing(client, "ours", "speech")
    assert [e["step"] for e in entries] == [0, 1, 2]
    for step, entry in enumerate(entries):
        assert entry["sampleRate"] == 16_000
        assert entry["channels"] == 1
        assert entry["bitsPerSample"] == 16
        assert entry["duration"] == pytest.approx(0.25 * (step + 1))
        assert entry["wall_time"] == WALL + step
        with wave.open(io.BytesIO(_clip(client, entry).content)) as wav:
            assert wav.getnframes() == 4_000 * (step + 1)
    stereo = _listing(client, "tf2", "stereo", 2)
    assert [e["step"] for e in stereo] == [1]
    assert (stereo[0]["sampleRate"], stereo[0]["channels"]) == (44_100, 2)
    assert stereo[0]["duration"] == pytest.approx(0.01)
    (torch_entry, _) = _listing(client, "torch", "sound")
    assert (torch_entry["sampleRate"], torch_entry["duration"]) == (8_000, pytest.approx(0.1))


def test_tensorflow_fixture(client: TestClient) -> None:
    if not FIXTURE.is_dir():
        pytest.skip("no shared fixtures")
    tags = client.get(f"{AUDIO}/tags").json()["tf_fixture"]
    for tag in tags:
        entries = _listing(client, "tf_fixture", tag)
        assert entries
        assert {e["sampleRate"] for e in entries} == {22_050}
        assert all(e["duration"] > 0 for e in entries)


def test_labels_are_served_as_written(client: TestClient) -> None:
    (first,) = _listing(client, "ours", "labelled", 0)
    (second,) = _listing(client, "ours", "labelled", 1)
    assert first["label"] == LABEL  # as text: the dashboard shows it, never as HTML
    assert second["label"] == "second"
    assert first["sampleRate"] == 8_000
    assert first["duration"] == pytest.approx(0.01)
    assert _clip(client, first).content != b""


def test_long_labels_are_capped(tmp_path: Path) -> None:
    """A label is cached with its listing: past 4 KiB it is cut, at a character, with "…"."""
    long_label = "é" * 40_000  # 80,000 bytes
    exact = "x" * routes.MAX_LABEL_BYTES
    with SummaryWriter(str(tmp_path / "run")) as writer:
        for step, label in enumerate((long_label, exact, exact + "y")):
            value = audio_tensor_value("labelled", np.zeros((1, 80, 1)), 8_000)
            value.tensor.string_val[1] = label.encode()
            writer.write_values([value], step, WALL)
    routes.read_clip.cache_clear()
    with lumiboard_client(tmp_path) as client:
        labels = [entry["label"] for entry in _listing(client, "run", "labelled")]
    cut, whole, one_over = labels
    assert cut == "é" * ((routes.MAX_LABEL_BYTES - 3) // 2) + "…"
    assert len(cut.encode()) <= routes.MAX_LABEL_BYTES
    assert whole == exact
    assert one_over == "x" * (routes.MAX_LABEL_BYTES - 3) + "…"


def test_content_type_parameter(client: TestClient) -> None:
    (entry, *_) = _listing(client, "ours", "speech")
    key = parse_qs(entry["query"])["blob_key"][0]
    url = f"{AUDIO}/individualAudio"
    plain = client.get(url, params={"blob_key": key})
    assert plain.headers["content-type"] == "audio/wav"
    octet = client.get(url, params={"blob_key": key, "content_type": "application/octet-stream"})
    assert octet.headers["content-type"] == "application/octet-stream"
    assert octet.headers["etag"] != plain.headers["etag"]
    for bad in ("text/html", "audio/wav; charset=x", ""):
        response = client.get(url, params={"blob_key": key, "content_type": bad})
        assert response.status_code == 400, bad
        assert set(response.json()) == {"error"}


def test_caching_and_304(client: TestClient) -> None:
    (entry, *_) = _listing(client, "ours", "speech")
    response = _clip(client, entry)
    etag = response.headers["etag"]
    assert response.headers["cache-control"] == "private, max-age=31536000, immutable"
    cached = client.get(
        f"{AUDIO}/individualAudio?{entry['query']}", headers={"If-None-Match": etag}
    )
    assert cached.status_code == 304
    assert cached.headers["etag"] == etag


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{AUDIO}/audio?tag=speech", 400),
        (f"{AUDIO}/audio?run=ours&tag=speech&sample=-2", 400),
        (f"{AUDIO}/audio?run=nope&tag=speech", 404),
        (f"{AUDIO}/audio?run=ours&tag=nope", 404),
        (f"{AUDIO}/individualAudio", 400),
        (f"{AUDIO}/individualAudio?blob_key=zzz", 400),
        (f"{AUDIO}/individualAudio?blob_key=../../x", 400),
        (f"{AUDIO}/individualAudio?blob_key={OVERFLOWING_KEY}", 400),
    ],
)
def test_bad_parameters(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}


def test_image_key_is_not_audio(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "run")) as writer:
        writer.add_image("picture", np.zeros((3, 2, 2)), 0)
    with lumiboard_client(tmp_path) as client:
        (entry,) = client.get(
            "/data/plugin/images/images", params={"run": "run", "tag": "picture"}
        ).json()
        assert client.get(f"{AUDIO}/individualAudio?{entry['query']}").status_code == 404
        assert client.get(f"{AUDIO}/audio?run=run&tag=picture").status_code == 404


def test_long_audio_is_read_by_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rate = 44_100
    with SummaryWriter(str(tmp_path / "run")) as writer:
        for step in range(3):
            writer.add_audio("long", _tone(30.0, rate), step, sample_rate=rate)
    with lumiboard_client(tmp_path, samples={"audio": 2}) as client:
        read: list[int] = []
        original = blobs.read_range

        def counting(path: str, start: int, end: int) -> bytes:
            read.append(end - start)
            return original(path, start, end)

        monkeypatch.setattr(blobs, "read_range", counting)
        routes.read_clip.cache_clear()
        entries = _listing(client, "run", "long")
        assert [e["step"] for e in entries][-1] == 2
        assert len(entries) == 2  # --samples_per_plugin audio=2
        assert all(e["duration"] == pytest.approx(30.0) for e in entries)
        # Each clip's 2.6 MB stay on disk: one window of each is read for its header.
        assert sum(read) <= 2 * blobs.WINDOW
        assert len(_clip(client, entries[0]).content) == 44 + 2 * 30 * rate


def test_wav_header_parser() -> None:
    wav = encode_wav(np.zeros((1000, 2)), 22_050)
    header = parse_wav_header(wav[:64], len(wav))
    assert header is not None
    assert (header.sample_rate, header.channels, header.bits_per_sample) == (22_050, 2, 16)
    assert header.frames == 1000
    # A data chunk that claims more than there is: capped by the bytes there are.
    assert parse_wav_header(wav[:64], 44 + 400) == type(header)(22_050, 2, 16, 100)
    for bad in (b"", b"RIFF", b"RIFX" + wav[4:64], wav[:20], b"RIFF\0\0\0\0WAVEdata\0\0\0\0"):
        assert parse_wav_header(bad, len(wav)) is None
