"""The XSpace column decoder, native and pure-Python, against protobuf's own parse of the same
bytes: real profiles, random XSpaces re-encoded with shuffled, duplicated and unknown fields,
and damaged bytes (which must raise XSpaceDecodeError, never crash or hang)."""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lumiboard.format.proto import xplane_pb2
from lumiboard.plugins.profile import xspace_wire
from lumiboard.plugins.profile.xspace_wire import XSpaceColumns, XSpaceDecodeError

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "xplane").rglob("*.xplane.pb"))
KERAS = next(path for path in FIXTURES if "keras" in path.parts)

Decoder = Callable[[bytes | bytearray], XSpaceColumns]
DECODERS: list[Decoder] = [xspace_wire.decode_python]
if xspace_wire.NATIVE:
    DECODERS.append(xspace_wire.decode)
needs_native = pytest.mark.skipif(not xspace_wire.NATIVE, reason="_xspace is not built")


def test_native_decoder_is_built() -> None:
    # scripts/test.sh sets LUMIBOARD_REQUIRE_NATIVE=1: CI must exercise the C code.
    if os.environ.get("LUMIBOARD_REQUIRE_NATIVE") == "1":
        assert xspace_wire.NATIVE


# ---- what protobuf itself reads ------------------------------------------------------------


def expected(
    data: bytes,
) -> tuple[xplane_pb2.XSpace, dict[str, list[int]], list[xplane_pb2.XEvent]]:
    """The event-less space, the columns and the events, from ``XSpace.FromString``."""
    space = xplane_pb2.XSpace.FromString(data)
    columns: dict[str, list[int]] = {
        name: []
        for name in (
            "line_plane",
            "line_index",
            "event_line",
            "metadata_id",
            "offset_ps",
            "duration_ps",
            "aggregated",
        )
    }
    events: list[xplane_pb2.XEvent] = []
    for p, plane in enumerate(space.planes):
        for i, line in enumerate(plane.lines):
            columns["line_plane"].append(p)
            columns["line_index"].append(i)
            for event in line.events:
                columns["event_line"].append(len(columns["line_plane"]) - 1)
                columns["metadata_id"].append(event.metadata_id)
                columns["offset_ps"].append(event.offset_ps)
                columns["duration_ps"].append(event.duration_ps)
                columns["aggregated"].append(int(event.HasField("num_occurrences")))
                copy = xplane_pb2.XEvent()
                copy.CopyFrom(event)
                events.append(copy)
            line.ClearField("events")
    return space, columns, events


DTYPES = {
    "line_plane": np.int32,
    "line_index": np.int32,
    "event_line": np.int32,
    "metadata_id": np.int64,
    "offset_ps": np.int64,
    "duration_ps": np.int64,
    "aggregated": np.bool_,
}


def wire(message: xplane_pb2.XSpace | xplane_pb2.XEvent) -> bytes:
    return message.SerializeToString(deterministic=True)


