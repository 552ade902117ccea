"""What only the newer group APIs tell: group types, KIP-848 epochs and target assignments,
share groups and their share-partition start offsets and lag (over kio_wire). Blocking; no Qt."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from desktop.domain.groups import MemberInfo
from desktop.services.kio_wire import KioWire, WireUnavailableError, request_type

CONSUMER_DESCRIBE, SHARE_DESCRIBE, SHARE_OFFSETS = 69, 77, 90
Key = tuple[str, int]


@dataclass(frozen=True)
class Described:
    """One consumer or share group as its coordinator describes it."""

    state: str
    group_epoch: int
    assignment_epoch: int
    assignor: str
    members: tuple[MemberInfo, ...]


@dataclass(frozen=True)
class ListedGroup:
    group_id: str
    state: str
    protocol_type: str
    group_type: str  # classic / consumer / share; "" from brokers before ListGroups v5


def list_groups(wire: KioWire) -> list[ListedGroup]:
    return [
        ListedGroup(
            str(g["group_id"]),
            str(g.get("group_state") or ""),
            str(g.get("protocol_type") or ""),
            str(g.get("group_type") or "").lower(),
        )
        for g in wire.list_groups()
    ]


def _parts(assignment: Any) -> tuple[tuple[str, int], ...]:
    if assignment is None:
        return ()
    return tuple(
        sorted(
            (str(t.topic_name), int(p)) for t in assignment.topic_partitions for p in t.partitions
        )
    )


def _checked(group: Any, group_id: str) -> Any:
    code = int(group.error_code)
    if code:
        text = group.error_message or getattr(group.error_code, "name", str(code))
        raise WireUnavailableError(f"the coordinator of '{group_id}' answered {text}")
    return group


def describe_consumer_group(wire: KioWire, group_id: str) -> Described:
    """ConsumerGroupDescribe: epochs, and each member's epoch, assignment and target."""
    version = wire.version(CONSUMER_DESCRIBE, range(0, 2))
    body = request_type(CONSUMER_DESCRIBE, version)(
        group_ids=(group_id,), include_authorized_operations=False
    )
    response = wire.to_coordinator(group_id, body, lambda r: r.groups[0].error_code)
    g = _checked(response.groups[0], group_id)
    members = tuple(
        MemberInfo(
            member_id=m.member_id,
            client_id=m.client_id,
            host=m.client_host,
            assignment=_parts(m.assignment),
            instance_id=m.instance_id or "",
            target=_parts(m.target_assignment),
            member_epoch=int(m.member_epoch),
        )
        for m in g.members
    )
    return Described(
        g.group_state, int(g.group_epoch), int(g.assignment_epoch), g.assignor_name, members
    )


def describe_share_group(wire: KioWire, group_id: str) -> Described:
    """ShareGroupDescribe: state, epochs, members with their epochs and assignments."""
    version = wire.version(SHARE_DESCRIBE, range(1, 2))
    body = request_type(SHARE_DESCRIBE, version)(
        group_ids=(group_id,), include_authorized_operations=False
    )
    response = wire.to_coordinator(group_id, body, lambda r: r.groups[0].error_code)
    g = _checked(response.groups[0], group_id)
    members = tuple(
        MemberInfo(
            member_id=m.member_id,
            client_id=m.client_id,
            host=m.client_host,
            assignment=_parts(m.assignment),
            member_epoch=int(m.member_epoch),
        )
        for m in g.members
    )
    return Described(
        g.group_state, int(g.group_epoch), int(g.assignment_epoch), g.assignor_name, members
    )


def share_offsets(wire: KioWire, group_id: str) -> dict[Key, tuple[int, int | None]]:
    """DescribeShareGroupOffsets for every partition the group has state for:
    (share-partition start offset, lag); the lag is None before version 1 or when unknown."""
    version = wire.version(SHARE_OFFSETS, range(0, 2))
    # the nested group type lives beside the request type, in the version's module
    module = importlib.import_module(request_type(SHARE_OFFSETS, version).__module__)
    group_cls = module.DescribeShareGroupOffsetsRequestGroup
    body = request_type(SHARE_OFFSETS, version)(groups=(group_cls(group_id=group_id, topics=None),))
    response = wire.to_coordinator(group_id, body, lambda r: r.groups[0].error_code)
    g = _checked(response.groups[0], group_id)
    out: dict[Key, tuple[int, int | None]] = {}
    for t in g.topics:
        for p in t.partitions:
            if int(p.error_code) or int(p.start_offset) < 0:
                continue  # a partition the group has not started on yet
            lag = int(getattr(p, "lag", -1))
            out[(str(t.topic_name), int(p.partition_index))] = (
                int(p.start_offset),
                lag if lag >= 0 else None,
            )
    return out
