"""Issue 11, review: siblings of the hardening items found by using the server as a user would.

- A string tensor in TensorFlow's splat form (one value standing for a whole
  shape) expanded to at most 2^16 *elements*, but each element may be a long
  string: an 8 KB text record declaring [256, 256] became a 200 MB answer of the
  text route (18 s of rendering, 730 MB resident). Expanded strings are now
  capped in bytes too (item 2: "beyond a per-value cap ... rejected").
- A full disk (item 5): a short write was cut back to the start of the whole
  batch, so the whole records that did fit were thrown away with the partial
  one; with the disk still full at ``close()`` every one of them was lost (1,869
  of 1,869 accepted events on a 256 KiB tmpfs with 52 KiB free). A short write
  is now cut back to the end of the last whole record that landed.
"""

from __future__ import annotations

import errno
import io
import logging
import struct
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from disk_support import fill_disk
from route_support import get_json, lumiboard_client

from lumiboard.format import tensors
from lumiboard.format.proto import event_pb2, tensor_pb2, types_pb2
from lumiboard.format.tensors import TensorError, decode_tensor
from lumiboard.format.tfrecord import Record, encode_record, read_records
from lumiboard.reader import ingest, scan
from lumiboard.reader.reload import Reloader
from lumiboard.store.provider import Provider
from lumiboard.writer.event_file import EventFileWriter, EventWriteError

WALL = 1_600_000_000.0


def string_tensor(shape: list[int], values: list[bytes]) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=values)
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    return proto


# ---- a string splat is bounded in bytes, not only in elements ---------------------------------


def test_a_string_splat_past_the_byte_cap_is_damage() -> None:
    # 8 KB repeated 65,536 times: 512 MiB of text from an 8 KB record.
    proto = string_tensor([256, 256], [b"x" * 8000])
    with pytest.raises(TensorError, match="splat"):
        decode_tensor(proto)


def test_a_string_splat_within_the_cap_still_expands() -> None:
    # TensorFlow's constant of short strings (tf.fill(["a"], [3, 2])) reads as TensorBoard reads it.
    array = decode_tensor(string_tensor([3, 2], [b"first", b"ab"]))
    assert array.shape == (3, 2)
    assert array.reshape(-1).tolist() == [b"first", b"ab", b"ab", b"ab", b"ab", b"ab"]
    largest = tensors.MAX_SPLAT_BYTES // 1024
    array = decode_tensor(string_tensor([1024], [b"y" * largest]))
    assert array.shape == (1024,)


def test_strings_written_out_whole_are_not_capped() -> None:
    # Only an expansion is capped: values the record really holds cost their own bytes.
    values = [b"z" * 1000] * 1024  # 1 MB, over the splat cap, all of it in the record
    assert decode_tensor(string_tensor([1024], values)).shape == (1024,)


def _text_event(step: int, proto: tensor_pb2.TensorProto) -> event_pb2.Event:
    event = event_pb2.Event(step=step, wall_time=WALL + step)
    value = event.summary.value.add(tag="notes", tensor=proto)
    value.metadata.plugin_data.plugin_name = "text"
    return event


def test_text_route_answers_small_for_a_splat_text_record(tmp_path: Path) -> None:
    events = [event_pb2.Event(wall_time=WALL, file_version="brain.Event:2")]
    events.append(_text_event(0, string_tensor([], [b"kept"])))
    events.append(_text_event(1, string_tensor([256, 256], [b"<b>x</b>" * 1000])))
    events.append(_text_event(2, string_tensor([], [b"also kept"])))
    path = tmp_path / "run" / "events.out.tfevents.1600000000.host"
    path.parent.mkdir()
    path.write_bytes(b"".join(encode_record(e.SerializeToString()) for e in events))
    with lumiboard_client(tmp_path) as client:
        response = client.get("/data/plugin/text/text", params={"run": "run", "tag": "notes"})
        assert response.status_code == 200
        assert len(response.content) < 10_000  # was 200 MB
        assert [point["step"] for point in response.json()] == [0, 2]
        assert get_json(client, "/data/status")["skipped"] == {"run": {"notes": 1}}


# ---- a short write keeps the whole records that landed ---------------------------------------


def _scalar(step: int) -> event_pb2.Event:
    event = event_pb2.Event(step=step, wall_time=time.time())
    event.summary.value.add(tag="loss", simple_value=float(step))
    return event


def _steps_on_disk(path: str) -> list[int]:
    data = Path(path).read_bytes()
    records = list(read_records(io.BytesIO(data)))
    assert all(isinstance(record, Record) for record in records)
    payloads = [record.data for record in records if isinstance(record, Record)]
    assert sum(12 + len(payload) + 4 for payload in payloads) == len(data)  # whole records only
    events = [event_pb2.Event.FromString(payload) for payload in payloads]
    assert events[0].file_version
    return [event.step for event in events[1:]]


