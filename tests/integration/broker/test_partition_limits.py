"""The 10,000-partitions-per-topic limit holds on every way to make partitions."""

from __future__ import annotations

import contextlib

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
from kio.schema.errors import ErrorCode
from kio.schema.metadata.v12 import request as metadata_v12

from embedded_broker.limits import MAX_PARTITIONS
from embedded_broker.runner import BrokerRunner, BrokerStartError
from tests.broker_fixtures import RunningBroker
from tests.integration.groups.wire import WireClient

from .clients import TIMEOUT_S, admin
from .partition_wire import create_partitions, create_topics

TOO_MANY = str(MAX_PARTITIONS + 1)


def test_num_partitions_above_the_limit_is_refused_at_start() -> None:
    runner = BrokerRunner(in_memory=True, config={"num.partitions": TOO_MANY})
    with pytest.raises(BrokerStartError, match=r"num\.partitions.*between 1 and 10000"):
        runner.start()
    runner.stop()


def test_auto_create_cannot_exceed_the_limit(builtin_broker: RunningBroker) -> None:
    client = admin(builtin_broker.bootstrap)
    broker = ConfigResource(ResourceType.BROKER, "1")
    broker.add_incremental_config(
        ConfigEntry("num.partitions", TOO_MANY, incremental_operation=AlterConfigOpType.SET)
    )
    with pytest.raises(KafkaException, match=r"num\.partitions"):
        client.incremental_alter_configs([broker])[broker].result(timeout=TIMEOUT_S)

    wire = WireClient(builtin_broker.bootstrap)
    with contextlib.closing(wire):
        request = metadata_v12.MetadataRequest(
            topics=(metadata_v12.MetadataRequestTopic(topic_id=None, name="auto"),),
            allow_auto_topic_creation=True,
            include_topic_authorized_operations=False,
        )
        (topic,) = wire.send(request).topics
        assert topic.error_code == ErrorCode.none
        assert len(topic.partitions) == 1  # the default, not the refused setting


def test_create_topics_and_create_partitions_above_the_limit(
    builtin_broker: RunningBroker,
) -> None:
    wire = WireClient(builtin_broker.bootstrap)
    with contextlib.closing(wire):
        (big,) = wire.send(create_topics({"big": MAX_PARTITIONS + 1})).topics
        assert big.error_code == ErrorCode.invalid_partitions
        assert big.error_message is not None and str(MAX_PARTITIONS) in big.error_message
        (small,) = wire.send(create_topics({"small": 2})).topics
        assert small.error_code == ErrorCode.none
        (grown,) = wire.send(create_partitions("small", MAX_PARTITIONS + 1)).results
        assert grown.error_code == ErrorCode.invalid_partitions
        assert grown.error_message is not None and str(MAX_PARTITIONS) in grown.error_message
        (grown,) = wire.send(create_partitions("small", 5)).results
        assert grown.error_code == ErrorCode.none
