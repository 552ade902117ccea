"""Epochs and share groups need requests confluent-kafka lacks, sent over kafka-python's
connections with the profile's security settings: mTLS, SASL PLAIN and SCRAM over TLS; a
PKCS#12 certificate, which kafka-python cannot read, is said plainly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pytestqt.qtbot import QtBot

from desktop.domain.profile import ClusterProfile, Credentials, SaslMechanism, SecurityProtocol
from desktop.models.groups import GroupsModel, MembersModel
from desktop.services.connection import client_config
from embedded_broker.runner import BrokerRunner
from tests.gui.conftest import WAIT_MS
from tests.gui.test_groups import cells, select
from tests.gui.test_groups_support import groups_page, poll_until, unique
from tests.gui.test_groups_types import member_cells
from tests.integration.security.conftest import SCRAM_USERS, secure_config
from tests.tls_certs import Certs, make_certs


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def secured(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRunner]:
    runner = BrokerRunner(
        port=0,
        data_dir=tmp_path_factory.mktemp("secured-groups"),
        config=secure_config(certs),
        scram_users=SCRAM_USERS,
    )
    runner.start()
    yield runner
    runner.stop()


def _profile(kind: str, runner: BrokerRunner, certs: Certs) -> tuple[ClusterProfile, Credentials]:
    if kind == "mtls":
        return ClusterProfile(
            "mtls",
            runner.listeners["MTLS"].bootstrap,
            SecurityProtocol.SSL,
            ca_location=str(certs.ca),
            cert_location=str(certs.client_cert),
            key_location=str(certs.client_key),
        ), Credentials()
    if kind == "plain":
        return ClusterProfile(
            "plain",
            runner.listeners["SASL_PLAINTEXT"].bootstrap,
            SecurityProtocol.SASL_PLAINTEXT,
            SaslMechanism.PLAIN,
            "bob",
        ), Credentials("bob-secret")
    _mech, user, password, _iterations = SCRAM_USERS[1]
    return ClusterProfile(
        "scram",
        runner.listeners["SASL_SSL"].bootstrap,
        SecurityProtocol.SASL_SSL,
        SaslMechanism.SCRAM_SHA_512,
        user,
        ca_location=str(certs.ca),
    ), Credentials(password)


@pytest.mark.parametrize("kind", ["mtls", "plain", "scram"])
def test_member_epochs_over_secured_listeners(
    qtbot: QtBot, secured: BrokerRunner, certs: Certs, kind: str
) -> None:
    profile, creds = _profile(kind, secured, certs)
    topic, group = unique("secure"), unique("g-secure")
    conf = client_config(profile, creds)
    consumer = Consumer(
        {
            **conf,
            "group.id": group,
            "group.protocol": "consumer",
            "auto.offset.reset": "earliest",
            "topic.metadata.refresh.interval.ms": 500,
        }
    )
    admin = AdminClient(conf)  # kept: a dropped client ends the call it made
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    consumer.subscribe([topic])
    try:
        poll_until(qtbot, consumer, lambda: len(consumer.assignment()) == 1)
        with groups_page(qtbot, profile.bootstrap, profile=profile, creds=creds) as page:
            qtbot.waitUntil(
                lambda: (
                    (row := cells(page, group)) is not None and row[GroupsModel.TYPE] == "consumer"
                ),
                timeout=WAIT_MS,
            )
            select(qtbot, page, group)
            qtbot.waitUntil(
                lambda: (
                    len(rows := member_cells(page)) == 1 and rows[0][MembersModel.EPOCH].isdigit()
                ),
                timeout=WAIT_MS,
            )
            assert "Group epoch" in page.detail.protocol.text(), page.detail.protocol.text()
    finally:
        consumer.close()


P12_PASSWORD = "p12-secret"


def _pkcs12(certs: Certs, where: Path) -> Path:
    """The client certificate and key as one PKCS#12 file, as some users have."""
    key = serialization.load_pem_private_key(certs.client_key.read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate(certs.client_cert.read_bytes())
    data = pkcs12.serialize_key_and_certificates(
        b"client",
        key,  # type: ignore[arg-type]
        cert,
        None,
        serialization.BestAvailableEncryption(P12_PASSWORD.encode()),
    )
    path = where / "client.p12"
    path.write_bytes(data)
    return path


def test_a_pkcs12_certificate_is_said_plainly_instead_of_blank_epochs(
    qtbot: QtBot, secured: BrokerRunner, certs: Certs, tmp_path: Path
) -> None:
    """librdkafka reads PKCS#12, kafka-python does not: the list and the consumer group load,
    and the screen says why share groups and epochs are missing."""
    profile = ClusterProfile(
        "p12",
        secured.listeners["MTLS"].bootstrap,
        SecurityProtocol.SSL,
        ca_location=str(certs.ca),
        cert_location=str(_pkcs12(certs, tmp_path)),
    )
    creds = Credentials(key_password=P12_PASSWORD)
    topic, group = unique("p12"), unique("g-p12")
    conf = client_config(profile, creds)
    admin = AdminClient(conf)
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    consumer = Consumer(
        {**conf, "group.id": group, "group.protocol": "consumer", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    try:
        poll_until(qtbot, consumer, lambda: len(consumer.assignment()) == 1)
        with groups_page(qtbot, profile.bootstrap, profile=profile, creds=creds) as page:
            qtbot.waitUntil(lambda: "PKCS#12" in page.wire_note.text(), timeout=WAIT_MS)
            assert page.wire_note.text().startswith("Share groups could not be read")
            select(qtbot, page, group)
            qtbot.waitUntil(lambda: len(member_cells(page)) == 1, timeout=WAIT_MS)
            text = page.detail.protocol.text()
            assert "Member and group epochs could not be read" in text and "PKCS#12" in text
    finally:
        consumer.close()
