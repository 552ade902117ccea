"""ShareFetch's acquire modes (KIP-1206, the Java share consumer's share.acquire.mode): the same
body on the built-in broker and on Kafka 4.3.1.

In the default batch-optimized mode a fetch acquires whole record batches, so it may take more
than max_records; in record-limit mode it acquires exactly max_records, splitting a batch, and
the rest of the batch goes to the next fetches."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Producer
from kio.schema.share_fetch.v2 import request as fetch_req
from kio.static.primitive import i8

from tests.integration.groups import conftest as groups
from tests.integration.groups.clients import create_topic
from tests.integration.groups.wire import ms

from .conftest import DEADLINE_S, topic_id
from .test_share_start_offset_parity import _join
from .wire import ShareWire, alter_group_configs, hold_longer

BATCH_OPTIMIZED, RECORD_LIMIT = 0, 1
UNKNOWN_SERVER_ERROR = -1  # what Kafka 4.3.1 answers
# the fixture: each test runs on a fresh built-in broker and on the real Kafka node
bootstrap = groups.bootstrap


def _one_batch(bootstrap: str, topic: str, count: int) -> None:
    """``count`` records in one record batch (they wait together for the linger)."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 500})
    for n in range(count):
        producer.produce(topic, value=b"v%d" % n, partition=0)
    assert producer.flush(DEADLINE_S) == 0


def _fetch(member: ShareWire, mode: int, max_records: int) -> tuple[int, list[int]]:
    """A ShareFetch of partition 0 in ``mode``: (its error code, the offsets acquired)."""
    response = member.client.send(
        fetch_req.ShareFetchRequest(
            group_id=member.group,
            member_id=member.member_id,
            share_session_epoch=member.session_epoch,
            max_wait=ms(500),
            min_bytes=1,
            max_bytes=1024 * 1024,
            max_records=max_records,
            batch_size=max_records,
            share_acquire_mode=i8(mode),
            topics=(
                fetch_req.FetchTopic(
                    topic_id=member.topic_id,
                    partitions=(
                        fetch_req.FetchPartition(partition_index=0, acknowledgement_batches=()),
                    ),
                ),
            ),
            forgotten_topics_data=(),
        )
    )
    if response.error_code == 0:
        member.session_epoch += 1
    return int(response.error_code), member.got(response).offsets()


def _acquired(member: ShareWire, mode: int, max_records: int) -> list[int]:
    """The offsets of the first fetch that acquires any (Kafka sets a share-partition up in
    the background, so the first fetches may return nothing)."""
    deadline = time.monotonic() + DEADLINE_S
    while not (got := _fetch(member, mode, max_records))[1]:
        assert got[0] == 0, got
        assert time.monotonic() < deadline, "nothing acquired"
    assert got[0] == 0, got
    return got[1]


def _member(bootstrap: str, records: int) -> ShareWire:
    topic, group = f"mode-{uuid.uuid4().hex[:8]}", f"g-mode-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    assert alter_group_configs(bootstrap, group, {"share.auto.offset.reset": "earliest"})[0] == 0
    hold_longer(bootstrap, group)
    _one_batch(bootstrap, topic, records)
    member = ShareWire(bootstrap, group, topic_id(bootstrap, topic))
    _join(member, topic)
    return member


def test_record_limit_mode_acquires_exactly_max_records(bootstrap: str) -> None:
    member = _member(bootstrap, 5)
    try:
        assert _acquired(member, RECORD_LIMIT, 2) == [0, 1]
        assert _acquired(member, RECORD_LIMIT, 2) == [2, 3]
        assert _acquired(member, RECORD_LIMIT, 2) == [4]
    finally:
        member.close()


def test_batch_optimized_mode_acquires_the_whole_batch(bootstrap: str) -> None:
    member = _member(bootstrap, 5)
    try:
        assert _acquired(member, BATCH_OPTIMIZED, 2) == [0, 1, 2, 3, 4]
    finally:
        member.close()


def test_an_unknown_acquire_mode_is_refused(bootstrap: str) -> None:
    member = _member(bootstrap, 1)
    try:
        assert _fetch(member, 7, 2)[0] == UNKNOWN_SERVER_ERROR
    finally:
        member.close()
