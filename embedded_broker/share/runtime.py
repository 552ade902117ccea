"""The broker's share coordinator: share groups, share-partitions, sessions and their store.

One per broker (in ``state.extensions``). On the single node it is both what Kafka splits into
the group coordinator (membership), the share-partition leaders (record states, in
SharePartitionManager) and the share coordinator (durable state). A share-partition is created
when the group is first assigned the partition (or first fetches it), starting at the latest
offset, as Kafka's share.auto.offset.reset defaults to.

In a local cluster the durable state lives with the share coordinators in __share_group_state
(share.persister): this broker loads a share-partition from there when it becomes the
partition's leader (at each new leader epoch) and writes it back after every change, so a new
leader goes on where the old one stopped. The group's own file then holds only its configs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kio.schema.errors import ErrorCode

from .groups import ShareGroup, ShareGroups, ShareLimits
from .offset_reset import start_offset
from .partition import RecordState, SharePartition
from .persister import SharePersister, make_persister
from .sessions import ShareSessions
from .state_topic import Snapshot
from .store import ShareStore, encode, load_all

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState
    from embedded_broker.storage.api import PartitionLog

log = logging.getLogger(__name__)

EXTENSION_KEY = "share_groups"

PartitionKey = tuple[uuid.UUID, int]


@dataclass(frozen=True, slots=True)
class ShareSettings:
    """The group.share.* settings, read from the broker's configuration on each use."""

    lock_ms: int
    delivery_limit: int
    max_locks: int
    limits: ShareLimits
    read_committed: bool = False  # share.isolation.level


