"""Remote log directories (``s3://`` on a local moto server, ``memory://``).

What the writer uploads is downloaded and read back with tensorboard's own
reader (``EventFileLoader`` per file, ``EventAccumulator`` per run), so these
tests check what a user would see, not our reading of our own bytes.
"""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from google.protobuf import text_format
from PIL import Image

from lumiboard.format.proto import event_pb2, summary_pb2
from lumiboard.writer.event_file import FILE_VERSION, EventFileWriter, EventWriteError
from lumiboard.writer.summary_writer import SummaryWriter

if TYPE_CHECKING:
    from conftest import S3Server  # the s3_server and s3_run fixtures

fsspec = pytest.importorskip("fsspec")
s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
event_file_loader = pytest.importorskip("tensorboard.backend.event_processing.event_file_loader")
tensor_util = pytest.importorskip("tensorboard.util.tensor_util")
hparams_pb2 = pytest.importorskip("tensorboard.plugins.hparams.plugin_data_pb2")
projector_config_pb2 = pytest.importorskip("tensorboard.plugins.projector.projector_config_pb2")

KEEP_ALL = {
    event_accumulator.SCALARS: 0,
    event_accumulator.IMAGES: 0,
    event_accumulator.TENSORS: 0,
}


# ---- helpers ----------------------------------------------------------------


def key(url: str) -> str:
    return url.removeprefix("s3://")


def event_files(client: Any, url: str) -> list[str]:
    """Event files directly under ``url``, in name order (the order readers use)."""
    names = [path for path in client.ls(key(url), detail=False) if "tfevents" in path]
    return sorted(names)


