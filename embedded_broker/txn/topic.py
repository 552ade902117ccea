"""Creating a local cluster's __transaction_state through the controller on the first
transactional FindCoordinator, as Kafka does (and again on the next one if that failed)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from kio.schema.create_topics.v7 import request as create_req
from kio.schema.types import TopicName
from kio.static.primitive import i16, i32, i32Timedelta

from embedded_broker.cluster_link.internal_topic import ensure_internal_topic

from .metadata import TRANSACTION_STATE_TOPIC

if TYPE_CHECKING:
    from embedded_broker.cluster_link.link import BrokerLink
    from embedded_broker.state import BrokerState


def topic_configs(state: BrokerState) -> dict[str, str]:
    """Kafka's configs of __transaction_state: compacted, min.insync.replicas from
    transaction.state.log.min.isr (capped at the replication factor, so a 1- or 2-broker
    cluster can still write it)."""
    rf = state.config.get_int("transaction.state.log.replication.factor")
    min_isr = min(state.config.get_int("transaction.state.log.min.isr"), rf)
    return {
        "cleanup.policy": "compact",
        "compression.type": "uncompressed",
        "min.insync.replicas": str(min_isr),
        "segment.bytes": str(state.config.get_int("transaction.state.log.segment.bytes")),
        "unclean.leader.election.enable": "false",
    }


def _request(state: BrokerState) -> create_req.CreateTopicsRequest:
    return create_req.CreateTopicsRequest(
        topics=(
            create_req.CreatableTopic(
                name=TopicName(TRANSACTION_STATE_TOPIC),
                num_partitions=i32(state.config.get_int("transaction.state.log.num.partitions")),
                replication_factor=i16(
                    state.config.get_int("transaction.state.log.replication.factor")
                ),
                assignments=(),
                configs=tuple(
                    create_req.CreatableTopicConfig(name=k, value=v)
                    for k, v in topic_configs(state).items()
                ),
            ),
        ),
        timeout=i32Timedelta.parse(datetime.timedelta(seconds=10)),
        validate_only=False,
    )


async def ensure_transaction_topic(state: BrokerState, link: BrokerLink) -> None:
    """Ask the controller for __transaction_state unless the image has it (one request at a
    time per broker; a failure is logged and the next FindCoordinator tries again)."""
    await ensure_internal_topic(state, link, TRANSACTION_STATE_TOPIC, lambda: _request(state))
