"""TFRecord framing: masked CRC32C, round trips, damage handling."""

from __future__ import annotations

import io
import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tb_masked_crc

from lumiboard.format.tfrecord import Damage, Record, encode_record, masked_crc32c, read_records

payloads = st.lists(st.binary(max_size=300), max_size=12)


@given(st.binary(max_size=2000))
def test_masked_crc_matches_tensorboard(data: bytes) -> None:
    assert masked_crc32c(data) == tb_masked_crc(data)


def test_crc32c_known_vector() -> None:
    # CRC-32C of "123456789" is 0xE3069283 (RFC 3720); masked per TensorFlow.
    crc = 0xE3069283
    expected = (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    assert masked_crc32c(b"123456789") == expected


def test_record_layout_is_little_endian() -> None:
    record = encode_record(b"abc")
    assert struct.unpack("<Q", record[:8])[0] == 3
    assert struct.unpack("<I", record[8:12])[0] == masked_crc32c(record[:8])
    assert record[12:15] == b"abc"
    assert struct.unpack("<I", record[15:])[0] == masked_crc32c(b"abc")


@given(payloads)
def test_round_trip(items: list[bytes]) -> None:
    stream = io.BytesIO(b"".join(encode_record(item) for item in items))
    records = list(read_records(stream))
    assert all(isinstance(r, Record) for r in records)
    assert [r.data for r in records if isinstance(r, Record)] == items


def test_offsets_allow_resuming() -> None:
    blob = b"".join(encode_record(x) for x in (b"a", b"bb", b"ccc"))
    records = [r for r in read_records(io.BytesIO(blob)) if isinstance(r, Record)]
    resumed = list(read_records(io.BytesIO(blob), offset=records[1].offset))
    assert [r.data for r in resumed if isinstance(r, Record)] == [b"bb", b"ccc"]


@given(payloads, st.data())
@settings(max_examples=200)
def test_truncation_never_raises_and_keeps_whole_records(
    items: list[bytes], data: st.DataObject
) -> None:
    encoded = [encode_record(item) for item in items]
    blob = b"".join(encoded)
    cut = data.draw(st.integers(0, len(blob)))
    got = [r.data for r in read_records(io.BytesIO(blob[:cut])) if isinstance(r, Record)]
    whole, end = [], 0
    for item, record in zip(items, encoded, strict=True):
        end += len(record)
        if end <= cut:
            whole.append(item)
    assert got == whole


@given(st.lists(st.binary(min_size=1, max_size=100), min_size=1, max_size=8), st.data())
@settings(max_examples=200)
def test_bit_flip_never_raises_and_keeps_records_before(
    items: list[bytes], data: st.DataObject
) -> None:
    encoded = [encode_record(item) for item in items]
    blob = bytearray(b"".join(encoded))
    position = data.draw(st.integers(0, len(blob) - 1))
    blob[position] ^= 1 << data.draw(st.integers(0, 7))
    results = list(read_records(io.BytesIO(bytes(blob))))
    damaged_index, start = 0, 0
    for index, record in enumerate(encoded):
        if start <= position < start + len(record):
            damaged_index = index
            break
        start += len(record)
    good = [r.data for r in results if isinstance(r, Record)]
    assert good[:damaged_index] == items[:damaged_index]
    assert any(isinstance(r, Damage) for r in results) or len(good) < len(items)


def test_bad_payload_crc_is_skipped_and_reading_goes_on() -> None:
    first, second = encode_record(b"first"), bytearray(encode_record(b"second"))
    third = encode_record(b"third")
    second[14] ^= 0xFF  # inside the payload
    results = list(read_records(io.BytesIO(first + bytes(second) + third)))
    assert [type(r) for r in results] == [Record, Damage, Record]
    assert isinstance(results[1], Damage)
    assert results[1].reason == "bad data checksum"
    assert results[1].offset == len(first)
