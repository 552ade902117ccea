"""Golden and property tests for the v2 record-batch header parser and in-place rewrites."""

from __future__ import annotations

import contextlib
import struct
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedded_broker.protocol.record_batch import (
    HEADER_SIZE,
    InvalidRecordBatchError,
    UnsupportedMagicError,
    complete_length,
    has_null_key,
    iter_batches,
    iter_records,
    parse_header,
    set_base_offset,
    set_log_append_time,
    set_partition_leader_epoch,
    verify_crc,
)
from tests.unit.storage.batches import (
    GZIP,
    LZ4,
    NONE,
    SNAPPY,
    SNAPPY_XERIAL,
    ZSTD,
    Rec,
    build_batch,
)

with warnings.catch_warnings():  # kafka-python's schema loader uses deprecated importlib APIs
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka.record.default_records import DefaultRecordBatchBuilder

TS = 1_700_000_000_000


def kafka_python_batch(
    records: list[tuple[bytes | None, bytes | None, int]],
    *,
    compression: int = 0,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
) -> bytes:
    builder = DefaultRecordBatchBuilder(
        2, compression, False, producer_id, producer_epoch, base_sequence, 1 << 20
    )
    for offset, (key, value, timestamp) in enumerate(records):
        builder.append(offset, timestamp, key, value, [])
    return bytes(builder.build())


def test_header_of_a_kafka_python_batch() -> None:
    batch = kafka_python_batch(
        [(b"a", b"one", TS), (None, b"two", TS + 7), (b"c", None, TS + 3)],
        producer_id=42,
        producer_epoch=3,
        base_sequence=10,
    )
    header = parse_header(batch)
    assert header.position == 0
    assert header.base_offset == 0
    assert header.size == len(batch)
    assert header.magic == 2
    assert header.last_offset_delta == 2
    assert header.records_count == 3
    assert header.base_timestamp == TS
    assert header.max_timestamp == TS + 7
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (42, 3, 10)
    assert header.compression == 0
    assert not header.is_log_append_time
    assert not header.is_transactional
    assert not header.is_control
    assert verify_crc(batch)
    assert [(r.offset_delta, r.timestamp_delta, r.key_is_null) for r in iter_records(batch)] == [
        (0, 0, False),
        (1, 7, True),
        (2, 3, False),
    ]


def test_our_test_builder_is_byte_exact_with_kafka_python() -> None:
    ours = build_batch(
        [Rec(b"a", b"one", 0), Rec(None, b"two", 7), Rec(b"c", None, 3)],
        base_timestamp=TS,
        producer_id=42,
        producer_epoch=3,
        base_sequence=10,
        partition_leader_epoch=0,
    )
    theirs = kafka_python_batch(
        [(b"a", b"one", TS), (None, b"two", TS + 7), (b"c", None, TS + 3)],
        producer_id=42,
        producer_epoch=3,
        base_sequence=10,
    )
    # kafka-python leaves partitionLeaderEpoch at 0; everything else must match byte for byte
    assert ours == theirs


def test_gzip_batch_from_kafka_python() -> None:
    batch = kafka_python_batch([(None, b"x" * 100, TS), (b"k", b"y" * 100, TS)], compression=1)
    header = parse_header(batch)
    assert header.compression == 1
    assert verify_crc(batch)
    assert has_null_key(batch)
    assert [r.offset_delta for r in iter_records(batch)] == [0, 1]


def test_iter_batches_walks_concatenated_batches_and_stops_at_a_partial_tail() -> None:
    batches = [build_batch([Rec(b"k", b"v" * n)]) for n in (1, 50, 300)]
    data = b"".join(batches)
    headers = list(iter_batches(data + batches[0][:30]))
    assert [h.position for h in headers] == [0, len(batches[0]), len(batches[0]) + len(batches[1])]
    assert headers[-1].end == len(data)
    assert list(iter_batches(data[: len(data) - 1]))[-1].end == len(batches[0]) + len(batches[1])
    assert complete_length(data + batches[2][: HEADER_SIZE + 2]) == len(data)
    assert complete_length(memoryview(data), len(batches[0])) == len(data) - len(batches[0])


def test_magic_other_than_two_is_rejected() -> None:
    batch = bytearray(build_batch([Rec(b"k", b"v")]))
    batch[16] = 1
    with pytest.raises(UnsupportedMagicError, match="magic 1"):
        list(iter_batches(batch))
    assert isinstance(UnsupportedMagicError(0, 0), InvalidRecordBatchError)


def test_a_batch_length_below_the_header_is_rejected() -> None:
    batch = bytearray(build_batch([Rec(b"k", b"v")]))
    struct.pack_into(">i", batch, 8, 10)
    with pytest.raises(InvalidRecordBatchError):
        list(iter_batches(batch))


