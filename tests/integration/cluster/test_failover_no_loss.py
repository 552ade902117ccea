"""kill -9 of the broker that acknowledged an acks=all write loses nothing: the app's self-test
scenario (an RF-3 topic with min.insync.replicas 2, one record, its leader killed, another
record) on a real ``--brokers N`` cluster, with the first Produce sent as early as any broker
takes it (right as the topic is being created, where a broker once answered before its
partition had a state and before any follower had the record)."""

from __future__ import annotations

import contextlib
import datetime
import importlib
import time
from pathlib import Path
from typing import Any

from confluent_kafka.admin import NewTopic
from kio.schema.errors import ErrorCode

from tests.integration.groups.wire import WireClient
from tests.integration.replication.cluster import batch, fetch

from .local_cluster import LocalCluster, admin, metadata_brokers, start_timeout_s, wait_for

BROKERS = 5  # three rounds, each killing one broker, without waiting for restarts
ROUNDS = 3
_PRODUCE = importlib.import_module("kio.schema.produce.v9.request")


def _produce_request(topic: str, records: bytes) -> Any:
    return _PRODUCE.ProduceRequest(
        transactional_id=None,
        acks=-1,
        timeout=datetime.timedelta(seconds=30),
        topic_data=(
            _PRODUCE.TopicProduceData(
                name=topic,
                partition_data=(_PRODUCE.PartitionProduceData(index=0, records=records),),
            ),
        ),
    )


class Producers:
    """One raw connection per live broker, each asked in turn: the first broker to take a
    Produce (any error is "not yet": the topic or its state not there, or no leader yet)."""

    def __init__(self, cluster: LocalCluster, brokers: list[int]) -> None:
        self.cluster = cluster
        self.clients: dict[int, WireClient | None] = dict.fromkeys(brokers)

    def _client(self, broker: int) -> WireClient | None:
        client = self.clients.get(broker)
        if client is None:
            with contextlib.suppress(OSError):
                client = WireClient(f"127.0.0.1:{self.cluster.node(broker)['port']}")
            self.clients[broker] = client
        return client

    def first_taker(self, topic: str, records: bytes) -> tuple[int, int] | None:
        """One Produce to each broker: (broker, base offset) of the first that took it."""
        for broker in list(self.clients):
            client = self._client(broker)
            if client is None:
                continue
            try:
                answer = client.send(_produce_request(topic, records))
            except OSError:
                client.close()
                self.clients[broker] = None
                continue
            part = answer.responses[0].partition_responses[0]
            if part.error_code == ErrorCode.none:
                return broker, int(part.base_offset)
        return None

    def close(self) -> None:
        for client in self.clients.values():
            if client is not None:
                client.close()


def _has(cluster: LocalCluster, broker: int, topic: str, offset: int, tag: bytes) -> bool:
    """The record tagged ``tag`` is readable at ``offset`` (below the high watermark) from
    ``broker``."""
    address = f"127.0.0.1:{cluster.node(broker)['port']}"
    try:
        answer = fetch(address, topic, offset=offset)
    except OSError:
        return False
    return answer.error_code == ErrorCode.none and tag in bytes(answer.records or b"")


def _round(cluster: LocalCluster, live: list[int], topic: str) -> int:
    """Create ``topic``, have the first broker that takes a Produce to it acknowledge one
    record with acks=all, kill -9 that broker at once, write again and read the first record
    back from the new leader; the killed broker's id."""
    producers = Producers(cluster, live)
    try:
        client = admin(cluster.bootstrap())  # kept: its requests end with it
        client.create_topics([NewTopic(topic, 1, 3, config={"min.insync.replicas": "2"})])
        first, second = f"{topic}-first".encode(), f"{topic}-second".encode()
        deadline = time.monotonic() + start_timeout_s(20)
        taken = None
        while taken is None and time.monotonic() < deadline:
            taken = producers.first_taker(topic, batch(1, first.decode()))
        assert taken is not None, f"no broker took a Produce to {topic}"
        victim, offset = taken
        cluster.kill(victim)  # at once: the followers may not have fetched it yet
        producers.clients.pop(victim, None)
        # the next write waits for the failover: the victim fenced, a new leader elected
        leader, next_offset = wait_for(
            lambda: producers.first_taker(topic, batch(1, second.decode())),
            20,
            f"a new leader of {topic} to take a Produce after broker {victim} was killed",
        )
        assert next_offset > offset, (
            f"broker {victim} acknowledged offset {offset} of {topic} with acks=all, but the new "
            f"leader {leader} wrote the next record at {next_offset}: the first was lost "
            f"(log: {cluster.log_path})"
        )
        wait_for(
            lambda: _has(cluster, leader, topic, offset, first),
            10,
            f"the first record of {topic} readable from {leader}",
        )
        return victim
    finally:
        producers.close()


def test_an_acknowledged_record_survives_a_kill_9_of_the_broker_that_took_it(
    cluster_factory: Any, tmp_path: Path
) -> None:
    cluster: LocalCluster = cluster_factory(BROKERS, log_path=tmp_path / "cluster.log")
    live = list(cluster.broker_ids)
    for round_ in range(ROUNDS):
        victim = _round(cluster, live, f"noloss-{round_}")
        live.remove(victim)
        # the next round's topic goes on live brokers only
        wait_for(
            lambda v=victim: all(
                v not in metadata_brokers(f"127.0.0.1:{cluster.node(b)['port']}") for b in live
            ),
            10,
            f"broker {victim} fenced on every live broker",
        )
