"""JoinGroup and SyncGroup frames of a classic consumer group member (the "range" protocol),
at any version, for tests that drive a member by hand."""

from __future__ import annotations

from typing import Any

from .helpers_subscription import subscription
from .wire import WireClient, make, ms, request_module


def join(client: WireClient, version: int, group: str, topic: str, member_id: str = "") -> Any:
    """The JoinGroup answer for a member subscribed to ``topic``."""
    mod = request_module(11, version)
    protocol = make(mod.JoinGroupRequestProtocol, name="range", metadata=subscription(topic))
    request = make(
        mod.JoinGroupRequest,
        group_id=group,
        session_timeout=ms(10_000),
        rebalance_timeout=ms(10_000),
        member_id=member_id,
        group_instance_id=None,
        protocol_type="consumer",
        protocols=(protocol,),
        reason=None,
    )
    return client.send(request)


def sync(
    client: WireClient, version: int, group: str, member: tuple[str, int], assignment: bytes
) -> Any:
    """The SyncGroup answer for ``member`` (id, generation) giving itself ``assignment``."""
    mod = request_module(14, version)
    member_id, generation = member
    mine = make(mod.SyncGroupRequestAssignment, member_id=member_id, assignment=assignment)
    return client.send(
        make(
            mod.SyncGroupRequest,
            group_id=group,
            generation_id=generation,
            member_id=member_id,
            group_instance_id=None,
            protocol_type="consumer",
            protocol_name="range",
            assignments=(mine,),
        )
    )
