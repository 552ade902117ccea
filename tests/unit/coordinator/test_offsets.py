"""OffsetCommit / OffsetFetch / OffsetDelete / ListGroups / DescribeGroups / DeleteGroups."""

from embedded_broker.coordinator import CoordinatorConfig, GroupError, OffsetCommitEntry

from .helpers import Harness, subscription

OK = GroupError.NONE


def commit(
    h: Harness, group: str, member: str, gen: int, *entries: OffsetCommitEntry, **kw: object
) -> list[GroupError]:
    return [e for _, e in h.coordinator.commit_offsets(group, member, gen, entries, **kw)]  # type: ignore[arg-type]


def test_offsets_only_group_with_generation_minus_one() -> None:
    h = Harness()
    errors = commit(h, "admin", "", -1, OffsetCommitEntry("t", 0, 42, 3, "meta \u00e9"))
    assert errors == [OK]
    assert h.state("admin") == "Empty"
    [listed] = h.coordinator.list_groups()
    assert (listed.group_id, listed.protocol_type, listed.state) == ("admin", "", "Empty")
    [fetched] = h.coordinator.fetch_offsets("admin", None)
    assert (fetched.topic, fetched.partition, fetched.offset) == ("t", 0, 42)
    assert (fetched.leader_epoch, fetched.metadata) == (3, "meta \u00e9")


def test_fetch_unknown_partitions_and_groups_return_minus_one() -> None:
    h = Harness()
    commit(h, "g", "", -1, OffsetCommitEntry("t", 0, 5))
    got = h.coordinator.fetch_offsets("g", [("t", 0), ("t", 1), ("u", 0)])
    assert [(e.topic, e.partition, e.offset, e.error) for e in got] == [
        ("t", 0, 5, OK),
        ("t", 1, -1, OK),
        ("u", 0, -1, OK),
    ]
    assert [e.offset for e in h.coordinator.fetch_offsets("nope", [("t", 0)])] == [-1]
    assert h.coordinator.fetch_offsets("nope", None) == []


def test_null_metadata_round_trips() -> None:
    h = Harness()
    commit(h, "g", "", -1, OffsetCommitEntry("t", 0, 5, -1, None))
    assert h.coordinator.fetch_offsets("g", [("t", 0)])[0].metadata is None


def test_commit_to_unknown_group_with_a_generation() -> None:
    h = Harness()
    entry = OffsetCommitEntry("t", 0, 1)
    assert commit(h, "g", "m", 1, entry) == [GroupError.ILLEGAL_GENERATION]
    assert commit(h, "g", "m", 1, entry, unknown_group_error=GroupError.GROUP_ID_NOT_FOUND) == [
        GroupError.GROUP_ID_NOT_FOUND
    ]
    assert "g" not in h.coordinator.groups
    assert commit(h, "", "", -1, entry) == [GroupError.INVALID_GROUP_ID]


def test_commit_validation_against_a_live_group() -> None:
    h = Harness()
    leader, follower = h.stable_group(2)
    gen = h.generation()
    entry = OffsetCommitEntry("t", 0, 10)
    assert commit(h, "g", follower, gen, entry) == [OK]
    assert commit(h, "g", "stranger", gen, entry) == [GroupError.UNKNOWN_MEMBER_ID]
    assert commit(h, "g", follower, gen - 1, entry) == [GroupError.ILLEGAL_GENERATION]
    assert commit(h, "g", "", -1, entry) == [GroupError.UNKNOWN_MEMBER_ID]
    # PreparingRebalance still accepts commits of the current generation.
    h.new_member()
    assert commit(h, "g", follower, gen, entry) == [OK]
    h.join(leader)
    h.join(follower)
    assert h.state() == "CompletingRebalance"
    new_gen = h.generation()
    assert commit(h, "g", follower, new_gen, entry) == [GroupError.REBALANCE_IN_PROGRESS]


def test_commit_from_static_member_with_stale_id_is_fenced() -> None:
    h = Harness()
    first = h.join(instance_id="i")
    h.clock.advance(0)
    member = first.join.member_id
    entry = OffsetCommitEntry("t", 0, 1)
    errors = commit(h, "g", "old", 1, entry, group_instance_id="i")
    assert errors == [GroupError.FENCED_INSTANCE_ID]
    assert commit(h, "g", member, 1, entry, group_instance_id="nope") == [
        GroupError.UNKNOWN_MEMBER_ID
    ]


def test_metadata_too_large() -> None:
    h = Harness(offset_metadata_max_bytes=10)
    errors = commit(
        h, "g", "", -1, OffsetCommitEntry("t", 0, 1, -1, "x" * 11), OffsetCommitEntry("t", 1, 2)
    )
    assert errors == [GroupError.OFFSET_METADATA_TOO_LARGE, OK]
    assert [e.offset for e in h.coordinator.fetch_offsets("g", None)] == [2]


