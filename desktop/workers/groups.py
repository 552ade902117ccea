"""Consumer-group jobs on the cluster's runner: list refreshes in stages, one-off actions."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop.domain.group_events import LAG_THRESHOLD, diff_groups
from desktop.domain.groups import GroupDetail, GroupSummary, ResetPlan, ResetRequest
from desktop.domain.timeline import ClusterEvent
from desktop.services.groups import GroupsAdmin, SummaryCache, TimeCache
from desktop.workers.jobs import Job, JobContext, JobFailure, Lane
from desktop.workers.session import ClusterSession

Done = Callable[[Any], None]
Failed = Callable[[str], None]
GROUPS = "groups"


@dataclass(frozen=True)
class GroupsStage:
    """Progress of a groups refresh: the whole list (`listed`), or one stage of described groups."""

    groups: tuple[GroupSummary, ...]
    listed: bool


@dataclass(frozen=True)
class GroupsRefreshed:
    """A finished refresh: every group, and the events since the previous full refresh (the
    comparison of two 5,000-group lists runs in the worker, not on the GUI thread)."""

    groups: dict[str, GroupSummary]
    events: tuple[ClusterEvent, ...]
    at: float


class GroupsPoller(QObject):
    """Keeps the group list of one cluster fresh; refreshes ride on the session's refreshes.

    A refresh lists the groups (shown at once, with the previous lag while new lag loads), then
    describes them and computes their lag in stages, the groups the user can see first. Only one
    refresh is in flight; requests made meanwhile collapse into one more (the runner's refresh
    lane coalesces them).
    """

    groups_changed = Signal(object)  # tuple[GroupSummary, ...]: the whole list (after listing)
    groups_updated = Signal(object)  # list[GroupSummary]: one stage of described groups
    refreshed = Signal(float)  # a full refresh finished (time.time())
    failed = Signal(str)

    def __init__(self, session: ClusterSession) -> None:
        super().__init__()
        self.session = session
        self.groups: dict[str, GroupSummary] = {}
        self.loaded = False  # every group has been described and has its lag
        self.refreshes = 0
        self.time_cache = TimeCache()
        self.summary_cache = SummaryCache()  # used by the refresh jobs only, one at a time
        self._priority: list[str] = []
        self._active = False
        self.lag_threshold = LAG_THRESHOLD
        # the last full refresh's groups: read and written by the refresh jobs only
        self._diffed: dict[str, GroupSummary] | None = None
        session.snapshot_changed.connect(self._on_snapshot)

    def set_active(self, active: bool) -> None:
        """Follow the session's refreshes only while something shows group data."""
        self._active = active
        if active and not self.loaded:
            self.refresh()

    def set_priority(self, group_ids: Sequence[str]) -> None:
        """The groups to load first on the next refresh (what the table shows)."""
        self._priority = list(group_ids)

    @Slot(object)
    def _on_snapshot(self, snapshot: Any) -> None:
        if self._active and getattr(snapshot, "complete", True):
            self.refresh()

    def refresh(self) -> None:
        priority = tuple(self._priority)
        previous = dict(self.groups)  # a shallow copy: the job only reads it
        cache = self.summary_cache

        def work(ctx: JobContext) -> GroupsRefreshed:
            # read when the job runs, not when it was queued: refreshes run one after another
            # on the refresh lane, so each compares against the one that finished before it
            diffed, threshold = self._diffed, self.lag_threshold
            ga = GroupsAdmin(ctx.clients.admin)
            listed = ga.list_groups()
            ctx.report(GroupsStage(tuple(listed), listed=True))
            done = ga.summaries(
                listed,
                priority,
                lambda s: ctx.report(GroupsStage(tuple(s), False)),
                previous,
                cache,
            )
            now = time.time()
            groups = {g.group_id: g for g in done}
            events = () if diffed is None else tuple(diff_groups(diffed, groups, now, threshold))
            self._diffed = groups  # written only here, on the refresh lane
            return GroupsRefreshed(groups, events, now)

        session = self.session
        job = Job(
            "consumer groups",
            work,
            lane=Lane.REFRESH,
            deadline_s=session.refresh_deadline_s,
            key=GROUPS,
        )
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_done)
        job.failed.connect(self._on_error)
        session.submit(job)

    @Slot(object)
    def _on_progress(self, stage: GroupsStage) -> None:
        if stage.listed:
            self._on_listed(list(stage.groups))
        else:
            self._on_stage(list(stage.groups))

    def _on_listed(self, listed: list[GroupSummary]) -> None:
        old = self.groups
        merged: dict[str, GroupSummary] = {}
        for g in listed:
            prev = old.get(g.group_id)
            merged[g.group_id] = prev if prev is not None else g
        same = len(merged) == len(old) and all(a == b for a, b in zip(merged, old, strict=True))
        self.groups = merged
        if not same:  # otherwise the stages bring the news, row by row
            self.groups_changed.emit(tuple(merged.values()))

    def _on_stage(self, stage: list[GroupSummary]) -> None:
        # unchanged groups arrive as the very objects already shown: nothing to announce
        fresh = [g for g in stage if g.group_id in self.groups and self.groups[g.group_id] is not g]
        for g in fresh:
            self.groups[g.group_id] = g
        if fresh:
            self.groups_updated.emit(fresh)

    def accept(self, summary: GroupSummary) -> None:
        """A newer summary of one listed group (from its detail): the list shows it too, so the
        table and the detail header never disagree."""
        old = self.groups.get(summary.group_id)
        if old is None or old == summary:
            return
        self.groups[summary.group_id] = summary
        self.groups_updated.emit([summary])

    def _on_done(self, result: GroupsRefreshed) -> None:
        self.loaded = True
        self.refreshes += 1
        if result.events:
            self.session.record_events(list(result.events))
        self.refreshed.emit(result.at)

    def _on_error(self, failure: JobFailure) -> None:
        if not failure.cancelled:
            self.failed.emit(failure.message)

    # ---- one-off operations --------------------------------------------------------------

    def _run(self, name: str, job: Callable[[GroupsAdmin], Any], done: Done, error: Failed) -> None:
        self.session.run(name, lambda admin: job(GroupsAdmin(admin)), done, error)

    def detail(self, group_id: str, done: Callable[[GroupDetail], None], error: Failed) -> None:
        cache = self.time_cache
        self._run("group detail", lambda ga: ga.detail(group_id, cache), done, error)

    def topic_consumers(
        self, topic: str, done: Callable[[list[GroupSummary]], None], error: Failed
    ) -> None:
        self._run("topic consumers", lambda ga: ga.topic_consumers(topic), done, error)

    def plan_reset(
        self, request: ResetRequest, done: Callable[[ResetPlan], None], error: Failed
    ) -> None:
        self._run("plan offset reset", lambda ga: ga.plan_reset(request), done, error)

    def execute_reset(
        self, plan: ResetPlan, done: Callable[[ResetPlan], None], error: Failed
    ) -> None:
        self._run(
            "reset offsets", lambda ga: ga.execute_reset(plan), self._then_refresh(done), error
        )

    def group_state(
        self, group_id: str, done: Callable[[tuple[str, int | None]], None], error: Failed
    ) -> None:
        self._run("group state", lambda ga: ga.group_state(group_id), done, error)

    def delete_group(self, group_id: str, done: Done, error: Failed) -> None:
        self._run(
            "delete group", lambda ga: ga.delete_group(group_id), self._then_refresh(done), error
        )

    def delete_topic_offsets(self, group_id: str, topic: str, done: Done, error: Failed) -> None:
        self._run(
            "delete topic offsets",
            lambda ga: ga.delete_topic_offsets(group_id, topic),
            self._then_refresh(done),
            error,
        )

    def _then_refresh(self, done: Done) -> Done:
        def after(result: Any) -> None:
            done(result)
            self.refresh()

        return after
