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
    counts = dict.fromkeys(members, 0)
    all_partitions = [(t, p) for t in sorted(partitions) for p in range(partitions[t])]
    eligible = {
        tp: sorted(m for m, spec in members.items() if tp[0] in spec.subscribed)
        for tp in all_partitions
    }
    wanted = [tp for tp in all_partitions if eligible[tp]]
    # Each member's fair share among the partitions it can take (equal for homogeneous groups).
    share = {
        m: -(-sum(1 for tp in wanted if m in eligible[tp]) // max(1, _sharers(m, eligible)))
        for m in members
    }
    unassigned: list[tuple[str, int]] = []
    for tp in wanted:
        keeper = next(
            (
                m
                for m in eligible[tp]
                if tp[1] in members[m].current.get(tp[0], ()) and counts[m] < share[m]
            ),
            None,
        )
        if keeper is None:
            unassigned.append(tp)
            continue
        result[keeper].setdefault(tp[0], set()).add(tp[1])
        counts[keeper] += 1
    for tp in unassigned:
        target = min(eligible[tp], key=lambda m: (counts[m], m))
        result[target].setdefault(tp[0], set()).add(tp[1])
        counts[target] += 1
    _balance(result, counts, eligible)
    return result


def _sharers(member: str, eligible: Mapping[tuple[str, int], list[str]]) -> int:
    """How many members compete, on average, for the partitions this member may take."""
    mine = [len(ms) for ms in eligible.values() if member in ms]
    return round(sum(mine) / len(mine)) if mine else 1


def _balance(
    result: Assignment, counts: dict[str, int], eligible: Mapping[tuple[str, int], list[str]]
) -> None:
    """Move partitions from the most to the least loaded member while that evens them out."""
    moved = True
    while moved:
        moved = False
        for tp, ms in eligible.items():
            owner = next((m for m in ms if tp[1] in result[m].get(tp[0], ())), None)
            if owner is None:
                continue
            lightest = min(ms, key=lambda m: (counts[m], m))
            if counts[owner] - counts[lightest] > 1:
                result[owner][tp[0]].discard(tp[1])
                if not result[owner][tp[0]]:
                    del result[owner][tp[0]]
                result[lightest].setdefault(tp[0], set()).add(tp[1])
                counts[owner] -= 1
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
