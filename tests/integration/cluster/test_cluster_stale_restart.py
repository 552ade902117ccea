"""A broker restarted from a stale local copy of the metadata leads nothing until it has caught
up with the controller (Kafka's broker waits for the metadata log before acting on it)."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import NewTopic
from kio.schema.errors import ErrorCode

from tests.integration.broker.partition_wire import produce
from tests.integration.groups.wire import WireClient
from tests.unit.storage.batches import simple_batch

from .local_cluster import (
    START_TIMEOUT_S,
    LocalCluster,
    admin,
    start_timeout_s,
    unless_not_yet,
    wait_for,
)

TOPIC = "stale"


def _leader(bootstrap: str) -> int:
    """The partition's leader as ``bootstrap`` sees it; -1 while it names none or is not
    answering yet (restarting)."""
    md = unless_not_yet(lambda: admin(bootstrap).list_topics(topic=TOPIC, timeout=10))
    if md is None:
        return -1
    topic = md.topics.get(TOPIC)
    if topic is None or topic.error is not None or 0 not in topic.partitions:
        return -1
    return int(topic.partitions[0].leader)


def _produce_once(bootstrap: str, timeout_s: float) -> KafkaError | None:
    """One acks=1 record through ``bootstrap`` only: None if acknowledged, else the error."""
    outcome: list[Any] = []
    prod = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": 1,
            "enable.idempotence": False,
            "message.timeout.ms": int(timeout_s * 1000),
        }
    )
    prod.produce(TOPIC, b"v", partition=0, on_delivery=lambda err, _msg: outcome.append(err))
    prod.flush(timeout_s + 5)
    return outcome[0] if outcome else KafkaError(KafkaError._MSG_TIMED_OUT)


def _produce_raw(address: str) -> ErrorCode:
    """One acks=1 Produce sent to ``address`` itself: a client library would also ask the
    other brokers for metadata, find the real leader and be acknowledged there."""
    client = WireClient(address)
    try:
        response = client.send(produce(TOPIC, {0: simple_batch(1)}))
    finally:
        client.close()
    return ErrorCode(response.responses[0].partition_responses[0].error_code)


def test_a_restarted_old_leader_accepts_no_write_before_catching_up(
    three_brokers: LocalCluster,
) -> None:
    bs = three_brokers.bootstrap()
    client = admin(bs)
    for fut in client.create_topics([NewTopic(TOPIC, 1, 3)], operation_timeout=15).values():
        fut.result(timeout=15)
    old = wait_for(lambda: _leader(bs) if _leader(bs) > 0 else None, 10, "a leader")
    three_brokers.kill(old)
    survivors = three_brokers.bootstrap(without=old)
    new = wait_for(
        lambda: _leader(survivors) if _leader(survivors) not in (-1, old) else None,
        20,
        "leadership to move off the killed broker",
    )
    # with the controller down the restarted broker can only go by its own stale copy,
    # which still names it the leader
    three_brokers.kill(100)
    three_brokers.restart_node(old, wait=False)
    alone = f"127.0.0.1:{three_brokers.node(old)['port']}"
    wait_for(lambda: _leader(alone) != -1, START_TIMEOUT_S, "the restarted broker's Metadata")
    code = _produce_raw(alone)
    assert code is ErrorCode.not_leader_or_follower, (
        f"a broker with stale metadata answered {code.name} to a write as leader"
    )
    # once the controller is back it catches up and follows the real leader
    three_brokers.restart_node(100)
    wait_for(lambda: _leader(alone) == new, 20, "the restarted broker to name the new leader")
    assert _produce_once(alone, start_timeout_s(10.0)) is None
