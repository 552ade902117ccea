"""KIP-890 part 1 in a local cluster: a partition leader asks the transaction coordinator on
another broker (AddPartitionsToTxn verify_only) before appending a transactional batch."""

from __future__ import annotations

from tests.integration.txn_verify.test_txn_verification import verification_body

from .local_cluster import LocalCluster


def test_leader_verifies_with_a_coordinator_on_another_broker(
    three_brokers: LocalCluster,
) -> None:
    verification_body(three_brokers.bootstrap())
