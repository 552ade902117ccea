"""A partition's replication state as the cluster metadata gives it to a broker."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PartitionState:
    """Leader, leader epoch, assigned replicas, in-sync replicas and the partition epoch
    (which every ISR change bumps, as KRaft's PartitionRecord/PartitionChangeRecord)."""

    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    partition_epoch: int
