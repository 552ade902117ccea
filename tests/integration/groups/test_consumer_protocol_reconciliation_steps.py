"""KIP-848 reconciliation step by step, as Kafka 4.3.1 does it (its CurrentAssignmentBuilder and
ConsumerGroupHeartbeat response), with raw ConsumerGroupHeartbeat frames on the built-in broker
and on Kafka: when a member gets its new epoch, when freed partitions reach the new member, and
when a response carries the assignment."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from kio.schema.consumer_group_heartbeat.v1 import request as hb
from kio.schema.find_coordinator.v4 import request as find_req
from kio.static.primitive import i8

from tests.integration.cluster.local_cluster import wait_for

from .clients import create_topic, unique
from .wire import WireClient, ms

PARTITIONS = 4
# COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR
NOT_YET = (14, 15, 16)


class Member:
    """One consumer-protocol member speaking raw heartbeats on its own connection."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.client = WireClient(bootstrap)
        self.group, self.topic = group, topic
        self.member_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.epoch = 0
        self.topic_id: Any = None

    def close(self) -> None:
        self.client.close()

    def beat(self, owned: set[int] | None = None) -> Any:
        """A heartbeat; owned None leaves the owned partitions out (unchanged since the last)."""
        joining = self.epoch == 0
        partitions = None
        if joining or owned == set():
            partitions = ()
        elif owned is not None:
            partitions = (
                hb.TopicPartitions(topic_id=self.topic_id, partitions=tuple(sorted(owned))),
            )
        answer = self.client.send(
            hb.ConsumerGroupHeartbeatRequest(
                group_id=self.group,
                member_id=self.member_id,
                member_epoch=self.epoch,
                instance_id=None,
                rack_id=None,
                rebalance_timeout=ms(30_000 if joining else -1),
                subscribed_topic_names=(self.topic,) if joining else None,
                subscribed_topic_regex=None,
                server_assignor=None,
                topic_partitions=partitions,
            )
        )
        if answer.error_code.value == 0:
            self.epoch = answer.member_epoch
            for tp in answer.assignment.topic_partitions if answer.assignment else ():
                self.topic_id = tp.topic_id
        return answer

    def join(self) -> Any:
        """Join, taking Kafka's "not yet" answers (its offsets topic being created) as a
        reason to ask again."""
        answers: list[Any] = []

        def joined() -> bool:
            self.client.send(
                find_req.FindCoordinatorRequest(key_type=i8(0), coordinator_keys=(self.group,))
            )
            answer = self.beat()
            if answer.error_code.value in NOT_YET:
                return False
            assert answer.error_code.value == 0, answer
            answers.append(answer)
            return True

        wait_for(joined, 60, "the member to join")
        return answers[-1]


def partitions_of(answer: Any) -> set[int] | None:
    """The assignment a response carries (None: none carried)."""
    assert answer.error_code.value == 0, answer
    if answer.assignment is None:
        return None
    return {int(p) for tp in answer.assignment.topic_partitions for p in tp.partitions}


def _two_members(bootstrap: str) -> tuple[Member, Member, set[int]]:
    """a owns every partition; b has joined and waits at the new epoch with none; returns
    (a, b, partitions a must give up)."""
    topic, group = unique("reconcile"), unique("reconcile-group")
    create_topic(bootstrap, topic, PARTITIONS)
    a, b = Member(bootstrap, group, topic), Member(bootstrap, group, topic)
    owned: set[int] = set()

    def owns_all() -> bool:
        # The first answers may precede the topic reaching the group's metadata.
        nonlocal owned
        got = partitions_of(a.join() if a.epoch == 0 else a.beat(owned))
        owned = owned if got is None else got
        return len(owned) == PARTITIONS

    wait_for(owns_all, 60, "the first member to own every partition")
    a.beat(owned)  # acknowledged
    assert partitions_of(b.join()) == set()

    def new_target() -> bool:
        # Kafka 4.3 computes a new target at most once a second (group.consumer.
        # assignment.interval.ms) and may answer the join at the old epoch: b learns its new
        # epoch, still with no partitions (a holds them all), on a later heartbeat.
        if b.epoch <= a.epoch:
            assert partitions_of(b.beat(set())) in (None, set())
        return b.epoch > a.epoch

    wait_for(new_target, 30, "the new member to reach the new target's epoch")
    return a, b, owned


def test_an_acknowledged_revocation_moves_the_member_on_and_frees_the_partitions(
    bootstrap: str,
) -> None:
    a, b, owned = _two_members(bootstrap)
    try:
        epoch_before = a.epoch
        told = partitions_of(a.beat())
        assert told is not None and 0 < len(told) < PARTITIONS and a.epoch == epoch_before
        # a acknowledges the revocation: its new epoch comes in the same response, and, its
        # partitions being unchanged, no assignment with it (Kafka sends one only when the
        # partitions change).
        ack = a.beat(told)
        assert (a.epoch, partitions_of(ack)) == (b.epoch, None)
        # b's next heartbeat brings it the freed partitions.
        assert partitions_of(b.beat()) == owned - told
    finally:
        a.close()
        b.close()


def test_a_member_that_no_longer_owns_what_it_must_give_up_moves_on_in_one_heartbeat(
    bootstrap: str,
) -> None:
    a, b, owned = _two_members(bootstrap)
    try:
        # a reports it owns nothing (it let its partitions go): there is nothing to revoke,
        # so it takes the new epoch with the partitions it keeps in this very response, and
        # the ones it gave up are free for b at once.
        kept = partitions_of(a.beat(set()))
        assert kept is not None and 0 < len(kept) < PARTITIONS and a.epoch == b.epoch
        assert partitions_of(b.beat()) == owned - kept
    finally:
        a.close()
        b.close()
