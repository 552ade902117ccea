"""Topic ids in requests that name topics by id (OffsetCommit/OffsetFetch v10, Fetch v13+)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

ZERO_ID = uuid.UUID(int=0)


def topic_name(state: BrokerState, topic: Any, name_field: str = "name") -> str | None:
    """The topic an entry names: by name in older versions, by id in newer; None for an id
    this broker does not know."""
    name = getattr(topic, name_field, None)
    if name is not None:
        return str(name)
    info = state.registry.by_id.get(getattr(topic, "topic_id", ZERO_ID))
    return None if info is None else info.name


def topic_id(state: BrokerState, name: str) -> uuid.UUID:
    """The id of a topic by name; the zero id for one that does not exist (any more)."""
    info = state.registry.topics.get(name)
    return ZERO_ID if info is None else info.topic_id
