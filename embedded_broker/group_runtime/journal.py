"""A coordinator journal whose records go to the __consumer_offsets partition of their group
and count as written once that partition's high watermark covers them (acks=all)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import Protocol

from embedded_broker.coordinator.framing import Record
from embedded_broker.coordinator.offsets_topic import encode
from embedded_broker.protocol.keyed_batch import KeyValue


class Appender(Protocol):
    def partition_of(self, group_id: str) -> int: ...

    def append(self, partition: int, records: Sequence[KeyValue]) -> asyncio.Future[bool] | None:
        """Append to a partition this broker coordinates: a future of whether the records
        were committed, or None when they were refused at once."""
        ...


class ReplicatedJournal:
    """The Journal the coordinator writes through in a cluster (see coordinator.journal)."""

    def __init__(self, appender: Appender) -> None:
        self._appender = appender
        self._pending: set[asyncio.Future[bool]] = set()
        self._seq = 0
        self._failed_seq = -1

    def load(self) -> list[Record]:
        return []  # partitions are loaded one by one as this broker comes to lead them

    def append(self, records: Sequence[Record]) -> None:
        self._seq += 1
        seq = self._seq
        by_partition: dict[int, list[KeyValue]] = {}
        for r in records:
            p = self._appender.partition_of(str(r.get("g")))
            by_partition.setdefault(p, []).append(encode(r))
        for p, encoded in by_partition.items():
            fut = self._appender.append(p, encoded)
            if fut is None:
                self._failed_seq = seq
                continue
            self._pending.add(fut)
            fut.add_done_callback(functools.partial(self._settled, seq=seq))

    def _settled(self, fut: asyncio.Future[bool], seq: int) -> None:
        self._pending.discard(fut)
        if fut.cancelled() or fut.exception() is not None or not fut.result():
            self._failed_seq = max(self._failed_seq, seq)

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

    def close(self) -> None:
        pass
