"""DescribeQuorum, AlterReplicaLogDirs with DescribeLogDirs, ListConfigResources, ElectLeaders
and the reassignment APIs through kafka-python's admin client, the same bodies against the
built-in broker and a single Kafka 4.3.1 node: each answers as a one-node KRaft cluster."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import kafka.errors as kerrors
import pytest
from kafka import KafkaAdminClient, TopicPartition

from tests.broker_fixtures import RunningBroker
from tests.integration.groups.clients import create_topic
from tests.integration.share.wire import alter_group_configs

BOTH = ["builtin", pytest.param("kafka", marks=pytest.mark.realkafka)]


@pytest.fixture(params=BOTH)
def bootstrap(request: pytest.FixtureRequest) -> str:
    if request.param == "kafka":
        return str(request.getfixturevalue("kafka_single").bootstrap)
    broker: RunningBroker = request.getfixturevalue("builtin_broker")
    return broker.bootstrap


@pytest.fixture
def admin(bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20_000)
    yield client
    client.close()


def _topic(bootstrap: str, partitions: int = 2) -> str:
    name = f"adm-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, name, partitions)
    return name


def _node_id(admin: KafkaAdminClient) -> int:
    [broker] = admin.describe_cluster()["brokers"]
    return int(broker["broker_id"])


def test_kafka_python_infers_4_3(admin: KafkaAdminClient) -> None:
    assert admin._client.check_version() == (4, 3)


def test_the_single_node_is_a_one_voter_quorum(admin: KafkaAdminClient) -> None:
    node = _node_id(admin)
    quorum = admin.describe_metadata_quorum()
    [topic] = quorum["topics"]
    assert topic["topic_name"] == "__cluster_metadata"
    [part] = topic["partitions"]
    assert part["error"] is None
    assert part["leader_id"] == node and part["leader_epoch"] >= 1
    [voter] = part["current_voters"]
    assert voter["replica_id"] == node
    assert voter["log_end_offset"] == part["high_watermark"]  # the leader is caught up
    assert voter["last_caught_up_timestamp"] > 0
    assert part["observers"] == []
    # v2 names the voter's endpoint, so `kafka-metadata-quorum describe --status` can show it
    [entry] = quorum["nodes"]
    assert entry["node_id"] == node
    [listener] = entry["listeners"]
    assert listener["port"] > 0


def test_log_dirs_move_only_to_the_one_log_dir(admin: KafkaAdminClient, bootstrap: str) -> None:
    topic = _topic(bootstrap)
    node = _node_id(admin)
    [described] = _results(admin)
    here = described["log_dir"]
    assert described["error_code"] == 0
    assert topic in {t["name"] for t in described["topics"]}
    result = admin.alter_replica_log_dirs(
        {
            (topic, 0, node): here,  # where it is: nothing to move, which succeeds
            (topic, 1, node): "/no/such/log/dir",
            (f"{topic}-absent", 0, node): here,
        }
    )
    assert {(tpr.topic, tpr.partition): err for tpr, err in result.items()} == {
        (topic, 0): kerrors.NoError,
        (topic, 1): kerrors.LogDirNotFoundError,
        (f"{topic}-absent", 0): kerrors.UnknownTopicOrPartitionError,
    }
    # still one log dir, holding both partitions, none of them a future replica
    [after] = _results(admin)
    assert after["log_dir"] == here
    [mine] = [t for t in after["topics"] if t["name"] == topic]
    assert sorted(p["partition_index"] for p in mine["partitions"]) == [0, 1]
    assert not any(p["is_future_key"] for p in mine["partitions"])


def _results(admin: KafkaAdminClient) -> list[dict[str, Any]]:
    [per_broker] = admin.describe_log_dirs()
    results: list[dict[str, Any]] = per_broker["log_dirs"]
    return results


def test_list_config_resources(admin: KafkaAdminClient, bootstrap: str) -> None:
    topic = _topic(bootstrap, 1)
    group = f"adm-group-{uuid.uuid4().hex[:8]}"
    assert alter_group_configs(bootstrap, group, {"share.auto.offset.reset": "earliest"})[0] == 0
    node = str(_node_id(admin))
    every = admin.list_config_resources()
    assert every["broker"] == [node]
    assert every["broker_logger"] == [node]
    assert topic in every["topic"]
    # the Kafka node is shared with other tests' groups: this test's own group config is listed
    assert group in every["group"]
    assert not every.get("client_metrics")
    only_topics = admin.list_config_resources(["TOPIC"])
    assert set(only_topics) == {"topic"} and topic in only_topics["topic"]


def test_preferred_election_is_not_needed_on_one_node(
    admin: KafkaAdminClient, bootstrap: str
) -> None:
    topic = _topic(bootstrap)
    response = admin.elect_leaders(0, {topic: [0, 1]}, raise_errors=False)
    codes = {
        (r.topic, p.partition_id): p.error_code
        for r in response.replica_election_results
        for p in r.partition_result
    }
    election_not_needed = kerrors.ElectionNotNeededError.errno
    assert codes == {(topic, 0): election_not_needed, (topic, 1): election_not_needed}


def test_reassigning_to_the_one_broker_completes_at_once(
    admin: KafkaAdminClient, bootstrap: str
) -> None:
    topic = _topic(bootstrap)
    node = _node_id(admin)
    admin.alter_partition_reassignments({TopicPartition(topic, 0): [node]})
    assert admin.list_partition_reassignments() == {}
