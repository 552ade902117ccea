"""DescribeConfigs on the built-in broker reports defaults in Kafka's units and Kafka's key set."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

from embedded_broker.kafka_broker_keys import KAFKA_BROKER_KEYS
from embedded_broker.kafka_topic_keys import KAFKA_TOPIC_KEYS
from embedded_broker.topic_configs import TOPIC_CONFIGS
from tests.broker_fixtures import BrokerFactory, RunningBroker
from tests.integration.broker.clients import admin, create_topic
from tests.integration.broker.config_views import describe


def test_retention_ms_default_is_kafkas_milliseconds_without_the_hours_synonym(
    builtin_broker: RunningBroker,
) -> None:
    create_topic(builtin_broker.bootstrap, "defaults")
    configs = describe(builtin_broker.bootstrap, "topic", "defaults")
    for name in ("retention.ms", "segment.ms"):
        entry = configs[name]
        assert entry["value"] == "604800000"
        assert entry["config_source"] == "DEFAULT_CONFIG"
        # Kafka lists no default synonym here: log.retention.hours=168 is in other units
        assert entry["synonyms"] == [], entry["synonyms"]


def test_retention_set_in_hours_and_minutes_follows_kafkas_precedence(
    builtin_broker_factory: BrokerFactory,
) -> None:
    broker = builtin_broker_factory(
        config={"log.retention.hours": "24", "log.retention.minutes": "30"}
    )
    create_topic(broker.bootstrap, "set")
    entry = describe(broker.bootstrap, "topic", "set")["retention.ms"]
    assert entry["value"] == str(30 * 60_000)  # minutes beat hours; ms would beat both
    assert entry["config_source"] == "STATIC_BROKER_CONFIG"
    # each synonym in its own units, as Kafka lists them
    assert [(s["name"], s["value"], s["source"]) for s in entry["synonyms"]] == [
        ("log.retention.minutes", "30", "STATIC_BROKER_CONFIG"),
        ("log.retention.hours", "24", "STATIC_BROKER_CONFIG"),
    ]


def test_topic_reports_every_kafka_topic_key_and_unused_ones_are_read_only(
    builtin_broker: RunningBroker,
) -> None:
    create_topic(builtin_broker.bootstrap, "keys")
    configs = describe(builtin_broker.bootstrap, "topic", "keys")
    assert set(configs) == set(TOPIC_CONFIGS) | {k.name for k in KAFKA_TOPIC_KEYS}
    assert configs["segment.index.bytes"]["value"] == "10485760"
    assert configs["segment.index.bytes"]["read_only"] is True
    assert configs["message.timestamp.after.max.ms"]["value"] == "3600000"  # Kafka 4's hour

    client = admin(builtin_broker.bootstrap)
    resource = ConfigResource(
        "topic",
        "keys",
        incremental_configs=[
            ConfigEntry("preallocate", "true", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    future = client.incremental_alter_configs([resource])[resource]
    with pytest.raises(KafkaException, match="does not use"):
        future.result(timeout=30)


def test_broker_reports_kafkas_keys_with_its_own_listener_and_log_dir(
    builtin_broker: RunningBroker,
) -> None:
    configs = describe(builtin_broker.bootstrap, "broker", "1")
    assert {name for name, *_ in KAFKA_BROKER_KEYS} <= set(configs)
    assert configs["listeners"]["value"] == f"PLAINTEXT://127.0.0.1:{builtin_broker.port}"
    assert configs["advertised.listeners"]["value"] == (
        f"PLAINTEXT://127.0.0.1:{builtin_broker.port}"
    )
    assert configs["log.dirs"]["value"] == str(builtin_broker.data_dir)
    assert configs["process.roles"]["value"] == "broker,controller"
    assert configs["broker.id"]["value"] == "1"
    unused = configs["remote.log.storage.system.enable"]
    assert (unused["value"], unused["read_only"], unused["config_source"]) == (
        "false",
        True,
        "DEFAULT_CONFIG",
    )
    assert configs["sasl.jaas.config"]["is_sensitive"] is True


def test_changing_a_kafka_broker_key_the_broker_does_not_use_says_so(
    builtin_broker: RunningBroker,
) -> None:
    client = admin(builtin_broker.bootstrap)
    resource = ConfigResource(
        "broker",
        "1",
        incremental_configs=[
            ConfigEntry("background.threads", "4", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    future = client.incremental_alter_configs([resource])[resource]
    with pytest.raises(KafkaException, match="does not use"):
        future.result(timeout=30)
