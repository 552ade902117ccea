"""share.isolation.level: a read_committed share group is delivered records up to the last
stable offset, less those of aborted transactions (archived); read_uncommitted (the default)
gets every offset. As on Kafka 4.3.1, the offsets acquired include the transaction markers' (the
client skips control records). The same body on the built-in broker and on Kafka 4.3.1."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Producer

from tests.integration.groups import conftest as groups
from tests.integration.groups.clients import create_topic

from .conftest import DEADLINE_S, topic_id
from .test_share_start_offset_parity import _join
from .wire import ShareWire, alter_group_configs, hold_longer

# the fixture: each test runs on a fresh built-in broker and on the real Kafka node
bootstrap = groups.bootstrap


def _transactions(bootstrap: str, topic: str) -> Producer:
    """An aborted transaction (offsets 0-1, its marker 2), a committed one (3-4, marker 5),
    and a transaction left open (6-7): the producer, to abort it at the end."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "transactional.id": f"tx-{uuid.uuid4().hex[:8]}"}
    )
    producer.init_transactions(DEADLINE_S)
    for commit in (False, True, None):
        producer.begin_transaction()
        producer.produce(topic, value=b"a", partition=0)
        producer.produce(topic, value=b"b", partition=0)
        assert producer.flush(DEADLINE_S) == 0  # written before the transaction ends
        if commit:
            producer.commit_transaction(DEADLINE_S)
        elif commit is not None:
            producer.abort_transaction(DEADLINE_S)
    return producer


def _delivered(member: ShareWire) -> list[int]:
    """The offsets acquired from the first fetch that acquires any (Kafka sets a
    share-partition up in the background) until a second passes with nothing new."""
    got: list[int] = []
    deadline = time.monotonic() + DEADLINE_S
    quiet_until = deadline
    while time.monotonic() < quiet_until:
        assert time.monotonic() < deadline, got
        found = member.got(member.fetch((0,), max_wait_ms=200)).offsets()
        if found:
            got += found
            quiet_until = time.monotonic() + 1.0
    return got


@pytest.mark.parametrize(
    ("level", "want"), [("read_committed", [2, 3, 4, 5]), ("read_uncommitted", list(range(8)))]
)
def test_a_share_group_reads_at_its_isolation_level(
    bootstrap: str, level: str, want: list[int]
) -> None:
    topic, group = f"iso-{uuid.uuid4().hex[:8]}", f"g-iso-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    configs = {"share.auto.offset.reset": "earliest", "share.isolation.level": level}
    assert alter_group_configs(bootstrap, group, configs) == (0, None)
    hold_longer(bootstrap, group)
    producer = _transactions(bootstrap, topic)
    member = ShareWire(bootstrap, group, topic_id(bootstrap, topic))
    try:
        _join(member, topic)
        assert _delivered(member) == want
    finally:
        member.close()
        producer.abort_transaction(DEADLINE_S)