def assert_decodes_as_protobuf(data: bytes, decoder: Decoder, all_events: bool = True) -> None:
    space, columns, events = expected(data)
    decoded = decoder(data)
    assert wire(decoded.space) == wire(space)
    assert len(decoded) == len(events)
    for name, values in columns.items():
        column = getattr(decoded, name)
        assert column.dtype == DTYPES[name], name
        assert not column.flags.writeable, name
        assert column.tolist() == [DTYPES[name](value) for value in values], name
    picks = range(len(events)) if all_events else range(0, len(events), max(1, len(events) // 50))
    for index in picks:
        assert wire(decoded.event(index)) == wire(events[index])


# ---- real profiles ---------------------------------------------------------------------------


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: "/".join(path.parts[-6:-4]))
def test_real_profiles_decode_as_protobuf_reads_them(path: Path, decoder: Decoder) -> None:
    data = path.read_bytes()
    assert_decodes_as_protobuf(data, decoder)
    decoded = decoder(data)
    assert len(decoded) > 100
    # Every event's (plane, line) is one protobuf has, and its metadata is in that plane.
    for index in range(0, len(decoded), 7):
        line = int(decoded.event_line[index])
        plane = decoded.space.planes[int(decoded.line_plane[line])]
        assert int(decoded.line_index[line]) < len(plane.lines)
        assert int(decoded.metadata_id[index]) in plane.event_metadata


@pytest.mark.parametrize("decoder", DECODERS)
def test_event_indexes_like_a_sequence(decoder: Decoder) -> None:
    decoded = decoder(KERAS.read_bytes())
    assert wire(decoded.event(-1)) == wire(decoded.event(len(decoded) - 1))
    with pytest.raises(IndexError):
        decoded.event(len(decoded))
    # Each call answers a new message: changing one changes nothing else.
    decoded.event(0).metadata_id = 123_456
    assert decoded.event(0).metadata_id == decoded.metadata_id[0]


@pytest.mark.parametrize("decoder", DECODERS)
def test_empty_bytes_are_an_empty_space(decoder: Decoder) -> None:
    decoded = decoder(b"")
    assert len(decoded) == 0
    assert wire(decoded.space) == b""
    assert decoded.line_plane.size == 0
    assert decoded.event_line.dtype == np.int32


@pytest.mark.parametrize("decoder", DECODERS)
def test_other_bytes_like_objects_are_copied(decoder: Decoder) -> None:
    data = bytearray(KERAS.read_bytes())
    decoded = decoder(data)
    first = wire(decoded.event(0))
    data[:] = bytes(len(data))
    assert wire(decoded.event(0)) == first


@needs_native
def test_threads_decode_at_once() -> None:
    # The walk runs without the GIL: threads sharing one buffer must each get whole results.
    data = KERAS.read_bytes()
    reference = xspace_wire.decode(data)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: xspace_wire.decode(data), range(16)))
    for decoded in results:
        assert wire(decoded.space) == wire(reference.space)
        for name in DTYPES:
            assert np.array_equal(getattr(decoded, name), getattr(reference, name)), name


# ---- random XSpaces, re-encoded at the wire level ----------------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


Field = tuple[int, int, "int | bytes | list[Field]"]

#: Which length-delimited fields hold messages this test rewrites too: (kind, field) -> kind.
NESTED = {("space", 1): "plane", ("plane", 3): "line", ("line", 4): "event", ("event", 4): "stat"}


def fields_of(data: bytes, kind: str) -> list[Field]:
    """A message's fields in wire order; nested messages (per NESTED) as field lists."""
    out: list[Field] = []
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        value: int | bytes | list[Field]
        if wire_type == 0:
            value, pos = read_varint(data, pos)
        elif wire_type == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire_type == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            size, pos = read_varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
            inner = NESTED.get((kind, number))
            if inner:
                value = fields_of(value, inner)
        out.append((number, wire_type, value))
    return out


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def encode(fields: list[Field]) -> bytes:
    out = bytearray()
    for number, wire_type, value in fields:
        out += varint(number << 3 | wire_type)
        if isinstance(value, int):
            out += varint(value)
        elif wire_type == 2:
            payload = value if isinstance(value, bytes) else encode(value)
            out += varint(len(payload)) + payload
        else:
            assert isinstance(value, bytes)
            out += value
    return bytes(out)


def unknown_field(rng: random.Random) -> Field:
    """A field protobuf does not know here: an unused number, or a known one with another wire
    type (which protobuf keeps as unknown too)."""
    number = rng.choice([7, 8, 15, 16, 99, 2047, 2048, (1 << 29) - 1])
    wire_type = rng.choice([0, 1, 2, 5])
    if rng.random() < 0.3:  # no field of these messages is fixed32; only a stat's 2 is fixed64
        number, wire_type = rng.choice([1, 2, 3, 4, 5]), 5
    if wire_type == 0:
        return number, 0, rng.choice([0, 1, 300, (1 << 64) - 1])
    if wire_type == 2:
        return number, 2, rng.randbytes(rng.randrange(4))
    return number, wire_type, rng.randbytes(8 if wire_type == 1 else 4)


def scramble(fields: list[Field], kind: str, rng: random.Random) -> list[Field]:
    """Fields shuffled, with unknown fields and (for events) overriding duplicates added."""
    out: list[Field] = []
    for number, wire_type, value in fields:
        inner = scramble(value, NESTED[(kind, number)], rng) if isinstance(value, list) else value
        out.append((number, wire_type, inner))
    if rng.random() < 0.5:
        rng.shuffle(out)
    if rng.random() < 0.3:
        for _ in range(rng.randrange(1, 3)):
            out.insert(rng.randrange(len(out) + 1), unknown_field(rng))
    if kind == "event" and rng.random() < 0.3:
        # A second metadata_id, or the oneof switched to the other arm: the last one wins.
        out.append(rng.choice([(1, 0, rng.randrange(1 << 64)), (2, 0, 77), (5, 0, 3), (3, 0, 1)]))
    return out


