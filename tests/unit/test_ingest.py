"""Reading event files into the store: purges, several files, damage, limits, remote logdirs.

Where TensorBoard has a rule (purges, sampling), the expected values come from
its own loader (``EventMultiplexer``) on the same files. Scalars are compared
after a stable sort by step: lumiboard serves a series sorted by step, where
TensorBoard keeps arrival order.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.backend.event_processing.plugin_event_accumulator import TENSORS
from tensorboard.compat.proto import graph_pb2, meta_graph_pb2, node_def_pb2
from tensorboard.util import tensor_util

from lumiboard import SummaryWriter
from lumiboard.format.proto import event_pb2, summary_pb2
from lumiboard.format.tensors import encode_tensor
from lumiboard.format.tfrecord import Record, encode_record, read_records
from lumiboard.plugins.scalars.summary import tensor_scalar_value
from lumiboard.reader import ingest, tail
from lumiboard.reader.reload import Reloader
from lumiboard.store.provider import Provider
from lumiboard.store.runs import BlobPoint

WALL = 1_600_000_000.0
VERSION = "brain.Event:2"
#: Written by real TensorFlow (scripts/make_tf1_restart_fixture.py).
TF1_RESTART = Path(__file__).resolve().parents[1] / "fixtures" / "tf1_restart"


# ---- building event files by hand ----------------------------------------------------


def scalars_event(step: int, **values: float) -> event_pb2.Event:
    event = event_pb2.Event(step=step, wall_time=WALL + step)
    for tag, value in values.items():
        event.summary.value.add(tag=tag, simple_value=value)
    return event


def histogram_event(step: int, tag: str = "h") -> event_pb2.Event:
    event = event_pb2.Event(step=step, wall_time=WALL + step)
    histo = summary_pb2.HistogramProto(
        min=0.0, max=float(step + 1), num=2, sum=1.0, bucket_limit=[1.0, 2.0], bucket=[1, 1]
    )
    event.summary.value.add(tag=tag, histo=histo)
    return event


def start_event(step: int) -> event_pb2.Event:
    return event_pb2.Event(
        step=step,
        wall_time=WALL + step,
        session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START),
    )


def version_event() -> event_pb2.Event:
    return event_pb2.Event(wall_time=WALL, file_version=VERSION)


def encode(events: list[event_pb2.Event]) -> bytes:
    return b"".join(encode_record(event.SerializeToString()) for event in events)


def write_events(path: Path, events: list[event_pb2.Event]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(events))
    return path


def event_file(directory: Path, number: int = 1) -> Path:
    return directory / f"events.out.tfevents.{1_600_000_000 + number}.host.{number}"


def the_file(directory: Path) -> Path:
    (path,) = directory.glob("*tfevents*")
    return path


# ---- reading ------------------------------------------------------------------------


def load(logdir: Path | str, **options: Any) -> tuple[Reloader, Provider]:
    reloader = Reloader(str(logdir), **options)
    reloader.reload()
    return reloader, Provider(reloader.runs)


def points(provider: Provider, run: str, tag: str) -> list[tuple[int, float, float]]:
    columns = provider.read_scalars(run, tag)
    return list(
        zip(columns.step.tolist(), columns.wall_time.tolist(), columns.value.tolist(), strict=True)
    )


def steps(provider: Provider, run: str, tag: str) -> list[int]:
    return [int(step) for step in provider.read_scalars(run, tag).step]


def tensorboard(logdir: Path, **sizes: int) -> plugin_event_multiplexer.EventMultiplexer:
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        size_guidance={TENSORS: 0}, tensor_size_guidance=sizes or None
    )
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    return multiplexer


def assert_matches_tensorboard(logdir: Path) -> None:
    """Every series of every run as TensorBoard keeps it (all points kept)."""
    tb = tensorboard(logdir)
    ours = load(logdir)[1]
    assert sorted(ours.list_runs()) == sorted(tb.Runs())
    for run in tb.Runs():
        accumulator = tb.GetAccumulator(run)
        tb_tags = set(accumulator.Tags()[TENSORS])
        assert set(ours.list_tags(runs=[run]).get(run, {})) == {
            tag for tag in tb_tags if accumulator.Tensors(tag)
        }
        for tag in tb_tags:
            events = accumulator.Tensors(tag)
            kind = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
            if kind == "scalars":
                expected = sorted(
                    (
                        (e.step, e.wall_time, float(tensor_util.make_ndarray(e.tensor_proto)))
                        for e in events
                    ),
                    key=lambda point: point[0],
                )
                assert points(ours, run, tag) == expected, tag
            elif events:
                kept = ours.read_tensors(run, tag)
                assert [(p.step, p.wall_time) for p in kept] == [
                    (e.step, e.wall_time) for e in events
                ], tag
                for point, event in zip(kept, events, strict=True):
                    np.testing.assert_array_equal(
                        point.array, tensor_util.make_ndarray(event.tensor_proto)
                    )


# ---- purges ---------------------------------------------------------------------


def test_restart_in_one_file_purges_every_tag_as_tensorboard(tmp_path: Path) -> None:
    events = [version_event(), start_event(0)]  # a first START (TF1's session start)
    events += [scalars_event(s, a=s, b=-s) for s in range(10)]
    events += [histogram_event(s) for s in range(10)]
    events += [start_event(4)]  # a restart at step 4: steps >= 4 are orphaned
    events += [scalars_event(s, a=10 * s) for s in range(4, 7)]
    events += [histogram_event(5)]
    write_events(event_file(tmp_path), events)
    assert_matches_tensorboard(tmp_path)
    ours = load(tmp_path)[1]
    assert steps(ours, ".", "a") == [0, 1, 2, 3, 4, 5, 6]
    assert steps(ours, ".", "b") == [0, 1, 2, 3]
    assert [p.step for p in ours.read_tensors(".", "h")] == [0, 1, 2, 3, 5]


def test_first_start_of_a_run_is_a_session_start_not_a_restart(tmp_path: Path) -> None:
    # TensorBoard ignores the first START of a run: TF1's Supervisor writes one
    # when a session starts, possibly after the first events at that step.
    events = [version_event(), scalars_event(0, a=1.0), scalars_event(1, a=2.0), start_event(0)]
    events += [scalars_event(2, a=3.0)]
    write_events(event_file(tmp_path), events)
    assert_matches_tensorboard(tmp_path)
    assert steps(load(tmp_path)[1], ".", "a") == [0, 1, 2]


def test_tf1_job_restarted_once_keeps_every_point_as_tensorboard() -> None:
    # Steps 0..9 in the first file; the restarted job's file starts with the
    # run's only SessionLog.START, at step 5, then steps 5..12. That START is
    # the run's first: TensorBoard keeps all 18 points, and so do we.
    assert_matches_tensorboard(TF1_RESTART)
    kept = [event.step for event in tensorboard(TF1_RESTART).Tensors(".", "loss")]
    assert kept == [*range(10), *range(5, 13)]
    assert steps(load(TF1_RESTART)[1], ".", "loss") == sorted(kept)


def test_a_later_first_start_purges_only_as_a_writers_purge_step(tmp_path: Path) -> None:
    # A file version at the START's step right before it is what purge_step
    # writes; anything in between, or another step, and it is a plain START.
    write_events(
        event_file(tmp_path, 1), [version_event(), *(scalars_event(s, a=s) for s in range(6))]
    )
    marker = event_pb2.Event(step=3, wall_time=WALL, file_version=VERSION)
    write_events(
        event_file(tmp_path, 2),
        [version_event(), marker, scalars_event(2, b=1.0), start_event(3), scalars_event(3, a=30)],
    )
    assert_matches_tensorboard(tmp_path)
    write_events(event_file(tmp_path, 2), [version_event(), marker, start_event(3)])
    assert steps(load(tmp_path)[1], ".", "a") == [0, 1, 2]


def test_purge_step_of_lumiboards_writer_drops_the_orphans(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as writer:
        for step in range(10):
            writer.add_scalar("loss", step, step, walltime=WALL + step)
    time.sleep(1.05)  # the second file's name sorts after the first's
    with SummaryWriter(tmp_path, purge_step=5) as writer:
        writer.add_scalar("loss", 105, 5, walltime=WALL + 105)
    assert steps(load(tmp_path)[1], ".", "loss") == [0, 1, 2, 3, 4, 5]


def test_purge_step_of_a_resumed_job_drops_the_orphans(tmp_path: Path) -> None:
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    with torch_tb.SummaryWriter(tmp_path) as writer:
        for step in range(10):
            writer.add_scalar("loss", step, step, walltime=WALL + step)
            writer.add_histogram("w", np.arange(step + 2), step, walltime=WALL + step)
    time.sleep(1.05)  # the second file's name sorts after the first's
    with torch_tb.SummaryWriter(tmp_path, purge_step=5) as writer:
        for step in range(5, 8):
            writer.add_scalar("loss", 100 + step, step, walltime=WALL + 100 + step)
    assert len(list(tmp_path.glob("*tfevents*"))) == 2

    ours = load(tmp_path)[1]
    assert points(ours, ".", "loss") == [(s, WALL + s, s) for s in range(5)] + [
        (s, WALL + 100 + s, 100 + s) for s in range(5, 8)
    ]
    assert [p.step for p in ours.read_tensors(".", "w")] == [0, 1, 2, 3, 4]
    # A documented difference: the resumed job's START is the run's first, so
    # TensorBoard's Python loader keeps the orphans (its Rust loader drops
    # them as steps go back); lumiboard purges on a writer's purge_step START
    # (a file version at its step right before it), the run's first or not.
    kept = [event.step for event in tensorboard(tmp_path).Tensors(".", "loss")]
    assert kept == [*range(10), 5, 6, 7]


def test_start_without_file_version_purges_nothing(tmp_path: Path) -> None:
    events = [scalars_event(s, a=s) for s in range(5)] + [start_event(0), start_event(2)]
    events += [scalars_event(5, a=5.0)]
    write_events(event_file(tmp_path), events)
    assert_matches_tensorboard(tmp_path)
    assert steps(load(tmp_path)[1], ".", "a") == [0, 1, 2, 3, 4, 5]


def test_step_going_back_without_file_version_purges_as_tensorboard(tmp_path: Path) -> None:
    # Without a file version TensorBoard compares each summary event's step
    # with the previous summary event's (any tag) and purges the event's own tags.
    events = [scalars_event(s, a=s) for s in range(11)]
    events += [scalars_event(5, b=5.0)]  # b is new: nothing to purge; the step is now 5
    events += [scalars_event(6, a=66.0)]  # 6 > 5: no purge, a keeps 6..10 as well
    events += [histogram_event(9), histogram_event(2)]  # h purged from 2
    events += [scalars_event(1, b=1.0, c=1.0)]  # b purged from 1; a untouched
    write_events(event_file(tmp_path), events)
    assert_matches_tensorboard(tmp_path)
    ours = load(tmp_path)[1]
    assert steps(ours, ".", "a") == [0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10]
    assert steps(ours, ".", "b") == [1]
    assert [p.step for p in ours.read_tensors(".", "h")] == [2]


# A random event file: (kind, step) items; Hypothesis shrinks to the smallest
# file where lumiboard and TensorBoard disagree.
_ITEMS = st.lists(
    st.tuples(st.sampled_from(["a", "b", "ab", "h", "ah", "start"]), st.integers(0, 6)),
    max_size=25,
)


def _event(kind: str, step: int) -> event_pb2.Event:
    if kind == "start":
        return start_event(step)
    event = scalars_event(step, **{tag: float(step) for tag in kind if tag != "h"})
    if "h" in kind:
        event.summary.value.extend(histogram_event(step).summary.value)
    return event


@contextlib.contextmanager
def chunk_bytes(size: int) -> Iterator[None]:
    """Read in chunks of ``size`` bytes (a fixture cannot vary per Hypothesis example)."""
    saved = tail.CHUNK_BYTES
    tail.CHUNK_BYTES = size
    try:
        yield
    finally:
        tail.CHUNK_BYTES = saved


#: Chunk sizes: smaller than one record, a few records, the default.
_CHUNKS = st.sampled_from([40, 200, tail.CHUNK_BYTES])


@given(st.booleans(), _ITEMS, _ITEMS, _CHUNKS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_purges_match_tensorboard(
    versioned: bool, first: list[tuple[str, int]], second: list[tuple[str, int]], chunk: int
) -> None:
    # A first START in the second file keeps the orphans, as TensorBoard's
    # (test_tf1_job_restarted_once_keeps_every_point_as_tensorboard).
    with tempfile.TemporaryDirectory() as directory:
        logdir = Path(directory)
        header = [version_event()] if versioned else []
        write_events(event_file(logdir, 1), header + [_event(*item) for item in first])
        if second:
            write_events(event_file(logdir, 2), header + [_event(*item) for item in second])
        with chunk_bytes(chunk):
            assert_matches_tensorboard(logdir)


# ---- several files in a run ------------------------------------------------------


def test_two_writers_in_one_directory_are_both_read(tmp_path: Path) -> None:
    first = SummaryWriter(tmp_path, flush_secs=60)
    second = SummaryWriter(tmp_path, flush_secs=60)
    for step in range(20):
        first.add_scalar("loss", step, step, walltime=WALL + step)
        second.add_scalar("acc", -step, step, walltime=WALL + step)
        first.add_scalar("shared", step, 2 * step, walltime=WALL + step)
        second.add_scalar("shared", -step, 2 * step + 1, walltime=WALL + step)
    first.close()
    second.close()
    assert len(list(tmp_path.glob("*tfevents*"))) == 2
    assert_matches_tensorboard(tmp_path)
    ours = load(tmp_path)[1]
    assert steps(ours, ".", "shared") == list(range(40))
    assert len(ours.read_scalars(".", "loss").step) == 20


def test_every_file_is_tailed_not_only_the_newest(tmp_path: Path) -> None:
    reloader = Reloader(str(tmp_path))
    provider = Provider(reloader.runs)
    old = SummaryWriter(tmp_path, flush_secs=60)
    for step in range(5):
        old.add_scalar("loss", step, step)
    old.flush()
    reloader.reload()
    assert steps(provider, ".", "loss") == [0, 1, 2, 3, 4]

    new = SummaryWriter(tmp_path, flush_secs=60)  # e.g. an evaluation job
    new.add_scalar("val", 1.0, 4)
    new.flush()
    reloader.reload()
    for step in range(5, 10):  # the older file keeps growing
        old.add_scalar("loss", step, step)
    old.flush()
    reloader.reload()
    old.close()
    new.close()
    # TensorBoard's Python loader never goes back to a file once a newer one
    # exists; every file is read here.
    assert steps(provider, ".", "loss") == list(range(10))
    assert steps(provider, ".", "val") == [4]


def test_files_are_read_in_name_order(tmp_path: Path) -> None:
    write_events(event_file(tmp_path, 2), [version_event(), scalars_event(1, a=20.0)])
    write_events(event_file(tmp_path, 1), [version_event(), scalars_event(1, a=10.0)])
    # Equal steps keep the order read: the file named first comes first.
    assert points(load(tmp_path)[1], ".", "a") == [(1, WALL + 1, 10.0), (1, WALL + 1, 20.0)]


# ---- growing, damaged and replaced files --------------------------------------------


def test_truncated_last_record_is_retried_not_damage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = encode([version_event(), *(scalars_event(s, a=s) for s in range(10))])
    path = event_file(tmp_path)
    for cut in (len(data) - 1, len(data) - 20, len(data) - 30):
        path.write_bytes(data[:cut])
        reloader, provider = load(tmp_path)
        assert steps(provider, ".", "a") == list(range(9))
        with path.open("ab") as handle:
            handle.write(data[cut:])
        reloader.reload()
        assert steps(provider, ".", "a") == list(range(10))
        assert reloader.runs["."].skipped == {}
    assert not caplog.records


def test_bad_checksum_is_skipped_counted_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    records = [encode([version_event()])] + [encode([scalars_event(s, a=s)]) for s in range(10)]
    for index in (3, 6):  # flip a payload byte of the events at steps 2 and 5
        damaged = bytearray(records[index])
        damaged[14] ^= 0x40
        records[index] = bytes(damaged)
    write_events(event_file(tmp_path), [])
    event_file(tmp_path).write_bytes(b"".join(records))
    with caplog.at_level(logging.WARNING, logger="lumiboard.reader.ingest"):
        reloader, provider = load(tmp_path)
        reloader.reload()
    assert steps(provider, ".", "a") == [0, 1, 3, 4, 6, 7, 8, 9]
    assert sum(reloader.runs["."].skipped.values()) == 2
    messages = [r.getMessage() for r in caplog.records if "checksum" in r.getMessage()]
    assert len(messages) == 1, messages


def test_bad_length_checksum_costs_one_record(tmp_path: Path) -> None:
    records = [encode([version_event()])] + [encode([scalars_event(s, a=s)]) for s in range(6)]
    damaged = bytearray(records[4])
    damaged[2] ^= 0x01  # the length: reading resyncs at the next whole frame
    records[4] = bytes(damaged)
    event_file(tmp_path).write_bytes(b"".join(records))
    reloader, provider = load(tmp_path)
    reloader.reload()
    assert steps(provider, ".", "a") == [0, 1, 2, 4, 5]
    assert sum(reloader.runs["."].skipped.values()) == 1


def test_undecodable_records_are_counted(tmp_path: Path) -> None:
    bad_histogram = event_pb2.Event(step=3, wall_time=WALL)
    bad_histogram.summary.value.add(tag="h", histo=summary_pb2.HistogramProto(bucket=[1, 1, 1]))
    data = (
        encode([version_event(), scalars_event(1, a=1.0), histogram_event(1)])
        + encode_record(b"\xff\xff\xff\xff not an Event")  # valid CRC, bad payload
        + encode([bad_histogram, scalars_event(2, a=2.0)])
    )
    event_file(tmp_path).write_bytes(data)
    reloader, provider = load(tmp_path)
    assert steps(provider, ".", "a") == [1, 2]
    assert [p.step for p in provider.read_tensors(".", "h")] == [1]
    assert reloader.runs["."].skipped == {"": 1, "h": 1}


def test_values_that_cannot_be_read_are_counted_per_tag(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pair = event_pb2.Event(step=2, wall_time=WALL)
    pair.summary.value.append(tensor_scalar_value("loss", 0.0))
    pair.summary.value[0].tensor.CopyFrom(encode_tensor(np.zeros(2, np.float32)))
    foreign = event_pb2.Event(step=1, wall_time=WALL)
    foreign.summary.value.add(tag="other", tensor=encode_tensor(np.ones(3, np.float32)))
    foreign.summary.value[0].metadata.plugin_data.plugin_name = "no_such_plugin"
    odd_version = event_pb2.Event(wall_time=WALL, file_version="brain.Event:two")
    events = [odd_version, scalars_event(1, loss=1.0), foreign, pair, pair]
    write_events(event_file(tmp_path), [*events, scalars_event(3, loss=3.0)])
    with caplog.at_level(logging.WARNING, logger="lumiboard.reader.ingest"):
        reloader, provider = load(tmp_path)
    assert steps(provider, ".", "loss") == [1, 3]
    assert reloader.runs["."].skipped == {"loss": 2}
    assert sum("skipped" in record.getMessage() for record in caplog.records) == 1
    assert any("unknown file version" in record.getMessage() for record in caplog.records)
    # Values of a plugin lumiboard has no reader for are not kept (TensorBoard
    # keeps them as tensors that no dashboard shows): a documented difference.
    assert "other" not in provider.run(".").tags
    assert tensorboard(tmp_path).PluginRunToTagToContent("no_such_plugin") == {".": {"other": b""}}


def test_file_unreadable_during_a_pass_is_read_on_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    write_events(event_file(tmp_path), [version_event(), scalars_event(1, a=1.0)])
    write_events(event_file(tmp_path / "other"), [version_event(), scalars_event(1, b=1.0)])
    caplog.set_level(logging.INFO, logger="lumiboard.reader.reload")
    reloader = Reloader(str(tmp_path))
    provider = Provider(reloader.runs)

    def vanished(path: str, start: int, end: int) -> bytes:
        raise FileNotFoundError(path)

    with monkeypatch.context() as patch:
        patch.setattr(ingest, "read_range", vanished)
        reloader.reload()  # reported, never raised
    assert any("tfevents" in record.getMessage() for record in caplog.records)
    assert provider.list_tags() == {}
    reloader.reload()
    assert steps(provider, ".", "a") == [1]
    assert steps(provider, "other", "b") == [1]


def test_replaced_shorter_file_reloads_the_run(tmp_path: Path) -> None:
    path = write_events(
        event_file(tmp_path), [version_event(), *(scalars_event(s, a=s) for s in range(10))]
    )
    write_events(event_file(tmp_path, 2), [version_event(), scalars_event(20, b=1.0)])
    reloader, provider = load(tmp_path)
    assert steps(provider, ".", "a") == list(range(10))
    write_events(path, [version_event(), scalars_event(0, c=1.0)])  # e.g. rsync'ed over
    reloader.reload()
    assert "a" not in provider.list_tags()["."]
    assert steps(provider, ".", "c") == [0]
    assert steps(provider, ".", "b") == [20]


def png(size: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


def image_event(step: int, image: bytes, tag: str = "image") -> event_pb2.Event:
    event = event_pb2.Event(step=step, wall_time=WALL + step)
    event.summary.value.add(
        tag=tag, image=summary_pb2.Summary.Image(height=1, width=1, encoded_image_string=image)
    )
    return event


def test_records_larger_than_a_chunk_are_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tail, "CHUNK_BYTES", 4096)
    images = [png(64, seed) for seed in range(3)]  # ~12 KB each
    events = [version_event(), scalars_event(0, a=0.0)]
    for step, image in enumerate(images):
        events += [image_event(step, image), scalars_event(step + 1, a=step + 1)]
    data = encode(events)
    path = event_file(tmp_path)
    path.write_bytes(data[: len(data) - 5000])  # the last image still being written
    reloader, provider = load(tmp_path)
    assert len(provider.read_blob_sequence(".", "image")) == 2
    path.write_bytes(data)
    reloader.reload()
    kept = provider.read_blob_sequence(".", "image")
    assert [provider.read_blob(point.ref) for point in kept] == images
    assert steps(provider, ".", "a") == [0, 1, 2, 3]


def test_graph_inside_a_meta_graph_is_served_as_a_graph(tmp_path: Path) -> None:
    graph = graph_pb2.GraphDef(
        node=[
            node_def_pb2.NodeDef(name="x", op="Const"),
            node_def_pb2.NodeDef(name="y", op="Identity", input=["x"]),
        ]
    )
    meta_graph = meta_graph_pb2.MetaGraphDef(
        meta_info_def=meta_graph_pb2.MetaGraphDef.MetaInfoDef(tags=["serve"]), graph_def=graph
    )
    event = event_pb2.Event(step=0, wall_time=WALL, meta_graph_def=meta_graph.SerializeToString())
    write_events(event_file(tmp_path), [version_event(), event, scalars_event(1, a=1.0)])
    ours = load(tmp_path)[1]
    (point,) = ours.read_blob_sequence(".", "__run_graph__")
    served = graph_pb2.GraphDef.FromString(ours.read_blob(point.ref))
    assert served == tensorboard(tmp_path).Graph(".") == graph
    # TensorBoard's Graph() reads it too, but its graphs dashboard lists only
    # GraphDef events: a documented difference.
    assert tensorboard(tmp_path).PluginRunToTagToContent("graphs") == {}


# ---- sampling and memory -------------------------------------------------------------


def test_samples_per_plugin_match_tensorboards_reservoir(tmp_path: Path) -> None:
    events = [version_event()]
    for step in range(40):
        events += [image_event(step, b"img%d" % step), histogram_event(step)]
        events += [scalars_event(step, a=step)]
    write_events(event_file(tmp_path), events)
    samples = {"images": 3, "histograms": 7}
    first = load(tmp_path, samples=samples)[1]
    again = load(tmp_path, samples=samples)[1]
    tb = tensorboard(tmp_path, images=3, histograms=7)

    kept = [p.step for p in first.read_blob_sequence(".", "image")]
    assert len(kept) == 3
    assert kept[-1] == 39  # the last is always kept
    assert kept == [p.step for p in again.read_blob_sequence(".", "image")]  # deterministic
    assert kept == [e.step for e in tb.Tensors(".", "image")]
    histograms = [p.step for p in first.read_tensors(".", "h")]
    assert histograms == [e.step for e in tb.Tensors(".", "h")]
    assert len(histograms) == 7
    assert histograms[-1] == 39
    assert len(first.read_scalars(".", "a").step) == 40  # scalars: every point


def test_blobs_are_kept_by_reference(tmp_path: Path) -> None:
    images = [png(180, seed) for seed in range(4)]  # ~100 KB each
    events = [version_event()] + [image_event(step, images[step % 4]) for step in range(200)]
    write_events(event_file(tmp_path), events)
    assert event_file(tmp_path).stat().st_size > 200 * 90_000

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        provider = load(tmp_path, samples={"images": None})[1]
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 2_000_000, grown  # ~20 MB of images on disk

    kept = provider.read_blob_sequence(".", "image")
    assert len(kept) == 200
    assert all(isinstance(point, BlobPoint) for point in kept)
    held = [getattr(point.ref, field.name) for point in kept for field in fields(point.ref)]
    assert not any(isinstance(value, (bytes, bytearray, memoryview)) for value in held)
    assert provider.read_blob(kept[7].ref) == images[3]


# ---- many runs ------------------------------------------------------------------------


def _many_runs(logdir: Path) -> None:
    for number in range(12):
        events = [version_event()]
        for step in range(50):
            events += [scalars_event(step, a=step * number, b=-step), histogram_event(step)]
            if step % 10 == 0:
                events += [image_event(step, b"x" * number)]
        write_events(event_file(logdir / f"run{number:02d}" / "sub"), events)


def _snapshot(provider: Provider) -> dict[str, Any]:
    snapshot: dict[str, Any] = {}
    for run, tags in provider.list_tags().items():
        for tag, info in tags.items():
            if tag in provider.run(run).scalars:
                value: Any = points(provider, run, tag)
            elif tag in provider.run(run).tensors:
                value = [(p.step, p.array.tolist()) for p in provider.read_tensors(run, tag)]
            else:
                value = provider.read_blob_sequence(run, tag)
            snapshot[f"{run}/{tag}"] = (info, value)
    return snapshot


def test_parallel_reload_equals_one_worker(tmp_path: Path) -> None:
    _many_runs(tmp_path)
    serial = load(tmp_path, workers=1)[1]
    parallel = load(tmp_path, workers=8)[1]
    assert len(serial.list_runs()) == 12
    assert _snapshot(parallel) == _snapshot(serial)


def test_progress_reports_totals(tmp_path: Path) -> None:
    _many_runs(tmp_path)
    size = sum(path.stat().st_size for path in tmp_path.rglob("*tfevents*"))
    reloader = Reloader(str(tmp_path), workers=4)
    assert reloader.progress().passes == 0
    reloader.reload()
    progress = reloader.progress()
    assert (progress.runs_total, progress.runs_done) == (12, 12)
    assert (progress.bytes_total, progress.bytes_done) == (size, size)
    assert not progress.loading
    assert progress.passes == 1
    assert progress.last_duration is not None
    assert progress.last_duration >= 0

    write_events(event_file(tmp_path / "late"), [version_event(), scalars_event(1, a=1.0)])
    reloader.reload()
    progress = reloader.progress()
    assert (progress.runs_total, progress.runs_done, progress.passes) == (13, 13, 2)
    late = event_file(tmp_path / "late").stat().st_size
    assert progress.bytes_total == progress.bytes_done == late


# ---- remote logdirs ----------------------------------------------------------------------


def _tail_remote(logdir: str) -> None:
    reloader = Reloader(logdir)
    provider = Provider(reloader.runs)
    reloader.reload()
    assert provider.list_runs() == []
    with SummaryWriter(f"{logdir}/train", flush_secs=60) as writer:
        for step in range(5):
            writer.add_scalar("loss", step, step)
        writer.add_image("image", np.zeros((3, 4, 4)), 0)
        writer.flush()
        reloader.reload()
        assert steps(provider, "train", "loss") == [0, 1, 2, 3, 4]
        for step in range(5, 8):
            writer.add_scalar("loss", step, step)
    reloader.reload()
    assert steps(provider, "train", "loss") == list(range(8))
    (point,) = provider.read_blob_sequence("train", "image")
    assert provider.read_blob(point.ref).startswith(b"\x89PNG")

    with SummaryWriter(f"{logdir}/eval") as writer:
        writer.add_scalar("acc", 0.5, 1)
    reloader.reload()
    assert sorted(provider.list_runs()) == ["eval", "train"]


def test_s3_logdir_loads_and_tails(s3_run: str) -> None:
    _tail_remote(s3_run)


@pytest.fixture
def memory_logdir() -> Iterator[str]:
    fsspec = pytest.importorskip("fsspec")
    name = f"memory://lumiboard-{os.getpid()}-{time.monotonic_ns()}"
    yield name
    fsspec.filesystem("memory").rm(name.removeprefix("memory://"), recursive=True)


def test_memory_logdir_loads_and_tails(memory_logdir: str) -> None:
    _tail_remote(memory_logdir)


# ---- damage, at random ------------------------------------------------------------------


@pytest.fixture(scope="module")
def written_file() -> tuple[bytes, list[Record]]:
    with tempfile.TemporaryDirectory() as directory:
        with SummaryWriter(directory) as writer:
            for step in range(30):
                writer.add_scalar("loss", 1.0 / (step + 1), step, walltime=WALL + step)
                writer.add_scalar("lr", step * 0.5, step, new_style=True, walltime=WALL + step)
                if step % 7 == 0:
                    writer.add_histogram("w", np.arange(step + 3.0), step, walltime=WALL)
                    writer.add_text("note", f"step {step}", step, walltime=WALL)
        data = the_file(Path(directory)).read_bytes()
    records = [item for item in read_records(io.BytesIO(data)) if isinstance(item, Record)]
    return data, records


def _scalar_points(record: Record) -> set[tuple[str, int, float]]:
    event = event_pb2.Event.FromString(record.data)
    found = set()
    for value in event.summary.value:
        if value.HasField("simple_value"):
            found.add((value.tag, event.step, value.simple_value))
        elif value.metadata.plugin_data.plugin_name == "scalars":
            found.add((value.tag, event.step, float(tensor_util.make_ndarray(value.tensor))))
    return found


@given(st.data(), _CHUNKS)
@settings(max_examples=60, deadline=None)
def test_damaged_file_never_raises_and_keeps_records_before_the_damage(
    written_file: tuple[bytes, list[Record]], data: st.DataObject, chunk: int
) -> None:
    original, records = written_file
    cut = data.draw(st.integers(0, len(original)), label="truncated at")
    damaged = bytearray(original[:cut])
    flips = data.draw(st.lists(st.integers(0, max(0, cut * 8 - 1)), max_size=4), label="bits")
    for bit in flips if cut else []:
        damaged[bit // 8] ^= 1 << (bit % 8)
    first_damage = min([cut, *(bit // 8 for bit in flips)])
    expected: set[tuple[str, int, float]] = set()
    for record in records:
        if record.offset + 16 + len(record.data) <= first_damage:
            expected |= _scalar_points(record)

    with tempfile.TemporaryDirectory() as directory:
        event_file(Path(directory)).write_bytes(bytes(damaged))
        with chunk_bytes(chunk):
            reloader, provider = load(directory)
            reloader.reload()
        found = set()
        for _, tag, columns in provider.iter_scalars():
            found |= {
                (tag, step, value)
                for step, value in zip(columns.step.tolist(), columns.value.tolist(), strict=True)
            }
    assert expected <= found
