"""Transactions in a 3-broker cluster, one body each, on the built-in cluster and on real Kafka:
the coordinator is the leader of the id's __transaction_state partition, a transaction spans
partitions led by different brokers, the coordinator's broker killed -9 mid-transaction hands
over to a new coordinator that fences the old producer, and read_committed stays right after
the leader of a data partition is killed."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from kio.schema.errors import ErrorCode
from kio.schema.find_coordinator.v4 import request as find_req
from kio.static.primitive import i8

from embedded_broker.txn.metadata import TRANSACTION_STATE_TOPIC, partition_for
from tests.integration.cluster.local_cluster import start_timeout_s, wait_for
from tests.integration.groups.wire import WireClient

from .either_cluster import EitherCluster, create_topic, partitions, quiet

PARTITIONS = 3
SENTINEL = b"--sentinel--"
_SUFFIX = uuid.uuid4().hex[:6]  # the real Kafka cluster is shared by the package's tests


def _unique(name: str) -> str:
    return f"{name}-{_SUFFIX}"


def _coordinator(cluster: EitherCluster, transactional_id: str, dead: int = -1) -> int:
    """The node FindCoordinator(TRANSACTION) names, asked until one other than ``dead`` is
    named (a cluster names a killed broker until the controller fences it)."""

    def ask() -> int | None:
        for broker in cluster.broker_ids:
            if broker == dead:
                continue
            try:
                client = WireClient(cluster.address(broker))
            except OSError:
                continue
            try:
                found = client.send(
                    find_req.FindCoordinatorRequest(
                        key_type=i8(1), coordinator_keys=(transactional_id,)
                    )
                ).coordinators[0]
            except OSError:
                continue
            finally:
                client.close()
            if found.error_code == ErrorCode.none and found.node_id != dead:
                return int(found.node_id)
        return None

    result: int = wait_for(ask, start_timeout_s(60), f"a coordinator of {transactional_id!r}")
    return result


def _leaders(cluster: EitherCluster, topic: str, without: tuple[int, ...] = ()) -> dict[int, int]:
    def found() -> dict[int, int] | None:
        view = partitions(cluster.bootstrap(without), topic)
        leaders = {p: leader for p, (leader, _, _) in view.items()}
        if not leaders or any(v < 0 or v in without for v in leaders.values()):
            return None
        return leaders

    result: dict[int, int] = wait_for(found, start_timeout_s(60), f"leaders of {topic}")
    return result


def _producer(bootstrap: str, transactional_id: str) -> Producer:
    prod = Producer(
        quiet(
            {
                "bootstrap.servers": bootstrap,
                "transactional.id": transactional_id,
                "transaction.timeout.ms": 60000,
                "linger.ms": 5,
                "topic.metadata.refresh.interval.ms": 1000,
            }
        )
    )
    prod.init_transactions(start_timeout_s(60))
    return prod


def _send(prod: Producer, topic: str, prefix: str, count: int) -> list[bytes]:
    values = [f"{prefix}-{i}".encode() for i in range(count)]
    for i, value in enumerate(values):
        prod.produce(topic, value=value, partition=i % PARTITIONS)
    assert prod.flush(start_timeout_s(30)) == 0
    return values


def _read(bootstrap: str, topic: str, isolation: str) -> list[bytes]:
    """Every value before each partition's sentinel, from the beginning."""
    plain = Producer(quiet({"bootstrap.servers": bootstrap, "acks": "all"}))
    for p in range(PARTITIONS):
        plain.produce(topic, value=SENTINEL, partition=p)
    assert plain.flush(start_timeout_s(30)) == 0
    cons = Consumer(
        quiet(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"reader-{topic}-{isolation}",
                "enable.auto.commit": False,
                "isolation.level": isolation,
            }
        )
    )
    values: list[bytes] = []
    done: set[int] = set()
    try:
        cons.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])

        def poll() -> bool:
            msg = cons.poll(0.2)
            if msg is not None and msg.error() is None and msg.partition() not in done:
                if msg.value() == SENTINEL:
                    done.add(msg.partition())
                else:
                    values.append(msg.value())
            return len(done) == PARTITIONS

        wait_for(poll, start_timeout_s(60), f"the sentinels ({isolation})")
    finally:
        cons.close()
    return values


