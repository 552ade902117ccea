"""Consumer groups, their committed offsets and lag, and offset-reset plans (Qt-free)."""

from __future__ import annotations

import copy
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

NO_COMMITS = "no commits"
NO_COMMIT = "no commit"

LAG_RULE = (
    "Lag rule: lag = log-end offset (high watermark) - committed offset, per partition. "
    "It counts offsets, not messages: compacted-away records and transaction control records "
    "(commit/abort markers) occupy offsets and count, so a transactional consumer that has read "
    "everything can show a lag of 1 per partition (the marker) until it commits past it. A "
    "read_committed consumer can read only up to the last stable offset (LSO), shown in the "
    "group detail; open transactions between LSO and high watermark count as lag. A commit "
    "above the high watermark (e.g. after the topic was emptied or recreated) shows 0 and is "
    "flagged “ahead”. A partition without a commit shows “no commit”, never 0; a group "
    "without any commit shows “no commits”."
)


class GroupState(StrEnum):
    STABLE = "Stable"
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    DEAD = "Dead"
    UNKNOWN = "Unknown"


def partition_lag(committed: int | None, end: int | None) -> tuple[int | None, bool]:
    """(lag, ahead) for one partition under LAG_RULE; lag is None when either side is unknown."""
    if committed is None or committed < 0 or end is None:
        return None, False
    if committed > end:
        return 0, True
    return end - committed, False


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: no commit for this partition
    end: int | None  # high watermark; None when unknown
    metadata: str = ""
    start: int | None = None  # log start offset: read only for partitions without a commit
    # share groups: `committed` is the share-partition start offset and this the lag Kafka
    # reports (records at or past it not yet acknowledged), which the totals then sum
    share_lag: int | None = None
    lag: int | None = field(init=False, compare=False)
    ahead: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        lag, ahead = partition_lag(self.committed, self.end)
        if self.share_lag is not None and self.share_lag >= 0:
            lag, ahead = self.share_lag, False
        object.__setattr__(self, "lag", lag)
        object.__setattr__(self, "ahead", ahead)

    @property
    def has_commit(self) -> bool:
        return self.committed is not None and self.committed >= 0

    @property
    def unread(self) -> int | None:
        """Without a commit: the messages in the log (end - log start) a new consumer may read."""
        if self.has_commit or self.end is None:
            return None
        return max(0, self.end - (self.start or 0))

    @property
    def lag_text(self) -> str | int:
        if not self.has_commit:
            return NO_COMMIT
        if self.lag is None:
            return "unknown"
        return self.lag


@dataclass(frozen=True)
class LagTotals:
    """A group's lag in one place: every table, header, chart and tab reads these numbers."""

    lag: int | None  # summed over partitions with a commit; None when none is known
    max_lag: int | None
    no_commit: int  # partitions of subscribed topics without a commit
    unread: int  # their messages (end - log start), kept apart from the lag
    committed_total: int
    end_total: int
    ahead: int
    with_commit: int = 0  # partitions with a commit (no_commit counts the others)

    def unread_text(self) -> str:
        if not self.no_commit:
            return ""
        noun = "partition" if self.no_commit == 1 else "partitions"
        return f"{self.unread:,} unread on {self.no_commit} {noun} without a commit"

    def text(self) -> str:
        """E.g. "lag 1,607 + 15,000 unread on 3 partitions without a commit"."""
        lag = "lag unknown" if self.lag is None else f"lag {self.lag:,}"
        if not self.no_commit:
            return lag
        if self.lag is None and not self.committed_total:
            return self.unread_text()
        return f"{lag} + {self.unread_text()}"


def lag_totals(partitions: Iterable[PartitionLag]) -> LagTotals:
    """The one lag computation (LAG_RULE) over a group's partitions."""
    lags: list[int] = []
    no_commit = unread = committed = end = ahead = with_commit = 0
    for p in partitions:
        if not p.has_commit:
            no_commit += 1
            unread += p.unread or 0
            continue
        with_commit += 1
        if p.lag is None:
            continue
        lags.append(p.lag)
        committed += p.committed or 0
        end += p.end or 0
        ahead += p.ahead
    return LagTotals(
        sum(lags) if lags else None,
        max(lags) if lags else None,
        no_commit,
        unread,
        committed,
        end,
        ahead,
        with_commit,
    )


@dataclass(frozen=True)
class MemberInfo:
    member_id: str
    client_id: str
    host: str
    assignment: tuple[tuple[str, int], ...]
    instance_id: str = ""
    # consumer-protocol groups (KIP-848): what the coordinator wants this member to own;
    # None for classic groups, where the client-side leader assigns
    target: tuple[tuple[str, int], ...] | None = None
    member_epoch: int | None = None  # consumer and share groups; None for classic groups

    @property
    def assignment_text(self) -> str:
        return partitions_text(self.assignment)

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        if sorted(self.target) == sorted(self.assignment):
            return "reconciled (same as assigned)"
        return f"reconciling to {partitions_text(self.target) or 'nothing'}"


