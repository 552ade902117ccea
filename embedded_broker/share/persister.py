"""A share-partition leader's client of the share coordinators (Kafka's persister): it finds
the broker leading a share-partition's ``__share_group_state`` partition in the metadata image
and sends it ReadShareGroupState, InitializeShareGroupState, WriteShareGroupState,
DeleteShareGroupState and ReadShareGroupStateSummary, asking again while the coordinator
moves or loads (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, a broker that went away)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kio.schema.delete_share_group_state.v0 import request as delete_req
from kio.schema.errors import ErrorCode
from kio.schema.initialize_share_group_state.v0 import request as init_req
from kio.schema.read_share_group_state.v0 import request as read_req
from kio.schema.read_share_group_state_summary.v1 import request as summary_req
from kio.schema.write_share_group_state.v1 import request as write_req
from kio.static.primitive import i8, i16, i32, i64

from embedded_broker.replication.client import LeaderConnection

from .state_topic import SHARE_STATE_TOPIC, Snapshot, StateKey, ensure_state_topic, state_partition

if TYPE_CHECKING:
    from embedded_broker.cluster_link.link import BrokerLink
    from embedded_broker.state import BrokerState

log = logging.getLogger(__name__)

# how long one operation keeps asking while its coordinator moves (a killed broker is fenced
# and its partitions get new leaders within a few seconds in a local cluster)
RETRY_S = 20.0
BACKOFF_S = 0.1
REQUEST_TIMEOUT_S = 15.0
RETRIABLE = frozenset(
    {
        ErrorCode.not_coordinator,
        ErrorCode.coordinator_load_in_progress,
        ErrorCode.coordinator_not_available,
    }
)


class SharePersister:
    """Sends share-state requests to the share coordinators of a local cluster."""

    def __init__(self, state: BrokerState, link: BrokerLink) -> None:
        self._state = state
        self._link = link
        self._connections: dict[int, LeaderConnection] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        state.on_shutdown(self.close)

    async def close(self) -> None:
        connections, self._connections = self._connections, {}
        for conn in connections.values():
            await conn.close()

    # -- operations -------------------------------------------------------------------------
    async def read(self, key: StateKey, leader_epoch: int) -> tuple[ErrorCode, Snapshot | None]:
        """The share-partition's state, None when it has none yet."""
        group_id, topic_id, partition = key
        request = read_req.ReadShareGroupStateRequest(
            group_id=group_id,
            topics=(
                read_req.ReadStateData(
                    topic_id=topic_id,
                    partitions=(
                        read_req.PartitionData(
                            partition=i32(partition), leader_epoch=i32(leader_epoch)
                        ),
                    ),
                ),
            ),
        )
        code, found = await self._call(key, request)
        if code != ErrorCode.none or found is None or int(found.start_offset) < 0:
            return code, None
        batches = tuple(
            (int(b.first_offset), int(b.last_offset), int(b.delivery_state), int(b.delivery_count))
            for b in found.state_batches
        )
        return code, Snapshot(
            int(found.state_epoch), leader_epoch, int(found.start_offset), batches
        )

    async def initialize(self, key: StateKey, state_epoch: int, start_offset: int) -> ErrorCode:
        group_id, topic_id, partition = key
        request = init_req.InitializeShareGroupStateRequest(
            group_id=group_id,
            topics=(
                init_req.InitializeStateData(
                    topic_id=topic_id,
                    partitions=(
                        init_req.PartitionData(
                            partition=i32(partition),
                            state_epoch=i32(state_epoch),
                            start_offset=i64(start_offset),
                        ),
                    ),
                ),
            ),
        )
        return (await self._call(key, request))[0]

    async def write(self, key: StateKey, snapshot: Snapshot) -> ErrorCode:
        group_id, topic_id, partition = key
        request = write_req.WriteShareGroupStateRequest(
            group_id=group_id,
            topics=(
                write_req.WriteStateData(
                    topic_id=topic_id,
                    partitions=(
                        write_req.PartitionData(
                            partition=i32(partition),
                            state_epoch=i32(snapshot.state_epoch),
                            leader_epoch=i32(snapshot.leader_epoch),
                            start_offset=i64(snapshot.start_offset),
                            delivery_complete_count=i32(snapshot.delivered()),
                            state_batches=tuple(
                                write_req.StateBatch(
                                    first_offset=i64(first),
                                    last_offset=i64(last),
                                    delivery_state=i8(state),
                                    delivery_count=i16(count),
                                )
                                for first, last, state, count in snapshot.batches
                            ),
                        ),
                    ),
                ),
            ),
        )
        return (await self._call(key, request))[0]

    async def delete(self, key: StateKey) -> ErrorCode:
        group_id, topic_id, partition = key
        request = delete_req.DeleteShareGroupStateRequest(
            group_id=group_id,
            topics=(
                delete_req.DeleteStateData(
                    topic_id=topic_id,
                    partitions=(delete_req.PartitionData(partition=i32(partition)),),
                ),
            ),
        )
        return (await self._call(key, request))[0]

    async def summary(self, key: StateKey) -> tuple[ErrorCode, Snapshot | None]:
        """The state's start offset (-1 when it has none), epochs and delivery complete count
        (no batches), without fencing its leader."""
        group_id, topic_id, partition = key
        request = summary_req.ReadShareGroupStateSummaryRequest(
            group_id=group_id,
            topics=(
                summary_req.ReadStateSummaryData(
                    topic_id=topic_id,
                    partitions=(
                        summary_req.PartitionData(partition=i32(partition), leader_epoch=i32(-1)),
                    ),
                ),
            ),
        )
        code, found = await self._call(key, request)
        if code != ErrorCode.none or found is None:
            return code, None
        return code, Snapshot(
            int(found.state_epoch),
            int(found.leader_epoch),
            int(found.start_offset),
            complete=max(int(found.delivery_complete_count), 0),
        )

    # -- transport --------------------------------------------------------------------------
    def _coordinator(self, key: StateKey) -> int | None:
        topic = self._link.image.topics.get(SHARE_STATE_TOPIC)
        if topic is None or not topic.partitions:
            return None
        part = topic.partitions.get(state_partition(key, len(topic.partitions)))
        return None if part is None or part.leader < 0 else part.leader

    async def _call(self, key: StateKey, request: Any) -> tuple[ErrorCode, Any]:
        """(error code, the partition's result) of ``request`` at the key's coordinator."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_S
        while True:
            code, found = await self._attempt(key, request)
            if code not in RETRIABLE or loop.time() >= deadline or self._state.shutting_down:
                if code != ErrorCode.none:
                    log.info("%s for %s: %s", type(request).__name__, key, code.name)
                return code, found
            await asyncio.sleep(BACKOFF_S)

    async def _attempt(self, key: StateKey, request: Any) -> tuple[ErrorCode, Any]:
        await ensure_state_topic(self._state, self._link)
        node = self._coordinator(key)
        if node is None:
            return ErrorCode.coordinator_not_available, None
        try:
            response = await self._send(node, request)
        except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError) as exc:
            log.debug("Share coordinator %d unreachable: %s", node, exc)
            await self._drop(node)
            return ErrorCode.coordinator_not_available, None
        found = response.results[0].partitions[0]
        return ErrorCode(found.error_code), found

    async def _send(self, node: int, request: Any) -> Any:
        lock = self._locks.setdefault(node, asyncio.Lock())
        async with lock:
            conn = self._connections.get(node)
            if conn is None:
                address = self._link.image.brokers.get(node)
                if address is None:
                    raise ConnectionError(f"broker {node} is not registered")
                conn = await LeaderConnection.open(
                    address.host, address.port, timeout=REQUEST_TIMEOUT_S
                )
                self._connections[node] = conn
            return await conn.request(request, REQUEST_TIMEOUT_S)

    async def _drop(self, node: int) -> None:
        conn = self._connections.pop(node, None)
        if conn is not None:
            with contextlib.suppress(OSError, ConnectionError):
                await conn.close()


def make_persister(state: BrokerState) -> Callable[[], SharePersister | None]:
    """A getter of the broker's persister, made once its cluster link exists (None on a
    single node)."""
    from embedded_broker.cluster_link.link import cluster_link

    made: list[SharePersister] = []

    def get() -> SharePersister | None:
        if made:
            return made[0]
        link = cluster_link(state)
        if link is None:
            return None
        made.append(SharePersister(state, link))
        return made[0]

    return get