def random_stat(stat: xplane_pb2.XStat, rng: random.Random) -> None:
    stat.metadata_id = rng.choice([0, 1, 2, 3, -5])
    kind = rng.choice(["double", "uint64", "int64", "str", "bytes", "ref", None])
    if kind == "double":
        stat.double_value = rng.uniform(-1e9, 1e9)
    elif kind == "uint64":
        stat.uint64_value = rng.randrange(1 << 64)
    elif kind == "int64":
        stat.int64_value = rng.randrange(-(1 << 63), 1 << 63)
    elif kind == "str":
        stat.str_value = rng.choice(["", "MatMul", "é☃𝄞", "x" * 200])
    elif kind == "bytes":
        stat.bytes_value = rng.randbytes(rng.randrange(20))
    elif kind == "ref":
        stat.ref_value = rng.randrange(5)


def random_space(rng: random.Random) -> xplane_pb2.XSpace:
    space = xplane_pb2.XSpace()
    space.hostnames.extend(rng.choice([[], ["worker0"], ["a", "b"]]))
    space.warnings.extend(rng.choice([[], ["buffer full"]]))
    space.errors.extend(rng.choice([[], ["lost events"]]))
    for p in range(rng.randrange(5)):
        plane = space.planes.add(id=p, name=rng.choice(["/host:CPU", f"/device:GPU:{p}", "ü"]))
        for key in rng.sample(range(-3, 50), rng.randrange(6)):
            meta = plane.event_metadata[key]
            meta.id, meta.name = key, f"op{key}"
            meta.display_name = rng.choice(["", f"Op {key}"])
            meta.child_id.extend(rng.sample(range(50), rng.randrange(3)))
            for _ in range(rng.randrange(3)):
                random_stat(meta.stats.add(), rng)
        for key in rng.sample(range(10), rng.randrange(4)):
            plane.stat_metadata[key].CopyFrom(xplane_pb2.XStatMetadata(id=key, name=f"s{key}"))
        for _ in range(rng.randrange(3)):
            random_stat(plane.stats.add(), rng)
        for i in range(rng.randrange(6)):
            line = plane.lines.add(id=i, display_id=rng.randrange(3), name=f"line/{i}")
            line.timestamp_ns = rng.choice([0, 1_700_000_000_000_000_000, -1])
            line.duration_ps = rng.randrange(1 << 40)
            for _ in range(rng.randrange(30)):
                event = line.events.add(metadata_id=rng.randrange(-2, 60))
                arm = rng.random()
                if arm < 0.7:
                    event.offset_ps = rng.choice([0, rng.randrange(1 << 50), -rng.randrange(9)])
                elif arm < 0.85:
                    event.num_occurrences = rng.randrange(1, 100)
                event.duration_ps = rng.choice([0, rng.randrange(1 << 45)])
                for _ in range(rng.choice([0, 0, 1, 2, 4])):
                    random_stat(event.stats.add(), rng)
    return space


def random_wire(seed: int) -> bytes:
    rng = random.Random(seed)
    data = random_space(rng).SerializeToString()
    return encode(scramble(fields_of(data, "space"), "space", rng))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32))
def test_random_spaces_decode_as_protobuf_reads_them(seed: int) -> None:
    data = random_wire(seed)
    for decoder in DECODERS:
        assert_decodes_as_protobuf(data, decoder)


# ---- damage ------------------------------------------------------------------------------------


def accepted(data: bytes) -> bool:
    try:
        xplane_pb2.XSpace.FromString(data)
    except Exception:
        return False
    return True


def refusal(decoder: Decoder, data: bytes) -> str | None:
    """Why the decoder refuses the bytes (XSpaceDecodeError's message), None if it takes them."""
    try:
        decoder(data)
    except XSpaceDecodeError as error:
        return str(error)
    return None


