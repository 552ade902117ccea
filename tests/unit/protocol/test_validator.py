"""The produce-path validator, sans-IO: Kafka's error code for every malformed batch, KIP-467
record errors, timestamp rules, and decompression bombs refused in bounded memory."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from kio.schema.errors import ErrorCode

from embedded_broker.protocol import record_batch as rb
from embedded_broker.protocol.validator import (
    BatchRejectedError,
    RecordError,
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
)

from .forged import CASES, TS, Case, forge, good, gzip_bomb, records_section, zstd_rle_bomb

MIB = 1024 * 1024
PLAIN = ValidationPolicy(max_message_bytes=1_048_588, compacted=False, log_append_time=False)


def policy_for(config: dict[str, str]) -> ValidationPolicy:
    defaults = {
        "max.message.bytes": "1048588",
        "cleanup.policy": "delete",
        "message.timestamp.type": "CreateTime",
    }
    return ValidationPolicy.from_topic_config({**defaults, **config})


def validate(
    records: bytes, policy: ValidationPolicy = PLAIN, *, version: int = 9, now: int = TS
) -> None:
    header = check_request_records(records, version)
    validate_batch(records, header, policy, now_ms=now, partition="t-0")


@pytest.mark.parametrize("case", [c for c in CASES if c.in_validator], ids=lambda c: c.id)
def test_each_invalid_batch_gets_kafkas_error(case: Case) -> None:
    now = int(time.time() * 1000)
    with pytest.raises(BatchRejectedError) as caught:
        validate(case.build(now), policy_for(case.topic_config), version=case.version, now=now)
    assert caught.value.code == case.code, caught.value.message
    assert caught.value.message  # every rejection says why
    assert tuple(e.batch_index for e in caught.value.record_errors) == case.record_errors


@pytest.mark.parametrize("codec", [NONE, GZIP, SNAPPY, SNAPPY_XERIAL, LZ4, ZSTD])
def test_well_formed_batches_pass_in_every_codec(codec: int) -> None:
    records = [Rec(b"k%d" % i, b"v" * i, i, headers=[("h", b"x"), ("n", None)]) for i in range(50)]
    records.append(Rec(None, None, 3))
    validate(build_batch(records, codec=codec))


ONE_REC = [Rec(b"k", b"v")]


def test_record_errors_name_every_failing_record_and_kafkas_message() -> None:
    compacted = policy_for({"cleanup.policy": "compact"})
    batch = good(
        [Rec(None, b"a"), Rec(b"k", b"b"), Rec(None, b"c"), Rec(None, b"d"), Rec(None, b"e")]
    )
    with pytest.raises(BatchRejectedError) as caught:
        validate(batch, compacted)
    rejected = caught.value
    assert rejected.code == ErrorCode.invalid_record
    assert [e.batch_index for e in rejected.record_errors] == [0, 2, 3, 4]
    reason = "Compacted topic cannot accept message without key in topic partition t-0."
    assert rejected.record_errors[0] == RecordError(0, reason)
    assert rejected.message == (
        "One or more records have been rejected due to 4 record errors in total, and only "
        f"showing the first three errors at most: [RecordError(batchIndex=0, message='{reason}'), "
        f"RecordError(batchIndex=2, message='{reason}'), "
        f"RecordError(batchIndex=3, message='{reason}')]"
    )


def test_timestamps_inside_the_window_pass_and_no_timestamp_is_exempt() -> None:
    now = TS + 10 * 3_600_000
    window = policy_for(
        {"message.timestamp.before.max.ms": "3600000", "message.timestamp.after.max.ms": "60000"}
    )
    validate(
        good([Rec(b"a", b"1", 0), Rec(b"b", b"2", 59_000)], base_timestamp=now), window, now=now
    )
    validate(good(ONE_REC, base_timestamp=-1), window, now=now)  # NO_TIMESTAMP is never checked
    with pytest.raises(BatchRejectedError) as caught:
        validate(good(ONE_REC, base_timestamp=now - 3_600_001), window, now=now)
    assert caught.value.code == ErrorCode.invalid_timestamp
    assert caught.value.message == "One or more records have been rejected due to invalid timestamp"
    # Under LogAppendTime the broker stamps the time, so a producer's clock does not matter.
    lat = policy_for(
        {"message.timestamp.type": "LogAppendTime", "message.timestamp.before.max.ms": "1"}
    )
    validate(good(ONE_REC, base_timestamp=0), lat, now=now)


def test_a_batch_above_max_message_bytes_is_message_too_large() -> None:
    batch = good([Rec(b"k", b"v" * 2000)])
    with pytest.raises(BatchRejectedError) as caught:
        validate(
            batch, ValidationPolicy(max_message_bytes=1000, compacted=False, log_append_time=False)
        )
    assert caught.value.code == ErrorCode.message_too_large


def test_a_bad_crc_is_corrupt_message() -> None:
    batch = bytearray(good(ONE_REC))
    batch[-1] ^= 1
    with pytest.raises(BatchRejectedError) as caught:
        validate(bytes(batch))
    assert caught.value.code == ErrorCode.corrupt_message


@pytest.mark.parametrize(
    ("codec", "payload", "expands_to"),
    [
        (ZSTD, lambda: zstd_rle_bomb(4 * 1024 * MIB), "4 GiB"),
        (GZIP, lambda: gzip_bomb(15), "240 MiB"),
    ],
    ids=["zstd-4GiB", "gzip-240MiB"],
)
def test_a_decompression_bomb_is_refused_in_bounded_memory(
    codec: int, payload: object, expands_to: str
) -> None:
    assert callable(payload)
    batch = forge(payload(), count=1, attributes=codec)
    assert len(batch) < 262_144, expands_to
    policy = ValidationPolicy(max_message_bytes=262_144, compacted=False, log_append_time=False)
    assert policy.decompression_limit == 16 * MIB
    tracemalloc.start()
    try:
        with pytest.raises(BatchRejectedError) as caught:
            validate(batch, policy)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.code == ErrorCode.message_too_large
    assert "max.message.bytes" in (caught.value.message or "")
    # Stated bound: 1.5 x the 16 MiB decompression limit, whatever the bomb expands to.
    assert peak < 24 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_a_bomb_inside_the_limit_still_has_to_parse() -> None:
    # 1 MiB of zeros parses as one record of length 0 and then garbage: INVALID_RECORD, not a crash.
    batch = forge(zstd_rle_bomb(1 * MIB), count=1, attributes=ZSTD)
    with pytest.raises(BatchRejectedError) as caught:
        validate(batch)
    assert caught.value.code == ErrorCode.invalid_record


def test_decompression_limit_follows_max_message_bytes_within_bounds() -> None:
    def limit(max_bytes: int) -> int:
        return ValidationPolicy(
            max_bytes, compacted=False, log_append_time=False
        ).decompression_limit

    assert limit(1000) == 16 * MIB
    assert limit(1_048_588) == 64 * 1_048_588
    assert limit(100 * MIB) == 256 * MIB


def test_records_section_helper_matches_the_batch_builder() -> None:
    records = [Rec(b"a", b"1"), Rec(None, b"2", 5)]
    assert good(records)[rb.HEADER_SIZE :] == records_section(records)
