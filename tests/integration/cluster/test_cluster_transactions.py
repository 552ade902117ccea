"""Transactions in the local cluster: not coordinated there yet, and said so plainly (a
transactional producer gets COORDINATOR_NOT_AVAILABLE instead of a half-working coordinator)."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from kio.schema.errors import ErrorCode
from kio.schema.find_coordinator.v4 import request as find_req
from kio.schema.init_producer_id.v4 import request as init_req
from kio.static.primitive import i8, i16, i32Timedelta, i64

from tests.integration.groups.wire import WireClient

from .local_cluster import LocalCluster, admin


def test_cluster_brokers_decline_transactions(
    cluster_factory: Callable[..., LocalCluster],
) -> None:
    cluster = cluster_factory(2)
    node = cluster.node(101)
    client = WireClient(f"{node['host']}:{node['port']}")
    try:
        found = client.send(
            find_req.FindCoordinatorRequest(key_type=i8(1), coordinator_keys=("txn",))
        )
        assert found.coordinators[0].error_code == ErrorCode.coordinator_not_available
        assert "single-node broker" in (found.coordinators[0].error_message or "")
        init = client.send(
            init_req.InitProducerIdRequest(
                transactional_id="txn",
                transaction_timeout=i32Timedelta.parse(datetime.timedelta(seconds=60)),
                producer_id=i64(-1),
                producer_epoch=i16(-1),
            )
        )
        assert init.error_code == ErrorCode.coordinator_not_available
        topics = admin(cluster.bootstrap()).list_topics(timeout=30).topics
        assert "__transaction_state" not in topics
    finally:
        client.close()
