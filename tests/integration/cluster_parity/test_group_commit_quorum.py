"""An offset commit that __consumer_offsets cannot replicate (its partition has fewer in-sync
replicas than min.insync.replicas, so its high watermark stands still) is answered
COORDINATOR_NOT_AVAILABLE after offsets.commit.timeout.ms and is not seen: the group shows the
offset committed before. Kafka's coordinator appends with acks=1, so the record is in the
leader's log and counts once the replicas return and the high watermark reaches it. Raw
frames, so the error the coordinator answers is seen as it is (clients retry it)."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
from kio.schema.find_coordinator.v4 import request as find_v4
from kio.schema.offset_commit.v8 import request as commit_v8
from kio.schema.offset_fetch.v7 import request as fetch_v7
from kio.schema.types import GroupId, TopicName
from kio.static.primitive import i8, i32, i64

from embedded_broker.coordinator.offsets_topic import OFFSETS_TOPIC, partition_for
from tests.integration.cluster.local_cluster import start_timeout_s, wait_for
from tests.integration.groups.wire import WireClient

from .either_cluster import (
    RESTART_TIMEOUT_S,
    SESSION_TIMEOUT_MS,
    EitherCluster,
    admin,
    create_topic,
    partitions,
)

# a coordinator that is moving, loading or not chosen yet: ask again
NOT_YET = {14, 15, 16}  # COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR
COORDINATOR_NOT_AVAILABLE = 15
_names = itertools.count()


def _ask(address: str, request: Any) -> Any | None:
    """One request to one broker; None when it cannot be reached."""
    try:
        client = WireClient(address)
    except OSError:
        return None
    try:
        return client.send(request)
    except (OSError, ConnectionError):
        return None
    finally:
        client.close()


def _coordinator(cluster: EitherCluster, group: str) -> int | None:
    request = find_v4.FindCoordinatorRequest(key_type=i8(0), coordinator_keys=(group,))
    answer = _ask(cluster.bootstrap().split(",")[0], request)
    if answer is None or answer.coordinators[0].error_code.value != 0:
        return None
    return int(answer.coordinators[0].node_id)


def _commit(address: str, group: str, topic: str, offset: int) -> int | None:
    """OffsetCommit of ``offset`` for partition 0 by an admin (no member): the error code."""
    request = commit_v8.OffsetCommitRequest(
        group_id=GroupId(group),
        generation_id_or_member_epoch=i32(-1),
        member_id="",
        group_instance_id=None,
        topics=(
            commit_v8.OffsetCommitRequestTopic(
                name=TopicName(topic),
                partitions=(
                    commit_v8.OffsetCommitRequestPartition(
                        partition_index=i32(0),
                        committed_offset=i64(offset),
                        committed_leader_epoch=i32(-1),
                        committed_metadata=None,
                    ),
                ),
            ),
        ),
    )
    answer = _ask(address, request)
    return None if answer is None else int(answer.topics[0].partitions[0].error_code.value)


def _fetch(address: str, group: str, topic: str) -> int | None:
    """The committed offset of partition 0 (OffsetFetch), or None while the answer is "not yet"."""
    request = fetch_v7.OffsetFetchRequest(
        group_id=GroupId(group),
        topics=(
            fetch_v7.OffsetFetchRequestTopic(name=TopicName(topic), partition_indexes=(i32(0),)),
        ),
        require_stable=False,
    )
    answer = _ask(address, request)
    if answer is None or answer.error_code.value != 0:
        return None
    part = answer.topics[0].partitions[0]
    return None if part.error_code.value != 0 else int(part.committed_offset)


def _committed_through_coordinator(
    cluster: EitherCluster, group: str, topic: str, offset: int
) -> None:
    def done() -> bool:
        coordinator = _coordinator(cluster, group)
        if coordinator is None:
            return False
        code = _commit(cluster.address(coordinator), group, topic, offset)
        assert code is None or code == 0 or code in NOT_YET, code
        return code == 0

    wait_for(done, start_timeout_s(30), f"the commit of offset {offset}")


def _set_offsets_min_isr(cluster: EitherCluster, value: str | None) -> None:
    """min.insync.replicas of __consumer_offsets set to ``value`` (None: back to the default)."""
    op = AlterConfigOpType.SET if value is not None else AlterConfigOpType.DELETE
    resource = ConfigResource(
        ResourceType.TOPIC,
        OFFSETS_TOPIC,
        incremental_configs=[
            ConfigEntry("min.insync.replicas", value or "", incremental_operation=op)
        ],
    )
    client = admin(cluster.bootstrap())
    for future in client.incremental_alter_configs([resource]).values():
        future.result(timeout=20)


def _offsets_min_isr(address: str) -> str | None:
    """min.insync.replicas of __consumer_offsets as one broker describes it."""
    try:
        resource = ConfigResource(ResourceType.TOPIC, OFFSETS_TOPIC)
        client = admin(address)  # kept: a client dropped early abandons its requests
        futures = client.describe_configs([resource], request_timeout=5)
        configs = futures[resource].result(timeout=10)
    except Exception:  # the broker asked is not answering yet
        return None
    return configs["min.insync.replicas"].value


def test_a_commit_without_enough_in_sync_replicas_is_not_seen_until_replicated(
    either_cluster: EitherCluster,
) -> None:
    cluster = either_cluster
    n = next(_names)
    topic, group = f"parity-quorum-{n}", f"parity-quorum-group-{n}"
    create_topic(cluster, topic, 1)
    _committed_through_coordinator(cluster, group, topic, 10)  # creates __consumer_offsets too
    # offsets.topic.num.partitions differs: Kafka's default 50 here, 5 in the harness
    # (made by the commit's FindCoordinator: a broker asked may not have replayed it yet)
    count = len(
        wait_for(
            lambda: partitions(cluster.bootstrap(), OFFSETS_TOPIC),
            start_timeout_s(15),
            f"{OFFSETS_TOPIC} in Metadata",
        )
    )
    offsets_partition = partition_for(group, count)
    coordinator = wait_for(lambda: _coordinator(cluster, group), 20, "the group's coordinator")
    at_coordinator = cluster.address(coordinator)
    _set_offsets_min_isr(cluster, "2")
    try:
        # the setting reached the coordinator's broker (metadata travels asynchronously)
        wait_for(
            lambda: _offsets_min_isr(at_coordinator) == "2",
            start_timeout_s(20),
            "min.insync.replicas=2 on the coordinator's broker",
        )
        others = tuple(b for b in cluster.broker_ids if b != coordinator)
        for broker in others:
            cluster.kill(broker)
        wait_for(
            lambda: (
                (view := partitions(at_coordinator, OFFSETS_TOPIC).get(offsets_partition))
                and view[0] == coordinator
                and view[2] == [coordinator]
            ),
            start_timeout_s(SESSION_TIMEOUT_MS / 1000 + 15),
            f"broker {coordinator} alone in the ISR of {OFFSETS_TOPIC}-{offsets_partition}",
        )
        # the answer Kafka's coordinator gives for a write not replicated in time
        code = wait_for(
            lambda: (c := _commit(at_coordinator, group, topic, 20)) not in (None, 14) and c,
            start_timeout_s(20),
            "an answer to the commit",
        )
        assert code == COORDINATOR_NOT_AVAILABLE
        # and readers see the group as before it
        read = wait_for(
            lambda: _fetch(at_coordinator, group, topic),
            start_timeout_s(20),
            "the committed offset from the coordinator",
        )
        assert read == 10
        cluster.restart(*others)
        # every replica back in the ISR of the group's partition
        wait_for(
            lambda: (
                (view := partitions(cluster.bootstrap(), OFFSETS_TOPIC).get(offsets_partition))
                and len(view[2]) == 3
            ),
            start_timeout_s(RESTART_TIMEOUT_S),  # two brokers restart and catch up
            f"an ISR of 3 for {OFFSETS_TOPIC}-{offsets_partition}",
        )
        for broker in cluster.broker_ids:
            # replicated at last: the write counts, as on Kafka (once the leader's high
            # watermark has moved, which may follow the ISR in Metadata by a moment)
            wait_for(
                lambda b=broker: _listed(cluster.address(b), group, topic) == {0: 20},
                start_timeout_s(20),
                lambda b=broker: (
                    f"offset 20 read through broker {b} "
                    f"(reads {_listed(cluster.address(b), group, topic)})"
                ),
            )
        # with its replicas back, the group takes commits again
        _committed_through_coordinator(cluster, group, topic, 30)
        wait_for(
            lambda: _listed(cluster.bootstrap(), group, topic) == {0: 30},
            start_timeout_s(20),
            "offset 30 read back",
        )
    finally:
        # Kafka's cluster serves the package's next tests (its brokers are restarted by the
        # fixture); the built-in one is thrown away
        with contextlib.suppress(Exception):
            _set_offsets_min_isr(cluster, None)


def _listed(bootstrap: str, group: str, topic: str) -> dict[int, int] | None:
    """The group's offsets through a client (ListConsumerGroupOffsets), None while moving."""
    client = admin(bootstrap)
    try:
        futures = client.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=10
        )
        result = futures[group].result(timeout=15)
    except Exception:  # the coordinator is moving or loading
        return None
    return {tp.partition: tp.offset for tp in result.topic_partitions if tp.topic == topic}
