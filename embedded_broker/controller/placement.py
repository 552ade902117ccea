"""Kafka's replica placement: round-robin over brokers, rack-aware when every broker has a rack."""

from __future__ import annotations

import random
from collections.abc import Sequence


class PlacementError(ValueError):
    """The replicas cannot be placed (too few brokers)."""


def _rack_alternated(brokers: Sequence[tuple[int, str]]) -> list[int]:
    # brokers of each rack in id order, taken one rack at a time: a, b, c, a, b, c, ...
    by_rack: dict[str, list[int]] = {}
    for broker_id, rack in sorted(brokers):
        by_rack.setdefault(rack, []).append(broker_id)
    racks = sorted(by_rack)
    out: list[int] = []
    depth = max(len(v) for v in by_rack.values())
    for i in range(depth):
        out.extend(by_rack[r][i] for r in racks if i < len(by_rack[r]))
    return out


def _replica_index(first: int, shift: int, index: int, count: int) -> int:
    return (first + 1 + (shift + index) % (count - 1)) % count


def assign_replicas(
    brokers: Sequence[tuple[int, str | None]],
    partitions: int,
    replication_factor: int,
    *,
    first_partition: int = 0,
    rng: random.Random | None = None,
) -> list[tuple[int, ...]]:
    """Replica lists for ``partitions`` partitions, leader first, as Kafka's AdminUtils places
    them: the first replica round-robin from a random start, the others shifted so that
    replicas spread, and, when every broker has a rack, no two replicas in one rack while
    another rack has none."""
    if replication_factor > len(brokers):
        raise PlacementError(
            f"Unable to replicate the partition {replication_factor} time(s): The target "
            f"replication factor of {replication_factor} cannot be reached because only "
            f"{len(brokers)} broker(s) are registered."
        )
    rng = rng or random.Random()
    count = len(brokers)
    start = rng.randrange(count)
    shift = rng.randrange(count)
    racked = [(b, r) for b, r in brokers if r is not None]
    if len(racked) < count:
        arranged = sorted(b for b, _ in brokers)
        rack_of = {b: str(b) for b in arranged}  # no racks: every broker its own
    else:
        arranged = _rack_alternated(racked)
        rack_of = dict(racked)
    num_racks = len(set(rack_of.values()))
    out: list[tuple[int, ...]] = []
    for current in range(first_partition, first_partition + partitions):
        if current > 0 and current % count == 0:
            shift += 1
        first = (current + start) % count
        replicas = [arranged[first]]
        if count == 1:
            out.append(tuple(replicas))
            continue
        racks = {rack_of[arranged[first]]}
        k = 0
        while len(replicas) < replication_factor:
            broker = arranged[_replica_index(first, shift * num_racks, k, count)]
            k += 1
            rack_ok = rack_of[broker] not in racks or len(racks) == num_racks
            if rack_ok and broker not in replicas:
                replicas.append(broker)
                racks.add(rack_of[broker])
        out.append(tuple(replicas))
    return out
