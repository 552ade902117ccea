"""The consumer group protocol's state machine on a manual clock: epochs, target assignment,
incremental reconciliation (revoke before reassign), leaving, timeouts and restart."""

from __future__ import annotations

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
)
from embedded_broker.coordinator.consumer import HeartbeatRequest, HeartbeatResult
from embedded_broker.coordinator.consumer_group import Partitions

TOPICS = {"t": 6}


class Group:
    def __init__(
        self, tmp_path: Path | None = None, config: CoordinatorConfig | None = None
    ) -> None:
        self.clock = ManualClock()
        journal = FileJournal(tmp_path) if tmp_path is not None else None
        self.coord = GroupCoordinator(
            self.clock, self.clock, journal, config or CoordinatorConfig()
        )
        self.coord.start()

    def beat(
        self,
        member: str,
        epoch: int,
        owned: Partitions | None = None,
        *,
        rebalance_timeout_ms: int = -1,
        instance_id: str | None = None,
        server_assignor: str | None = None,
    ) -> HeartbeatResult:
        topics = ("t",) if epoch == 0 else None
        req = HeartbeatRequest(
            "g",
            member,
            epoch,
            instance_id=instance_id,
            rebalance_timeout_ms=rebalance_timeout_ms,
            subscribed_topic_names=topics,
            server_assignor=server_assignor,
            owned=owned,
        )
        return self.coord.consumer_heartbeat(req, TOPICS.get, lambda: list(TOPICS))

    def join(
        self,
        member: str,
        *,
        instance_id: str | None = None,
        server_assignor: str | None = None,
        rebalance_timeout_ms: int = 30_000,
    ) -> HeartbeatResult:
        result = self.beat(
            member,
            0,
            {},
            rebalance_timeout_ms=rebalance_timeout_ms,
            instance_id=instance_id,
            server_assignor=server_assignor,
        )
        assert result.error is GroupError.NONE, result
        return result


def parts(result: HeartbeatResult) -> set[int]:
    assert result.assignment is not None
    return set(result.assignment.get("t", set()))


def test_first_member_gets_every_partition_at_epoch_one() -> None:
    g = Group()
    r = g.join("a")
    assert (r.member_epoch, parts(r), r.heartbeat_interval_ms) == (1, set(range(6)), 5000)
    assert g.coord.consumer_groups["g"].state() == "Stable"


def test_partitions_move_only_after_the_previous_owner_revokes_them() -> None:
    g = Group()
    a = g.join("a")
    b = g.join("b")
    # b is at the new epoch but a still owns everything: b gets nothing yet.
    assert b.member_epoch == 2 and parts(b) == set()
    assert g.coord.consumer_groups["g"].state() == "Reconciling"
    # a is told to keep 3 (its epoch stays until it has revoked the others).
    a = g.beat("a", 1, {"t": set(range(6))})
    kept = parts(a)
    assert a.member_epoch == 1 and len(kept) == 3
    # b asks again before a revoked: still nothing.
    assert g.beat("b", 2, {}).assignment is None
    # a reports the revocation done: it moves to epoch 2, and b can now take the rest.
    a = g.beat("a", 1, {"t": kept})
    assert a.member_epoch == 2
    b = g.beat("b", 2, {})
    assert parts(b) == set(range(6)) - kept
    assert g.coord.consumer_groups["g"].state() == "Stable"


def test_a_leaving_member_frees_its_partitions_without_revoking_others() -> None:
    g = Group()
    g.join("a")
    g.join("b")
    a = g.beat("a", 1, {"t": set(range(6))})
    g.beat("a", 1, {"t": parts(a)})
    b = g.beat("b", 2, {})
    left = g.beat("b", -1)
    assert (left.error, left.member_epoch) == (GroupError.NONE, -1)
    a = g.beat("a", 2, {"t": set(range(6)) - parts(b)})
    assert a.member_epoch == 3 and parts(a) == set(range(6))


