"""Kafka's round-robin replica placement, with and without racks."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from embedded_broker.controller.placement import PlacementError, assign_replicas


@pytest.mark.parametrize("seed", range(5))
def test_without_racks_leaders_and_replicas_spread_evenly(seed: int) -> None:
    brokers = [(101, None), (102, None), (103, None)]
    plan = assign_replicas(brokers, 6, 3, rng=random.Random(seed))
    assert all(sorted(r) == [101, 102, 103] for r in plan)
    assert Counter(r[0] for r in plan) == {101: 2, 102: 2, 103: 2}


@pytest.mark.parametrize("seed", range(5))
def test_with_racks_no_rack_holds_two_replicas_while_another_has_none(seed: int) -> None:
    racks = {101: "a", 102: "a", 103: "b", 104: "b", 105: "c", 106: "c"}
    plan = assign_replicas(list(racks.items()), 12, 3, rng=random.Random(seed))
    for replicas in plan:
        assert len(set(replicas)) == 3
        assert sorted(racks[b] for b in replicas) == ["a", "b", "c"]
    assert Counter(r[0] for r in plan) == dict.fromkeys(racks, 2)


def test_more_replicas_than_brokers_is_refused_with_kafkas_message() -> None:
    with pytest.raises(PlacementError, match="only 2 broker"):
        assign_replicas([(101, None), (102, None)], 1, 3)


def test_added_partitions_continue_the_round_robin() -> None:
    brokers = [(101, None), (102, None), (103, None)]
    first = assign_replicas(brokers, 3, 1, rng=random.Random(1))
    more = assign_replicas(brokers, 3, 1, first_partition=3, rng=random.Random(1))
    assert sorted(r[0] for r in first) == sorted(r[0] for r in more) == [101, 102, 103]
