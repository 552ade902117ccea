"""confluent-kafka AdminClient group calls: list, describe, list/alter offsets, delete."""

from __future__ import annotations

import pytest
from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.error import KafkaError

from .clients import TIMEOUT_S, Poller, create_topic, group_consumer, produce, unique, wait_for

PARTITIONS = 3


def offsets_of(admin: AdminClient, group: str) -> dict[int, int]:
    request = [ConsumerGroupTopicPartitions(group)]
    result = admin.list_consumer_group_offsets(request)[group].result(timeout=TIMEOUT_S)
    return {tp.partition: tp.offset for tp in result.topic_partitions}


def listed(admin: AdminClient, **kwargs: object) -> dict[str, object]:
    result = admin.list_consumer_groups(request_timeout=TIMEOUT_S, **kwargs).result()
    assert not result.errors
    return {g.group_id: g for g in result.valid}


def test_admin_client_group_lifecycle(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic, group, offsets_only = unique("adm"), unique("g"), unique("solo")
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, 30, PARTITIONS)
    c = group_consumer(bootstrap, group, **{"enable.auto.commit": False, "client.id": "adm-c"})
    try:
        c.subscribe([topic])
        poller = Poller([c])
        poller.until(lambda: len(poller.all_values()) >= 30, what="30 messages")
        c.commit(asynchronous=False)

        groups = listed(admin)
        assert groups[group].state == ConsumerGroupState.STABLE  # type: ignore[attr-defined]
        assert groups[group].is_simple_consumer_group is False  # type: ignore[attr-defined]
        stable = listed(admin, states={ConsumerGroupState.STABLE})
        assert group in stable
        assert group not in listed(admin, states={ConsumerGroupState.EMPTY})
        assert group in listed(admin, types={ConsumerGroupType.CLASSIC})

        desc = admin.describe_consumer_groups([group])[group].result(timeout=TIMEOUT_S)
        assert desc.state == ConsumerGroupState.STABLE
        assert desc.partition_assignor == "range"
        [member] = desc.members
        assert member.client_id == "adm-c"
        assert member.host.lstrip("/") == "127.0.0.1"
        assigned = {(tp.topic, tp.partition) for tp in member.assignment.topic_partitions}
        assert assigned == {(topic, p) for p in range(PARTITIONS)}

        assert offsets_of(admin, group) == {p: 10 for p in range(PARTITIONS)}

        # A group with members cannot be deleted.
        with pytest.raises(KafkaException) as busy:
            admin.delete_consumer_groups([group])[group].result(timeout=TIMEOUT_S)
        assert busy.value.args[0].code() == KafkaError.NON_EMPTY_GROUP
    finally:
        c.close()

    # The LeaveGroup sent by close() empties the group.
    wait_for(
        lambda: listed(admin)[group].state == ConsumerGroupState.EMPTY,  # type: ignore[attr-defined]
        what="the group to become empty",
    )
    request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 3)])]
    admin.alter_consumer_group_offsets(request)[group].result(timeout=TIMEOUT_S)
    assert offsets_of(admin, group) == {0: 3, 1: 10, 2: 10}

    # Altering offsets of a group that does not exist creates an offsets-only group.
    request = [ConsumerGroupTopicPartitions(offsets_only, [TopicPartition(topic, 1, 7)])]
    admin.alter_consumer_group_offsets(request)[offsets_only].result(timeout=TIMEOUT_S)
    assert offsets_of(admin, offsets_only) == {1: 7}
    solo = listed(admin)[offsets_only]
    assert solo.state == ConsumerGroupState.EMPTY  # type: ignore[attr-defined]
    assert solo.is_simple_consumer_group is True  # type: ignore[attr-defined]

    admin.delete_consumer_groups([group, offsets_only])[group].result(timeout=TIMEOUT_S)
    remaining = listed(admin)
    assert group not in remaining
    with pytest.raises(KafkaException) as missing:
        admin.delete_consumer_groups([group])[group].result(timeout=TIMEOUT_S)
    assert missing.value.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND


def test_offsets_of_a_deleted_topic_disappear(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    doomed, kept, group = unique("doomed"), unique("kept"), unique("g")
    create_topic(bootstrap, doomed, 1)
    create_topic(bootstrap, kept, 1)
    request = [
        ConsumerGroupTopicPartitions(
            group, [TopicPartition(doomed, 0, 1), TopicPartition(kept, 0, 2)]
        )
    ]
    admin.alter_consumer_group_offsets(request)[group].result(timeout=TIMEOUT_S)
    admin.delete_topics([doomed])[doomed].result(timeout=TIMEOUT_S)

    def topics_with_offsets() -> set[str]:
        request = [ConsumerGroupTopicPartitions(group)]
        result = admin.list_consumer_group_offsets(request)[group].result(timeout=TIMEOUT_S)
        return {tp.topic for tp in result.topic_partitions}

    wait_for(lambda: topics_with_offsets() == {kept}, what="the deleted topic's offsets to go")
