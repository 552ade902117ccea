"""Online migration between classic and consumer groups (KIP-848) on a manual clock: a
consumer-protocol member upgrades a classic group with members, the classic members keep
working through JoinGroup/SyncGroup/Heartbeat, and the group goes back to classic when the last
consumer-protocol member leaves; the migration policy and a restart."""

from __future__ import annotations

import struct
from pathlib import Path

from embedded_broker.coordinator import (
    CoordinatorConfig,
    FileJournal,
    GroupCoordinator,
    GroupError,
    JoinRequest,
    JoinResult,
    ManualClock,
    OffsetCommitEntry,
    SyncRequest,
    SyncResult,
)
from embedded_broker.coordinator.consumer import HeartbeatRequest, HeartbeatResult
from embedded_broker.coordinator.consumer_group import Partitions
from embedded_broker.coordinator.consumer_protocol import encode_assignment, parse_assignment

TOPICS = {"t": 6}
OK = GroupError.NONE


def subscription(owned: Partitions | None = None) -> bytes:
    """A ConsumerProtocolSubscription v1 of topic t, owning `owned`."""
    out = struct.pack(">hih", 1, 1, 1) + b"t" + struct.pack(">i", -1)
    owned = owned or {}
    out += struct.pack(">i", len(owned))
    for topic, ps in owned.items():
        out += struct.pack(">h", len(topic)) + topic.encode() + struct.pack(">i", len(ps))
        out += b"".join(struct.pack(">i", p) for p in sorted(ps))
    return out


class Group:
    def __init__(
        self,
        tmp_path: Path | None = None,
        policy: str = "bidirectional",
        classic_max_size: int = 2**31 - 1,
    ) -> None:
        self.clock = ManualClock()
        journal = FileJournal(tmp_path) if tmp_path is not None else None
        config = CoordinatorConfig(
            consumer_migration_policy=policy, classic_max_size=classic_max_size
        )
        self.coord = GroupCoordinator(self.clock, self.clock, journal, config)
        self.coord.topic_partitions = TOPICS.get
        self.coord.topic_names = lambda: list(TOPICS)
        self.coord.start()

    def join(
        self, member_id: str = "", owned: Partitions | None = None, instance_id: str | None = None
    ) -> list[JoinResult]:
        replies: list[JoinResult] = []
        req = JoinRequest(
            "g",
            member_id,
            "consumer",
            (("range", subscription(owned)),),
            10_000,
            30_000,
            group_instance_id=instance_id,
            require_known_member_id=False,
        )
        self.coord.join(req, replies.append)
        return replies

    def sync(
        self,
        member_id: str,
        generation: int,
        assignments: dict[str, Partitions] | None = None,
        user_data: bytes | None = None,
    ) -> list[SyncResult]:
        replies: list[SyncResult] = []
        raw = tuple((m, encode_assignment(p, 1)) for m, p in (assignments or {}).items())
        if user_data is not None:  # a custom assignor's: the null user data replaced
            raw = tuple((m, a[:-4] + struct.pack(">i", len(user_data)) + user_data) for m, a in raw)
        self.coord.sync(
            SyncRequest("g", member_id, generation, raw, None, "consumer"), replies.append
        )
        return replies

    def beat(
        self,
        member: str,
        epoch: int,
        owned: Partitions | None = None,
        instance_id: str | None = None,
    ) -> HeartbeatResult:
        req = HeartbeatRequest(
            "g",
            member,
            epoch,
            instance_id=instance_id,
            rebalance_timeout_ms=30_000 if epoch == 0 else -1,
            subscribed_topic_names=("t",) if epoch == 0 else None,
            owned=owned if owned is not None else ({} if epoch == 0 else None),
        )
        return self.coord.consumer_heartbeat(req, TOPICS.get, lambda: list(TOPICS))

    def classic_pair(self, user_data: bytes | None = None) -> tuple[str, str, int]:
        """Two classic members, Stable, with partitions 0-2 and 3-5 (the leader's assignment
        carrying user_data)."""
        first, second = self.join(), self.join()
        self.clock.advance(3000)  # the initial rebalance delay, extended once for the second
        self.clock.advance(3000)
        a, b = first[0], second[0]
        assert a.error is OK and b.error is OK
        leader, follower = (a, b) if a.leader == a.member_id else (b, a)
        plan = {leader.member_id: {"t": {0, 1, 2}}, follower.member_id: {"t": {3, 4, 5}}}
        assert self.sync(follower.member_id, a.generation) == []
        assert self.sync(leader.member_id, a.generation, plan, user_data)[0].error is OK
        return leader.member_id, follower.member_id, a.generation


