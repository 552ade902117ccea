"""Fetch from the closest replica (KIP-392) in a real --brokers 3 --racks a,b,c cluster: a
confluent-kafka consumer with client.rack reads from the replica in its rack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import NewTopic

from tests.integration.broker.clients import consumer, produce_all, producer

from .local_cluster import LocalCluster, admin, unless_not_yet, wait_for

RACK_AWARE = "org.apache.kafka.common.replica.RackAwareReplicaSelector"


@pytest.fixture
def racked(tmp_path: Path) -> Iterator[tuple[LocalCluster, Path]]:
    log_path = tmp_path / "cluster.log"
    extra = ["--racks", "a,b,c", "--config", f"replica.selector.class={RACK_AWARE}"]
    cluster = LocalCluster(tmp_path / "cluster", 3, extra, log_path=log_path)
    try:
        cluster.wait_all_active()
        yield cluster, log_path
    finally:
        cluster.discard()


def _read(cons: object, want: int, seen: list[bytes]) -> bool:
    msg = cons.poll(0.2)  # type: ignore[attr-defined]
    if msg is not None and msg.error() is None:
        seen.append(msg.value())
    return len(seen) >= want


def test_a_consumer_with_client_rack_reads_from_the_replica_in_its_rack(
    racked: tuple[LocalCluster, Path],
) -> None:
    cluster, log_path = racked
    bs = cluster.bootstrap()
    client = admin(bs)
    client.create_topics([NewTopic("near", 1, 3)], operation_timeout=15)["near"].result(15)

    def in_sync() -> tuple[int, list[int]] | None:
        md = unless_not_yet(lambda: client.list_topics("near", timeout=5))
        part = None if md is None else md.topics["near"].partitions.get(0)
        if part is None or len(part.isrs) != 3:
            return None
        return part.leader, part.replicas

    leader, replicas = wait_for(in_sync, 15, "an ISR of 3")
    racks = {b["id"]: b["rack"] for b in cluster.info()["brokers"]}
    near = next(r for r in replicas if r != leader)
    prod = producer(bs, acks="all")
    produce_all(prod, "near", [{"value": b"first-%d" % i} for i in range(100)])
    cons = consumer(bs, **{"client.rack": racks[near]})
    try:
        cons.assign([TopicPartition("near", 0, 0)])
        seen: list[bytes] = []
        wait_for(lambda: _read(cons, 100, seen), 20, "the first 100 records")
        # written after the consumer moved to the follower: still read there
        produce_all(prod, "near", [{"value": b"later-%d" % i} for i in range(50)])
        wait_for(lambda: _read(cons, 150, seen), 20, "the 50 later records")
    finally:
        cons.close()
    assert seen == [b"first-%d" % i for i in range(100)] + [b"later-%d" % i for i in range(50)]
    logged = log_path.read_text(errors="replace")
    assert (
        f"Broker {leader} sends consumers in rack {racks[near]} to read near-0 from "
        f"broker {near}" in logged
    )
    assert (
        f"Broker {near} serves consumer fetches of near-0 as a follower "
        f"(client.rack {racks[near]})" in logged
    )
    # no other broker served this consumer
    assert logged.count("serves consumer fetches of near-0") == 1
