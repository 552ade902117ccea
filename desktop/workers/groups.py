"""Consumer groups of one cluster: list refreshes (in a helper process), one-off actions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop.domain.group_events import LAG_THRESHOLD
from desktop.domain.groups import GroupDetail, GroupSummary, ResetPlan, ResetRequest
from desktop.domain.timeline import ClusterEvent
from desktop.domain.topic_consumers import TopicConsumerList
from desktop.services.admin import ClusterAdmin
from desktop.services.groups import GroupsAdmin, TimeCache
from desktop.services.kio_wire import WireHolder
from desktop.workers.groups_helper import GroupsHelper
from desktop.workers.session import ClusterSession

Done = Callable[[Any], None]
Failed = Callable[[str], None]


class GroupsPoller(QObject):
    """Keeps the group list of one cluster fresh; refreshes ride on the session's refreshes.

    A refresh runs in a helper process (GroupsHelper): at thousands of groups its librdkafka
    callbacks and summaries would otherwise hold the GUI's interpreter lock for seconds. It
    lists the groups (shown at once, with the previous lag while new lag loads), then computes
    their lag in stages, the groups the user can see first, sending only groups that changed.
    Only one refresh is in flight; requests made meanwhile collapse into one more.
    """

    groups_changed = Signal(object)  # tuple[GroupSummary, ...]: the whole list (after listing)
    groups_updated = Signal(object)  # list[GroupSummary]: one stage of changed groups
    refreshed = Signal(float)  # a full refresh finished (time.time())
    failed = Signal(str)

    def __init__(self, session: ClusterSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.groups: dict[str, GroupSummary] = {}
        self.loaded = False  # every group has been described and has its lag
        self.refreshes = 0
        self.time_cache = TimeCache()
        # connections for the group APIs confluent-kafka lacks (epochs, share groups); made on
        # the session's worker thread at the first detail that needs them
        self.wire = WireHolder(session.profile, session.creds, session.timeout_s)
        self._priority: list[str] = []
        self._active = False
        self._again = False  # a refresh was asked for while one ran
        self.lag_threshold = LAG_THRESHOLD
        self.wire_note = ""  # why share groups or types could not be read at the last refresh
        self.helper = GroupsHelper(
            session.profile,
            session.creds,
            session.timeout_s,
            session.refresh_deadline_s,
            parent=self,
        )
        self.helper.listed.connect(lambda listed: self._on_listed(list(listed)))
        self.helper.stage.connect(lambda stage: self._on_stage(list(stage)))
        self.helper.done.connect(self._on_done)
        self.helper.failed.connect(self._on_error)
        session.snapshot_changed.connect(self._on_snapshot)
        # every poller's kafka-python wire goes with its cluster (a topic's consumers panel
        # never closed its own: its client outlived the tab, logging ERRORs once the broker went)
        session.closed.connect(self.close)

    def set_active(self, active: bool) -> None:
        """Follow the session's refreshes only while something shows group data."""
        self._active = active
        if active and not self.loaded:
            self.refresh()

    def set_priority(self, group_ids: Sequence[str]) -> None:
        """The groups to load first on the next refresh (what the table shows)."""
        self._priority = list(group_ids)

    def close(self) -> None:
        """Stop the helper process (the screen is going away)."""
        self._active = False
        self.helper.close()
        # closing joins kafka-python's IO thread: never on the GUI thread
        threading.Thread(target=self.wire.drop, name="groups-wire-close", daemon=True).start()

    @Slot(object)
    def _on_snapshot(self, snapshot: Any) -> None:
        if self._active and getattr(snapshot, "complete", True):
            self.refresh()

    def refresh(self) -> None:
        if self.helper.busy:
            self._again = True
            return
        self.helper.request(tuple(self._priority), self.lag_threshold)

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

    @Slot(object)
    def _on_done(self, result: tuple[list[ClusterEvent], float, str]) -> None:
        events, at, self.wire_note = result
        self.loaded = True
        self.refreshes += 1
        if events:
            self.session.record_events(list(events))
        self.refreshed.emit(at)
        self._follow_up()

    @Slot(str)
    def _on_error(self, message: str) -> None:
        self.failed.emit(message)
        self._follow_up()

    def _follow_up(self) -> None:
        if self._again:
            self._again = False
            self.refresh()

    # ---- one-off operations --------------------------------------------------------------

    def _run(self, name: str, job: Callable[[GroupsAdmin], Any], done: Done, error: Failed) -> None:
        wire = self.wire

        def work(admin: ClusterAdmin) -> Any:
            unhook = wire.interrupt_on(admin.token)  # a cancel cuts kafka-python short too
            try:
                return job(GroupsAdmin(admin, wire))
            finally:
                unhook()

        self.session.run(name, work, done, error)

    def detail(self, group_id: str, done: Callable[[GroupDetail], None], error: Failed) -> None:
        cache = self.time_cache
        listed = self.groups.get(group_id)
        kind = listed.group_type if listed is not None else ""
        self._run("group detail", lambda ga: ga.detail(group_id, cache, kind), done, error)

    def topic_consumers(
        self,
        topic: str,
        done: Callable[[TopicConsumerList], None],
        error: Failed,
        known: Sequence[GroupSummary] = (),
    ) -> None:
        """`known`: the rows shown for this topic, kept (marked stale) for groups whose offsets
        cannot be read this time."""
        before = {g.group_id: g for g in known}
        self._run("topic consumers", lambda ga: ga.topic_consumers(topic, before), done, error)

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
        self,
        group_id: str,
        done: Callable[[tuple[str, int | None]], None],
        error: Failed,
        share: bool = False,
    ) -> None:
        if share:
            self._run("share group state", lambda ga: ga.share_state(group_id), done, error)
            return
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

    def delete_share_topic_offsets(
        self, group_id: str, topic: str, done: Done, error: Failed
    ) -> None:
        self._run(
            "delete share offsets",
            lambda ga: ga.delete_share_topic_offsets(group_id, topic),
            self._then_refresh(done),
            error,
        )

    def _then_refresh(self, done: Done) -> Done:
        def after(result: Any) -> None:
            done(result)
            self.refresh()

        return after
