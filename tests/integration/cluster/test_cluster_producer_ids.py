"""Producer ids in a cluster: blocks from the controller, unique across brokers and controller
restarts, and an idempotent acks=all producer that keeps going through a leader's kill -9."""

from __future__ import annotations

import datetime
import time

from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import NewTopic
from kio.schema.errors import ErrorCode
from kio.schema.init_producer_id.v4 import request as init_req
from kio.static.primitive import i16, i32Timedelta, i64

from tests.integration.groups.wire import WireClient

from .local_cluster import LocalCluster, admin, start_timeout_s, wait_for


def _address(cluster: LocalCluster, node_id: int) -> str:
    node = cluster.node(node_id)
    return f"{node['host']}:{node['port']}"


def _init_producer_ids(address: str, count: int = 1) -> list[tuple[ErrorCode, int]]:
    """``count`` InitProducerId requests of idempotent producers to one broker:
    (error, producer id) of each."""
    client = WireClient(address)
    request = init_req.InitProducerIdRequest(
        transactional_id=None,
        transaction_timeout=i32Timedelta.parse(datetime.timedelta(seconds=60)),
        producer_id=i64(-1),
        producer_epoch=i16(-1),
    )
    try:
        answers = [client.send(request) for _ in range(count)]
    finally:
        client.close()
    return [(r.error_code, int(r.producer_id)) for r in answers]


def _ids(address: str, count: int = 1) -> list[int]:
    answers = _init_producer_ids(address, count)
    assert {code for code, _ in answers} == {ErrorCode.none}
    return [pid for _, pid in answers]


def test_brokers_hand_out_distinct_producer_ids(three_brokers: LocalCluster) -> None:
    ids = []
    for broker in (101, 102, 103, 101, 102, 103):
        ids += _ids(_address(three_brokers, broker))
    assert len(set(ids)) == len(ids), ids


def test_producer_ids_stay_unique_across_a_controller_restart(
    three_brokers: LocalCluster,
) -> None:
    ids = []
    for broker in (101, 102, 103):
        ids += _ids(_address(three_brokers, broker))
    three_brokers.kill(100)
    # each broker holds a block from the controller: it still gives ids while it is down
    ids += _ids(_address(three_brokers, 102))
    three_brokers.restart_node(100)
    # past the end of broker 102's block: its next block comes from the restarted controller
    ids += _ids(_address(three_brokers, 102), 1100)
    ids += _ids(_address(three_brokers, 101))
    assert len(set(ids)) == len(ids), "a producer id was handed out twice"


def _produce(bootstrap: str, topic: str, keys: range) -> int:
    """Send one record per key with an idempotent acks=all producer; the number acknowledged."""
    acked = 0
    failures = 0

    def report(err: KafkaError | None, _msg: object) -> None:
        nonlocal acked, failures
        if err is None:
            acked += 1
        else:
            failures += 1

    fatal: list[str] = []

    def on_error(err: KafkaError) -> None:
        if err.fatal():
            fatal.append(err.str())

    producer = Producer(
        {
            "error_cb": on_error,
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            # a kill -9 moves leaders after the session timeout: longer on a loaded machine
            "message.timeout.ms": int(start_timeout_s(30) * 1000),
        }
    )
    for key in keys:
        while True:
            try:
                producer.produce(topic, key=str(key).encode(), value=b"v", on_delivery=report)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    deadline = time.monotonic() + start_timeout_s(30) + 5
    while producer.flush(1) and time.monotonic() < deadline:
        pass
    assert not fatal, fatal
    assert failures == 0, f"{failures} records failed"
    return acked


def test_new_idempotent_producer_after_a_leader_is_killed(three_brokers: LocalCluster) -> None:
    bs = three_brokers.bootstrap()
    topic = "failover"
    client = admin(bs)  # kept alive until the topic exists
    futures = client.create_topics(
        [NewTopic(topic, 3, 3, config={"min.insync.replicas": "2"})], operation_timeout=15
    )
    for fut in futures.values():
        fut.result(timeout=15)
    # each producer bootstraps through a different broker
    assert _produce(_address(three_brokers, 101), topic, range(3000)) == 3000
    three_brokers.kill(101)
    # two new producers, so that with per-broker counters one of them would very likely
    # reuse the first producer's id
    assert _produce(_address(three_brokers, 102), topic, range(3000, 3500)) == 500
    assert _produce(_address(three_brokers, 103), topic, range(3500, 4000)) == 500

    consumer = Consumer(
        {
            "bootstrap.servers": three_brokers.bootstrap(without=101),
            "group.id": "check",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    seen: dict[bytes, int] = {}
    try:
        consumer.subscribe([topic])

        def read_all() -> bool:
            for msg in consumer.consume(500, 0.5):
                if msg.error() is None:
                    key = msg.key() or b""
                    seen[key] = seen.get(key, 0) + 1
            return len(seen) >= 4000

        wait_for(read_all, 20, "all 4,000 records")
        for msg in consumer.consume(500, 0.5):  # nothing more arrives: no duplicates later
            if msg.error() is None:
                key = msg.key() or b""
                seen[key] = seen.get(key, 0) + 1
    finally:
        consumer.close()
    assert set(seen) == {str(k).encode() for k in range(4000)}
    duplicated = [k for k, n in seen.items() if n > 1]
    assert not duplicated, f"{len(duplicated)} keys read more than once"