def test_transactions_span_partitions_led_by_different_brokers(
    either_cluster: EitherCluster,
) -> None:
    cluster = either_cluster
    topic, tid = _unique("spanning"), _unique("spanning-txn")
    create_topic(cluster, topic, PARTITIONS, **{"min.insync.replicas": "2"})
    leaders = _leaders(cluster, topic)
    assert len(set(leaders.values())) >= 2, leaders
    coordinator = _coordinator(cluster, tid)
    # the coordinator leads the id's partition of __transaction_state (Kafka's hash)
    state = _leaders(cluster, TRANSACTION_STATE_TOPIC)
    assert coordinator == state[partition_for(tid, len(state))]
    assert all(
        len(r) == 3 for _, r, _ in partitions(cluster.bootstrap(), TRANSACTION_STATE_TOPIC).values()
    )

    prod = _producer(cluster.bootstrap(), tid)
    prod.begin_transaction()
    committed = _send(prod, topic, "committed", 30)
    prod.commit_transaction(start_timeout_s(30))
    prod.begin_transaction()
    _send(prod, topic, "aborted", 30)
    prod.abort_transaction(start_timeout_s(30))
    prod.begin_transaction()
    committed += _send(prod, topic, "again", 30)
    prod.commit_transaction(start_timeout_s(30))

    assert sorted(_read(cluster.bootstrap(), topic, "read_committed")) == sorted(committed)
    assert len(_read(cluster.bootstrap(), topic, "read_uncommitted")) == 90


def test_coordinator_killed_mid_transaction_a_new_instance_fences_and_completes(
    either_cluster: EitherCluster,
) -> None:
    cluster = either_cluster
    topic, tid = _unique("fenced"), _unique("fenced-txn")
    create_topic(cluster, topic, PARTITIONS, **{"min.insync.replicas": "2"})
    coordinator = _coordinator(cluster, tid)
    first = _producer(cluster.bootstrap(), tid)
    first.begin_transaction()
    committed = _send(first, topic, "first", 9)
    first.commit_transaction(start_timeout_s(30))
    first.begin_transaction()
    _send(first, topic, "zombie", 9)  # still open when its coordinator dies

    cluster.kill(coordinator)
    survivors = cluster.bootstrap((coordinator,))
    _coordinator(cluster, tid, dead=coordinator)
    second = _producer(survivors, tid)  # fences the first and aborts its transaction
    second.begin_transaction()
    committed += _send(second, topic, "second", 9)
    second.commit_transaction(start_timeout_s(60))
    try:
        first.commit_transaction(start_timeout_s(30))
    except KafkaException as exc:
        assert exc.args[0].fatal() or exc.args[0].txn_requires_abort(), exc
    else:
        raise AssertionError("the fenced producer committed")
    assert sorted(_read(survivors, topic, "read_committed")) == sorted(committed)


def test_read_committed_after_the_leader_of_a_data_partition_dies(
    either_cluster: EitherCluster,
) -> None:
    cluster = either_cluster
    topic, tid = _unique("survivor"), _unique("survivor-txn")
    create_topic(cluster, topic, PARTITIONS, **{"min.insync.replicas": "2"})
    coordinator = _coordinator(cluster, tid)
    prod = _producer(cluster.bootstrap(), tid)
    prod.begin_transaction()
    committed = _send(prod, topic, "kept", 30)
    prod.commit_transaction(start_timeout_s(30))
    prod.begin_transaction()
    _send(prod, topic, "dropped", 30)
    prod.abort_transaction(start_timeout_s(30))
    # a broker that leads a data partition but does not coordinate the transactions
    others = [b for b in _leaders(cluster, topic).values() if b != coordinator]
    assert others, "the coordinator leads every partition"
    victim = others[0]
    cluster.kill(victim)
    _leaders(cluster, topic, without=(victim,))
    # the new leaders know the aborted transaction from the markers they replicated
    assert sorted(_read(cluster.bootstrap((victim,)), topic, "read_committed")) == sorted(committed)