def partitions_text(parts: tuple[tuple[str, int], ...]) -> str:
    by_topic: dict[str, list[int]] = {}
    for topic, part in parts:
        by_topic.setdefault(topic, []).append(part)
    return "; ".join(f"{t} [{', '.join(map(str, sorted(p)))}]" for t, p in by_topic.items())


@dataclass(frozen=True)
class GroupSummary:
    """One row of the groups list. `offsets_loaded` is False until the commits were fetched."""

    group_id: str
    state: str
    protocol_type: str = ""
    assignor: str = ""
    members: int | None = None
    partitions: tuple[PartitionLag, ...] = ()
    offsets_loaded: bool = False
    described: bool = False
    group_type: str = ""  # classic / consumer (KIP-848); "" when the broker does not say
    # (member id, client id) of each member, sorted; filled only when described
    member_ids: tuple[tuple[str, str], ...] = ()
    # a brief copy (see `brief`) keeps topics and totals but not the partitions: these tell
    # its versions apart, and which partitions its committed and end totals cover
    digest: int = 0
    rate_keys: int = 0
    # the committed offsets could not be read at the last refresh: why, and when (time.time()).
    # With `offsets_loaded` the lag shown is the last known, read at `offsets_read_at`; without
    # it the group was never read and its lag is unknown (never "no commits")
    offsets_error: str = ""
    offsets_failed_at: float = 0.0
    offsets_read_at: float = 0.0
    topics: tuple[str, ...] = field(init=False, compare=False)
    totals: LagTotals = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "topics", tuple(sorted({p.topic for p in self.partitions})))
        object.__setattr__(self, "totals", lag_totals(self.partitions))

    @property
    def total_lag(self) -> int | None:
        return self.totals.lag

    @property
    def max_lag(self) -> int | None:
        return self.totals.max_lag

    @property
    def committed_total(self) -> int:
        return self.totals.committed_total

    @property
    def end_total(self) -> int:
        return self.totals.end_total

    @property
    def ahead(self) -> int:
        return self.totals.ahead

    @property
    def has_commits(self) -> bool:
        return self.totals.with_commit > 0

    @property
    def stale(self) -> bool:
        """The lag shown is the last known: the latest offsets fetch failed."""
        return bool(self.offsets_error) and self.offsets_loaded

    def unread_note(self) -> str:
        """Why the lag is old or unknown, for a tooltip and the detail header ("" when read)."""
        if not self.offsets_error:
            return ""
        failed = (
            f"offsets could not be read at {clock(self.offsets_failed_at)}: {self.offsets_error}"
        )
        if not self.offsets_loaded:
            return f"{failed}; the lag is unknown until they can"
        since = f" from {clock(self.offsets_read_at)}" if self.offsets_read_at else ""
        return f"{failed}; showing the last known values{since}"

    def unread_since(self, error: str, at: float, read_at: float = 0.0) -> GroupSummary:
        """This summary after an offsets fetch that failed at `at`: its numbers kept and marked
        stale (never read: marked unknown). `read_at` is when they were read; a summary that
        is stale already keeps its own."""
        out = copy.copy(self)  # a copy keeps the totals of a brief summary too
        object.__setattr__(out, "offsets_error", error)
        object.__setattr__(out, "offsets_failed_at", at)
        if not self.offsets_error:
            object.__setattr__(out, "offsets_read_at", read_at)
        return out

    def brief(self) -> GroupSummary:
        """This summary without its partitions, for the groups list: at 5,000 groups, 90,000
        fewer objects to pickle across the process boundary and to unpickle on the GUI thread.
        Topics and totals are kept as computed; the detail fetches the partitions itself."""
        if not self.partitions:
            return self
        out = copy.copy(self)
        object.__setattr__(out, "partitions", ())
        object.__setattr__(out, "digest", hash(self.partitions))
        object.__setattr__(out, "rate_keys", self.rate_key())
        return out

    def rate_key(self) -> int:
        """Which partitions the committed and end totals cover (the same number in every
        process, so a brief summary and a full one of the same group compare)."""
        if not self.partitions:
            return self.rate_keys
        keys = [(p.topic, p.partition) for p in self.partitions if p.lag is not None]
        return zlib.crc32(repr(keys).encode())

    def totals_text(self) -> str | None:
        """The header line: lag plus, apart, what waits on partitions without a commit."""
        if not self.offsets_loaded:
            return "lag unknown" if self.offsets_error else None
        if not self.totals.with_commit + self.totals.no_commit:
            return NO_COMMITS
        return self.totals.text()

    @property
    def is_empty(self) -> bool:
        return self.state == GroupState.EMPTY

    def lag_text(self, value: int | None) -> str | int | None:
        """What a lag cell shows: the number, "no commits", "unknown" when the offsets could
        not be read, or None while loading."""
        if not self.offsets_loaded:
            return "unknown" if self.offsets_error else None
        if not self.has_commits:
            return NO_COMMITS
        return value if value is not None else "unknown"

    def for_topic(self, topic: str) -> tuple[PartitionLag, ...]:
        return tuple(p for p in self.partitions if p.topic == topic)


def clock(t: float) -> str:
    """A wall-clock time of today's refreshes, as HH:MM:SS local time."""
    return time.strftime("%H:%M:%S", time.localtime(t))


