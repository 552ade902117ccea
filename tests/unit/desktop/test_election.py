"""What a preferred leader election would move, decided from leaders, replicas and ISRs."""

from __future__ import annotations

from desktop.domain.cluster import PartitionInfo
from desktop.domain.election import preferred_moves


def test_only_partitions_off_their_preferred_leader_are_listed_and_out_of_sync_ones_stay() -> None:
    parts = [
        PartitionInfo("t", 0, 1, (1, 2, 3), (1, 2, 3)),  # on its preferred leader
        PartitionInfo("t", 1, 3, (2, 3, 1), (3, 1, 2)),  # would move back to 2
        PartitionInfo("t", 2, 1, (3, 1, 2), (1, 2)),  # 3 is not in sync: stays
        PartitionInfo("t", 3, -1, (2, 1), (2,)),  # no leader, preferred in sync
    ]
    moves = preferred_moves(parts)
    assert [(m.partition, m.eligible) for m in moves] == [(1, True), (2, False), (3, True)]
    assert moves[0].note == "moves from broker 3 to broker 2"
    assert moves[1].note == "stays with broker 1: preferred broker 3 is not in sync"
    assert moves[2].note == "moves from no leader to broker 2"
