"""Committed offsets are read and written by the coordinator alone, never through the logs of
the partitions they name (a partition's log is opened only to read or write its records)."""

from __future__ import annotations

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from kio.schema.offset_fetch.v9.request import OffsetFetchRequest, OffsetFetchRequestGroup

from tests.broker_fixtures import BrokerFactory, RunningBroker
from tests.integration.broker.clients import admin, create_topic, producer
from tests.integration.groups.wire import WireClient

TIMEOUT_S = 30


def _commit(broker: RunningBroker, offsets: dict[int, int]) -> None:
    client = admin(broker.bootstrap)  # kept: the futures die with the client
    commits = [TopicPartition("orders", p, offset) for p, offset in offsets.items()]
    result = client.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions("billing", commits)]
    )["billing"].result(timeout=TIMEOUT_S)
    assert all(tp.error is None for tp in result.topic_partitions)


def _with_unopenable_partition(factory: BrokerFactory) -> RunningBroker:
    """A broker restarted after orders-1's files were damaged so that its log cannot open;
    group billing committed 5 and 7 on orders-0 and orders-1 before."""
    broker = factory()
    create_topic(broker.bootstrap, "orders", partitions=2)
    prod = producer(broker.bootstrap)
    for p in (0, 1):  # a partition that was used is closed cleanly, then opened on its next use
        prod.produce("orders", b"x", partition=p)
    assert prod.flush(TIMEOUT_S) == 0
    _commit(broker, {0: 5, 1: 7})
    broker.stop()
    assert broker.data_dir is not None
    # its first segment replaced by a directory: the log cannot be opened
    (segment,) = (broker.data_dir / "orders-1").glob("*.log")
    segment.unlink()
    segment.mkdir()
    broker.restart()
    return broker


def _fetch_all(broker: RunningBroker) -> dict[tuple[str, int], tuple[int, int]]:
    wire = WireClient(broker.bootstrap)
    try:
        group = OffsetFetchRequestGroup(
            group_id="billing", member_id=None, member_epoch=-1, topics=None
        )
        response = wire.send(OffsetFetchRequest(groups=(group,), require_stable=False))
    finally:
        wire.close()
    (fetched,) = response.groups
    assert fetched.error_code == 0
    return {
        (t.name, p.partition_index): (p.committed_offset, p.error_code)
        for t in fetched.topics
        for p in t.partitions
    }


def test_a_groups_offsets_are_read_while_a_partitions_files_cannot_be_opened(
    builtin_broker_factory: BrokerFactory,
) -> None:
    # Before: checking that each committed partition still exists opened its log, so one
    # partition whose files could not be opened failed the whole request (the connection was
    # closed) and the groups screen showed the group's offsets as unreadable.
    broker = _with_unopenable_partition(builtin_broker_factory)
    assert _fetch_all(broker) == {("orders", 0): (5, 0), ("orders", 1): (7, 0)}


def test_offsets_are_committed_while_a_partitions_files_cannot_be_opened(
    builtin_broker_factory: BrokerFactory,
) -> None:
    # Before: the commit opened each partition's log to learn that it exists, and failed.
    broker = _with_unopenable_partition(builtin_broker_factory)
    _commit(broker, {0: 8, 1: 9})
    assert _fetch_all(broker) == {("orders", 0): (8, 0), ("orders", 1): (9, 0)}
