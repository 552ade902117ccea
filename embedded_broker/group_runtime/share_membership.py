"""Writing share groups' membership to __consumer_offsets, so a new coordinator replays it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from embedded_broker.coordinator.errors import GroupError
from embedded_broker.coordinator.framing import Record
from embedded_broker.coordinator.offsets_topic import encode
from embedded_broker.protocol.keyed_batch import KeyValue
from embedded_broker.share.group_records import changed

from .runtime import group_runtime

if TYPE_CHECKING:
    from embedded_broker.share.runtime import ShareCoordinator
    from embedded_broker.state import BrokerState


async def save_membership(state: BrokerState, share: ShareCoordinator) -> GroupError:
    """Append the snapshot of every share group this broker coordinates whose members, epochs
    or assignment changed (a tombstone for one deleted) and wait until the partitions' high
    watermarks cover them, as Kafka's coordinator does before it answers. NONE at once on a
    single node; else NONE, or the error owed to the client for a write that failed."""
    runtime = group_runtime(state)
    if runtime is None:
        return GroupError.NONE
    by_partition: dict[int, list[KeyValue]] = {}
    written: dict[int, list[tuple[str, Record | None]]] = {}
    for record in changed(share.groups):
        group_id = str(record["g"])
        if runtime.group_error(group_id) is not GroupError.NONE:
            continue  # another broker's group (or one still loading): its records are not ours
        p = runtime.partition_of(group_id)
        by_partition.setdefault(p, []).append(encode(record))
        written.setdefault(p, []).append((group_id, None if record["t"] == "sgdel" else record))
    waits: list[asyncio.Future[GroupError]] = []
    worst = GroupError.NONE
    for p, records in by_partition.items():
        fut = runtime.append(p, records, lambda: None)
        if fut is None:
            worst = GroupError.NOT_COORDINATOR  # the partition is read back: memory matches
            continue
        waits.append(fut)
        for group_id, snapshot in written[p]:
            if snapshot is None:
                share.groups.stored.pop(group_id, None)
            else:
                share.groups.stored[group_id] = snapshot
    for error in await asyncio.gather(*waits):
        if error is not GroupError.NONE:
            worst = error
    return worst
