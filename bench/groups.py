"""Consumer groups on the built-in broker against Apache Kafka 4.3.1, side by side in one run.

(a) rebalance: two confluent-kafka consumers own a 6-partition topic; a third subscribes; the
time until all three are consuming (2 partitions each, and each has received a message), with
the classic protocol and with the consumer protocol (KIP-848, group.protocol=consumer: server-side
assignment, the broker's default heartbeat interval of 5 s on both brokers);
(b) synchronous offset commits per second from one group member. Both brokers run with
group.initial.rebalance.delay.ms=0 and every client setting is identical.

    python -m bench.groups [--rounds N] [--commit-seconds S]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bench.broker import KAFKA_JVM_OPTS
from bench.support import builtin_broker, emit
from tests.kafka.cluster import start_single

PARTITIONS = 6
TIMEOUT_S = 120.0
# Kafka's own defaults, except a quicker heartbeat so rebalances are not dominated by the
# 3 s heartbeat wait (the same for both brokers).
CONSUMER = {
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 10000,
    "heartbeat.interval.ms": 500,
    "enable.auto.commit": False,
}


@contextlib.contextmanager
def target(name: str) -> Iterator[str]:
    if name == "embedded":
        with builtin_broker({"group.initial.rebalance.delay.ms": "0"}) as broker:
            yield broker.bootstrap
        return
    # The harness sets group.initial.rebalance.delay.ms=0; full JIT and heap as in bench.broker.
    cluster = start_single(jvm_opts=KAFKA_JVM_OPTS)
    try:
        yield cluster.bootstrap
    finally:
        cluster.stop_all()


def create_topic(bootstrap: str, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, PARTITIONS, 1)])[name].result(TIMEOUT_S)
    deadline = time.monotonic() + TIMEOUT_S
    while len(admin.list_topics(name, timeout=10).topics[name].partitions) < PARTITIONS:
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {name} not ready")
        time.sleep(0.05)


def fill(bootstrap: str, topic: str, per_partition: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(per_partition * PARTITIONS):
        producer.produce(topic, value=b"x" * 100, partition=i % PARTITIONS)
        producer.poll(0)
    if producer.flush(TIMEOUT_S):
        raise TimeoutError("messages not delivered")


# group.protocol=consumer: session and heartbeat timing are the broker's (group.consumer.*).
CONSUMER_848 = {
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "group.protocol": "consumer",
}


def consumer(bootstrap: str, group: str, protocol: str = "classic") -> Consumer:
    settings = CONSUMER_848 if protocol == "consumer" else CONSUMER
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group, **settings})


def _poll_until(consumers: list[Consumer], done: Any, what: str) -> set[int]:
    """Poll all consumers until done(received) holds; received = indexes that got a message."""
    received: set[int] = set()
    deadline = time.monotonic() + TIMEOUT_S
    while not done(received):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        for i, c in enumerate(consumers):
            msg = c.poll(0.01)
            if msg is not None and not msg.error():
                received.add(i)
    return received


def rebalance_seconds(bootstrap: str, protocol: str = "classic") -> float:
    topic, group = f"rb-{uuid.uuid4().hex[:8]}", f"rb-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    fill(bootstrap, topic, 1000)  # no commits: after the rebalance each reads from 0 again
    consumers = [consumer(bootstrap, group, protocol) for _ in range(2)]
    try:
        for c in consumers:
            c.subscribe([topic])
        _poll_until(
            consumers,
            lambda got: len(got) == 2 and [len(c.assignment()) for c in consumers] == [3, 3],
            "two consumers with 3 partitions each",
        )
        third = consumer(bootstrap, group, protocol)
        consumers.append(third)
        started = time.perf_counter()
        third.subscribe([topic])

        def all_consuming(got: set[int]) -> bool:
            if [len(c.assignment()) for c in consumers] != [2, 2, 2]:
                got.clear()  # only messages received under the new assignment count
                return False
            return len(got) == 3

        _poll_until(consumers, all_consuming, "three consumers consuming")
        return time.perf_counter() - started
    finally:
        for c in consumers:
            c.close()


def commits_per_second(bootstrap: str, seconds: float) -> float:
    topic, group = f"cm-{uuid.uuid4().hex[:8]}", f"cm-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    c = consumer(bootstrap, group)
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT_S
        while len(c.assignment()) < PARTITIONS:
            if time.monotonic() > deadline:
                raise TimeoutError("no assignment")
            c.poll(0.05)
        count = 0
        warm_until = time.perf_counter() + 1.0  # JIT and caches warm up first; not counted
        while time.perf_counter() < warm_until:
            c.commit(offsets=[TopicPartition(topic, count % PARTITIONS, count)], asynchronous=False)
            count += 1
        count = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            c.commit(offsets=[TopicPartition(topic, count % PARTITIONS, count)], asynchronous=False)
            count += 1
        return count / (time.perf_counter() - started)
    finally:
        c.close()


def measure(name: str, rounds: int, commit_seconds: float) -> dict[str, float]:
    with target(name) as bootstrap:
        rebalances = [rebalance_seconds(bootstrap) for _ in range(rounds)]
        for i, secs in enumerate(rebalances):
            emit({"broker": name, "test": "rebalance", "round": i, "seconds": round(secs, 3)})
        rebalances_848 = [rebalance_seconds(bootstrap, "consumer") for _ in range(rounds)]
        for i, secs in enumerate(rebalances_848):
            emit({"broker": name, "test": "rebalance_848", "round": i, "seconds": round(secs, 3)})
        rate = commits_per_second(bootstrap, commit_seconds)
        emit({"broker": name, "test": "sync_commits", "commits_per_s": round(rate, 1)})
    return {
        "rebalance_s": statistics.median(rebalances),
        "rebalance_848_s": statistics.median(rebalances_848),
        "commits_per_s": rate,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.groups", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="rebalances measured per broker")
    parser.add_argument("--commit-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    embedded = measure("embedded", args.rounds, args.commit_seconds)
    kafka = measure("kafka", args.rounds, args.commit_seconds)
    for name, r in (("embedded", embedded), ("kafka", kafka)):
        emit(
            {
                "broker": name,
                "rebalance_median_s": round(r["rebalance_s"], 3),
                "rebalance_848_median_s": round(r["rebalance_848_s"], 3),
                "commits_per_s": round(r["commits_per_s"], 1),
            }
        )
    emit(
        {
            "summary": {
                "rebalance_ratio": round(embedded["rebalance_s"] / kafka["rebalance_s"], 3),
                "rebalance_848_ratio": round(
                    embedded["rebalance_848_s"] / kafka["rebalance_848_s"], 3
                ),
                "commit_ratio": round(embedded["commits_per_s"] / kafka["commits_per_s"], 3),
            }
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
