"""ssl.principal.mapping.rules on an mTLS listener: the authorizer sees the mapped name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from embedded_broker.runner import BrokerRunner, BrokerStartError
from tests.tls_certs import KEY_PASSWORD, Certs

from .acl_checks import DEADLINE_S, AclTarget, new_topic, produce_error
from .test_acl_clients import ADMIN, AUTHORIZER, client
from .test_tls import client_context, served, ssl_config

# The client certificate's subject is CN=client,O=Topicscope Tests.
RULES = "RULE:^CN=([^,]+),O=Topicscope Tests$/svc-$1/L, RULE:^CN=([^,]+),O=Ops$/$1/"
MAPPED = "User:svc-client"
UNMAPPED = "User:CN=client,O=Topicscope Tests"


def mtls_broker(data_dir: Path, certs: Certs, rules: str) -> BrokerRunner:
    runner = BrokerRunner(
        port=0,
        data_dir=data_dir,
        config={
            "listeners": "SASL_PLAINTEXT://127.0.0.1:0,MTLS://127.0.0.1:0",
            "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,MTLS:SSL",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "ssl.keystore.location": str(certs.server),
            "ssl.key.password": KEY_PASSWORD,
            "listener.name.mtls.ssl.client.auth": "required",
            "listener.name.mtls.ssl.truststore.location": str(certs.ca),
            "listener.name.mtls.ssl.principal.mapping.rules": rules,
            "authorizer.class.name": AUTHORIZER,
            "super.users": f"User:{ADMIN[0]}",
        },
        scram_users=[("SCRAM-SHA-512", *ADMIN, 4096)],
    )
    runner.start(timeout=30)
    return runner


@pytest.fixture(scope="module")
def mapped_broker(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRunner]:
    runner = mtls_broker(tmp_path_factory.mktemp("mapped"), certs, RULES)
    yield runner
    runner.stop()


def cert_client(runner: BrokerRunner, certs: Certs) -> dict[str, str | int | float | bool]:
    return ssl_config(
        runner,
        "MTLS",
        certs.ca,
        **{
            "ssl.certificate.location": str(certs.client_cert),
            "ssl.key.location": str(certs.client_key),
        },
    )


def allow_write(admin: dict[str, str | int | float | bool], principal: str, topic: str) -> None:
    acl = AclBinding(
        ResourceType.TOPIC,
        topic,
        ResourcePatternType.LITERAL,
        principal,
        "*",
        AclOperation.WRITE,
        AclPermissionType.ALLOW,
    )
    handle = AdminClient(admin)  # kept: a collected client cancels its requests
    handle.create_acls([acl])[acl].result(DEADLINE_S)


def test_acls_for_the_mapped_name_apply_to_the_certificate(
    mapped_broker: BrokerRunner, certs: Certs
) -> None:
    admin = client(mapped_broker, ADMIN)
    user = cert_client(mapped_broker, certs)
    topics = AclTarget(admin=admin, user=user)
    topic = new_topic(topics)
    allow_write(admin, MAPPED, topic)
    assert produce_error(user, topic) is None

    # an ACL for the certificate's whole subject no longer names this client
    other = new_topic(topics)
    allow_write(admin, UNMAPPED, other)
    err = produce_error(user, other)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err


def test_a_certificate_no_rule_maps_is_refused(
    certs: Certs, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runner = mtls_broker(tmp_path / "data", certs, "RULE:^CN=([^,]+),O=Ops$/$1/")
    try:
        context = client_context(certs)
        context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
        with caplog.at_level("WARNING", logger="embedded_broker"):
            assert not served(runner.listeners["MTLS"].port, context)
        assert "no ssl.principal.mapping.rules rule applies" in caplog.text
        assert "CN=client,O=Topicscope Tests" in caplog.text
    finally:
        runner.stop()


def test_invalid_rules_stop_the_start(certs: Certs, tmp_path: Path) -> None:
    with pytest.raises(BrokerStartError, match=r"Invalid ssl\.principal\.mapping\.rules rule"):
        mtls_broker(tmp_path / "data", certs, "RULE:^CN=(.*$/$1/")
