"""ACLs through confluent-kafka: the same bodies against the built-in broker and real Kafka."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from embedded_broker.runner import BrokerRunner
from tests.broker_fixtures import RunningBroker
from tests.kafka.fixtures import KafkaAcl

from . import acl_checks, acl_refusals, acl_txn_checks
from .acl_checks import AclTarget

ADMIN = ("alice", "alice-secret")
USER = ("bob", "bob-secret")
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def acl_broker_config() -> dict[str, str]:
    return {
        "listeners": "SASL_PLAINTEXT://127.0.0.1:0",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "authorizer.class.name": AUTHORIZER,
        "super.users": "User:ANONYMOUS;User:alice",
        "group.initial.rebalance.delay.ms": "0",
    }


SCRAM = (("SCRAM-SHA-512", *ADMIN, 4096), ("SCRAM-SHA-512", *USER, 4096))


def start_acl_broker(data_dir: Path) -> BrokerRunner:
    runner = BrokerRunner(port=0, data_dir=data_dir, config=acl_broker_config(), scram_users=SCRAM)
    runner.start(timeout=30)  # a loaded machine (a Kafka JVM beside it) can be slow
    return runner


def client(runner: BrokerRunner, who: tuple[str, str]) -> dict[str, str | int | float | bool]:
    return {
        "bootstrap.servers": runner.listeners["SASL_PLAINTEXT"].bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": who[0],
        "sasl.password": who[1],
    }


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRunner]:
    runner = start_acl_broker(tmp_path_factory.mktemp("acl-broker"))
    yield runner
    runner.stop()


@pytest.fixture(params=["builtin", pytest.param("realkafka", marks=pytest.mark.realkafka)])
def target(request: pytest.FixtureRequest) -> AclTarget:
    if request.param == "builtin":
        runner: BrokerRunner = request.getfixturevalue("acl_broker")
        return AclTarget(admin=client(runner, ADMIN), user=client(runner, USER))
    kafka: KafkaAcl = request.getfixturevalue("kafka_acl")
    return AclTarget(admin=kafka.client_config(kafka.admin), user=kafka.client_config(kafka.user))


BODIES: dict[str, Callable[[AclTarget], None]] = {
    "produce_needs_write": acl_checks.check_produce_needs_write,
    "metadata_hides_topics": acl_checks.check_metadata_hides_topics_without_describe,
    "literal_deny_beats_prefixed_allow": acl_checks.check_literal_deny_beats_prefixed_allow,
    "super_user": acl_checks.check_super_user_needs_no_acl,
    "group_read": acl_checks.check_consuming_with_a_group_needs_group_read,
    "group_read_kip848": acl_checks.check_consumer_protocol_needs_group_read,
    "acl_apis": acl_checks.check_create_describe_delete_acls,
    "offset_fetch_hides_topics": acl_checks.check_offset_fetch_hides_topics_without_describe,
    "txn_init_needs_txn_write": acl_txn_checks.check_init_needs_write_on_the_transactional_id,
    "txn_topic_write_group_read": acl_txn_checks.check_transaction_needs_topic_write_and_group_read,
}


@pytest.mark.parametrize("body", list(BODIES))
def test_acls(target: AclTarget, body: str) -> None:
    BODIES[body](target)


EVERY_ACL = AclBindingFilter(
    ResourceType.ANY,
    None,
    ResourcePatternType.ANY,
    None,
    None,
    AclOperation.ANY,
    AclPermissionType.ANY,
)


def test_acl_apis_without_an_authorizer_say_security_disabled(
    builtin_broker: RunningBroker,
) -> None:
    admin = AdminClient({"bootstrap.servers": builtin_broker.bootstrap})
    acl = AclBinding(
        ResourceType.TOPIC,
        "t",
        ResourcePatternType.LITERAL,
        "User:bob",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    with pytest.raises(KafkaException) as caught:
        admin.create_acls([acl])[acl].result(acl_checks.DEADLINE_S)
    assert caught.value.args[0].code() == KafkaError.SECURITY_DISABLED


def test_acls_survive_a_restart(tmp_path: Path) -> None:
    runner = start_acl_broker(tmp_path / "data")
    try:
        target = AclTarget(admin=client(runner, ADMIN), user=client(runner, USER))
        topic = acl_checks.new_topic(target)
        acl_checks.allow(target, ResourceType.TOPIC, topic, AclOperation.WRITE)
    finally:
        runner.stop()
    runner = start_acl_broker(tmp_path / "data")
    try:
        target = AclTarget(admin=client(runner, ADMIN), user=client(runner, USER))
        admin = AdminClient(target.admin)
        listed = admin.describe_acls(EVERY_ACL).result(acl_checks.DEADLINE_S)
        assert [(a.name, a.principal, a.operation) for a in listed] == [
            (topic, "User:bob", AclOperation.WRITE)
        ]
        assert acl_checks.produce_error(target.user, topic) is None
    finally:
        runner.stop()


def test_admin_calls_of_a_user_without_acls(target: AclTarget) -> None:
    """Each admin API answers the error Kafka's handler gives (the table in handlers/authz)."""
    acl_refusals.check_admin_calls_refused_without_acls(target)
