"""Produce v13 (KIP-516) names topics by id: the request seen by name, the ids to answer with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .topic_ids import ZERO_ID

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

PRODUCE_TOPIC_IDS = 13


@dataclass(frozen=True, slots=True)
class NamedTopic:
    """A request's topic entry with its name (and its id, the zero id below v13)."""

    name: str
    topic_id: uuid.UUID
    partition_data: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class NamedProduce:
    """The fields of a ProduceRequest the handler reads, every topic named; the entries whose
    id this broker does not know are set apart in ``unknown`` (id, partition indexes)."""

    transactional_id: str | None
    acks: int
    timeout: Any
    topic_data: tuple[NamedTopic, ...]
    unknown: tuple[tuple[uuid.UUID, tuple[int, ...]], ...]


def by_name(state: BrokerState, request: Any, version: int) -> Any:
    """``request`` itself below v13; from v13 the same request with each id made a name."""
    if version < PRODUCE_TOPIC_IDS:
        return request
    named: list[NamedTopic] = []
    unknown: list[tuple[uuid.UUID, tuple[int, ...]]] = []
    for topic in request.topic_data:
        topic_id = topic.topic_id or ZERO_ID
        info = state.registry.by_id.get(topic_id)
        if info is None:
            unknown.append((topic_id, tuple(int(p.index) for p in topic.partition_data)))
        else:
            named.append(NamedTopic(info.name, topic_id, tuple(topic.partition_data)))
    return NamedProduce(
        request.transactional_id, request.acks, request.timeout, tuple(named), tuple(unknown)
    )


def unknown_ids(request: Any) -> tuple[tuple[uuid.UUID, tuple[int, ...]], ...]:
    """The (id, partition indexes) entries of a v13 request no topic here has."""
    return request.unknown if isinstance(request, NamedProduce) else ()


def answer_ids(request: Any) -> list[uuid.UUID] | None:
    """The ids a v13 answer names its topics with, in the handler's order (named topics, then
    unknown ones); None below v13, where the answer names topics."""
    if not isinstance(request, NamedProduce):
        return None
    return [t.topic_id for t in request.topic_data] + [tid for tid, _ in request.unknown]
