"""JoinGroup, SyncGroup, Heartbeat and LeaveGroup on a manual clock (Kafka classic semantics)."""

from embedded_broker.coordinator import GroupError

from .helpers import REBALANCE_MS, SESSION_MS, Harness

OK = GroupError.NONE


def test_empty_member_id_gets_member_id_required_with_client_id_prefix() -> None:
    h = Harness()
    reply = h.join(client_id="app-1").join
    assert reply.error is GroupError.MEMBER_ID_REQUIRED
    assert reply.member_id.startswith("app-1-")
    assert len(reply.member_id) == len("app-1-") + 36
    assert h.state() == "Empty"


def test_join_with_required_member_id_completes_after_initial_delay() -> None:
    h = Harness()
    member_id, replies = h.new_member()
    assert replies.joins == []
    assert h.state() == "PreparingRebalance"
    h.clock.advance(0)
    reply = replies.join
    assert reply.error is OK
    assert reply.generation == 1
    assert reply.leader == member_id
    assert reply.protocol_type == "consumer"
    assert reply.protocol_name == "range"
    assert [(m.member_id, m.metadata) for m in reply.members] == [(member_id, b"meta")]
    assert h.state() == "CompletingRebalance"


def test_old_join_versions_are_added_without_member_id_round_trip() -> None:
    h = Harness()
    replies = h.join(require_known=False)
    h.clock.advance(0)
    assert replies.join.error is OK
    assert replies.join.member_id.startswith("client-")


def test_invalid_session_timeouts() -> None:
    h = Harness()
    assert h.join(session_ms=5999).join.error is GroupError.INVALID_SESSION_TIMEOUT
    assert h.join(session_ms=1_800_001).join.error is GroupError.INVALID_SESSION_TIMEOUT
    assert h.join(session_ms=6000).join.error is GroupError.MEMBER_ID_REQUIRED
    assert h.join(session_ms=1_800_000).join.error is GroupError.MEMBER_ID_REQUIRED


def test_invalid_group_id_and_unknown_member() -> None:
    h = Harness()
    assert h.join(group="").join.error is GroupError.INVALID_GROUP_ID
    assert h.join("nobody").join.error is GroupError.UNKNOWN_MEMBER_ID
    assert "g" not in h.coordinator.groups


def test_inconsistent_protocols() -> None:
    h = Harness()
    assert h.join(protocol_type="").join.error is GroupError.INCONSISTENT_GROUP_PROTOCOL
    assert h.join(protocols=()).join.error is GroupError.INCONSISTENT_GROUP_PROTOCOL
    h.stable_group(1)
    other_type = h.join(protocol_type="connect").join
    assert other_type.error is GroupError.INCONSISTENT_GROUP_PROTOCOL
    no_overlap = h.join(protocols=(("roundrobin", b""),)).join
    assert no_overlap.error is GroupError.INCONSISTENT_GROUP_PROTOCOL


def test_protocol_chosen_by_vote_among_common_protocols() -> None:
    h = Harness()
    a, ra = h.new_member(protocols=(("roundrobin", b"a-rr"), ("range", b"a-r")))
    b, rb = h.new_member(protocols=(("range", b"b-r"), ("roundrobin", b"b-rr")))
    c, rc = h.new_member(protocols=(("range", b"c-r"), ("sticky", b"c-s"), ("roundrobin", b"")))
    h.clock.advance(0)
    # The initial delay of 0 ended with a alone; b and c joined the next generation.
    h.clock.advance(0)
    leader_reply = next(r for r in (ra, rb, rc) if r.joins and r.joins[-1].members)
    final = leader_reply.joins[-1]
    assert final.protocol_name == "range"
    assert {m.member_id: m.metadata for m in final.members} == {a: b"a-r", b: b"b-r", c: b"c-r"}


