"""Transactions v2 (KIP-890 part 2) in a local cluster: a partition leader adds its partition to
the transaction through the coordinator on another broker (AddPartitionsToTxn without
verify_only), Kafka's Java producer runs its transactions v2 against 3 brokers, and a v2
transaction outlives its coordinator's broker killed -9."""

from __future__ import annotations

import uuid

from confluent_kafka.admin import NewTopic
from kio.schema.errors import ErrorCode
from kio.schema.find_coordinator.v4 import request as find_req
from kio.static.primitive import i8

from tests.integration.broker.clients import TIMEOUT_S
from tests.integration.groups.wire import WireClient
from tests.integration.transactions.txn_clients import put_sentinels, read_to_sentinels
from tests.integration.txn_verify.raw_txn import leaders, produce, transactional_batch
from tests.integration.txn_verify.raw_txn_v2 import describe, end_txn, init_producer_v5
from tests.integration.txn_verify.test_txn_v2_java import java_tv2_body
from tests.integration.txn_verify.test_txn_v2_wire import tv2_body
from tests.kafka.cli import KafkaCli

from .local_cluster import LocalCluster, admin, start_timeout_s, wait_for


def test_transactions_v2_with_a_coordinator_on_another_broker(
    three_brokers: LocalCluster,
) -> None:
    tv2_body(three_brokers.bootstrap())


def test_java_producer_uses_transactions_v2_in_the_cluster(
    three_brokers: LocalCluster, kafka_cli: KafkaCli
) -> None:
    java_tv2_body(kafka_cli, three_brokers.bootstrap())


def _coordinator_node(cluster: LocalCluster, tid: str, dead: int | None = None) -> int:
    """The node FindCoordinator names for ``tid``, asked of the live brokers, once it is not
    ``dead``."""

    def ask() -> int | None:
        for node_id in cluster.broker_ids:
            if node_id == dead:
                continue
            node = cluster.node(node_id)
            try:
                client = WireClient(f"{node['host']}:{node['port']}")
            except OSError:
                continue
            try:
                found = client.send(
                    find_req.FindCoordinatorRequest(key_type=i8(1), coordinator_keys=(tid,))
                ).coordinators[0]
            except OSError:
                continue
            finally:
                client.close()
            if found.error_code == ErrorCode.none and found.node_id != dead:
                return int(found.node_id)
        return None

    result: int = wait_for(ask, start_timeout_s(), f"a live coordinator of {tid!r}")
    return result


def _address(cluster: LocalCluster, node_id: int) -> str:
    node = cluster.node(node_id)
    return f"{node['host']}:{node['port']}"


def test_transactions_v2_survive_the_coordinators_broker_killed(
    three_brokers: LocalCluster,
) -> None:
    cluster = three_brokers
    topic = f"tv2-kill-{uuid.uuid4().hex[:6]}"
    tid = f"tv2-{topic}"
    client = admin(cluster.bootstrap())  # kept: its futures die with it
    client.create_topics([NewTopic(topic, 1, 3)], operation_timeout=TIMEOUT_S)[topic].result(
        TIMEOUT_S
    )
    first = _coordinator_node(cluster, tid)
    pid, epoch = init_producer_v5(_address(cluster, first), tid)
    batch = transactional_batch(pid, epoch, 0, [b"survived"])
    leader = leaders(cluster.bootstrap(), topic, 1)[0]
    assert produce(leader, tid, (topic, 0), batch, version=12) == ErrorCode.none

    cluster.kill(first)
    second = _coordinator_node(cluster, tid, dead=first)
    address = _address(cluster, second)
    # the new coordinator replayed the open v2 transaction from the replicated
    # __transaction_state (EndTxn is asked again while it loads) and ends it with the bump
    assert end_txn(address, tid, (pid, epoch), commit=True) == (ErrorCode.none, pid, epoch + 1)
    assert describe(address, tid)[:3] == ("CompleteCommit", pid, epoch + 1)
    bootstrap = cluster.bootstrap(without=first)
    put_sentinels(bootstrap, topic, 1)
    assert read_to_sentinels(bootstrap, topic, 1, "read_committed") == [b"survived"]
