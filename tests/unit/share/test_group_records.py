"""Share group membership records: written to __consumer_offsets and replayed unchanged."""

from __future__ import annotations

from embedded_broker.coordinator.offsets_topic import decode, encode
from embedded_broker.share.group_records import changed, replay_share
from embedded_broker.share.groups import Heartbeat, ShareGroups, ShareLimits

LIMITS = ShareLimits()


def _join(groups: ShareGroups, member_id: str, now_ms: int = 0) -> int:
    answer = groups.heartbeat(
        Heartbeat("g", member_id, 0, None, ("jobs",), "cid", "/10.0.0.1"),
        lambda t: 3,
        LIMITS,
        now_ms,
    )
    return answer.member_epoch


def _through_the_topic(groups: ShareGroups, deadline_ms: int) -> ShareGroups:
    """A new coordinator's groups, replayed from what the old one wrote."""
    successor = ShareGroups(lambda g, m: None)
    for record in changed(groups):
        key, value = encode(record)
        found = decode(key, value)
        assert found is not None
        replay_share(successor, found, deadline_ms)
    return successor


def test_a_replayed_member_keeps_its_epoch_assignment_and_subscription() -> None:
    groups = ShareGroups(lambda g, m: None)
    _join(groups, "a")
    epoch = _join(groups, "b")

    successor = _through_the_topic(groups, deadline_ms=99_000)

    old, new = groups.groups["g"], successor.groups["g"]
    assert (new.epoch, new.assignment_epoch, new.topic_sizes) == (
        old.epoch,
        old.assignment_epoch,
        old.topic_sizes,
    )
    assert {m: (x.epoch, x.assigned, x.subscribed) for m, x in new.members.items()} == {
        m: (x.epoch, x.assigned, x.subscribed) for m, x in old.members.items()
    }
    assert {x.deadline_ms for x in new.members.values()} == {99_000}
    assert changed(successor) == []  # nothing to write again
    # the member heartbeats on with its epoch and is answered without a new assignment
    answer = successor.heartbeat(
        Heartbeat("g", "b", epoch, None, None, "cid", "/10.0.0.1"), lambda t: 3, LIMITS, 1_000
    )
    assert (answer.error, answer.member_epoch, answer.assignment) == (0, epoch, None)


def test_a_deleted_group_is_written_as_a_tombstone_and_stays_deleted() -> None:
    groups = ShareGroups(lambda g, m: None)
    _join(groups, "a")
    for record in changed(groups):
        groups.stored[str(record["g"])] = record
    groups.groups["g"].members.clear()
    groups.remove_group("g")

    (tombstone,) = changed(groups)
    key, value = encode(tombstone)
    assert value is None
    successor = ShareGroups(lambda g, m: None)
    replay_share(successor, {**groups.stored["g"]}, 0)
    found = decode(key, value)
    assert found is not None
    replay_share(successor, found, 0)
    assert successor.groups == {}
