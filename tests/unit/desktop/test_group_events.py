"""The groups poll's diff: state changes, rebalances, members and lag crossings as events."""

from __future__ import annotations

from desktop.domain.group_events import diff_groups
from desktop.domain.groups import GroupSummary, PartitionLag
from desktop.domain.timeline import EventKind


def group(
    state: str = "Stable",
    members: tuple[tuple[str, str], ...] = (("m1", "app-1"),),
    lag: int = 0,
    described: bool = True,
) -> GroupSummary:
    return GroupSummary(
        "g",
        state,
        "consumer",
        partitions=(PartitionLag("t", 0, 100 - lag, 100),),
        offsets_loaded=True,
        described=described,
        member_ids=members,
    )


def kinds(old: GroupSummary, new: GroupSummary, threshold: int = 1000) -> list[tuple[str, str]]:
    return [
        (e.kind.value, e.detail)
        for e in diff_groups({"g": old}, {"g": new}, 5.0, lag_threshold=threshold)
    ]


def test_unchanged_group_is_no_event() -> None:
    assert kinds(group(), group()) == []


def test_entering_and_leaving_rebalance() -> None:
    assert kinds(group(), group("PreparingRebalance")) == [
        (EventKind.REBALANCE_STARTED.value, "rebalance started (Stable → PreparingRebalance)")
    ]
    assert kinds(group("PreparingRebalance"), group("CompletingRebalance")) == [
        (EventKind.GROUP_STATE.value, "state PreparingRebalance → CompletingRebalance")
    ]
    assert kinds(group("CompletingRebalance"), group()) == [
        (EventKind.REBALANCE_COMPLETED.value, "rebalance ended (CompletingRebalance → Stable)")
    ]
    assert kinds(group(), group("Empty", members=())) == [
        (EventKind.GROUP_STATE.value, "state Stable → Empty"),
        (EventKind.MEMBER_LEFT.value, "member left: app-1 (m1)"),
    ]


def test_members_changing_under_a_stable_state_is_a_rebalance_between_polls() -> None:
    two = (("m1", "app-1"), ("m2", "app-2"))
    assert kinds(group(), group(members=two)) == [
        (EventKind.MEMBER_JOINED.value, "member joined: app-2 (m2)"),
        (EventKind.REBALANCE_COMPLETED.value, "rebalanced between two polls: members 1 → 2"),
    ]


def test_undescribed_groups_say_nothing_about_members() -> None:
    assert kinds(group(), group(members=(), described=False)) == []


def test_lag_crossing_the_threshold_both_ways() -> None:
    assert kinds(group(lag=10), group(lag=11), threshold=10) == [
        (EventKind.LAG_ABOVE.value, "total lag 11 is above 10 (was 10)")
    ]
    assert kinds(group(lag=50), group(lag=60), threshold=10) == []
    assert kinds(group(lag=60), group(lag=10), threshold=10) == [
        (EventKind.LAG_BELOW.value, "total lag 10 is back at or below 10")
    ]


def test_groups_in_only_one_poll_are_not_events() -> None:
    assert diff_groups({}, {"g": group()}, 1.0) == []
    assert diff_groups({"g": group()}, {}, 1.0) == []
