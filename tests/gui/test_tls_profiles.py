"""The app over TLS: a PEM-CA profile (SSL) and SASL_SSL with SCRAM-SHA-512, hostname
verification on, against the built-in broker and real Kafka; a wrong CA said plainly (issue 16)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from pytestqt.qtbot import QtBot

from desktop.domain.profile import ClusterProfile, Credentials, SaslMechanism, SecurityProtocol
from desktop.models.topics import TopicsModel
from desktop.services.connection import client_config
from desktop.views.main_window import MainWindow
from embedded_broker.runner import BrokerRunner
from tests.gui.conftest import WAIT_MS, wait_snapshot
from tests.gui.helpers import shown_values
from tests.integration.security.conftest import SCRAM_USERS, secure_config
from tests.kafka.cluster import KafkaCluster, start_single
from tests.kafka.fixtures import _require_harness
from tests.kafka.node import SCRAM_PASSWORD, SCRAM_USER
from tests.tls_certs import Certs, make_certs

ALICE = (SCRAM_USERS[1][1], SCRAM_USERS[1][2])  # SCRAM-SHA-512


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_broker(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRunner]:
    runner = BrokerRunner(
        port=0,
        data_dir=tmp_path_factory.mktemp("tls-broker"),
        config=secure_config(certs),
        scram_users=SCRAM_USERS,
    )
    runner.start()
    yield runner
    runner.stop()


@pytest.fixture(scope="module")
def kafka_sasl_ssl() -> Iterator[KafkaCluster]:
    _require_harness()
    cluster = start_single(tls=True)
    yield cluster
    cluster.stop_all(graceful=False)  # thrown away: no controlled shutdown to wait out


def ssl_profile(bootstrap: str, ca: Path) -> ClusterProfile:
    return ClusterProfile(
        f"tls-{uuid.uuid4().hex[:6]}",
        bootstrap,
        SecurityProtocol.SSL,
        ca_location=str(ca),
        verify_hostname=True,
    )


def sasl_ssl_profile(bootstrap: str, ca: Path, username: str) -> ClusterProfile:
    return ClusterProfile(
        f"sasl-ssl-{uuid.uuid4().hex[:6]}",
        bootstrap,
        SecurityProtocol.SASL_SSL,
        SaslMechanism.SCRAM_SHA_512,
        username,
        ca_location=str(ca),
        verify_hostname=True,
    )


def check_topics_load(
    qtbot: QtBot, window: MainWindow, profile: ClusterProfile, creds: Credentials
) -> None:
    """A topic made over the same secured listener shows in the app's topics list."""
    topic = f"secured-{uuid.uuid4().hex[:6]}"
    admin = AdminClient(client_config(profile, creds))
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=20)
    view = window.open_cluster(profile, creds)
    wait_snapshot(qtbot, view)
    assert profile.verify_hostname and view.session.profile.security_protocol.uses_tls
    view.tabs.setCurrentWidget(view.topics)
    qtbot.waitUntil(
        lambda: topic in shown_values(view.topics.table, TopicsModel.NAME), timeout=WAIT_MS
    )
    assert not view.banner.isVisible()


def check_wrong_ca(
    qtbot: QtBot, window: MainWindow, profile: ClusterProfile, creds: Credentials
) -> None:
    """A CA that did not sign the broker's certificate: the banner says so in words."""
    view = window.open_cluster(profile, creds)
    qtbot.waitUntil(view.banner.isVisible, timeout=60_000)
    text = view.banner.text()
    assert "TLS handshake failed" in text, text
    assert "certificate could not be verified" in text and "Check the CA file" in text
    assert "ssl://" not in text.lower() and "SSL handshake" not in text, text  # not librdkafka's


def test_builtin_ssl_with_pem_ca(
    qtbot: QtBot, window: MainWindow, tls_broker: BrokerRunner, certs: Certs
) -> None:
    bootstrap = tls_broker.listeners["SSL"].bootstrap
    check_topics_load(qtbot, window, ssl_profile(bootstrap, certs.ca), Credentials())


def test_builtin_sasl_ssl_scram(
    qtbot: QtBot, window: MainWindow, tls_broker: BrokerRunner, certs: Certs
) -> None:
    bootstrap = tls_broker.listeners["SASL_SSL"].bootstrap
    profile = sasl_ssl_profile(bootstrap, certs.ca, ALICE[0])
    check_topics_load(qtbot, window, profile, Credentials(ALICE[1]))


def test_builtin_wrong_ca_is_said_plainly(
    qtbot: QtBot, window: MainWindow, tls_broker: BrokerRunner, certs: Certs
) -> None:
    bootstrap = tls_broker.listeners["SSL"].bootstrap
    check_wrong_ca(qtbot, window, ssl_profile(bootstrap, certs.other_ca), Credentials())


@pytest.mark.realkafka
def test_real_kafka_sasl_ssl_scram(
    qtbot: QtBot, window: MainWindow, kafka_sasl_ssl: KafkaCluster
) -> None:
    profile = sasl_ssl_profile(
        kafka_sasl_ssl.sasl_ssl_bootstrap, kafka_sasl_ssl.ca_file, SCRAM_USER
    )
    check_topics_load(qtbot, window, profile, Credentials(SCRAM_PASSWORD))


@pytest.mark.realkafka
def test_real_kafka_wrong_ca_is_said_plainly(
    qtbot: QtBot, window: MainWindow, kafka_sasl_ssl: KafkaCluster, certs: Certs
) -> None:
    profile = sasl_ssl_profile(kafka_sasl_ssl.sasl_ssl_bootstrap, certs.other_ca, SCRAM_USER)
    check_wrong_ca(qtbot, window, profile, Credentials(SCRAM_PASSWORD))
