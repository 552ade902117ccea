"""Read a topic range with an assigned, group-less consumer: never subscribes, never commits."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from desktop.domain.messages import (
    Isolation,
    PartitionProgress,
    Row,
    ScanProgress,
    ScanSpec,
    StartMode,
    StopMode,
    TxnMarks,
    fair_quotas,
)
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.connection import ErrorLog, client_config, explain

BATCH = 1000  # messages per consume() call
FLUSH_S = 0.1  # how often rows and progress go to the caller
POLL_S = 0.1  # consume() timeout: also the longest wait before a stop is noticed
TIMEOUT_S = 10.0
GO_WAIT_S = 0.05

OnBatch = Callable[[list[Row], ScanProgress], None]


class ScanError(Exception):
    """A scan could not start or went wrong; the text is for the user."""


class _StoppedError(Exception):
    """Stop was pressed while the scan was still being planned."""


@dataclass
class _Part:
    partition: int
    start: int
    position: int
    end: int | None  # exclusive; None: unbounded
    done: bool = False
    limit: int | None = None  # messages to read here (stop at N, shared fairly); None: no limit
    read: int = 0

    def progress(self) -> PartitionProgress:
        return PartitionProgress(self.partition, self.start, self.position, self.end, self.done)


def browse_consumer_config(
    profile: ClusterProfile,
    creds: Credentials,
    log: ErrorLog,
    isolation: Isolation = Isolation.READ_COMMITTED,
) -> dict[str, Any]:
    conf = client_config(profile, creds)
    conf.update(
        {
            "error_cb": log,
            "isolation.level": isolation.value,
            # librdkafka wants a group id even for assign(); a throwaway one that is never used
            "group.id": f"topicscope-browse-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            # the end of what is readable now: past an open transaction or a trailing
            # transaction marker no message ever reaches the high watermark
            "enable.partition.eof": True,
            "fetch.max.bytes": 16 * 1024 * 1024,
            "queued.max.messages.kbytes": 32 * 1024,
        }
    )
    return conf


def fmt_partitions(parts: Sequence[int]) -> str:
    return ", ".join(str(p) for p in parts)


class Scanner:
    """One scan: resolves start and end offsets, then reads until done or stopped."""

    def __init__(
        self,
        profile: ClusterProfile,
        creds: Credentials,
        spec: ScanSpec,
        stop: threading.Event | None = None,
        go: threading.Event | None = None,
    ) -> None:
        self.profile = profile
        self.creds = creds
        self.spec = spec
        self.stop_event = stop or threading.Event()
        # Cleared while the caller wants the CPU (and the GIL) to itself: a GUI thread painting.
        # The scan waits at its next message, at most GO_WAIT_S each time.
        self.go = go
        self._log = ErrorLog()

    def _fail(self, exc: BaseException) -> ScanError:
        return ScanError(explain(exc, self._log.snapshot(), self.profile.bootstrap))

    # ---- planning ------------------------------------------------------------------------

    def _partitions(self, consumer: Consumer) -> list[int]:
        # in 1 s steps, so Stop works while an unreachable cluster keeps us waiting
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            if self.stop_event.is_set():
                raise _StoppedError
            try:
                md = consumer.list_topics(self.spec.topic, timeout=1.0)
                break
            except KafkaException as exc:
                if time.monotonic() >= deadline:
                    raise self._fail(exc) from exc
        topic = md.topics.get(self.spec.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            raise ScanError(
                f"Topic '{self.spec.topic}' does not exist (or has no partitions) on "
                f"{self.profile.bootstrap}."
            )
        available = sorted(topic.partitions)
        if self.spec.partitions is None:
            return available
        missing = [p for p in self.spec.partitions if p not in topic.partitions]
        if missing:
            raise ScanError(
                f"Topic '{self.spec.topic}' has no partition {fmt_partitions(missing)} "
                f"(it has {len(available)})."
            )
        return sorted(self.spec.partitions)

    def _watermarks(self, consumer: Consumer, parts: list[int]) -> dict[int, tuple[int, int]]:
        marks: dict[int, tuple[int, int]] = {}
        for p in parts:
            if self.stop_event.is_set():
                raise _StoppedError
            try:
                lo, hi = consumer.get_watermark_offsets(
                    TopicPartition(self.spec.topic, p), timeout=TIMEOUT_S, cached=False
                )
            except KafkaException as exc:
                raise self._fail(exc) from exc
            marks[p] = (int(lo), int(hi))
        return marks

    def _by_time(self, consumer: Consumer, parts: list[int], ms: int) -> dict[int, int]:
        """The first offset at or after `ms` per partition (-1 when there is none)."""
        query = [TopicPartition(self.spec.topic, p, ms) for p in parts]
        try:
            found = consumer.offsets_for_times(query, timeout=TIMEOUT_S)
        except KafkaException as exc:
            raise self._fail(exc) from exc
        return {tp.partition: int(tp.offset) for tp in found}

    def _committed(self, parts: list[int]) -> dict[int, int]:
        if not self.spec.group:
            raise ScanError("Choose the consumer group whose committed offsets to start from.")
        conf = client_config(self.profile, self.creds)
        conf["error_cb"] = self._log
        admin = AdminClient(conf)
        request = ConsumerGroupTopicPartitions(
            self.spec.group, [TopicPartition(self.spec.topic, p) for p in parts]
        )
        try:
            futures = admin.list_consumer_group_offsets([request], request_timeout=TIMEOUT_S)
            result = futures[self.spec.group].result(timeout=TIMEOUT_S + 2)
        except KafkaException as exc:
            raise self._fail(exc) from exc
        return {tp.partition: int(tp.offset) for tp in result.topic_partitions}

    def plan(self, consumer: Consumer) -> list[_Part]:
        spec = self.spec
        parts = self._partitions(consumer)
        marks = self._watermarks(consumer, parts)
        starts: dict[int, int] = {}
        if spec.start is StartMode.EARLIEST:
            starts = {p: marks[p][0] for p in parts}
        elif spec.start is StartMode.LATEST:
            starts = {p: marks[p][1] for p in parts}
        elif spec.start is StartMode.NEWEST_N:
            starts = {p: max(marks[p][0], marks[p][1] - spec.newest_n) for p in parts}
        elif spec.start is StartMode.OFFSET:
            starts = {p: min(max(spec.start_offset, marks[p][0]), marks[p][1]) for p in parts}
        elif spec.start is StartMode.PER_PARTITION:
            chosen = dict(spec.start_offsets)
            starts = {
                p: min(max(chosen.get(p, marks[p][0]), marks[p][0]), marks[p][1]) for p in parts
            }
        elif spec.start is StartMode.TIMESTAMP:
            found = self._by_time(consumer, parts, spec.start_time)
            starts = {p: found[p] if found.get(p, -1) >= 0 else marks[p][1] for p in parts}
        elif spec.start is StartMode.GROUP:
            committed = self._committed(parts)
            # no commit yet: where a new consumer with auto.offset.reset=earliest would start
            starts = {p: committed[p] if committed.get(p, -1) >= 0 else marks[p][0] for p in parts}
        ends: dict[int, int | None] = {p: None for p in parts}
        if spec.stop in (StopMode.END, StopMode.COUNT):
            # N messages, or fewer when the end comes first
            ends = {p: marks[p][1] for p in parts}
        elif spec.stop is StopMode.TIMESTAMP:
            found = self._by_time(consumer, parts, spec.stop_time)
            ends = {p: found[p] if found.get(p, -1) >= 0 else marks[p][1] for p in parts}
        plan = []
        for p in parts:
            end = ends[p]
            start = starts[p] if end is None else min(starts[p], end)
            plan.append(_Part(p, start, start, end, done=end is not None and start >= end))
        if spec.stop is StopMode.COUNT:
            # "earliest, stop at 1000" must not be 1000 rows of whichever partition came first
            quotas = fair_quotas(
                spec.stop_count, {p.partition: (p.end or p.start) - p.start for p in plan}
            )
            for part in plan:
                part.limit = quotas[part.partition]
                if part.limit == 0:
                    part.done, part.end = True, part.start
        return plan

    # ---- reading -------------------------------------------------------------------------

    def run(self, on_batch: OnBatch) -> ScanProgress:
        """Read until the plan is done, the stop event is set or a limit is hit.

        Matching records and progress go to `on_batch` at most every FLUSH_S; the last call
        carries finished=True."""
        spec = self.spec
        matches = spec.search.compile()
        match_all = not spec.search.active
        conf = browse_consumer_config(self.profile, self.creds, self._log, spec.isolation)
        try:
            consumer = Consumer(conf)
        except (KafkaException, ValueError, TypeError) as exc:
            raise ScanError(f"Invalid client settings: {exc}") from exc
        started = time.monotonic()
        scanned = matched = nbytes = 0
        reason = "end"
        try:
            try:
                plan = self.plan(consumer)
            except _StoppedError:
                plan, reason = [], "stopped"
            by_part = {p.partition: p for p in plan}
            active = {p.partition for p in plan if not p.done}
            if active:
                consumer.assign(
                    [TopicPartition(spec.topic, p.partition, p.start) for p in plan if not p.done]
                )
            pending: list[Row] = []
            last_flush = started
            topic = spec.topic
            count_limit = spec.stop_count if spec.stop is StopMode.COUNT else None
            match_limit = spec.max_matches

            def progress(finished: bool = False) -> ScanProgress:
                return ScanProgress(
                    scanned,
                    matched,
                    nbytes,
                    time.monotonic() - started,
                    tuple(p.progress() for p in plan),
                    finished,
                    reason if finished else "",
                )

            while active or spec.stop is StopMode.LIVE:
                if self.stop_event.is_set():
                    reason = "stopped"
                    break
                if count_limit is not None and scanned >= count_limit:
                    reason = "limit"
                    break
                if match_limit is not None and matched >= match_limit:
                    reason = "limit"
                    break
                # Any: the stubs say offsets may be None, which a fetched message never has
                msgs: list[Any] = (
                    consumer.consume(num_messages=BATCH, timeout=POLL_S) if active else []
                )
                if not active:
                    self.stop_event.wait(POLL_S)
                go = self.go
                for msg in msgs:
                    if go is not None and not go.is_set():
                        go.wait(GO_WAIT_S)
                        if self.stop_event.is_set():
                            break
                    err = msg.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            part = by_part[msg.partition()]
                            if part.end is not None and not part.done:
                                part.position = max(part.position, int(msg.offset()))
                                self._finish(consumer, topic, part, active)
                            continue
                        if err.fatal() or not err.retriable():
                            raise ScanError(
                                explain(
                                    KafkaException(err),
                                    self._log.snapshot(),
                                    self.profile.bootstrap,
                                )
                            )
                        continue
                    part = by_part[msg.partition()]
                    offset = msg.offset()
                    if part.done or (part.end is not None and offset >= part.end):
                        self._finish(consumer, topic, part, active)
                        continue
                    ts_type, ts = msg.timestamp()
                    raw_headers = msg.headers()
                    rec: Row = (
                        topic,
                        part.partition,
                        offset,
                        ts,
                        ts_type,
                        msg.key(),
                        msg.value(),
                        tuple(raw_headers) if raw_headers else (),
                    )
                    part.position = offset + 1
                    part.read += 1
                    scanned += 1
                    nbytes += len(msg)
                    if match_all or matches(rec):
                        matched += 1
                        pending.append(rec)
                    if (part.end is not None and part.position >= part.end) or (
                        part.limit is not None and part.read >= part.limit
                    ):
                        self._finish(consumer, topic, part, active)
                    if count_limit is not None and scanned >= count_limit:
                        break
                    if match_limit is not None and matched >= match_limit:
                        break
                now = time.monotonic()
                if now - last_flush >= FLUSH_S:
                    on_batch(pending, progress())
                    pending = []
                    last_flush = now
            if reason == "end" and count_limit is not None and scanned >= count_limit:
                reason = "limit"  # every partition read its share of N
            txn = None
            if (
                spec.isolation is Isolation.READ_UNCOMMITTED
                and spec.stop is not StopMode.LIVE
                and reason != "stopped"
                and matched
            ):
                txn = self.txn_marks({p.partition: (p.start, p.position) for p in plan})
            final = replace(progress(True), txn=txn)
            on_batch(pending, final)
            return final
        except KafkaException as exc:
            raise self._fail(exc) from exc
        finally:
            consumer.close()

    def txn_marks(self, ranges: dict[int, tuple[int, int]]) -> TxnMarks | None:
        """Read the same ranges again with read_committed, keeping only the offsets it skips.

        The honest way to tell aborted records: librdkafka hands read_uncommitted records
        without their batch's producer id or the fetch's aborted-transactions list, and an offset
        gap alone cannot tell an abort from a commit marker or compaction. The cost is a
        second read of the range (offsets only, no rows kept); None when Stop cut it short."""
        todo = {p: r for p, r in ranges.items() if r[1] > r[0]}
        if not todo:
            return TxnMarks()
        conf = browse_consumer_config(self.profile, self.creds, self._log, Isolation.READ_COMMITTED)
        consumer = Consumer(conf)
        topic = self.spec.topic
        expected = {p: lo for p, (lo, _hi) in todo.items()}
        skipped: list[tuple[int, int, int]] = []
        pending: list[tuple[int, int]] = []
        deadline = time.monotonic() + TIMEOUT_S
        try:
            consumer.assign([TopicPartition(topic, p, lo) for p, (lo, _hi) in todo.items()])
            while todo:
                if self.stop_event.is_set() or time.monotonic() > deadline:
                    return None
                msgs: list[Any] = consumer.consume(num_messages=BATCH, timeout=POLL_S)
                if msgs:
                    deadline = time.monotonic() + TIMEOUT_S
                for msg in msgs:
                    p = msg.partition()
                    if p not in todo:
                        continue
                    hi = todo[p][1]
                    err = msg.error()
                    if err is not None and err.code() != KafkaError._PARTITION_EOF:
                        continue
                    offset = int(msg.offset())
                    # at EOF the offset is the end of what read_committed may read: the LSO
                    upto = min(offset, hi)
                    if upto > expected[p]:
                        skipped.append((p, expected[p], upto))
                    expected[p] = max(expected[p], upto + (err is None))
                    if err is not None or expected[p] >= hi:
                        if err is not None and offset < hi:
                            pending.append((p, offset))
                        del todo[p]
                        with contextlib.suppress(KafkaException):
                            consumer.pause([TopicPartition(topic, p)])
        finally:
            consumer.close()
        return TxnMarks(tuple(skipped), tuple(pending))

    @staticmethod
    def _finish(consumer: Consumer, topic: str, part: _Part, active: set[int]) -> None:
        if part.done:
            return
        part.done = True
        active.discard(part.partition)
        if part.limit is not None and part.read >= part.limit:
            part.end = part.position  # its share is read: the rest of it is not part of the scan
        elif part.end is not None:
            part.position = max(part.position, part.end)
        with contextlib.suppress(KafkaException):
            consumer.pause([TopicPartition(topic, part.partition)])