def test_offset_and_epoch_rewrites_keep_the_crc_valid() -> None:
    first = build_batch([Rec(b"k", b"v")])
    second = build_batch([Rec(b"k", b"w"), Rec(b"k", b"x")])
    buf = bytearray(first + second)
    set_base_offset(buf, 0, 1234)
    set_base_offset(memoryview(buf), len(first), 1235)
    set_partition_leader_epoch(buf, len(first), 7)
    headers = list(iter_batches(buf))
    assert [h.base_offset for h in headers] == [1234, 1235]
    assert [h.last_offset for h in headers] == [1234, 1236]
    assert headers[1].partition_leader_epoch == 7
    assert verify_crc(buf[: len(first)])
    assert verify_crc(buf[len(first) :])
    assert buf[len(first) + 16 :] == second[16:]


def test_log_append_time_sets_the_flag_and_recomputes_the_crc() -> None:
    original = build_batch([Rec(b"k", b"v", 0), Rec(b"k", b"v", 5)], base_timestamp=TS)
    buf = bytearray(b"\x00" * 3 + original)
    set_log_append_time(buf, 3, 99_999)
    header = parse_header(buf, 3)
    assert header.is_log_append_time
    assert header.max_timestamp == 99_999
    assert header.compression == 0
    assert verify_crc(buf[3:])
    assert not verify_crc(original[:21] + buf[3 + 21 :])  # the old CRC no longer matches


def test_a_flipped_byte_fails_the_crc() -> None:
    batch = bytearray(build_batch([Rec(b"key", b"value" * 20)]))
    assert verify_crc(batch)
    batch[-5] ^= 0x01
    assert not verify_crc(batch)
    assert not verify_crc(batch[:20])


@pytest.mark.parametrize("codec", [NONE, GZIP, SNAPPY, SNAPPY_XERIAL, LZ4, ZSTD])
def test_null_key_detection_in_every_compression(codec: int) -> None:
    keyed = [Rec(b"k%d" % i, b"value-%d" % i * 50) for i in range(40)]
    with_null = [*keyed[:20], Rec(None, b"no key"), *keyed[20:]]
    assert not has_null_key(build_batch(keyed, codec=codec))
    batch = build_batch(with_null, codec=codec)
    assert has_null_key(batch)
    assert verify_crc(batch)
    assert [r.offset_delta for r in iter_records(batch)] == list(range(41))


def test_garbage_records_section_is_an_invalid_batch() -> None:
    batch = bytearray(build_batch([Rec(b"k", b"v" * 30)]))
    struct.pack_into(">i", batch, 57, 3)  # claims three records, holds one
    with pytest.raises(InvalidRecordBatchError):
        list(iter_records(batch))
    compressed = bytearray(build_batch([Rec(b"k", b"v" * 30)], codec=ZSTD))
    compressed[HEADER_SIZE + 4 :] = b"\xff" * (len(compressed) - HEADER_SIZE - 4)
    with pytest.raises(InvalidRecordBatchError):
        has_null_key(compressed)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_the_parser(data: bytes) -> None:
    try:
        for header in iter_batches(data):
            assert header.end <= len(data)
            verify_crc(memoryview(data)[header.position : header.end])
            with contextlib.suppress(InvalidRecordBatchError):
                has_null_key(data[header.position : header.end])
    except InvalidRecordBatchError:
        pass
    assert 0 <= complete_length(data) <= len(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=40), st.integers(min_value=0, max_value=200))
def test_mutated_batches_never_crash_the_record_walker(patch: bytes, where: int) -> None:
    batch = bytearray(build_batch([Rec(b"k", b"v" * 20), Rec(None, b"w" * 5)]))
    at = HEADER_SIZE + where % (len(batch) - HEADER_SIZE)
    batch[at : at + len(patch)] = patch[: len(batch) - at]
    with contextlib.suppress(InvalidRecordBatchError):
        list(iter_records(batch))


@pytest.mark.parametrize("codec", [GZIP, SNAPPY, SNAPPY_XERIAL, LZ4, ZSTD])
def test_decompression_is_bounded(codec: int) -> None:
    records = [Rec(b"k%d" % i, b"\x00" * 100_000) for i in range(30)]  # 3 MB, compresses well
    batch = build_batch(records, codec=codec)
    assert len(batch) < 400_000
    assert not has_null_key(batch)  # within the default limit
    with pytest.raises(InvalidRecordBatchError, match=r"larger than|corrupt"):
        has_null_key(batch, max_decompressed=1_000_000)
