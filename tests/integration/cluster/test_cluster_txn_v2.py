"""Transactions v2 (KIP-890 part 2) in a local cluster: a partition leader adds its partition to
the transaction through the coordinator on another broker (AddPartitionsToTxn without
verify_only), and Kafka's Java producer runs its transactions v2 against 3 brokers."""

from __future__ import annotations

from tests.integration.txn_verify.test_txn_v2_java import java_tv2_body
from tests.integration.txn_verify.test_txn_v2_wire import tv2_body
from tests.kafka.cli import KafkaCli

from .local_cluster import LocalCluster


def test_transactions_v2_with_a_coordinator_on_another_broker(
    three_brokers: LocalCluster,
) -> None:
    tv2_body(three_brokers.bootstrap())


def test_java_producer_uses_transactions_v2_in_the_cluster(
    three_brokers: LocalCluster, kafka_cli: KafkaCli
) -> None:
    java_tv2_body(kafka_cli, three_brokers.bootstrap())
