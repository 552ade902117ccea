"""Server-side assignors of the consumer group protocol (KIP-848): uniform and range.

An assignor maps the group's members (their subscriptions and current target assignment) and
the subscribed topics' partition counts to a new target assignment. Both keep what they can of
the previous target so a rebalance moves as few partitions as possible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# member id -> topic -> partitions
Assignment = dict[str, dict[str, set[int]]]


@dataclass(frozen=True, slots=True)
class MemberSpec:
    """What an assignor knows of one member."""

    subscribed: frozenset[str]
    current: Mapping[str, frozenset[int]]


def _empty(members: Mapping[str, MemberSpec]) -> Assignment:
    return {m: {} for m in members}


def uniform(members: Mapping[str, MemberSpec], partitions: Mapping[str, int]) -> Assignment:
    """Kafka's UniformAssignor: every member gets as even a share as its subscriptions allow,
    keeping its current partitions while it stays within its share (sticky)."""
    result = _empty(members)
    if not members:
        return result
    # The members that may take each topic's partitions (one tuple shared by the partitions).
    subscribers = {
        t: tuple(sorted(m for m, spec in members.items() if t in spec.subscribed))
        for t in sorted(partitions)
    }
    wanted = [(t, p) for t, ms in subscribers.items() if ms for p in range(partitions[t])]
    # Each member's fair share of the partitions it may take (equal for homogeneous groups).
    share = {}
    for m, spec in members.items():
        mine = [t for t in subscribers if t in spec.subscribed]
        total = sum(partitions[t] for t in mine)
        competitors = sum(partitions[t] * len(subscribers[t]) for t in mine)
        share[m] = -(-total * total // competitors) if competitors else 0
    current = {
        (t, p): m for m, spec in members.items() for t, ps in spec.current.items() for p in ps
    }
    counts = dict.fromkeys(members, 0)
    owner: dict[tuple[str, int], str] = {}
    unassigned: list[tuple[str, int]] = []
    for tp in wanted:
        keeper = current.get(tp)
        if (
            keeper is None
            or tp[0] not in members[keeper].subscribed
            or counts[keeper] >= share[keeper]
        ):
            unassigned.append(tp)
            continue
        owner[tp] = keeper
        counts[keeper] += 1
    for tp in unassigned:
        target = min(subscribers[tp[0]], key=lambda m: (counts[m], m))
        owner[tp] = target
        counts[target] += 1
    _balance(owner, counts, subscribers)
    for (t, p), m in owner.items():
        result[m].setdefault(t, set()).add(p)
    return result


def _balance(
    owner: dict[tuple[str, int], str],
    counts: dict[str, int],
    subscribers: Mapping[str, tuple[str, ...]],
) -> None:
    """Move partitions from the most to the least loaded member while that evens them out."""
    moved = True
    while moved:
        moved = False
        for tp, current in owner.items():
            lightest = min(subscribers[tp[0]], key=lambda m: (counts[m], m))
            if counts[current] - counts[lightest] > 1:
                owner[tp] = lightest
                counts[current] -= 1
                counts[lightest] += 1
                moved = True


def range_(members: Mapping[str, MemberSpec], partitions: Mapping[str, int]) -> Assignment:
    """Kafka's RangeAssignor: per topic, its subscribers (by member id) take contiguous ranges,
    the first ones one partition more when the count does not divide evenly."""
    result = _empty(members)
    for topic in sorted(partitions):
        subscribers = sorted(m for m, spec in members.items() if topic in spec.subscribed)
        if not subscribers:
            continue
        quota, extra = divmod(partitions[topic], len(subscribers))
        start = 0
        for i, m in enumerate(subscribers):
            size = quota + (1 if i < extra else 0)
            if size:
                result[m][topic] = set(range(start, start + size))
            start += size
    return result


ASSIGNORS = {"uniform": uniform, "range": range_}
DEFAULT_ASSIGNOR = "uniform"
