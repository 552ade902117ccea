"""Group detail: per-partition lag with commit metadata and time lag, members, live charts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from desktop.charts.lag import GroupCharts, LagHistory
from desktop.domain.groups import LAG_RULE, GroupDetail, GroupSummary
from desktop.models.groups import GroupPartitionsModel, LagRow, MembersModel
from desktop.views.widgets.common import FilterProxy, InfoButton, make_table, set_role
from desktop.workers.groups import GroupsPoller


class GroupDetailPanel(QWidget):
    """Shows one group; `load()` fetches it again (the page calls it after every refresh)."""

    def __init__(self, poller: GroupsPoller, history: LagHistory) -> None:
        super().__init__()
        self.poller = poller
        self.history = history
        self.group_id: str | None = None
        self.detail: GroupDetail | None = None
        self.summary: GroupSummary | None = None  # what the header shows
        self.failure = ""  # why this group's detail could not be read last time ("" if it was)
        self.loads = 0
        self._loading = False
        self.title = QLabel("Select a group")
        self.title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        set_role(self.status, "muted")
        # epochs of consumer and share groups, or why they could not be read
        self.protocol = QLabel("")
        self.protocol.setWordWrap(True)
        self.protocol.setVisible(False)
        self.partitions = GroupPartitionsModel()
        self.partitions_proxy = FilterProxy(GroupPartitionsModel.TOPIC)
        self.partitions_proxy.setSourceModel(self.partitions)
        self.partitions_table = make_table(self.partitions_proxy)
        for col, width in enumerate((220, 70, 110, 110, 110, 190, 90)):
            self.partitions_table.setColumnWidth(col, width)
        self.members = MembersModel()
        self.members_proxy = FilterProxy(0)
        self.members_proxy.setSourceModel(self.members)
        self.members_table = make_table(self.members_proxy)
        for col, width in enumerate((330, 140, 120, 80)):
            self.members_table.setColumnWidth(col, width)
        self.charts = GroupCharts(history)
        self.tabs = QTabWidget()
        page = QWidget()
        pl = QVBoxLayout(page)
        pl.setContentsMargins(0, 4, 0, 0)
        pl.addWidget(self.partitions_table, 1)
        self.tabs.addTab(page, "Partitions")
        self.tabs.addTab(self.members_table, "Members")
        self.tabs.addTab(self.charts, "Lag charts")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.lag_rule = InfoButton("How lag is counted", LAG_RULE)
        head = QHBoxLayout()
        head.addWidget(self.status, 1)
        head.addWidget(self.lag_rule, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.title)
        layout.addLayout(head)
        layout.addWidget(self.protocol)
        layout.addWidget(self.tabs, 1)

    def show_group(self, group_id: str | None) -> None:
        if group_id == self.group_id:
            return
        self.group_id = group_id
        self.detail = None
        self.summary = None
        self.failure = ""
        self.partitions.set_rows([])
        self.members.set_rows([])
        self.show_protocol(None)
        self.charts.set_group(group_id)
        if group_id is None:
            self.title.setText("Select a group")
            self.status.setText("")
            return
        self.title.setText(group_id)
        self.status.setText("Loading…")
        self.load()

    def load(self) -> None:
        gid = self.group_id
        if gid is None or self._loading:
            return
        self._loading = True

        def done(detail: GroupDetail) -> None:
            self._loading = False
            self._on_detail(detail)

        def failed(message: str) -> None:
            self._loading = False
            if self.group_id != gid:
                return
            # the header keeps the numbers the table shows (the last known), and says why
            self.failure = message
            listed = self.poller.groups.get(gid)
            if listed is None:
                self.status.setText(message)
                return
            self.show_summary(listed)

        self.poller.detail(gid, done, failed)

    def _on_detail(self, d: GroupDetail) -> None:
        self.history.add_detail(d)
        if d.summary.group_id != self.group_id:
            return
        self.detail = d
        self.failure = ""
        self.loads += 1
        s = d.summary
        share = s.group_type == "share"
        self.partitions.set_share(share)
        for col in (GroupPartitionsModel.STABLE, GroupPartitionsModel.TIME_LAG):
            self.partitions_table.setColumnHidden(col, share)  # commits' measures, not shares'
        self.partitions_table.setColumnHidden(GroupPartitionsModel.METADATA, share)
        self.partitions.set_rows(
            [
                LagRow(
                    p,
                    d.stable_ends.get((p.topic, p.partition)),
                    d.time_lag_s.get((p.topic, p.partition)),
                )
                for p in s.partitions
            ]
        )
        self.members.set_rows(list(d.members))
        self.show_protocol(d)
        self.show_summary(s)
        self.poller.accept(s)  # the list row takes the same numbers
        self.charts.redraw()

    def show_protocol(self, d: GroupDetail | None) -> None:
        """Group and assignment epochs, members still reconciling, and any note."""
        parts = []
        if d is not None and d.group_epoch is not None:
            parts.append(f"Group epoch {d.group_epoch} · assignment epoch {d.assignment_epoch}")
            behind = [
                m
                for m in d.members
                if (m.target is not None and sorted(m.target) != sorted(m.assignment))
                or (m.member_epoch is not None and m.member_epoch < (d.assignment_epoch or 0))
            ]
            if behind:
                noun = "member is" if len(behind) == 1 else "members are"
                parts.append(f"{len(behind)} {noun} still reconciling to the target assignment")
            elif d.members:
                parts.append("every member has its target assignment")
        if d is not None and d.note:
            parts.append(d.note)
        self.protocol.setText(
            "  ·  ".join(parts[:2]) + ("\n" + "\n".join(parts[2:]) if parts[2:] else "")
        )
        self.protocol.setVisible(bool(parts))

    def show_summary(self, s: GroupSummary) -> None:
        """The header, from the very summary the groups table shows for this group."""
        if s.group_id != self.group_id:
            return
        self.summary = s
        noun = "member" if s.members == 1 else "members"
        members = "no members" if not s.members else f"{s.members:,} {noun}"
        assignor = f" · assignor {s.assignor}" if s.assignor else ""
        self.title.setText(f"{s.group_id}  ·  {s.state}  ·  {members}{assignor}")
        text = s.totals_text()
        note = s.unread_note()  # the lag is the last known, or unknown: why
        head = (f"Total: {text}" if text is not None else "") + (f" ({note})" if note else "")
        # until a detail is read again, why the last one could not be
        self.status.setText(f"{head}\n{self.failure}".strip())
        self.status.setToolTip(note)
