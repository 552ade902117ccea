"""One replicated partition as this broker sees it: its state, high watermark and followers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kio.schema.errors import ErrorCode

from .epoch_cache import LeaderEpochCache
from .partition_state import PartitionState


@dataclass(slots=True)
class FollowerProgress:
    """What the leader knows of one follower (Kafka's Replica state)."""

    leo: int = -1  # the follower's log end offset: its last fetch offset (-1: not yet known)
    last_caught_up_ms: int = 0
    last_fetch_ms: int = 0
    last_fetch_leader_leo: int = -1

    def fetched(self, fetch_offset: int, leader_leo: int, now_ms: int) -> None:
        """Kafka's rule: caught up at this fetch if it asked for the leader's end; caught up at
        the previous fetch if it now asks for at least what the leader had then."""
        if fetch_offset >= leader_leo:
            self.last_caught_up_ms = max(self.last_caught_up_ms, now_ms)
        elif fetch_offset >= self.last_fetch_leader_leo:
            self.last_caught_up_ms = max(self.last_caught_up_ms, self.last_fetch_ms)
        self.last_fetch_leader_leo = leader_leo
        self.last_fetch_ms = now_ms
        self.leo = fetch_offset

    def caught_up(self, leader_leo: int, now_ms: int, lag_ms: int) -> bool:
        return self.leo == leader_leo or now_ms - self.last_caught_up_ms <= lag_ms


@dataclass(slots=True)
class ReplicatedPartition:
    """The replication state of one local partition given by the metadata."""

    topic: str
    index: int
    state: PartitionState
    epochs: LeaderEpochCache
    hw: int
    leader: bool = False
    leader_epoch_start: int = 0  # where the current leader epoch began (leader only)
    followers: dict[int, FollowerProgress] = field(default_factory=dict)
    # a follower's cut of its log is running on the storage thread: the metadata may make this
    # broker the leader meanwhile, and nothing may be served or appended until the cut is done
    truncating: bool = False
    proposed_isr: tuple[int, ...] | None = None  # the ISR sent to the controller, while in flight
    # KIP-392, for the broker's log: replicas consumers were sent to (leader) / whether this
    # follower has served a consumer yet, each said once per role
    redirected_to: set[int] = field(default_factory=set)
    served_consumers: bool = False
    # delayed produces: (offset every ISR member must reach, future for the answer)
    waiting: list[tuple[int, asyncio.Future[ErrorCode]]] = field(default_factory=list)

    @property
    def isr_in_flight(self) -> bool:
        """An ISR change is with the controller (one at a time per partition)."""
        return self.proposed_isr is not None

    def maximal_isr(self) -> set[int]:
        """Kafka's maximal ISR: the committed ISR plus members a pending change adds (a
        pending removal counts only once the controller has committed it)."""
        return {*self.state.isr, *(self.proposed_isr or ())}

    def fail_waiting(self, code: ErrorCode) -> None:
        for _, fut in self.waiting:
            if not fut.done():
                fut.set_result(code)
        self.waiting.clear()
