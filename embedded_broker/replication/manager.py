"""The replica manager: leader and follower roles per partition, high watermarks, the
delayed-produce purgatory (acks=all), ISR shrink and expand, and the follower fetchers.

A partition the metadata never gave a state (single-node mode) is led by this broker alone:
its high watermark is its log end offset and acks=all is answered at once, as before. In a
cluster (a controller drives this broker) such a partition is led by nobody here yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kio.schema.errors import ErrorCode

from embedded_broker.storage import PartitionLog
from embedded_broker.storage.manager import partition_dir_name

from .epoch_cache import LeaderEpochCache, write_now
from .fetcher import FollowerFetcher
from .hw_checkpoint import read_checkpoint, write_checkpoint
from .partition import FollowerProgress, ReplicatedPartition
from .partition_state import PartitionState
from .selector import RACK_AWARE_SELECTOR, RackLookup, ReplicaView, select_rack_aware

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

log = logging.getLogger(__name__)

Key = tuple[str, int]
EndpointLookup = Callable[[int], tuple[str, int] | None]
IsrSender = Callable[[str, int, PartitionState], Awaitable[PartitionState | None]]


_HINTED = (ErrorCode.not_leader_or_follower.value, ErrorCode.fenced_leader_epoch.value)


def _no_endpoints(_node: int) -> tuple[str, int] | None:
    return None


def _no_racks(_node: int) -> str | None:
    return None


def _any_broker(_node: int) -> bool:
    return True


class ReplicaManager:
    """Owns every local partition's replication role; lives on the broker's event loop."""

    def __init__(self, state: BrokerState) -> None:
        self._state = state
        self.partitions: dict[Key, ReplicatedPartition] = {}
        self.lookup: EndpointLookup = _no_endpoints
        self.rack_of: RackLookup = _no_racks
        # whether the metadata lets a broker join an ISR (everyone on a single node)
        self._isr_eligible: Callable[[int], bool] = _any_broker
        # per follower broker: how many times its fetch progress was forgotten (fenced, or
        # registered anew). A fetch records progress only under the generation it arrived in,
        # so one parked here from a dead process cannot count after the reset
        self._follower_generations: dict[int, int] = {}
        self._isr_sender: IsrSender | None = None
        self._fetchers: dict[int, FollowerFetcher] = {}
        self._saved_hw: dict[Key, int] | None = None
        self._maintenance: asyncio.Task[None] | None = None
        self._hw_dirty = False
        self._state_listeners: list[Callable[[str, int], None]] = []
        # a controller drives this broker (set with the ISR sender): a local partition with no
        # state yet (its files made a moment before the metadata's state is applied, as a new
        # topic's are) is not led here, as Kafka's broker refuses a partition not yet online
        self.clustered = False

    # -- settings ---------------------------------------------------------------------------
    @property
    def node_id(self) -> int:
        return self._state.node_id

    def config_ms(self, name: str) -> int:
        return self._state.config.get_int(name)

    def set_endpoints(self, lookup: EndpointLookup) -> None:
        """How followers find a leader's (host, port) by its node id."""
        self.lookup = lookup

    def set_racks(self, rack_of: RackLookup) -> None:
        """How the leader finds a replica's broker.rack (for KIP-392's replica selection)."""
        self.rack_of = rack_of

    def set_isr_eligibility(self, eligible: Callable[[int], bool]) -> None:
        """Which brokers the metadata lets join an ISR: registered, not fenced and not
        shutting down, as Kafka's Partition.isReplicaIsrEligible reads its metadata cache (the
        controller refuses any other with INELIGIBLE_REPLICA)."""
        self._isr_eligible = eligible

    def brokers_changed(self, gone: Iterable[int] = ()) -> None:
        """The metadata fenced or unfenced brokers. What this leader knew of the log of a
        broker ``gone`` (fenced, or registered anew) is forgotten: a restarted broker may hold
        less than before, so only its fetches from now on count (Kafka checks the broker epoch
        of a follower's fetch for this). A broker unfenced now is proposed back into the ISR
        of every partition where it is caught up, not at its next fetch (which may wait at
        this leader up to replica.fetch.wait.max.ms)."""
        forget = set(gone)
        for broker in forget:
            self._follower_generations[broker] = self.follower_generation(broker) + 1
        for part in list(self.partitions.values()):
            if not part.leader:
                continue
            for broker in forget & part.followers.keys():
                caught_up_ms = part.followers[broker].last_caught_up_ms
                part.followers[broker] = FollowerProgress(last_caught_up_ms=caught_up_ms)
            for replica, progress in list(part.followers.items()):
                if self._maybe_expand(part, replica, progress):
                    break  # one change in flight per partition; the next fetch adds others

    def follower_generation(self, broker: int) -> int:
        """The generation of ``broker``'s fetch progress, taken when its fetch arrives and
        given back to ``follower_fetched`` (Kafka's leader compares the broker epoch a Fetch
        v15+ carries with the metadata's; our followers' Fetch v12 has none)."""
        return self._follower_generations.get(broker, 0)

    def set_isr_sender(self, send: IsrSender) -> None:
        """How a leader proposes a new ISR; returns the committed state or None."""
        self._isr_sender = send
        self.clustered = True

    def on_state_change(self, listener: Callable[[str, int], None]) -> None:
        """Call listener(topic, partition) after the metadata gave a local partition a new
        state (the group coordinator follows leadership of __consumer_offsets this way)."""
        self._state_listeners.append(listener)

    def _state_changed(self, key: Key) -> None:
        self._state.notify(key)
        for listener in self._state_listeners:
            try:
                listener(*key)
            except Exception:
                log.exception("A partition state listener failed for %s-%d", *key)

    # -- what handlers ask ------------------------------------------------------------------
    def get(self, topic: str, partition: int) -> ReplicatedPartition | None:
        return self.partitions.get((topic, partition))

    def high_watermark(self, topic: str, partition: int, plog: PartitionLog) -> int:
        part = self.partitions.get((topic, partition))
        return plog.log_end_offset if part is None else part.hw

    def high_watermark_behind_epoch(self, topic: str, partition: int) -> bool:
        """A leader whose high watermark has not yet reached the start of its own leader epoch
        (just elected: its followers have not fetched from it yet), so it cannot give a
        consumer an end offset that never goes back (KIP-207)."""
        part = self.partitions.get((topic, partition))
        return part is not None and part.leader and part.hw < part.leader_epoch_start

    def leader_epoch(self, topic: str, partition: int) -> int:
        """The epoch stamped on batches this leader appends (0 on a single node)."""
        part = self.partitions.get((topic, partition))
        return 0 if part is None else part.state.leader_epoch

    def leader_error(
        self,
        topic: str,
        partition: int,
        current_leader_epoch: int = -1,
        *,
        follower_ok: bool = False,
    ) -> ErrorCode:
        """NONE when this broker leads the partition (or, with ``follower_ok``, is one of its
        replicas) and the client's epoch matches."""
        part = self.partitions.get((topic, partition))
        if part is None:
            return ErrorCode.not_leader_or_follower if self.clustered else ErrorCode.none
        if part.truncating:  # as Kafka's partition lock holds a new leader until the cut is done
            return ErrorCode.not_leader_or_follower
        epoch = part.state.leader_epoch
        if current_leader_epoch >= 0 and current_leader_epoch < epoch:
            return ErrorCode.fenced_leader_epoch
        if current_leader_epoch > epoch:
            return ErrorCode.unknown_leader_epoch
        if part.leader or (follower_ok and self.node_id in part.state.replicas):
            return ErrorCode.none
        return ErrorCode.not_leader_or_follower

    def preferred_read_replica(
        self, topic: str, partition: int, client_rack: str | None, fetch_offset: int
    ) -> int | None:
        """The replica a consumer in ``client_rack`` should fetch from instead of this leader
        (KIP-392), or None to keep reading here. As Kafka, only in-sync followers that already
        have ``fetch_offset`` are candidates, and only with replica.selector.class set to the
        rack-aware selector."""
        part = self.partitions.get((topic, partition))
        if part is None or not part.leader or not client_rack:
            return None
        if self._state.config.get_str("replica.selector.class") != RACK_AWARE_SELECTOR:
            return None
        now = self._state.now_ms()
        candidates = []
        for broker in part.state.isr:
            progress = part.followers.get(broker)
            if broker == self.node_id or progress is None or progress.leo < fetch_offset:
                continue
            since = now - progress.last_caught_up_ms
            candidates.append(ReplicaView(broker, self.rack_of(broker), progress.leo, since))
        plog = self._state.partition(topic, partition)
        leo = plog.log_end_offset if plog is not None else 0
        leader = ReplicaView(self.node_id, self._state.config.get_str("broker.rack"), leo, 0)
        chosen = select_rack_aware(client_rack, leader, candidates)
        if chosen is leader:
            return None
        if chosen.broker not in part.redirected_to:
            part.redirected_to.add(chosen.broker)
            log.info(
                "Broker %d sends consumers in rack %s to read %s-%d from broker %d",
                self.node_id,
                client_rack,
                topic,
                partition,
                chosen.broker,
            )
        return chosen.broker

    def served_consumer(self, topic: str, partition: int, client_rack: str | None) -> None:
        """A consumer fetch was answered with records; a follower says so once (KIP-392)."""
        part = self.partitions.get((topic, partition))
        if part is None or part.leader or part.served_consumers:
            return
        part.served_consumers = True
        log.info(
            "Broker %d serves consumer fetches of %s-%d as a follower (client.rack %s)",
            self.node_id,
            topic,
            partition,
            client_rack or "unset",
        )

    def leader_hint(self, topic: str, partition: int) -> tuple[int, int] | None:
        """(leader id, leader epoch) for the current-leader hint of an error answer."""
        part = self.partitions.get((topic, partition))
        return None if part is None else (part.state.leader, part.state.leader_epoch)

    def leader_hints(
        self, answers: Iterable[tuple[str, int, int]]
    ) -> tuple[dict[Key, tuple[int, int]], list[tuple[int, str, int, str | None]]]:
        """The current-leader hints (and the leaders' endpoints) for the (topic, partition,
        error code) answers refused as NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH."""
        hints: dict[Key, tuple[int, int]] = {}
        endpoints: dict[int, tuple[int, str, int, str | None]] = {}
        if not self.partitions:  # a single node: no other leader to name
            return hints, []
        for topic, partition, code in answers:
            if code not in _HINTED:
                continue
            hint = self.leader_hint(topic, partition)
            if hint is None or hint[0] < 0:
                continue
            hints[(topic, partition)] = hint
            address = self.lookup(hint[0])
            if address is not None:
                endpoints[hint[0]] = (hint[0], address[0], address[1], None)
        return hints, list(endpoints.values())

    def _min_isr(self, topic: str) -> int:
        return int(self._state.topic_config(topic)["min.insync.replicas"])

    def min_isr_error(self, topic: str, partition: int) -> ErrorCode:
        """NOT_ENOUGH_REPLICAS when acks=all cannot be met before appending (Kafka's check)."""
        part = self.partitions.get((topic, partition))
        if part is not None and len(part.state.isr) < self._min_isr(topic):
            return ErrorCode.not_enough_replicas
        return ErrorCode.none

    def end_offset_for_epoch(
        self, topic: str, partition: int, plog: PartitionLog, epoch: int
    ) -> tuple[int, int]:
        part = self.partitions.get((topic, partition))
        if part is None:  # single node: one epoch, 0, from the start
            return (0, plog.log_end_offset) if epoch >= 0 else (-1, -1)
        return part.epochs.end_offset_for(epoch, plog.log_end_offset)

    def diverging_epoch(
        self,
        topic: str,
        partition: int,
        plog: PartitionLog,
        last_fetched_epoch: int,
        fetch_offset: int,
    ) -> tuple[int, int] | ErrorCode | None:
        """Kafka's check of a Fetch v12+ ``last_fetched_epoch`` against this replica's epochs:
        None when the fetcher's log agrees up to ``fetch_offset``; (epoch, end offset) of the
        diverging-epoch answer when it does not; OFFSET_OUT_OF_RANGE when that epoch's end is
        unknown here or ``fetch_offset`` is below the log start."""
        part = self.partitions.get((topic, partition))
        if part is None or last_fetched_epoch < 0:
            return None
        epoch, end = part.epochs.end_offset_for(last_fetched_epoch, plog.log_end_offset)
        if epoch < 0 or end < 0 or fetch_offset < plog.log_start_offset:
            return ErrorCode.offset_out_of_range
        if epoch < last_fetched_epoch or end < fetch_offset:
            return epoch, end
        return None

    # -- leader side ------------------------------------------------------------------------
    def appended(self, topic: str, partition: int, plog: PartitionLog) -> None:
        """After a leader append: a leader alone in its ISR moves its high watermark now."""
        part = self.partitions.get((topic, partition))
        if part is not None and part.leader:
            self._advance_hw(part, plog)

    async def wait_replicated(
        self, topic: str, partition: int, required: int, timeout_ms: int
    ) -> ErrorCode:
        """The delayed produce of acks=all: NONE once the high watermark reaches ``required``
        (NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below min.insync.replicas
        meanwhile), REQUEST_TIMED_OUT after ``timeout_ms``."""
        part = self.partitions.get((topic, partition))
        if part is None:  # single node; in a cluster, the state was removed since the append
            return ErrorCode.not_leader_or_follower if self.clustered else ErrorCode.none
        fut: asyncio.Future[ErrorCode] = asyncio.get_running_loop().create_future()
        entry = (required, fut)
        part.waiting.append(entry)
        self._complete_produces(part)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), max(timeout_ms, 0) / 1000)
        except TimeoutError:
            return ErrorCode.request_timed_out
        finally:
            if entry in part.waiting:
                part.waiting.remove(entry)

    def _complete_produces(self, part: ReplicatedPartition) -> None:
        if not part.waiting:
            return
        if not part.leader:
            part.fail_waiting(ErrorCode.not_leader_or_follower)
            return
        enough = len(part.state.isr) >= self._min_isr(part.topic)
        left = []
        for required, fut in part.waiting:
            if fut.done():
                continue
            if part.hw >= required:
                code = ErrorCode.none if enough else ErrorCode.not_enough_replicas_after_append
                fut.set_result(code)
            else:
                left.append((required, fut))
        part.waiting[:] = left

    def follower_fetched(
        self,
        topic: str,
        partition: int,
        replica_id: int,
        fetch_offset: int,
        plog: PartitionLog,
        *,
        generation: int | None = None,
    ) -> None:
        """Record a follower's fetch offset (its log end offset); may move the high
        watermark, answer delayed produces and propose the follower back into the ISR. A
        fetch that arrived under an older ``generation`` (follower_generation) records
        nothing: it may come from a process that has died since, as Kafka refuses a stale
        broker epoch's fetch state."""
        part = self.partitions.get((topic, partition))
        if part is None or not part.leader or replica_id == self.node_id:
            return
        if generation is not None and generation != self.follower_generation(replica_id):
            return
        progress = part.followers.setdefault(replica_id, FollowerProgress())
        progress.fetched(fetch_offset, plog.log_end_offset, self._state.now_ms())
        self._maybe_expand(part, replica_id, progress)
        self._advance_hw(part, plog)

    def _maybe_expand(
        self, part: ReplicatedPartition, replica_id: int, progress: FollowerProgress
    ) -> bool:
        """Propose a caught-up follower back into the ISR (Kafka's maybeExpandIsr): only
        one the metadata shows eligible, so a broker still fenced after its restart is not
        proposed, refused with INELIGIBLE_REPLICA and proposed again on a later fetch."""
        state = part.state
        if (
            replica_id in state.isr
            or replica_id not in state.replicas
            or part.isr_in_flight
            or progress.leo < part.hw
            or progress.leo < part.leader_epoch_start
            or not self._isr_eligible(replica_id)
        ):
            return False
        self._propose(part, (*state.isr, replica_id))
        return part.isr_in_flight

    def _advance_hw(self, part: ReplicatedPartition, plog: PartitionLog) -> None:
        """HW = the lowest log end offset over the maximal ISR, as Kafka: a lagging member
        holds it until the controller has committed its removal, else acks=all would be
        answered for data that a failover to that member loses. It never goes back."""
        if len(part.state.isr) < self._min_isr(part.topic):
            # KIP-966 (Kafka 4): an ISR below min.insync.replicas holds the high watermark, so
            # what acks=1 or the group coordinator writes then stays invisible until it is safe
            return
        new_hw = plog.log_end_offset
        for replica in part.maximal_isr():
            if replica == self.node_id:
                continue
            progress = part.followers.get(replica)
            new_hw = min(new_hw, -1 if progress is None else progress.leo)
        if new_hw > part.hw:
            part.hw = new_hw
            self._hw_dirty = True
            self._complete_produces(part)
            self._state.notify((part.topic, part.index))

    def _propose(self, part: ReplicatedPartition, isr: tuple[int, ...]) -> None:
        if self._isr_sender is None:
            return
        part.proposed_isr = isr
        proposed = replace(part.state, isr=isr)
        self._state.spawn(self._send_isr(part, proposed), name=f"isr-{part.topic}-{part.index}")

    async def _send_isr(self, part: ReplicatedPartition, proposed: PartitionState) -> None:
        assert self._isr_sender is not None
        try:
            committed = await self._isr_sender(part.topic, part.index, proposed)
        except Exception:
            log.exception("Could not change the ISR of %s-%d", part.topic, part.index)
            committed = None
        finally:
            part.proposed_isr = None
        if committed is not None:
            self.apply(part.topic, part.index, committed)

    async def _maintain(self) -> None:
        """Shrink ISRs of lagging followers (every replica.lag.time.max.ms / 2, as Kafka) and
        checkpoint high watermarks."""
        loop = asyncio.get_running_loop()
        next_checkpoint = loop.time()
        while True:
            lag = self.config_ms("replica.lag.time.max.ms")
            await asyncio.sleep(max(lag / 2, 10) / 1000)
            now = self._state.now_ms()
            for part in list(self.partitions.values()):
                if not part.leader or part.isr_in_flight:
                    continue
                plog = self._state.partition(part.topic, part.index)
                if plog is None:
                    continue
                leo = plog.log_end_offset
                out = [
                    r
                    for r in part.state.isr
                    if r != self.node_id
                    and not part.followers.get(r, FollowerProgress()).caught_up(leo, now, lag)
                ]
                if out:
                    log.info(
                        "Removing replica(s) %s of %s-%d from the ISR: not caught up for %d ms",
                        out,
                        part.topic,
                        part.index,
                        lag,
                    )
                    self._propose(part, tuple(r for r in part.state.isr if r not in out))
            if loop.time() >= next_checkpoint:
                interval = self.config_ms("replica.high.watermark.checkpoint.interval.ms")
                next_checkpoint = loop.time() + interval / 1000
                await self.checkpoint()

    async def checkpoint(self) -> None:
        """Write every replicated partition's high watermark (off the loop)."""
        data_dir = self._state.data_dir
        if not self._hw_dirty or data_dir is None or self._state.in_memory:
            return
        self._hw_dirty = False
        marks = {key: part.hw for key, part in self.partitions.items()}
        try:
            await self._state.run_storage(write_checkpoint, data_dir, marks)
        except OSError as exc:
            self._hw_dirty = True
            log.warning("Could not save the high watermarks in %s: %s", data_dir, exc)

    # -- metadata ---------------------------------------------------------------------------
    def _saved_high_watermark(self, key: Key) -> int:
        if self._saved_hw is None:
            data_dir = self._state.data_dir
            use = data_dir is not None and not self._state.in_memory
            self._saved_hw = read_checkpoint(data_dir) if use and data_dir is not None else {}
        return self._saved_hw.get(key, 0)

    def _new_partition(
        self, topic: str, partition: int, ps: PartitionState, plog: PartitionLog
    ) -> ReplicatedPartition:
        data_dir = self._state.data_dir
        directory = (
            None
            if data_dir is None or self._state.in_memory
            else data_dir / partition_dir_name(topic, partition)
        )
        epochs = LeaderEpochCache(directory, self._write_later)
        if not epochs.entries and plog.log_end_offset > plog.log_start_offset:
            # data from before replication (a single node stamps epoch 0) or a lost checkpoint:
            # start from the first batch's epoch, so a divergence check cuts no more than that
            # epoch's tail (refetched from the leader), never the whole log
            first = plog.read(plog.log_start_offset, 1)
            if len(first) >= 16:
                epoch = int.from_bytes(first[12:16], "big", signed=True)
                epochs.assign(max(epoch, 0), plog.log_start_offset)
        # never below the log start (as Kafka bounds it): a checkpoint older than a restart of
        # the log at a later offset would otherwise send a follower back below its start
        saved = self._saved_high_watermark((topic, partition))
        hw = max(min(saved, plog.log_end_offset), plog.log_start_offset)
        return ReplicatedPartition(topic, partition, ps, epochs, hw)

    def _write_later(self, path: Path, data: bytes) -> None:
        """Queue a checkpoint write on the storage thread (jobs run one at a time, in order,
        so the file ends with the newest content)."""

        async def write() -> None:
            try:
                await self._state.run_storage(write_now, path, data)
            except OSError as exc:
                log.warning("Could not save %s: %s", path, exc)

        self._state.spawn(write(), name="epoch-checkpoint")

    def apply(self, topic: str, partition: int, ps: PartitionState) -> None:
        """The metadata gives a local partition a new state: lead it, follow its leader, or
        stop being one of its replicas. Older states (by epochs) are ignored."""
        key = (topic, partition)
        plog = self._state.partition(topic, partition)
        part = self.partitions.get(key)
        if plog is None:
            log.warning("Replication state for %s-%d, which this broker does not have", *key)
            return
        if part is not None:
            old = part.state
            if (ps.leader_epoch, ps.partition_epoch) < (old.leader_epoch, old.partition_epoch):
                return
        if self._maintenance is None:
            self._maintenance = self._state.spawn(self._maintain(), name="replica-maintenance")
        me = self.node_id
        if me not in ps.replicas:
            # no longer a replica: refuse clients (NOT_LEADER_OR_FOLLOWER) until the
            # controller deletes the partition or assigns it here again
            if part is None:
                part = self._new_partition(topic, partition, ps, plog)
                self.partitions[key] = part
            self._stop_fetching(key)
            part.state = ps
            part.leader = False
            part.followers = {}
            part.fail_waiting(ErrorCode.not_leader_or_follower)
            self._state_changed(key)
            return
        if part is None:
            part = self._new_partition(topic, partition, ps, plog)
            self.partitions[key] = part
            new_role = True
        else:
            new_role = (
                me not in part.state.replicas
                or ps.leader_epoch > part.state.leader_epoch
                or ps.leader != part.state.leader
                or part.leader != (ps.leader == me)
            )
        part.state = ps
        if ps.leader == me:
            if new_role:
                self._become_leader(part, plog)
            else:
                self._track_replicas(part)
            self._advance_hw(part, plog)
            self._complete_produces(part)
        elif new_role:
            self._become_follower(part)
        self._state_changed(key)

    def remove(self, topic: str, partition: int) -> None:
        """This broker holds no replica of the partition any more (moved away by a
        reassignment, or its topic deleted): stop fetching it, answer its delayed produces and
        forget it."""
        key = (topic, partition)
        self._stop_fetching(key)
        part = self.partitions.pop(key, None)
        if part is not None:
            part.fail_waiting(ErrorCode.not_leader_or_follower)
            self._hw_dirty = True
        if self._saved_hw is not None:
            self._saved_hw.pop(key, None)
        self._state.notify(key)

    def absent_error(self, topic: str, partition: int) -> ErrorCode:
        """The answer for a partition with no log here: NOT_LEADER_OR_FOLLOWER when its topic
        exists (the replicas are on other brokers, as Kafka answers), else
        UNKNOWN_TOPIC_OR_PARTITION."""
        info = self._state.topics.get(topic)
        if info is not None and 0 <= partition < info.partitions:
            return ErrorCode.not_leader_or_follower
        return ErrorCode.unknown_topic_or_partition

    def truncated(self, part: ReplicatedPartition, end: int) -> None:
        """A follower's cut of the log (to ``end``) is done. If the metadata made this broker
        the leader while it ran, its leader epoch starts where the log ends now, not where it
        ended before the cut (Kafka makes a new leader wait for the cut instead)."""
        part.epochs.truncate_from_end(end)
        part.hw = min(part.hw, end)
        if part.leader:
            part.epochs.assign(part.state.leader_epoch, end)
            part.leader_epoch_start = end
            log.info(
                "Leading %s-%d at leader epoch %d from offset %d (after a cut of the log)",
                part.topic,
                part.index,
                part.state.leader_epoch,
                end,
            )

    def _become_leader(self, part: ReplicatedPartition, plog: PartitionLog) -> None:
        key = (part.topic, part.index)
        self._stop_fetching(key)
        # the producer table is rebuilt from the log, which followed another leader until now
        self._state.producers.forget_partition(*key)
        leo = plog.log_end_offset
        part.leader = True
        part.redirected_to = set()
        part.epochs.assign(part.state.leader_epoch, leo)
        part.leader_epoch_start = leo
        now = self._state.now_ms()
        part.followers = {
            r: FollowerProgress(last_caught_up_ms=now if r in part.state.isr else 0)
            for r in part.state.replicas
            if r != self.node_id
        }
        log.info("Leading %s-%d at leader epoch %d", *key, part.state.leader_epoch)

    def _track_replicas(self, part: ReplicatedPartition) -> None:
        """Follow a replica set changed under a leader (a reassignment): new members start
        as caught up if they are in the ISR, as Kafka resets them."""
        now = self._state.now_ms()
        replicas = part.state.replicas
        for r in replicas:
            if r != self.node_id and r not in part.followers:
                part.followers[r] = FollowerProgress(
                    last_caught_up_ms=now if r in part.state.isr else 0
                )
        for r in [r for r in part.followers if r not in replicas]:
            del part.followers[r]

    def _become_follower(self, part: ReplicatedPartition) -> None:
        key = (part.topic, part.index)
        part.leader = False
        part.served_consumers = False
        part.followers = {}
        part.fail_waiting(ErrorCode.not_leader_or_follower)
        self._stop_fetching(key)
        leader = part.state.leader
        if leader < 0:
            return  # no leader: nothing to fetch from until the metadata names one
        fetcher = self._fetchers.get(leader)
        if fetcher is None or fetcher.done:
            fetcher = FollowerFetcher(self, self._state, leader)
            self._fetchers[leader] = fetcher
        fetcher.add(key)
        log.info(
            "Following %s-%d from broker %d at leader epoch %d",
            *key,
            leader,
            part.state.leader_epoch,
        )

    def _stop_fetching(self, key: Key) -> None:
        for fetcher in self._fetchers.values():
            fetcher.remove(key)

    async def close(self) -> None:
        """At shutdown: stop fetching, answer delayed produces, save high watermarks."""
        for fetcher in self._fetchers.values():
            fetcher.stop()
        for part in self.partitions.values():
            part.fail_waiting(ErrorCode.not_leader_or_follower)
        self._hw_dirty = bool(self.partitions)
        await self.checkpoint()
