"""Creating __consumer_offsets through the controller.

Kafka creates it on the first FindCoordinator. A local cluster creates it as soon as enough
brokers are registered to hold every replica, because a learner who kills a broker before
starting the first consumer would otherwise meet a topic that cannot be created (RF 3 needs
three live brokers) and a group that never finds a coordinator. FindCoordinator still creates
it when it is missing (the start-up attempt failed, or the cluster lost a broker early)."""

from __future__ import annotations

import asyncio
import datetime
from typing import TYPE_CHECKING

from kio.schema.create_topics.v7 import request as create_req
from kio.schema.types import TopicName
from kio.static.primitive import i16, i32, i32Timedelta

from embedded_broker.cluster_link.internal_topic import ensure_internal_topic
from embedded_broker.coordinator.offsets_topic import OFFSETS_TOPIC

if TYPE_CHECKING:
    from embedded_broker.cluster_link.link import BrokerLink
    from embedded_broker.state import BrokerState


SEGMENT_BYTES = 100 * 1024 * 1024  # Kafka's offsets.topic.segment.bytes
START_POLL_S = 0.5


def _request(state: BrokerState) -> create_req.CreateTopicsRequest:
    configs = {
        "cleanup.policy": "compact",
        "compression.type": "producer",
        "segment.bytes": str(SEGMENT_BYTES),
    }
    return create_req.CreateTopicsRequest(
        topics=(
            create_req.CreatableTopic(
                name=TopicName(OFFSETS_TOPIC),
                num_partitions=i32(state.config.get_int("offsets.topic.num.partitions")),
                replication_factor=i16(state.config.get_int("offsets.topic.replication.factor")),
                assignments=(),
                configs=tuple(
                    create_req.CreatableTopicConfig(name=k, value=v) for k, v in configs.items()
                ),
            ),
        ),
        timeout=i32Timedelta.parse(datetime.timedelta(seconds=10)),
        validate_only=False,
    )


async def ensure_offsets_topic(state: BrokerState, link: BrokerLink) -> None:
    """Ask the controller for __consumer_offsets unless the image has it (one request at a
    time per broker; failures are logged, and the next FindCoordinator tries again)."""
    await ensure_internal_topic(state, link, OFFSETS_TOPIC, lambda: _request(state))


async def create_at_start(state: BrokerState, link: BrokerLink) -> None:
    """Once the image shows enough live brokers for the topic's replicas, the live broker with
    the lowest id asks for the topic (the others see it appear)."""
    wanted = state.config.get_int("offsets.topic.replication.factor")
    while OFFSETS_TOPIC not in link.image.topics:
        live = sorted(b.broker_id for b in link.image.live_brokers())
        if len(live) >= wanted and live[0] == state.node_id:
            await ensure_offsets_topic(state, link)
        await asyncio.sleep(START_POLL_S)