def assigned(reply: SyncResult) -> set[int]:
    assert reply.error is OK, reply
    return parse_assignment(reply.assignment).get("t", set())


def rejoin_and_sync(g: Group, member_id: str) -> set[int]:
    """What an eager classic consumer does on REBALANCE_IN_PROGRESS: give up everything,
    rejoin, sync."""
    joined = g.join(member_id)[0]
    assert joined.error is OK, joined
    assert (joined.protocol_type, joined.protocol_name, joined.leader) == ("consumer", "range", "")
    return assigned(g.sync(member_id, joined.generation)[0])


def test_a_consumer_member_upgrades_a_classic_group_and_all_three_share_it() -> None:
    g = Group()
    a, b, generation = g.classic_pair()
    entry = [OffsetCommitEntry("t", 0, 42, -1, None)]
    assert g.coord.commit_offsets("g", a, generation, entry)[0][1] is OK

    c = g.beat("c", 0)
    assert c.error is OK and c.assignment == {}  # every partition is still held
    group = g.coord.consumer_groups["g"]
    assert group.epoch == generation + 1
    assert {m.member_id: m.epoch for m in group.members.values()} == {
        a: generation,
        b: generation,
        "c": generation + 1,
    }
    assert [x.group_type for x in g.coord.list_groups()] == ["consumer"]
    # The classic members hear of the rebalance through their heartbeat, and rejoin.
    assert g.coord.heartbeat("g", a, generation) is GroupError.REBALANCE_IN_PROGRESS
    assert g.coord.heartbeat("g", b, generation) is GroupError.REBALANCE_IN_PROGRESS
    owned = {a: rejoin_and_sync(g, a), b: rejoin_and_sync(g, b)}
    assert g.coord.heartbeat("g", a, generation + 1) is OK
    c_parts = g.beat("c", generation + 1, {}).assignment
    assert c_parts is not None
    everything = [*owned[a], *owned[b], *c_parts["t"]]
    assert sorted(everything) == list(range(6))
    assert all(len(p) == 2 for p in (owned[a], owned[b], c_parts["t"]))
    assert g.coord.fetch_offsets("g", [("t", 0)])[0].offset == 42
    # A classic member commits with its generation (its member epoch).
    stale = g.coord.commit_offsets("g", a, generation, entry)[0][1]
    assert stale is GroupError.ILLEGAL_GENERATION
    assert g.coord.commit_offsets("g", a, generation + 1, entry)[0][1] is OK


def test_the_last_consumer_member_leaving_downgrades_the_group() -> None:
    g = Group()
    a, b, _ = g.classic_pair()
    g.beat("c", 0)
    for m in (a, b):
        rejoin_and_sync(g, m)
    epoch = g.coord.consumer_groups["g"].epoch
    assert g.beat("c", -1).error is OK
    assert "g" not in g.coord.consumer_groups
    classic = g.coord.groups["g"]
    assert classic.state.value == "PreparingRebalance"
    assert classic.generation == epoch and set(classic.members) == {a, b}
    # The members rejoin the classic group and rebalance as classic members do.
    assert g.coord.heartbeat("g", a, epoch) is GroupError.REBALANCE_IN_PROGRESS
    first, second = g.join(a), g.join(b)
    assert first[0].error is OK and second[0].error is OK
    assert first[0].generation == epoch + 1
    assert [x.group_type for x in g.coord.list_groups()] == ["classic"]


def test_no_downgrade_into_a_classic_group_over_group_max_size() -> None:
    g = Group(classic_max_size=2)
    a, b, _ = g.classic_pair()
    g.beat("c", 0)
    for m in (a, b):
        rejoin_and_sync(g, m)
    third = g.join()[0]  # a third classic member joins the consumer group
    assert third.error is OK
    rejoin_and_sync(g, third.member_id)
    assert g.beat("c", -1).error is OK
    # three classic members would be over group.max.size: the group stays a consumer group
    assert set(g.coord.consumer_groups["g"].members) == {a, b, third.member_id}
    assert [x.group_type for x in g.coord.list_groups()] == ["consumer"]


