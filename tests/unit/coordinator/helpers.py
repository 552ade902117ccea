"""Builders for coordinator unit tests: a coordinator on a manual clock and recorded replies."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from embedded_broker.coordinator import (
    CoordinatorConfig,
    GroupCoordinator,
    GroupError,
    JoinRequest,
    JoinResult,
    Journal,
    ManualClock,
    SyncRequest,
    SyncResult,
)

SESSION_MS = 10_000
REBALANCE_MS = 30_000


def subscription(*topics: str) -> bytes:
    """A ConsumerProtocolSubscription v0 (what Java and librdkafka send as member metadata)."""
    out = struct.pack(">hi", 0, len(topics))
    for t in topics:
        out += struct.pack(">h", len(t)) + t.encode()
    return out + struct.pack(">i", -1)


@dataclass
class Replies:
    joins: list[JoinResult] = field(default_factory=list)
    syncs: list[SyncResult] = field(default_factory=list)

    @property
    def join(self) -> JoinResult:
        assert len(self.joins) == 1, self.joins
        return self.joins[0]

    @property
    def sync(self) -> SyncResult:
        assert len(self.syncs) == 1, self.syncs
        return self.syncs[0]


class Harness:
    def __init__(
        self, journal: Journal | None = None, *, start_ms: int | None = None, **config: int
    ) -> None:
        config.setdefault("initial_rebalance_delay_ms", 0)
        self.clock = ManualClock() if start_ms is None else ManualClock(start_ms)
        self.coordinator = GroupCoordinator(
            self.clock, self.clock, journal, CoordinatorConfig(**config)
        )

    def join(
        self,
        member_id: str = "",
        group: str = "g",
        protocols: tuple[tuple[str, bytes], ...] = (("range", b"meta"),),
        *,
        instance_id: str | None = None,
        session_ms: int = SESSION_MS,
        rebalance_ms: int = REBALANCE_MS,
        protocol_type: str = "consumer",
        client_id: str = "client",
        require_known: bool = True,
        skip: bool = False,
    ) -> Replies:
        replies = Replies()
        self.coordinator.join(
            JoinRequest(
                group_id=group,
                member_id=member_id,
                protocol_type=protocol_type,
                protocols=protocols,
                session_timeout_ms=session_ms,
                rebalance_timeout_ms=rebalance_ms,
                group_instance_id=instance_id,
                client_id=client_id,
                client_host="/127.0.0.1",
                require_known_member_id=require_known,
                supports_skip_assignment=skip,
            ),
            replies.joins.append,
        )
        return replies

    def new_member(self, group: str = "g", **kwargs: object) -> tuple[str, Replies]:
        """JoinGroup v4+ handshake: MEMBER_ID_REQUIRED, then the real join (still pending)."""
        first = self.join("", group, **kwargs)  # type: ignore[arg-type]
        assert first.join.error is GroupError.MEMBER_ID_REQUIRED
        member_id = first.join.member_id
        return member_id, self.join(member_id, group, **kwargs)  # type: ignore[arg-type]

    def sync(
        self,
        member_id: str,
        generation: int,
        assignments: tuple[tuple[str, bytes], ...] = (),
        group: str = "g",
        **kwargs: str | None,
    ) -> Replies:
        replies = Replies()
        self.coordinator.sync(
            SyncRequest(group, member_id, generation, assignments, **kwargs),  # type: ignore[arg-type]
            replies.syncs.append,
        )
        return replies

    def stable_group(self, n: int, group: str = "g") -> list[str]:
        """n members through join and sync; returns their ids, leader first."""
        pending = [self.new_member(group, client_id=f"c{i}") for i in range(n)]
        self.clock.advance(0)
        results = {mid: r.join for mid, r in pending}
        leader = next(iter(results.values())).leader
        generation = results[leader].generation
        assert all(r.error is GroupError.NONE for r in results.values())
        followers = [mid for mid in results if mid != leader]
        for mid in followers:
            self.sync(mid, generation, group=group)
        self.sync(leader, generation, tuple((m, m.encode()) for m in results), group=group)
        assert self.state(group) == "Stable"
        return [leader, *followers]

    def written(self) -> None:
        """Wait for the journal's worker thread to write everything appended so far."""
        self.coordinator.journal.barrier().result(timeout=10)

    def state(self, group: str = "g") -> str:
        return self.coordinator.describe_group(group).state

    def generation(self, group: str = "g") -> int:
        return self.coordinator.groups[group].generation
