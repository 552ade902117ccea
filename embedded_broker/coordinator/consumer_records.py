"""Consumer group state records ("cgroup", "cgdel") and their replay.

As Kafka's ConsumerGroupMetadata, ConsumerGroupMemberMetadata, target assignment and current
assignment records, folded into one record per group written whenever the group changes (the
journal keeps the last one per group): group epoch, target assignment epoch, subscribed topic
metadata, and each member with its subscription, epochs, reconciliation state, assigned and
pending-revocation partitions and target assignment; a member that speaks the classic protocol
also has its session timeout and protocols (Kafka's ClassicMemberMetadata).
"""

from __future__ import annotations

import base64
from typing import Any

from .consumer_group import ClassicMetadata, ConsumerGroup, ConsumerMember, MemberState, Partitions
from .journal import Record

KINDS = frozenset({"cgroup", "cgdel"})


def _parts(p: Partitions) -> dict[str, list[int]]:
    return {t: sorted(ps) for t, ps in sorted(p.items()) if ps}


def _unparts(raw: Any) -> Partitions:
    return {str(t): {int(p) for p in ps} for t, ps in (raw or {}).items() if ps}


def _classic(meta: ClassicMetadata | None) -> dict[str, Any] | None:
    if meta is None:
        return None
    return {
        "st": meta.session_timeout_ms,
        "protos": [[name, base64.b64encode(data).decode()] for name, data in meta.protocols],
    }


def _unclassic(raw: Any) -> ClassicMetadata | None:
    if not raw:
        return None
    return ClassicMetadata(
        int(raw["st"]),
        tuple((str(name), base64.b64decode(str(data))) for name, data in raw.get("protos", ())),
    )


def consumer_group_record(group: ConsumerGroup) -> Record:
    return {
        "t": "cgroup",
        "g": group.group_id,
        "epoch": group.epoch,
        "aepoch": group.assignment_epoch,
        "meta": dict(sorted(group.metadata.items())),
        "members": [
            {
                "id": m.member_id,
                "iid": m.instance_id,
                "rack": m.rack_id,
                "cid": m.client_id,
                "host": m.client_host,
                "topics": list(m.subscribed_topics),
                "regex": m.subscribed_regex,
                "asg": m.server_assignor,
                "rt": m.rebalance_timeout_ms,
                "ep": m.epoch,
                "pep": m.previous_epoch,
                "st": m.state.value,
                "own": _parts(m.assigned),
                "rev": _parts(m.pending_revocation),
                "tgt": _parts(group.target.get(m.member_id, {})),
                **({"cls": _classic(m.classic)} if m.classic is not None else {}),
            }
            for m in group.members.values()
        ],
    }


def consumer_group_tombstone(group_id: str) -> Record:
    return {"t": "cgdel", "g": group_id}


def replay_consumer(groups: dict[str, ConsumerGroup], r: Record) -> None:
    """Apply one consumer group record; member objects (and their timers) are kept by id."""
    group_id = str(r.get("g"))
    if r.get("t") == "cgdel":
        gone = groups.pop(group_id, None)
        if gone is not None:
            for m in gone.members.values():
                m.cancel_timers()
        return
    group = groups.get(group_id)
    if group is None:
        group = groups[group_id] = ConsumerGroup(group_id)
    group.stored = r
    group.epoch = int(r["epoch"])
    group.assignment_epoch = int(r["aepoch"])
    group.metadata = {str(t): int(n) for t, n in r.get("meta", {}).items()}
    members: dict[str, ConsumerMember] = {}
    target: dict[str, Partitions] = {}
    for raw in r["members"]:
        member_id = str(raw["id"])
        m = group.members.pop(member_id, ConsumerMember(member_id))
        m.instance_id = raw.get("iid")
        m.rack_id = raw.get("rack")
        m.client_id = str(raw.get("cid", ""))
        m.client_host = str(raw.get("host", ""))
        m.subscribed_topics = tuple(str(t) for t in raw.get("topics", ()))
        m.subscribed_regex = raw.get("regex")
        m.server_assignor = raw.get("asg")
        m.rebalance_timeout_ms = int(raw.get("rt", 300_000))
        m.epoch = int(raw["ep"])
        m.previous_epoch = int(raw.get("pep", -1))
        m.state = MemberState(raw.get("st", MemberState.STABLE.value))
        m.assigned = _unparts(raw.get("own"))
        m.pending_revocation = _unparts(raw.get("rev"))
        m.classic = _unclassic(raw.get("cls"))
        members[member_id] = m
        target[member_id] = _unparts(raw.get("tgt"))
    for gone_member in group.members.values():
        gone_member.cancel_timers()
    group.members = members
    group.target = target
    group.static_members = {
        m.instance_id: m.member_id for m in members.values() if m.instance_id is not None
    }
