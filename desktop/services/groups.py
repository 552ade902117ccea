"""Consumer groups over confluent-kafka's AdminClient: list, describe, lag, reset, delete.

Every call blocks (run it on the cluster's worker thread). Calls for many groups are batched:
describes go out in batches, and the one-group-per-request offset fetches are all issued before
any is awaited, so they run concurrently.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from confluent_kafka import (
    Consumer,
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
)
from desktop.services.admin import ClusterAdmin, KafkaServiceError
from desktop.services.connection import client_config

DESCRIBE_BATCH = 100  # groups per DescribeGroups call
OFFSETS_WAVE = 100  # offset fetches in flight at once: smaller bursts of result callbacks
OFFSETS_CHUNK = 2000  # partitions per ListOffsets call
STAGE = 500  # groups completed per progress report
PEEK_TIMEOUT_S = 5.0
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


class ResetRefusedError(KafkaServiceError):
    """The group is not Empty: the reset was not sent."""


def _tp(topic: str, partition: int, offset: int, metadata: str) -> TopicPartition:
    if metadata:
        return TopicPartition(topic, partition, offset, metadata)
    return TopicPartition(topic, partition, offset)


def state_name(state: Any) -> str:
    return str(_STATES.get(state, GroupState.UNKNOWN))


class GroupsAdmin:
    """Group operations on a ClusterAdmin's AdminClient (read afresh: reconnects replace it)."""

    def __init__(self, admin: ClusterAdmin) -> None:
        self.admin = admin
        self.timeout = admin.timeout

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
        return [
            GroupSummary(
                group_id=g.group_id,
                state=state_name(g.state),
                protocol_type="simple" if g.is_simple_consumer_group else "consumer",
            )
            for g in sorted(result.valid, key=lambda g: g.group_id)
        ]

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
                except Exception:
                    continue
                out[gid] = {
                    (tp.topic, tp.partition): (int(tp.offset), tp.metadata or "")
                    for tp in res.topic_partitions or ()
                    if tp.offset is not None and tp.offset >= 0
                }
        return out

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
    ) -> list[GroupSummary]:
        """Describe every listed group and compute its lag; groups in `priority` go first.

        `progress` receives each finished stage (a few hundred groups) as soon as it is ready.
        A group equal to its `previous` summary comes back as that same object, so the GUI
        thread tells unchanged rows apart by identity instead of comparing them field by field.
        """
        before = previous or {}
        by_id = {g.group_id: g for g in listed}
        first = [g for g in priority if g in by_id]
        seen = set(first)
        order = first + [g for g in by_id if g not in seen]
        done: dict[str, GroupSummary] = {}
        for i in range(0, len(order), STAGE):
            ids = order[i : i + STAGE]
            descs = self.describe(ids)
            commits = self.committed(ids)
            parts = {k for c in commits.values() for k in c}
            ends = self.ends(sorted(parts))
            stage = []
            for g in ids:
                summary = self._summary(by_id[g], descs.get(g), commits.get(g), ends)
                old = before.get(g)
                stage.append(old if old is not None and old == summary else summary)
            done.update((s.group_id, s) for s in stage)
            if progress is not None:
                progress(stage)
        return [done[g] for g in by_id]

    @staticmethod
    def _summary(
        listed: GroupSummary,
        desc: Any,
        commits: dict[Key, Commit] | None,
        ends: dict[Key, int],
    ) -> GroupSummary:
        parts = tuple(
            PartitionLag(t, p, off, ends.get((t, p)), meta)
            for (t, p), (off, meta) in sorted((commits or {}).items())
        )
        if desc is None:
            return GroupSummary(
                listed.group_id,
                listed.state,
                listed.protocol_type,
                partitions=parts,
                offsets_loaded=commits is not None,
            )
        return GroupSummary(
            group_id=listed.group_id,
            state=state_name(desc.state),
            protocol_type="simple" if desc.is_simple_consumer_group else "consumer",
            assignor=desc.partition_assignor or "",
            members=len(desc.members or ()),
            partitions=parts,
            offsets_loaded=commits is not None,
            described=True,
        )

    def detail(self, group_id: str, time_cache: TimeCache) -> GroupDetail:
        """One group in full: members, per-partition lag (HW and LSO), time-lag estimates."""
        descs = self.describe([group_id])
        desc = descs.get(group_id)
        commits = self.committed([group_id]).get(group_id, {})
        # partitions assigned but never committed are shown as "no commit"
        assigned: set[Key] = set()
        members: list[MemberInfo] = []
        for m in (desc.members if desc is not None else None) or ():
            tps = tuple(
                (tp.topic, tp.partition)
                for tp in (m.assignment.topic_partitions if m.assignment else None) or ()
            )
            assigned.update(tps)
            members.append(
                MemberInfo(
                    member_id=m.member_id,
                    client_id=m.client_id,
                    host=m.host,
                    assignment=tps,
                    instance_id=m.group_instance_id or "",
                )
            )
        keys = sorted(set(commits) | assigned)
        ends = self.ends(keys)
        stable = self.ends(keys, stable=True)
        parts = tuple(
            PartitionLag(
                t,
                p,
                commits[(t, p)][0] if (t, p) in commits else None,
                ends.get((t, p)),
                commits[(t, p)][1] if (t, p) in commits else "",
            )
            for t, p in keys
        )
        listed = GroupSummary(group_id, GroupState.DEAD, "consumer")
        summary = self._summary(listed, desc, commits, ends)
        summary = GroupSummary(
            summary.group_id,
            summary.state,
            summary.protocol_type,
            summary.assignor,
            summary.members,
            parts,
            True,
            summary.described,
        )
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
        return GroupDetail(summary, tuple(members), stable, time_lag, now)

    def message_times(
        self, wanted: Sequence[tuple[str, int, int]], cache: TimeCache
    ) -> dict[tuple[str, int, int], float]:
        """Timestamp (s) of the message at each (topic, partition, offset), read once and cached.

        A short-lived consumer assigns the partitions at those offsets (no group join, no
        commit) and reads the first message at or after each; an offset already gone from the
        log reads from the log start. Offsets that could not be read are retried later.
        """
        missing = cache.to_fetch(wanted)
        if missing:
            conf = client_config(self.admin.profile, self.admin.creds)
            conf.update(
                {
                    "group.id": "topicscope-peek",
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "auto.offset.reset": "earliest",
                    "fetch.wait.max.ms": 100,
                }
            )
            consumer = Consumer(conf)
            want = {(t, p): off for t, p, off in missing}
            try:
                consumer.assign([TopicPartition(t, p, off) for t, p, off in missing])
                deadline = time.monotonic() + PEEK_TIMEOUT_S
                while want and time.monotonic() < deadline:
                    for msg in consumer.consume(num_messages=100, timeout=0.3):
                        key = (msg.topic(), msg.partition())
                        if msg.error() is not None or key not in want:
                            continue
                        _kind, ts = msg.timestamp()
                        if ts > 0:
                            cache.known[(key[0], key[1], want.pop(key))] = ts / 1000.0
            finally:
                consumer.close()
                now = time.monotonic()
                cache.failed.update({(t, p, off): now for (t, p), off in want.items()})
        return {w: cache.known[w] for w in wanted if w in cache.known}

    def topic_consumers(self, topic: str) -> list[GroupSummary]:
        """Groups with commits on `topic` (lag for that topic only), or assigned to it."""
        listed = self.list_groups()
        commits = self.committed([g.group_id for g in listed])
        hits = [g for g in listed if any(t == topic for t, _p in commits.get(g.group_id, {}))]
        descs = self.describe([g.group_id for g in hits])
        parts = {k for g in hits for k in commits[g.group_id] if k[0] == topic}
        ends = self.ends(sorted(parts))
        out = []
        for g in hits:
            mine = {k: v for k, v in commits[g.group_id].items() if k[0] == topic}
            out.append(self._summary(g, descs.get(g.group_id), mine, ends))
        return out

    def group_state(self, group_id: str) -> tuple[str, int | None]:
        desc = self.describe([group_id]).get(group_id)
        if desc is None:
            return GroupState.UNKNOWN.value, None
        return state_name(desc.state), len(desc.members or ())

    # ---- resetting -----------------------------------------------------------------------

    def plan_reset(self, req: ResetRequest) -> ResetPlan:
        """Current → new offset per partition (nothing is written)."""
        try:
            md = self.client.list_topics(req.topic, timeout=self.admin.sync_timeout())
        except KafkaException as exc:
            raise self.admin.service_error(exc) from exc
        tmd = md.topics.get(req.topic)
        if tmd is None or tmd.error is not None or not tmd.partitions:
            raise KafkaServiceError(f"Topic '{req.topic}' does not exist on this cluster.")
        ids = sorted(tmd.partitions) if not req.partitions else sorted(req.partitions)
        unknown = [p for p in ids if p not in tmd.partitions]
        if unknown:
            raise KafkaServiceError(f"Topic '{req.topic}' has no partition(s) {unknown}.")
        keys = [(req.topic, p) for p in ids]
        state, _members = self.group_state(req.group_id)
        commits = self.committed([req.group_id]).get(req.group_id, {})
        low = self.starts(keys)
        high = self.ends(keys)
        at_time: dict[Key, int] = {}
        if req.mode == ResetMode.TIMESTAMP:
            at_time = self._list_offsets(
                {TopicPartition(t, p): OffsetSpec.for_timestamp(req.value) for t, p in keys}
            )
        rows = []
        for key in keys:
            lo, hi = low.get(key, 0), high.get(key, 0)
            cur = commits[key][0] if key in commits else None
            new = new_offset(req.mode, req.value, cur, low=lo, high=hi, at_time=at_time.get(key))
            rows.append(ResetRow(key[0], key[1], cur, new, lo, hi))
        return ResetPlan(req, state, tuple(rows))

    def execute_reset(self, plan: ResetPlan) -> ResetPlan:
        """Commit the previewed offsets, after checking again that the group is Empty."""
        gid = plan.request.group_id
        state, members = self.group_state(gid)
        if state != GroupState.EMPTY:
            raise ResetRefusedError(refusal(gid, state, members))
        metadata = self.committed([gid]).get(gid, {})
        tps = [
            _tp(r.topic, r.partition, r.new, metadata.get((r.topic, r.partition), (0, ""))[1])
            for r in plan.rows
        ]
        self._alter(gid, tps)
        return ResetPlan(plan.request, state, plan.rows)

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
        commits = self.committed([group_id]).get(group_id, {})
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
