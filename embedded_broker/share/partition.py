"""One share-partition's record states: Available, Acquired, Acknowledged, Archived (KIP-932).

Modelled on Kafka's SharePartition: offsets below the share-partition start offset (SPSO) are
done; offsets from the SPSO up to the end offset (SPEO) are in flight, each with a state and a
delivery count; offsets from the SPEO on were never delivered. A record is acquired by one member
under a lock that expires after the record lock duration; when it expires, or the member releases
the record or goes away, it is Available again unless it has been delivered the delivery count
limit times, when it is Archived. Sans-IO: times are passed in.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


class RecordState(enum.IntEnum):
    # The values are Kafka's RecordState ids, as the share-group state is written.
    AVAILABLE = 0
    ACQUIRED = 1
    ACKNOWLEDGED = 2
    ARCHIVED = 4


class AckType(enum.IntEnum):
    """ShareFetch/ShareAcknowledge acknowledge types."""

    GAP = 0
    ACCEPT = 1
    RELEASE = 2
    REJECT = 3
    RENEW = 4


@dataclass(slots=True)
class InFlight:
    state: RecordState
    delivery_count: int
    member_id: str = ""
    deadline_ms: int = 0  # when an Acquired record's lock expires


@dataclass(frozen=True, slots=True)
class Acquired:
    """A run of acquired offsets with one delivery count (ShareFetch's AcquiredRecords)."""

    first_offset: int
    last_offset: int
    delivery_count: int


class AckError(enum.Enum):
    NONE = 0
    INVALID_RECORD_STATE = 121  # not acquired by this member (any more)
    INVALID_REQUEST = 42


@dataclass(slots=True)
class SharePartition:
    """The record states of one topic-partition for one share group."""

    start_offset: int  # SPSO
    end_offset: int = -1  # SPEO: the first offset never delivered
    records: dict[int, InFlight] = field(default_factory=dict)
    # Kafka reports the state its share coordinator last wrote, and a write carries the SPSO as
    # it stood before the change it records (the SPSO moves once the write is done). So the
    # SPSO of the last change is kept, with the finished records moved past since.
    written_start: int = -1
    passed: list[tuple[int, RecordState, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.end_offset = max(self.end_offset, self.start_offset)
        if self.written_start < 0:
            self.written_start = self.start_offset

    # -- reading -------------------------------------------------------------------------------
    def first_available(self) -> int:
        """The lowest offset that could be acquired now (the SPEO when none in flight is)."""
        for offset in range(self.start_offset, self.end_offset):
            rec = self.records.get(offset)
            if rec is None or rec.state is RecordState.AVAILABLE:
                return offset
        return self.end_offset

    def in_flight(self) -> int:
        return self.end_offset - self.start_offset

    def next_deadline(self) -> int | None:
        deadlines = [
            r.deadline_ms for r in self.records.values() if r.state is RecordState.ACQUIRED
        ]
        return min(deadlines) if deadlines else None

    def counts(self) -> dict[RecordState, int]:
        counted = dict.fromkeys(RecordState, 0)
        for rec in self.records.values():
            counted[rec.state] += 1
        return counted

    def written(self) -> tuple[int, int]:
        """(start offset, records past it finished) as Kafka's share coordinator holds them
        after the last change: what DescribeShareGroupOffsets reports."""
        counts = self.counts()
        done = counts[RecordState.ACKNOWLEDGED] + counts[RecordState.ARCHIVED]
        return self.written_start, len(self.passed) + done

    # -- transitions ---------------------------------------------------------------------------
    def acquire(
        self,
        batches: Iterable[tuple[int, int]],
        member_id: str,
        *,
        now_ms: int,
        lock_ms: int,
        max_records: int,
        max_in_flight: int,
        high_watermark: int,
        record_limit: bool = False,
        aborted: frozenset[int] = frozenset(),
    ) -> list[Acquired]:
        """Acquire Available records of the whole ``batches`` (first, last offset) read from the
        log, stopping at the batch that reaches ``max_records`` (whole batches, as Kafka's
        batch-optimized mode; with ``record_limit``, Kafka's record-limit mode, at exactly
        ``max_records`` records, splitting a batch) or once ``max_in_flight`` records are in
        flight. Records of ``aborted`` transactions (read_committed) are archived, never
        delivered."""
        taken: list[tuple[int, int]] = []  # (offset, delivery count)
        deadline = now_ms + lock_ms
        for first, last in batches:
            if len(taken) >= max_records:
                break
            for offset in range(max(first, self.start_offset), min(last + 1, high_watermark)):
                if record_limit and len(taken) >= max_records:
                    break
                if offset >= self.end_offset:
                    if offset - self.start_offset >= max_in_flight:
                        break
                    # offsets a compaction or an abort left out are delivered as a gap
                    self.end_offset = offset + 1
                    rec = self.records[offset] = InFlight(RecordState.AVAILABLE, 0)
                else:
                    found = self.records.get(offset)
                    if found is None:
                        found = self.records[offset] = InFlight(RecordState.AVAILABLE, 0)
                    rec = found
                if rec.state is not RecordState.AVAILABLE:
                    continue
                if offset in aborted:
                    rec.state = RecordState.ARCHIVED
                    continue
                rec.state = RecordState.ACQUIRED
                rec.delivery_count += 1
                rec.member_id = member_id
                rec.deadline_ms = deadline
                taken.append((offset, rec.delivery_count))
        return list(_runs(taken))

    def acknowledge(
        self,
        member_id: str,
        first: int,
        last: int,
        types: tuple[int, ...],
        limit: int,
        *,
        settle: bool = True,
    ) -> AckError:
        """Apply one acknowledgement batch: one type for every offset, or one per offset.
        Without ``settle`` the caller applies a request's batches as one change: it calls
        change() after the first that applies and settle() after the last."""
        if last < first or not types or (len(types) != 1 and len(types) != last - first + 1):
            return AckError.INVALID_REQUEST
        if any(t not in AckType._value2member_map_ for t in types):
            return AckError.INVALID_REQUEST
        offsets = range(first, last + 1)
        for offset in offsets:
            rec = self.records.get(offset)
            if rec is None or rec.state is not RecordState.ACQUIRED or rec.member_id != member_id:
                return AckError.INVALID_RECORD_STATE
        if settle and any(t != AckType.RENEW for t in types):
            self._change()
        for i, offset in enumerate(offsets):
            kind = AckType(types[0] if len(types) == 1 else types[i])
            rec = self.records[offset]
            if kind is AckType.RENEW:
                continue  # the caller extends the lock
            if kind is AckType.RELEASE:
                self._release(rec, limit)
            elif kind is AckType.ACCEPT:
                rec.state = RecordState.ACKNOWLEDGED
            else:  # REJECT, or GAP: an offset the log does not hold
                rec.state = RecordState.ARCHIVED
            rec.member_id = ""
        if settle:
            self._advance()
        return AckError.NONE

    def change(self) -> None:
        """Changes are being made that one write records (see acknowledge)."""
        self._change()

    def settle(self) -> None:
        """The changes are made: the SPSO moves past the finished records at its head."""
        self._advance()

    def renew(self, member_id: str, first: int, last: int, deadline_ms: int) -> None:
        for offset in range(first, last + 1):
            rec = self.records.get(offset)
            if rec is not None and rec.state is RecordState.ACQUIRED and rec.member_id == member_id:
                rec.deadline_ms = deadline_ms

    def expire(self, now_ms: int, limit: int) -> bool:
        """Release every record whose acquisition lock has expired; True if any was."""
        changed = False
        for rec in self.records.values():
            if rec.state is RecordState.ACQUIRED and rec.deadline_ms <= now_ms:
                self._release(rec, limit)
                changed = True
        if changed:
            self._change()
            self._advance()
        return changed

    def release_member(self, member_id: str, limit: int) -> bool:
        """Release the records a member holds (it left, or closed its share session)."""
        changed = False
        for rec in self.records.values():
            if rec.state is RecordState.ACQUIRED and rec.member_id == member_id:
                self._release(rec, limit)
                changed = True
        if changed:
            self._change()
            self._advance()
        return changed

    def move_start(self, offset: int) -> None:
        """Records below ``offset`` are gone from the log (retention, DeleteRecords): they are
        done. Not a change to write: as Kafka's share-partition, the new start offset is written
        with the next change, and until then the last written one is reported."""
        if offset <= self.start_offset:
            return
        for old in range(self.start_offset, min(offset, self.end_offset)):
            self.records.pop(old, None)
        self.start_offset = offset
        self.end_offset = max(self.end_offset, offset)
        self._advance()

    @staticmethod
    def _release(rec: InFlight, limit: int) -> None:
        rec.member_id = ""
        rec.deadline_ms = 0
        rec.state = RecordState.ARCHIVED if rec.delivery_count >= limit else RecordState.AVAILABLE

    def _change(self) -> None:
        # A change to be written: the write records the SPSO as it stands now.
        self.written_start = self.start_offset
        self.passed.clear()

    def _advance(self) -> None:
        # The SPSO moves past every finished record at its head.
        start = self.start_offset
        records = self.records
        while start < self.end_offset:
            rec = records.get(start)
            if rec is None or rec.state not in (RecordState.ACKNOWLEDGED, RecordState.ARCHIVED):
                break
            del records[start]
            self.passed.append((start, rec.state, rec.delivery_count))
            start += 1
        self.start_offset = start

    # -- persistence ---------------------------------------------------------------------------
    def state_batches(self) -> list[tuple[int, int, int, int]]:
        """The durable form of the in-flight records: runs of (first, last, state, delivery
        count). An Acquired record is written as Available, so after a restart or a new leader
        it is delivered again (its lock died with the broker), with its delivery count kept."""
        return _batches(
            (offset, rec.state, rec.delivery_count)
            for offset in range(self.start_offset, self.end_offset)
            if (rec := self.records.get(offset)) is not None
        )

    def written_batches(self) -> list[tuple[int, int, int, int]]:
        """The runs from ``written_start`` on, as the last change wrote them: the finished
        records moved past since, then the in-flight ones."""
        return _batches(self.passed) + self.state_batches()

    def to_json(self) -> dict[str, object]:
        runs = [list(run) for run in self.state_batches()]
        passed = [list(run) for run in _batches(self.passed)]
        return {
            "start_offset": self.start_offset,
            "end_offset": self.end_offset,
            "runs": runs,
            "written_start": self.written_start,
            "passed": passed,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> SharePartition:
        """The state as saved; finished records at its head (a share coordinator's snapshot
        keeps them until the next write) are moved past, still counted as written."""
        start = _int(data["start_offset"])
        end = _int(data["end_offset"])
        part = cls(start, end)
        raw = data["runs"]
        if not isinstance(raw, list):
            raise ValueError("runs is not a list")
        for first, last, state, count in _runs_of(raw):
            for offset in range(first, last + 1):
                part.records[offset] = InFlight(RecordState(state), count)
        if "written_start" in data:
            part.written_start = _int(data["written_start"])
            for first, last, state, count in _runs_of(data.get("passed", [])):
                part.passed += [(o, RecordState(state), count) for o in range(first, last + 1)]
        part._advance()
        return part


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer")
    return value


def _runs_of(raw: object) -> Iterator[tuple[int, int, int, int]]:
    if not isinstance(raw, list):
        raise ValueError("runs is not a list")
    for run in raw:
        first, last, state, count = (_int(v) for v in run)
        yield first, last, state, count


def _batches(records: Iterable[tuple[int, RecordState, int]]) -> list[tuple[int, int, int, int]]:
    """Runs of (first, last, state, delivery count) of (offset, state, delivery count) in
    offset order; Acquired is written as Available."""
    runs: list[list[int]] = []
    for offset, rec_state, count in records:
        state = RecordState.AVAILABLE if rec_state is RecordState.ACQUIRED else rec_state
        last = runs[-1] if runs else None
        if last and last[1] == offset - 1 and last[2] == state and last[3] == count:
            last[1] = offset
        else:
            runs.append([offset, offset, int(state), count])
    return [(a, b, c, d) for a, b, c, d in runs]


def _runs(taken: list[tuple[int, int]]) -> Iterator[Acquired]:
    start = prev = -2
    count = 0
    for offset, delivered in taken:
        if offset == prev + 1 and delivered == count:
            prev = offset
            continue
        if start >= 0:
            yield Acquired(start, prev, count)
        start = prev = offset
        count = delivered
    if start >= 0:
        yield Acquired(start, prev, count)
