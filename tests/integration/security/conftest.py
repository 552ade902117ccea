"""Fixtures for the security tests: certificates and a broker with every kind of listener."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from embedded_broker.runner import BrokerRunner
from tests.tls_certs import KEY_PASSWORD, Certs, make_certs

PLAIN_JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="admin" password="admin-secret" user_admin="admin-secret" user_bob="bob-secret";'
)
SCRAM_USERS = (
    ("SCRAM-SHA-256", "alice", "alice-secret", 4096),
    ("SCRAM-SHA-512", "alice", "alice-secret", 8192),
)
LISTENERS = (
    "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,"
    "SASL_SSL://127.0.0.1:0,MTLS://127.0.0.1:0"
)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def secure_config(certs: Certs) -> dict[str, str]:
    return {
        "group.initial.rebalance.delay.ms": "0",
        "listeners": LISTENERS,
        "listener.security.protocol.map": (
            "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL"
        ),
        "ssl.keystore.location": str(certs.server),
        "ssl.key.password": KEY_PASSWORD,
        "listener.name.mtls.ssl.client.auth": "required",
        "listener.name.mtls.ssl.truststore.location": str(certs.ca),
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
        "listener.name.sasl_ssl.plain.sasl.jaas.config": PLAIN_JAAS,
    }


@pytest.fixture(scope="module")
def secure_broker(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRunner]:
    """One broker with PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL and an mTLS listener."""
    runner = BrokerRunner(
        port=0,
        data_dir=tmp_path_factory.mktemp("secure-broker"),
        config=secure_config(certs),
        scram_users=SCRAM_USERS,
    )
    runner.start()
    yield runner
    runner.stop()


def bootstrap(runner: BrokerRunner, listener: str) -> str:
    return runner.listeners[listener].bootstrap


def data_dir_of(runner: BrokerRunner) -> Path:
    assert runner.data_dir is not None
    return runner.data_dir
