"""Share groups' own settings (Kafka's group configs, resource type GROUP): each overrides a
broker-wide group.share.* default for one group, e.g. share.auto.offset.reset=earliest.

Kafka 4.3.1 keeps group configs in its metadata log; here they are saved with the group's
share-group state. Only the share.* keys this broker honours are accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .offset_reset import kept as reset_kept
from .offset_reset import problem


@dataclass(frozen=True, slots=True)
class GroupKey:
    name: str
    broker_default: str | None  # the broker setting that gives the default, if any
    default: str  # the default when there is no broker setting
    check: Callable[[str], str | None]
    doc: str


def _int_between(low: int, high: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        try:
            number = int(value)
        except ValueError:
            return f"Invalid value {value}: not a number"
        if not low <= number <= high:
            return f"Invalid value {value}: must be between {low} and {high}"
        return None

    return check


def _isolation(value: str) -> str | None:
    if value.lower() in ("read_committed", "read_uncommitted"):
        return None
    return f"Invalid value {value}: share.isolation.level is read_committed or read_uncommitted"


# how a value is saved: these keys' words in lower case (a duration as given)
_NORMALISED = {"share.auto.offset.reset": reset_kept, "share.isolation.level": str.lower}

# Kafka 4.3.1's bounds: the broker's group.share.min/max.* defaults.
GROUP_KEYS: dict[str, GroupKey] = {
    k.name: k
    for k in (
        GroupKey(
            "share.auto.offset.reset",
            None,
            "latest",
            problem,
            "Where a share group starts reading a partition it has no state for: latest, "
            "earliest, or by_duration:<ISO-8601 duration> (the first record no older than it).",
        ),
        GroupKey(
            "share.isolation.level",
            None,
            "read_uncommitted",
            _isolation,
            "Which records a share group is delivered: read_uncommitted (all) or "
            "read_committed (those of committed transactions, up to the last stable offset).",
        ),
        GroupKey(
            "share.record.lock.duration.ms",
            "group.share.record.lock.duration.ms",
            "30000",
            _int_between(1000, 3_600_000),
            "How long a member holds records it fetched before they are delivered again.",
        ),
        GroupKey(
            "share.delivery.count.limit",
            "group.share.delivery.count.limit",
            "5",
            _int_between(2, 10),
            "How many times a record is delivered before it is archived.",
        ),
        GroupKey(
            "share.partition.max.record.locks",
            "group.share.partition.max.record.locks",
            "2000",
            _int_between(100, 4000),
            "Most records of a share-partition in flight.",
        ),
        GroupKey(
            "share.session.timeout.ms",
            "group.share.session.timeout.ms",
            "45000",
            _int_between(45000, 60000),
            "Session timeout of the group's members.",
        ),
        GroupKey(
            "share.heartbeat.interval.ms",
            "group.share.heartbeat.interval.ms",
            "5000",
            _int_between(5000, 15000),
            "Heartbeat interval given to the group's members.",
        ),
    )
}


def validate(new: dict[str, str | None]) -> tuple[dict[str, str], str | None]:
    """The overrides to keep, or an error message as Kafka words them."""
    unknown = sorted(k for k in new if k not in GROUP_KEYS)
    if unknown:
        return {}, f"Unknown group config name: {', '.join(unknown)}"
    kept: dict[str, str] = {}
    for name, value in new.items():
        if value is None:
            return {}, f"Invalid value null for configuration {name}"
        problem = GROUP_KEYS[name].check(value)
        if problem is not None:
            return {}, f"{problem} for configuration {name}"
        kept[name] = _NORMALISED.get(name, str)(value)
    return kept, None