def test_a_short_write_keeps_the_whole_records_that_landed(tmp_path: Path) -> None:
    writer = EventFileWriter(tmp_path, max_queue=1000, flush_secs=3600)
    disk = fill_disk(writer, 2000)  # about 60 records fit
    for step in range(200):
        writer.add_event(_scalar(step))
    with pytest.raises(EventWriteError) as info:
        writer.flush()
    on_disk = _steps_on_disk(writer.path)
    assert len(on_disk) > 40  # was 0: the whole batch was cut back
    assert on_disk == list(range(len(on_disk)))
    assert info.value.pending == 200 - len(on_disk)  # the others are kept, retried

    disk.free = 10**9  # space is freed
    writer.flush()
    writer.close()
    assert _steps_on_disk(writer.path) == list(range(200))


def test_close_on_a_full_disk_loses_only_what_did_not_fit(tmp_path: Path) -> None:
    writer = EventFileWriter(tmp_path, max_queue=1000, flush_secs=3600)
    fill_disk(writer, 3000)
    for step in range(150):
        writer.add_event(_scalar(step))
    with pytest.raises(EventWriteError) as info:
        writer.close()
    on_disk = _steps_on_disk(writer.path)
    assert on_disk == list(range(len(on_disk)))
    assert len(on_disk) > 60
    assert info.value.lost == 150 - len(on_disk)


# ---- a tag that is not UTF-8: both scanners skip its event ----------------------------------


def _raw_scalar(step: int, tag: bytes) -> bytes:
    """An Event holding one simple_value under ``tag``, encoded by hand (protobuf
    refuses to serialize a string field that is not UTF-8)."""

    def varint(number: int) -> bytes:
        out = b""
        while number > 0x7F:
            out += bytes([(number & 0x7F) | 0x80])
            number >>= 7
        return out + bytes([number])

    def field(number: int, payload: bytes) -> bytes:
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    value = field(1, tag) + bytes([2 << 3 | 5]) + struct.pack("<f", float(step))
    wall = bytes([1 << 3 | 1]) + struct.pack("<d", WALL + step)
    return wall + bytes([2 << 3]) + varint(step) + field(5, field(1, value))


def _bad_tag_records() -> bytes:
    version = event_pb2.Event(wall_time=WALL, file_version="brain.Event:2")
    good = [event_pb2.Event(step=step, wall_time=WALL + step) for step in (0, 1, 4)]
    for event in good:
        event.summary.value.add(tag="loss", simple_value=float(event.step))
    payloads = [version.SerializeToString(), *(e.SerializeToString() for e in good[:2])]
    payloads += [_raw_scalar(2, b"lo\xffss"), _raw_scalar(3, b"lo\xfess")]
    payloads.append(good[2].SerializeToString())
    return b"".join(encode_record(payload) for payload in payloads)


