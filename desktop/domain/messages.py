"""Messages as read from and written to a topic: records, scan and search specs, scan progress."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, NamedTuple

Header = tuple[str, bytes | None]

TIMESTAMP_TYPES = {0: "", 1: "CreateTime", 2: "LogAppendTime"}

# A record as a plain tuple, in Record's field order. Scans move rows in this shape: the garbage
# collector untracks plain tuples of atoms, so 100,000 held rows cost collections nothing (a
# NamedTuple or dataclass instance stays tracked; measured 40-70 ms full collections on the GUI
# thread). Record._make(row) gives the named view when one is needed.
Row = tuple[str, int, int, int, int, bytes | None, bytes | None, tuple[Header, ...]]
TIMESTAMP: Final = 3
KEY: Final = 5
VALUE: Final = 6
HEADERS: Final = 7


class Record(NamedTuple):
    """One message with its bytes untouched (a NamedTuple, so a Row converts for free)."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # ms since the epoch; -1 when unknown
    timestamp_type: int  # 0 none, 1 CreateTime, 2 LogAppendTime
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()

    @property
    def size(self) -> int:
        """Key, value and header bytes (what the user sent, not the batch overhead)."""
        total = len(self.key or b"") + len(self.value or b"")
        for name, value in self.headers:
            total += len(name.encode()) + len(value or b"")
        return total

    @property
    def timestamp_type_name(self) -> str:
        return TIMESTAMP_TYPES.get(self.timestamp_type, str(self.timestamp_type))


class StartMode(StrEnum):
    EARLIEST = "earliest"
    LATEST = "latest"
    NEWEST_N = "newest N per partition"
    OFFSET = "offset"
    PER_PARTITION = "offset per partition"
    TIMESTAMP = "timestamp"
    GROUP = "consumer group's committed offsets"


class StopMode(StrEnum):
    END = "the end"
    COUNT = "N messages"
    TIMESTAMP = "a timestamp"
    LIVE = "never (tail live)"


class Isolation(StrEnum):
    """isolation.level of the scan's consumer."""

    # librdkafka's default and what transactional applications read
    READ_COMMITTED = "read_committed"
    # the Java console consumer's default: aborted and still-open transactions' records too
    READ_UNCOMMITTED = "read_uncommitted"


ISOLATION_HELP: Final = {
    Isolation.READ_COMMITTED: "only committed transactions (and non-transactional records), "
    "up to the last stable offset",
    Isolation.READ_UNCOMMITTED: "everything up to the high watermark, aborted and open "
    "transactions included (marked in the Txn column)",
}


class SearchField(StrEnum):
    VALUE = "value"
    KEY = "key"
    HEADER = "header"


class SearchError(ValueError):
    """The search the user typed cannot be run (bad regex, bad JSON value)."""


@dataclass(frozen=True)
class SearchSpec:
    """What a record must match; empty text and path match everything."""

    text: str = ""
    regex: bool = False
    field: SearchField = SearchField.VALUE
    header: str = ""  # the header's name when field is HEADER
    json_path: str = ""  # dotted path, e.g. "customer.id" or "items.0.sku"
    json_value: str = ""  # compared as JSON when it parses, else as a string
    time_from: int | None = None  # ms, inclusive
    time_to: int | None = None  # ms, exclusive

    @property
    def active(self) -> bool:
        return bool(self.text or self.json_path or self.time_from or self.time_to)

    def compile(self) -> Callable[[Row], bool]:
        """A predicate; raises SearchError for a bad pattern."""
        checks: list[Callable[[Row], bool]] = []
        if self.text:
            checks.append(self._text_check())
        if self.json_path:
            checks.append(_json_check(self.json_path, self.json_value))
        t0, t1 = self.time_from, self.time_to
        if t0 is not None:
            checks.append(lambda r: r[TIMESTAMP] >= t0)
        if t1 is not None:
            checks.append(lambda r: r[TIMESTAMP] < t1)
        if not checks:
            return lambda r: True
        if len(checks) == 1:
            return checks[0]
        return lambda r: all(c(r) for c in checks)

    def _text_check(self) -> Callable[[Row], bool]:
        get = _field_getter(self.field, self.header)
        if self.regex:
            try:
                pattern = re.compile(self.text.encode())
            except re.error as exc:
                raise SearchError(f"The regular expression is not valid: {exc}") from exc
            search = pattern.search
            return lambda r: (b := get(r)) is not None and search(b) is not None
        needle = self.text.encode()
        return lambda r: (b := get(r)) is not None and needle in b


def _field_getter(which: SearchField, header: str) -> Callable[[Row], bytes | None]:
    if which is SearchField.KEY:
        return lambda r: r[KEY]
    if which is SearchField.HEADER:

        def header_value(r: Row) -> bytes | None:
            for name, value in r[HEADERS]:
                if name == header:
                    return value
            return None

        return header_value
    return lambda r: r[VALUE]


