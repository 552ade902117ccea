"""A coordinator journal whose records go to the __consumer_offsets partition of their group
(appended as Kafka's coordinator does, acks=1) and count as written once that partition's high
watermark covers them."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import Protocol

from embedded_broker.coordinator.errors import GroupError
from embedded_broker.coordinator.framing import Record
from embedded_broker.coordinator.offsets_topic import encode
from embedded_broker.protocol.keyed_batch import KeyValue


class Appender(Protocol):
    def partition_of(self, group_id: str) -> int: ...

    def append(
        self, partition: int, records: Sequence[KeyValue], on_committed: Callable[[], None]
    ) -> asyncio.Future[GroupError] | None:
        """Append to a partition this broker coordinates: a future of the answer owed to the
        client, or None when the records were refused at once; on_committed is called once
        the records are committed."""
        ...


class ReplicatedJournal:
    """The Journal the coordinator writes through in a cluster (see coordinator.journal)."""

    def __init__(self, appender: Appender) -> None:
        self._appender = appender
        self._pending: set[asyncio.Future[GroupError]] = set()
        self._seq = 0
        self._failed_seq = -1
        self._failed_error = GroupError.NONE
        self._watchers: list[Callable[[int], None]] = []

    def load(self) -> list[Record]:
        return []  # partitions are loaded one by one as this broker comes to lead them

    def watch(self, committed: Callable[[int], None]) -> None:
        """Call committed(seq) once every record of the append numbered seq (see mark) is
        committed, so the coordinator can show what it wrote only from then on."""
        self._watchers.append(committed)

    def append(self, records: Sequence[Record]) -> None:
        self._seq += 1
        seq = self._seq
        by_partition: dict[int, list[KeyValue]] = {}
        for r in records:
            p = self._appender.partition_of(str(r.get("g")))
            by_partition.setdefault(p, []).append(encode(r))
        waiting = [len(by_partition)]

        def committed() -> None:
            waiting[0] -= 1
            if waiting[0] == 0:
                for watcher in self._watchers:
                    watcher(seq)

        for p, encoded in by_partition.items():
            fut = self._appender.append(p, encoded, committed)
            if fut is None:
                self._fail(seq, GroupError.NOT_COORDINATOR)
                continue
            self._pending.add(fut)
            fut.add_done_callback(functools.partial(self._settled, seq=seq))

    def _fail(self, seq: int, error: GroupError) -> None:
        if seq >= self._failed_seq:
            self._failed_seq, self._failed_error = seq, error

    def _settled(self, fut: asyncio.Future[GroupError], seq: int) -> None:
        self._pending.discard(fut)
        if fut.cancelled() or fut.exception() is not None:
            self._fail(seq, GroupError.NOT_COORDINATOR)
        elif fut.result() is not GroupError.NONE:
            self._fail(seq, fut.result())

    def maybe_compact(self, snapshot: Callable[[], Iterable[Record]]) -> None:
        pass  # the topic is compacted by key (cleanup.policy=compact)

    def mark(self) -> int:
        return self._seq + 1

    def barrier(self) -> Future[None]:
        done: Future[None] = Future()
        if not self._pending:
            done.set_result(None)
            return done
        waiting = asyncio.gather(*self._pending, return_exceptions=True)
        waiting.add_done_callback(lambda _: done.set_result(None))
        return done

    def failed_since(self, mark: int) -> bool:
        return self._failed_seq >= mark

    def error_since(self, mark: int) -> GroupError:
        """Kafka's answer for the latest write since mark that failed (NONE if none did):
        COORDINATOR_NOT_AVAILABLE when it was not replicated in time, NOT_COORDINATOR when
        this broker could not write it."""
        return self._failed_error if self._failed_seq >= mark else GroupError.NONE

    def close(self) -> None:
        pass