def test_offset_delete() -> None:
    h = Harness()
    a, _ra = h.new_member(protocols=(("range", subscription("t")),))
    h.clock.advance(0)
    h.sync(a, 1, ((a, b""),))
    commit(h, "g", a, 1, OffsetCommitEntry("t", 0, 1), OffsetCommitEntry("u", 0, 2))
    top, parts = h.coordinator.delete_offsets("g", [("t", 0), ("u", 0)])
    assert top is OK
    assert [e for _, _, e in parts] == [GroupError.GROUP_SUBSCRIBED_TO_TOPIC, OK]
    assert [(e.topic, e.offset) for e in h.coordinator.fetch_offsets("g", None)] == [("t", 1)]
    assert h.coordinator.delete_offsets("nope", [("t", 0)])[0] is GroupError.GROUP_ID_NOT_FOUND
    h.coordinator.leave("g", [(a, None)])
    assert h.state() == "Empty"
    top, parts = h.coordinator.delete_offsets("g", [("t", 0)])
    assert parts == [("t", 0, OK)]
    assert h.coordinator.fetch_offsets("g", None) == []


def test_offset_delete_on_a_non_consumer_group_that_is_active() -> None:
    h = Harness()
    h.new_member(protocol_type="connect")
    h.clock.advance(0)
    assert h.coordinator.delete_offsets("g", [("t", 0)])[0] is GroupError.NON_EMPTY_GROUP


def test_delete_groups() -> None:
    h = Harness()
    h.stable_group(1, group="busy")
    commit(h, "idle", "", -1, OffsetCommitEntry("t", 0, 1))
    assert h.coordinator.delete_groups(["busy", "idle", "nope", ""]) == [
        ("busy", GroupError.NON_EMPTY_GROUP),
        ("idle", OK),
        ("nope", GroupError.GROUP_ID_NOT_FOUND),
        ("", GroupError.INVALID_GROUP_ID),
    ]
    assert h.coordinator.fetch_offsets("idle", None) == []
    assert [g.group_id for g in h.coordinator.list_groups()] == ["busy"]


def test_list_groups_filters() -> None:
    h = Harness()
    h.stable_group(1, group="stable")
    commit(h, "empty", "", -1, OffsetCommitEntry("t", 0, 1))
    h.new_member(group="preparing")
    names = lambda groups: sorted(g.group_id for g in groups)  # noqa: E731
    assert names(h.coordinator.list_groups()) == ["empty", "preparing", "stable"]
    assert names(h.coordinator.list_groups(states=["stable", "EMPTY"])) == ["empty", "stable"]
    assert names(h.coordinator.list_groups(types=["Classic"])) == ["empty", "preparing", "stable"]
    assert h.coordinator.list_groups(types=["consumer"]) == []
    assert {g.group_type for g in h.coordinator.list_groups()} == {"classic"}


def test_describe_group() -> None:
    h = Harness()
    meta = subscription("t") + b"\xff\x00"
    a, _ra = h.new_member(protocols=(("range", meta), ("roundrobin", b"rr")), client_id="cli")
    h.clock.advance(0)
    preparing = h.coordinator.describe_group("g")
    assert preparing.state == "CompletingRebalance" and preparing.protocol == ""
    assert preparing.members[0].metadata == b"" and preparing.members[0].assignment == b""
    h.sync(a, 1, ((a, b"\x00assignment\xff"),))
    d = h.coordinator.describe_group("g")
    assert (d.state, d.protocol_type, d.protocol) == ("Stable", "consumer", "range")
    [m] = d.members
    assert (m.member_id, m.client_id, m.client_host) == (a, "cli", "/127.0.0.1")
    assert m.metadata == meta and m.assignment == b"\x00assignment\xff"
    missing = h.coordinator.describe_group("nope")
    assert (missing.error, missing.state, missing.members) == (OK, "Dead", ())


def test_retention_expires_offsets_of_groups_empty_long_enough() -> None:
    h = Harness(offsets_retention_minutes=1, offsets_retention_check_interval_ms=10_000)
    h.coordinator.start()
    commit(h, "offsets-only", "", -1, OffsetCommitEntry("t", 0, 1))
    [a] = h.stable_group(1, group="active")
    commit(h, "active", a, h.generation("active"), OffsetCommitEntry("t", 0, 7))
    for _ in range(24):
        h.clock.advance(5_000)
        h.coordinator.heartbeat("active", a, h.generation("active"))
    assert "offsets-only" not in h.coordinator.groups
    assert [e.offset for e in h.coordinator.fetch_offsets("active", None)] == [7]
    h.coordinator.leave("active", [(a, None)])
    assert h.state("active") == "Empty"
    h.clock.advance(50_000)
    assert "active" in h.coordinator.groups
    h.clock.advance(20_000)
    assert "active" not in h.coordinator.groups
    h.coordinator.close()


def test_offsets_of_deleted_partitions_are_forgotten() -> None:
    h = Harness()
    commit(h, "g", "", -1, OffsetCommitEntry("kept", 0, 1), OffsetCommitEntry("gone", 0, 2))
    h.coordinator.forget_partitions("g", lambda topic, _partition: topic != "gone")
    assert [e.topic for e in h.coordinator.fetch_offsets("g", None)] == ["kept"]
    h.coordinator.forget_partitions("nope", lambda _t, _p: False)


def test_config_from_kafka_setting_names() -> None:
    config = CoordinatorConfig.from_settings(
        {
            "group.initial.rebalance.delay.ms": "0",
            "group.min.session.timeout.ms": 1000,
            "offsets.retention.minutes": "5",
            "num.partitions": "3",
        }
    )
    assert config.initial_rebalance_delay_ms == 0
    assert config.min_session_timeout_ms == 1000
    assert config.offsets_retention_minutes == 5
    assert config.max_session_timeout_ms == 1_800_000