def mirror(client: Any, url: str, local: Path) -> Path:
    """Download everything under ``url`` into ``local``, keeping the layout."""
    prefix = key(url).rstrip("/")
    for path in client.find(prefix):
        target = local / path[len(prefix) + 1 :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(client.cat_file(path))
    return local


def load_events(data: bytes, tmp_path: Path) -> list[Any]:
    """Events of one file, through tensorboard's own loader."""
    local = tmp_path / f"events.out.tfevents.{uuid.uuid4().hex}"
    local.write_bytes(data)
    return list(event_file_loader.EventFileLoader(str(local)).Load())


def accumulate(directory: Path) -> Any:
    accumulator = event_accumulator.EventAccumulator(str(directory), size_guidance=KEEP_ALL)
    accumulator.Reload()
    return accumulator


def scalar_points(accumulator: Any, tag: str) -> list[tuple[int, float]]:
    return [(event.step, round(event.value, 5)) for event in accumulator.Scalars(tag)]


def scalar_event(step: int) -> event_pb2.Event:
    value = summary_pb2.Summary.Value(tag="x", simple_value=float(step))
    return event_pb2.Event(step=step, wall_time=1.0, summary=summary_pb2.Summary(value=[value]))


def event_values(event: Any) -> tuple[int, float]:
    """(step, value) of a scalar event as EventFileLoader gives it (a rank-0 tensor)."""
    (value,) = event.summary.value
    return event.step, float(tensor_util.make_ndarray(value.tensor))


# ---- s3:// --------------------------------------------------------------------


def test_scalars_images_text_reach_s3(s3_server: S3Server, s3_run: str, tmp_path: Path) -> None:
    image = np.random.default_rng(0).integers(0, 256, size=(3, 8, 6), dtype=np.uint8)
    with SummaryWriter(s3_run) as writer:
        for step in range(10):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
        writer.add_image("input", image, 3)
        writer.add_text("note", "hello **s3**", 4)

    accumulator = accumulate(mirror(s3_server.client, s3_run, tmp_path / "run"))
    assert scalar_points(accumulator, "loss") == [(s, round(1.0 / (s + 1), 5)) for s in range(10)]
    (png,) = accumulator.Images("input")
    assert (png.step, png.width, png.height) == (3, 6, 8)
    decoded = np.asarray(Image.open(io.BytesIO(png.encoded_image_string)))
    np.testing.assert_array_equal(decoded, image.transpose(1, 2, 0))
    (note,) = accumulator.Tensors("note/text_summary")
    assert note.step == 4
    assert tensor_util.make_ndarray(note.tensor_proto).item() == b"hello **s3**"


def test_flush_makes_events_visible_before_close(
    s3_server: S3Server, s3_run: str, tmp_path: Path
) -> None:
    # No timer flush and no queue-triggered write during the test: only flush().
    writer = SummaryWriter(s3_run, max_queue=1000, flush_secs=3600)
    try:
        for step in range(5):
            writer.add_scalar("loss", float(step), step)
        writer.flush()
        (name,) = event_files(s3_server.client, s3_run)
        events = load_events(s3_server.client.cat_file(name), tmp_path)
        assert events[0].file_version == FILE_VERSION
        assert [event_values(e) for e in events[1:]] == [(s, float(s)) for s in range(5)]

        # The segment is uploaded whole again: one object, every event so far.
        for step in range(5, 8):
            writer.add_scalar("loss", float(step), step)
        writer.flush()
        assert event_files(s3_server.client, s3_run) == [name]
        events = load_events(s3_server.client.cat_file(name), tmp_path)
        assert [event_values(e) for e in events[1:]] == [(s, float(s)) for s in range(8)]
    finally:
        writer.close()


def test_segments_rotate_without_losing_or_repeating_events(
    s3_server: S3Server, s3_run: str, tmp_path: Path
) -> None:
    count, segment_bytes = 120, 600
    writer = EventFileWriter(s3_run, max_queue=7, flush_secs=3600, segment_bytes=segment_bytes)
    for step in range(count):
        writer.add_event(scalar_event(step))
        if step % 25 == 0:
            writer.flush()  # flushes mid-segment re-upload a segment that later grows
    writer.close()

    names = event_files(s3_server.client, s3_run)
    assert len(names) >= 5
    steps: list[int] = []
    for name in names:
        data = s3_server.client.cat_file(name)
        events = load_events(data, tmp_path)
        assert events[0].file_version == FILE_VERSION, name
        assert all(not e.file_version for e in events[1:]), name
        steps += [event_values(e)[0] for e in events[1:]]
        if name != names[-1]:
            assert len(data) >= segment_bytes, name
    # In name order the files hold every event once, in the order written.
    assert steps == list(range(count))


def test_add_scalars_writes_one_s3_run_per_key(
    s3_server: S3Server, s3_run: str, tmp_path: Path
) -> None:
    with SummaryWriter(s3_run) as writer:
        for step in range(3):
            writer.add_scalars("loss", {"train": step + 0.5, "val": step + 0.25}, step)

    local = mirror(s3_server.client, s3_run, tmp_path / "run")
    assert sorted(p.name for p in local.iterdir() if p.is_dir()) == ["loss_train", "loss_val"]
    train = accumulate(local / "loss_train")
    val = accumulate(local / "loss_val")
    assert scalar_points(train, "loss") == [(0, 0.5), (1, 1.5), (2, 2.5)]
    assert scalar_points(val, "loss") == [(0, 0.25), (1, 1.25), (2, 2.25)]


def test_add_hparams_writes_a_trial_run_on_s3(
    s3_server: S3Server, s3_run: str, tmp_path: Path
) -> None:
    with SummaryWriter(s3_run) as writer:
        writer.add_hparams(
            {"lr": 0.1, "optim": "adam"}, {"hparam/accuracy": 0.75}, run_name="trial"
        )

    accumulator = accumulate(mirror(s3_server.client, s3_run, tmp_path / "run") / "trial")
    assert scalar_points(accumulator, "hparam/accuracy") == [(0, 0.75)]
    content = accumulator.PluginTagToContent("hparams")
    assert set(content) >= {"_hparams_/experiment", "_hparams_/session_start_info"}
    start = hparams_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["lr"].number_value == pytest.approx(0.1)
    assert hparams["optim"].string_value == "adam"
    experiment = hparams_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    assert [m.name.tag for m in experiment.experiment.metric_infos] == ["hparam/accuracy"]


def test_add_embedding_writes_projector_files_to_s3(s3_server: S3Server, s3_run: str) -> None:
    mat = np.arange(12, dtype=np.float32).reshape(4, 3) / 8
    labels = ["a", "b", "c", "d"]
    thumbnails = np.zeros((4, 3, 5, 5), dtype=np.float32)
    with SummaryWriter(s3_run) as writer:
        writer.add_embedding(mat, metadata=labels, label_img=thumbnails, tag="features")
    # A second writer on the same run adds to the config it finds on S3.
    with SummaryWriter(s3_run) as writer:
        writer.add_embedding(mat * 2, global_step=1, tag="other")

    client, root = s3_server.client, key(s3_run)
    config = projector_config_pb2.ProjectorConfig()
    text_format.Parse(client.cat_file(f"{root}/projector_config.pbtxt").decode(), config)
    first, second = config.embeddings
    assert first.tensor_name == "features:00000"
    assert list(first.tensor_shape) == [4, 3]
    tensors = np.loadtxt(io.BytesIO(client.cat_file(f"{root}/{first.tensor_path}")), ndmin=2)
    np.testing.assert_allclose(tensors, mat, rtol=1e-6)
    metadata = client.cat_file(f"{root}/{first.metadata_path}").decode().split()
    assert metadata == labels
    sprite = Image.open(io.BytesIO(client.cat_file(f"{root}/{first.sprite.image_path}")))
    assert sprite.format == "PNG"
    assert list(first.sprite.single_image_dim) == [5, 5]
    assert second.tensor_name == "other:00001"
    tensors = np.loadtxt(io.BytesIO(client.cat_file(f"{root}/{second.tensor_path}")), ndmin=2)
    np.testing.assert_allclose(tensors, mat * 2, rtol=1e-6)


def test_upload_error_is_raised_by_flush_and_close(s3_server: S3Server) -> None:
    missing = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/run"
    writer = EventFileWriter(missing, flush_secs=3600)
    writer.add_event(scalar_event(1))
    with pytest.raises(RuntimeError, match="could not write to s3://no-such-bucket-"):
        writer.flush()
    # The events are kept and the upload tried again: close fails too, loudly.
    with pytest.raises(RuntimeError, match="bucket"):
        writer.close()
    # Writing never creates a bucket (a typo in a URL must not make a new one).
    assert not s3_server.client.exists(key(missing).split("/")[0])


def test_failed_upload_is_retried_whole(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = f"late-bucket-{uuid.uuid4().hex[:8]}"
    writer = EventFileWriter(f"s3://{bucket}/run", flush_secs=3600)
    writer.add_event(scalar_event(1))
    with pytest.raises(RuntimeError):
        writer.flush()
    s3_server.client.mkdir(bucket)  # the outage ends
    # Until a retry succeeds, new events are refused (not queued) ...
    with pytest.raises(EventWriteError, match="this event was not added"):
        writer.add_event(scalar_event(99))
    writer.flush()  # ... the retry uploads the kept event
    writer.add_event(scalar_event(2))
    writer.close()
    (name,) = event_files(s3_server.client, f"s3://{bucket}/run")
    events = load_events(s3_server.client.cat_file(name), tmp_path)
    assert events[0].file_version == FILE_VERSION
    assert [event_values(e) for e in events[1:]] == [(1, 1.0), (2, 2.0)]


def test_summary_writer_close_raises_upload_error(s3_server: S3Server) -> None:
    writer = SummaryWriter(f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/run", flush_secs=3600)
    writer.add_scalar("loss", 1.0, 1)
    with pytest.raises(RuntimeError, match="could not write"):
        writer.close()


@pytest.mark.slow
def test_unclosed_writer_uploads_at_interpreter_exit(
    s3_server: S3Server, s3_run: str, tmp_path: Path
) -> None:
    script = (
        "import sys\n"
        "from lumiboard.writer.summary_writer import SummaryWriter\n"
        "writer = SummaryWriter(sys.argv[1], flush_secs=3600)\n"
        "writer.add_scalar('loss', 1.0, 1)\n"
        "writer.flush()\n"
        "writer.add_scalar('loss', 2.0, 2)\n"  # left for the exit hook
    )
    # The child reads this when it imports fsspec (the parent's config is not inherited).
    env = {**os.environ, "FSSPEC_S3_ENDPOINT_URL": s3_server.endpoint_url}
    subprocess.run([sys.executable, "-c", script, s3_run], env=env, check=True, timeout=60)
    (name,) = event_files(s3_server.client, s3_run)
    events = load_events(s3_server.client.cat_file(name), tmp_path)
    assert [e.step for e in events[1:]] == [1, 2]


# ---- memory:// and missing backends -------------------------------------------------


def test_memory_filesystem(tmp_path: Path) -> None:
    memory = fsspec.filesystem("memory")
    url = f"memory://lumiboard-test/{uuid.uuid4().hex[:12]}"
    try:
        with SummaryWriter(url) as writer:
            for step in range(4):
                writer.add_scalar("loss", step * 0.5, step)
            writer.add_embedding(np.eye(3, dtype=np.float32))
        (name,) = [p for p in memory.ls(url, detail=False) if "tfevents" in p]
        events = load_events(memory.cat_file(name), tmp_path)
        assert events[0].file_version == FILE_VERSION
        assert [event_values(e) for e in events[1:]] == [(s, s * 0.5) for s in range(4)]
        assert memory.exists(f"{url}/projector_config.pbtxt")
        assert memory.exists(f"{url}/00000/default/tensors.tsv")
    finally:
        if memory.exists(url):
            memory.rm(url, recursive=True)


def test_unknown_scheme_says_what_to_install() -> None:
    with pytest.raises(ValueError, match=r"nosuchfs://.*pip install 'lumiboard\[s3\]'"):
        SummaryWriter("nosuchfs://bucket/run")


def test_missing_backend_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if s3fs were not installed: fsspec must import it again, and fails.
    registry = importlib.import_module("fsspec.registry")
    monkeypatch.delitem(registry._registry, "s3", raising=False)
    monkeypatch.setitem(sys.modules, "s3fs", None)
    with pytest.raises(
        ImportError, match=r"'s3fs' package for s3://: pip install 'lumiboard\[s3\]'"
    ):
        SummaryWriter("s3://bucket/run")
