"""Property tests: v2 record batches round-trip across every codec, checked against kafka-python's
independent parser and builder, and the produce validator accepts every well-formed batch.

kafka-python here has only gzip; for snappy, lz4 and zstd its codec hooks are pointed at cramjam
(a block codec only: the record format, xerial framing and batch parsing stay kafka-python's).
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Iterator

import cramjam
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedded_broker.protocol import record_batch as rb
from embedded_broker.protocol.validator import (
    LONG_MAX,
    BatchRejectedError,
    ValidationPolicy,
    check_request_records,
    validate_batch,
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
    varint,
)

from .forged import forge

with warnings.catch_warnings():  # kafka-python's schema loader uses deprecated importlib APIs
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka.codec as kafka_codec
    from kafka.record import default_records
    from kafka.record.util import decode_varint, encode_varint

CODECS = [NONE, GZIP, SNAPPY, SNAPPY_XERIAL, LZ4, ZSTD]
LONG_MIN = -(2**63)
POLICY = ValidationPolicy(max_message_bytes=1 << 30, compacted=False, log_append_time=False)
EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def _kafka_python_codecs() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            kafka_codec,
            "snappy",
            types.SimpleNamespace(
                compress=lambda data: bytes(cramjam.snappy.compress_raw(bytes(data))),
                decompress=lambda data: bytes(cramjam.snappy.decompress_raw(bytes(data))),
            ),
        )
        patch.setattr(kafka_codec, "has_lz4", lambda: True)
        patch.setattr(kafka_codec, "has_zstd", lambda: True)
        patch.setattr(default_records, "lz4_encode", lambda d: bytes(cramjam.lz4.compress(d)))
        patch.setattr(default_records, "lz4_decode", lambda d: bytes(cramjam.lz4.decompress(d)))
        patch.setattr(default_records, "zstd_encode", lambda d: bytes(cramjam.zstd.compress(d)))
        patch.setattr(default_records, "zstd_decode", lambda d: bytes(cramjam.zstd.decompress(d)))
        yield


def _validate(batch: bytes) -> None:
    header = check_request_records(batch, 11)
    validate_batch(batch, header, POLICY, now_ms=0, partition="t-0")


headers = st.lists(
    st.tuples(st.text(max_size=8), st.one_of(st.none(), st.binary(max_size=16))), max_size=3
)
maybe_bytes = st.one_of(st.none(), st.binary(max_size=64), st.binary(min_size=100, max_size=200))


@st.composite
def batches(draw: st.DrawFn) -> tuple[int, list[Rec]]:
    """(base timestamp, records) with timestamp deltas out to the varlong extremes."""
    base = draw(st.sampled_from([0, 1_700_000_000_000, -1]))
    low, high = LONG_MIN - min(base, 0), LONG_MAX - max(base, 0)
    deltas = st.one_of(st.integers(-(2**40), 2**40), st.sampled_from([low, high, -1, 0]))
    records = draw(
        st.lists(
            st.builds(
                Rec, key=maybe_bytes, value=maybe_bytes, timestamp_delta=deltas, headers=headers
            ),
            min_size=1,
            max_size=8,
        )
    )
    return base, records


@pytest.mark.parametrize("codec", CODECS)
@EXAMPLES
@given(drawn=batches())
def test_our_batches_read_back_identically_in_kafka_python(
    codec: int, drawn: tuple[int, list[Rec]]
) -> None:
    base, records = drawn
    batch = build_batch(records, codec=codec, base_timestamp=base)
    _validate(batch)
    theirs = default_records.DefaultRecordBatch(bytearray(batch))
    assert theirs.validate_crc()
    parsed = list(theirs)
    assert [(r.offset, r.timestamp, r.key, r.value) for r in parsed] == [
        (i, base + rec.timestamp_delta, rec.key, rec.value) for i, rec in enumerate(records)
    ]
    assert [list(r.headers) for r in parsed] == [list(rec.headers) for rec in records]
    ours = list(rb.iter_records(batch))
    assert [(r.offset_delta, r.timestamp_delta, r.key_is_null) for r in ours] == [
        (i, rec.timestamp_delta, rec.key is None) for i, rec in enumerate(records)
    ]


@pytest.mark.parametrize("codec", [NONE, GZIP, SNAPPY, LZ4, ZSTD])
@EXAMPLES
@given(drawn=batches(), producer=st.sampled_from([(-1, -1, -1), (4000, 3, 2**31 - 20)]))
def test_the_validator_accepts_every_batch_kafka_python_builds(
    codec: int, drawn: tuple[int, list[Rec]], producer: tuple[int, int, int]
) -> None:
    base, records = drawn
    builder = default_records.DefaultRecordBatchBuilder(2, codec, False, *producer, 1 << 30)
    first = base if base >= 0 else 0
    for offset, rec in enumerate(records):
        timestamp = first + max(min(rec.timestamp_delta, 2**40), -first)  # kafka-python: >= 0
        builder.append(offset, timestamp, rec.key, rec.value, list(rec.headers))
    batch = bytes(builder.build())
    _validate(batch)
    parsed = list(default_records.DefaultRecordBatch(bytearray(batch)))
    ours = list(rb.iter_records(batch))
    header = rb.parse_header(batch)
    assert header.compression in (NONE, codec)  # kafka-python sends plain when that is smaller
    assert [(header.base_timestamp + r.timestamp_delta, r.key_is_null) for r in ours] == [
        (p.timestamp, p.key is None) for p in parsed
    ]


@settings(max_examples=200, deadline=None)
@given(
    value=st.one_of(st.integers(LONG_MIN, LONG_MAX), st.sampled_from([LONG_MIN, LONG_MAX, 0, -1]))
)
def test_varints_agree_with_kafka_python_to_the_int64_extremes(value: int) -> None:
    encoded = varint(value)
    theirs: bytearray = bytearray()
    encode_varint(value, theirs.append)
    assert bytes(theirs) == encoded
    assert decode_varint(encoded, 0) == (value, len(encoded))
    # A record whose timestamp delta is this varlong: the validator reads it back exactly.
    body = b"\x00" + encoded + varint(0) + varint(-1) + varint(-1) + varint(0)
    batch = _forge_one(body, base_timestamp=0 if value >= 0 else -1)
    _validate(batch)
    assert next(rb.iter_records(batch)).timestamp_delta == value


def _forge_one(body: bytes, *, base_timestamp: int) -> bytes:
    return forge(varint(len(body)) + body, count=1, base_timestamp=base_timestamp)


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(st.integers(2**31, 2**40), st.integers(-(2**40), -(2**31) - 1)))
def test_int32_fields_out_of_range_are_invalid(value: int) -> None:
    # The offset delta is a varint (int32): a value past int32 is a malformed record.
    body = b"\x00" + varint(0) + varint(value) + varint(-1) + varint(-1) + varint(0)
    with pytest.raises(BatchRejectedError):
        _validate(_forge_one(body, base_timestamp=0))
