"""Forge v2 record batches with any header and records section, CRC still correct (for tests)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import crc32c
from kio.schema.errors import ErrorCode

from tests.unit.storage.batches import Rec, compress, encode_record, varint

TS = 1_700_000_000_000
CONTROL = 0x20
TRANSACTIONAL = 0x10
LOG_APPEND_TIME = 0x08


def records_section(records: Sequence[Rec], *, deltas: Sequence[int] | None = None) -> bytes:
    """Encoded records; ``deltas`` overrides their offset deltas (0, 1, 2, ... otherwise)."""
    offsets = deltas if deltas is not None else range(len(records))
    return b"".join(encode_record(d, r) for d, r in zip(offsets, records, strict=True))


def forge(
    payload: bytes,
    *,
    count: int,
    last_offset_delta: int | None = None,
    attributes: int = 0,
    base_offset: int = 0,
    base_timestamp: int = TS,
    max_timestamp: int | None = None,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
) -> bytes:
    """A batch around ``payload`` (already compressed if the attributes say so), valid CRC."""
    after_crc = (
        struct.pack(
            ">hiqqqhii",
            attributes,
            count - 1 if last_offset_delta is None else last_offset_delta,
            base_timestamp,
            base_timestamp if max_timestamp is None else max_timestamp,
            producer_id,
            producer_epoch,
            base_sequence,
            count,
        )
        + payload
    )
    crc = crc32c.crc32c(after_crc)
    return struct.pack(">qiibI", base_offset, 9 + len(after_crc), -1, 2, crc) + after_crc


def good(records: Sequence[Rec], *, codec: int = 0, attributes: int = 0, **header: int) -> bytes:
    """A well-formed batch of ``records`` compressed with ``codec`` (more attribute bits OR-ed)."""
    return forge(
        compress(codec, records_section(records)),
        count=len(records),
        attributes=codec | attributes,
        **header,
    )


def raw_record(body: bytes) -> bytes:
    """A record whose body (after the length varint) is exactly ``body``."""
    return varint(len(body)) + body


MIB = 1024 * 1024


def zstd_rle_bomb(total: int) -> bytes:
    """A zstd frame of RLE blocks: 4 bytes per 128 KiB of zeros, so GiBs fit in a small batch."""
    block = 128 * 1024
    frame = bytearray(
        struct.pack("<I", 0xFD2FB528) + b"\x00\x38"
    )  # no content size, 128 KiB window
    blocks = total // block
    for i in range(blocks):
        last = 1 if i == blocks - 1 else 0
        frame += (last | 1 << 1 | block << 3).to_bytes(3, "little") + b"\x00"  # RLE block
    return bytes(frame)


def gzip_bomb(members: int) -> bytes:
    """``members`` concatenated gzip members of 16 MiB of zeros each (about 16 KiB apiece)."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = deflater.compress(bytes(16 * MIB)) + deflater.flush()
    return member * members


# --- the invalid batches of issue 11, each with the answer Kafka gives ---------------------------

HOUR_MS = 3_600_000
ONE = [Rec(b"k", b"v")]
TWO = [Rec(b"k1", b"v1"), Rec(b"k2", b"v2")]


@dataclass(frozen=True)
class Case:
    """One bad Produce input: the records (built at send time, for clock-relative timestamps),
    the expected error, and the request and topic settings it needs."""

    id: str
    build: Callable[[int], bytes]  # now_ms -> records
    code: ErrorCode
    version: int = 9
    topic_config: dict[str, str] = field(default_factory=dict)
    acks: int = -1
    transactional_id: str | None = None
    record_errors: tuple[int, ...] = ()
    in_validator: bool = True  # False: decided by the handler (acks, transactions)


def _const(data: bytes) -> Callable[[int], bytes]:
    return lambda _now: data


_SECTION_ONE = records_section(ONE)
_SECTION_TWO = records_section(TWO)
_BODY = b"\x00" + varint(0) + varint(0) + varint(1) + b"k" + varint(1) + b"v"  # up to headers


def _aged(now: int, offset_ms: int) -> bytes:
    """Two records at ``now``; the second one ``offset_ms`` away from it."""
    return good([Rec(b"a", b"1", 0), Rec(b"b", b"2", offset_ms)], base_timestamp=now)


