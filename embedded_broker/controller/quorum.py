"""The controller's state machine: appends records to the metadata log, replays them into its
image, tracks broker sessions, fences silent brokers and elects leaders."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from embedded_broker.controller.followers import Followers
from embedded_broker.metadata.image import MetadataImage, PartitionImage
from embedded_broker.metadata.log import MetadataLog
from embedded_broker.metadata.records import (
    NO_LEADER,
    FenceBroker,
    MetadataRecord,
    PartitionChange,
    UnfenceBroker,
)

log = logging.getLogger(__name__)

SESSION_CHECK_MAX_S = 0.1  # the longest the session checker sleeps


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


def elect_leader(
    image: MetadataImage, part: PartitionImage, isr: tuple[int, ...], unclean: bool
) -> tuple[int, tuple[int, ...]]:
    """(leader, isr) after the current leader is gone: the first replica, in replica order,
    that is live and in the ISR; with unclean election any live replica (ISR = just it);
    else no leader and the ISR kept as it was (KRaft keeps the last member)."""
    for r in part.replicas:
        if r in isr and image.is_live(r):
            return r, isr
    if unclean:
        for r in part.replicas:
            if image.is_live(r):
                return r, (r,)
    return NO_LEADER, isr


class Controller:
    """Owns the metadata; every change goes through ``append`` (log first, then the image)."""

    def __init__(
        self,
        data_dir: Path | None,
        *,
        session_timeout_ms: int,
        unclean_election: Callable[[str], bool],
        clock: Callable[[], int] = _monotonic_ms,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.log = MetadataLog(data_dir)
        self.image = MetadataImage()
        for offset, record in self.log.read(0):
            self.image.replay(offset, record)
        self.session_timeout_ms = session_timeout_ms
        self.unclean_election = unclean_election
        self.clock = clock
        self.on_change = on_change
        self._lock = asyncio.Lock()
        self._appended = asyncio.Event()
        # a restarted controller gives every registered broker a fresh session, as KRaft does
        now = clock()
        self.last_heartbeat: dict[int, int] = {b: now for b in self.image.brokers}
        self.followers = Followers()  # the brokers' progress, for DescribeQuorum

    # -- the log ----------------------------------------------------------------------------
    async def append(self, build: Callable[[], list[MetadataRecord]]) -> int:
        """Append the records ``build`` returns (called under the write lock, so it sees every
        earlier change); returns the offset after them. The fsync runs off the event loop."""
        async with self._lock:
            records = build()
            if not records:
                return self.log.end_offset
            encoded = await asyncio.to_thread(self.log.write, records)
            first = self.log.commit(encoded)
            for i, record in enumerate(records):
                self.image.replay(first + i, record)
            self._appended.set()
            self._appended = asyncio.Event()
        if self.on_change is not None:
            self.on_change()
        return self.log.end_offset

    async def wait_for_append(self, after: int, timeout_s: float) -> None:
        """Return when the log's end passes ``after`` or the timeout elapses (long-poll)."""
        if self.log.end_offset > after:
            return
        event = self._appended
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)

    # -- sessions and fencing ---------------------------------------------------------------
    def fence_records(self, broker_id: int) -> list[MetadataRecord]:
        """Fence a broker: it leaves every ISR (unless the last member) and partitions it led
        get a new leader from the ISR."""
        broker = self.image.brokers.get(broker_id)
        if broker is None or broker.fenced:
            return []
        records: list[MetadataRecord] = [FenceBroker(broker_id, broker.epoch)]
        for topic in self.image.topics.values():
            unclean = self.unclean_election(topic.name)
            for index, part in topic.partitions.items():
                if broker_id not in part.replicas:
                    continue
                isr = tuple(r for r in part.isr if r != broker_id) or part.isr
                if part.leader == broker_id:
                    image_after = _without(self.image, broker_id)
                    leader, isr = elect_leader(image_after, part, isr, unclean)
                    records.append(PartitionChange(topic.topic_id, index, leader=leader, isr=isr))
                elif isr != part.isr:
                    records.append(PartitionChange(topic.topic_id, index, isr=isr))
        return records

    def unfence_records(self, broker_id: int) -> list[MetadataRecord]:
        """Unfence a broker; partitions left without a leader that it can lead get it back."""
        broker = self.image.brokers.get(broker_id)
        if broker is None or not broker.fenced:
            return []
        records: list[MetadataRecord] = [UnfenceBroker(broker_id, broker.epoch)]
        for topic in self.image.topics.values():
            unclean = self.unclean_election(topic.name)
            for index, part in topic.partitions.items():
                if part.leader != NO_LEADER or broker_id not in part.replicas:
                    continue
                if broker_id in part.isr:
                    records.append(PartitionChange(topic.topic_id, index, leader=broker_id))
                elif unclean:
                    records.append(
                        PartitionChange(topic.topic_id, index, leader=broker_id, isr=(broker_id,))
                    )
        return records

    def heartbeat(self, broker_id: int) -> None:
        self.last_heartbeat[broker_id] = self.clock()

    async def check_sessions(self) -> None:
        """Fence every unfenced broker whose last heartbeat is older than the session timeout."""
        now = self.clock()
        for broker in list(self.image.brokers.values()):
            seen = self.last_heartbeat.get(broker.broker_id, now)
            if not broker.fenced and now - seen > self.session_timeout_ms:
                log.warning(
                    "Broker %d sent no heartbeat for %d ms; fencing it",
                    broker.broker_id,
                    now - seen,
                )
                await self.append(partial(self.fence_records, broker.broker_id))

    def until_next_expiry_s(self) -> float:
        """Seconds until the oldest session of an unfenced broker runs out (0 if it has)."""
        now = self.clock()
        seen = [
            self.last_heartbeat.get(b.broker_id, now)
            for b in self.image.brokers.values()
            if not b.fenced
        ]
        if not seen:
            return SESSION_CHECK_MAX_S
        # the check fences once more than the timeout has passed: 1 ms after the expiry
        return max(min(seen) + self.session_timeout_ms + 1 - now, 0) / 1000

    async def run_session_checks(self) -> None:
        # Kafka schedules its check for the moment the oldest session expires; polling every
        # 0.1 s added up to that (50 ms on average) to every failover. Waking at least that
        # often still sees sessions started or renewed meanwhile.
        while True:
            await asyncio.sleep(min(self.until_next_expiry_s(), SESSION_CHECK_MAX_S))
            await self.check_sessions()


def _without(image: MetadataImage, broker_id: int) -> MetadataImage:
    # a view of the image in which broker_id is already fenced, for choosing its successor
    from dataclasses import replace

    view = MetadataImage()
    view.brokers = dict(image.brokers)
    view.brokers[broker_id] = replace(image.brokers[broker_id], fenced=True)
    return view
