"""Writing a transaction's markers in a local cluster: directly to the partitions this broker
leads, and over WriteTxnMarkers to the leaders of the others (Kafka's
TransactionMarkerChannelManager, one request per broker)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from kio.schema.errors import ErrorCode
from kio.schema.types import ProducerId, TopicName
from kio.schema.write_txn_markers.v2 import request as markers_req
from kio.static.primitive import i8, i16, i32

from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.protocol.control_batch import Marker, MarkerType
from embedded_broker.replication.client import LeaderConnection
from embedded_broker.state import BrokerState

from .group_offsets import complete_offsets
from .metadata import CONSUMER_OFFSETS_TOPIC
from .partition import write_marker

log = logging.getLogger(__name__)

Partition = tuple[str, int]
CONNECT_TIMEOUT_S = 3.0
REQUEST_TIMEOUT_S = 10.0
# answers after which the marker is sent again, once the metadata names the partition's leader
RETRIABLE = frozenset(
    {
        ErrorCode.not_leader_or_follower,
        ErrorCode.leader_not_available,
        ErrorCode.not_enough_replicas,
        ErrorCode.not_enough_replicas_after_append,
        ErrorCode.request_timed_out,
        ErrorCode.kafka_storage_error,
        ErrorCode.unknown_topic_or_partition,
        ErrorCode.coordinator_not_available,
    }
)
# a marker the partition no longer needs: its topic is gone, or a newer epoch wrote one
DONE = frozenset({ErrorCode.none, ErrorCode.invalid_producer_epoch})


def _leader(state: BrokerState, topic: str, index: int) -> int | None:
    """The partition's leader by the metadata image, or this broker on a single node; None
    when the partition has no leader now; -2 when the topic is gone."""
    link = cluster_link(state)
    if link is None:
        return state.node_id
    image_topic = link.image.topics.get(topic)
    if image_topic is None:
        return -2
    part = image_topic.partitions.get(index)
    if part is None:
        return -2
    return part.leader if part.leader >= 0 else None


async def _remote(
    state: BrokerState, broker: int, marker: Marker, partitions: list[Partition]
) -> dict[Partition, ErrorCode]:
    link = cluster_link(state)
    node = None if link is None else link.image.brokers.get(broker)
    failed = dict.fromkeys(partitions, ErrorCode.not_leader_or_follower)
    if node is None:
        return failed
    topics: dict[str, list[int]] = {}
    for topic, index in partitions:
        topics.setdefault(topic, []).append(index)
    request = markers_req.WriteTxnMarkersRequest(
        markers=(
            markers_req.WritableTxnMarker(
                producer_id=ProducerId(marker.producer_id),
                producer_epoch=i16(marker.producer_epoch),
                transaction_result=marker.kind is MarkerType.COMMIT,
                topics=tuple(
                    markers_req.WritableTxnMarkerTopic(
                        name=TopicName(t), partition_indexes=tuple(i32(i) for i in ids)
                    )
                    for t, ids in topics.items()
                ),
                coordinator_epoch=i32(marker.coordinator_epoch),
                transaction_version=i8(marker.transaction_version),
            ),
        )
    )
    try:
        conn = await LeaderConnection.open(node.host, node.port, CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        log.debug("Broker %d unreachable for transaction markers: %s", broker, exc)
        return failed
    try:
        response = await conn.request(request, REQUEST_TIMEOUT_S)
    except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError) as exc:
        log.debug("Lost broker %d while writing transaction markers: %s", broker, exc)
        return failed
    finally:
        await conn.close()
    out = dict(failed)
    for result in response.markers:
        for t in result.topics:
            for p in t.partitions:
                out[(str(t.name), int(p.partition_index))] = p.error_code
    return out


async def write_markers(
    state: BrokerState,
    marker: Marker,
    partitions: Iterable[Partition],
    *,
    local: Callable[[Partition, Marker], Awaitable[ErrorCode]] | None = None,
) -> dict[Partition, ErrorCode]:
    """One attempt: the marker written to each partition, locally or on its leader; the
    answer of each (NOT_LEADER_OR_FOLLOWER when it has no reachable leader now).

    ``local`` writes a marker to a partition this broker leads (default: write_marker)."""

    async def write_here(tp: Partition, m: Marker) -> ErrorCode:
        if tp[0] == CONSUMER_OFFSETS_TOPIC:  # the group coordinator's transactional offsets
            return await complete_offsets(state, tp[1], m)
        code, _ = await write_marker(state, tp[0], tp[1], m)
        return code

    here = local or write_here
    by_leader: dict[int, list[Partition]] = {}
    out: dict[Partition, ErrorCode] = {}
    for tp in partitions:
        leader = _leader(state, *tp)
        if leader is None:
            out[tp] = ErrorCode.leader_not_available
        elif leader == -2:
            out[tp] = ErrorCode.none  # the topic was deleted: no reader needs the marker
        else:
            by_leader.setdefault(leader, []).append(tp)
    mine = by_leader.pop(state.node_id, [])
    # side by side: each waits for its partition's followers to copy the marker
    codes = await asyncio.gather(*(here(tp, marker) for tp in mine))
    out.update(zip(mine, codes, strict=True))
    answers = await asyncio.gather(
        *(_remote(state, broker, marker, tps) for broker, tps in by_leader.items())
    )
    for answer in answers:
        out.update(answer)
    return out