def test_a_classic_member_leaving_does_not_downgrade() -> None:
    g = Group()
    a, b, _ = g.classic_pair()
    g.beat("c", 0)
    left = g.coord.leave("g", [(a, None)])
    assert left.members == ((a, None, OK),)
    group = g.coord.consumer_groups["g"]
    assert set(group.members) == {b, "c"}
    # LeaveGroup names only classic members: the consumer member is not one.
    assert g.coord.leave("g", [("c", None)]).members == (("c", None, GroupError.UNKNOWN_MEMBER_ID),)


def test_policy_disabled_refuses_the_upgrade_with_kafkas_message() -> None:
    g = Group(policy="disabled")
    g.classic_pair()
    refused = g.beat("c", 0)
    assert refused.error is GroupError.GROUP_ID_NOT_FOUND
    assert refused.message == (
        "Cannot upgrade classic group g to consumer group because online upgrade is disabled."
    )
    assert "g" not in g.coord.consumer_groups


def test_policy_upgrade_keeps_the_consumer_group_when_its_consumer_member_leaves() -> None:
    g = Group(policy="upgrade")
    a, b, _ = g.classic_pair()
    g.beat("c", 0)
    g.beat("c", -1)
    assert set(g.coord.consumer_groups["g"].members) == {a, b}


def test_a_classic_group_of_another_protocol_type_is_not_upgraded() -> None:
    g = Group()
    replies: list[JoinResult] = []
    join = JoinRequest(
        "g", "", "connect", (("v1", b"x"),), 10_000, 30_000, require_known_member_id=False
    )
    g.coord.join(join, replies.append)
    refused = g.beat("c", 0)
    assert refused.error is GroupError.GROUP_ID_NOT_FOUND
    assert refused.message is not None and "does not use the consumer embedded protocol" in (
        refused.message
    )


def test_the_converted_group_survives_a_restart(tmp_path: Path) -> None:
    g = Group(tmp_path)
    a, b, _ = g.classic_pair()
    g.beat("c", 0)
    owned_a = rejoin_and_sync(g, a)
    g.coord.close()
    again = Group(tmp_path)
    group = again.coord.consumer_groups["g"]
    assert set(group.members) == {a, b, "c"}
    member_a = group.members[a]
    assert member_a.classic is not None and member_a.classic.session_timeout_ms == 10_000
    assert member_a.assigned == {"t": owned_a}
    assert again.coord.groups["g"].members == {}  # the classic entry only keeps offsets
    joined = again.join(a)[0]
    assert joined.error is OK and joined.generation == group.epoch


def test_a_custom_assignors_user_data_refuses_the_upgrade() -> None:
    g = Group()
    g.classic_pair(user_data=b"x")
    refused = g.beat("c", 0)
    assert refused.error is GroupError.GROUP_ID_NOT_FOUND
    assert refused.message == (
        "Cannot upgrade classic group g to consumer group because an unsupported custom "
        "assignor is in use. Please refer to the documentation or switch to a default assignor "
        "before re-attempting the upgrade."
    )
    assert [x.group_type for x in g.coord.list_groups()] == ["classic"]


def test_empty_user_data_is_not_a_custom_assignors() -> None:
    g = Group()
    g.classic_pair(user_data=b"")
    assert g.beat("c", 0).error is OK


def test_a_classic_member_replacing_the_last_static_consumer_member_downgrades() -> None:
    g = Group()
    a, b, _ = g.classic_pair()
    g.beat("c", 0, instance_id="box-c")
    for m in (a, b):
        rejoin_and_sync(g, m)
    c = g.beat("c", g.coord.consumer_groups["g"].epoch, {})
    assert c.error is OK and c.assignment is not None
    epoch = g.coord.consumer_groups["g"].epoch
    g.beat("c", -2, instance_id="box-c")  # a static member leaves for a moment
    # It comes back as a classic consumer, with the same instance id and subscription.
    joined = g.join(instance_id="box-c")[0]
    assert joined.error is OK and joined.generation == epoch
    assert "g" not in g.coord.consumer_groups
    classic = g.coord.groups["g"]
    assert classic.state.value == "Stable" and classic.generation == epoch
    assert len(classic.members) == 3
    # It syncs into the classic group and gets the partitions the consumer member had.
    assert assigned(g.sync(joined.member_id, epoch)[0]) == c.assignment["t"]
