"""Consumer groups: the list with lag, filter and hide-empty, actions, detail and lag history."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.charts.lag import LagHistory, TotalLagChart
from desktop.domain.groups import LAG_RULE, GroupState, GroupSummary
from desktop.models.base import ROW_ROLE
from desktop.models.groups import GroupsModel
from desktop.services.groups import OFFSET_DELETE, OFFSET_DELETE_NOTE
from desktop.services.versions import client_version
from desktop.views.group_detail import GroupDetailPanel
from desktop.views.reset_offsets import ResetOffsetsDialog
from desktop.views.widgets.common import FilterProxy, InfoButton, make_table, set_role
from desktop.workers.groups import GroupsPoller
from desktop.workers.session import ClusterSession

LOAD_FAILED = "Loading the groups failed (showing the last data received)"
PRIORITY_ROWS = 200  # rows whose lag is computed first: what the table shows and a bit more
HISTORY_BATCH = 250  # groups added to the lag history per event-loop turn


class GroupsProxy(FilterProxy):
    """Filters by group id and optionally hides groups without active members; like the other
    tables, the model applies the filter (one list comprehension, not a call per row)."""

    def __init__(self) -> None:
        super().__init__(GroupsModel.GROUP)
        self._text = ""
        self._hide_empty = False

    def set_filter_text(self, text: str) -> None:
        self._text = text.lower()
        self._refilter()

    def set_hide_empty(self, hide: bool) -> None:
        self._hide_empty = hide
        self._refilter()

    def _refilter(self) -> None:
        source = self.sourceModel()
        if not isinstance(source, GroupsModel):
            return
        needle, hide = self._text, self._hide_empty
        if not needle and not hide:
            source.set_filter(None)
            return

        def accept(g: GroupSummary) -> bool:
            if hide and g.state in (GroupState.EMPTY, GroupState.DEAD):
                return False
            return needle in g.group_id.lower()

        source.set_filter(accept)


class ConfirmGroupDialog(QDialog):
    """Asks for the group id to be typed before a destructive action."""

    def __init__(self, action: str, group_id: str, detail: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{action} '{group_id}'")
        text = QLabel(f"{detail}<br><br>Type the group id <b>{group_id}</b> to confirm.")
        text.setWordWrap(True)
        self.topic = QComboBox()
        self.confirm = QLineEdit()
        self.confirm.setPlaceholderText(group_id)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(action)
        self.ok.setEnabled(False)
        self.confirm.textChanged.connect(lambda t: self.ok.setEnabled(t == group_id))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.topic)
        self.topic.setVisible(False)
        layout.addWidget(self.confirm)
        layout.addWidget(self.buttons)


class GroupsPage(QWidget):
    def __init__(self, session: ClusterSession) -> None:
        super().__init__()
        self.session = session
        self.poller = GroupsPoller(session, parent=self)  # its helper process ends with the page
        self.history = LagHistory()
        self.dialog: QDialog | None = None
        style = self.style()

        self.model = GroupsModel()
        self.proxy = GroupsProxy()
        self.proxy.setSourceModel(self.model)
        self.table = make_table(self.proxy, stretch=None)
        for col, width in enumerate((280, 170, 80, 110, 75, 220, 110, 120, 300)):
            self.table.setColumnWidth(col, width)
        self.table.sortByColumn(GroupsModel.GROUP, Qt.SortOrder.AscendingOrder)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter groups by id")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter_changed)
        self.hide_empty = QCheckBox("Hide empty groups")
        self.hide_empty.setToolTip("Hide groups without active members (state Empty or Dead)")
        self.hide_empty.toggled.connect(self.proxy.set_hide_empty)
        self.count = QLabel("")
        set_role(self.count, "muted")
        self.lag_rule = InfoButton("Lag rule", LAG_RULE)
        self.reset_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_DialogResetButton), "Reset offsets…"
        )
        self.delete_offsets_button = QPushButton("Delete topic offsets…")
        self.delete_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_TrashIcon), "Delete group…"
        )
        for b in (self.reset_button, self.delete_offsets_button, self.delete_button):
            b.setEnabled(False)
        self.reset_button.clicked.connect(self.reset_offsets)
        self.delete_button.clicked.connect(self.delete_group)
        self.delete_offsets_button.clicked.connect(self.delete_topic_offsets)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setVisible(False)  # no empty band above the table
        # why share groups or group types are missing (the settings or the broker rule them out)
        self.wire_note = QLabel("")
        self.wire_note.setWordWrap(True)
        self.wire_note.setVisible(False)
        set_role(self.wire_note, "muted")

        bar = QHBoxLayout()
        self.filter.setMinimumWidth(160)
        bar.addWidget(self.filter, 2)
        bar.addWidget(self.hide_empty)
        bar.addWidget(self.count)
        bar.addStretch(1)
        bar.addWidget(self.lag_rule)
        for b in (
            self.reset_button,
            self.delete_offsets_button,
            self.delete_button,
        ):
            bar.addWidget(b)

        self.detail = GroupDetailPanel(self.poller, self.history)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        list_page = QWidget()
        ll = QVBoxLayout(list_page)
        ll.setContentsMargins(0, 4, 0, 0)
        ll.addLayout(bar)
        ll.addWidget(self.message)
        ll.addWidget(self.wire_note)
        ll.addWidget(split, 1)
        self.total_chart = TotalLagChart(self.history)
        self.tabs = QTabWidget()
        self.tabs.addTab(list_page, "Groups")
        self.tabs.addTab(self.total_chart, "Lag history")
        self.tabs.currentChanged.connect(lambda _i: self.total_chart.redraw())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

        self.poller.groups_changed.connect(self._on_groups)
        self.poller.groups_updated.connect(self._on_stage)
        self.poller.refreshed.connect(self._on_refreshed)
        self.poller.failed.connect(lambda m: self._say(f"{LOAD_FAILED}: {m}", True))
        self.proxy.modelReset.connect(self._update_count)
        self.proxy.layoutChanged.connect(self._update_count)
        self.proxy.rowsInserted.connect(lambda *_: self._update_count())
        self.proxy.rowsRemoved.connect(lambda *_: self._update_count())
        # refreshes waiting to enter the lag history: (time, groups not yet added)
        self._history_due: deque[tuple[float, list[GroupSummary]]] = deque()
        self._priority_timer = QTimer(self)
        self._priority_timer.setSingleShot(True)
        self._priority_timer.setInterval(150)
        self._priority_timer.timeout.connect(self._update_priority)
        self.table.verticalScrollBar().valueChanged.connect(lambda _v: self._priority_timer.start())

    # ---- data ----------------------------------------------------------------------------

    def activate(self) -> None:
        """Start following the cluster's refreshes; from then on the lag history keeps
        growing even while another screen is shown."""
        self.poller.set_active(True)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.activate()

    @Slot(object)
    def _on_groups(self, groups: tuple[GroupSummary, ...]) -> None:
        self._keeping_selection(lambda: self.model.sync(groups))
        if self.detail.group_id is not None and self.detail.group_id not in self.poller.groups:
            self.detail.show_group(None)  # deleted meanwhile
        self._update_count()
        self._update_buttons()

    @Slot(object)
    def _on_stage(self, groups: list[GroupSummary]) -> None:
        self._keeping_selection(lambda: self.model.merge(groups))
        shown = self.detail.group_id
        for g in groups if shown is not None else ():
            if g.group_id == shown:
                self.detail.show_summary(g)
        self._update_count()
        self._update_buttons()

    def _keeping_selection(self, update: Callable[[], None]) -> None:
        """Run a model update; should the selection be lost (the first rows replacing an empty
        table), select the same group again."""
        selected = self.selected()
        update()
        if selected is not None and self.selected() is None:
            self.select(selected.group_id)  # same group: the detail keeps its state

    @Slot(float)
    def _on_refreshed(self, t: float) -> None:
        if self.message.text().startswith(LOAD_FAILED):
            self.message.setText("")
            self.message.setVisible(False)
        note = self.poller.wire_note
        if note != self.wire_note.text():
            self.wire_note.setText(note)
            self.wire_note.setVisible(bool(note))
        self.detail.load()
        self._update_count()
        # the history takes a few hundred groups per event-loop turn: with 5,000 groups one
        # pass would be a single long GUI-thread step
        self._history_due.append((t, list(self.poller.groups.values())))
        if len(self._history_due) == 1:
            QTimer.singleShot(0, self, self._record_some)

    def _record_some(self) -> None:
        """One batch of the oldest refresh waiting, then the next batch in the next turn."""
        t, pending = self._history_due[0]
        self.history.add_groups(t, pending[:HISTORY_BATCH])
        del pending[:HISTORY_BATCH]
        if not pending:
            self._history_due.popleft()
        if self._history_due:
            QTimer.singleShot(0, self, self._record_some)
            return
        if self.total_chart.isVisible():
            self.total_chart.redraw()
        self._update_priority()

    def _filter_changed(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        self._update_count()
        self._priority_timer.start()

    def _update_priority(self) -> None:
        first = max(0, self.table.rowAt(0))
        last = min(self.proxy.rowCount(), first + PRIORITY_ROWS)
        ids = []
        for r in range(first, last):
            source = self.proxy.mapToSource(self.proxy.index(r, 0)).row()
            if 0 <= source < self.model.rowCount():
                ids.append(self.model.row_at(source).group_id)
        self.poller.set_priority(ids)

    def _update_count(self) -> None:
        total = len(self.poller.groups)
        shown = self.proxy.rowCount()
        loading = "" if self.poller.loaded else " · loading lag…"
        self.count.setText(
            f"{shown:,} of {total:,} {'group' if total == 1 else 'groups'}{loading}"
            if shown != total
            else f"{total:,} {'group' if total == 1 else 'groups'}{loading}"
        )

    def selected(self) -> GroupSummary | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        row = rows[0].data(ROW_ROLE)
        return row if isinstance(row, GroupSummary) else None

    def select(self, group_id: str) -> bool:
        for r in range(self.proxy.rowCount()):
            index = self.proxy.index(r, 0)
            if index.data() == group_id:
                self.table.selectRow(r)
                self.table.scrollTo(index)
                return True
        return False

    def _selection_changed(self) -> None:
        g = self.selected()
        self.detail.show_group(g.group_id if g else None)
        self._update_buttons()

    def _update_buttons(self) -> None:
        g = self.selected()
        for b in (self.reset_button, self.delete_button):
            b.setEnabled(g is not None)
        self.delete_offsets_button.setEnabled(g is not None and bool(g.topics))

    def _say(self, text: str, error: bool = False) -> None:
        set_role(self.message, "error" if error else "ok")
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # ---- actions -------------------------------------------------------------------------

    def _topic_partitions(self, extra: tuple[str, ...]) -> dict[str, int]:
        out: dict[str, int] = {}
        snap = self.session.snapshot
        if snap is not None:
            for t in snap.topics:
                if not t.internal or t.name in extra:
                    out[t.name] = t.partition_count
        for name in extra:
            out.setdefault(name, 0)
        return out

    def reset_offsets(self) -> None:
        g = self.selected()
        if g is None:
            return
        topics = self._topic_partitions(g.topics)
        preferred = g.topics[0] if g.topics else None
        dialog = ResetOffsetsDialog(
            self.poller,
            g.group_id,
            state=g.state,
            members=g.members,
            topics=topics,
            preferred_topic=preferred,
            share=g.group_type == "share",
            parent=self,
        )
        self.dialog = dialog
        dialog.finished.connect(lambda _r: self.poller.refresh())
        dialog.open()

    def delete_group(self) -> None:
        g = self.selected()
        if g is None:
            return
        detail = (
            f"This deletes the group <b>{g.group_id}</b> and all its committed offsets. "
            "Its consumers will start from their auto.offset.reset position next time."
        )
        if g.state != GroupState.EMPTY:
            detail += (
                f"<br><br>Note: the group is {g.state} with {g.members or 'some'} member(s). "
                "The broker refuses to delete a group that has active members: stop its "
                "consumers and wait until it shows Empty."
            )
        dialog = ConfirmGroupDialog("Delete group", g.group_id, detail, self)
        self.dialog = dialog
        gid = g.group_id

        def accepted() -> None:
            self._say(f"Deleting group '{gid}'…")
            self.poller.delete_group(
                gid,
                lambda _r: self._say(f"Deleted group '{gid}'."),
                lambda m: self._say(m, True),
            )

        dialog.accepted.connect(accepted)
        dialog.open()

    def delete_topic_offsets(self) -> None:
        g = self.selected()
        if g is None or not g.topics:
            return
        if g.group_type == "share":
            self._delete_share_offsets(g)
            return
        note = (
            ""
            if OFFSET_DELETE
            else "<br><br>" + OFFSET_DELETE_NOTE.format(version=client_version())
        )
        detail = (
            f"This removes the committed offsets of <b>{g.group_id}</b> for the chosen topic "
            "only; its other topics keep theirs. The group must be Empty." + note
        )
        gid = g.group_id
        self._confirm_topic_delete(
            "Delete offsets",
            g,
            detail=detail,
            what="the offsets",
            delete=self.poller.delete_topic_offsets,
            deleted=lambda topic, n: f"Deleted {n} committed offset(s) of '{gid}' for '{topic}'.",
        )

    def _delete_share_offsets(self, g: GroupSummary) -> None:
        detail = (
            f"This removes the share-partition state of the share group <b>{g.group_id}</b> "
            "for the chosen topic: its start offsets and which records were delivered and "
            "acknowledged. Its other topics keep theirs. Kafka does this only while the group "
            "has no members; next time it starts on the topic from share.auto.offset.reset."
        )
        gid = g.group_id
        self._confirm_topic_delete(
            "Delete share offsets",
            g,
            detail=detail,
            what="the share offsets",
            delete=self.poller.delete_share_topic_offsets,
            deleted=lambda topic, n: (
                f"Deleted the share offsets of '{gid}' for '{topic}' ({n} partition(s))."
            ),
        )

    def _confirm_topic_delete(
        self,
        title: str,
        g: GroupSummary,
        *,
        detail: str,
        what: str,
        delete: Callable[[str, str, Callable[[int], None], Callable[[str], None]], None],
        deleted: Callable[[str, int], str],
    ) -> None:
        """Ask which of the group's topics to forget, then `delete` it in the worker and say
        `deleted(topic, count)` when done."""
        dialog = ConfirmGroupDialog(title, g.group_id, detail, self)
        dialog.topic.addItems(list(g.topics))
        dialog.topic.setVisible(True)
        self.dialog = dialog
        gid = g.group_id

        def accepted() -> None:
            topic = dialog.topic.currentText()
            self._say(f"Deleting {what} of '{gid}' for '{topic}'…")
            delete(gid, topic, lambda n: self._say(deleted(topic, n)), lambda m: self._say(m, True))

        dialog.accepted.connect(accepted)
        dialog.open()
