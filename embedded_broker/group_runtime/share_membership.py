"""Writing share groups' membership to __consumer_offsets, so a new coordinator replays it."""

from __future__ import annotations

import asyncio
import functools
import itertools
from typing import TYPE_CHECKING

from embedded_broker.coordinator.errors import GroupError
from embedded_broker.coordinator.framing import Record
from embedded_broker.coordinator.offsets_topic import encode
from embedded_broker.protocol.keyed_batch import KeyValue
from embedded_broker.share.group_records import changed, revert

from .runtime import group_runtime

if TYPE_CHECKING:
    from embedded_broker.share.groups import ShareGroups
    from embedded_broker.share.runtime import ShareCoordinator
    from embedded_broker.state import BrokerState

# where a cluster broker keeps its share-member session task in state.extensions
SESSIONS_KEY = "share-member-sessions"
# how often sessions are checked: a member is removed at most this late
SESSION_CHECK_S = 0.5

# the order of the appends, so a snapshot committed late does not replace a newer one
_WRITES = itertools.count(1)


async def save_membership(state: BrokerState, share: ShareCoordinator) -> GroupError:
    """Append the snapshot of every share group this broker coordinates whose members, epochs
    or assignment changed (a tombstone for one deleted) and wait until the partitions' high
    watermarks cover them, as Kafka's coordinator does before it answers. NONE at once on a
    single node; else NONE, or the error owed to the client for a write that failed: a write
    the log refused is undone in memory at once (NOT_COORDINATOR, as Kafka answers a storage
    error); one the high watermark did not reach in time stays, as in Kafka, for it is in the
    log (COORDINATOR_NOT_AVAILABLE), and reads see it once it is committed."""
    runtime = group_runtime(state)
    if runtime is None:
        return GroupError.NONE
    watch_sessions(state, share)
    groups = share.groups
    by_partition: dict[int, list[KeyValue]] = {}
    written: dict[int, list[tuple[str, Record | None]]] = {}
    for record in changed(groups):
        group_id = str(record["g"])
        if runtime.group_error(group_id) is not GroupError.NONE:
            continue  # another broker's group (or one still loading): its records are not ours
        p = runtime.partition_of(group_id)
        by_partition.setdefault(p, []).append(encode(record))
        written.setdefault(p, []).append((group_id, None if record["t"] == "sgdel" else record))
    waits: list[asyncio.Future[GroupError]] = []
    worst = GroupError.NONE
    for p, records in by_partition.items():
        snapshots = written[p]
        fut = runtime.append(
            p, records, functools.partial(_committed, groups, snapshots, next(_WRITES))
        )
        if fut is None:
            worst = GroupError.NOT_COORDINATOR
            for group_id, _ in snapshots:
                revert(groups, group_id, state.now_ms())
            continue
        waits.append(fut)
        for group_id, snapshot in snapshots:
            if snapshot is None:
                groups.stored.pop(group_id, None)
            else:
                groups.stored[group_id] = snapshot
    for error in await asyncio.gather(*waits):
        if error is not GroupError.NONE:
            worst = error
    return worst


def _committed(groups: ShareGroups, snapshots: list[tuple[str, Record | None]], seq: int) -> None:
    """The high watermark covers ``snapshots``: they are what reads show from now on (unless
    a later write was committed first)."""
    for group_id, snapshot in snapshots:
        if groups.committed.get(group_id, (-1, None))[0] < seq:
            groups.committed[group_id] = (seq, snapshot)


def watch_sessions(state: BrokerState, share: ShareCoordinator) -> None:
    """Start (once) the task that removes share members whose session ran out and writes
    their removal, as Kafka's coordinator does on its session timers. Without it a member that
    stops heartbeating stays in the log until a request happens by, and a coordinator that
    took the partition over would bring it back for one more session."""
    task = state.extensions.get(SESSIONS_KEY)
    if isinstance(task, asyncio.Task) and not task.done():
        return
    state.extensions[SESSIONS_KEY] = state.spawn(_expire_sessions(state, share), name=SESSIONS_KEY)


async def _expire_sessions(state: BrokerState, share: ShareCoordinator) -> None:
    while True:
        await asyncio.sleep(SESSION_CHECK_S)
        if share.groups.expire(state.now_ms()):
            await save_membership(state, share)
