"""Share group membership as __consumer_offsets records ("sgroup", "sgdel") and their replay.

Kafka's group coordinator writes a share group's metadata, members, target assignment and each
member's current assignment (ShareGroupMetadata, ShareGroupMemberMetadata,
ShareGroupTargetAssignmentMetadata/Member, ShareGroupCurrentMemberAssignment) to the group's
__consumer_offsets partition, so a coordinator that takes the partition over knows the group's
members and epochs. As for consumer groups (coordinator.consumer_records) this broker folds them
into one snapshot record per group, written whenever that snapshot changes; heartbeat deadlines
are not in it: a loaded member's session starts when its partition is loaded (Kafka's load).
"""

from __future__ import annotations

from typing import Any

from embedded_broker.coordinator.framing import Record

from .groups import Partitions, ShareGroup, ShareGroups, ShareMember

KINDS = frozenset({"sgroup", "sgdel"})


def _parts(p: Partitions) -> dict[str, list[int]]:
    return {t: sorted(ps) for t, ps in sorted(p.items()) if ps}


def _unparts(raw: Any) -> Partitions:
    return {str(t): frozenset(int(p) for p in ps) for t, ps in (raw or {}).items() if ps}


def share_group_record(group: ShareGroup) -> Record:
    return {
        "t": "sgroup",
        "g": group.group_id,
        "epoch": group.epoch,
        "aepoch": group.assignment_epoch,
        "sizes": dict(sorted(group.topic_sizes.items())),
        "members": [
            {
                "id": m.member_id,
                "ep": m.epoch,
                "topics": list(m.subscribed),
                "cid": m.client_id,
                "host": m.client_host,
                "rack": m.rack_id,
                "own": _parts(m.assigned),
            }
            for m in sorted(group.members.values(), key=lambda m: m.member_id)
        ],
    }


def share_group_tombstone(group_id: str) -> Record:
    return {"t": "sgdel", "g": group_id}


def group_of(r: Record, deadline_ms: int, deadlines: dict[str, int] | None = None) -> ShareGroup:
    """The group a snapshot record describes; each member's session deadline is its entry in
    ``deadlines``, else ``deadline_ms``."""
    group = ShareGroup(
        str(r["g"]),
        epoch=int(r["epoch"]),
        assignment_epoch=int(r["aepoch"]),
        topic_sizes={str(t): int(n) for t, n in r.get("sizes", {}).items()},
    )
    for raw in r.get("members", ()):
        member_id = str(raw["id"])
        group.members[member_id] = ShareMember(
            member_id=member_id,
            epoch=int(raw["ep"]),
            subscribed=tuple(str(t) for t in raw.get("topics", ())),
            client_id=str(raw.get("cid", "")),
            client_host=str(raw.get("host", "")),
            rack_id=raw.get("rack"),
            deadline_ms=(deadlines or {}).get(member_id, deadline_ms),
            assigned=_unparts(raw.get("own")),
        )
    return group


def replay_share(groups: ShareGroups, r: Record, deadline_ms: int) -> None:
    """Apply one record; every member it names gets ``deadline_ms`` as its session deadline."""
    group_id = str(r.get("g"))
    if r.get("t") == "sgdel":
        groups.groups.pop(group_id, None)
        groups.stored.pop(group_id, None)
        groups.committed.pop(group_id, None)
        return
    group = groups.groups[group_id] = group_of(r, deadline_ms)
    groups.stored[group_id] = share_group_record(group)
    groups.committed[group_id] = (0, groups.stored[group_id])  # read back: in the log


def revert(groups: ShareGroups, group_id: str, now_ms: int) -> None:
    """Undo what an operation changed in memory whose records could not be appended: back to
    the group's last snapshot in the log (gone if it has none), as Kafka's coordinator reverts
    to its last written offset. Members still in memory keep their session deadlines; one
    that comes back (its removal was not written) is due now, so it is removed again."""
    before = groups.stored.get(group_id)
    if before is None:
        groups.groups.pop(group_id, None)
        return
    current = groups.groups.get(group_id)
    deadlines = {m.member_id: m.deadline_ms for m in current.members.values()} if current else {}
    groups.groups[group_id] = group_of(before, now_ms, deadlines)


def committed_view(groups: ShareGroups, group_id: str, now_ms: int) -> ShareGroup | None:
    """The group as of its last snapshot the high watermark covers (None if there is none)."""
    found = groups.committed.get(group_id)
    if found is None or found[1] is None:
        return None
    current = groups.groups.get(group_id)
    deadlines = {m.member_id: m.deadline_ms for m in current.members.values()} if current else {}
    return group_of(found[1], now_ms, deadlines)


def changed(groups: ShareGroups) -> list[Record]:
    """The records that bring the stored snapshots up to date with the groups in memory."""
    out = [
        record
        for group in groups.groups.values()
        if (record := share_group_record(group)) != groups.stored.get(group.group_id)
    ]
    out.extend(share_group_tombstone(g) for g in groups.stored if g not in groups.groups)
    return out
