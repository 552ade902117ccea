"""Share groups (KIP-932) in a local cluster: share-partition state lives with the share
coordinators in the replicated __share_group_state, so acknowledged records stay acknowledged
and the rest are delivered again when the partition's leader, or the share coordinator's
broker, is killed with -9."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic
from kio.schema.alter_share_group_offsets.v0 import request as alter_req
from kio.schema.errors import ErrorCode
from kio.schema.find_coordinator.v4 import request as find_req
from kio.schema.types import TopicName
from kio.static.primitive import i8, i32, i64

from embedded_broker.share.state_topic import SHARE_STATE_TOPIC, state_partition
from tests.integration.groups.wire import WireClient
from tests.integration.share.conftest import topic_id as lookup_topic_id
from tests.integration.share.wire import ACCEPT, ShareWire, start_offsets

from .local_cluster import LocalCluster, admin, start_timeout_s, unless_not_yet, wait_for

TOPIC = "jobs"
# fewer internal partitions than Kafka's 50: each is one more replica every broker follows,
# which on a loaded machine is what keeps followers out of the ISR
STATE_PARTITIONS = 5
SETTINGS = [
    "--config",
    f"share.coordinator.state.topic.num.partitions={STATE_PARTITIONS}",
    "--config",
    "offsets.topic.num.partitions=5",
]
RECORDS = 10
NOT_YET = (ErrorCode.not_coordinator, ErrorCode.coordinator_load_in_progress)


def _address(cluster: LocalCluster, node: int) -> str:
    found = cluster.node(node)
    return f"{found['host']}:{found['port']}"


def _metadata(cluster: LocalCluster, without: tuple[int, ...]) -> Any:
    live = [b for b in cluster.broker_ids if b not in without]
    return unless_not_yet(lambda: admin(_address(cluster, live[0])).list_topics(timeout=5))


def _leader(cluster: LocalCluster, topic: str, partition: int, without: tuple[int, ...]) -> int:
    """The partition's leader, once it is one of the live brokers."""

    def ask() -> int | None:
        md = _metadata(cluster, without)
        if md is None or topic not in md.topics:
            return None
        part = md.topics[topic].partitions.get(partition)
        if part is None or part.leader in (-1, *without):
            return None
        return int(part.leader)

    found: int = wait_for(ask, 30, f"a live leader of {topic}-{partition}")
    return found


def _in_sync(
    cluster: LocalCluster, topic: str, partition: int, without: tuple[int, ...] = ()
) -> None:
    """Until every live broker is in the partition's ISR, so killing one leaves a successor
    that holds all of it (a loaded machine can keep a follower out for a while)."""
    live = {b for b in cluster.broker_ids if b not in without}
    # (a follower left behind rejoins once it catches up: on a loaded machine that can take
    # a few replica.lag.time.max.ms)

    def isr() -> set[int]:
        md = _metadata(cluster, without)
        if md is None or topic not in md.topics:
            return set()
        part = md.topics[topic].partitions.get(partition)
        return set() if part is None else set(part.isrs)

    seen: list[set[int]] = []
    wait_for(
        lambda: seen.append(isr()) or live <= seen[-1],
        180,
        lambda: f"{topic}-{partition}'s ISR to hold {sorted(live)} (it holds {seen[-1:]})",
    )


def _create_topic(cluster: LocalCluster) -> uuid.UUID:
    client = admin(cluster.bootstrap())
    topic = NewTopic(TOPIC, 1, 3, config={"min.insync.replicas": "2"})
    for fut in client.create_topics([topic], operation_timeout=15).values():
        fut.result(timeout=start_timeout_s(15))
    _leader(cluster, TOPIC, 0, ())
    return lookup_topic_id(cluster.bootstrap().split(",")[0], TOPIC)


