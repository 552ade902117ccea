"""The SCRAM-SHA-512 listener of the single node: right password in, wrong password out."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from tests.kafka.fixtures import KafkaScram

pytestmark = pytest.mark.realkafka


def test_right_password_connects_and_lists_topics(kafka_scram: KafkaScram) -> None:
    assert kafka_scram.mechanism == "SCRAM-SHA-512"
    admin = AdminClient(kafka_scram.client_config())
    md = admin.list_topics(timeout=30)
    assert list(md.brokers) == [1]
    assert md.brokers[1].port == int(kafka_scram.bootstrap.rsplit(":", 1)[1])
    assert isinstance(md.topics, dict)


def test_wrong_password_fails_with_an_authentication_error(kafka_scram: KafkaScram) -> None:
    errors: list[KafkaError] = []
    admin = AdminClient(
        {
            **kafka_scram.client_config(password="not-" + kafka_scram.password),
            "error_cb": errors.append,
        }
    )
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)

    deadline = time.monotonic() + 60
    while not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        assert time.monotonic() < deadline, f"no authentication error reported: {errors}"
        admin.poll(0.5)
    auth = next(e for e in errors if e.code() == KafkaError._AUTHENTICATION)
    assert "Authentication failed" in auth.str()
    assert "SCRAM-SHA-512" in auth.str()