def test_sync_distributes_leader_assignment_verbatim_and_followers_wait() -> None:
    h = Harness()
    a, _ra = h.new_member()
    h.clock.advance(0)
    b, rb = h.new_member()
    # b's join triggers a rebalance: a must rejoin.
    assert h.coordinator.heartbeat("g", a, 1) is GroupError.REBALANCE_IN_PROGRESS
    ra2 = h.join(a)
    gen = ra2.join.generation
    assert gen == 2 and rb.join.generation == 2
    assert ra2.join.leader == a and len(ra2.join.members) == 2 and rb.join.members == ()
    follower = h.sync(b, gen)
    assert follower.syncs == []
    blob_a, blob_b = b"\x00\x01assign-a\xff", b"\x00\x03assign-b\x00"
    leader = h.sync(a, gen, ((a, blob_a), (b, blob_b)))
    assert leader.sync.assignment == blob_a
    assert follower.sync.assignment == blob_b
    assert follower.sync.protocol_name == "range"
    assert h.state() == "Stable"
    # A sync in Stable returns the current assignment at once.
    assert h.sync(b, gen).sync.assignment == blob_b


def test_sync_errors() -> None:
    h = Harness()
    leader, follower = h.stable_group(2)
    gen = h.generation()
    assert h.sync("x", gen).sync.error is GroupError.UNKNOWN_MEMBER_ID
    assert h.sync(follower, gen + 1).sync.error is GroupError.ILLEGAL_GENERATION
    wrong = h.sync(follower, gen, protocol_name="roundrobin").sync
    assert wrong.error is GroupError.INCONSISTENT_GROUP_PROTOCOL
    wrong_type = h.sync(follower, gen, protocol_type="connect").sync
    assert wrong_type.error is GroupError.INCONSISTENT_GROUP_PROTOCOL
    assert h.sync(leader, gen, group="other").sync.error is GroupError.UNKNOWN_MEMBER_ID
    h.new_member()
    assert h.state() == "PreparingRebalance"
    assert h.sync(follower, gen).sync.error is GroupError.REBALANCE_IN_PROGRESS


def test_pending_syncs_are_failed_when_a_rebalance_starts() -> None:
    h = Harness()
    leader, follower = h.stable_group(2)
    h.join(leader)  # the leader rejoining starts a rebalance
    h.join(follower)
    assert h.state() == "CompletingRebalance"
    pending = h.sync(follower, h.generation())
    assert pending.syncs == []
    h.new_member()
    assert pending.sync.error is GroupError.REBALANCE_IN_PROGRESS


def test_heartbeat_errors_and_rebalance_signal() -> None:
    h = Harness()
    leader, follower = h.stable_group(2)
    gen = h.generation()
    assert h.coordinator.heartbeat("g", follower, gen) is OK
    assert h.coordinator.heartbeat("g", "ghost", gen) is GroupError.UNKNOWN_MEMBER_ID
    assert h.coordinator.heartbeat("g", follower, gen - 1) is GroupError.ILLEGAL_GENERATION
    assert h.coordinator.heartbeat("nogroup", follower, gen) is GroupError.UNKNOWN_MEMBER_ID
    h.new_member()
    assert h.coordinator.heartbeat("g", follower, gen) is GroupError.REBALANCE_IN_PROGRESS
    assert h.coordinator.heartbeat("g", leader, gen) is GroupError.REBALANCE_IN_PROGRESS


def test_heartbeat_in_completing_rebalance_is_ok() -> None:
    h = Harness()
    a, _ra = h.new_member()
    h.clock.advance(0)
    assert h.state() == "CompletingRebalance"
    assert h.coordinator.heartbeat("g", a, 1) is OK


