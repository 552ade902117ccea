"""Share group APIs under an authorizer: a principal denied Read on the group gets
GROUP_AUTHORIZATION_FAILED, one denied Read on a topic gets TOPIC_AUTHORIZATION_FAILED for its
partitions and no records."""

from __future__ import annotations

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)
from kio.schema.errors import ErrorCode

from tests.broker_fixtures import BrokerFactory

from .conftest import DEADLINE_S, TopicMaker, produce
from .wire import ShareWire

ANONYMOUS = "User:ANONYMOUS"


def _acl(
    bootstrap: str,
    kind: ResourceType,
    name: str,
    op: AclOperation = AclOperation.READ,
    permission: AclPermissionType = AclPermissionType.DENY,
) -> None:
    binding = AclBinding(kind, name, ResourcePatternType.LITERAL, ANONYMOUS, "*", op, permission)
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the futures end
    for fut in admin.create_acls([binding]).values():
        fut.result(DEADLINE_S)


def test_share_apis_check_read_on_the_group_and_the_topic(
    builtin_broker_factory: BrokerFactory, make_topic: TopicMaker
) -> None:
    broker = builtin_broker_factory(
        {
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "true",
        }
    )
    bs = broker.bootstrap
    topic, tid = make_topic(bs)
    produce(bs, topic, 2)
    _acl(bs, ResourceType.GROUP, "locked")
    locked = ShareWire(bs, "locked", tid)
    try:
        assert locked.heartbeat((topic,)).error_code == ErrorCode.group_authorization_failed
        assert locked.fetch().error_code == ErrorCode.group_authorization_failed
    finally:
        locked.close()
    _acl(bs, ResourceType.TOPIC, topic)
    _acl(bs, ResourceType.TOPIC, topic, AclOperation.DESCRIBE, AclPermissionType.ALLOW)
    member = ShareWire(bs, "open", tid)
    try:
        member.join(topic)  # Describe on the topic is allowed
        got = member.got(member.fetch(max_wait_ms=1000))
        assert got.error == ErrorCode.topic_authorization_failed and got.acquired == []
    finally:
        member.close()