@dataclass(frozen=True)
class GroupDetail:
    summary: GroupSummary
    members: tuple[MemberInfo, ...]
    stable_ends: dict[tuple[str, int], int]  # last stable offset per partition (read_committed)
    time_lag_s: dict[tuple[str, int], float]  # age of the message at the committed offset
    fetched_at: float
    group_epoch: int | None = None  # consumer and share groups (KIP-848, KIP-932)
    assignment_epoch: int | None = None
    note: str = ""  # why epochs or share state could not be read, for the user


SHARE_NOTE = (
    "Share group: per partition, the share-partition start offset (every record before it is "
    "acknowledged or archived) and the lag Kafka reports (records not yet acknowledged). "
    "Which records are acquired right now, and their delivery counts, are not shown: no Kafka "
    "admin request reports them (only brokers read the share state)."
)


class ResetMode(StrEnum):
    EARLIEST = "earliest"
    LATEST = "latest"
    TIMESTAMP = "timestamp"
    OFFSET = "offset"
    SHIFT = "shift"


@dataclass(frozen=True)
class ResetRequest:
    group_id: str
    topic: str
    partitions: tuple[int, ...]  # empty: every partition of the topic
    mode: ResetMode
    value: int = 0  # timestamp in ms, the offset, or the shift (±N)
    share: bool = False  # a share group's start offsets; topic "" then means all its topics


NO_COMMIT_REFUSAL = {
    ResetMode.SHIFT: "refused: no commit to shift from",
    ResetMode.OFFSET: "refused: no commit (choose earliest, latest or a time)",
}


@dataclass(frozen=True)
class ResetRow:
    """One partition of a reset plan: exactly what Execute commits (`new`), or why it won't."""

    topic: str
    partition: int
    current: int | None
    new: int
    low: int
    high: int
    refused: str = ""  # non-empty: this partition blocks the plan, nothing would be committed

    @property
    def change(self) -> int | None:
        if self.current is None or self.refused:
            return None
        return self.new - self.current

    @property
    def new_text(self) -> str | int:
        return self.refused or self.new


@dataclass(frozen=True)
class ResetPlan:
    request: ResetRequest
    state: str  # the group's state when the plan was made
    rows: tuple[ResetRow, ...]

    @property
    def refused(self) -> tuple[ResetRow, ...]:
        return tuple(r for r in self.rows if r.refused)

    @property
    def allowed(self) -> bool:
        return self.state == GroupState.EMPTY and not self.refused

    def refused_text(self) -> str:
        """Why Execute is disabled for the partitions without a commit (empty when it isn't)."""
        rows = self.refused
        if not rows:
            return ""
        names = ", ".join(f"{r.topic}-{r.partition}" for r in rows[:8])
        more = f" and {len(rows) - 8} more" if len(rows) > 8 else ""
        what = "shift by" if self.request.mode == ResetMode.SHIFT else "set to an offset"
        return (
            f"Refused, as the Kafka CLI does: {len(rows)} partition(s) have no committed offset "
            f"({names}{more}), so there is nothing to {what} from; committing there would "
            "invent a starting point. Untick them (choose partitions), or reset them to "
            "earliest, latest or a time first."
        )


def reset_refusal(mode: ResetMode, current: int | None) -> str:
    """Why a relative or absolute reset is refused on a partition without a commit ("" if not)."""
    if current is None or current < 0:
        return NO_COMMIT_REFUSAL.get(mode, "")
    return ""


def new_offset(
    mode: ResetMode,
    value: int,
    current: int | None,
    *,
    low: int,
    high: int,
    at_time: int | None = None,
) -> int:
    """The target offset for one partition, clamped into [low, high].

    `at_time` is the broker's answer for a timestamp look-up (-1 when no message is that new,
    which means the end of the log).
    """
    if mode == ResetMode.EARLIEST:
        target = low
    elif mode == ResetMode.LATEST:
        target = high
    elif mode == ResetMode.TIMESTAMP:
        target = high if at_time is None or at_time < 0 else at_time
    elif mode == ResetMode.OFFSET:
        target = value
    else:  # SHIFT from the committed offset (plans refuse partitions without one)
        target = (low if current is None or current < 0 else current) + value
    return max(low, min(high, target))


REFUSAL = (
    "Offsets can only be reset while the group is Empty, and '{group}' is {state} with "
    "{members} active member(s). Its running consumers hold their positions in memory and "
    "would overwrite the new offsets with their next commit, so the reset would silently be "
    "lost. Stop every consumer of the group, wait until its state shows Empty, then try again."
)


def refusal(group: str, state: str, members: int | None) -> str:
    count = "some" if members is None else str(members)
    return REFUSAL.format(group=group, state=state, members=count)


SHARE_REFUSAL = (
    "Kafka changes a share group's offsets only while the group has no members, and "
    "'{group}' has {members} active member(s). Stop the group's consumers first, wait until it "
    "shows Empty, then try again."
)


def share_refusal(group: str, members: int | None) -> str:
    return SHARE_REFUSAL.format(group=group, members="some" if members is None else members)