INVALID = ErrorCode.invalid_record
CASES = [
    Case("count-minus-one", _const(forge(_SECTION_ONE, count=-1, last_offset_delta=0)), INVALID),
    Case("count-zero", _const(forge(_SECTION_ONE, count=0, last_offset_delta=0)), INVALID),
    Case("count-zero-and-delta-minus-one", _const(forge(_SECTION_ONE, count=0)), INVALID),
    Case("count-int-max", _const(forge(_SECTION_ONE, count=0x7FFFFFFF)), INVALID),
    Case("count-above-records-present", _const(forge(_SECTION_TWO, count=3)), INVALID),
    Case("count-below-records-present", _const(forge(_SECTION_TWO, count=1)), INVALID),
    *(
        Case(
            f"codec-{codec}",
            _const(forge(_SECTION_ONE, count=1, attributes=codec)),
            ErrorCode.unsupported_compression_type,
        )
        for codec in (5, 6, 7)
    ),
    Case(
        "gzip-flag-over-garbage",
        _const(forge(b"\x1f\x8b\x08\x00garbage-not-deflate" * 3, count=1, attributes=1)),
        ErrorCode.corrupt_message,
    ),
    Case(
        "zstd-flag-over-garbage",
        _const(forge(b"\x28\xb5\x2f\xfd" + b"\xff" * 40, count=1, attributes=4)),
        ErrorCode.corrupt_message,
    ),
    Case(
        "record-runs-past-its-batch",
        _const(forge(varint(len(_BODY) + 1 + 40) + _BODY + varint(0), count=1)),
        INVALID,
    ),
    Case(
        "control-bit-from-a-client", _const(forge(_SECTION_ONE, count=1, attributes=0x20)), INVALID
    ),
    Case(
        "transactional-bit-without-transactional-id",
        _const(good(ONE, attributes=0x10, producer_id=7, producer_epoch=0, base_sequence=0)),
        ErrorCode.transactional_id_authorization_failed,
        in_validator=False,
    ),
    Case(
        "transactional-bit-without-a-transaction",
        _const(good(ONE, attributes=0x10, producer_id=7, producer_epoch=0, base_sequence=0)),
        # the leader asks the coordinator (KIP-890), which knows no such producer: Kafka
        # 4.3.1 answers this once its __transaction_state exists (checked by hand)
        ErrorCode.invalid_producer_id_mapping,
        transactional_id="no-such-transaction",
        in_validator=False,
    ),
    Case(
        "last-offset-delta-one-million",
        _const(forge(_SECTION_ONE, count=1, last_offset_delta=1_000_000)),
        INVALID,
    ),
    Case(
        "acks-2",
        _const(good(ONE)),
        ErrorCode.invalid_required_acks,
        acks=2,
        in_validator=False,
    ),
    Case(
        "zstd-on-produce-v6",
        _const(good(ONE, codec=4)),
        ErrorCode.unsupported_compression_type,
        version=6,
    ),
    Case(
        "zstd-on-produce-v3",
        _const(good(ONE, codec=4)),
        ErrorCode.unsupported_compression_type,
        version=3,
    ),
    Case(
        "offset-deltas-with-a-gap",
        _const(forge(records_section(TWO, deltas=[0, 5]), count=2)),
        INVALID,
    ),
    Case(
        "compressed-offset-deltas-not-from-zero",
        _const(forge(compress(1, records_section(TWO, deltas=[1, 2])), count=2, attributes=1)),
        INVALID,
    ),
    Case("two-batches-in-one-partition", _const(good(ONE) + good(ONE)), INVALID),
    Case("bytes-after-the-batch", _const(good(ONE) + b"\x00" * 7), INVALID),
    Case("truncated-batch", _const(good(TWO)[:-3]), INVALID),
    Case("base-offset-not-zero", _const(good(ONE, base_offset=5)), INVALID),
    Case(
        "producer-id-without-sequence",
        _const(good(ONE, producer_id=5, producer_epoch=0)),
        INVALID,
    ),
    Case(
        "negative-header-key-size",
        _const(forge(raw_record(_BODY + varint(1) + varint(-2) + varint(-1)), count=1)),
        INVALID,
    ),
    Case(
        "key-size-below-minus-one",
        _const(
            forge(
                raw_record(b"\x00" + varint(0) + varint(0) + varint(-3) + varint(-1) + varint(0)),
                count=1,
            )
        ),
        INVALID,
    ),
    Case(
        "varint-longer-than-five-bytes",
        _const(
            forge(
                raw_record(
                    b"\x00" + varint(0) + b"\x80\x80\x80\x80\x80\x00" + varint(-1) * 2 + varint(0)
                ),
                count=1,
            )
        ),
        INVALID,
    ),
    Case("magic-1", _const(good(ONE)[:16] + b"\x01" + good(ONE)[17:]), INVALID),
    Case(
        "timestamp-older-than-before-max",
        lambda now: _aged(now, -2 * HOUR_MS),
        ErrorCode.invalid_timestamp,
        topic_config={"message.timestamp.before.max.ms": str(HOUR_MS)},
        record_errors=(1,),
    ),
    Case(
        "timestamp-later-than-after-max",
        lambda now: _aged(now, 2 * HOUR_MS),
        ErrorCode.invalid_timestamp,
        version=8,
        topic_config={"message.timestamp.after.max.ms": str(HOUR_MS)},
        record_errors=(1,),
    ),
    Case(
        "log-append-time-bit-from-a-producer",
        _const(good(ONE, attributes=0x08)),
        ErrorCode.invalid_timestamp,
        topic_config={"message.timestamp.type": "LogAppendTime"},
        record_errors=(0,),
    ),
    *(
        Case(
            f"null-key-on-compacted-topic-v{version}-codec-{codec}",
            _const(good([Rec(b"a", b"1"), Rec(None, b"2"), Rec(b"c", b"3")], codec=codec)),
            INVALID,
            version=version,
            topic_config={"cleanup.policy": "compact"},
            record_errors=(1,),
        )
        for version, codec in ((8, 0), (11, 2))
    ),
]
