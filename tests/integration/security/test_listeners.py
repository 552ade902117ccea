"""Listeners: advertised.listeners per listener name, secrets hidden, start-up errors named."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from embedded_broker.runner import BrokerRunner, BrokerStartError

from .conftest import PLAIN_JAAS


@pytest.fixture
def advertised_broker() -> Iterator[BrokerRunner]:
    with socket.socket() as probe:  # a port for the advertised address of the PLAIN listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner = BrokerRunner(
        port=0,
        in_memory=True,
        config={
            "listeners": f"INTERNAL://127.0.0.1:0,CLIENT://127.0.0.1:{port}",
            "listener.security.protocol.map": "INTERNAL:PLAINTEXT,CLIENT:SASL_PLAINTEXT",
            "advertised.listeners": f"CLIENT://localhost:{port}",
            "inter.broker.listener.name": "INTERNAL",
            "sasl.jaas.config": PLAIN_JAAS,
        },
    )
    runner.start()
    yield runner
    runner.stop()


def test_metadata_gives_the_advertised_address_of_the_listener_used(
    advertised_broker: BrokerRunner,
) -> None:
    internal = advertised_broker.listeners["INTERNAL"]
    client = advertised_broker.listeners["CLIENT"]
    brokers = AdminClient({"bootstrap.servers": internal.bootstrap}).list_topics(timeout=10).brokers
    assert [(b.host, b.port) for b in brokers.values()] == [("127.0.0.1", internal.port)]
    sasl = {
        "bootstrap.servers": client.bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "bob",
        "sasl.password": "bob-secret",
    }
    brokers = AdminClient(sasl).list_topics(timeout=10).brokers
    assert [(b.host, b.port) for b in brokers.values()] == [("localhost", client.port)]


def test_describe_configs_hides_the_jaas_passwords(advertised_broker: BrokerRunner) -> None:
    admin = AdminClient({"bootstrap.servers": advertised_broker.listeners["INTERNAL"].bootstrap})
    resource = ConfigResource(ConfigResource.Type.BROKER, "1")
    configs = admin.describe_configs([resource])[resource].result(10)
    jaas = configs["sasl.jaas.config"]
    assert jaas.is_sensitive and jaas.value is None
    assert "bob-secret" not in repr({k: v.value for k, v in configs.items()})
    assert configs["listeners"].value.startswith("INTERNAL://127.0.0.1:0,CLIENT://")


def test_a_taken_port_names_the_listener() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runner = BrokerRunner(
            port=0,
            in_memory=True,
            config={
                "listeners": f"PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:{port}",
                "ssl.keystore.location": "/nonexistent.pem",
            },
        )
        with pytest.raises(BrokerStartError, match=r"Cannot read ssl\.keystore\.location"):
            runner.start()
        runner = BrokerRunner(
            port=0,
            in_memory=True,
            config={"listeners": f"PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:{port}"},
        )
        with pytest.raises(BrokerStartError, match=f"SASL_PLAINTEXT://127.0.0.1:{port}"):
            runner.start()
