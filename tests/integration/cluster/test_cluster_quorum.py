"""DescribeQuorum in a local cluster: any broker forwards it to the controller, node 100, the
quorum's one voter and leader; the brokers, which follow its metadata log, are the observers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaTimeoutError

from .local_cluster import LocalCluster, wait_for

CONTROLLER = 100


def test_every_broker_reports_the_controller_as_the_one_voter(
    cluster_factory: Callable[..., LocalCluster],
) -> None:
    cluster = cluster_factory(2)
    client = KafkaAdminClient(
        bootstrap_servers=f"127.0.0.1:{cluster.node(102)['port']}", request_timeout_ms=10_000
    )
    try:

        def quorum() -> dict[str, Any] | None:
            try:
                answer: dict[str, Any] = client.describe_metadata_quorum()
            except KafkaTimeoutError:  # a broker too busy to answer in time: ask again
                return None
            part = answer["topics"][0]["partitions"][0]
            observed = {o["replica_id"] for o in part["observers"]}
            return answer if observed == {101, 102} else None

        answer = wait_for(quorum, 10, "both brokers to be observers of the metadata log")
    finally:
        client.close()
    part = answer["topics"][0]["partitions"][0]
    assert part["error"] is None
    assert part["leader_id"] == CONTROLLER
    [voter] = part["current_voters"]
    assert voter["replica_id"] == CONTROLLER
    assert voter["log_end_offset"] == part["high_watermark"] > 0
    for observer in part["observers"]:
        assert 0 <= observer["log_end_offset"] <= part["high_watermark"]
        assert observer["last_fetch_timestamp"] > 0
    [node] = answer["nodes"]
    assert node["node_id"] == CONTROLLER
    assert [(lst["name"], lst["port"]) for lst in node["listeners"]] == [
        ("CONTROLLER", cluster.node(CONTROLLER)["port"])
    ]
