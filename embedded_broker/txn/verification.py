"""KIP-890 part 1 on a partition leader: a transactional batch for a partition that holds no
open transaction of its producer is appended only once the transaction coordinator confirms the
partition is in the producer's transaction (Kafka's AddPartitionsToTxnManager and
ReplicaManager's verification), so a late or stray write cannot leave a hanging transaction.

The coordinator is asked with AddPartitionsToTxn v4 verify_only, over the wire when another
broker coordinates the id, directly when this broker does (always on a single node). Under
transactions v2 (Produce v12, TxnOffsetCommit v5) the same request without verify_only adds the
partition to the transaction instead: the client no longer sends AddPartitionsToTxn itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from kio.schema.add_partitions_to_txn.v4 import request as add_req
from kio.schema.errors import ErrorCode
from kio.schema.types import ProducerId, TopicName, TransactionalId
from kio.static.primitive import i16, i32

from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.protocol import record_batch as rb
from embedded_broker.replication.client import LeaderConnection
from embedded_broker.state import BrokerState
from embedded_broker.storage import StorageError

from .metadata import TRANSACTION_STATE_TOPIC, partition_for
from .runtime import coordinator, loaded
from .version import PRODUCE_TV2, TV2

log = logging.getLogger(__name__)

Partition = tuple[str, int]
Verdict = tuple[ErrorCode, str | None]
CONNECT_TIMEOUT_S = 3.0
REQUEST_TIMEOUT_S = 5.0
_CONNECTIONS_KEY = "txn_verification_connections"
# coordinator answers a producer may retry: Kafka answers them as NOT_ENOUGH_REPLICAS, which
# every client retries without refreshing its metadata
_RETRY_LATER = frozenset(
    {
        ErrorCode.concurrent_transactions,
        ErrorCode.network_exception,
        ErrorCode.coordinator_load_in_progress,
        ErrorCode.coordinator_not_available,
        ErrorCode.not_coordinator,
    }
)
# Produce v11 and later understand TRANSACTION_ABORTABLE (KIP-1050); older ones get
# INVALID_TXN_STATE for the same verdict
_ABORTABLE_SINCE = 11


def produce_error(code: ErrorCode, produce_version: int) -> Verdict:
    """The coordinator's verify_only answer for one partition as Produce answers it."""
    if code == ErrorCode.none:
        return code, None
    if code == ErrorCode.producer_fenced:
        return (
            ErrorCode.invalid_producer_epoch,
            "The producer was fenced: a newer instance with the same transactional id exists",
        )
    if code == ErrorCode.transaction_abortable and produce_version < _ABORTABLE_SINCE:
        code = ErrorCode.invalid_txn_state
    if code in _RETRY_LATER:
        return (
            ErrorCode.not_enough_replicas,
            "Unable to verify the partition has been added to the transaction. "
            f"Underlying error: {code.name.upper()}",
        )
    if code in (ErrorCode.invalid_txn_state, ErrorCode.transaction_abortable):
        return code, "The partition was not added to the producer's ongoing transaction"
    return code, None


def _transactional_producer(records: bytes | None) -> tuple[int, int] | None:
    """(producer id, epoch) of a transactional v2 batch; None for anything else (the
    validator answers for malformed input)."""
    if not records or len(records) < rb.HEADER_SIZE or records[rb.MAGIC_OFFSET] != 2:
        return None
    header = rb.parse_header(records)
    if not header.is_transactional:
        return None
    return header.producer_id, header.producer_epoch


def _has_open_transaction(
    state: BrokerState, topic: str, index: int, producer: tuple[int, int]
) -> bool:
    """Whether the partition already holds an open transaction of the producer at this epoch
    (Kafka skips the coordinator then). The epoch counts: under transactions v2 a batch of
    the next epoch belongs to a new transaction, even while the last one's marker is late."""
    plog = state.partition(topic, index)
    if plog is None:
        return False
    try:
        table = state.producers.table(topic, index, plog)
    except (StorageError, OSError):
        return False  # the append answers for the broken log
    entry = table.entries.get(producer[0])
    return entry is not None and entry.txn_first_offset >= 0 and entry.epoch == producer[1]


async def verify_produce(
    state: BrokerState, request: Any, produce_version: int
) -> dict[Partition, Verdict]:
    """Verdicts of the request's transactional batches that need the coordinator's word;
    partitions absent from the result need none (not transactional, not led here, or with an
    open transaction of the producer already)."""
    transactional_id = request.transactional_id
    if transactional_id is None:
        return {}
    wanted: dict[tuple[int, int], list[Partition]] = {}
    for topic_data in request.topic_data:
        for pdata in topic_data.partition_data:
            topic, index = str(topic_data.name), int(pdata.index)
            producer = _transactional_producer(pdata.records)
            if producer is None or state.replicas.leader_error(topic, index) != ErrorCode.none:
                continue
            if state.partition(topic, index) is None:
                continue
            if _has_open_transaction(state, topic, index, producer):
                continue
            wanted.setdefault(producer, []).append((topic, index))
    out: dict[Partition, Verdict] = {}
    add = produce_version >= PRODUCE_TV2
    for (producer_id, epoch), partitions in wanted.items():
        found = await _ask_coordinator(
            state, str(transactional_id), producer_id, epoch, partitions, add=add
        )
        for tp in partitions:
            out[tp] = produce_error(found.get(tp, ErrorCode.invalid_txn_state), produce_version)
    return out


