"""What a share group reports (DescribeShareGroupOffsets) when the log start offset moves past
its share-partition start offset: the same body on the built-in broker and on Kafka 4.3.1.

Kafka's share-partition notices the move when it next reads the log, and moves its start offset
in memory; the share coordinator keeps the start offset it last wrote until the next write (an
acknowledgement, a release, a lock expiring), and that is what is reported."""

from __future__ import annotations

import uuid

from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient

from tests.integration.groups import conftest as groups
from tests.integration.groups.clients import create_topic

from .conftest import DEADLINE_S, produce, topic_id
from .test_share_start_offset_parity import _acquire, _join, _reports
from .wire import ACCEPT, ShareWire, alter_group_configs, hold_longer

# the fixture: each test runs on a fresh built-in broker and on the real Kafka node
bootstrap = groups.bootstrap


def _delete_records(bootstrap: str, topic: str, before: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_records([TopicPartition(topic, 0, before)]).values():
        assert future.result(timeout=DEADLINE_S).low_watermark == before


def test_the_start_offset_reported_keeps_the_written_one_until_the_next_write(
    bootstrap: str,
) -> None:
    topic, group = f"lso-{uuid.uuid4().hex[:8]}", f"g-lso-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    assert alter_group_configs(bootstrap, group, {"share.auto.offset.reset": "earliest"})[0] == 0
    hold_longer(bootstrap, group)  # no lock expires (a write) while the test looks
    produce(bootstrap, topic, 3)
    member = ShareWire(bootstrap, group, topic_id(bootstrap, topic))
    try:
        _join(member, topic)
        assert _acquire(member, 3) == [0, 1, 2]
        assert member.acknowledge(0, [(0, 2, ACCEPT)]).error_code == 0
        assert _reports(bootstrap, group, topic, (0, 0)) == (0, 0)

        produce(bootstrap, topic, 3)
        _delete_records(bootstrap, topic, 5)  # records 3 and 4 are gone undelivered
        # the next read finds the log starting at 5: only record 5 is delivered
        assert _acquire(member, 1) == [5]
        # nothing has been written since: the written start offset 0 with its 3 finished
        # records, so 6 - 0 - 3 = 3 records still to deliver
        assert _reports(bootstrap, group, topic, (0, 3)) == (0, 3)

        assert member.acknowledge(0, [(5, 5, ACCEPT)]).error_code == 0
        # the acknowledgement writes the start offset the log start moved it to
        assert _reports(bootstrap, group, topic, (5, 0)) == (5, 0)
    finally:
        member.close()
