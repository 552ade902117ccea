"""What a user with no ACLs gets from each admin call: one body for both brokers."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    ElectionType,
    KafkaError,
    KafkaException,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import (
    AclOperation,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    ResourceType,
    ScramMechanism,
    UserScramCredentialDeletion,
)

from .acl_checks import DEADLINE_S, AclTarget, allow, new_topic, produce_error


def _outcome(call: Callable[[], Any]) -> str:
    """The error code name of the call's first failed future, or OK."""
    try:
        futures = call()
        pending = futures.values() if isinstance(futures, dict) else [futures]
        for fut in pending:
            assert isinstance(fut, Future)
            fut.result(DEADLINE_S)
    except KafkaException as exc:
        err = exc.args[0]
        return str(err.name()) if isinstance(err, KafkaError) else str(err)
    return "OK"


def refusals(target: AclTarget) -> dict[str, str]:
    """Each admin call of a user with no ACLs (but Read on one topic, which implies Describe)."""
    topic, readable = new_topic(target), new_topic(target)
    assert produce_error(target.admin, topic) is None
    allow(target, ResourceType.TOPIC, readable, AclOperation.READ)
    group = f"g-{topic}"
    user = AdminClient(target.user)
    tp = TopicPartition(topic, 0)
    res = ConfigResource(ResourceType.TOPIC, topic)
    alter = ConfigResource(
        ResourceType.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    broker = ConfigResource(ResourceType.BROKER, "1")
    calls: dict[str, Callable[[], Any]] = {
        "create_topics": lambda: user.create_topics([NewTopic(f"{topic}-new", 1, 1)]),
        "delete_topics": lambda: user.delete_topics([topic]),
        "create_partitions": lambda: user.create_partitions([NewPartitions(topic, 2)]),
        "describe_configs": lambda: user.describe_configs([res]),
        "describe_broker_configs": lambda: user.describe_configs([broker]),
        "incremental_alter_configs": lambda: user.incremental_alter_configs([alter]),
        "list_offsets": lambda: user.list_offsets({tp: OffsetSpec.latest()}),
        "delete_records": lambda: user.delete_records([TopicPartition(topic, 0, 0)]),
        "describe_topics": lambda: user.describe_topics(TopicCollection([topic])),
        "describe_consumer_groups": lambda: user.describe_consumer_groups([group]),
        "delete_consumer_groups": lambda: user.delete_consumer_groups([group]),
        "list_consumer_group_offsets": lambda: user.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)]
        ),
        "elect_leaders": lambda: user.elect_leaders(ElectionType.PREFERRED, [tp]),
        "alter_user_scram_credentials": lambda: user.alter_user_scram_credentials(
            [UserScramCredentialDeletion("nobody", ScramMechanism.SCRAM_SHA_512)]
        ),
        "describe_readable_topic": lambda: user.describe_topics(TopicCollection([readable])),
    }
    return {name: _outcome(call) for name, call in calls.items()}


EXPECTED = {
    "create_topics": "TOPIC_AUTHORIZATION_FAILED",
    "delete_topics": "TOPIC_AUTHORIZATION_FAILED",
    "create_partitions": "TOPIC_AUTHORIZATION_FAILED",
    "describe_configs": "TOPIC_AUTHORIZATION_FAILED",
    "describe_broker_configs": "CLUSTER_AUTHORIZATION_FAILED",
    "incremental_alter_configs": "TOPIC_AUTHORIZATION_FAILED",
    # librdkafka looks the partition leader up in Metadata first, where the topic is hidden
    "list_offsets": "_NOENT",
    "delete_records": "_NOENT",
    "describe_topics": "TOPIC_AUTHORIZATION_FAILED",
    "describe_consumer_groups": "GROUP_AUTHORIZATION_FAILED",
    "delete_consumer_groups": "GROUP_AUTHORIZATION_FAILED",
    "list_consumer_group_offsets": "GROUP_AUTHORIZATION_FAILED",
    "elect_leaders": "CLUSTER_AUTHORIZATION_FAILED",
    "alter_user_scram_credentials": "CLUSTER_AUTHORIZATION_FAILED",
    "describe_readable_topic": "OK",
}


def check_admin_calls_refused_without_acls(target: AclTarget) -> None:
    got = refusals(target)
    assert got == EXPECTED, {k: v for k, v in got.items() if EXPECTED[k] != v}
