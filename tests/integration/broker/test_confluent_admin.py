"""confluent-kafka AdminClient: every admin call the built-in broker implements."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    ResourceType,
)

from tests.broker_fixtures import RunningBroker

from .clients import TIMEOUT_S, consumer, create_topic, produce_all, producer


def _result(futures: dict[object, object]) -> None:
    for fut in futures.values():
        fut.result(timeout=TIMEOUT_S)  # type: ignore[attr-defined]


def _describe_topic(client: AdminClient, topic: str) -> dict[str, ConfigEntry]:
    res = ConfigResource(ResourceType.TOPIC, topic)
    return client.describe_configs([res])[res].result(timeout=TIMEOUT_S)  # type: ignore[no-any-return]


def test_create_topic_with_configs_and_describe(builtin_broker: RunningBroker) -> None:
    client = AdminClient({"bootstrap.servers": builtin_broker.bootstrap})
    _result(
        client.create_topics(
            [
                NewTopic(
                    "orders", 3, 1, config={"retention.ms": "3600000", "cleanup.policy": "delete"}
                )
            ]
        )
    )
    md = client.list_topics(timeout=TIMEOUT_S)
    assert len(md.topics["orders"].partitions) == 3
    assert md.brokers and md.controller_id == next(iter(md.brokers))
    configs = _describe_topic(client, "orders")
    assert configs["retention.ms"].value == "3600000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["segment.bytes"].value == "1073741824"
    assert configs["segment.bytes"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["max.message.bytes"].value == "1048588"
    assert configs["min.insync.replicas"].value == "1"
    assert configs["message.timestamp.type"].value == "CreateTime"
    assert configs["compression.type"].value == "producer"
    assert configs["retention.bytes"].value == "-1"


def test_create_topic_errors(builtin_broker: RunningBroker) -> None:
    client = AdminClient({"bootstrap.servers": builtin_broker.bootstrap})
    bad_name = client.create_topics([NewTopic("bad name!", 1, 1)])["bad name!"]
    with pytest.raises(KafkaException) as info:
        bad_name.result(timeout=TIMEOUT_S)
    assert info.value.args[0].name() == "TOPIC_EXCEPTION"
    rf = client.create_topics([NewTopic("rf2", 1, 2)])["rf2"]
    with pytest.raises(KafkaException) as info:
        rf.result(timeout=TIMEOUT_S)
    assert info.value.args[0].name() == "INVALID_REPLICATION_FACTOR"
    assert "only 1 broker(s) are registered" in info.value.args[0].str()
    bad_cfg = client.create_topics([NewTopic("badcfg", 1, 1, config={"retention.ms": "soon"})])
    with pytest.raises(KafkaException) as info:
        bad_cfg["badcfg"].result(timeout=TIMEOUT_S)
    assert info.value.args[0].name() == "INVALID_CONFIG"
    _result(client.create_topics([NewTopic("twice", 1, 1)]))
    with pytest.raises(KafkaException) as info:
        client.create_topics([NewTopic("twice", 1, 1)])["twice"].result(timeout=TIMEOUT_S)
    assert info.value.args[0].name() == "TOPIC_ALREADY_EXISTS"
    _result(client.create_topics([NewTopic("only-validated", 1, 1)], validate_only=True))
    assert "only-validated" not in client.list_topics(timeout=TIMEOUT_S).topics


def test_default_partitions_and_replication(builtin_broker: RunningBroker) -> None:
    client = AdminClient({"bootstrap.servers": builtin_broker.bootstrap})
    _result(client.create_topics([NewTopic("defaults")]))
    md = client.list_topics(timeout=TIMEOUT_S)
    assert len(md.topics["defaults"].partitions) == 1


@pytest.mark.filterwarnings("ignore:alter_configs has been deprecated:DeprecationWarning")
def test_alter_and_incremental_alter_configs(builtin_broker: RunningBroker) -> None:
    client = AdminClient({"bootstrap.servers": builtin_broker.bootstrap})
    _result(client.create_topics([NewTopic("cfg", 1, 1)]))
    res = ConfigResource(ResourceType.TOPIC, "cfg", set_config={"retention.bytes": "1000000"})
    _result(client.alter_configs([res]))
    assert _describe_topic(client, "cfg")["retention.bytes"].value == "1000000"
    inc = ConfigResource(
        ResourceType.TOPIC,
        "cfg",
        incremental_configs=[
            ConfigEntry("retention.ms", "60000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry(
                "cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND
            ),
            ConfigEntry("retention.bytes", None, incremental_operation=AlterConfigOpType.DELETE),
        ],
    )
    _result(client.incremental_alter_configs([inc]))
    configs = _describe_topic(client, "cfg")
    assert configs["retention.ms"].value == "60000"
    assert configs["cleanup.policy"].value == "delete,compact"
    assert configs["retention.bytes"].value == "-1"
    sub = ConfigResource(
        ResourceType.TOPIC,
        "cfg",
        incremental_configs=[
            ConfigEntry(
                "cleanup.policy", "delete", incremental_operation=AlterConfigOpType.SUBTRACT
            )
        ],
    )
    _result(client.incremental_alter_configs([sub]))
    assert _describe_topic(client, "cfg")["cleanup.policy"].value == "compact"
    bad = ConfigResource(ResourceType.TOPIC, "cfg", set_config={"no.such.config": "1"})
    with pytest.raises(KafkaException):
        _result(client.alter_configs([bad]))


def test_describe_broker_configs(builtin_broker: RunningBroker) -> None:
    client = AdminClient({"bootstrap.servers": builtin_broker.bootstrap})
    node = client.list_topics(timeout=TIMEOUT_S).controller_id
    res = ConfigResource(ResourceType.BROKER, str(node))
    configs = client.describe_configs([res])[res].result(timeout=TIMEOUT_S)
    assert configs["auto.create.topics.enable"].value == "true"
    assert configs["num.partitions"].value == "1"
    assert configs["log.retention.hours"].value == "168"
    assert configs["group.initial.rebalance.delay.ms"].value == "0"
    assert configs["group.initial.rebalance.delay.ms"].source == (
        ConfigSource.STATIC_BROKER_CONFIG.value
    )
    assert configs["socket.request.max.bytes"].is_read_only


def test_create_partitions(builtin_broker: RunningBroker) -> None:
    client = AdminClient({"bootstrap.servers": builtin_broker.bootstrap})
    _result(client.create_topics([NewTopic("grow", 2, 1)]))
    _result(client.create_partitions([NewPartitions("grow", 5)]))
    assert len(client.list_topics(timeout=TIMEOUT_S).topics["grow"].partitions) == 5
    with pytest.raises(KafkaException) as info:
        _result(client.create_partitions([NewPartitions("grow", 3)]))
    assert info.value.args[0].name() == "INVALID_PARTITIONS"
    produce_all(producer(builtin_broker.bootstrap), "grow", [{"value": b"x", "partition": 4}])


def test_delete_records_moves_low_watermark(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "trim")
    produce_all(
        producer(bs), "trim", [{"value": str(i).encode(), "partition": 0} for i in range(50)]
    )
    client = AdminClient({"bootstrap.servers": bs})
    futures = client.delete_records([TopicPartition("trim", 0, 20)])
    for fut in futures.values():
        fut.result(timeout=TIMEOUT_S)
    cons = consumer(bs)
    try:
        low, high = cons.get_watermark_offsets(TopicPartition("trim", 0), timeout=TIMEOUT_S)
    finally:
        cons.close()
    assert high == 50
    assert low == 20
    listed = client.list_offsets({TopicPartition("trim", 0): OffsetSpec.earliest()})
    for fut in listed.values():
        assert fut.result(timeout=TIMEOUT_S).offset == 20


def test_list_offsets_admin(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "lo")
    produce_all(
        producer(bs),
        "lo",
        [{"value": b"x", "partition": 0, "timestamp": 1_700_000_000_000 + i} for i in range(5)],
    )
    client = AdminClient({"bootstrap.servers": bs})
    tp = TopicPartition("lo", 0)
    for spec, expected in (
        (OffsetSpec.earliest(), 0),
        (OffsetSpec.latest(), 5),
        (OffsetSpec.max_timestamp(), 4),
        (OffsetSpec.for_timestamp(1_700_000_000_002), 2),
    ):
        result = client.list_offsets({tp: spec})[tp].result(timeout=TIMEOUT_S)
        assert result.offset == expected


def test_describe_cluster(builtin_broker: RunningBroker) -> None:
    client = AdminClient({"bootstrap.servers": builtin_broker.bootstrap})
    cluster = client.describe_cluster().result(timeout=TIMEOUT_S)
    assert cluster.cluster_id
    assert len(cluster.nodes) == 1
    assert cluster.controller.id == cluster.nodes[0].id
    assert cluster.nodes[0].port == builtin_broker.port


def test_delete_topics(builtin_broker: RunningBroker) -> None:
    client = AdminClient({"bootstrap.servers": builtin_broker.bootstrap})
    _result(client.create_topics([NewTopic("doomed", 2, 1)]))
    produce_all(producer(builtin_broker.bootstrap), "doomed", [{"value": b"x", "partition": 1}])
    _result(client.delete_topics(["doomed"]))
    assert "doomed" not in client.list_topics(timeout=TIMEOUT_S).topics
    with pytest.raises(KafkaException) as info:
        _result(client.delete_topics(["doomed"]))
    assert info.value.args[0].name() == "UNKNOWN_TOPIC_OR_PART"
    # The name can be reused and starts empty.
    _result(client.create_topics([NewTopic("doomed", 1, 1)]))
    cons = consumer(builtin_broker.bootstrap)
    try:
        assert cons.get_watermark_offsets(TopicPartition("doomed", 0), timeout=TIMEOUT_S) == (0, 0)
    finally:
        cons.close()


def test_auto_create_on_produce(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    produce_all(producer(bs), "auto-created", [{"value": b"hello"}])
    md = AdminClient({"bootstrap.servers": bs}).list_topics(timeout=TIMEOUT_S)
    assert len(md.topics["auto-created"].partitions) == 1


def test_auto_create_disabled(builtin_broker_factory) -> None:  # type: ignore[no-untyped-def]
    broker = builtin_broker_factory({"auto.create.topics.enable": "false"})
    client = AdminClient({"bootstrap.servers": broker.bootstrap})
    md = client.list_topics(topic="not-there", timeout=TIMEOUT_S)
    assert md.topics["not-there"].error is not None


def test_dynamic_broker_config_applies_and_survives_restart(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    client = AdminClient({"bootstrap.servers": bs})
    _result(client.create_topics([NewTopic("inherits", 1, 1)]))
    node = str(client.list_topics(timeout=TIMEOUT_S).controller_id)
    change = ConfigResource(
        ResourceType.BROKER,
        node,
        incremental_configs=[
            ConfigEntry("log.retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    _result(client.incremental_alter_configs([change]))
    topic_cfg = _describe_topic(client, "inherits")["retention.ms"]
    assert topic_cfg.value == "7200000"
    assert topic_cfg.source == ConfigSource.DYNAMIC_BROKER_CONFIG.value
    static = ConfigResource(
        ResourceType.BROKER,
        node,
        incremental_configs=[
            ConfigEntry("node.id", "5", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    with pytest.raises(KafkaException):
        _result(client.incremental_alter_configs([static]))
    builtin_broker.restart()
    client = AdminClient({"bootstrap.servers": bs})
    res = ConfigResource(ResourceType.BROKER, node)
    broker_cfg = client.describe_configs([res])[res].result(timeout=TIMEOUT_S)
    assert broker_cfg["log.retention.ms"].value == "7200000"
    assert broker_cfg["log.retention.ms"].source == ConfigSource.DYNAMIC_BROKER_CONFIG.value


def test_absurd_partition_counts_are_refused(builtin_broker: RunningBroker) -> None:
    client = AdminClient({"bootstrap.servers": builtin_broker.bootstrap})
    with pytest.raises(KafkaException) as info:
        _result(client.create_topics([NewTopic("huge", 50_000, 1)]))
    assert info.value.args[0].name() == "INVALID_PARTITIONS"
    assert "huge" not in client.list_topics(timeout=TIMEOUT_S).topics
