"""kafka-python with SCRAM-SHA-512 produces and consumes on a SASL listener."""

from __future__ import annotations

import uuid

from embedded_broker.runner import BrokerRunner

from .conftest import bootstrap

TIMEOUT_MS = 10_000


def _settings(runner: BrokerRunner, password: str) -> dict[str, object]:
    return {
        "bootstrap_servers": bootstrap(runner, "SASL_PLAINTEXT"),
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "alice",
        "sasl_plain_password": password,
        "request_timeout_ms": TIMEOUT_MS,
    }


def test_kafka_python_scram(secure_broker: BrokerRunner) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    topic = f"kp-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(**_settings(secure_broker, "alice-secret"))
    try:
        producer.send(topic, b"over scram").get(timeout=10)
    finally:
        producer.close()
    consumer = KafkaConsumer(
        **_settings(secure_broker, "alice-secret"), consumer_timeout_ms=TIMEOUT_MS
    )
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        assert next(iter(consumer)).value == b"over scram"
    finally:
        consumer.close()
