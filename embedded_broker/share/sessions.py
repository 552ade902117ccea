"""Share sessions (KIP-932): the partitions a member fetches, kept between ShareFetch requests.

A request with epoch 0 opens a session (replacing the member's old one), -1 closes it, and any
other epoch must be the one the session expects next (INVALID_SHARE_SESSION_EPOCH otherwise;
SHARE_SESSION_NOT_FOUND when the member has none). As Kafka's ShareSessionCache, keyed by group
and member id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

INITIAL_EPOCH = 0
FINAL_EPOCH = -1
MAX_EPOCH = 2**31 - 1

SessionKey = tuple[str, str]  # group id, member id
TopicPartition = tuple[uuid.UUID, int]


@dataclass(slots=True)
class ShareSession:
    group_id: str
    member_id: str
    epoch: int = 1  # the epoch the next request must carry
    partitions: list[TopicPartition] = field(default_factory=list)

    def add(self, parts: list[TopicPartition]) -> None:
        for tp in parts:
            if tp not in self.partitions:
                self.partitions.append(tp)

    def forget(self, parts: list[TopicPartition]) -> None:
        self.partitions = [tp for tp in self.partitions if tp not in parts]

    def bump(self) -> None:
        self.epoch = 1 if self.epoch >= MAX_EPOCH else self.epoch + 1


class ShareSessions:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sessions: dict[SessionKey, ShareSession] = {}

    def open(self, group_id: str, member_id: str) -> ShareSession | None:
        """A new session; None when the cache is full (SHARE_SESSION_LIMIT_REACHED)."""
        key = (group_id, member_id)
        if key not in self.sessions and len(self.sessions) >= self.limit:
            return None
        session = self.sessions[key] = ShareSession(group_id, member_id)
        return session

    def get(self, group_id: str, member_id: str) -> ShareSession | None:
        return self.sessions.get((group_id, member_id))

    def close(self, group_id: str, member_id: str) -> ShareSession | None:
        return self.sessions.pop((group_id, member_id), None)
