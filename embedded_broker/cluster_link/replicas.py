"""The seam to the replica manager (``state.replicas``, built by the replication work):
partition states from the image go in, ISR proposals come out. Does nothing while the
broker has no replica manager."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from embedded_broker.metadata.image import PartitionImage

log = logging.getLogger(__name__)

# the state of a partition this broker no longer holds (its topic was deleted or it was moved)
GONE = PartitionImage(replicas=(), isr=(), leader=-1, leader_epoch=-1, partition_epoch=-1)

Lookup = Callable[[int], tuple[str, int] | None]


class ReplicaSink:
    """Calls ``state.replicas.apply(topic, partition, PartitionState)`` for each local
    partition whose state changed in the metadata image."""

    def __init__(self, state: object) -> None:
        self._state = state
        self._applied: dict[tuple[str, int], PartitionImage] = {}
        self._partition_state: Any = None

    def _manager(self) -> Any:
        return getattr(self._state, "replicas", None)

    def install(
        self,
        lookup: Lookup,
        isr_sender: Callable[..., Awaitable[Any]],
        racks: Callable[[int], str | None] | None = None,
        isr_eligible: Callable[[int], bool] | None = None,
    ) -> bool:
        manager = self._manager()
        if manager is None:
            return False
        manager.set_endpoints(lookup)
        manager.set_isr_sender(isr_sender)
        if racks is not None:
            manager.set_racks(racks)
        if isr_eligible is not None:
            manager.set_isr_eligibility(isr_eligible)
        return True

    def brokers_changed(self, gone: set[int]) -> None:
        """Tell the replica manager that the metadata fenced (``gone``) or unfenced brokers."""
        manager = self._manager()
        if manager is None:
            return
        try:
            manager.brokers_changed(gone)
        except Exception:
            log.exception("The replica manager failed to follow a broker's fencing")

    def make_state(self, part: PartitionImage) -> Any:
        """The replication layer's PartitionState for an image partition."""
        if self._partition_state is None:
            module = importlib.import_module("embedded_broker.replication.partition_state")
            self._partition_state = module.PartitionState
        return self._partition_state(
            leader=part.leader,
            leader_epoch=part.leader_epoch,
            replicas=part.replicas,
            isr=part.isr,
            partition_epoch=part.partition_epoch,
        )

    def apply(self, topic: str, partition: int, part: PartitionImage) -> None:
        key = (topic, partition)
        if self._applied.get(key) == part:
            return
        if part == GONE:
            self._applied.pop(key, None)
        else:
            self._applied[key] = part
        manager = self._manager()
        if manager is None:
            return
        try:
            if part == GONE:
                manager.remove(topic, partition)
            else:
                manager.apply(topic, partition, self.make_state(part))
        except Exception:
            log.exception("The replica manager failed to apply %s-%d", topic, partition)

    def local(self) -> list[tuple[str, int]]:
        return list(self._applied)
