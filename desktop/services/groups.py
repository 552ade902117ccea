"""Consumer groups over confluent-kafka's AdminClient: list, describe, lag, reset, delete.

Every call blocks (run it on the cluster's worker thread). Calls for many groups are batched:
describes go out in batches, and the one-group-per-request offset fetches are all issued before
any is awaited, so they run concurrently.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._listoffsets import OffsetSpec

from desktop.domain.groups import (
    SHARE_NOTE,
    GroupDetail,
    GroupState,
    GroupSummary,
    MemberInfo,
    PartitionLag,
    ResetMode,
    ResetPlan,
    ResetRequest,
    ResetRow,
    new_offset,
    refusal,
    reset_refusal,
    share_refusal,
)
from desktop.domain.topic_consumers import TopicConsumerList
from desktop.services.admin import ClusterAdmin, KafkaServiceError
from desktop.services.group_wire import (
    describe_consumer_group,
    describe_share_group,
    share_offsets,
)
from desktop.services.group_wire import list_groups as wire_list_groups
from desktop.services.kio_wire import WireHolder
from desktop.services.record_times import first_records, peek_config
from desktop.services.share_reset import (
    ShareOffsetsRefusedError,
    alter_share_offsets,
    delete_share_offsets,
    share_plan,
    wire_failure,
    wire_of,
)

DESCRIBE_BATCH = 100  # groups per DescribeGroups call
OFFSETS_WAVE = 100  # offset fetches in flight at once: smaller bursts of result callbacks
OFFSETS_CHUNK = 2000  # partitions per ListOffsets call
STAGE = 500  # groups completed per progress report
OFFSET_DELETE = hasattr(AdminClient, "delete_consumer_group_offsets")
OFFSET_DELETE_NOTE = (
    "confluent-kafka {version} has no OffsetDelete call, so Topicscope removes one topic's "
    "offsets by deleting the (Empty) group and committing the offsets of its other topics "
    "again, with their metadata. This is two steps, not one atomic request."
)

COORDINATOR_RETRIES = 6
_COORDINATOR_MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
}

_STATES = {
    ConsumerGroupState.STABLE: GroupState.STABLE,
    ConsumerGroupState.EMPTY: GroupState.EMPTY,
    ConsumerGroupState.PREPARING_REBALANCING: GroupState.PREPARING_REBALANCE,
    ConsumerGroupState.COMPLETING_REBALANCING: GroupState.COMPLETING_REBALANCE,
    ConsumerGroupState.DEAD: GroupState.DEAD,
}

Key = tuple[str, int]
Commit = tuple[int, str]  # offset, metadata
Progress = Callable[[list[GroupSummary]], None]


class TimeCache:
    """Message timestamps by (topic, partition, offset); failed reads are retried later."""

    RETRY_AFTER_S = 10.0

    def __init__(self) -> None:
        self.known: dict[tuple[str, int, int], float] = {}
        self.failed: dict[tuple[str, int, int], float] = {}

    def to_fetch(self, wanted: Sequence[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        now = time.monotonic()
        return [
            w
            for w in wanted
            if w not in self.known and now - self.failed.get(w, -1e9) > self.RETRY_AFTER_S
        ]


class SummaryCache:
    """What each group's summary was built from at the last refresh: a group whose inputs are
    unchanged gets that summary back without rebuilding its partitions (at 5,000 groups, 90,000
    objects and as many comparisons less per refresh, all holding the interpreter lock)."""

    def __init__(self) -> None:
        self.built: dict[str, tuple[Hashable, GroupSummary]] = {}
        # when each group's committed offsets were last read (time.time()): a group whose
        # fetch fails keeps its last known lag, marked as read then
        self.read_at: dict[str, float] = {}


def subscribed_keys(
    commits: Mapping[Key, Commit] | None, assigned: Iterable[Key], counts: Mapping[str, int]
) -> set[Key]:
    """Every partition of the topics a group commits on or is assigned: those without a commit
    are listed ("no commit"), never dropped from the totals."""
    keys = set(commits or {}) | set(assigned)
    for topic in {t for t, _p in keys}:
        keys.update((topic, p) for p in range(counts.get(topic, 0)))
    return keys


def lag_partitions(
    keys: Iterable[Key],
    commits: Mapping[Key, Commit] | None,
    ends: Mapping[Key, int],
    starts: Mapping[Key, int],
) -> tuple[PartitionLag, ...]:
    done = commits or {}
    return tuple(
        PartitionLag(
            t,
            p,
            done[(t, p)][0] if (t, p) in done else None,
            ends.get((t, p)),
            done[(t, p)][1] if (t, p) in done else "",
            None if (t, p) in done else starts.get((t, p)),
        )
        for t, p in sorted(keys)
    )


def assigned_keys(desc: Any) -> set[Key]:
    out: set[Key] = set()
    for m in (desc.members if desc is not None else None) or ():
        tps = (m.assignment.topic_partitions if m.assignment else None) or ()
        out.update((tp.topic, tp.partition) for tp in tps)
    return out


class ResetRefusedError(KafkaServiceError):
    """The group is not Empty: the reset was not sent."""


def _why(exc: Any) -> str:
    """A short reason for a failed offsets fetch (a timeout carries no text of its own)."""
    if isinstance(exc, concurrent.futures.TimeoutError):
        return "no answer in time"
    err = exc.args[0] if isinstance(exc, KafkaException) and exc.args else exc
    if isinstance(err, KafkaError):  # its text, not its repr ("KafkaError{code=…}")
        return str(err.str()) or err.name()
    return str(exc) or type(exc).__name__


def _no_ends(keys: Iterable[Key], ends: Mapping[Key, int]) -> str:
    """Why a group's lag on these partitions cannot be computed now ("" when it can)."""
    missing = sorted(k for k in keys if k not in ends)
    if not missing:
        return ""
    t, p = missing[0]
    more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
    return f"the log-end offset of {t}-{p}{more} could not be read"


