"""KIP-392's replica selection: which replica a consumer in a given rack reads from."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

RACK_AWARE_SELECTOR = "org.apache.kafka.common.replica.RackAwareReplicaSelector"

RackLookup = Callable[[int], str | None]


@dataclass(frozen=True, slots=True)
class ReplicaView:
    """What the leader knows of one replica when a consumer fetches (Kafka's ReplicaView)."""

    broker: int
    rack: str | None
    log_end_offset: int
    ms_since_caught_up: int


def select_rack_aware(
    client_rack: str, leader: ReplicaView, candidates: Iterable[ReplicaView]
) -> ReplicaView:
    """Kafka's RackAwareReplicaSelector: the leader if it shares the client's rack, else the
    replica there with the highest log end offset (then the most recently caught up), else
    the leader."""
    if not client_rack or leader.rack == client_rack:
        return leader
    in_rack = [c for c in candidates if c.rack == client_rack]
    if not in_rack:
        return leader
    return max(in_rack, key=lambda c: (c.log_end_offset, -c.ms_since_caught_up))
