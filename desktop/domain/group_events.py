"""Consumer-group changes between two polls of the group list, as timeline events."""

from __future__ import annotations

from collections.abc import Mapping

from desktop.domain.groups import GroupState, GroupSummary
from desktop.domain.timeline import ClusterEvent, EventKind

LAG_THRESHOLD = 1000  # total lag (messages) whose crossing is an event
REBALANCING = frozenset({GroupState.PREPARING_REBALANCE, GroupState.COMPLETING_REBALANCE})


def _members(ids: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return dict(ids)


def diff_groups(
    old: Mapping[str, GroupSummary],
    new: Mapping[str, GroupSummary],
    at: float,
    lag_threshold: int = LAG_THRESHOLD,
) -> list[ClusterEvent]:
    """Every change of a group present in both polls: state, rebalance, members, lag.

    A poll sees a group's state only at its own instants, so a rebalance shorter than the poll
    interval shows no PreparingRebalance; a changed member set under an unchanged state is
    reported as a rebalance that completed between the two polls. Groups created or deleted
    between the polls are not events (as with topics)."""
    events: list[ClusterEvent] = []
    for gid in sorted(old.keys() & new.keys()):
        a, b = old[gid], new[gid]
        if a is not b:  # a refresh hands back an unchanged group as the very same object
            events.extend(_group_events(a, b, at, lag_threshold))
    return events


def _group_events(
    a: GroupSummary, b: GroupSummary, at: float, threshold: int
) -> list[ClusterEvent]:
    subject = f"group {b.group_id}"
    out: list[ClusterEvent] = []

    def add(kind: EventKind, detail: str) -> None:
        out.append(ClusterEvent(at, kind, subject, detail))

    moved = f"{a.state} → {b.state}"
    if a.state != b.state:
        if b.state in REBALANCING and a.state not in REBALANCING:
            add(EventKind.REBALANCE_STARTED, f"rebalance started ({moved})")
        elif a.state in REBALANCING and b.state not in REBALANCING:
            add(EventKind.REBALANCE_COMPLETED, f"rebalance ended ({moved})")
        else:
            add(EventKind.GROUP_STATE, f"state {moved}")
    if a.described and b.described:
        before, after = _members(a.member_ids), _members(b.member_ids)
        joined = sorted(after.keys() - before.keys())
        left = sorted(before.keys() - after.keys())
        for mid in joined:
            add(EventKind.MEMBER_JOINED, f"member joined: {after[mid] or '?'} ({mid})")
        for mid in left:
            add(EventKind.MEMBER_LEFT, f"member left: {before[mid] or '?'} ({mid})")
        if (joined or left) and a.state == b.state and b.state not in REBALANCING:
            add(
                EventKind.REBALANCE_COMPLETED,
                f"rebalanced between two polls: members {len(before)} → {len(after)}",
            )
    la, lb = a.total_lag, b.total_lag
    if la is not None and lb is not None:
        if la <= threshold < lb:
            add(EventKind.LAG_ABOVE, f"total lag {lb:,} is above {threshold:,} (was {la:,})")
        elif lb <= threshold < la:
            add(EventKind.LAG_BELOW, f"total lag {lb:,} is back at or below {threshold:,}")
    return out
