"""ACLs in a --brokers N cluster live in the controller's metadata log: created through one
broker, every broker enforces them, and a restarted broker still has them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from tests.integration.cluster.local_cluster import LocalCluster, unless_not_yet, wait_for

from .acl_checks import DEADLINE_S, produce_error

AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@pytest.fixture
def acl_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    # PLAINTEXT only: every client is User:ANONYMOUS, allowed wherever no ACL names the resource
    extra = [
        "--config",
        f"authorizer.class.name={AUTHORIZER}",
        "--config",
        "allow.everyone.if.no.acl.found=true",
    ]
    cluster = LocalCluster(tmp_path / "cluster", 2, extra)
    try:
        cluster.wait_all_active()
        yield cluster
    finally:
        cluster.discard()


def _broker(cluster: LocalCluster, node_id: int) -> str:
    node = cluster.node(node_id)
    return f"{node['host']}:{node['port']}"


EVERY = AclBindingFilter(
    ResourceType.ANY,
    None,
    ResourcePatternType.ANY,
    None,
    None,
    AclOperation.ANY,
    AclPermissionType.ANY,
)


def _listed(bootstrap: str) -> list[str] | None:
    """The ACLs one broker lists; None when it is too busy to answer in time (ask again)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return unless_not_yet(lambda: [str(a) for a in admin.describe_acls(EVERY).result(DEADLINE_S)])


def test_an_acl_made_through_one_broker_holds_on_every_broker(acl_cluster: LocalCluster) -> None:
    first, second = _broker(acl_cluster, 101), _broker(acl_cluster, 102)
    admin = AdminClient({"bootstrap.servers": first})
    admin.create_topics([NewTopic("locked", 2, 2)])["locked"].result(DEADLINE_S)
    deny = AclBinding(
        ResourceType.TOPIC,
        "locked",
        ResourcePatternType.LITERAL,
        "User:ANONYMOUS",
        "*",
        AclOperation.WRITE,
        AclPermissionType.DENY,
    )
    admin.create_acls([deny])[deny].result(DEADLINE_S)
    # the controller answers CreateAcls: each broker, even the one that forwarded it, has the
    # ACL once it has replayed it from the metadata log, a moment later
    wait_for(lambda: _listed(first) == [str(deny)], 10, "broker 101 to have the ACL")
    wait_for(lambda: _listed(second) == [str(deny)], 10, "broker 102 to have the ACL")
    # both partitions (led by different brokers) refuse the write
    for partition in (0, 1):
        err = produce_error({"bootstrap.servers": second}, "locked", partition)
        assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    acl_cluster.kill(102)
    acl_cluster.restart_node(102)
    assert _listed(second) == [str(deny)]
    deleted = admin.delete_acls([EVERY])[EVERY].result(DEADLINE_S)
    assert [str(a) for a in deleted] == [str(deny)]
    wait_for(lambda: _listed(second) == [], 10, "broker 102 to drop the ACL")
