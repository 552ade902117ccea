"""Topic configs in a cluster live in the metadata log: changed through any broker, seen by all."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from .local_cluster import LocalCluster, admin, unless_not_yet, wait_for


def _retention(bootstrap: str, topic: str) -> str | None:
    """The topic's retention.ms as ``bootstrap`` sees it; None while that broker has not yet
    replayed the topic's creation (a broker learns of it from the metadata log, after the
    controller has answered CreateTopics, as in Kafka) or is too busy to answer in time."""
    res = ConfigResource(ResourceType.TOPIC, topic)
    client = admin(bootstrap)  # keep a reference: the futures die with the client
    configs = unless_not_yet(lambda: client.describe_configs([res])[res].result(timeout=10))
    if configs is None:
        return None
    value: str = configs["retention.ms"].value
    return value


# the legacy AlterConfigs is still what older tools send
@pytest.mark.filterwarnings("ignore:alter_configs has been deprecated:DeprecationWarning")
def test_topic_configs_changed_through_one_broker_reach_every_broker(
    three_brokers: LocalCluster,
) -> None:
    first = f"127.0.0.1:{three_brokers.node(101)['port']}"
    others = [f"127.0.0.1:{three_brokers.node(b)['port']}" for b in (102, 103)]
    client = admin(first)
    created = client.create_topics(
        [NewTopic("conf", 1, 3, config={"retention.ms": "1000"})], operation_timeout=15
    )
    created["conf"].result(timeout=15)
    for other in others:
        wait_for(lambda o=other: _retention(o, "conf") == "1000", 15, "the creation's config")
    res = ConfigResource(
        ResourceType.TOPIC,
        "conf",
        incremental_configs=[
            ConfigEntry("retention.ms", "2000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    client.incremental_alter_configs([res])[res].result(timeout=15)
    for other in others:
        wait_for(lambda o=other: _retention(o, "conf") == "2000", 15, "the incremental change")
    # the legacy AlterConfigs replaces the overrides: retention.ms goes back to the default
    legacy = ConfigResource(ResourceType.TOPIC, "conf", set_config={"cleanup.policy": "compact"})
    client.alter_configs([legacy])[legacy].result(timeout=15)
    for other in others:
        wait_for(lambda o=other: _retention(o, "conf") == "604800000", 15, "the legacy change")