def test_session_expiry_removes_member_and_rebalances() -> None:
    h = Harness()
    leader, follower = h.stable_group(2)
    gen = h.generation()
    # Only the leader keeps heartbeating.
    for _ in range(3):
        h.clock.advance(SESSION_MS // 2)
        h.coordinator.heartbeat("g", leader, gen)
    assert h.state() == "PreparingRebalance"
    assert follower not in h.coordinator.groups["g"].members
    rejoin = h.join(leader)
    assert rejoin.join.generation == gen + 1
    assert [m.member_id for m in rejoin.join.members] == [leader]


def test_all_members_expiring_leaves_an_empty_group() -> None:
    h = Harness()
    h.stable_group(1)
    h.clock.advance(SESSION_MS)
    assert h.state() == "Empty"
    assert h.coordinator.groups["g"].protocol_type == "consumer"


def test_rebalance_timeout_removes_members_that_do_not_rejoin() -> None:
    h = Harness()
    leader, follower = h.stable_group(2)
    gen = h.generation()
    rejoin = h.join(leader)
    assert rejoin.joins == []
    # The follower keeps heartbeating (it hears REBALANCE_IN_PROGRESS) but never rejoins.
    for _ in range(REBALANCE_MS // 5000 - 1):
        h.clock.advance(5000)
        assert h.coordinator.heartbeat("g", follower, gen) is GroupError.REBALANCE_IN_PROGRESS
    assert rejoin.joins == []
    h.clock.advance(5000)
    assert rejoin.join.error is OK
    assert [m.member_id for m in rejoin.join.members] == [leader]
    assert h.coordinator.heartbeat("g", follower, gen) is GroupError.UNKNOWN_MEMBER_ID


def test_sync_timeout_removes_members_that_never_sync() -> None:
    h = Harness()
    a, _ra = h.new_member()
    h.clock.advance(0)
    b, _rb = h.new_member()
    h.join(a)
    gen = h.generation()
    h.sync(a, gen, ((a, b"x"), (b, b"y")))
    assert h.state() == "Stable"
    for _ in range(REBALANCE_MS // 5000):
        h.clock.advance(5000)
        h.coordinator.heartbeat("g", a, gen)
    assert b not in h.coordinator.groups["g"].members
    assert h.state() == "PreparingRebalance"


def test_initial_rebalance_delay_waits_and_extends_for_new_members() -> None:
    h = Harness(initial_rebalance_delay_ms=3000)
    _a, ra = h.new_member()
    h.clock.advance(2000)
    _b, rb = h.new_member()
    h.clock.advance(1000)
    # b arrived during the first delay, so the join phase waits another delay.
    assert ra.joins == [] and rb.joins == []
    h.clock.advance(3000)
    assert ra.join.generation == rb.join.generation == 1
    assert len(ra.join.members) == 2


def test_initial_delay_is_capped_by_the_rebalance_timeout() -> None:
    h = Harness(initial_rebalance_delay_ms=60_000)
    _a, ra = h.new_member(rebalance_ms=10_000)
    h.clock.advance(10_000)
    assert ra.join.error is OK


def test_member_id_required_ids_expire_after_the_session_timeout() -> None:
    h = Harness()
    leader, follower = h.stable_group(2)
    pending = h.join().join.member_id
    assert pending in h.coordinator.groups["g"].pending_members
    h.coordinator.heartbeat("g", leader, h.generation())
    h.coordinator.heartbeat("g", follower, h.generation())
    h.clock.advance(SESSION_MS - 1)
    h.coordinator.heartbeat("g", leader, h.generation())
    h.coordinator.heartbeat("g", follower, h.generation())
    h.clock.advance(1)
    assert pending not in h.coordinator.groups["g"].pending_members
    assert h.join(pending).join.error is GroupError.UNKNOWN_MEMBER_ID


def test_known_follower_rejoining_stable_group_with_same_protocols_gets_current_generation() -> (
    None
):
    h = Harness()
    _leader, follower = h.stable_group(2)
    reply = h.join(follower).join
    assert reply.error is OK and reply.generation == h.generation() and reply.members == ()
    assert h.state() == "Stable"


def test_static_member_rejoin_replaces_member_id_without_rebalance() -> None:
    h = Harness()
    first = h.join(instance_id="i-1")
    h.clock.advance(0)
    old_id = first.join.member_id
    assert old_id.startswith("i-1-")
    gen = first.join.generation
    h.sync(old_id, gen, ((old_id, b"asg"),))
    again = h.join(instance_id="i-1", skip=True).join
    assert again.error is OK
    assert again.member_id != old_id and again.generation == gen
    assert again.skip_assignment is True and again.leader == again.member_id
    assert h.state() == "Stable"
    # The old incarnation is fenced everywhere.
    assert h.coordinator.heartbeat("g", old_id, gen, "i-1") is GroupError.FENCED_INSTANCE_ID
    assert h.sync(old_id, gen, group_instance_id="i-1").sync.error is GroupError.FENCED_INSTANCE_ID
    assert h.join(old_id, instance_id="i-1").join.error is GroupError.FENCED_INSTANCE_ID
    assert h.sync(again.member_id, gen).sync.assignment == b"asg"


def test_static_member_with_changed_protocols_triggers_rebalance() -> None:
    h = Harness()
    first = h.join(instance_id="i-1")
    h.clock.advance(0)
    h.sync(first.join.member_id, 1)
    again = h.join(instance_id="i-1", protocols=(("range", b"new"),))
    assert h.state() in ("PreparingRebalance", "CompletingRebalance")
    h.clock.advance(0)
    assert again.join.generation == 2


def test_leave_group_batched_members() -> None:
    h = Harness()
    static = h.join(instance_id="s-1")
    h.clock.advance(0)
    static_id = static.join.member_id
    h.sync(static_id, 1)
    dyn, _rd = h.new_member()
    h.join(static_id, instance_id="s-1")
    h.sync(static_id, h.generation(), ())
    result = h.coordinator.leave(
        "g", [("", "s-1"), (dyn, None), ("ghost", None), ("wrong", "s-2"), ("x", "s-1")]
    )
    assert result.error is OK
    assert [e for _, _, e in result.members] == [
        OK,
        OK,
        GroupError.UNKNOWN_MEMBER_ID,
        GroupError.UNKNOWN_MEMBER_ID,
        GroupError.UNKNOWN_MEMBER_ID,
    ]
    assert h.state() == "Empty"
    assert h.coordinator.leave("nope", [("m", None)]).error is GroupError.UNKNOWN_MEMBER_ID


def test_leave_with_stale_member_id_for_static_instance_is_fenced() -> None:
    h = Harness()
    static = h.join(instance_id="s-1")
    h.clock.advance(0)
    result = h.coordinator.leave("g", [("stale-id", "s-1")])
    assert result.members[0][2] is GroupError.FENCED_INSTANCE_ID
    assert static.join.member_id in h.coordinator.groups["g"].members


def test_leave_rebalances_the_remaining_members() -> None:
    h = Harness()
    a, b, c = h.stable_group(3)
    gen = h.generation()
    assert h.coordinator.leave("g", [(c, None)]).members[0][2] is OK
    assert h.state() == "PreparingRebalance"
    ra = h.join(a)
    assert ra.joins == []
    rb = h.join(b)
    assert ra.join.generation == rb.join.generation == gen + 1
    assert {m.member_id for m in ra.join.members} == {a, b}


def test_leader_leaving_hands_leadership_to_a_rejoined_member() -> None:
    h = Harness()
    a, b = h.stable_group(2)
    h.coordinator.leave("g", [(a, None)])
    rb = h.join(b)
    assert rb.join.leader == b and len(rb.join.members) == 1


def test_leave_while_preparing_completes_the_join_without_the_leaver() -> None:
    h = Harness()
    a, b = h.stable_group(2)
    ra = h.join(a)
    assert h.state() == "PreparingRebalance"
    h.coordinator.leave("g", [(b, None)])
    assert ra.join.error is OK
    assert [m.member_id for m in ra.join.members] == [a]
    assert h.state() == "CompletingRebalance"


def test_leave_while_completing_restarts_the_rebalance() -> None:
    h = Harness()
    a, b = h.stable_group(2)
    h.join(a)
    h.join(b)
    assert h.state() == "CompletingRebalance"
    pending = h.sync(b, h.generation())
    h.coordinator.leave("g", [(a, None)])
    assert pending.sync.error is GroupError.REBALANCE_IN_PROGRESS
    assert h.state() == "PreparingRebalance"


def test_session_expiry_while_completing_removes_the_silent_member() -> None:
    h = Harness()
    a, b = h.stable_group(2)
    h.join(a)
    h.join(b)
    gen = h.generation()
    assert h.state() == "CompletingRebalance"
    # a heartbeats but never syncs; b does nothing at all.
    for _ in range(SESSION_MS // 2000 + 1):
        h.clock.advance(2000)
        h.coordinator.heartbeat("g", a, gen)
    assert b not in h.coordinator.groups["g"].members
    assert h.state() == "PreparingRebalance"


def test_sync_timeout_while_completing_removes_members_that_never_synced() -> None:
    h = Harness()
    a, b = h.stable_group(2)
    h.join(a)
    h.join(b)
    gen = h.generation()
    follower_wait = h.sync(b, gen)
    # Both heartbeat, but the leader never sends its assignment.
    for _ in range(REBALANCE_MS // 5000 - 1):
        h.clock.advance(5000)
        h.coordinator.heartbeat("g", a, gen)
        h.coordinator.heartbeat("g", b, gen)
    h.clock.advance(5000)
    assert a not in h.coordinator.groups["g"].members
    assert b in h.coordinator.groups["g"].members
    assert follower_wait.sync.error is GroupError.REBALANCE_IN_PROGRESS
    assert h.state() == "PreparingRebalance"
