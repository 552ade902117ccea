"""CreateTopics counts registered brokers as Kafka's controller does: a fenced broker (one
registering again after a restart, or not yet caught up) can hold a follower replica, but
never leads, and nothing is placed when every broker is fenced."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from kio.schema.create_topics.v7 import request as create
from kio.schema.errors import ErrorCode
from kio.schema.types import TopicName
from kio.static.primitive import i16, i32, i32Timedelta

from embedded_broker.config import BrokerConfig
from embedded_broker.controller.admin import create_topics
from embedded_broker.controller.quorum import Controller
from embedded_broker.metadata.records import FenceBroker

from .controller_setup import Clock, make_cluster


def _create(controller: Controller, name: str, partitions: int, rf: int) -> Any:
    topic = create.CreatableTopic(
        name=TopicName(name),
        num_partitions=i32(partitions),
        replication_factor=i16(rf),
        assignments=(),
        configs=(),
    )
    request = create.CreateTopicsRequest(
        topics=(topic,),
        timeout=i32Timedelta.parse(datetime.timedelta(seconds=5)),
        validate_only=False,
    )
    result = asyncio.run(create_topics(controller, BrokerConfig(), request)).topics[0]
    return result


def _fence(controller: Controller, *brokers: int) -> None:
    for b in brokers:
        epoch = controller.image.brokers[b].epoch
        asyncio.run(controller.append(lambda b=b, e=epoch: [FenceBroker(b, e)]))


def test_rf3_with_one_broker_fenced_places_it_as_a_follower_out_of_the_isr() -> None:
    controller = make_cluster(None, Clock())
    _fence(controller, 101)
    result = _create(controller, "while-101-registers", 6, 3)
    assert result.error_code == ErrorCode.none
    parts = controller.image.topics["while-101-registers"].partitions.values()
    for part in parts:
        assert sorted(part.replicas) == [101, 102, 103]
        assert part.leader in (102, 103)
        assert part.replicas[0] == part.leader
        assert sorted(part.isr) == [102, 103]


def test_more_replicas_than_registered_brokers_or_all_fenced_is_refused() -> None:
    controller = make_cluster(None, Clock())
    too_many = _create(controller, "four", 1, 4)
    assert too_many.error_code == ErrorCode.invalid_replication_factor
    assert "only 3 broker(s) are registered" in too_many.error_message
    _fence(controller, 101, 102, 103)
    none_live = _create(controller, "nobody", 1, 1)
    assert none_live.error_code == ErrorCode.invalid_replication_factor
    assert "All brokers are currently fenced" in none_live.error_message