async def add_to_transaction(
    state: BrokerState,
    transactional_id: str,
    producer_id: int,
    epoch: int,
    partitions: list[Partition],
) -> dict[Partition, ErrorCode]:
    """Transactions v2's implicit add of ``partitions`` to the producer's transaction, by
    whichever broker coordinates the id (the coordinator's own error codes)."""
    return await _ask_coordinator(state, transactional_id, producer_id, epoch, partitions, add=True)


async def _local(
    state: BrokerState,
    transactional_id: str,
    producer_id: int,
    epoch: int,
    partitions: list[Partition],
    *,
    add: bool,
) -> dict[Partition, ErrorCode]:
    coord = await coordinator(state)
    if add:
        return await coord.add_partitions(transactional_id, producer_id, epoch, partitions, TV2)
    return coord.verify_partitions(transactional_id, producer_id, epoch, partitions)


async def _ask_coordinator(
    state: BrokerState,
    transactional_id: str,
    producer_id: int,
    epoch: int,
    partitions: list[Partition],
    *,
    add: bool = False,
) -> dict[Partition, ErrorCode]:
    link = cluster_link(state)
    if link is None:
        # a single node coordinates every id; one that never saw a transaction knows none
        if loaded(state) is None and TRANSACTION_STATE_TOPIC not in state.topics:
            return dict.fromkeys(partitions, ErrorCode.invalid_producer_id_mapping)
        return await _local(state, transactional_id, producer_id, epoch, partitions, add=add)
    image_topic = link.image.topics.get(TRANSACTION_STATE_TOPIC)
    if image_topic is None:
        return dict.fromkeys(partitions, ErrorCode.coordinator_not_available)
    part = image_topic.partitions.get(partition_for(transactional_id, len(image_topic.partitions)))
    leader = -1 if part is None else part.leader
    if leader == state.node_id:
        return await _local(state, transactional_id, producer_id, epoch, partitions, add=add)
    node = link.image.brokers.get(leader) if leader >= 0 else None
    if node is None:
        return dict.fromkeys(partitions, ErrorCode.coordinator_not_available)
    request = _verify_request(transactional_id, producer_id, epoch, partitions, verify_only=not add)
    try:
        response = await _send(state, leader, (node.host, node.port), request)
    except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError) as exc:
        log.debug("Transaction coordinator %d unreachable for verification: %s", leader, exc)
        return dict.fromkeys(partitions, ErrorCode.network_exception)
    if response.error_code != ErrorCode.none:
        # the whole request refused (Kafka: CLUSTER_AUTHORIZATION_FAILED); the partition
        # could not be verified
        code = response.error_code
        if code == ErrorCode.cluster_authorization_failed:
            code = ErrorCode.invalid_txn_state
        return dict.fromkeys(partitions, code)
    out: dict[Partition, ErrorCode] = {}
    for result in response.results_by_transaction:
        for t in result.topic_results:
            for p in t.results_by_partition:
                out[(str(t.name), int(p.partition_index))] = p.partition_error_code
    return out


def _verify_request(
    transactional_id: str,
    producer_id: int,
    epoch: int,
    partitions: Iterable[Partition],
    *,
    verify_only: bool = True,
) -> add_req.AddPartitionsToTxnRequest:
    topics: dict[str, list[int]] = {}
    for topic, index in partitions:
        topics.setdefault(topic, []).append(index)
    return add_req.AddPartitionsToTxnRequest(
        transactions=(
            add_req.AddPartitionsToTxnTransaction(
                transactional_id=TransactionalId(transactional_id),
                producer_id=ProducerId(producer_id),
                producer_epoch=i16(epoch),
                verify_only=verify_only,
                topics=tuple(
                    add_req.AddPartitionsToTxnTopic(
                        name=TopicName(t), partitions=tuple(i32(i) for i in ids)
                    )
                    for t, ids in topics.items()
                ),
            ),
        )
    )


class _Channel:
    """One connection to a coordinator broker, one request at a time."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.conn: LeaderConnection | None = None


async def _send(state: BrokerState, broker: int, address: tuple[str, int], request: Any) -> Any:
    channels = state.extensions.get(_CONNECTIONS_KEY)
    if not isinstance(channels, dict):
        channels = state.extensions[_CONNECTIONS_KEY] = {}
        state.on_shutdown(lambda: _close_all(channels))
    channel = channels.get(broker)
    if not isinstance(channel, _Channel):
        channel = channels[broker] = _Channel()
    async with channel.lock:
        if channel.conn is None:
            channel.conn = await LeaderConnection.open(*address, CONNECT_TIMEOUT_S)
        try:
            return await channel.conn.request(request, REQUEST_TIMEOUT_S)
        except BaseException:
            conn, channel.conn = channel.conn, None
            with contextlib.suppress(OSError, ConnectionError):
                await conn.close()
            raise


async def _close_all(channels: dict[int, _Channel]) -> None:
    for channel in channels.values():
        conn, channel.conn = channel.conn, None
        if conn is not None:
            await conn.close()