def _tp(topic: str, partition: int, offset: int, metadata: str) -> TopicPartition:
    if metadata:
        return TopicPartition(topic, partition, offset, metadata)
    return TopicPartition(topic, partition, offset)


def type_name(group: Any) -> str:
    """classic / consumer from a listing or description; "" when the broker does not report it
    (ListGroups before v5) or reports a type this client library does not know."""
    kind = getattr(group, "type", None)
    name = str(getattr(kind, "name", "")).lower()
    return "" if name in ("", "unknown") else name


def state_name(state: Any) -> str:
    return str(_STATES.get(state, GroupState.UNKNOWN))


class GroupsAdmin:
    """Group operations on a ClusterAdmin's AdminClient (read afresh: reconnects replace it)."""

    def __init__(self, admin: ClusterAdmin, wire: WireHolder | None = None) -> None:
        self.admin = admin
        self.timeout = admin.timeout
        # the newer group APIs (types, epochs, share groups), which confluent-kafka lacks
        self.wire = wire
        self.wire_note = ""  # why they could not be read, for the user
        # groups whose committed offsets could not be read, and why (see `group_commits`)
        self.commit_failures: dict[str, str] = {}
        # share groups: the partitions their members are assigned (see `share_summaries`)
        self.share_assigned: dict[str, set[Key]] = {}

    @property
    def client(self) -> AdminClient:
        client: AdminClient = self.admin.client
        return client

    def _wait(self, fut: concurrent.futures.Future[Any]) -> Any:
        return self.admin.wait(fut)

    # ---- reading -------------------------------------------------------------------------

    def list_groups(self) -> list[GroupSummary]:
        fut = self.client.list_consumer_groups(request_timeout=self.timeout)
        result = self._wait(fut)
        listed = [
            GroupSummary(
                group_id=g.group_id,
                state=state_name(g.state),
                protocol_type="simple" if g.is_simple_consumer_group else "consumer",
                group_type=type_name(g),
            )
            for g in result.valid
        ]
        return sorted(self._with_wire_listing(listed), key=lambda g: g.group_id)

    def _wire_failed(self, what: str, exc: Exception) -> None:
        # kafka-python reconnects by itself: the connections are kept for the next refresh
        self.wire_note = f"{what} could not be read: {exc or type(exc).__name__}"

    def _with_wire_listing(self, listed: list[GroupSummary]) -> list[GroupSummary]:
        """Share groups (confluent-kafka lists only consumer groups) and each group's type."""
        if self.wire is None:
            return listed
        try:
            found = {g.group_id: g for g in wire_list_groups(self.wire.get())}
        except Exception as exc:  # the listing stands without them; the screen says why
            self._wire_failed("Share groups", exc)
            return listed
        out = [
            dataclasses.replace(g, group_type=found[g.group_id].group_type)
            if not g.group_type and g.group_id in found and found[g.group_id].group_type
            else g
            for g in listed
        ]
        out += [
            GroupSummary(g.group_id, g.state or GroupState.UNKNOWN, "share", group_type="share")
            for g in found.values()
            if g.group_type == "share"
        ]
        return out

    def share_summaries(self, listed: Sequence[GroupSummary]) -> dict[str, GroupSummary]:
        """Share groups described, with their start offsets and lag; those that fail keep
        their listing."""
        if self.wire is None or not listed:
            return {}
        described = {}
        offsets: dict[str, dict[Key, tuple[int, int | None]]] = {}
        for g in listed:
            try:
                wire = self.wire.get()
                described[g.group_id] = describe_share_group(wire, g.group_id)
                offsets[g.group_id] = share_offsets(wire, g.group_id)
            except Exception as exc:
                self._wire_failed("Share groups", exc)
                self.commit_failures[g.group_id] = _why(exc)
        ends = self.ends(sorted({k for offs in offsets.values() for k in offs}))
        out = {}
        for g in listed:
            d = described.get(g.group_id)
            if d is None or g.group_id not in offsets:
                continue
            self.share_assigned[g.group_id] = {k for m in d.members for k in m.assignment}
            parts = tuple(
                PartitionLag(t, p, start, ends.get((t, p)), share_lag=lag)
                for (t, p), (start, lag) in sorted(offsets[g.group_id].items())
            )
            out[g.group_id] = GroupSummary(
                g.group_id,
                d.state,
                "share",
                assignor=d.assignor,
                members=len(d.members),
                partitions=parts,
                offsets_loaded=True,
                described=True,
                group_type="share",
                member_ids=tuple(sorted((m.member_id, m.client_id) for m in d.members)),
            )
        return out

    def describe(self, group_ids: Sequence[str]) -> dict[str, Any]:
        """ConsumerGroupDescription per group; groups that fail to describe are left out."""
        futures: dict[str, concurrent.futures.Future[Any]] = {}
        for i in range(0, len(group_ids), DESCRIBE_BATCH):
            batch = list(group_ids[i : i + DESCRIBE_BATCH])
            try:
                futures.update(
                    self.client.describe_consumer_groups(batch, request_timeout=self.timeout)
                )
            except KafkaException as exc:
                raise self.admin.service_error(exc) from exc
        out: dict[str, Any] = {}
        for gid, fut in futures.items():
            try:
                out[gid] = self.admin.token.result(fut, self.timeout + 2)
            except Exception:
                continue
        return out

    def committed(self, group_ids: Sequence[str]) -> dict[str, dict[Key, Commit]]:
        """Committed offsets per group, fetched concurrently (one request per group)."""
        out: dict[str, dict[Key, Commit]] = {}
        for i in range(0, len(group_ids), OFFSETS_WAVE):
            wave: list[tuple[str, concurrent.futures.Future[Any]]] = []
            for gid in group_ids[i : i + OFFSETS_WAVE]:
                futs = self.client.list_consumer_group_offsets(
                    [ConsumerGroupTopicPartitions(gid)], request_timeout=self.timeout
                )
                wave.append((gid, futs[gid]))
            for gid, fut in wave:
                try:
                    res = self.admin.token.result(fut, self.timeout + 2)
                except Exception as exc:  # the group's commits stay unknown, never "none"
                    self.commit_failures[gid] = _why(exc)
                    continue
                failed = [tp for tp in res.topic_partitions or () if tp.error is not None]
                if failed:
                    self.commit_failures[gid] = f"{failed[0].topic}-{failed[0].partition}: " + (
                        _why(failed[0].error)
                    )
                    continue
                out[gid] = {
                    (tp.topic, tp.partition): (int(tp.offset), tp.metadata or "")
                    for tp in res.topic_partitions or ()
                    if tp.offset is not None and tp.offset >= 0
                }
        return out

    def group_commits(self, group_id: str) -> dict[Key, Commit]:
        """One group's committed offsets, or a KafkaServiceError when they could not be read:
        an empty answer would tell the user the group has no commits, which is false."""
        got = self.committed([group_id])
        if group_id not in got:
            why = self.commit_failures.get(group_id, "no answer")
            raise KafkaServiceError(
                f"The committed offsets of group '{group_id}' could not be read ({why}); "
                "the lag is unknown until they can."
            )
        return got[group_id]

    def ends(self, parts: Iterable[Key], stable: bool = False) -> dict[Key, int]:
        """Log-end offsets in bulk: high watermark, or the last stable offset when `stable`."""
        level = IsolationLevel.READ_COMMITTED if stable else IsolationLevel.READ_UNCOMMITTED
        spec = OffsetSpec.latest()  # type: ignore[no-untyped-call]
        return self._list_offsets({TopicPartition(t, p): spec for t, p in parts}, level)

    def starts(self, parts: Iterable[Key]) -> dict[Key, int]:
        spec = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
        return self._list_offsets({TopicPartition(t, p): spec for t, p in parts})

    def _list_offsets(
        self, specs: dict[TopicPartition, Any], level: Any = IsolationLevel.READ_UNCOMMITTED
    ) -> dict[Key, int]:
        items = list(specs.items())
        futs: dict[TopicPartition, concurrent.futures.Future[Any]] = {}
        for i in range(0, len(items), OFFSETS_CHUNK):  # all chunks in flight at once
            try:
                futs.update(
                    self.client.list_offsets(
                        dict(items[i : i + OFFSETS_CHUNK]),
                        isolation_level=level,
                        request_timeout=self.timeout,
                    )
                )
            except KafkaException as exc:
                raise self.admin.service_error(exc) from exc
        out: dict[Key, int] = {}
        for tp, fut in futs.items():
            try:
                out[(tp.topic, tp.partition)] = int(
                    self.admin.token.result(fut, self.timeout + 2).offset
                )
            except Exception:
                continue  # leaderless or deleted partition: the end stays unknown
        return out

    def summaries(
        self,
        listed: Sequence[GroupSummary],
        priority: Sequence[str] = (),
        progress: Progress | None = None,
        previous: Mapping[str, GroupSummary] | None = None,
        cache: SummaryCache | None = None,
    ) -> list[GroupSummary]:
        """Describe every listed group and compute its lag; groups in `priority` go first.

        `progress` receives each finished stage (a few hundred groups) as soon as it is ready.
        A group equal to its `previous` summary comes back as that same object, so the GUI
        thread tells unchanged rows apart by identity instead of comparing them field by field.
        """
        before = previous or {}
        built = cache.built if cache is not None else {}
        read_at = cache.read_at if cache is not None else {}
        rebuilt: dict[str, tuple[Hashable, GroupSummary]] = {}
        by_id = {g.group_id: g for g in listed}
        first = [g for g in priority if g in by_id]
        seen = set(first)
        order = first + [g for g in by_id if g not in seen]
        done: dict[str, GroupSummary] = {}
        for i in range(0, len(order), STAGE):
            stage_ids = order[i : i + STAGE]
            shares = self.share_summaries(
                [by_id[g] for g in stage_ids if by_id[g].group_type == "share"]
            )
            ids = [g for g in stage_ids if by_id[g].group_type != "share"]
            # an Empty group has no members, so describing it adds nothing to its listing:
            # at 5,000 idle groups that is 5,000 requests saved per refresh
            descs = self.describe([g for g in ids if by_id[g].state != GroupState.EMPTY])
            commits = self.committed(ids)
            counts = self.partition_counts()
            keys = {
                g: subscribed_keys(commits.get(g), assigned_keys(descs.get(g)), counts)
                for g in ids
                if g in commits
            }
            ends, starts = self._offsets(keys, commits)
            now = time.time()
            read_at.update((g, now) for g in commits)
            stage = []
            for g in stage_ids:
                if by_id[g].group_type == "share":
                    share = shares.get(g, by_id[g])
                    old = before.get(g)
                    stage.append(old if old is not None and old == share else share)
                    continue
                desc, mine = descs.get(g), commits.get(g)
                if mine is None and g in self.commit_failures:
                    stage.append(self._unread(by_id[g], desc, before.get(g), now, read_at))
                    continue
                inputs: Hashable = None
                summary = None
                if desc is None:  # a description changes in more ways: described groups rebuild
                    got = mine or {}
                    inputs = (
                        by_id[g],
                        mine is not None,
                        tuple(
                            (k, got.get(k), ends.get(k), starts.get(k))
                            for k in sorted(keys.get(g, ()))
                        ),
                    )
                    hit = built.get(g)
                    if hit is not None and hit[0] == inputs:
                        summary = hit[1]
                if summary is None:
                    parts = lag_partitions(keys.get(g, ()), mine, ends, starts)
                    summary = self._summary(by_id[g], desc, parts, mine is not None)
                old = before.get(g)
                if old is not None and (old is summary or old == summary):
                    summary = old
                if inputs is not None:
                    rebuilt[g] = (inputs, summary)
                stage.append(summary)
            done.update((s.group_id, s) for s in stage)
            if progress is not None:
                progress(stage)
        if cache is not None:
            cache.built = rebuilt  # groups gone from the list leave the cache
            cache.read_at = {g: t for g, t in read_at.items() if g in by_id}
        return [done[g] for g in by_id]

    def _unread(
        self,
        listed: GroupSummary,
        desc: Any,
        old: GroupSummary | None,
        now: float,
        read_at: Mapping[str, float],
    ) -> GroupSummary:
        """A group whose committed offsets could not be read this refresh: its last known lag,
        marked stale, under what was read now (state, members); never read: lag unknown."""
        why = self.commit_failures[listed.group_id]
        if old is None or not old.offsets_loaded:
            return self._summary(listed, desc, (), False).unread_since(why, now)
        base = old  # a brief summary: its totals are all there is to keep
        if old.partitions and (desc is not None or listed.state == GroupState.EMPTY):
            base = self._summary(listed, desc, old.partitions, True)
        elif old.partitions:  # not described this time: the last description stands
            base = dataclasses.replace(old, state=listed.state)
        return base.unread_since(why, now, old.offsets_read_at or read_at.get(old.group_id, 0.0))

    def partition_counts(self) -> dict[str, int]:
        """Partitions per topic from metadata; empty when it cannot be read (then only the
        committed and assigned partitions are known)."""
        try:
            md = self.admin.metadata()  # sliced: a cancel or the deadline ends it within a slice
        except KafkaException:
            return {}
        return {name: len(t.partitions) for name, t in md.topics.items() if t.error is None}

    def _offsets(
        self, keys: Mapping[str, set[Key]], commits: Mapping[str, Mapping[Key, Commit]]
    ) -> tuple[dict[Key, int], dict[Key, int]]:
        """High watermarks of every key; log starts only of those without a commit."""
        every = {k for ks in keys.values() for k in ks}
        bare = {k for g, ks in keys.items() for k in ks if k not in commits.get(g, {})}
        ends = self.ends(sorted(every))
        return ends, (self.starts(sorted(bare)) if bare else {})

    @staticmethod
    def _summary(
        listed: GroupSummary, desc: Any, parts: tuple[PartitionLag, ...], loaded: bool
    ) -> GroupSummary:
        if desc is None and listed.state == GroupState.EMPTY:
            return GroupSummary(
                listed.group_id,
                listed.state,
                listed.protocol_type,
                members=0,
                partitions=parts,
                offsets_loaded=loaded,
                described=True,  # no members: what a description would say
                group_type=listed.group_type,
            )
        if desc is None:
            return GroupSummary(
                listed.group_id,
                listed.state,
                listed.protocol_type,
                partitions=parts,
                offsets_loaded=loaded,
                group_type=listed.group_type,
            )
        return GroupSummary(
            group_id=listed.group_id,
            state=state_name(desc.state),
            protocol_type="simple" if desc.is_simple_consumer_group else "consumer",
            assignor=desc.partition_assignor or "",
            members=len(desc.members or ()),
            partitions=parts,
            offsets_loaded=loaded,
            described=True,
            group_type=type_name(desc) or listed.group_type,
            member_ids=tuple(sorted((m.member_id, m.client_id) for m in desc.members or ())),
        )

    def detail(self, group_id: str, time_cache: TimeCache, group_type: str = "") -> GroupDetail:
        """One group in full: members, per-partition lag (HW and LSO), time-lag estimates;
        for consumer-protocol groups the epochs; share groups from the share-group APIs."""
        if group_type == "share":
            return self.share_detail(group_id)
        descs = self.describe([group_id])
        desc = descs.get(group_id)
        commits = self.group_commits(group_id)
        members = [
            MemberInfo(
                member_id=m.member_id,
                client_id=m.client_id,
                host=m.host,
                assignment=tuple(
                    (tp.topic, tp.partition)
                    for tp in (m.assignment.topic_partitions if m.assignment else None) or ()
                ),
                instance_id=m.group_instance_id or "",
                target=None
                if getattr(m, "target_assignment", None) is None
                else tuple((tp.topic, tp.partition) for tp in m.target_assignment.topic_partitions),
            )
            for m in (desc.members if desc is not None else None) or ()
        ]
        # the same partitions and the same computation as the groups list: the numbers agree
        keys = subscribed_keys(commits, assigned_keys(desc), self.partition_counts())
        ends, starts = self._offsets({group_id: keys}, {group_id: commits})
        stable = self.ends(sorted(keys), stable=True)
        parts = lag_partitions(keys, commits, ends, starts)
        listed = GroupSummary(group_id, GroupState.DEAD, "consumer")
        summary = self._summary(listed, desc, parts, True)
        behind = [(p.topic, p.partition, p.committed) for p in parts if p.lag and p.committed]
        times = self.message_times(behind, time_cache)
        now = time.time()
        time_lag = {
            (t, p): max(0.0, now - times[(t, p, off)])
            for t, p, off in behind
            if (t, p, off) in times
        }
        for p in parts:
            if p.lag == 0:
                time_lag[(p.topic, p.partition)] = 0.0
        if summary.group_type != "consumer" or self.wire is None:
            return GroupDetail(summary, tuple(members), stable, time_lag, now)
        try:  # KIP-848 groups: epochs and each member's epoch, from ConsumerGroupDescribe
            d = describe_consumer_group(self.wire.get(), group_id)
        except Exception as exc:
            self._wire_failed("Member and group epochs", exc)
            return GroupDetail(summary, tuple(members), stable, time_lag, now, note=self.wire_note)
        return GroupDetail(
            summary, d.members, stable, time_lag, now, d.group_epoch, d.assignment_epoch
        )

    def share_detail(self, group_id: str) -> GroupDetail:
        """A share group: members with epochs, per partition its start offset and lag."""
        listed = GroupSummary(group_id, GroupState.UNKNOWN, "share", group_type="share")
        now = time.time()
        if self.wire is None:
            return GroupDetail(listed, (), {}, {}, now, note="Share groups are not read here.")
        try:
            d = describe_share_group(self.wire.get(), group_id)
        except Exception as exc:
            self._wire_failed("This share group", exc)
            return GroupDetail(listed, (), {}, {}, now, note=self.wire_note)
        summary = self.share_summaries([dataclasses.replace(listed, state=d.state)])
        return GroupDetail(
            summary.get(group_id, listed),
            d.members,
            {},
            {},
            now,
            d.group_epoch,
            d.assignment_epoch,
            note=self.wire_note or SHARE_NOTE,
        )

    def message_times(
        self, wanted: Sequence[tuple[str, int, int]], cache: TimeCache
    ) -> dict[tuple[str, int, int], float]:
        """Timestamp (s) of the first readable record at or after each (topic, partition,
        offset), read once and cached. A spot with nothing readable left (a commit at a
        transaction marker, or before aborted data) gets the time of the look, a time lag of
        about 0, and is not cached: the next record to arrive is the one to time. Spots that
        could not be read are retried later."""
        missing = cache.to_fetch(wanted)
        found = first_records(peek_config(self.admin), missing)
        cache.known.update(found.times)
        looked = time.monotonic()
        cache.failed.update(
            {s: looked for s in missing if s not in found.times and s not in found.none_left}
        )
        now = time.time()
        times = {s: now for s in found.none_left}
        times.update({s: cache.known[s] for s in wanted if s in cache.known})
        return times

    def topic_consumers(
        self, topic: str, known: Mapping[str, GroupSummary] | None = None
    ) -> TopicConsumerList:
        """Groups with commits on `topic` or assigned to it, with the lag for that topic only;
        share groups with share-partition state on it or a member assigned to it.

        `known` holds the rows shown for this topic at the last load. A group whose offsets
        (committed, or the topic's log-end) could not be read now keeps its row from then,
        marked stale, or shows its lag unknown when a member is assigned the topic. One with
        no known link to the topic is listed apart: whether it reads the topic cannot be told,
        and showing it as a consumer would put it on every topic's list.
        """
        before = known or {}
        every = self.list_groups()
        listed = [g for g in every if g.group_type != "share"]
        ids = [g.group_id for g in listed]
        commits = self.committed(ids)
        descs = self.describe(ids)
        counts = self.partition_counts()
        keys: dict[str, set[Key]] = {}
        for g in listed:
            mine = subscribed_keys(
                commits.get(g.group_id), assigned_keys(descs.get(g.group_id)), counts
            )
            mine = {k for k in mine if k[0] == topic}
            if mine:
                keys[g.group_id] = mine
        ends, starts = self._offsets(keys, commits)
        now = time.time()
        out: list[GroupSummary] = []
        apart: list[GroupSummary] = []
        for g in listed:
            gid, desc = g.group_id, descs.get(g.group_id)
            unread = gid not in commits and gid in self.commit_failures
            if gid not in keys and not unread:
                continue
            why = self.commit_failures[gid] if unread else _no_ends(keys[gid], ends)
            if why:  # the last known row or an unknown lag: never "no commits", never left out
                row = self._unread_here(g, desc, before.get(gid), why=why, now=now)
                (out if gid in keys or row.offsets_loaded else apart).append(row)
                continue
            parts = lag_partitions(keys[gid], commits.get(gid), ends, starts)
            summary = self._summary(g, desc, parts, True)
            out.append(dataclasses.replace(summary, offsets_read_at=now))
        shares = [g for g in every if g.group_type == "share"]
        reading, unknown = self._share_consumers(shares, topic, before, now)
        return TopicConsumerList(topic, (*out, *reading), (*apart, *unknown))

    def _unread_here(
        self,
        listed: GroupSummary,
        desc: Any,
        old: GroupSummary | None,
        *,
        why: str,
        now: float,
    ) -> GroupSummary:
        """A group whose offsets could not be read: its row from the last load, marked stale,
        under what was read now; never read here: its lag unknown."""
        if old is not None and old.offsets_loaded:
            if desc is not None or listed.state == GroupState.EMPTY:
                base = self._summary(listed, desc, old.partitions, True)
            else:  # not described this time: the last description stands
                base = dataclasses.replace(old, state=listed.state)
            return base.unread_since(why, now, old.offsets_read_at)
        return self._summary(listed, desc, (), False).unread_since(why, now)

    def _share_consumers(
        self,
        shares: Sequence[GroupSummary],
        topic: str,
        before: Mapping[str, GroupSummary],
        now: float,
    ) -> tuple[list[GroupSummary], list[GroupSummary]]:
        """The share groups that read `topic`: their members, and per partition of it the
        share-partition start offset and lag, as the groups screen shows them; then, apart,
        those not described, unless shown for this topic before."""
        got = self.share_summaries(shares)
        out: list[GroupSummary] = []
        apart: list[GroupSummary] = []
        for g in shares:
            gid = g.group_id
            summary = got.get(gid)
            if summary is None:  # not described: as for a consumer group that was not read
                why = self.commit_failures.get(gid, self.wire_note or "not described")
                row = self._unread_here(g, None, before.get(gid), why=why, now=now)
                (out if row.offsets_loaded else apart).append(row)
                continue
            parts = summary.for_topic(topic)
            if not parts and not any(t == topic for t, _p in self.share_assigned.get(gid, ())):
                continue
            out.append(dataclasses.replace(summary, partitions=parts, offsets_read_at=now))
        return out, apart

    def group_state(self, group_id: str) -> tuple[str, int | None]:
        desc = self.describe([group_id]).get(group_id)
        if desc is None:
            return GroupState.UNKNOWN.value, None
        return state_name(desc.state), len(desc.members or ())

    # ---- resetting -----------------------------------------------------------------------

    def plan_reset(self, req: ResetRequest) -> ResetPlan:
        """Current → new offset per partition (nothing is written)."""
        if req.share:
            return self._plan_share_reset(req)
        keys = self._reset_keys(req.topic, req.partitions)
        state, _members = self.group_state(req.group_id)
        commits = self.group_commits(req.group_id)
        low = self.starts(keys)
        high = self.ends(keys)
        at_time = self._at_time(req, keys)
        rows = []
        for key in keys:
            lo, hi = low.get(key, 0), high.get(key, 0)
            cur = commits[key][0] if key in commits else None
            new = new_offset(req.mode, req.value, cur, low=lo, high=hi, at_time=at_time.get(key))
            refused = reset_refusal(req.mode, cur)
            rows.append(ResetRow(key[0], key[1], cur, new, lo, hi, refused))
        return ResetPlan(req, state, tuple(rows))

    def _reset_keys(self, topic: str, partitions: tuple[int, ...]) -> list[Key]:
        """The partitions of `topic` a reset touches: those chosen (all when none are), each
        checked against the cluster's metadata."""
        try:
            md = self.admin.metadata(topic)
        except KafkaException as exc:
            raise self.admin.service_error(exc) from exc
        tmd = md.topics.get(topic)
        if tmd is None or tmd.error is not None or not tmd.partitions:
            raise KafkaServiceError(f"Topic '{topic}' does not exist on this cluster.")
        ids = sorted(tmd.partitions) if not partitions else sorted(partitions)
        unknown = [p for p in ids if p not in tmd.partitions]
        if unknown:
            raise KafkaServiceError(f"Topic '{topic}' has no partition(s) {unknown}.")
        return [(topic, p) for p in ids]

    def _at_time(self, req: ResetRequest, keys: list[Key]) -> dict[Key, int]:
        """Each partition's offset at the request's timestamp; nothing for other modes."""
        if req.mode != ResetMode.TIMESTAMP:
            return {}
        return self._list_offsets(
            {TopicPartition(t, p): OffsetSpec.for_timestamp(req.value) for t, p in keys}
        )

    def execute_reset(self, plan: ResetPlan) -> ResetPlan:
        """Commit the previewed offsets, after checking again that the group is Empty.

        Returns the plan with each row's `current` read back from the broker after the commit.
        """
        gid = plan.request.group_id
        if plan.refused:
            raise ResetRefusedError(plan.refused_text())
        if plan.request.share:
            return self._execute_share_reset(plan)
        state, members = self.group_state(gid)
        if state != GroupState.EMPTY:
            raise ResetRefusedError(refusal(gid, state, members))
        metadata = self.group_commits(gid)
        lost = [
            r
            for r in plan.rows
            if reset_refusal(plan.request.mode, metadata.get((r.topic, r.partition), (-1, ""))[0])
        ]
        if lost:  # a commit vanished since the preview (offsets expired or deleted)
            rows = tuple(
                ResetRow(
                    r.topic,
                    r.partition,
                    None,
                    r.new,
                    r.low,
                    r.high,
                    reset_refusal(plan.request.mode, None),
                )
                if r in lost
                else r
                for r in plan.rows
            )
            raise ResetRefusedError(ResetPlan(plan.request, state, rows).refused_text())
        tps = [
            _tp(r.topic, r.partition, r.new, metadata.get((r.topic, r.partition), (0, ""))[1])
            for r in plan.rows
        ]
        self._alter(gid, tps)
        after = self.committed([gid]).get(gid, {})  # the commit is done: never fail it here
        rows = tuple(
            ResetRow(
                r.topic,
                r.partition,
                after[(r.topic, r.partition)][0] if (r.topic, r.partition) in after else None,
                r.new,
                r.low,
                r.high,
            )
            for r in plan.rows
        )
        return ResetPlan(plan.request, state, rows)

    def _alter(self, group_id: str, tps: list[TopicPartition]) -> None:
        req = [ConsumerGroupTopicPartitions(group_id, tps)]
        for attempt in range(COORDINATOR_RETRIES + 1):
            futs = self.client.alter_consumer_group_offsets(req, request_timeout=self.timeout)
            res = self._wait(futs[group_id])
            errors = [tp for tp in res.topic_partitions or () if tp.error is not None]
            if not errors:
                return
            # a coordinator that is moving or still loading answers with a retriable error
            if attempt < COORDINATOR_RETRIES and all(
                tp.error.code() in _COORDINATOR_MOVING for tp in errors
            ):
                self.admin.token.event.wait(0.5)
                self.admin.token.check()
                continue
            tp = errors[0]
            raise KafkaServiceError(
                f"The broker refused the offset for {tp.topic}[{tp.partition}]: {tp.error.str()}"
            )

    # ---- share groups (KIP-932): the broker checks emptiness as it applies the change ----

    def share_state(self, group_id: str) -> tuple[str, int | None]:
        try:
            d = describe_share_group(wire_of(self.wire), group_id)
        except Exception as exc:
            raise wire_failure("The share group could not be described", exc) from exc
        return d.state, len(d.members)

    def _share_offsets(self, group_id: str) -> dict[Key, int]:
        try:
            got = share_offsets(wire_of(self.wire), group_id)
        except Exception as exc:
            raise wire_failure("The share offsets could not be read", exc) from exc
        return {k: start for k, (start, _lag) in got.items()}

    def _plan_share_reset(self, req: ResetRequest) -> ResetPlan:
        state, _members = self.share_state(req.group_id)
        current = self._share_offsets(req.group_id)
        topics = [req.topic] if req.topic else sorted({t for t, _p in current})
        if not topics:
            raise KafkaServiceError(
                f"'{req.group_id}' has no share offsets yet: choose a topic to reset."
            )
        keys: list[Key] = []
        for topic in topics:
            keys += self._reset_keys(topic, req.partitions)
        at_time = self._at_time(req, keys)
        low, high = self.starts(keys), self.ends(keys)
        return share_plan(req, state, keys, current=current, low=low, high=high, at_time=at_time)

    def _execute_share_reset(self, plan: ResetPlan) -> ResetPlan:
        """Send the previewed start offsets; the broker refuses the whole change (and nothing
        moves) while the group has members. Returns the rows with the offsets read back."""
        gid = plan.request.group_id
        wire = wire_of(self.wire)
        self._change_share_offsets(
            gid,
            lambda: alter_share_offsets(
                wire, gid, {(r.topic, r.partition): r.new for r in plan.rows}
            ),
            "The share offsets could not be changed",
        )
        try:  # the change is done: never fail it here
            after: dict[Key, int] = self._share_offsets(gid)
        except Exception:
            after = {}
        rows = tuple(
            dataclasses.replace(r, current=after.get((r.topic, r.partition))) for r in plan.rows
        )
        return ResetPlan(plan.request, GroupState.EMPTY, rows)

    def delete_share_topic_offsets(self, group_id: str, topic: str) -> int:
        """Forget the share group's state for `topic`; returns how many partitions had some."""
        had = [k for k in self._share_offsets(group_id) if k[0] == topic]
        self._change_share_offsets(
            group_id,
            lambda: delete_share_offsets(wire_of(self.wire), group_id, topic),
            "The share offsets could not be deleted",
        )
        return len(had)

    def _change_share_offsets(
        self, group_id: str, change: Callable[[], object], failed: str
    ) -> None:
        """Run one change of share offsets; a refusal names the group's members (the broker
        changed nothing), any other failure becomes `failed` with the reason."""
        try:
            change()
        except ShareOffsetsRefusedError:
            try:
                _state, members = self.share_state(group_id)
            except Exception:
                members = None
            raise ShareOffsetsRefusedError(
                share_refusal(group_id, members) + " Nothing was changed."
            ) from None
        except Exception as exc:
            raise wire_failure(failed, exc) from exc

    # ---- deleting ------------------------------------------------------------------------

    def delete_group(self, group_id: str) -> None:
        futs = self.client.delete_consumer_groups([group_id], request_timeout=self.timeout)
        try:
            self.admin.token.result(futs[group_id], self.timeout + 2)
        except KafkaException as exc:
            text = str(exc.args[0].str()) if exc.args else str(exc)
            if "non" in text.lower() and "empty" in text.lower():
                raise KafkaServiceError(
                    f"'{group_id}' still has active members, so it cannot be deleted. "
                    "Stop its consumers, wait until the group is Empty, then try again."
                ) from exc
            raise self.admin.service_error(exc) from exc
        except concurrent.futures.TimeoutError as exc:
            raise self.admin.service_error(TimeoutError("Request timed out")) from exc

    def delete_topic_offsets(self, group_id: str, topic: str) -> int:
        """Remove the group's commits for `topic`; returns how many partitions were removed."""
        state, members = self.group_state(group_id)
        if state != GroupState.EMPTY:
            raise ResetRefusedError(refusal(group_id, state, members).replace("reset", "change", 1))
        commits = self.group_commits(group_id)
        gone = [k for k in commits if k[0] == topic]
        if not gone:
            return 0
        if OFFSET_DELETE:  # newer confluent-kafka: one OffsetDelete request
            delete: Any = self.client.delete_consumer_group_offsets  # type: ignore[attr-defined]
            tps = [TopicPartition(t, p) for t, p in gone]
            futs = delete([ConsumerGroupTopicPartitions(group_id, tps)])
            self._wait(futs[group_id])
            return len(gone)
        keep = [
            _tp(t, p, off, meta) for (t, p), (off, meta) in sorted(commits.items()) if t != topic
        ]
        self.delete_group(group_id)
        if keep:
            self._alter(group_id, keep)
        return len(gone)
