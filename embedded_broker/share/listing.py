"""Share groups as ListGroups lists them (type and protocol type "share")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from embedded_broker.coordinator.messages import ListedGroup

from .runtime import share_coordinator

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState


async def share_groups_listed(
    state: BrokerState, states: Iterable[str], types: Iterable[str]
) -> list[ListedGroup]:
    """The share groups that pass ListGroups' filters (which ignore case)."""
    type_filter = {t.lower() for t in types}
    if type_filter and "share" not in type_filter:
        return []
    state_filter = {s.lower() for s in states}
    share = await share_coordinator(state)
    share.groups.expire(state.now_ms())
    return [
        ListedGroup(g.group_id, "share", g.state(), "share")
        for g in share.groups.groups.values()
        if not state_filter or g.state().lower() in state_filter
    ]