def _produce(cluster: LocalCluster, count: int, without: tuple[int, ...] = ()) -> None:
    live = ",".join(_address(cluster, b) for b in cluster.broker_ids if b not in without)
    producer = Producer({"bootstrap.servers": live, "acks": "all", "linger.ms": 0})
    for i in range(count):
        producer.produce(TOPIC, value=f"job-{i}".encode(), partition=0)
    assert producer.flush(start_timeout_s(30)) == 0


class _Member:
    """One share consumer's member id, fetching from whichever broker leads the partition."""

    def __init__(self, cluster: LocalCluster, group: str, tid: uuid.UUID) -> None:
        self.cluster = cluster
        self.group = group
        self.topic_id = tid
        self.member_id = ""
        self.wire: ShareWire | None = None
        self.node = -1

    def _at(self, node: int) -> ShareWire:
        if self.wire is None or self.node != node:
            if self.wire is not None:
                self.wire.close()
            self.wire = ShareWire(_address(self.cluster, node), self.group, self.topic_id)
            if self.member_id:
                self.wire.member_id = self.member_id
            self.member_id = self.wire.member_id
            self.node = node
        return self.wire

    def fetch(self, node: int, wait_ms: int) -> list[tuple[int, int]] | None:
        """(offset, delivery count) acquired now from ``node``; None when it cannot answer."""
        try:
            wire = self._at(node)
            response = wire.fetch((0,), max_wait_ms=wait_ms)
        except OSError:
            self.wire = None
            return None
        if response.error_code != 0:
            self.wire = None  # a fresh share session next time
            return None
        got = wire.got(response)
        if got.error != 0:
            return None
        return sorted(got.counts().items())

    def acknowledge(self, node: int, offsets: list[int]) -> None:
        wire = self._at(node)
        batches = [(o, o, ACCEPT) for o in offsets]
        response = wire.acknowledge(0, batches)
        assert response.error_code == 0, response
        codes = [p.error_code for t in response.responses for p in t.partitions]
        assert codes == [0], response

    def close(self) -> None:
        if self.wire is not None:
            self.wire.close()


def _share_group_with_remote_coordinator(
    cluster: LocalCluster, topic_id: uuid.UUID, leader: int
) -> tuple[str, int]:
    """A group name whose share coordinator (of TOPIC-0) is not the partition's leader, so
    the two can be killed apart; __share_group_state is made on first use for that."""
    first = _Member(cluster, "warm-up", topic_id)
    wait_for(lambda: first.fetch(leader, 0) is not None, 30, "a first share fetch")
    first.close()
    for candidate in range(50):
        group = f"workers-{candidate}"
        p = state_partition((group, topic_id, 0), STATE_PARTITIONS)
        coordinator = _leader(cluster, SHARE_STATE_TOPIC, p, ())
        if coordinator != leader:
            return group, coordinator
    raise AssertionError("every share coordinator is the partition's leader")


def _initialized(cluster: LocalCluster, member: _Member, leader: int) -> None:
    """Until the share-partition exists at its leader: a probe record produced after that is
    delivered (one produced before it started at the latest offset would not be)."""

    def probe() -> bool:
        _produce(cluster, 1)
        got = member.fetch(leader, 1000)
        if not got:
            return False
        member.acknowledge(leader, [o for o, _ in got])
        return True

    wait_for(probe, 30, "the share-partition to be initialized")


def _collect(
    member: _Member, cluster: LocalCluster, want: int, without: tuple[int, ...]
) -> dict[int, int]:
    """offset -> delivery count of ``want`` records fetched from the partition's leader."""
    got: dict[int, int] = {}

    def more() -> bool:
        leader = _leader(cluster, TOPIC, 0, without)
        got.update(member.fetch(leader, 1000) or [])
        return len(got) >= want

    wait_for(more, 30, lambda: f"{want} records (got {sorted(got)})")
    return got