class ShareCoordinator:
    def __init__(self, state: BrokerState, saved: dict[str, dict[str, object]]) -> None:
        self.state = state
        self.groups = ShareGroups(self._member_gone)
        self.partitions: dict[str, dict[PartitionKey, SharePartition]] = {}
        self.sessions = ShareSessions(state.config.get_int("group.share.max.share.sessions"))
        data_dir = None if state.in_memory else state.data_dir
        self.store = ShareStore(data_dir, self._snapshot)
        self._wakeup: asyncio.Future[None] | None = None
        self.group_configs: dict[str, dict[str, str]] = {}
        self._persister = make_persister(state)
        # a cluster's share-partitions: the leader epoch each was loaded at, its state epoch
        self._loaded: dict[tuple[str, PartitionKey], tuple[int, int]] = {}
        self._loading: dict[tuple[str, PartitionKey], asyncio.Task[None]] = {}
        for group_id, data in saved.items():
            self._restore(group_id, data)

    # -- settings ------------------------------------------------------------------------------
    def settings(self, group_id: str | None = None) -> ShareSettings:
        """The broker's group.share.* settings with ``group_id``'s own overrides."""
        own = self.group_configs.get(group_id, {}) if group_id is not None else {}
        broker = self.state.config.get_int

        def get(name: str) -> int:
            key = name.replace("group.share.", "share.", 1)
            return int(own[key]) if key in own else broker(name)

        return ShareSettings(
            lock_ms=get("group.share.record.lock.duration.ms"),
            delivery_limit=get("group.share.delivery.count.limit"),
            max_locks=get("group.share.partition.max.record.locks"),
            limits=ShareLimits(
                session_timeout_ms=get("group.share.session.timeout.ms"),
                heartbeat_interval_ms=get("group.share.heartbeat.interval.ms"),
                max_size=get("group.share.max.size"),
            ),
            read_committed=own.get("share.isolation.level") == "read_committed",
        )

    def clustered(self) -> bool:
        """Whether this is a cluster broker (its share state lives with share coordinators)."""
        return self._persister() is not None

    # -- share-partitions ----------------------------------------------------------------------
    def high_watermark(self, topic: str, index: int) -> int | None:
        plog = self.state.partition(topic, index)
        if plog is None:
            return None
        return self.state.replicas.high_watermark(topic, index, plog)

    def partition(
        self, group_id: str, topic_id: uuid.UUID, index: int, *, create: bool = True
    ) -> SharePartition | None:
        """The group's share-partition, created on first use at the latest offset (or the
        earliest, or by duration, as the group's share.auto.offset.reset says)."""
        parts = self.partitions.setdefault(group_id, {})
        found = parts.get((topic_id, index))
        if found is not None or not create or self._persister() is not None:
            return found  # a cluster's share-partitions are made by prepare()
        info = self.state.registry.by_id.get(topic_id)
        if info is None:
            return None
        plog = self.state.partition(info.name, index)
        if plog is None:
            return None
        start = self._reset_start(group_id, plog, info.name, index)
        found = parts[(topic_id, index)] = SharePartition(start)
        return found

    def _reset_start(self, group_id: str, plog: PartitionLog, topic: str, index: int) -> int:
        """Where the group starts a partition it has no state for (share.auto.offset.reset)."""
        high = self.state.replicas.high_watermark(topic, index, plog)
        setting = self.group_configs.get(group_id, {}).get("share.auto.offset.reset")
        return start_offset(setting, plog, high, self.state.now_ms())

    def group_partitions(self, group_id: str) -> Iterator[tuple[str, int, SharePartition]]:
        """(topic name, partition, state) of the group's share-partitions of live topics."""
        for (topic_id, index), part in sorted(self.partitions.get(group_id, {}).items()):
            info = self.state.registry.by_id.get(topic_id)
            if info is not None:
                yield info.name, index, part

    def expire(self, now_ms: int) -> set[str]:
        """Release expired locks everywhere; the groups whose state changed."""
        changed = set()
        for group_id, parts in self.partitions.items():
            limit = self.settings(group_id).delivery_limit
            for part in parts.values():
                if part.expire(now_ms, limit):
                    changed.add(group_id)
        if changed:
            self.wake()
        return changed

    def next_deadline(self) -> int | None:
        deadlines = [
            d
            for parts in self.partitions.values()
            for part in parts.values()
            if (d := part.next_deadline()) is not None
        ]
        return min(deadlines) if deadlines else None

    def _member_gone(self, group_id: str, member_id: str) -> None:
        # Kafka releases what a departed member held at once rather than at lock expiry.
        self.sessions.close(group_id, member_id)
        limit = self.settings(group_id).delivery_limit
        changed = False
        for part in self.partitions.get(group_id, {}).values():
            changed |= part.release_member(member_id, limit)
        if changed:
            self.wake()
            self.state.spawn(self.persist(group_id), name=f"share-state {group_id}")

    def release_member(self, group_id: str, member_id: str, keys: list[PartitionKey]) -> bool:
        limit = self.settings(group_id).delivery_limit
        parts = self.partitions.get(group_id, {})
        changed = False
        for key in keys:
            part = parts.get(key)
            if part is not None:
                changed |= part.release_member(member_id, limit)
        if changed:
            self.wake()
        return changed

    # -- waiting for records to become available again -----------------------------------------
    def wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)
        self._wakeup = None

    def released(self) -> asyncio.Future[None]:
        """Completes when records are released (acknowledged RELEASE, expired, member gone)."""
        if self._wakeup is None:
            self._wakeup = asyncio.get_running_loop().create_future()
        return self._wakeup

    # -- persistence ---------------------------------------------------------------------------
    def _snapshot(self, group_id: str) -> bytes | None:
        rows: list[dict[str, object]] = []
        for (topic_id, index), part in sorted(self.partitions.get(group_id, {}).items()):
            if topic_id in self.state.registry.by_id and self._persister() is None:
                rows.append({"topic_id": str(topic_id), "partition": index, **part.to_json()})
        exists = group_id in self.groups.groups
        configs = self.group_configs.get(group_id, {})
        if not rows and not exists and not configs:
            return None
        return encode(group_id, rows, configs=configs, exists=exists)

    def _restore(self, group_id: str, data: dict[str, object]) -> None:
        rows = data["partitions"]
        assert isinstance(rows, list)
        if data.get("exists", True):
            # the group outlives a restart, empty until its members come back
            self.groups.groups.setdefault(group_id, ShareGroup(group_id))
        configs = data.get("configs")
        if isinstance(configs, dict) and configs:
            self.group_configs[group_id] = {str(k): str(v) for k, v in configs.items()}
        parts = self.partitions.setdefault(group_id, {})
        for row in rows:  # (a cluster broker's file has none: its state is the coordinators')
            with contextlib.suppress(KeyError, ValueError, TypeError):
                key = (uuid.UUID(row["topic_id"]), int(row["partition"]))
                parts[key] = SharePartition.from_json(row)

    async def persist(self, group_id: str) -> bool:
        """Make the group's state durable; True once it is (in a cluster: once the share
        coordinators hold every share-partition this broker leads)."""
        persister = self._persister()
        if persister is None:
            return await self.store.persist(group_id)
        keys = [k for k in self.partitions.get(group_id, {}) if (group_id, k) in self._loaded]
        results = await asyncio.gather(
            self.store.persist(group_id), *(self._write(persister, group_id, k) for k in keys)
        )
        return all(results)

    async def _write(self, persister: SharePersister, group_id: str, key: PartitionKey) -> bool:
        part = self.partitions.get(group_id, {}).get(key)
        loaded = self._loaded.get((group_id, key))
        if part is None or loaded is None:
            return True  # no longer this broker's
        leader_epoch, state_epoch = loaded
        # as Kafka's share-partition leader: the start offset before the change it records
        snapshot = Snapshot(
            state_epoch, leader_epoch, part.written_start, tuple(part.written_batches())
        )
        code = await persister.write((group_id, *key), snapshot)
        if code == ErrorCode.none:
            return True
        if code in (ErrorCode.fenced_leader_epoch, ErrorCode.fenced_state_epoch):
            self._forget(group_id, key)  # a newer leader owns it now
        return False

    # -- a cluster's share-partitions, loaded from the share coordinators -----------------------
    async def prepare(
        self, group_id: str, keys: list[PartitionKey], *, new_session: bool = False
    ) -> None:
        """Make sure this broker holds the current state of each share-partition it leads
        (reading it from its share coordinator at a new leader epoch, or when a new share
        session finds an admin changed it) and none of those it does not lead. No-op on a
        single node."""
        if self._persister() is None:
            return
        waits = []
        for key in keys:
            epoch = self._leader_epoch(key)
            loaded = self._loaded.get((group_id, key))
            if epoch is None:
                if loaded is not None or key in self.partitions.get(group_id, {}):
                    self._forget(group_id, key)
                continue
            if loaded is not None and loaded[0] == epoch:
                if not new_session or not await self._changed_elsewhere(group_id, key):
                    continue
                self._loaded[(group_id, key)] = (-1, loaded[1])  # reloaded below
            task = self._loading.get((group_id, key))
            if task is None or task.done():
                task = self.state.spawn(
                    self._load(group_id, key, epoch), name=f"share-partition-load {group_id}"
                )
                self._loading[(group_id, key)] = task
            waits.append(task)
        if waits:
            await asyncio.wait(waits)

    async def summaries(
        self, group_id: str, keys: list[PartitionKey]
    ) -> dict[PartitionKey, tuple[int, int]]:
        """A cluster's (start offset, records past it already finished) of each share-partition
        with state, read from the share coordinators (ReadShareGroupStateSummary)."""
        persister = self._persister()
        if persister is None:
            return {}
        found = await asyncio.gather(*(persister.summary((group_id, *k)) for k in keys))
        return {
            key: (snap.start_offset, snap.delivered())
            for key, (code, snap) in zip(keys, found, strict=True)
            if code == ErrorCode.none and snap is not None and snap.start_offset >= 0
        }

    async def reset_partitions(self, group_id: str, starts: dict[PartitionKey, int | None]) -> bool:
        """A cluster's AlterShareGroupOffsets (a start offset) and DeleteShareGroupOffsets or
        DeleteGroups (None): the share coordinators' state replaced under a newer state epoch,
        or deleted; a partition's leader reloads it when a share session next opens. True
        once every change is written."""
        persister = self._persister()
        assert persister is not None

        async def reset(key: PartitionKey, start: int | None) -> bool:
            state_key = (group_id, *key)
            if start is None:
                return await persister.delete(state_key) == ErrorCode.none
            code, found = await persister.summary(state_key)
            if code != ErrorCode.none:
                return False
            epoch = (found.state_epoch if found is not None else 0) + 1
            return await persister.initialize(state_key, epoch, start) == ErrorCode.none

        done = await asyncio.gather(*(reset(k, v) for k, v in starts.items()))
        return all(done)

    async def _changed_elsewhere(self, group_id: str, key: PartitionKey) -> bool:
        """Whether an admin replaced or deleted the share-partition's state since this broker
        loaded it (its state epoch moved on): a partition holding no acquired records only."""
        persister = self._persister()
        loaded = self._loaded.get((group_id, key))
        part = self.partitions.get(group_id, {}).get(key)
        if persister is None or loaded is None or part is None:
            return False
        if part.counts()[RecordState.ACQUIRED]:
            return False
        code, found = await persister.summary((group_id, *key))
        if code != ErrorCode.none or found is None:
            return False
        current = found.state_epoch if found.start_offset >= 0 else -1
        return current != loaded[1]

    def _leader_epoch(self, key: PartitionKey) -> int | None:
        info = self.state.registry.by_id.get(key[0])
        if info is None:
            return None
        part = self.state.replicas.get(info.name, key[1])
        if part is None or not part.leader or self.state.partition(info.name, key[1]) is None:
            return None
        return part.state.leader_epoch

    def _forget(self, group_id: str, key: PartitionKey) -> None:
        self._loaded.pop((group_id, key), None)
        if self.partitions.get(group_id, {}).pop(key, None) is not None:
            self.wake()

    async def _load(self, group_id: str, key: PartitionKey, epoch: int) -> None:
        persister = self._persister()
        assert persister is not None
        self._forget(group_id, key)
        state_key = (group_id, *key)
        code, found = await persister.read(state_key, epoch)
        if code != ErrorCode.none:
            log.warning("Could not load share-partition %s: %s", state_key, code.name)
            return
        if found is None:
            info = self.state.registry.by_id.get(key[0])
            plog = None if info is None else self.state.partition(info.name, key[1])
            if info is None or plog is None:
                return
            start = self._reset_start(group_id, plog, info.name, key[1])
            state_epoch = 0
            code = await persister.initialize(state_key, state_epoch, start)
            if code != ErrorCode.none:
                log.warning("Could not initialize share-partition %s: %s", state_key, code.name)
                return
            part = SharePartition(start)
        else:
            state_epoch = found.state_epoch
            end = max([found.start_offset] + [b[1] + 1 for b in found.batches])
            runs = [list(b) for b in found.batches if b[1] >= found.start_offset]
            part = SharePartition.from_json(
                {"start_offset": found.start_offset, "end_offset": end, "runs": runs}
            )
        if self._leader_epoch(key) != epoch:
            return  # leadership moved on while loading
        self.partitions.setdefault(group_id, {})[key] = part
        self._loaded[(group_id, key)] = (epoch, state_epoch)
        self.wake()

    def delete_partitions(self, group_id: str, keys: list[PartitionKey]) -> None:
        parts = self.partitions.get(group_id, {})
        for key in keys:
            parts.pop(key, None)


async def share_coordinator(state: BrokerState) -> ShareCoordinator:
    """The broker's share coordinator, its saved state read (off the event loop) on first use."""
    found = state.extensions.get(EXTENSION_KEY)
    if isinstance(found, ShareCoordinator):
        return found
    if isinstance(found, asyncio.Future):
        return await asyncio.shield(found)
    loading: asyncio.Future[ShareCoordinator] = asyncio.get_running_loop().create_future()
    state.extensions[EXTENSION_KEY] = loading
    try:
        saved: dict[str, dict[str, object]] = {}
        if not state.in_memory and state.data_dir is not None:
            saved = await asyncio.to_thread(load_all, state.data_dir)
        coord = ShareCoordinator(state, saved)
    except BaseException as exc:
        del state.extensions[EXTENSION_KEY]
        loading.set_exception(exc)
        loading.exception()  # retrieved: the next caller tries again
        raise
    state.extensions[EXTENSION_KEY] = coord
    loading.set_result(coord)
    return coord
