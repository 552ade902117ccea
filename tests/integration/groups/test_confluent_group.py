"""confluent-kafka group consumers: balanced assignment, clean leave, killed member, assignors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from .clients import SESSION_MS, TIMEOUT_S, Poller, create_topic, group_consumer, produce, unique

PARTITIONS = 6


def test_three_consumers_share_six_partitions_then_two_take_over(bootstrap: str) -> None:
    topic, group = unique("six"), unique("g")
    create_topic(bootstrap, topic, PARTITIONS)
    consumers = [group_consumer(bootstrap, group, **{"client.id": f"c{i}"}) for i in range(3)]
    try:
        for c in consumers:
            c.subscribe([topic])
        poller = Poller(consumers)
        poller.until(lambda: poller.assignment_sizes() == [2, 2, 2], what="2 partitions each")
        owned = [{tp.partition for tp in c.assignment()} for c in consumers]
        assert set().union(*owned) == set(range(PARTITIONS))

        # Produced while the group is stable: every message is delivered exactly once.
        produce(bootstrap, topic, 120, PARTITIONS)
        poller.until(lambda: len(poller.all_values()) >= 120, what="120 messages")
        values = poller.all_values()
        assert sorted(values, key=int) == [str(i).encode() for i in range(120)]
        for i, c in enumerate(consumers):
            parts = {tp.partition for tp in c.assignment()}
            assert {int(v) % PARTITIONS for v in poller.values[i]} <= parts

        consumers[2].close()
        rest = Poller(consumers[:2])
        rest.until(lambda: rest.assignment_sizes() == [3, 3], what="3 partitions each")
        owned = [{tp.partition for tp in c.assignment()} for c in consumers[:2]]
        assert owned[0] | owned[1] == set(range(PARTITIONS))
    finally:
        for c in consumers[:2]:
            c.close()


CHILD = textwrap.dedent(
    """
    import sys
    from confluent_kafka import Consumer
    bootstrap, group, topic, session = sys.argv[1:5]
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "session.timeout.ms": int(session), "heartbeat.interval.ms": 500,
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    last = -1
    while True:
        c.poll(0.1)
        n = len(c.assignment())
        if n != last:
            print(n, flush=True)
            last = n
    """
)


def test_killed_member_loses_its_partitions_after_the_session_timeout(bootstrap: str) -> None:
    topic, group = unique("kill"), unique("g")
    create_topic(bootstrap, topic, PARTITIONS)
    consumers = [group_consumer(bootstrap, group) for _ in range(2)]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, bootstrap, group, topic, str(SESSION_MS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for c in consumers:
            c.subscribe([topic])
        poller = Poller(consumers)
        os.set_blocking(child.stdout.fileno(), False)  # type: ignore[union-attr]
        child_count = [0]

        def child_has_two() -> bool:
            line = child.stdout.readline()  # type: ignore[union-attr]
            while line:
                child_count[0] = int(line)
                line = child.stdout.readline()  # type: ignore[union-attr]
            return child_count[0] == 2 and poller.assignment_sizes() == [2, 2]

        poller.until(child_has_two, what="2 partitions each, one consumer in a subprocess")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=TIMEOUT_S)
        killed_at = time.monotonic()
        poller.until(lambda: poller.assignment_sizes() == [3, 3], what="the survivors take over")
        # It took the session timeout (no LeaveGroup was sent), minus heartbeat slack.
        assert time.monotonic() - killed_at > (SESSION_MS - 2000) / 1000
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for c in consumers:
            c.close()


@pytest.mark.parametrize("strategy", ["range", "roundrobin", "cooperative-sticky"])
def test_librdkafka_assignors_reach_a_stable_group(bootstrap: str, strategy: str) -> None:
    topic, group = unique("assignor"), unique("g")
    create_topic(bootstrap, topic, PARTITIONS)
    consumers = [
        group_consumer(bootstrap, group, **{"partition.assignment.strategy": strategy})
        for _ in range(3)
    ]
    try:
        for c in consumers:
            c.subscribe([topic])
        poller = Poller(consumers)
        poller.until(lambda: poller.assignment_sizes() == [2, 2, 2], what=f"{strategy} balance")
        produce(bootstrap, topic, 30, PARTITIONS)
        poller.until(lambda: len(poller.all_values()) >= 30, what="30 messages")
        assert sorted(poller.all_values(), key=int) == [str(i).encode() for i in range(30)]
    finally:
        for c in consumers:
            c.close()


def test_static_member_restart_keeps_the_assignment(bootstrap: str) -> None:
    """A member with group.instance.id that restarts takes its old place without a rebalance."""
    topic, group = unique("static"), unique("g")
    create_topic(bootstrap, topic, PARTITIONS)
    revoked: list[int] = []
    static = {"session.timeout.ms": 30000}
    steady = group_consumer(bootstrap, group, **{"group.instance.id": "steady", **static})
    first = group_consumer(bootstrap, group, **{"group.instance.id": "bouncer", **static})
    second = None
    try:
        steady.subscribe([topic], on_revoke=lambda _c, parts: revoked.append(len(parts)))
        first.subscribe([topic])
        poller = Poller([steady, first])
        poller.until(lambda: poller.assignment_sizes() == [3, 3], what="3 partitions each")
        revoked.clear()
        before = {tp.partition for tp in first.assignment()}
        first.close()  # a static member does not send LeaveGroup
        second = group_consumer(bootstrap, group, **{"group.instance.id": "bouncer", **static})
        second.subscribe([topic])
        poller = Poller([steady, second])
        poller.until(lambda: poller.assignment_sizes() == [3, 3], what="the restarted member")
        assert {tp.partition for tp in second.assignment()} == before
        # The steady member kept polling throughout and never lost its partitions.
        for _ in range(20):
            poller.poll_once()
        assert revoked == []
    finally:
        steady.close()
        if second is not None:
            second.close()