def find_coordinator(cluster: LocalCluster, group: str) -> int:
    """The broker FindCoordinator names for the group, asked until a live broker names one."""

    def ask() -> int | None:
        for node_id in cluster.broker_ids:
            try:
                client = WireClient(_address(cluster, node_id))
            except OSError:
                continue  # a killed broker
            try:
                found = client.send(
                    find_req.FindCoordinatorRequest(key_type=i8(0), coordinator_keys=(group,))
                ).coordinators[0]
            except OSError:
                continue
            finally:
                client.close()
            if found.error_code == ErrorCode.none:
                return int(found.node_id)
        return None

    node: int = wait_for(ask, 30, f"a coordinator of {group!r}")
    return node


def _join(cluster: LocalCluster, member: _Member) -> int:
    """The member joins its group at the group's coordinator (ShareGroupHeartbeat); returns
    that broker."""
    node = find_coordinator(cluster, member.group)
    wire = ShareWire(_address(cluster, node), member.group, member.topic_id)
    try:
        wire.join(TOPIC)
        member.member_id = wire.member_id
    finally:
        wire.close()
    return node


def _described(cluster: LocalCluster, group: str, expected: tuple[int, int]) -> None:
    """Until the group's coordinator describes TOPIC-0's (start offset, lag) as ``expected``
    (read from the share coordinator: DescribeShareGroupOffsets, as kafka-share-groups
    --describe). As Kafka's, the start offset is the one the last write found: records it
    acknowledged are counted finished past it, not yet moved past."""

    def found() -> tuple[int, int] | None:
        node = find_coordinator(cluster, group)
        try:
            return start_offsets(_address(cluster, node), group, TOPIC).get(0)
        except OSError:
            return None

    seen: list[tuple[int, int] | None] = []
    wait_for(
        lambda: seen.append(found()) or seen[-1] == expected,
        30,
        lambda: f"start offset and lag {expected} (described: {seen[-1:]})",
    )


def _nothing_more(member: _Member, cluster: LocalCluster, without: tuple[int, ...]) -> None:
    leader = _leader(cluster, TOPIC, 0, without)
    answer: list[list[tuple[int, int]]] = []

    def fetched() -> bool:
        got = member.fetch(leader, 1500)
        if got is not None:
            answer.append(got)
        return got is not None

    wait_for(fetched, 30, "a last share fetch answer")
    assert answer[0] == [], f"records delivered again: {answer[0]}"


