"""A share group's own settings (group configs): share.auto.offset.reset=earliest through
kafka-configs, per-group record lock durations, Kafka's errors for bad values, and the settings
kept across a restart."""

from __future__ import annotations

import uuid

import pytest
from kio.schema.describe_configs.v4 import request as describe_req
from kio.schema.errors import ErrorCode

from tests.broker_fixtures import RunningBroker
from tests.integration.groups.wire import WireClient
from tests.kafka.cli import KafkaCli

from .conftest import TopicMaker, produce
from .test_share_java_cli import CLI_TIMEOUT, _ok
from .wire import ShareWire, alter_group_configs

GROUP = 32
SOURCE_GROUP_CONFIG = 8


def _alter(bootstrap: str, group: str, **configs: str) -> tuple[int, str | None]:
    return alter_group_configs(
        bootstrap, group, {k.replace("_", "."): v for k, v in configs.items()}
    )


def _described(bootstrap: str, group: str) -> dict[str, tuple[str | None, int]]:
    client = WireClient(bootstrap)
    try:
        response = client.send(
            describe_req.DescribeConfigsRequest(
                resources=(
                    describe_req.DescribeConfigsResource(
                        resource_type=GROUP, resource_name=group, configuration_keys=None
                    ),
                ),
                include_synonyms=False,
                include_documentation=False,
            )
        )
    finally:
        client.close()
    return {c.name: (c.value, int(c.config_source)) for c in response.results[0].configs}


def test_a_groups_own_lock_duration_is_used_and_kept_across_a_restart(
    builtin_broker: RunningBroker, make_topic: TopicMaker
) -> None:
    bs = builtin_broker.bootstrap
    assert _alter(bs, "own", share_record_lock_duration_ms="2000") == (0, None)
    code, message = _alter(bs, "own", share_auto_offset_reset="sometimes")
    assert code == ErrorCode.invalid_config and message and "share.auto.offset.reset" in message
    code, message = _alter(bs, "own", share_no_such_key="1")
    assert code == ErrorCode.invalid_config
    assert message == "Unknown group config name: share.no.such.key"
    builtin_broker.restart()
    bs = builtin_broker.bootstrap
    described = _described(bs, "own")
    assert described["share.record.lock.duration.ms"] == ("2000", SOURCE_GROUP_CONFIG)
    assert described["share.delivery.count.limit"] == ("5", 5)  # the broker's default
    topic, tid = make_topic(bs)
    member = ShareWire(bs, "own", tid)
    try:
        member.join(topic)
        assert member.fetch().acquisition_lock_timeout.total_seconds() == 2.0
    finally:
        member.close()


@pytest.mark.realkafka
def test_kafka_configs_sets_share_auto_offset_reset_earliest_for_a_group(
    builtin_broker: RunningBroker, kafka_cli: KafkaCli, make_topic: TopicMaker
) -> None:
    bs = builtin_broker.bootstrap
    topic, _ = make_topic(bs)
    group = f"early-{uuid.uuid4().hex[:6]}"
    produce(bs, topic, 3)  # before the group exists
    entity = ["--bootstrap-server", bs, "--entity-type", "groups", "--entity-name", group]
    _ok(
        kafka_cli,
        "kafka-configs",
        [*entity, "--alter", "--add-config", "share.auto.offset.reset=earliest"],
    )
    out = _ok(kafka_cli, "kafka-configs", [*entity, "--describe"])
    assert "share.auto.offset.reset=earliest" in out
    done = kafka_cli.run(
        "kafka-console-share-consumer",
        ["--bootstrap-server", bs, "--topic", topic, "--group", group, "--max-messages", "3"],
        timeout=CLI_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["v0", "v1", "v2"]
