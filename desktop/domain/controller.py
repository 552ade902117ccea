"""What to say about the controller: KRaft brokers report a random broker as the controller."""

from __future__ import annotations

KRAFT_HIDDEN = "KRaft quorum — active controller not visible to clients"


class ControllerWatch:
    """Remembers the controller ids reported while the broker set stays the same.

    A ZooKeeper-era controller id changes only when the controller moves, with a broker going
    away; Kafka 4 (KRaft) answers DescribeCluster with a random live broker, so the id rotates
    while nothing else changes. Once seen rotating, the id is not shown as the controller."""

    def __init__(self) -> None:
        self._brokers: frozenset[int] | None = None
        self._last: int | None = None
        self.hidden = False

    def observe(self, controller_id: int, broker_ids: frozenset[int]) -> None:
        if (
            self._brokers == broker_ids
            and self._last is not None
            and controller_id != self._last
            and self._last in broker_ids
        ):
            self.hidden = True
        self._brokers = broker_ids
        self._last = controller_id

    def describe(self, controller_id: int, address: str | None) -> str:
        if self.hidden:
            return KRAFT_HIDDEN
        if controller_id < 0:
            return "not reported"
        return f"broker {controller_id} ({address})" if address else f"broker {controller_id}"

    def is_controller(self, broker_id: int, controller_id: int) -> bool:
        return not self.hidden and broker_id == controller_id