def test_stale_and_future_epochs_are_fenced_and_unknown_members_refused() -> None:
    g = Group()
    g.join("a")
    assert g.beat("a", 5, {}).error is GroupError.FENCED_MEMBER_EPOCH
    assert g.beat("x", 1, {}).error is GroupError.UNKNOWN_MEMBER_ID
    assert g.beat("a", 0, {}, rebalance_timeout_ms=-1).error is GroupError.INVALID_REQUEST
    assert g.beat("a", 1, server_assignor="sticky").error is GroupError.UNSUPPORTED_ASSIGNOR


def test_session_timeout_removes_a_silent_member() -> None:
    g = Group()
    g.join("a")
    g.clock.advance(44_999)
    assert "a" in g.coord.consumer_groups["g"].members
    g.clock.advance(1)
    assert g.coord.consumer_groups["g"].members == {}
    assert g.coord.consumer_groups["g"].state() == "Empty"


def test_a_member_that_does_not_revoke_in_the_rebalance_timeout_is_fenced() -> None:
    g = Group()
    g.join("a", rebalance_timeout_ms=10_000)
    g.join("b")
    g.beat("a", 1, {"t": set(range(6))})  # told to revoke 3; never confirms
    g.beat("b", 2, {})
    g.clock.advance(5_000)
    g.beat("b", 2, {})
    g.clock.advance(5_000)
    assert "a" not in g.coord.consumer_groups["g"].members
    b = g.beat("b", 2, {})
    assert parts(b) == set(range(6))


def test_static_member_leaves_temporarily_and_comes_back_with_its_partitions() -> None:
    g = Group()
    g.join("a", instance_id="i1")
    left = g.beat("a", -2, instance_id="i1")
    assert left.member_epoch == -2
    other = g.beat("a2", 0, {}, rebalance_timeout_ms=30_000, instance_id="i1")
    assert other.error is GroupError.NONE
    assert (other.member_epoch, parts(other)) == (1, set(range(6)))
    assert (
        g.beat("a3", 0, {}, rebalance_timeout_ms=1, instance_id="i1").error
        is GroupError.UNRELEASED_INSTANCE_ID
    )


def test_range_assignor_chosen_by_the_member() -> None:
    g = Group()
    g.join("b", server_assignor="range")
    g.join("a", server_assignor="range")
    b = g.beat("b", 1, {"t": set(range(6))})
    assert parts(b) == {3, 4, 5}  # range: "a" sorts first and takes 0..2


def test_commits_need_the_current_member_epoch() -> None:
    g = Group()
    g.join("a")
    entry = [OffsetCommitEntry("t", 0, 5, -1, None)]
    assert g.coord.commit_offsets("g", "a", 0, entry)[0][1] is GroupError.STALE_MEMBER_EPOCH
    assert g.coord.commit_offsets("g", "a", 1, entry)[0][1] is GroupError.NONE
    assert g.coord.commit_offsets("g", "", -1, entry)[0][1] is GroupError.UNKNOWN_MEMBER_ID
    assert g.coord.fetch_offsets("g", [("t", 0)])[0].offset == 5


def test_classic_and_consumer_groups_refuse_each_other_while_active() -> None:
    g = Group()
    g.join("a")
    replies = []
    join = JoinRequest("g", "", "consumer", (("range", b""),), 10_000, 10_000, None, "c", "/h")
    g.coord.join(join, replies.append)
    assert replies[0].error is GroupError.INCONSISTENT_GROUP_PROTOCOL
    listed = {(x.group_id, x.group_type, x.state) for x in g.coord.list_groups()}
    assert listed == {("g", "consumer", "Stable")}
    assert g.coord.describe_group("g").state == "Dead"
    assert g.coord.delete_groups(["g"]) == [("g", GroupError.NON_EMPTY_GROUP)]


def test_group_survives_a_restart_with_epochs_and_assignments(tmp_path: Path) -> None:
    g = Group(tmp_path)
    g.join("a")
    g.join("b")
    a = g.beat("a", 1, {"t": set(range(6))})
    g.beat("a", 1, {"t": parts(a)})
    b = g.beat("b", 2, {})
    g.coord.close()
    again = Group(tmp_path)
    group = again.coord.consumer_groups["g"]
    assert group.epoch == 2 and group.state() == "Stable"
    assert group.members["b"].assigned == {"t": parts(b)}
    assert again.beat("b", 2, {"t": parts(b)}).error is GroupError.NONE
    again.clock.advance(45_000)  # members that never come back expire after the restart
    assert again.coord.consumer_groups["g"].members == {}


