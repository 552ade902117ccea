"""The local logs of a cluster broker follow its replica assignments: a partition it holds no
replica of (moved away by a reassignment) loses its files, removed on the storage thread; one
assigned to it again is registered again (its files are made on first use)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from embedded_broker.state import log_config_from

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

log = logging.getLogger(__name__)


def keep(state: BrokerState, topic: str, partition: int) -> None:
    """Make sure a partition this broker is a replica of has a log here."""
    info = state.topics.get(topic)
    if info is None or partition >= info.partitions or state.logs.has(topic, partition):
        return
    state.logs.register(topic, [partition], log_config_from(state.topic_config(topic)))


async def drop(state: BrokerState, topic: str, partition: int) -> None:
    """Unregister a partition this broker holds no replica of and remove its files off the
    event loop; clients asking here for it get NOT_LEADER_OR_FOLLOWER from then on."""
    if not state.logs.has(topic, partition):
        return
    opened = state.logs.forget_partition(topic, partition)
    state.producers.forget_partition(topic, partition)
    state.notify((topic, partition))
    try:
        removed = await state.run_storage(
            state.logs.delete_partition_files, topic, partition, opened
        )
    except OSError as exc:
        log.error(
            "Broker %d holds no replica of %s-%d any more, but could not remove its files "
            "(%s); remove the directory %s-%d in %s by hand",
            state.node_id,
            topic,
            partition,
            exc,
            topic,
            partition,
            state.data_dir,
        )
        return
    if removed:
        log.info(
            "Removed the log of %s-%d: broker %d holds no replica of it any more",
            topic,
            partition,
            state.node_id,
        )