@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
def test_a_tag_that_is_not_utf8_is_damage_for_both_scanners(
    native: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if native and not scan.NATIVE:
        pytest.skip("the native scanner is not built")
    if not native:
        monkeypatch.setattr(scan, "_native", None)
    data = _bad_tag_records()
    result = scan.scan(data, 0, {})
    # The two undecodable events go to protobuf, which refuses them (as TensorBoard's
    # reader does), never into the columns under a name with U+FFFD in it.
    assert "\ufffd" not in "".join(result.tags)
    assert result.steps.tolist() == [0, 1, 4]
    assert len(result.others) == 3  # the file version and the two events


def test_a_tag_that_is_not_utf8_is_counted_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "run" / "events.out.tfevents.1600000000.host"
    path.parent.mkdir()
    path.write_bytes(_bad_tag_records())
    with lumiboard_client(tmp_path) as client:
        assert list(get_json(client, "/data/plugin/scalars/tags")["run"]) == ["loss"]
        assert get_json(client, "/data/status")["skipped"] == {"run": {"": 2}}


# ---- a remote source whose backend fails in its own way does not stop the pass ---------------


class BackendError(Exception):
    """What a backend raises outside OSError (gcsfs' HttpError, botocore's NoCredentialsError)."""


def test_a_remote_backend_error_costs_its_source_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    remote = f"memory://lumiboard-review/{uuid.uuid4().hex[:12]}"
    version = event_pb2.Event(wall_time=WALL, file_version="brain.Event:2")

    def records(steps: range) -> bytes:
        events = [event_pb2.Event(step=step, wall_time=WALL + step) for step in steps]
        for event in events:
            event.summary.value.add(tag="loss", simple_value=float(event.step))
        return b"".join(encode_record(e.SerializeToString()) for e in [version, *events])

    memory.pipe_file(f"{remote}/r/events.out.tfevents.1600000000.host", records(range(3)))
    local = tmp_path / "local"
    (local / "r").mkdir(parents=True)
    local_file = local / "r" / "events.out.tfevents.1600000000.host"
    local_file.write_bytes(records(range(3)))
    reloader = Reloader(f"{local},{remote}")
    expected = sorted(["local/r", f"{remote.rsplit('/', 1)[1]}/r"])
    try:
        reloader.reload()
        assert sorted(reloader.runs) == expected

        def fail(*args: Any, **kwargs: Any) -> Any:
            raise BackendError("the credentials expired")

        monkeypatch.setattr(type(memory), "find", fail)
        local_file.write_bytes(records(range(5)))
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                reloader.reload()  # raised BackendError: no pass finished, local runs froze
        assert reloader.progress().passes == 4
        assert not reloader.progress().loading
        # The local run goes on; the remote one is kept (not listed is not gone).
        provider = Provider(reloader.runs)
        assert provider.read_scalars("local/r", "loss").step.tolist() == list(range(5))
        assert sorted(reloader.runs) == expected
        assert caplog.text.count("the credentials expired") == 1  # logged once, not each pass
    finally:
        monkeypatch.undo()
        memory.rm(remote, recursive=True)


# ---- an event file whose read fails (EIO: no file name in the error) -------------------------


def test_an_event_file_that_fails_to_read_is_skipped_once_and_the_rest_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    version = event_pb2.Event(wall_time=WALL, file_version="brain.Event:2")

    def write(name: str, steps: range) -> Path:
        events = [event_pb2.Event(step=step, wall_time=WALL + step) for step in steps]
        for event in events:
            event.summary.value.add(tag="loss", simple_value=float(event.step))
        path = tmp_path / "run" / name
        path.write_bytes(b"".join(encode_record(e.SerializeToString()) for e in [version, *events]))
        return path

    (tmp_path / "run").mkdir()
    bad = write("events.out.tfevents.1600000001.host", range(3))
    write("events.out.tfevents.1600000002.host", range(3, 6))
    real_read = ingest.read_range

    def read_range(path: str, start: int, end: int) -> bytes:
        if path == str(bad):
            # What a failing disk or a network file system gives: read() fails, and
            # its OSError names no file (only open() errors carry the name).
            raise OSError(errno.EIO, "Input/output error")
        return real_read(path, start, end)

    monkeypatch.setattr(ingest, "read_range", read_range)
    reloader = Reloader(str(tmp_path))
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            reloader.reload()
    # The other file is read (it was abandoned for the pass), the bad one is counted
    # as an unreadable file, and the warning is given once, not every pass.
    assert Provider(reloader.runs).read_scalars("run", "loss").step.tolist() == [3, 4, 5]
    assert reloader.unreadable_files("run") == 1
    assert caplog.text.count("Input/output error") + caplog.text.count(str(bad)) == 1

    monkeypatch.setattr(ingest, "read_range", real_read)  # the disk recovers
    reloader.reload()
    assert reloader.unreadable_files("run") == 0
    steps = Provider(reloader.runs).read_scalars("run", "loss").step.tolist()
    assert sorted(steps) == list(range(6))


# ---- a scalar tensor holding a string is damage, not a number --------------------------------


def test_a_scalar_tensor_of_strings_is_skipped_not_parsed(tmp_path: Path) -> None:
    def scalar(step: int, proto: tensor_pb2.TensorProto) -> event_pb2.Event:
        event = event_pb2.Event(step=step, wall_time=WALL + step)
        value = event.summary.value.add(tag="loss", tensor=proto)
        value.metadata.plugin_data.plugin_name = "scalars"
        return event

    events = [event_pb2.Event(wall_time=WALL, file_version="brain.Event:2")]
    events.append(scalar(0, tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[0.5])))
    # bytes that float() would take: b"1.5", b"nan", b" 2 "
    for step, text in enumerate([b"1.5", b"nan", b" 2 "], start=1):
        events.append(scalar(step, string_tensor([], [text])))
    events.append(scalar(4, tensor_pb2.TensorProto(dtype=types_pb2.DT_DOUBLE, double_val=[4.0])))
    path = tmp_path / "run" / "events.out.tfevents.1600000000.host"
    path.parent.mkdir()
    path.write_bytes(b"".join(encode_record(e.SerializeToString()) for e in events))
    with lumiboard_client(tmp_path) as client:
        points = get_json(client, "/data/plugin/scalars/scalars?run=run&tag=loss")
        assert [(step, value) for _, step, value in points] == [(0, 0.5), (4, 4.0)]
        assert get_json(client, "/data/status")["skipped"] == {"run": {"loss": 3}}