def test_offset_fetch_from_a_member_needs_its_current_epoch() -> None:
    g = Group()
    g.join("a")
    assert g.coord.validate_offset_fetch("g", "a", 1) is GroupError.NONE
    assert g.coord.validate_offset_fetch("g", "a", 0) is GroupError.STALE_MEMBER_EPOCH
    assert g.coord.validate_offset_fetch("g", "x", 1) is GroupError.UNKNOWN_MEMBER_ID
    assert g.coord.validate_offset_fetch("g", None, -1) is GroupError.NONE  # admin fetch


def test_an_empty_classic_group_is_upgraded_with_its_offsets_and_back() -> None:
    g = Group()
    entry = [OffsetCommitEntry("t", 2, 7, -1, None)]
    assert g.coord.commit_offsets("g", "", -1, entry)[0][1] is GroupError.NONE
    r = g.join("a")
    assert r.member_epoch == 1
    assert g.coord.fetch_offsets("g", [("t", 2)])[0].offset == 7
    g.beat("a", -1)
    replies: list[JoinResult] = []
    join = JoinRequest("g", "", "consumer", (("range", b""),), 10_000, 10_000, None, "c", "/h")
    g.coord.join(join, replies.append)  # empty again: a classic member may take the group
    assert replies == [] or replies[0].error is GroupError.MEMBER_ID_REQUIRED
    assert "g" not in g.coord.consumer_groups
    assert g.coord.fetch_offsets("g", [("t", 2)])[0].offset == 7


def test_a_consumer_group_refuses_to_replace_a_classic_group_with_members() -> None:
    g = Group()
    join = JoinRequest(
        "g", "", "consumer", (("range", b""),), 10_000, 10_000, require_known_member_id=False
    )
    g.coord.join(join, lambda _: None)  # a member in the (delayed) first rebalance
    assert g.coord.describe_group("g").members
    assert g.beat("a", 0, {}, rebalance_timeout_ms=1).error is GroupError.GROUP_ID_NOT_FOUND


def test_an_empty_consumer_group_without_offsets_is_removed_by_the_retention_sweep() -> None:
    g = Group()
    g.join("a")
    g.beat("a", -1)
    g.coord.expire_offsets()
    assert g.coord.consumer_groups == {} and g.coord.list_groups() == []


def test_journal_compaction_keeps_consumer_groups(tmp_path: Path) -> None:
    g = Group()
    g.coord.journal = FileJournal(tmp_path, compact_min_bytes=1)  # compacts on every write
    g.join("a")
    g.join("b")
    a = g.beat("a", 1, {"t": set(range(6))})
    g.beat("a", 1, {"t": parts(a)})
    g.coord.close()
    again = Group(tmp_path)
    group = again.coord.consumer_groups["g"]
    assert set(group.members) == {"a", "b"} and group.members["a"].assigned == {"t": parts(a)}


def test_a_fenced_member_rejoining_gets_its_assignment_back_without_a_rebalance() -> None:
    g = Group()
    g.join("a")
    assert g.beat("a", 7, {}).error is GroupError.FENCED_MEMBER_EPOCH
    again = g.join("a")
    assert (again.member_epoch, parts(again)) == (1, set(range(6)))
    assert g.coord.consumer_groups["g"].epoch == 1


def test_group_max_size_and_configured_assignors_and_heartbeat_interval() -> None:
    config = CoordinatorConfig(
        consumer_max_size=1, consumer_assignors="range", consumer_heartbeat_interval_ms=2500
    )
    g = Group(config=config)
    assert g.join("a").heartbeat_interval_ms == 2500
    assert g.beat("b", 0, {}, rebalance_timeout_ms=1).error is GroupError.GROUP_MAX_SIZE_REACHED
    assert g.beat("a", 1, server_assignor="uniform").error is GroupError.UNSUPPORTED_ASSIGNOR
