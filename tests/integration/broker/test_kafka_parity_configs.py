"""DescribeConfigs and DescribeLogDirs: the built-in broker against Kafka 4.3.1 (one node)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.broker_fixtures import RunningBroker
from tests.integration.broker.clients import create_topic, produce_all, producer
from tests.integration.broker.config_views import describe, kafka_default, log_dirs, partition_sizes
from tests.kafka.fixtures import KafkaSingle

pytestmark = pytest.mark.realkafka

# Where the built-in broker's default deliberately differs from Kafka's, and why (each one is
# also said in that setting's documentation): name -> (the built-in broker's value, reason).
TOPIC_DIFFERENCES = {
    "flush.ms": ("60000", "a single broker has no replicas, so it syncs every minute"),
}
BROKER_DIFFERENCES = {
    "log.flush.interval.ms": ("60000", "a single broker has no replicas to cover a power loss"),
    "offsets.topic.replication.factor": ("1", "one broker: Kafka's 3 could never be met"),
    "transaction.state.log.replication.factor": ("1", "one broker: Kafka's 3 could never be met"),
    "max.connections": ("1000", "keeps the app's file descriptors safe"),
    "queued.max.request.bytes": ("536870912", "bounds the memory clients can make it hold"),
    # the built-in broker's security (issue 11's listeners): no Kerberos, no Java keystores
    "sasl.enabled.mechanisms": (None, "PLAIN and SCRAM are offered; GSSAPI is not supported"),
    "ssl.keystore.type": (None, "PEM by default: JKS is not supported"),
    "ssl.truststore.type": (None, "PEM by default: JKS is not supported"),
    "listener.security.protocol.map": (None, "the same four mappings, in another order"),
    # this broker's own identity and addresses, as a KRaft node reports its own
    "node.id": ("1", "Kafka has no default: every node is given one"),
    "broker.id": ("1", "Kafka reports the node id here too"),
    "listeners": (None, "this broker's real listener"),
    "advertised.listeners": (None, "this broker's real address"),
    "log.dirs": (None, "this broker's data directory"),
    "log.dir": (None, "this broker's data directory"),
    "process.roles": ("broker,controller", "one combined node, like the harness's"),
}
# Settings only the built-in broker has (Kafka 4 has none of these names).
BROKER_OWN_KEYS = {
    "advertised.host.name": "the host given to clients (Kafka 4 removed its own)",
    "advertised.port": "the port given to clients (Kafka 4 removed its own)",
    "queued.max.response.bytes": "bounds response memory held for slow consumers",
    "producer.id.expiration.check.interval.ms": "an internal setting in Kafka, public here",
    # Kafka's StandardAuthorizer reads these from server.properties but its DescribeConfigs
    # doesn't list them; listed here so a user can see why a principal is (not) allowed
    "super.users": "the authorizer's super users (StandardAuthorizer's setting)",
    "allow.everyone.if.no.acl.found": "the authorizer's default (StandardAuthorizer's setting)",
}
# Keys that exist on the Kafka node only because the harness configures a SASL listener.
HARNESS_ONLY_PREFIX = "listener.name."


def _defaults(configs: dict[str, dict[str, Any]]) -> dict[str, str | None]:
    return {name: kafka_default(entry, name) for name, entry in configs.items()}


def test_topic_config_keys_and_defaults_equal_kafkas(
    kafka_single: KafkaSingle, builtin_broker: RunningBroker
) -> None:
    for bootstrap in (kafka_single.bootstrap, builtin_broker.bootstrap):
        create_topic(bootstrap, "config-parity", 2)
    kafka = describe(kafka_single.bootstrap, "topic", "config-parity")
    ours = describe(builtin_broker.bootstrap, "topic", "config-parity")
    assert set(ours) == set(kafka)
    kafka_defaults, our_defaults = _defaults(kafka), _defaults(ours)
    for name, (value, _reason) in TOPIC_DIFFERENCES.items():
        assert our_defaults.pop(name) == value
        kafka_defaults.pop(name)
    assert our_defaults == kafka_defaults
    for name in ("retention.ms", "segment.ms"):  # no hours-valued default synonym on either
        assert ours[name]["synonyms"] == kafka[name]["synonyms"] == []
    assert {n: e["config_type"] for n, e in ours.items()} == {
        n: e["config_type"] for n, e in kafka.items()
    }


def test_broker_config_keys_and_defaults_equal_kafkas(
    kafka_single: KafkaSingle, builtin_broker: RunningBroker
) -> None:
    kafka = {
        name: entry
        for name, entry in describe(kafka_single.bootstrap, "broker", "1").items()
        if not name.startswith(HARNESS_ONLY_PREFIX)
    }
    ours = describe(builtin_broker.bootstrap, "broker", "1")
    assert set(ours) - set(kafka) == set(BROKER_OWN_KEYS)
    assert set(kafka) - set(ours) == set()
    kafka_defaults = _defaults(kafka)
    our_defaults = {n: v for n, v in _defaults(ours).items() if n not in BROKER_OWN_KEYS}
    for name, (value, _reason) in BROKER_DIFFERENCES.items():
        our_defaults.pop(name)
        assert value is None or ours[name]["value"] == value, name
        kafka_defaults.pop(name)
    assert our_defaults == kafka_defaults
    assert ours["listeners"]["value"] == f"PLAINTEXT://127.0.0.1:{builtin_broker.port}"
    mismatched_types = {
        name: (ours[name]["config_type"], kafka[name]["config_type"])
        for name in kafka
        if ours[name]["config_type"] != kafka[name]["config_type"]
    }
    assert mismatched_types == {}
    assert {n for n, e in ours.items() if e["is_sensitive"]} == {
        n for n, e in kafka.items() if e["is_sensitive"]
    }


def test_log_dirs_list_the_topic_with_sizes_on_both_brokers(
    kafka_single: KafkaSingle, builtin_broker: RunningBroker
) -> None:
    shapes = []
    for bootstrap in (kafka_single.bootstrap, builtin_broker.bootstrap):
        create_topic(bootstrap, "log-dir-parity", 2)
        items = [{"value": b"x" * 100, "partition": i % 2} for i in range(100)]
        produce_all(producer(bootstrap), "log-dir-parity", items)
        (log_dir,) = log_dirs(bootstrap)
        sizes = partition_sizes(log_dir, "log-dir-parity")
        assert set(sizes) == {0, 1} and all(size > 0 for size in sizes.values()), log_dir
        assert log_dir["error_code"] == 0 and log_dir["log_dir"].startswith("/")
        assert 0 < log_dir["usable_bytes"] <= log_dir["total_bytes"]
        partition = log_dir["topics"][0]["partitions"][0]
        assert (partition["offset_lag"], partition["is_future_key"]) == (0, False)
        shapes.append(sorted(log_dir))
    assert shapes[0] == shapes[1]  # the same fields, is_cordoned included (v5)
