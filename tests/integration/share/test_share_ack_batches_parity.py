"""A share consumer's acknowledgement batches are one change per partition: the same body on the
built-in broker and on Kafka 4.3.1.

Kafka first checks the shape of each partition's batches (offsets in order and not overlapping,
first <= last, one type per batch or one per offset, known types) and answers a partition with a
malformed list INVALID_REQUEST; then its share-partition applies the batches together, and if one
of them cannot be applied (offsets past the acquired ones: INVALID_REQUEST; records not acquired
by this member: INVALID_RECORD_STATE) none is. The error is the partition's, never the request's;
batches wholly below the share-partition start offset are skipped."""

from __future__ import annotations

import uuid
from typing import Any

from kio.schema.share_acknowledge.v2 import request as ack_req
from kio.schema.share_fetch.v2 import request as fetch_req

from tests.integration.groups import conftest as groups
from tests.integration.groups.clients import create_topic
from tests.integration.groups.wire import ms

from .conftest import produce, topic_id
from .test_share_start_offset_parity import _acquire, _join
from .wire import ACCEPT, RELEASE, ShareWire, alter_group_configs, hold_longer

INVALID_REQUEST, INVALID_RECORD_STATE = 42, 121
# the fixture: each test runs on a fresh built-in broker and on the real Kafka node
bootstrap = groups.bootstrap

Batch = tuple[int, int, tuple[int, ...]]  # first offset, last offset, acknowledge types


def _member(bootstrap: str, records: int) -> ShareWire:
    """A member of a new group holding ``records`` records of a new one-partition topic."""
    topic, group = f"acks-{uuid.uuid4().hex[:8]}", f"g-acks-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    assert alter_group_configs(bootstrap, group, {"share.auto.offset.reset": "earliest"})[0] == 0
    hold_longer(bootstrap, group)  # nothing the test holds expires under load
    produce(bootstrap, topic, records)
    member = ShareWire(bootstrap, group, topic_id(bootstrap, topic))
    _join(member, topic)
    assert _acquire(member, records) == list(range(records))
    return member


def _acknowledge(member: ShareWire, batches: list[Batch]) -> tuple[int, int]:
    """ShareAcknowledge of partition 0: (the request's error code, the partition's)."""
    response = member.client.send(
        ack_req.ShareAcknowledgeRequest(
            group_id=member.group,
            member_id=member.member_id,
            share_session_epoch=member.session_epoch,
            topics=(
                ack_req.AcknowledgeTopic(
                    topic_id=member.topic_id,
                    partitions=(
                        ack_req.AcknowledgePartition(
                            partition_index=0,
                            acknowledgement_batches=tuple(
                                ack_req.AcknowledgementBatch(
                                    first_offset=f, last_offset=last, acknowledge_types=types
                                )
                                for f, last, types in batches
                            ),
                        ),
                    ),
                ),
            ),
        )
    )
    if response.error_code == 0:
        member.session_epoch += 1
    codes = [int(p.error_code) for t in response.responses for p in t.partitions]
    return int(response.error_code), codes[0] if codes else 0


def _fetch_acknowledging(member: ShareWire, batches: list[Batch]) -> Any:
    """A ShareFetch of partition 0 carrying ``batches``; its partition 0 answer."""
    response = member.client.send(
        fetch_req.ShareFetchRequest(
            group_id=member.group,
            member_id=member.member_id,
            share_session_epoch=member.session_epoch,
            max_wait=ms(0),
            min_bytes=1,
            max_bytes=1024 * 1024,
            max_records=500,
            batch_size=500,
            topics=(
                fetch_req.FetchTopic(
                    topic_id=member.topic_id,
                    partitions=(
                        fetch_req.FetchPartition(
                            partition_index=0,
                            acknowledgement_batches=tuple(
                                fetch_req.AcknowledgementBatch(
                                    first_offset=f, last_offset=last, acknowledge_types=types
                                )
                                for f, last, types in batches
                            ),
                        ),
                    ),
                ),
            ),
            forgotten_topics_data=(),
        )
    )
    assert response.error_code == 0, response
    member.session_epoch += 1
    return next(p for t in response.responses for p in t.partitions if p.partition_index == 0)


A, R = (ACCEPT,), (RELEASE,)


def test_one_bad_batch_fails_the_partitions_whole_acknowledgement(bootstrap: str) -> None:
    member = _member(bootstrap, 4)
    try:
        assert _acknowledge(member, [(3, 3, A)]) == (0, 0)
        refused = {
            "unordered": ([(2, 2, A), (0, 0, A)], INVALID_REQUEST),
            "overlapping": ([(0, 2, R), (1, 1, A)], INVALID_REQUEST),
            # Kafka's shape check lets a batch start at the last offset of the one before; the
            # share-partition then finds that offset settled by the earlier batch
            "sharing an offset": ([(0, 1, A), (1, 2, A)], INVALID_RECORD_STATE),
            "first after last": ([(0, 0, A), (2, 1, A)], INVALID_REQUEST),
            "no type": ([(0, 0, A), (1, 1, ())], INVALID_REQUEST),
            "types not one per offset": ([(0, 0, A), (1, 2, (1, 1, 1))], INVALID_REQUEST),
            "unknown type": ([(0, 0, A), (1, 1, (9,))], INVALID_REQUEST),
            "past the acquired records": ([(0, 1, A), (9, 9, A)], INVALID_REQUEST),
            "running past the acquired records": ([(0, 0, R), (2, 9, A)], INVALID_REQUEST),
            "already acknowledged": ([(0, 1, A), (3, 3, A)], INVALID_RECORD_STATE),
            "twice in one request": ([(0, 0, A), (0, 0, A)], INVALID_RECORD_STATE),
        }
        for name, (batches, code) in refused.items():
            # the partition is refused, the request is not
            assert _acknowledge(member, batches) == (0, code), name
        # none of them applied a batch: 0-2 are still this member's to acknowledge
        assert _acknowledge(member, [(0, 0, A), (1, 1, A), (2, 2, A)]) == (0, 0)
        # batches wholly below the share-partition start offset (now 4) are skipped
        assert _acknowledge(member, [(1, 1, A), (2, 3, R)]) == (0, 0)
    finally:
        member.close()


def test_a_share_fetch_with_one_bad_batch_applies_none_of_its_acknowledgements(
    bootstrap: str,
) -> None:
    member = _member(bootstrap, 3)
    try:
        got = _fetch_acknowledging(member, [(0, 0, R), (1, 1, A), (7, 7, A)])
        assert (int(got.error_code), int(got.acknowledge_error_code)) == (0, INVALID_REQUEST)
        # nothing was released to be delivered again: the fetch acquired nothing
        assert not got.acquired_records
        got = _fetch_acknowledging(member, [(1, 1, A), (0, 0, A)])
        assert (int(got.error_code), int(got.acknowledge_error_code)) == (0, INVALID_REQUEST)
        got = _fetch_acknowledging(member, [(0, 2, A)])
        assert (int(got.error_code), int(got.acknowledge_error_code)) == (0, 0)
    finally:
        member.close()
