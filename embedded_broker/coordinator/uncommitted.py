"""Offsets written to a replicated log but not yet committed there, kept from readers.

Kafka's coordinator answers OffsetFetch from its state as of the last committed offset of the
group's __consumer_offsets partition, so a commit whose records the high watermark has not
reached (the client was answered COORDINATOR_NOT_AVAILABLE) is not seen until it is; if
leadership moves first, the next leader decides from its log. Here the coordinator's tables
hold the latest writes, and this keeps, per offset, the value readers see until then.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .group import CommittedOffset

Key = tuple[str, str, int]  # group, topic, partition


@dataclass(slots=True)
class _Hidden:
    visible: CommittedOffset | None  # the last committed value
    writes: list[tuple[int, CommittedOffset | None]] = field(default_factory=list)


class UncommittedOffsets:
    """Per offset key, the committed value and the writes (by append number) not yet
    committed. Writes to one key go to one partition, whose high watermark only grows, so a
    committed write commits every earlier write to the same key."""

    def __init__(self) -> None:
        self._keys: dict[Key, _Hidden] = {}
        self._by_seq: dict[int, list[Key]] = {}

    def written(
        self, seq: int, key: Key, before: CommittedOffset | None, after: CommittedOffset | None
    ) -> None:
        hidden = self._keys.get(key)
        if hidden is None:
            hidden = self._keys[key] = _Hidden(before)
        hidden.writes.append((seq, after))
        self._by_seq.setdefault(seq, []).append(key)

    def committed(self, seq: int) -> None:
        for key in self._by_seq.pop(seq, ()):
            hidden = self._keys.get(key)
            if hidden is None:
                continue
            while hidden.writes and hidden.writes[0][0] <= seq:
                _, hidden.visible = hidden.writes.pop(0)
            if not hidden.writes:
                del self._keys[key]

    def visible(self, key: Key, current: CommittedOffset | None) -> CommittedOffset | None:
        """What a reader sees of ``key`` whose latest written value is ``current``."""
        hidden = self._keys.get(key)
        return current if hidden is None else hidden.visible

    def keys_of(self, group_id: str) -> list[tuple[str, int]]:
        return [(t, p) for g, t, p in self._keys if g == group_id]

    def forget(self, group_ids: set[str]) -> None:
        """The groups were unloaded: the next load reads their state from the log."""
        for key in [k for k in self._keys if k[0] in group_ids]:
            del self._keys[key]
        for seq, keys in list(self._by_seq.items()):
            kept = [k for k in keys if k[0] not in group_ids]
            if kept:
                self._by_seq[seq] = kept
            else:
                del self._by_seq[seq]
