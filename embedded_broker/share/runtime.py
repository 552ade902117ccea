"""The broker's share coordinator: share groups, share-partitions, sessions and their store.

One per broker (in ``state.extensions``). On the single node it is both what Kafka splits into
the group coordinator (membership), the share-partition leaders (record states, in
SharePartitionManager) and the share coordinator (durable state). A share-partition is created
when the group is first assigned the partition (or first fetches it), starting at the latest
offset, as Kafka's share.auto.offset.reset defaults to.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .groups import ShareGroup, ShareGroups, ShareLimits
from .partition import SharePartition
from .sessions import ShareSessions
from .store import ShareStore, encode, load_all

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

EXTENSION_KEY = "share_groups"

PartitionKey = tuple[uuid.UUID, int]


@dataclass(frozen=True, slots=True)
class ShareSettings:
    """The group.share.* settings, read from the broker's configuration on each use."""

    lock_ms: int
    delivery_limit: int
    max_locks: int
    limits: ShareLimits


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
        )

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
        earliest, as the group's share.auto.offset.reset says)."""
        parts = self.partitions.setdefault(group_id, {})
        found = parts.get((topic_id, index))
        if found is not None or not create:
            return found
        info = self.state.registry.by_id.get(topic_id)
        if info is None:
            return None
        plog = self.state.partition(info.name, index)
        if plog is None:
            return None
        start = self.state.replicas.high_watermark(info.name, index, plog)
        if self.group_configs.get(group_id, {}).get("share.auto.offset.reset") == "earliest":
            start = plog.log_start_offset
        found = parts[(topic_id, index)] = SharePartition(start)
        return found

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
            self.state.spawn(self.store.persist(group_id), name=f"share-state {group_id}")

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
            if topic_id in self.state.registry.by_id:
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
        for row in rows:
            with contextlib.suppress(KeyError, ValueError, TypeError):
                key = (uuid.UUID(row["topic_id"]), int(row["partition"]))
                parts[key] = SharePartition.from_json(row)

    async def persist(self, group_id: str) -> bool:
        return await self.store.persist(group_id)

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
