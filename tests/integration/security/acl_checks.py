"""ACL test bodies shared by the built-in broker and real Kafka's StandardAuthorizer node."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
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

from tests.integration.cluster.local_cluster import wait_for

ClientConfig = dict[str, str | int | float | bool]
DEADLINE_S = 15.0


@dataclass(frozen=True)
class AclTarget:
    """A broker with an authorizer: a super user's and a plain user's client settings."""

    admin: ClientConfig
    user: ClientConfig

    @property
    def principal(self) -> str:
        return f"User:{self.user['sasl.username']}"


def new_topic(target: AclTarget, prefix: str = "acl") -> str:
    topic = f"{prefix}-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(target.admin)
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(DEADLINE_S)
    return topic


def allow(
    target: AclTarget,
    rtype: ResourceType,
    name: str,
    op: AclOperation,
    *,
    pattern: ResourcePatternType = ResourcePatternType.LITERAL,
    permission: AclPermissionType = AclPermissionType.ALLOW,
) -> AclBinding:
    """Create one ACL for the plain user as the super user; waits until the broker has it."""
    acl = AclBinding(rtype, name, pattern, target.principal, "*", op, permission)
    admin = AdminClient(target.admin)
    admin.create_acls([acl])[acl].result(DEADLINE_S)
    # Kafka's broker applies it from the metadata log a moment after CreateAcls returns (the
    # controller answers it): until then its authorizer would still refuse what it allows
    wait_for(lambda: str(acl) in _described(admin, name), DEADLINE_S, f"the broker to list {acl}")
    return acl


def _described(admin: AdminClient, name: str) -> list[str]:
    """The ACLs of resources named ``name`` that the broker's authorizer holds."""
    every = AclBindingFilter(
        ResourceType.ANY,
        name,
        ResourcePatternType.ANY,
        None,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    return [str(a) for a in admin.describe_acls(every).result(DEADLINE_S)]


def produce_error(config: ClientConfig, topic: str, partition: int = -1) -> KafkaError | None:
    """The delivery error of one record (None: delivered)."""
    errors: list[KafkaError | None] = []
    producer = Producer(
        {**config, "delivery.timeout.ms": 10_000, "topic.metadata.refresh.interval.ms": 500}
    )
    producer.produce(
        topic, b"v", partition=partition, on_delivery=lambda err, _msg: errors.append(err)
    )
    producer.flush(DEADLINE_S)
    assert errors, "no delivery report"
    return errors[0]


def check_produce_needs_write(target: AclTarget) -> None:
    topic = new_topic(target)
    allow(target, ResourceType.TOPIC, topic, AclOperation.DESCRIBE)
    err = produce_error(target.user, topic)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    allow(target, ResourceType.TOPIC, topic, AclOperation.WRITE)
    assert produce_error(target.user, topic) is None


def check_metadata_hides_topics_without_describe(target: AclTarget) -> None:
    seen, hidden = new_topic(target), new_topic(target)
    allow(target, ResourceType.TOPIC, seen, AclOperation.READ)  # Read implies Describe
    user = AdminClient(target.user)
    topics = user.list_topics(timeout=DEADLINE_S).topics
    assert seen in topics
    assert hidden not in topics
    named = user.list_topics(topic=hidden, timeout=DEADLINE_S).topics[hidden]
    assert named.error is not None
    assert named.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def check_literal_deny_beats_prefixed_allow(target: AclTarget) -> None:
    prefix = f"pfx-{uuid.uuid4().hex[:6]}-"
    ok, denied = new_topic(target, prefix + "ok"), new_topic(target, prefix + "no")
    prefixed = ResourcePatternType.PREFIXED
    allow(target, ResourceType.TOPIC, prefix, AclOperation.WRITE, pattern=prefixed)
    allow(
        target,
        ResourceType.TOPIC,
        denied,
        AclOperation.WRITE,
        permission=AclPermissionType.DENY,
    )
    assert produce_error(target.user, ok) is None
    err = produce_error(target.user, denied)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err


def check_super_user_needs_no_acl(target: AclTarget) -> None:
    topic = new_topic(target)
    assert produce_error(target.admin, topic) is None
    assert first_record(target.admin, topic, f"g-{topic}") == b"v"


def first_record(config: ClientConfig, topic: str, group: str) -> bytes | KafkaError:
    """The first record's value, or the first error that is not a transient one."""
    consumer = Consumer({**config, "group.id": group, "auto.offset.reset": "earliest"})
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() in (
                    KafkaError.GROUP_AUTHORIZATION_FAILED,
                    KafkaError.TOPIC_AUTHORIZATION_FAILED,
                ):
                    return err
                continue
            value = msg.value()
            assert value is not None
            return value
        raise AssertionError("neither a record nor an authorization error came")
    finally:
        consumer.close()


def check_consuming_with_a_group_needs_group_read(
    target: AclTarget, protocol: str = "classic"
) -> None:
    """``protocol``: classic (JoinGroup) or KIP-848 consumer (ConsumerGroupHeartbeat)."""
    topic = new_topic(target)
    assert produce_error(target.admin, topic) is None
    allow(target, ResourceType.TOPIC, topic, AclOperation.READ)
    group = f"g-{topic}"
    user = {**target.user, "group.protocol": protocol}
    err = first_record(user, topic, group)
    assert isinstance(err, KafkaError) and err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    allow(target, ResourceType.GROUP, group, AclOperation.READ)
    assert first_record(user, topic, group) == b"v"


def check_consumer_protocol_needs_group_read(target: AclTarget) -> None:
    check_consuming_with_a_group_needs_group_read(target, "consumer")


def check_create_describe_delete_acls(target: AclTarget) -> None:
    admin = AdminClient(target.admin)
    name = f"acl-api-{uuid.uuid4().hex[:8]}"
    acls = [
        AclBinding(
            ResourceType.TOPIC,
            name,
            ResourcePatternType.LITERAL,
            target.principal,
            "*",
            AclOperation.READ,
            AclPermissionType.ALLOW,
        ),
        AclBinding(
            ResourceType.GROUP,
            name,
            ResourcePatternType.PREFIXED,
            target.principal,
            "*",
            AclOperation.DESCRIBE,
            AclPermissionType.DENY,
        ),
    ]
    for fut in admin.create_acls(acls).values():
        fut.result(DEADLINE_S)
    mine = AclBindingFilter(
        ResourceType.ANY,
        name,
        ResourcePatternType.ANY,
        target.principal,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    # the broker lists them once it has applied them from the metadata log (Kafka: a moment
    # after CreateAcls returns)
    wait_for(
        lambda: (
            sorted(map(str, admin.describe_acls(mine).result(DEADLINE_S))) == sorted(map(str, acls))
        ),
        DEADLINE_S,
        "the broker to list both ACLs",
    )
    # MATCH: the patterns that apply to a resource of that name (the prefixed one does too)
    match = AclBindingFilter(
        ResourceType.GROUP,
        name + "-x",
        ResourcePatternType.MATCH,
        None,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    assert [str(a) for a in admin.describe_acls(match).result(DEADLINE_S)] == [str(acls[1])]
    # the plain user may not change ACLs (Alter on the cluster)
    user = AdminClient(target.user)  # kept: a collected client fails its futures
    try:
        user.create_acls([acls[0]])[acls[0]].result(DEADLINE_S)
    except KafkaException as exc:
        assert exc.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED, exc.args[0]
    else:
        raise AssertionError("create_acls by a user without Alter on the cluster worked")
    deleted = admin.delete_acls([mine])[mine].result(DEADLINE_S)
    assert sorted(map(str, deleted)) == sorted(map(str, acls))
    wait_for(
        lambda: admin.describe_acls(mine).result(DEADLINE_S) == [],
        DEADLINE_S,
        "the broker to drop both ACLs",
    )


def check_offset_fetch_hides_topics_without_describe(target: AclTarget) -> None:
    """A group's committed offsets of a topic the user may not Describe: left out when every
    offset is asked for, TOPIC_AUTHORIZATION_FAILED when that partition is named."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    seen, hidden = new_topic(target), new_topic(target)
    group = f"g-{seen}"
    admin = AdminClient(target.admin)
    committed = [TopicPartition(seen, 0, 0), TopicPartition(hidden, 0, 0)]
    for fut in admin.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, committed)]
    ).values():
        fut.result(DEADLINE_S)
    allow(target, ResourceType.TOPIC, seen, AclOperation.READ)
    allow(target, ResourceType.GROUP, group, AclOperation.READ)
    user = AdminClient(target.user)
    # Kafka's brokers apply new ACLs from the metadata log a moment after CreateAcls returns
    deadline = time.monotonic() + DEADLINE_S
    while True:
        every = user.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])
        listed = [(tp.topic, tp.offset) for tp in every[group].result(DEADLINE_S).topic_partitions]
        if listed or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert listed == [(seen, 0)]
    named = ConsumerGroupTopicPartitions(group, [TopicPartition(hidden, 0)])
    try:
        result = user.list_consumer_group_offsets([named])[group].result(DEADLINE_S)
    except KafkaException as exc:
        assert exc.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, exc.args[0]
    else:
        [tp] = result.topic_partitions
        assert tp.error is not None, tp
        assert tp.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, tp.error
