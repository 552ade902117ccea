"""Offsets sent to a transaction survive the group coordinator's broker killed -9 before the
commit: the transaction's commit stores them for the group through the new coordinator, as
Kafka's __consumer_offsets keeps them as transactional records until the marker. One body on
the built-in cluster and on real Kafka."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, KafkaException, TopicPartition
from kio.schema.errors import ErrorCode
from kio.schema.find_coordinator.v4 import request as find_req
from kio.static.primitive import i8

from tests.integration.cluster.local_cluster import start_timeout_s, wait_for
from tests.integration.groups.wire import WireClient

from .either_cluster import EitherCluster, create_topic, quiet
from .test_cluster_txn_parity import _producer

_SUFFIX = uuid.uuid4().hex[:6]


def _find(cluster: EitherCluster, key: str, key_type: int, dead: int = -1) -> int:
    """The node FindCoordinator names for a group (0) or transactional id (1), other than
    ``dead`` (named until the controller fences it)."""

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
                    find_req.FindCoordinatorRequest(key_type=i8(key_type), coordinator_keys=(key,))
                ).coordinators[0]
            except OSError:
                continue
            finally:
                client.close()
            if found.error_code == ErrorCode.none and found.node_id != dead:
                return int(found.node_id)
        return None

    result: int = wait_for(ask, start_timeout_s(60), f"a coordinator of {key!r}")
    return result


def _committed(bootstrap: str, group: str, topic: str) -> int | None:
    cons = Consumer(quiet({"bootstrap.servers": bootstrap, "group.id": group}))
    try:
        [tp] = cons.committed([TopicPartition(topic, 0)], timeout=10)
    except KafkaException:
        return None  # the group's new coordinator still loading: ask again
    finally:
        cons.close()
    return None if tp.error is not None else int(tp.offset)


def test_sent_offsets_survive_the_group_coordinator_killed(either_cluster: EitherCluster) -> None:
    cluster = either_cluster
    group, source, sink = (f"{n}-{_SUFFIX}" for n in ("ctp-group", "ctp-in", "ctp-out"))
    create_topic(cluster, source, 1)
    create_topic(cluster, sink, 1)
    group_coordinator = _find(cluster, group, 0)
    # a transactional id another broker coordinates: only the group's coordinator dies
    tid = next(
        t
        for t in (f"ctp-{_SUFFIX}-{i}" for i in range(100))
        if _find(cluster, t, 1) != group_coordinator
    )
    prod = _producer(cluster.bootstrap(), tid)
    reader = Consumer(quiet({"bootstrap.servers": cluster.bootstrap(), "group.id": group}))
    try:
        reader.assign([TopicPartition(source, 0, 0)])
        prod.begin_transaction()
        prod.produce(sink, value=b"out-0", partition=0)
        prod.send_offsets_to_transaction(
            [TopicPartition(source, 0, 7)], reader.consumer_group_metadata(), start_timeout_s(60)
        )
        assert prod.flush(30) == 0
    finally:
        reader.close()

    cluster.kill(group_coordinator)
    survivors = cluster.bootstrap((group_coordinator,))
    _find(cluster, group, 0, dead=group_coordinator)
    prod.commit_transaction(start_timeout_s(60))
    wait_for(
        lambda: _committed(survivors, group, source) == 7,
        start_timeout_s(60),
        "the transaction's offsets on the group's new coordinator",
    )
