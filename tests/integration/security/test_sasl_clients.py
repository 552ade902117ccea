"""SASL_PLAINTEXT and SASL_SSL with PLAIN and SCRAM through confluent-kafka (and real Kafka)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from embedded_broker.runner import BrokerRunner
from tests.kafka.cluster import KafkaCluster, start_single
from tests.kafka.fixtures import KafkaScram, _require_harness
from tests.kafka.node import SCRAM_MECHANISM, SCRAM_PASSWORD, SCRAM_USER
from tests.tls_certs import Certs

from .conftest import bootstrap
from .sasl_checks import ClientConfig, check_right_and_wrong_password, produce_and_consume

USERS = {"PLAIN": ("bob", "bob-secret"), "SCRAM-SHA-256": ("alice", "alice-secret")}
USERS["SCRAM-SHA-512"] = ("alice", "alice-secret")


def sasl_config(
    runner: BrokerRunner, listener: str, mechanism: str, certs: Certs | None = None
) -> ClientConfig:
    user, password = USERS[mechanism]
    config: ClientConfig = {
        "bootstrap.servers": bootstrap(runner, listener),
        "security.protocol": listener,
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }
    if certs is not None:
        config["ssl.ca.location"] = str(certs.ca)
    return config


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_plaintext_right_and_wrong_password(
    secure_broker: BrokerRunner, mechanism: str
) -> None:
    check_right_and_wrong_password(
        sasl_config(secure_broker, "SASL_PLAINTEXT", mechanism), mechanism
    )


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_sasl_ssl_right_and_wrong_password(
    secure_broker: BrokerRunner, certs: Certs, mechanism: str
) -> None:
    config = sasl_config(secure_broker, "SASL_SSL", mechanism, certs)
    check_right_and_wrong_password(config, mechanism)


@pytest.mark.parametrize(
    ("listener", "mechanism"),
    [("SASL_PLAINTEXT", "SCRAM-SHA-256"), ("SASL_SSL", "SCRAM-SHA-512"), ("SASL_SSL", "PLAIN")],
)
def test_produce_and_consume_over_sasl(
    secure_broker: BrokerRunner, certs: Certs, listener: str, mechanism: str
) -> None:
    tls = certs if listener == "SASL_SSL" else None
    produce_and_consume(sasl_config(secure_broker, listener, mechanism, tls))


def test_metadata_advertises_the_listener_the_client_used(secure_broker: BrokerRunner) -> None:
    from confluent_kafka.admin import AdminClient

    config = sasl_config(secure_broker, "SASL_PLAINTEXT", "SCRAM-SHA-512")
    brokers = AdminClient(config).list_topics(timeout=10).brokers
    port = secure_broker.listeners["SASL_PLAINTEXT"].port
    assert [(b.host, b.port) for b in brokers.values()] == [("127.0.0.1", port)]


@pytest.mark.realkafka
def test_real_kafka_scram_right_and_wrong_password(kafka_scram: KafkaScram) -> None:
    """The same body against Apache Kafka's SCRAM listener: Kafka stays the ground truth."""
    check_right_and_wrong_password(kafka_scram.client_config(), kafka_scram.mechanism)


@pytest.fixture(scope="module")
def kafka_sasl_ssl() -> Iterator[KafkaCluster]:
    """A real Kafka node with a SASL_SSL (SCRAM-SHA-512) listener and certificates of the test."""
    _require_harness()
    cluster = start_single(tls=True)
    yield cluster
    cluster.stop_all(graceful=False)  # thrown away: no controlled shutdown to wait out


@pytest.mark.realkafka
def test_real_kafka_sasl_ssl_right_and_wrong_password(kafka_sasl_ssl: KafkaCluster) -> None:
    config: ClientConfig = {
        "bootstrap.servers": kafka_sasl_ssl.sasl_ssl_bootstrap,
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": SCRAM_MECHANISM,
        "sasl.username": SCRAM_USER,
        "sasl.password": SCRAM_PASSWORD,
        "ssl.ca.location": str(kafka_sasl_ssl.ca_file),
    }
    check_right_and_wrong_password(config, SCRAM_MECHANISM)
    produce_and_consume(config)