def assert_like_protobuf_on(data: bytes) -> None:
    """Each decoder raises XSpaceDecodeError exactly where protobuf refuses the bytes, and
    otherwise reads what protobuf reads. The one leave: the extension refuses groups
    (deprecated; never written by a profiler), which protobuf skips."""
    ok = accepted(data)
    for decoder in DECODERS:
        reason = refusal(decoder, data)
        if reason is not None:
            group = "a group" in reason
            assert not ok or (group and decoder is xspace_wire.decode), reason
            continue
        assert ok, "decoded bytes protobuf refuses"
        assert_decodes_as_protobuf(data, decoder, all_events=False)


def check_damaged(data: bytes) -> None:
    """A quick :func:`assert_like_protobuf_on` for many cases: the extension raises where
    protobuf refuses, else reads the columns the fallback reads."""
    ok = accepted(data)
    if not xspace_wire.NATIVE:
        if ok:
            xspace_wire.decode_python(data)
        return
    reason = refusal(xspace_wire.decode, data)
    if reason is not None:
        assert not ok, reason
        assert re.search(r"at byte \d+|protobuf refuses", reason), reason
        return
    assert ok, "decoded bytes protobuf refuses"
    decoded = xspace_wire.decode(data)
    reference = xspace_wire.decode_python(data)
    assert wire(decoded.space) == wire(reference.space)
    for name in DTYPES:
        assert np.array_equal(getattr(decoded, name), getattr(reference, name)), name
    for index in {0, len(decoded) // 2, len(decoded) - 1} if len(decoded) else ():
        assert wire(decoded.event(index)) == wire(reference.event(index))


def framed(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


class Splicer:
    """Rebuilds a message tree's bytes with one nested message's payload replaced (the
    lengths around it re-framed), re-encoding only the path to it."""

    def __init__(self, data: bytes) -> None:
        self.root = fields_of(data, "space")
        self.parts: dict[tuple[int, ...], list[bytes]] = {}

    def fields(self, path: tuple[int, ...]) -> list[Field]:
        fields = self.root
        for index in path:
            value = fields[index][2]
            assert isinstance(value, list)
            fields = value
        return fields

    def messages(self, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
        """The paths of every nested message under ``path``, depth first."""
        out = []
        for index, (_, _, value) in enumerate(self.fields(path)):
            if isinstance(value, list):
                out.append((*path, index))
                out += self.messages((*path, index))
        return out

    def payload(self, path: tuple[int, ...]) -> bytes:
        return encode(self.fields(path))

    def replaced(self, path: tuple[int, ...], payload: bytes) -> bytes:
        for depth in reversed(range(len(path))):
            parent = path[:depth]
            if parent not in self.parts:
                self.parts[parent] = [encode([field]) for field in self.fields(parent)]
            parts = self.parts[parent]
            index = path[depth]
            number = self.fields(parent)[index][0]
            payload = b"".join([*parts[:index], framed(number, payload), *parts[index + 1 :]])
        return payload


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: "/".join(path.parts[-6:-4]))
def test_real_profile_truncated_anywhere(path: Path) -> None:
    data = path.read_bytes()
    for cut in range(len(data)):
        check_damaged(data[:cut])
    # The outer lengths then fail at once; so cut every nested message (every event at every
    # byte; planes, lines and stats at some) with the lengths around it re-framed.
    if "multi" in path.parts:
        return  # written as the tf fixture is
    splicer = Splicer(data)
    assert splicer.replaced((), data) == data
    for index, message in enumerate(splicer.messages()):
        payload = splicer.payload(message)
        if len(message) == 3:  # an event
            cuts = range(len(payload))
        elif index % 3 == 0:
            cuts = range(0, len(payload), max(1, len(payload) // 40))
        else:
            continue
        for cut in cuts:
            check_damaged(splicer.replaced(message, payload[:cut]))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32), st.data())
def test_random_spaces_truncated_or_flipped(seed: int, data: st.DataObject) -> None:
    blob = bytearray(random_wire(seed))
    if not blob:
        return
    action = data.draw(st.sampled_from(["cut", "flip", "flips"]))
    if action == "cut":
        blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
    else:
        for _ in range(1 if action == "flip" else data.draw(st.integers(2, 8))):
            at = data.draw(st.integers(0, len(blob) - 1))
            blob[at] ^= data.draw(st.integers(1, 255))
    assert_like_protobuf_on(bytes(blob))


def event_in_line(event: bytes) -> bytes:
    """An XSpace holding one plane, one line, one event with these bytes."""
    line = b"\x22" + varint(len(event)) + event
    plane = b"\x1a" + varint(len(line)) + line
    return b"\x0a" + varint(len(plane)) + plane


# Each: the event's bytes, and what the error names. The event starts at byte 6.
DAMAGED_EVENTS = [
    (b"\x08" + b"\xff" * 10 + b"\x01", r"varint at byte 7 is longer than 10 bytes"),
    (b"\x08", r"field at byte 7 is cut off"),
    (b"\x09\x01\x02", r"field at byte 7 is cut off"),
    (b"\x1b\x1c", r"byte 6 has wire type 3 \(a group"),
    (b"\x0c", r"byte 6 has wire type 4 \(a group"),
    (b"\x0e\x00", r"byte 6 has wire type 6 \(invalid\)"),
    (b"\x0f\x00", r"byte 6 has wire type 7 \(invalid\)"),
    (b"\x00\x01", r"byte 6 has field number 0"),
    (b"\x88\x80\x80\x80\x80\x00\x01", r"key at byte 6 is longer than 32 bits"),
    (b"\x88\x80\x80\x80\x10\x01", r"key at byte 6 is longer than 32 bits"),
    (b"\x22\x80\x80\x80\x80\x80\x00", r"length at byte 7 is longer than 5 bytes"),
    (b"\x22\x05\x08\x01", r"length at byte 7 \(5 bytes\) runs past the end of its message"),
    (b"\x22\xff\xff\xff\xff\x0f", r"length at byte 7 \(4294967295 bytes\) runs past"),
    (b"\x22\x03\x2a\x01\xff", r"stat string at byte 10 is not valid UTF-8"),
    (b"\x22\x05\x2a\x03\xed\xa0\x80", r"stat string at byte 10 is not valid UTF-8"),
    (b"\x22\x04\x2a\x02\xc0\x80", r"stat string at byte 10 is not valid UTF-8"),
]


@needs_native
@pytest.mark.parametrize(
    ("event", "reason"), DAMAGED_EVENTS, ids=[event.hex() for event, _ in DAMAGED_EVENTS]
)
def test_damage_is_named_with_its_byte_offset(event: bytes, reason: str) -> None:
    data = event_in_line(event)
    with pytest.raises(XSpaceDecodeError, match=reason):
        xspace_wire.decode(data)
    if "group" not in reason:  # protobuf refuses it too
        with pytest.raises(XSpaceDecodeError):
            xspace_wire.decode_python(data)


@pytest.mark.parametrize("decoder", DECODERS)
def test_huge_length_prefixes_are_refused(decoder: Decoder) -> None:
    for size in (1 << 20, (1 << 31) - 1, 1 << 31, 1 << 40, (1 << 64) - 1):
        for data in (b"\x0a" + varint(size), event_in_line(b"\x22" + varint(size) + b"\x08\x01")):
            with pytest.raises(XSpaceDecodeError):
                decoder(data)


@pytest.mark.parametrize("decoder", DECODERS)
def test_edge_values_read_as_protobuf_reads_them(decoder: Decoder) -> None:
    events = [
        b"\x08" + b"\xff" * 9 + b"\x7f",  # bits past 64 dropped: -1
        b"\x10\x05\x28\x07",  # num_occurrences last: aggregated, offset 0
        b"\x28\x07\x10\x05",  # offset last
        b"\x88\x80\x80\x80\x00\x09",  # a key in 5 bytes: metadata_id 9
        b"\x0a\x00\x12\x01x",  # known numbers, wrong wire type: unknown fields
        b"\x22\x04\x5a\x02\xc3\xa9",  # a stat with an unknown string field (not checked)
        b"",
    ]
    for event in events:
        assert_decodes_as_protobuf(event_in_line(event), decoder)


def test_group_fields_are_the_one_difference() -> None:
    # An unknown group in an event: protobuf skips it, the extension refuses it.
    data = event_in_line(b"\x08\x01\x5b\x08\x01\x5c")
    assert accepted(data)
    assert len(xspace_wire.decode_python(data)) == 1
    if xspace_wire.NATIVE:
        with pytest.raises(XSpaceDecodeError, match="group"):
            xspace_wire.decode(data)
