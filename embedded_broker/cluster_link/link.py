"""BrokerLink: registers this broker with the controller, heartbeats, follows the metadata log
into a local image, keeps the local topics and partition states in step with it, and forwards
admin requests to the controller."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kio.schema.broker_heartbeat.v0 import request as heartbeat_req
from kio.schema.broker_registration.v1 import request as register_req
from kio.schema.errors import ErrorCode
from kio.schema.fetch.v12 import request as fetch_req
from kio.schema.types import BrokerId, TopicName
from kio.static.primitive import i16, i32, i32Timedelta, i64, u16

from embedded_broker.metadata.batch import decode_batches
from embedded_broker.metadata.image import MetadataImage, PartitionImage
from embedded_broker.metadata.log import METADATA_TOPIC, MetadataLog
from embedded_broker.metadata.records import MetadataRecord, decode_record
from embedded_broker.security.acl_records import image_bindings
from embedded_broker.security.authorizer import AUTHORIZER_KEY, Authorizer
from embedded_broker.security.credentials import EXTENSION_KEY as SCRAM_STORE_KEY
from embedded_broker.security.credentials import ScramCredentialStore
from embedded_broker.security.scram_records import image_users

from . import isr_batch, local_logs
from .channel import ControllerChannel, ControllerUnavailableError
from .producer_ids import ProducerIdBlocks
from .replicas import GONE, ReplicaSink

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

log = logging.getLogger(__name__)

EXTENSION_KEY = "cluster_link"
# the cluster's internal topics, which the controller creates like any other
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})
FETCH_WAIT_MS = 500
RETRY_S = 0.3
FENCED_HEARTBEAT_MS = 50
SHUTDOWN_NOTICE_S = 1.0  # how long a stopping broker tries to tell the controller


def cluster_link(state: BrokerState) -> BrokerLink | None:
    """The broker's link to its controller, or None for a single-node broker."""
    link = state.extensions.get(EXTENSION_KEY)
    return link if isinstance(link, BrokerLink) else None


