"""Group state records (what the journal stores) and `replay`, the one way they change state.

A record is applied by the same `replay` when an operation appends it and when the broker loads
the journal, so what a restart rebuilds is what the running broker had. Kinds, as Kafka's
__consumer_offsets keys: "group" (GroupMetadata: protocol type, generation, protocol, leader, the
time the group entered its state and, from a completed rebalance, every member with its ids,
client, timeouts, protocols and assignment), "gdel" (group tombstone), "offset" and "odel".
"""

from __future__ import annotations

import base64
from typing import Any

from .group import ClassicGroup, CommittedOffset, Member, subscribed_topics
from .journal import Record
from .state import GroupState


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any) -> bytes:
    return base64.b64decode(str(text)) if text else b""


def group_record(group: ClassicGroup) -> Record:
    """GroupMetadata of the group as it is now (members only with their last assignment)."""
    return {
        "t": "group",
        "g": group.group_id,
        "type": group.protocol_type,
        "gen": group.generation,
        "proto": group.protocol_name,
        "leader": group.leader_id,
        "since": group.state_since_ms,
        "members": [
            {
                "id": m.member_id,
                "iid": m.group_instance_id,
                "cid": m.client_id,
                "host": m.client_host,
                "st": m.session_timeout_ms,
                "rt": m.rebalance_timeout_ms,
                "protos": [[name, _b64(meta)] for name, meta in m.protocols],
                "asg": _b64(m.assignment),
            }
            for m in group.members.values()
        ],
    }


def offset_record(group_id: str, topic: str, partition: int, o: CommittedOffset) -> Record:
    return {
        "t": "offset",
        "g": group_id,
        "tp": topic,
        "p": partition,
        "o": o.offset,
        "e": o.leader_epoch,
        "m": o.metadata,
        "ts": o.commit_ms,
    }


def offset_tombstone(group_id: str, topic: str, partition: int) -> Record:
    return {"t": "odel", "g": group_id, "tp": topic, "p": partition}


def group_tombstone(group_id: str) -> Record:
    return {"t": "gdel", "g": group_id}


def replay(groups: dict[str, ClassicGroup], r: Record, now_ms: int) -> None:
    """Apply one record to the group table. Idempotent on a live group the record describes."""
    kind, group_id = r.get("t"), str(r.get("g"))
    if kind == "gdel":
        groups.pop(group_id, None)
        return
    group = groups.get(group_id)
    if group is None:
        # Dated by its group record; a group known only by its offsets has no state time
        # (its offsets expire by their commit time), so every load gives the same group.
        group = groups[group_id] = ClassicGroup(group_id, GroupState.EMPTY, 0)
    if kind == "group":
        _replay_group(group, r, now_ms)
    elif kind == "offset":
        group.offsets[(str(r["tp"]), int(r["p"]))] = CommittedOffset(
            int(r["o"]), int(r.get("e", -1)), r.get("m"), int(r.get("ts", 0))
        )
    elif kind == "odel":
        group.offsets.pop((str(r["tp"]), int(r["p"])), None)


def _replay_group(group: ClassicGroup, r: Record, now_ms: int) -> None:
    group.stored = r
    group.protocol_type = r.get("type")
    group.generation = int(r.get("gen", 0))
    group.state_since_ms = int(r.get("since", now_ms))  # older records have no time
    if "members" not in r:
        return  # written before members were kept: the group comes back empty
    group.protocol_name = r.get("proto")
    members: dict[str, Member] = {}
    for m in r["members"]:
        member_id = str(m["id"])
        member = group.members.pop(member_id, None)
        if member is None:
            member = Member(member_id, None, "", "", 0, 0, "", ())
        member.group_instance_id = m.get("iid")
        member.client_id = str(m.get("cid", ""))
        member.client_host = str(m.get("host", ""))
        member.session_timeout_ms = int(m["st"])
        member.rebalance_timeout_ms = int(m["rt"])
        member.protocol_type = group.protocol_type or ""
        member.protocols = tuple((str(name), _unb64(meta)) for name, meta in m["protos"])
        member.assignment = _unb64(m.get("asg"))
        members[member_id] = member
    for gone in group.members.values():
        if gone.heartbeat_timer is not None:
            gone.heartbeat_timer.cancel()
    group.members = members
    group.static_members = {
        m.group_instance_id: m.member_id
        for m in members.values()
        if m.group_instance_id is not None
    }
    group.leader_id = r.get("leader") if members else None
    group.subscribed_topics = subscribed_topics(group)
