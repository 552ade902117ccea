"""Share group membership (KIP-932) in a local cluster: the group coordinator writes a share
group's members, epochs and assignment to the group's __consumer_offsets partition, so when its
broker is killed with -9 the broker that takes the partition over knows the member, and the
member goes on heartbeating with its epoch instead of being told UNKNOWN_MEMBER_ID."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.coordinator.offsets_topic import OFFSETS_TOPIC, partition_for
from tests.integration.share.wire import ShareWire, describe

from .local_cluster import LocalCluster, wait_for
from .test_cluster_share import SETTINGS, TOPIC, _create_topic, _in_sync, find_coordinator

GROUP = "steady-workers"
OFFSETS_PARTITIONS = 5  # SETTINGS' offsets.topic.num.partitions
# a group whose only member left, coordinated with GROUP (the same __consumer_offsets partition)
EMPTIED = next(
    name
    for i in range(100)
    if partition_for(name := f"emptied-{i}", OFFSETS_PARTITIONS)
    == partition_for(GROUP, OFFSETS_PARTITIONS)
)
NOT_YET = (
    ErrorCode.not_coordinator,
    ErrorCode.coordinator_load_in_progress,
    ErrorCode.coordinator_not_available,
)


def _address(cluster: LocalCluster, node: int) -> str:
    found = cluster.node(node)
    return f"{found['host']}:{found['port']}"


def _assigned(response: Any) -> dict[uuid.UUID, tuple[int, ...]]:
    return {
        t.topic_id: tuple(sorted(int(p) for p in t.partitions))
        for t in response.assignment.topic_partitions
    }


def _heartbeat(
    cluster: LocalCluster,
    *,
    group: str = GROUP,
    member_id: str,
    epoch: int,
    topics: tuple[str, ...] | None,
    dead: int | None,
    topic_id: uuid.UUID,
) -> tuple[int, Any] | None:
    """(coordinator, answer) of one ShareGroupHeartbeat at the group's live coordinator; None
    while there is none yet, or it is still loading the group."""
    node = find_coordinator(cluster, group)
    if node == dead:
        return None  # the metadata still names the killed broker
    try:
        wire = ShareWire(_address(cluster, node), group, topic_id)
    except OSError:
        return None
    try:
        wire.member_id, wire.member_epoch = member_id, epoch
        response = wire.heartbeat(topics)
    except OSError:
        return None
    finally:
        wire.close()
    if response.error_code in NOT_YET:
        return None
    return node, response


def test_a_share_member_keeps_its_epoch_and_assignment_when_the_coordinator_dies(
    cluster_factory: Callable[..., LocalCluster],
) -> None:
    cluster = cluster_factory(3, SETTINGS)
    topic_id = _create_topic(cluster)
    member_id = uuid.uuid4().hex

    joined: tuple[int, Any] = wait_for(
        lambda: _heartbeat(
            cluster, member_id=member_id, epoch=0, topics=(TOPIC,), dead=None, topic_id=topic_id
        ),
        30,
        "the share group's coordinator to take the member",
    )
    coordinator, first = joined
    assert first.error_code == ErrorCode.none, first
    epoch = first.member_epoch
    assert epoch > 0
    assert _assigned(first) == {topic_id: (0,)}
    # a member of EMPTIED joins and leaves: Kafka keeps the empty group
    leaver = uuid.uuid4().hex
    for sent, topics in ((0, (TOPIC,)), (-1, None)):

        def beat(sent: int = sent, topics: tuple[str, ...] | None = topics) -> Any:
            return _heartbeat(
                cluster,
                group=EMPTIED,
                member_id=leaver,
                epoch=sent,
                topics=topics,
                dead=None,
                topic_id=topic_id,
            )

        left: tuple[int, Any] = wait_for(beat, 30, f"{EMPTIED}'s coordinator to answer")
        assert left[1].error_code == ErrorCode.none, left

    # every live broker holds the group's partition, so a successor holds the member too
    _in_sync(cluster, OFFSETS_TOPIC, partition_for(GROUP, OFFSETS_PARTITIONS))
    cluster.kill(coordinator)

    after: tuple[int, Any] = wait_for(
        lambda: _heartbeat(
            cluster,
            member_id=member_id,
            epoch=epoch,
            topics=None,
            dead=coordinator,
            topic_id=topic_id,
        ),
        60,
        "a live coordinator to answer the member's heartbeat",
    )
    successor, answer = after
    assert successor != coordinator
    assert answer.error_code == ErrorCode.none, answer  # before: UNKNOWN_MEMBER_ID
    assert answer.member_epoch == epoch
    # an unchanged assignment is not sent again; when it is, it is the same one
    assert answer.assignment is None or _assigned(answer) == {topic_id: (0,)}

    described = describe(_address(cluster, successor), GROUP)
    assert described.error_code == ErrorCode.none, described
    assert described.group_epoch == epoch
    (member,) = described.members
    assert (member.member_id, member.member_epoch) == (member_id, epoch)
    assert [(t.topic_id, tuple(t.partitions)) for t in member.assignment.topic_partitions] == [
        (topic_id, (0,))
    ]
    emptied = describe(_address(cluster, successor), EMPTIED)
    assert (emptied.error_code, emptied.group_state, emptied.members) == (
        ErrorCode.none,
        "Empty",
        (),
    ), emptied  # before: GROUP_ID_NOT_FOUND, the empty group gone with its coordinator
