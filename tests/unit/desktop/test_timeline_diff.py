"""The snapshot diff behind the incident timeline, and the controller watch."""

from __future__ import annotations

from desktop.domain.cluster import BrokerInfo, ClusterSnapshot, PartitionInfo, TopicInfo
from desktop.domain.controller import KRAFT_HIDDEN, ControllerWatch
from desktop.domain.timeline import EventKind, diff_snapshots

B = {i: BrokerInfo(i, "localhost", 9090 + i) for i in (1, 2, 3)}


def snap(
    brokers: tuple[int, ...], parts: list[tuple[int, tuple[int, ...]]], t: float
) -> ClusterSnapshot:
    partitions = tuple(
        PartitionInfo("orders", i, leader, (1, 2, 3), isr) for i, (leader, isr) in enumerate(parts)
    )
    return ClusterSnapshot(
        "c", 1, tuple(B[b] for b in brokers), (TopicInfo("orders", partitions, min_isr=2),), 0, t
    )


def test_broker_death_gives_down_leader_moved_and_isr_shrank_on_its_partitions() -> None:
    old = snap((1, 2, 3), [(3, (3, 1, 2)), (1, (1, 2, 3)), (2, (2, 3, 1))], 10.0)
    new = snap((1, 2), [(1, (1, 2)), (1, (1, 2)), (2, (2, 1))], 15.0)
    events = diff_snapshots(old, new)
    kinds = [(e.kind, e.subject) for e in events]
    assert kinds[0] == (EventKind.BROKER_DOWN, "broker 3")
    assert (EventKind.LEADER_MOVED, "orders-0") in kinds
    moved = next(e for e in events if e.kind is EventKind.LEADER_MOVED)
    assert moved.detail == "leader moved from broker 3 to broker 1"
    assert moved.partition == 0 and moved.topic == "orders"
    shrank = {e.subject for e in events if e.kind is EventKind.ISR_SHRANK}
    assert shrank == {"orders-0", "orders-1", "orders-2"}
    assert all(e.at == 15.0 for e in events)
    # only the partition that lost its leader moved; min ISR 2 is still met everywhere
    assert sum(1 for e in events if e.kind is EventKind.LEADER_MOVED) == 1
    assert not any(e.kind is EventKind.UNDER_MIN_ISR for e in events)


def test_restart_gives_up_and_isr_expanded() -> None:
    old = snap((1, 2), [(1, (1, 2))], 1.0)
    new = snap((1, 2, 3), [(1, (1, 2, 3))], 2.0)
    events = diff_snapshots(old, new)
    assert [e.kind for e in events] == [EventKind.BROKER_UP, EventKind.ISR_EXPANDED]
    assert "regained 3" in events[1].detail


def test_offline_and_under_min_isr_and_recovery() -> None:
    old = snap((1, 2, 3), [(1, (1, 2))], 1.0)
    down = snap((1, 2, 3), [(-1, (1,))], 2.0)
    kinds = {e.kind for e in diff_snapshots(old, down)}
    assert kinds == {EventKind.PARTITION_OFFLINE, EventKind.ISR_SHRANK, EventKind.UNDER_MIN_ISR}
    back = {e.kind for e in diff_snapshots(down, old)}
    assert back == {EventKind.PARTITION_ONLINE, EventKind.ISR_EXPANDED, EventKind.MIN_ISR_MET}


def test_no_change_no_event_and_new_topics_are_not_events() -> None:
    a = snap((1, 2, 3), [(1, (1, 2, 3))], 1.0)
    assert diff_snapshots(a, snap((1, 2, 3), [(1, (1, 2, 3))], 2.0)) == []
    assert diff_snapshots(snap((1, 2, 3), [], 1.0), a) == []


def test_json_line_round_trips_the_fields() -> None:
    import json

    e = diff_snapshots(snap((1, 2, 3), [], 1.0), snap((1, 2), [], 2.5))[0]
    assert json.loads(e.to_json()) == {
        "at": 2.5,
        "kind": "broker down",
        "subject": "broker 3",
        "detail": e.detail,
        "broker": 3,
        "topic": None,
        "partition": None,
    }


def test_kraft_controller_that_rotates_is_not_shown_as_a_broker() -> None:
    watch = ControllerWatch()
    ids = frozenset({1, 2, 3})
    watch.observe(2, ids)
    assert watch.describe(2, "h:2") == "broker 2 (h:2)"
    watch.observe(2, ids)
    assert not watch.hidden
    watch.observe(3, ids)  # same brokers, another "controller": Kafka 4 picks one at random
    assert watch.describe(3, "h:3") == KRAFT_HIDDEN
    assert not watch.is_controller(3, 3)


def test_controller_moving_with_a_broker_change_is_shown() -> None:
    watch = ControllerWatch()
    watch.observe(3, frozenset({1, 2, 3}))
    watch.observe(1, frozenset({1, 2}))  # broker 3 died: a real controller move
    assert watch.describe(1, None) == "broker 1"
