"""Test bodies shared by the built-in broker and real Kafka: SASL right and wrong passwords."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

ClientConfig = dict[str, str | int | float | bool]
DEADLINE_S = 15.0


def produce_and_consume(config: ClientConfig) -> None:
    """Create a topic, produce one record and read it back, all through ``config``."""
    topic = f"secure-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(config)
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(DEADLINE_S)
    producer = Producer(config)
    producer.produce(topic, b"secret value", key=b"k")
    assert producer.flush(DEADLINE_S) == 0
    consumer = Consumer({**config, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + DEADLINE_S
        while True:
            assert time.monotonic() < deadline, "the record did not come back"
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            assert msg.value() == b"secret value"
            return
    finally:
        consumer.close()


def authentication_error(config: ClientConfig) -> KafkaError:
    """The _AUTHENTICATION error librdkafka reports for ``config`` (asserts there is one)."""
    errors: list[KafkaError] = []
    admin = AdminClient({**config, "error_cb": errors.append})
    try:
        admin.list_topics(timeout=3)
    except KafkaException:
        pass
    else:
        raise AssertionError("the broker accepted a wrong password")
    deadline = time.monotonic() + DEADLINE_S
    while not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        assert time.monotonic() < deadline, f"no authentication error reported: {errors}"
        admin.poll(0.2)
    return next(e for e in errors if e.code() == KafkaError._AUTHENTICATION)


def check_right_and_wrong_password(config: ClientConfig, mechanism: str) -> None:
    """The right password lists the topics; a wrong one gets Kafka's authentication message."""
    metadata = AdminClient(config).list_topics(timeout=DEADLINE_S)
    assert metadata.brokers
    wrong = {**config, "sasl.password": f"not-{config['sasl.password']}"}
    error = authentication_error(wrong)
    if mechanism == "PLAIN":
        assert "Authentication failed: Invalid username or password" in error.str()
    else:
        expected = (
            "Authentication failed during authentication due to invalid credentials with "
            f"SASL mechanism {mechanism}"
        )
        assert expected in error.str()
