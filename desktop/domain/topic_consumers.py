"""A topic's consumers, apart from the groups that could not be read (Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass

from desktop.domain.groups import GroupSummary

NAMED = 5  # groups named in the line under the table; the rest are in its tooltip


@dataclass(frozen=True)
class TopicConsumerList:
    """`consumers` are known to read `topic`: commits or members on it now, or a row shown for
    it before (kept, marked stale, while its offsets cannot be read). `unread` could not be
    read and have no known link to the topic: whether they read it is unknown, so they are
    listed apart and never as its consumers (else one such group shows on every topic)."""

    topic: str
    consumers: tuple[GroupSummary, ...]
    unread: tuple[GroupSummary, ...] = ()

    def unread_text(self) -> str:
        """The line under the table, e.g. "Not in the table: 2 groups whose offsets could not
        be read, so whether they read 'orders' is unknown: g-a, g-b." ("" when none)."""
        if not self.unread:
            return ""
        n = len(self.unread)
        names = ", ".join(g.group_id for g in self.unread[:NAMED])
        if n > NAMED:
            names += f" and {n - NAMED:,} more"
        whose = "1 group whose offsets" if n == 1 else f"{n:,} groups whose offsets"
        they = "it reads" if n == 1 else "they read"
        return (
            f"Not in the table: {whose} could not be read, so whether {they} "
            f"'{self.topic}' is unknown: {names}."
        )

    def unread_tooltip(self) -> str:
        """Each unread group with why its offsets could not be read, one a line."""
        return "\n".join(f"{g.group_id}: {g.unread_note()}" for g in self.unread)