def test_acknowledged_records_stay_acknowledged_when_the_partition_leader_dies(
    cluster_factory: Callable[..., LocalCluster],
) -> None:
    cluster = cluster_factory(3, SETTINGS)
    topic_id = _create_topic(cluster)
    leader = _leader(cluster, TOPIC, 0, ())
    group, coordinator = _share_group_with_remote_coordinator(cluster, topic_id, leader)
    member = _Member(cluster, group, topic_id)
    try:
        _join(cluster, member)
        _initialized(cluster, member, leader)
        _produce(cluster, RECORDS)
        first = _collect(member, cluster, RECORDS, ())
        offsets = sorted(first)
        done, held = offsets[: RECORDS // 2], offsets[RECORDS // 2 :]
        member.acknowledge(leader, done)  # answered once the share coordinator holds it
        _described(cluster, group, (offsets[0], len(held)))

        _in_sync(cluster, TOPIC, 0)
        cluster.kill(leader)
        again = _collect(member, cluster, len(held), (leader,))
        assert sorted(again) == held  # the held records, delivered again; none acknowledged
        assert set(again.values()) == {2}
        _nothing_more(member, cluster, (leader,))
        # (a group whose coordinator died is rejoined, as a consumer told UNKNOWN_MEMBER_ID
        # does: share group membership is not yet replicated)
        _join(cluster, member)
        _described(cluster, group, (offsets[0], len(held)))
    finally:
        member.close()
    del coordinator


def test_share_state_survives_the_share_coordinators_broker_dying(
    cluster_factory: Callable[..., LocalCluster],
) -> None:
    cluster = cluster_factory(3, SETTINGS)
    topic_id = _create_topic(cluster)
    leader = _leader(cluster, TOPIC, 0, ())
    group, coordinator = _share_group_with_remote_coordinator(cluster, topic_id, leader)
    state_p = state_partition((group, topic_id, 0), STATE_PARTITIONS)
    member = _Member(cluster, group, topic_id)
    try:
        _initialized(cluster, member, leader)
        _produce(cluster, RECORDS)
        offsets = sorted(_collect(member, cluster, RECORDS, ()))
        member.acknowledge(leader, offsets[:4])

        # the coordinator dies: its successor replays __share_group_state and takes writes
        _in_sync(cluster, SHARE_STATE_TOPIC, state_p)
        cluster.kill(coordinator)
        _leader(cluster, SHARE_STATE_TOPIC, state_p, (coordinator,))
        member.acknowledge(leader, offsets[4:6])

        # the old coordinator comes back; then the partition's leader dies, and its successor
        # reads the state the share coordinators kept through both failures
        cluster.restart_node(coordinator)
        _in_sync(cluster, TOPIC, 0)
        _in_sync(cluster, SHARE_STATE_TOPIC, state_p)
        cluster.kill(leader)
        again = _collect(member, cluster, RECORDS - 6, (leader,))
        assert sorted(again) == offsets[6:]
        _nothing_more(member, cluster, (leader,))
    finally:
        member.close()


def _alter_start(cluster: LocalCluster, group: str, offset: int) -> None:
    """AlterShareGroupOffsets of TOPIC-0 to ``offset`` at the group's coordinator (as
    kafka-share-groups --reset-offsets --to-offset), again while it moves or loads."""

    def alter() -> bool:
        node = find_coordinator(cluster, group)
        client = WireClient(_address(cluster, node))
        try:
            response = client.send(
                alter_req.AlterShareGroupOffsetsRequest(
                    group_id=group,
                    topics=(
                        alter_req.AlterShareGroupOffsetsRequestTopic(
                            topic_name=TopicName(TOPIC),
                            partitions=(
                                alter_req.AlterShareGroupOffsetsRequestPartition(
                                    partition_index=i32(0), start_offset=i64(offset)
                                ),
                            ),
                        ),
                    ),
                )
            )
        except OSError:
            return False
        finally:
            client.close()
        if response.error_code in (
            ErrorCode.not_coordinator,
            ErrorCode.coordinator_load_in_progress,
        ):
            return False
        assert response.error_code == ErrorCode.none, response
        codes = [p.error_code for t in response.responses for p in t.partitions]
        assert codes == [ErrorCode.none], response
        return True

    wait_for(alter, 30, "the group's coordinator to alter its offsets")


def test_reset_offsets_reach_the_partition_leader_through_the_share_coordinator(
    cluster_factory: Callable[..., LocalCluster],
) -> None:
    cluster = cluster_factory(3, SETTINGS)
    topic_id = _create_topic(cluster)
    leader = _leader(cluster, TOPIC, 0, ())
    group, _ = _share_group_with_remote_coordinator(cluster, topic_id, leader)
    member = _Member(cluster, group, topic_id)
    try:
        node = _join(cluster, member)
        _initialized(cluster, member, leader)
        _produce(cluster, RECORDS)
        offsets = sorted(_collect(member, cluster, RECORDS, ()))
        member.acknowledge(leader, offsets)
        _described(cluster, group, (offsets[0], 0))
        # the member leaves (offsets change only in an empty group) and the group is rewound
        wire = ShareWire(_address(cluster, node), group, topic_id)
        wire.member_id = member.member_id
        assert wire.heartbeat(None, epoch=-1).error_code == 0
        wire.close()
        _alter_start(cluster, group, offsets[0])
        _described(cluster, group, (offsets[0], len(offsets)))
    finally:
        member.close()
    # a consumer that comes back is given the records again, from the partition's leader
    again = _Member(cluster, group, topic_id)
    try:
        _join(cluster, again)
        got = _collect(again, cluster, RECORDS, ())
        assert sorted(got) == offsets
    finally:
        again.close()