def json_path_get(doc: Any, path: str) -> tuple[bool, Any]:
    """Follow a dotted path (numbers index lists); (False, None) when it leads nowhere."""
    node = doc
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif (
            isinstance(node, list)
            and part.lstrip("-").isdigit()
            and -len(node) <= int(part) < len(node)
        ):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _json_check(path: str, wanted_text: str) -> Callable[[Row], bool]:
    try:
        wanted: Any = json.loads(wanted_text)
    except ValueError:
        wanted = wanted_text

    def check(r: Row) -> bool:
        value = r[VALUE]
        if not value:
            return False
        try:
            doc = json.loads(value)
        except ValueError:
            return False
        found, value = json_path_get(doc, path)
        return found and (value == wanted or (isinstance(wanted, str) and str(value) == wanted))

    return check


@dataclass(frozen=True)
class ScanSpec:
    """Where a scan starts and stops, what it keeps, and over which partitions."""

    topic: str
    partitions: tuple[int, ...] | None = None  # None: all
    start: StartMode = StartMode.EARLIEST
    start_offset: int = 0  # OFFSET
    # PER_PARTITION: (partition, offset) pairs; partitions not named start at the earliest
    start_offsets: tuple[tuple[int, int], ...] = ()
    newest_n: int = 100  # NEWEST_N
    start_time: int = 0  # TIMESTAMP, ms
    group: str = ""  # GROUP
    stop: StopMode = StopMode.END
    stop_count: int = 1000  # COUNT: messages read, shared fairly over the partitions (fair_quotas)
    stop_time: int = 0  # TIMESTAMP, ms: a partition ends at its first message at or after it
    search: SearchSpec = field(default_factory=SearchSpec)
    max_matches: int | None = None  # stop once this many matched
    isolation: Isolation = Isolation.READ_COMMITTED


def fair_quotas(total: int, available: dict[int, int]) -> dict[int, int]:
    """Split `total` over partitions: an equal share each (the remainder to the lowest
    numbers), and what a short partition cannot use goes to the others, evenly again."""
    quotas = {p: 0 for p in available}
    left = total
    open_parts = sorted(p for p, n in available.items() if n > 0)
    while left > 0 and open_parts:
        share, extra = divmod(left, len(open_parts))
        given = 0
        still_open = []
        for i, p in enumerate(open_parts):
            want = share + (1 if i < extra else 0)
            take = min(want, available[p] - quotas[p])
            quotas[p] += take
            given += take
            if quotas[p] < available[p]:
                still_open.append(p)
        left -= given
        if given == 0:
            break
        open_parts = still_open
    return quotas


@dataclass(frozen=True)
class PartitionProgress:
    partition: int
    start: int
    position: int  # next offset to read
    end: int | None  # None when tailing
    done: bool = False


@dataclass(frozen=True)
class TxnMarks:
    """What a read_committed pass over a read_uncommitted scan's range did not return.

    A record read_uncommitted returned inside a skipped range belongs to an aborted transaction
    (control markers are never returned as records); from `pending` on a partition's records are
    past its last stable offset: an open transaction, not yet visible to read_committed."""

    skipped: tuple[tuple[int, int, int], ...] = ()  # (partition, first, end exclusive)
    pending: tuple[tuple[int, int], ...] = ()  # (partition, last stable offset)

    def mark(self, partition: int, offset: int) -> str:
        for p, lso in self.pending:
            if p == partition and offset >= lso:
                return "pending (open txn)"
        for p, first, end in self.skipped:
            if p == partition and first <= offset < end:
                return "aborted txn"
        return ""

    def count(self, rows: Iterable[Row], mark: str) -> int:
        return sum(1 for r in rows if self.mark(r[1], r[2]) == mark)


@dataclass(frozen=True)
class ScanProgress:
    scanned: int = 0
    matched: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0
    partitions: tuple[PartitionProgress, ...] = ()
    finished: bool = False
    reason: str = ""  # why it finished: "end", "stopped", "limit", "error"
    txn: TxnMarks | None = None  # on the last progress of a bounded read_uncommitted scan

    @property
    def rate(self) -> float:
        return self.scanned / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def fraction(self) -> float | None:
        """Share of the bounded range read so far (None when unbounded)."""
        total = done = 0
        for p in self.partitions:
            if p.end is None:
                return None
            total += max(0, p.end - p.start)
            done += max(0, min(p.position, p.end) - p.start)
        return done / total if total else 1.0


@dataclass(frozen=True)
class ScanBatch:
    """A scan's progress with the matching rows read since the last batch."""

    rows: list[Row]  # handed over, not copied: the scan never touches it again
    progress: ScanProgress


@dataclass(frozen=True)
class ProduceRequest:
    """One message to send; partition None lets the partitioner choose."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()
    partition: int | None = None
    timestamp: int | None = None  # ms; None: now


@dataclass(frozen=True)
class DeliveryReport:
    topic: str
    partition: int
    offset: int
    timestamp: int
    timestamp_type: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class BulkProgress:
    sent: int
    delivered: int
    failed: int
    total: int
    elapsed_s: float
    finished: bool = False
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.delivered / self.elapsed_s if self.elapsed_s > 0 else 0.0