class BrokerLink:
    """A cluster-mode broker's side of KRaft's broker lifecycle."""

    def __init__(
        self,
        state: BrokerState,
        *,
        host: str,
        port: int,
        rack: str | None,
        cluster_id: str,
        controller: tuple[str, int],
        heartbeat_ms: int,
        metadata_dir: Path | None,
    ) -> None:
        self.state = state
        self.node_id = state.node_id
        self.host = host
        self.port = port
        self.rack = rack
        self.cluster_id = cluster_id
        self.controller_address = controller
        self.heartbeat_ms = heartbeat_ms
        client = f"broker-{self.node_id}"
        self._control = ControllerChannel(*controller, client)
        # registration and heartbeats on their own connection, as Kafka's broker has: a queue
        # of AlterPartition requests (an ISR storm after a restart) never delays a heartbeat
        # past the session timeout, which would fence this broker and shrink every ISR again
        self._lifeline = ControllerChannel(*controller, client + "-heartbeat")
        self._fetcher = ControllerChannel(*controller, client + "-metadata")
        self._admin = ControllerChannel(*controller, client + "-forwarding", timeout_s=10)
        # its own connection: waiting for ids never holds up a heartbeat
        self._ids = ControllerChannel(*controller, client + "-producer-ids")
        self.producer_ids = ProducerIdBlocks(
            self.node_id, lambda: self.broker_epoch, self._ids.call, self._spawn
        )
        self.incarnation = uuid.uuid4()
        self.broker_epoch = -1
        self.fenced = True
        self.image = MetadataImage()
        # the broker's own copy of the metadata log: it serves with it while the controller
        # is down, even after a restart
        self.local_log = MetadataLog(metadata_dir)
        for offset, record in self.local_log.read(0):
            self.image.replay(offset, record)
        self._sync_wanted = False  # written to the local copy, not yet flushed
        self._syncer: asyncio.Task[None] | None = None
        self.replicas = ReplicaSink(state)
        self._isr_queue: isr_batch.ProposalQueue[Any, Any] = isr_batch.ProposalQueue(
            self._send_isr_batch, self._spawn
        )
        # the local copy may be stale (leaders moved while this broker was down): as Kafka's
        # broker, lead or follow nothing until the image holds this incarnation's registration
        self.image_trusted = False
        self._rounds_started = 0
        self._rounds_done = 0
        self._round_done = asyncio.Event()
        self.controller_reachable = False
        self._stopping = False

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self.state.extensions[EXTENSION_KEY] = self
        self.state.producers.id_source = self.producer_ids.next_id
        self.replicas.install(self._endpoint, self.send_isr, self._rack, self.image_is_live)
        self._hold_local_partitions()
        self.state.spawn(self._reconcile_all(), name="cluster-initial-sync")
        self.state.spawn(self._lifecycle(), name="cluster-heartbeat")
        self.state.spawn(self._follow(), name="cluster-metadata-fetch")
        self.state.on_shutdown(self._shut_down)

    async def _shut_down(self) -> None:
        # the loops end on their own too: Python 3.11's wait_for can swallow a cancellation
        # that arrives as its request completes, and a loop that missed it would never stop
        self._stopping = True
        # a controlled shutdown: ask to be fenced so leadership moves at once
        if self.broker_epoch >= 0:
            with contextlib.suppress(ControllerUnavailableError, TimeoutError):
                await asyncio.wait_for(self._heartbeat(want_shut_down=True), SHUTDOWN_NOTICE_S)
        for channel in (self._control, self._lifeline, self._fetcher, self._admin, self._ids):
            channel.close()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> object:
        return self.state.spawn(coro, name=name)

    def _endpoint(self, broker_id: int) -> tuple[str, int] | None:
        broker = self.image.brokers.get(broker_id)
        return None if broker is None else (broker.host, broker.port)

    def image_is_live(self, broker_id: int) -> bool:
        """Registered and not fenced in this broker's image (a broker shutting down is fenced)."""
        return self.image.is_live(broker_id)

    def _live(self) -> set[tuple[int, int]]:
        """(broker id, broker epoch) of every broker the image shows unfenced."""
        return {(b.broker_id, b.epoch) for b in self.image.brokers.values() if not b.fenced}

    def _rack(self, broker_id: int) -> str | None:
        broker = self.image.brokers.get(broker_id)
        return None if broker is None else broker.rack

    async def _register(self) -> None:
        request = register_req.BrokerRegistrationRequest(
            broker_id=BrokerId(self.node_id),
            cluster_id=self.cluster_id,
            incarnation_id=self.incarnation,
            listeners=(
                register_req.Listener(
                    name="PLAINTEXT",
                    host=self.host,
                    port=u16(self.port),
                    security_protocol=i16(0),
                ),
            ),
            features=(),
            rack=self.rack,
        )
        response = await self._lifeline.call(request)
        if response.error_code != ErrorCode.none:
            raise ControllerUnavailableError(
                f"the controller refused the registration: {response.error_code.name}"
            )
        self.broker_epoch = int(response.broker_epoch)
        log.info("Registered with the controller (broker epoch %d)", self.broker_epoch)

    async def _heartbeat(
        self, *, want_shut_down: bool = False, timeout_s: float | None = None
    ) -> Any:
        request = heartbeat_req.BrokerHeartbeatRequest(
            broker_id=BrokerId(self.node_id),
            broker_epoch=i64(self.broker_epoch),
            current_metadata_offset=i64(self.image.offset),
            want_fence=self.image.offset < self.broker_epoch,
            want_shut_down=want_shut_down,
        )
        return await self._lifeline.call(request, timeout_s=timeout_s)

    async def _lifecycle(self) -> None:
        while not self._stopping:
            try:
                if self.broker_epoch < 0:
                    await self._register()
                    self.producer_ids.fetch_ahead()
                response = await self._heartbeat()
                self.controller_reachable = True
                if response.error_code == ErrorCode.stale_broker_epoch:
                    self.broker_epoch = -1  # the controller forgot us: register again
                    continue
                if self.fenced != response.is_fenced:
                    log.info("This broker is now %s", "fenced" if response.is_fenced else "active")
                self.fenced = bool(response.is_fenced)
            except ControllerUnavailableError as exc:
                if self.controller_reachable:
                    log.warning("Lost the controller: %s; serving with the metadata we have", exc)
                self.controller_reachable = False
                await asyncio.sleep(RETRY_S)
                continue
            # while fenced (starting, or catching up) ask again soon, as KRaft brokers do, so
            # a new broker serves within a moment of registering
            wait_ms = (
                min(self.heartbeat_ms, FENCED_HEARTBEAT_MS) if self.fenced else self.heartbeat_ms
            )
            await asyncio.sleep(wait_ms / 1000)

    # -- following the metadata log ---------------------------------------------------------
    async def _follow(self) -> None:
        while not self._stopping:
            self._rounds_started += 1
            try:
                fresh = await self._fetch_round()
            except ControllerUnavailableError:
                await asyncio.sleep(RETRY_S)
                fresh = []
            if fresh:
                # as a KRaft broker (an observer of the metadata log): appended to the local
                # copy before it is applied, so a killed broker never restarts knowing less
                # than it acted on; flushed after, by a task of its own, so a fencing moves
                # leadership here without waiting for an fsync
                self._append_local(fresh)
                live = self._live()
                for offset, record in fresh:
                    self.image.replay(offset, record)
                self._sync_later()
                await self._reconcile_all()
                now_live = self._live()
                if now_live != live:
                    self.replicas.brokers_changed({b for b, _ in live - now_live})
            if not self.image_trusted and 0 <= self.broker_epoch <= self.image.offset:
                self.image_trusted = True
                log.info("Caught up with the controller's metadata at offset %d", self.image.offset)
                await self._reconcile_all()
            self._rounds_done += 1
            self._round_done.set()
            self._round_done = asyncio.Event()

    def _metadata_fetch(self, start: int, wait_ms: int) -> Any:
        return fetch_req.FetchRequest(
            replica_id=BrokerId(self.node_id),
            max_wait=i32Timedelta.parse(datetime.timedelta(milliseconds=wait_ms)),
            min_bytes=i32(1),
            topics=(
                fetch_req.FetchTopic(
                    topic=TopicName(METADATA_TOPIC),
                    partitions=(
                        fetch_req.FetchPartition(
                            partition=i32(0),
                            fetch_offset=i64(start),
                            partition_max_bytes=i32(8 * 1024 * 1024),
                        ),
                    ),
                ),
            ),
            forgotten_topics_data=(),
        )

    async def _fetch_round(self) -> list[tuple[int, MetadataRecord]]:
        start = self.image.offset + 1
        request = self._metadata_fetch(start, FETCH_WAIT_MS)
        response = await self._fetcher.call(request, timeout_s=FETCH_WAIT_MS / 1000 + 5)
        out: list[tuple[int, MetadataRecord]] = []
        for topic in response.responses:
            for part in topic.partitions:
                if part.error_code == ErrorCode.offset_out_of_range:
                    log.error(
                        "The controller's metadata log is shorter than this broker's copy; "
                        "was the controller's directory replaced? Starting over from it."
                    )
                    self.image = MetadataImage()
                    self.local_log = MetadataLog(None)
                    return []
                if part.records:
                    for offset, value in decode_batches(bytes(part.records)):
                        if offset >= start + len(out):
                            out.append((offset, decode_record(value)))
        return out

    def _append_local(self, records: list[tuple[int, MetadataRecord]]) -> None:
        """Append to the local copy without flushing (a few KiB into the page cache)."""
        try:
            encoded = self.local_log.write([r for _, r in records], sync=False)
        except OSError as exc:
            log.warning("Could not save the metadata locally (%s); kept in memory", exc)
            return
        self.local_log.commit(encoded)

    def _sync_later(self) -> None:
        """Flush the local copy off the event loop; appends during a flush share the next."""
        self._sync_wanted = True
        if self._syncer is None or self._syncer.done():
            self._syncer = self.state.spawn(self._sync_local(), name="cluster-metadata-sync")

    async def _sync_local(self) -> None:
        while self._sync_wanted:
            self._sync_wanted = False
            try:
                await asyncio.to_thread(self.local_log.sync)
            except OSError as exc:
                log.warning("Could not flush the local copy of the metadata (%s)", exc)

    async def _controller_end(self) -> int | None:
        """The controller's metadata log end now (a fetch that does not wait), or None."""
        request = self._metadata_fetch(self.image.offset + 1, 0)
        try:
            response = await self._admin.call(request)
        except ControllerUnavailableError:
            return None
        for topic in response.responses:
            for part in topic.partitions:
                return int(part.high_watermark)
        return None

    async def caught_up(self, timeout_s: float = 3.0) -> None:
        """Wait until every change the controller made before this call is in the image: the
        image reaches the controller's log end of now (or, not knowing it, a metadata fetch
        started after now has been applied; the follow loop's fetch waits at the controller
        up to FETCH_WAIT_MS when there is nothing new, so that is the slower way)."""
        target = self._rounds_started
        end = await self._controller_end()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.image.offset + 1 < end if end is not None else self._rounds_done <= target:
            left = deadline - loop.time()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._round_done.wait(), left)

    # -- the local side ---------------------------------------------------------------------
    def _held(self, part: PartitionImage) -> PartitionImage:
        """The state given to the replica manager: the image's once caught up, before that
        the same without a leader (clients get NOT_LEADER_OR_FOLLOWER, nothing is fetched)."""
        return part if self.image_trusted else dataclasses.replace(part, leader=-1)

    def _hold_local_partitions(self) -> None:
        """Before any request is served from the local copy of the metadata: every local
        partition it assigns here is held without a leader (a partition unknown to the replica
        manager would be served as if this broker led it)."""
        for name, topic in self.image.topics.items():
            info = self.state.topics.get(name)
            if info is None or info.topic_id != topic.topic_id:
                continue
            for index, part in topic.partitions.items():
                if self.node_id in part.replicas and index < info.partitions:
                    self.replicas.apply(name, index, self._held(part))

    async def _reconcile_all(self) -> None:
        """Make the local topics, partitions, configs and ACLs match the image, then tell
        the replica manager about each local partition whose state changed."""
        state = self.state
        authorizer = state.extensions.get(AUTHORIZER_KEY)
        if isinstance(authorizer, Authorizer):
            authorizer.replace_all(image_bindings(self.image.acls))
        store = state.extensions.get(SCRAM_STORE_KEY)
        if isinstance(store, ScramCredentialStore):
            store.replace_all(image_users(self.image.scram.values()))
        for name, info in list(state.topics.items()):
            wanted = self.image.topics.get(name)
            if info.internal and wanted is None:
                continue  # broker-local internal topics (__consumer_offsets) stay
            if wanted is None or wanted.topic_id != info.topic_id:
                for p in range(info.partitions):
                    self.replicas.apply(name, p, GONE)
                await state.delete_topic_async(name)
        for name, topic in list(self.image.topics.items()):
            count = len(topic.partitions)
            configs = self.image.topic_configs(name)
            try:
                local = state.topics.get(name)
                if local is None and count:
                    await state.create_topic_async(
                        name,
                        count,
                        configs,
                        internal=name in INTERNAL_TOPICS,
                        topic_id=topic.topic_id,
                    )
                elif local is not None and local.partitions < count:
                    await state.add_partitions_async(name, count)
                local = state.topics.get(name)
                if local is not None and local.configs != configs:
                    state.set_topic_configs(name, configs)
            except OSError as exc:
                log.error("Could not create the local files of topic %s: %s", name, exc)
                continue
            for index, part in topic.partitions.items():
                if self.node_id in part.replicas:
                    local_logs.keep(state, name, index)
                    self.replicas.apply(name, index, self._held(part))
                else:
                    if (name, index) in self.replicas.local():
                        self.replicas.apply(name, index, GONE)
                    await local_logs.drop(state, name, index)

    # -- requests to the controller ---------------------------------------------------------
    async def forward(self, request: Any) -> Any:
        """Send an admin request to the controller, return its answer once the change is in
        this broker's image (ControllerUnavailableError if the controller is down)."""
        response = await self._admin.call(request)
        await self.caught_up()
        return response

    def unavailable_message(self) -> str:
        host, port = self.controller_address
        return (
            f"The cluster's controller (node 100 at {host}:{port}) is not reachable, so the "
            "cluster's topics cannot be created, deleted or changed until it is back. Restart "
            "it with: topicscope-broker --data-dir <cluster dir> --node 100"
        )

    async def send_isr(self, topic: str, partition: int, proposed: Any) -> Any:
        """Propose a partition's new ISR (``proposed`` is the replication layer's
        PartitionState): the committed state, or None if refused, superseded or the controller
        is unreachable. Proposals made while an AlterPartition is in flight go together in
        the next one."""
        return await self._isr_queue.submit((topic, partition), proposed)

    async def _send_isr_batch(self, batch: dict[tuple[str, int], Any]) -> dict[Any, Any]:
        request, sent = isr_batch.alter_partition_request(
            self.node_id, self.broker_epoch, self.image, batch
        )
        if not sent:
            return {}
        try:
            response = await self._control.call(request)
        except ControllerUnavailableError:
            return {}
        return isr_batch.committed_states(response, sent, batch, self.replicas.make_state)
